"""Shift crossovers (unit = hot spot × shift) and per-site quotas: the design, its manifest,
the command line, the tasking list per shift, and randomisation inference against exact
enumeration on a tiny two-site design."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rct.cli import main
from rct.errors import DesignError
from rct.evaluate.ri import randomisation_test
from rct.randomise import crossover
from rct.randomise.crossover import tasking_list
from rct.randomise.crossover_strata import parse_quotas, quota_table
from rct.randomise.manifest import load_design, randomise_crossover_file, verify_allocation

SHIFTS = {"day": "06:00-18:00", "night": "18:00-06:00"}


def _units(n_places: int = 8) -> pd.DataFrame:
    rows = []
    for i in range(n_places):
        for w, span in SHIFTS.items():
            a, b = span.split("-")
            rows.append((f"H{i:02d}-{w}", f"H{i:02d}", "north" if i < n_places // 2 else
                         "south", w, a, b))
    return pd.DataFrame(rows, columns=["hotspot_id", "place_id", "site", "window",
                                       "window_start", "window_end"])


def test_quotas_per_site_and_shift_every_day():
    u = _units(10)
    d = crossover(u, start="2021-10-29", days=14, sites="site", windows="auto",
                  per_day={"north": {"night": 3}, "day": 2, "south": 1}, seed=5)
    a = d.allocation
    assert list(a.columns[:4]) == ["hotspot_id", "site", "window", "trial_date"]
    per = a[a["arm"] == "treatment"].groupby(["site", "window", "trial_date"]).size()
    k = per.groupby(level=[0, 1]).agg(["min", "max"])
    assert k.to_dict("index") == {("north", "day"): {"min": 2, "max": 2},
                                  ("north", "night"): {"min": 3, "max": 3},
                                  ("south", "day"): {"min": 1, "max": 1},
                                  ("south", "night"): {"min": 1, "max": 1}}
    # equal coverage within each stratum; exact P(tasked) = k / N per stratum
    cov = a[a["arm"] == "treatment"].groupby(["site", "window", "hotspot_id"]).size()
    assert (cov.groupby(level=[0, 1]).agg(lambda s: s.max() - s.min()) <= 1).all()
    p = d.probabilities()["treatment"].groupby(level=0).first()
    assert p["H00-night"] == pytest.approx(3 / 5) and p["H09-day"] == pytest.approx(1 / 5)
    assert d.parameters["shifts"] == SHIFTS
    assert quota_table(d.parameters["per_day"], d.parameters["sites"], d.parameters["windows"]) \
        == quota_table({"north": {"day": 2, "night": 3}, "south": {"day": 1, "night": 1}},
                       d.parameters["sites"], d.parameters["windows"])
    assert [ln.strip() for ln in d.strata_lines()][1] == \
        "site north shift night (18:00-06:00): 3 of 5 tasked each day"


def test_quota_errors():
    u = _units(6)
    with pytest.raises(DesignError, match="no quota for site 'south' in window 'night'"):
        crossover(u, start="2021-06-01", days=3, sites="site", windows="auto",
                  per_day={"north": 1, "day": 1}, seed=1)
    with pytest.raises(DesignError, match="window 'day' must be between 1 and 5"):
        crossover(u, start="2021-06-01", days=3, windows="auto", per_day=6, seed=1)
    with pytest.raises(DesignError, match="neither a site nor a window"):
        crossover(u, start="2021-06-01", days=3, sites="site", windows="auto",
                  per_day={"north": 1, "south": 1, "east": 1}, seed=1)
    with pytest.raises(DesignError, match="window definitions|times"):
        crossover(list(u["hotspot_id"]), start="2021-06-01", days=3, per_day=1, seed=1,
                  windows=dict(zip(u["hotspot_id"], u["window"], strict=True)))
    assert parse_quotas("north=3,south/night=2") == {"north": 3, "south": {"night": 2}}
    with pytest.raises(DesignError, match="NAME=k"):
        parse_quotas("north")


def test_tasking_list_per_shift_across_the_october_change():
    d = crossover(_units(4), start="2021-10-30", days=2, windows="auto", per_day=1, seed=2)
    t = tasking_list(d)
    assert t[["trial_date", "window", "starts_local", "ends_local", "n_tasked"]].values.tolist() \
        == [["2021-10-30", "day", "2021-10-30 06:00", "2021-10-30 18:00", 1],
            ["2021-10-30", "night", "2021-10-30 18:00", "2021-10-31 06:00", 1],
            ["2021-10-31", "day", "2021-10-31 06:00", "2021-10-31 18:00", 1],
            ["2021-10-31", "night", "2021-10-31 18:00", "2021-11-01 06:00", 1]]
    assert all(x.endswith("-" + w) for x, w in zip(t["tasked"], t["window"], strict=True))


def test_manifest_round_trip_and_cli(tmp_path, capsys):
    hs = tmp_path / "hotspots.csv"
    _units(8).to_csv(hs, index=False)
    out = tmp_path / "schedule.csv"
    code = main(["randomise", "crossover", str(hs), "--start", "2022-03-25", "--days", "6",
                 "--per-day", "2", "--seed", "9", "--sites", "site", "--quotas", "south/night=1",
                 "--out", str(out), "--tasking", str(tmp_path / "tasking.csv")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "site south shift night (18:00-06:00): 1 of 4 tasked each day" in printed.out
    assert verify_allocation(out).ok
    man = json.loads(Path(f"{out}.manifest.json").read_text())
    params = man["design"]["parameters"]
    assert params["shifts"] == SHIFTS and set(params["windows"].values()) == {"day", "night"}
    d = load_design(out)
    assert d.windows is not None and d.sites is not None
    s = pd.read_csv(out)
    per = s[s.arm == "treatment"].groupby(["site", "window", "trial_date"]).size()
    assert per.loc["south", "night"].eq(1).all() and per.loc["north", "night"].eq(2).all()
    tl = pd.read_csv(tmp_path / "tasking.csv")
    # the night the clocks go forward (26-27 March 2022) is 11 hours long
    assert tl.loc[(tl.trial_date == "2022-03-26") & (tl.window == "night"),
                  ["starts_local", "ends_local"]].values.tolist() == [["2022-03-26 18:00",
                                                                      "2022-03-27 06:00"]]
    # the same call through the library re-derives the same bytes
    again = randomise_crossover_file(hs, out=tmp_path / "again.csv", seed=9, start="2022-03-25",
                                     days=6, sites="site", windows="auto",
                                     per_day=json.loads(json.dumps(params["per_day"])))
    assert (again.schedule == d.schedule).all()


def _brute_force_two_sites():
    """Every schedule of 3 days with one of a0..a2 and one of b0, b1 tasked a day, equal
    coverage within each site -- listed from the definition, not by the package."""
    out = []
    for a_days in itertools.permutations(range(3)):      # each a tasked on exactly one day
        for b_seq in itertools.product(range(2), repeat=3):
            c = np.bincount(b_seq, minlength=2)
            if c.max() - c.min() > 1:
                continue
            sched = np.zeros((5, 3), dtype=np.int8)      # hot spot x day
            for i, day in enumerate(a_days):
                sched[i, day] = 1
            for day, j in enumerate(b_seq):
                sched[3 + j, day] = 1
            out.append(sched.ravel())
    return np.array(out)


def test_ri_against_exact_enumeration_on_a_tiny_two_site_design():
    ids = ["a0", "a1", "a2", "b0", "b1"]
    sites = {"a0": "a", "a1": "a", "a2": "a", "b0": "b", "b1": "b"}
    d = crossover(ids, start="2021-06-07", days=3, per_day=1, sites=sites, seed=4)
    brute = _brute_force_two_sites()
    enum = d.enumerate()
    assert len(enum) == len(brute) == 36
    assert {r.tobytes() for r in enum} == {r.tobytes() for r in brute}
    y = np.array([3, 0, 1, 2, 0, 5, 1, 1, 0, 4, 2, 2, 0, 1, 6], dtype=float)

    def stat(Z, yy):  # difference in means (tasked - untasked unit-days)
        n1 = Z.sum(axis=1)
        return Z @ yy / n1 - (yy.sum() - Z @ yy) / (Z.shape[1] - n1)

    z = np.asarray(d.assignment, dtype=float)
    t_obs = stat(z[None, :], y)[0]
    t_all = stat(brute.astype(float), y)
    p_exact = float(np.mean(np.abs(t_all) >= abs(t_obs) - 1e-12))
    res = randomisation_test(d, y, stat, ci=False)
    assert res.method == "exact" and res.p_value == pytest.approx(p_exact, abs=1e-12)
    # Monte Carlo draws from the design agree within their error
    mc = randomisation_test(d, y, stat, ci=False, exact_limit=0, draws=4000,
                            rng=np.random.default_rng(1))
    assert abs(mc.p_value - p_exact) < 4 * np.sqrt(p_exact * (1 - p_exact) / 4000) + 1e-3
    # every reference draw keeps one tasked hot spot per site per day (the quotas)
    draws = d.draw(500, np.random.default_rng(3)).reshape(500, 5, 3)
    assert (draws[:, :3].sum(axis=1) == 1).all() and (draws[:, 3:].sum(axis=1) == 1).all()
