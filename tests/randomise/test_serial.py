"""Serial-structure diagnostics of crossover schedules, against hand counts and brute force."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rct.cli import main
from rct.errors import DataError
from rct.randomise import crossover
from rct.randomise.serial import serial_diagnostics, serial_structure

X = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 0]])  # 5 days x 2 hot spots


def test_hand_counted_example():
    s = serial_structure(X, lags=2, window=2)
    # lag 1: after a tasked day 5 pairs, 2 tasked; after an untasked day 3 pairs, 2 tasked
    assert s.n_after_tasked[0] == 5 and s.p_after_tasked[0] == pytest.approx(2 / 5)
    assert s.n_after_untasked[0] == 3 and s.p_after_untasked[0] == pytest.approx(2 / 3)
    # coverage c = (3, 2), D = 5: sum c(c-1) / ((D-1) sum c) and sum c(D-c) / ((D-1) sum(D-c))
    assert s.reference_after_tasked[0] == pytest.approx(8 / 20)
    assert s.reference_after_untasked[0] == pytest.approx(12 / 20)
    assert dict(s.tasked_runs) == {1: 1, 2: 2}
    assert dict(s.untasked_runs) == {1: 3, 2: 1}
    assert s.longest_tasked_run == 2 and s.mean_tasked_run == pytest.approx(5 / 3)
    today = [0, 1, 0, 1, 0, 0]  # days 2..4 of each hot spot
    recent = [2, 1, 1, 1, 2, 1]
    assert s.corr_recent == pytest.approx(np.corrcoef(today, recent)[0, 1])


def _brute(x, lag):
    d, n = x.shape
    a = b = ta = tb = 0
    for i in range(n):
        for t in range(lag, d):
            if x[t - lag, i]:
                a += 1
                ta += x[t, i]
            else:
                b += 1
                tb += x[t, i]
    return ta / a, tb / b


def test_matches_brute_force_on_random_schedules():
    rng = np.random.default_rng(4)
    for _ in range(5):
        x = (rng.random((40, 7)) < 0.4).astype(np.int8)
        s = serial_structure(x, lags=7)
        for lag in range(1, 8):
            pt, pu = _brute(x, lag)
            assert s.p_after_tasked[lag - 1] == pytest.approx(pt)
            assert s.p_after_untasked[lag - 1] == pytest.approx(pu)
        runs = []
        for col in x.T:
            cur = 0
            for v in list(col) + [0]:
                if v:
                    cur += 1
                elif cur:
                    runs.append(cur)
                    cur = 0
        assert sum(c for _, c in s.tasked_runs) == len(runs)
        assert s.longest_tasked_run == max(runs)


def test_design_table_and_matrix_agree_and_tidy():
    d = crossover([f"h{i:02d}" for i in range(10)], start="2021-03-01", days=40, per_day=4, seed=3)
    a = d.serial_structure()
    b = serial_structure(d.allocation)
    c = serial_structure(d.schedule)
    assert a == b == c
    t = a.tidy()
    assert set(t["statistic"]) >= {"p_tasked_after_tasked", "p_tasked_after_untasked",
                                  "corr_today_recent", "tasked_runs", "untasked_runs"}
    assert len(t[t.statistic == "p_tasked_after_tasked"]) == 7
    assert "lag" in a.summary() and len(a.short_lines()) == 2


def test_old_sampler_alternation_is_visible():
    ids = [f"h{i:02d}" for i in range(45)]
    old = crossover(ids, start="2021-03-01", days=182, per_day=22, seed=3,
                    algorithm="rct-randomise/1").serial_structure()
    new = crossover(ids, start="2021-03-01", days=182, per_day=22, seed=3).serial_structure()
    assert old.p_after_tasked[0] < 0.33 and old.p_after_untasked[0] > 0.64
    assert abs(new.p_after_tasked[0] - new.reference_after_tasked[0]) < 0.04


def test_report_helper_is_json_ready(tmp_path):
    d = crossover([f"h{i:02d}" for i in range(10)], start="2021-03-01", days=40, per_day=4, seed=3)
    path = tmp_path / "s.csv"
    d.allocation.to_csv(path, index=False)
    out = serial_diagnostics(path)
    json.dumps(out)
    assert out["table"][0]["lag"] == 1 and len(out["table"]) == 7
    assert out["p_after_tasked"] == list(d.serial_structure().p_after_tasked)
    assert out["lines"][0].startswith("serial structure:")


def test_bad_input():
    with pytest.raises(DataError):
        serial_structure(np.array([[0, 2], [1, 0]]))
    with pytest.raises(DataError, match="columns"):
        serial_structure(pd.DataFrame({"hotspot_id": ["a"]}))
    with pytest.raises(ValueError, match="lags"):
        serial_structure(X, lags=0)


def test_cli_prints_the_diagnostic(tmp_path, capsys):
    hs = tmp_path / "h.csv"
    pd.DataFrame({"hotspot_id": [f"H{i:02d}" for i in range(20)]}).to_csv(hs, index=False)
    out = tmp_path / "s.csv"
    assert main(["randomise", "crossover", str(hs), "--start", "2020-06-01", "--days", "90",
                 "--per-day", "8", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "P(tasked | tasked the day before)" in text and "longest run" in text
