"""Every number `rct evaluate` writes for a seeded crossover equals the committed results of
the code before the issue-16 speed-ups (CR2 by Lanczos, batched RI statistics, lazy imports).

The fixture ``fixtures/crossover_plan_before.json`` is :func:`_results` as computed by the
code at commit ``310712f`` (before any change of issue 16's evaluate part), written by
running this module as a script.  The trial is simulated here with an explicit seed and
randomisation inference draws from :class:`rct.plan.common.ApproximateDesign` (numpy only),
so the comparison isolates the evaluation from the crossover sampler.  70 days puts the
hot spots' CR2 blocks on the iterative path (``_cr2._LANCZOS_MIN``); the plan runs the
primary and secondary outcomes, the carryover model and its test, the catchment ring and
the complier effect.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "crossover_plan_before.json"


def _trial(seed: int = 16, n: int = 24, days: int = 70, per_day: int = 12):
    rng = np.random.default_rng(seed)
    ids = [f"hs{i:02d}" for i in range(n)]
    dates = pd.date_range("2024-01-01", periods=days).date
    z = np.zeros((n, days), dtype=int)
    for d in range(days):  # k tasked a day
        z[rng.choice(n, per_day, replace=False), d] = 1
    rate = rng.gamma(2.0, 0.25, n)[:, None] * np.exp(0.3 * np.sin(np.arange(days) / 5))[None, :]
    lam = rate * np.where(z == 1, 0.75, 1.0) * rng.gamma(3.0, 1 / 3.0, (n, days))
    crimes = rng.poisson(lam)
    harm = np.where(crimes > 0, crimes * rng.gamma(1.5, 40.0, (n, days)), 0.0)
    ring = rng.poisson(rate * 1.5)
    hs = np.repeat(ids, days)
    td = np.tile(dates, n)
    outcomes = pd.DataFrame({"hotspot_id": hs, "trial_date": td, "crimes": crimes.ravel(),
                             "harm": harm.ravel(), "catchment_crimes": ring.ravel()})
    alloc = pd.DataFrame({"hotspot_id": hs, "trial_date": td,
                          "arm": np.where(z.ravel() == 1, "treatment", "control")})
    dose = np.where(z == 1, rng.gamma(4.0, 4.0, (n, days)), rng.gamma(0.5, 2.0, (n, days)))
    dosage = pd.DataFrame({"hotspot_id": hs, "trial_date": td,
                           "presence_minutes": dose.ravel()})
    return outcomes, alloc, dosage


def _results() -> dict:
    from rct.plan.crossover import evaluate_crossover

    outcomes, alloc, dosage = _trial()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate_crossover(outcomes, alloc, outcomes_to_test=("crimes", "harm"),
                                 ri_draws=300, seed=7, carryover_days=2, dosage=dosage,
                                 labels={"crimes": "Crime", "harm": "Harm"})
    return json.loads(json.dumps(res.to_dict(), default=_default, sort_keys=True))


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _compare(got, want, path="results"):
    """Every leaf equal: numbers to 1e-10 relative (NaN = NaN), everything else exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), path
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{path}[{i}]")
    elif isinstance(want, bool) or want is None or isinstance(want, str):
        assert got == want, f"{path}: {got!r} != {want!r}"
    else:
        assert isinstance(got, (int, float)) and not isinstance(got, bool), path
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got), f"{path}: {got!r} is not NaN"
        else:
            assert got == pytest.approx(want, rel=1e-10, abs=1e-12), f"{path}: {got!r} != {want!r}"


def _leaves(d) -> int:
    if isinstance(d, dict):
        return sum(_leaves(v) for v in d.values())
    if isinstance(d, list):
        return sum(_leaves(v) for v in d)
    return 1


def test_plan_results_equal_the_code_before_the_speed_ups():
    want = json.loads(FIXTURE.read_text(encoding="utf-8"))
    got = _results()
    assert _leaves(want) > 500  # the whole results, not a summary
    _compare(got, want)


if __name__ == "__main__":  # regenerate the fixture (only from the code before the change)
    FIXTURE.write_text(json.dumps(_results(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.exit(0)
