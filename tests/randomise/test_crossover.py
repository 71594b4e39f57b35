"""Crossover hot-spot-day schedules: k per day, coverage, constraints, exact probabilities."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.errors import DesignError
from rct.randomise import crossover, tasking_list
from rct.randomise.manifest import allocation_bytes


def _ids(n):
    return [f"HS{i:02d}" for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), data=st.data(), days=st.integers(1, 30),
       weekday=st.booleans(), seed=st.integers(0, 2**40))
def test_k_per_day_and_coverage_within_one(n, data, days, weekday, seed):
    k = data.draw(st.integers(1, n - 1))
    d = crossover(_ids(n), start="2021-05-03", days=days, per_day=k, seed=seed,
                  block_weekday=weekday)
    draws = d.draw_schedules(20, np.random.default_rng(seed % 997))
    scheds = np.concatenate([d.schedule[None], draws])
    assert (scheds.sum(axis=2) == k).all()  # exactly k of N every day
    cov = scheds.sum(axis=1)
    assert (cov.max(axis=1) - cov.min(axis=1) <= 1).all()
    if weekday:
        wd = np.array([x.weekday() for x in d.dates])
        for w in range(7):
            c = scheds[:, wd == w, :].sum(axis=1)
            assert (c.max(axis=1) - c.min(axis=1) <= 1).all()


@settings(max_examples=12, deadline=None)
@given(n=st.integers(4, 14), data=st.data(), cap=st.integers(1, 3), washout=st.integers(0, 3),
       seed=st.integers(0, 2**40))
def test_consecutive_cap_and_washout_respected(n, data, cap, washout, seed):
    k = data.draw(st.integers(1, max(1, n // 3)))
    try:
        d = crossover(_ids(n), start="2021-05-03", days=28, per_day=k, seed=seed,
                      max_consecutive=cap, washout=washout, max_attempts=2000)
    except DesignError:
        return  # infeasible combination: refused, never a schedule that breaks the rules
    for s in np.concatenate([d.schedule[None], d.draw_schedules(10, np.random.default_rng(1))]):
        assert (s.sum(axis=1) == k).all()
        cov = s.sum(axis=0)
        assert cov.max() - cov.min() <= 1
        for col in s.T:
            runs, gaps, cur, gap, seen = [], [], 0, 0, False
            for v in col:
                if v:
                    if cur == 0 and seen:
                        gaps.append(gap)
                    cur, gap = cur + 1, 0
                    seen = True
                else:
                    if cur:
                        runs.append(cur)
                    cur, gap = 0, gap + 1
            runs.append(cur)
            assert max(runs) <= cap
            assert all(g >= washout for g in gaps)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"max_consecutive": 1},
        {"washout": 1},
        {"block_weekday": True},
        {"equal_coverage": False, "max_consecutive": 2},
    ],
)
def test_exact_enumeration_gives_k_over_n_and_matches_draws(kw):
    # rct-randomise/2: the enumeration is the feasible set, each schedule 1/m
    d = crossover(_ids(4), start="2021-05-06", days=3, per_day=2, seed=5, **kw)
    z, w = d.enumerate(with_probabilities=True)
    assert w.sum() == pytest.approx(1.0)
    marg = (w[:, None] * z).sum(axis=0)
    np.testing.assert_allclose(marg, 0.5, atol=1e-12)  # k/N for every unit-day
    np.testing.assert_allclose(d.probabilities()["treatment"], 0.5)
    # whole-schedule frequencies from .draw match the enumerated probabilities
    n = 20_000
    draws = d.draw(n, np.random.default_rng(7))
    index = {row.tobytes(): i for i, row in enumerate(z.astype(np.int8))}
    counts = np.zeros(len(z))
    for row in draws:
        counts[index[row.tobytes()]] += 1  # KeyError would mean an impossible schedule
    se = np.sqrt(w * (1 - w) / n)
    assert (np.abs(counts / n - w) < 4.5 * se + 1e-9).all()


def test_unconstrained_count_and_uniformity():
    d = crossover(_ids(5), start="2021-01-01", days=2, per_day=2, seed=1, equal_coverage=False)
    z, w = d.enumerate(with_probabilities=True)
    assert d.n_assignments == math.comb(5, 2) ** 2
    np.testing.assert_allclose(w, 1 / 100)


def test_exact_probabilities_asymmetric_k():
    d = crossover(_ids(5), start="2021-01-01", days=3, per_day=2, seed=1, max_consecutive=1)
    z, w = d.enumerate(with_probabilities=True)
    np.testing.assert_allclose((w[:, None] * z).sum(0), 2 / 5, atol=1e-12)


def test_southend_design_and_tasking_list():
    d = crossover(_ids(20), start=dt.date(2020, 6, 1), days=90, per_day=8, seed=2020)
    alloc = d.allocation
    assert (alloc["arm"] == "treatment").sum() == 720 and (alloc["arm"] == "control").sum() == 1080
    assert list(alloc.columns) == ["hotspot_id", "trial_date", "arm"]
    t = tasking_list(d)
    assert len(t) == 90 and (t["n_tasked"] == 8).all()
    first = set(t.loc[0, "tasked"].split(";"))
    assert first == set(alloc[(alloc.trial_date == dt.date(2020, 6, 1)) & (alloc.arm == "treatment")]
                        .hotspot_id)
    assert t.loc[0, "starts_local"] == "2020-06-01 06:00"
    cov = d.coverage()
    assert cov["tasked_days"].eq(36).all()
    emp = d.draw(2000, np.random.default_rng(3)).mean()
    assert emp == pytest.approx(0.4, abs=1e-12)  # exactly k per day in every draw


def test_probabilities_match_empirical_with_constraints():
    d = crossover(_ids(9), start="2021-03-01", days=20, per_day=3, seed=4, max_consecutive=2,
                  washout=1)
    n = 6000
    emp = d.draw(n, np.random.default_rng(8)).mean(axis=0)
    se = np.sqrt((1 / 3) * (2 / 3) / n)
    assert np.abs(emp - 1 / 3).max() < 5 * se


def test_washout_flag_in_allocation():
    d = crossover(_ids(6), start="2021-03-01", days=10, per_day=2, seed=4, washout=1)
    a = d.allocation
    assert "washout" in a.columns
    s = d.schedule
    prev = np.vstack([np.zeros((1, 6), np.int8), s[:-1]])
    expect = (prev == 1) & (s == 0)
    assert (a["washout"].to_numpy() == expect.T.ravel()).all()


def test_same_seed_same_schedule_any_order():
    ids = _ids(15)
    a = crossover(ids, start="2021-01-04", days=30, per_day=7, seed=99, block_weekday=True)
    b = crossover(ids[::-1], start="2021-01-04", days=30, per_day=7, seed=99, block_weekday=True)
    assert allocation_bytes(a) == allocation_bytes(b)
    c = crossover(ids, start="2021-01-04", days=30, per_day=7, seed=100, block_weekday=True)
    assert allocation_bytes(a) != allocation_bytes(c)


def test_units_and_assignment_order():
    d = crossover(_ids(3), start="2021-01-04", days=2, per_day=1, seed=1)
    assert list(d.units) == [(h, dd) for h in _ids(3) for dd in d.dates]
    assert d.assignment.tolist() == d.schedule.T.ravel().tolist()
    assert d.assignment.dtype == np.int8


def test_invalid_inputs():
    with pytest.raises(DesignError, match="per_day"):
        crossover(_ids(4), start="2021-01-01", days=3, per_day=4, seed=1)
    with pytest.raises(DesignError, match="start"):
        crossover(_ids(4), start="01/02/2021", days=3, per_day=1, seed=1)
