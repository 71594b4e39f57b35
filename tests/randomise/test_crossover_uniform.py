"""rct-randomise/2 and /3: schedules drawn uniformly from the design, verified.

(``rct-randomise/3``'s own checks -- its generator, a pure-Python re-run of its
procedure, its mixing on the published designs, its pinned bytes -- are in
``test_crossover_v3.py``; the checks here run both versions where both apply.)

* exact enumeration: on small designs every feasible schedule is equally
  likely (chi-squared of many draws against the enumerated support), for
  every kernel: no constraints, weekday blocking (extra-day chain), run
  constraints, no equal coverage, sites;
* no induced alternation: with only k a day and equal coverage,
  P(tasked | tasked l days before) and P(tasked | untasked l days before) match
  their uniform values (c-1)/(D-1) and c/(D-1) within Monte Carlo error at
  45 x 182 (22 a day) and 20 x 90 (8 a day) -- the v1 sampler fails the same check;
* the same procedure: the allocation is draw 0 of ``design.draw`` from
  ``PCG64(seed)``, and draw i does not depend on how many are drawn.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import stats

from rct.errors import DesignError
from rct.randomise import crossover
from rct.randomise.crossover_mcmc import GROUP
from rct.randomise.manifest import allocation_bytes
from rct.randomise.serial import serial_structure


def _ids(n):
    return [f"HS{i:02d}" for i in range(n)]


def _chi2_uniform(design, draws_per_schedule, seed):
    z = design.enumerate(100_000)
    assert z is not None
    m = len(z)
    draws = design.draw(draws_per_schedule * m, np.random.default_rng(seed))
    index = {row.tobytes(): i for i, row in enumerate(z.astype(np.int8))}
    keys = [row.tobytes() for row in draws.astype(np.int8)]
    missing = [k for k in keys if k not in index]
    assert not missing, "the sampler produced a schedule outside the feasible set"
    counts = np.bincount([index[k] for k in keys], minlength=m)
    return m, stats.chisquare(counts).pvalue


V2 = {"algorithm": "rct-randomise/2"}
UNIFORM_CASES = [
    pytest.param(4, 5, 2, {}, id="swap-4x5"),
    pytest.param(4, 7, 1, {}, id="swap-4x7-k1"),
    pytest.param(3, 9, 1, {"block_weekday": True}, id="swap-weekday-extra-day-chain"),
    pytest.param(4, 3, 2, {"block_weekday": True}, id="swap-weekday-three-weekdays"),
    pytest.param(4, 5, 2, {"equal_coverage": False}, id="independent-days"),
    pytest.param(4, 5, 2, V2, id="v2-swap-4x5"),
    pytest.param(4, 7, 1, V2, id="v2-swap-4x7-k1"),
    pytest.param(3, 9, 1, {"block_weekday": True, **V2}, id="v2-swap-weekday-extra-day-chain"),
    pytest.param(4, 3, 2, {"block_weekday": True, **V2}, id="v2-swap-weekday-three-weekdays"),
    pytest.param(4, 5, 2, {"equal_coverage": False, **V2}, id="v2-independent-days"),
    pytest.param(4, 6, 2, {"max_consecutive": 2}, id="local-cap2"),
    pytest.param(4, 7, 1, {"washout": 2}, id="local-washout2"),
    pytest.param(4, 7, 1, {"block_weekday": True, "max_consecutive": 1}, id="local-weekday-cap1"),
    pytest.param(4, 4, 2, {"equal_coverage": False, "washout": 2}, id="local-no-coverage-washout"),
    pytest.param(6, 3, 1, {"sites": {"HS00": "x", "HS01": "x", "HS02": "x", "HS03": "y",
                                     "HS04": "y", "HS05": "y"}}, id="sites"),
    pytest.param(6, 3, 1, {"sites": {"HS00": "x", "HS01": "x", "HS02": "x", "HS03": "y",
                                     "HS04": "y", "HS05": "y"}, **V2}, id="v2-sites"),
    pytest.param(4, 12, 1, {"sites": {"HS00": "x", "HS01": "x", "HS02": "y", "HS03": "y"},
                            "block_weekday": True}, id="sites-weekday-extra-day-chain"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("n", "days", "k", "kw"), UNIFORM_CASES)
def test_every_feasible_schedule_equally_likely(n, days, k, kw, monkeypatch):
    import rct.randomise.crossover_mcmc as M

    # the chains themselves (small run-constrained designs are otherwise drawn exactly)
    monkeypatch.setattr(M, "_EXACT_LIMIT", 0)
    start = "2021-05-06" if days == 3 else "2021-01-04"  # Thursday: four weekdays absent
    d = crossover(_ids(n), start=start, days=days, per_day=k, seed=3, **kw)
    assert d.derived["sampler"]["sites"][0]["kernel"] != "exact"
    m, p = _chi2_uniform(d, 15, seed=11)
    assert m > 20  # a non-trivial support
    assert p > 1e-3, f"chi-squared against uniform over {m} schedules: p = {p:.2g}"


def test_small_tight_design_drawn_exactly_where_the_local_chain_is_reducible(monkeypatch):
    import rct.randomise.crossover_mcmc as M

    kw = {"start": "2021-01-04", "days": 12, "per_day": 1, "seed": 3, "block_weekday": True,
          "max_consecutive": 1}
    d = crossover(_ids(3), **kw)
    assert d.derived["sampler"]["sites"][0] == {
        "hotspots": 3, "per_day": 1, "kernel": "exact", "raw_words": 1, "schedules": 180}
    m, p = _chi2_uniform(d, 30, seed=4)
    assert m == 180 and p > 1e-3
    # the local chain alone never reaches some of these schedules: the reason for the table
    monkeypatch.setattr(M, "_EXACT_LIMIT", 0)
    chain = crossover(_ids(3), **kw)
    z = chain.draw(30 * m, np.random.default_rng(4))
    assert len({r.tobytes() for r in z}) < m


def test_chi2_detects_the_v1_sampler_is_not_uniform():
    # the same check on the old priority sampler: its schedules are not equally likely
    d = crossover(_ids(4), start="2021-01-04", days=5, per_day=2, seed=3,
                  algorithm="rct-randomise/1")
    d2 = crossover(_ids(4), start="2021-01-04", days=5, per_day=2, seed=3)
    z1 = d.enumerate(100_000)
    z2 = d2.enumerate(100_000)
    assert len(z1) < len(z2)  # v1 reaches only part of the feasible set


def _transitions(design, n_draws, seed, lags=(1, 2, 7)):
    zs = design.draw_schedules(n_draws, np.random.default_rng(seed))
    res = [serial_structure(z, lags=max(lags)) for z in zs]
    out = {}
    for lag in lags:
        t = np.array([r.p_after_tasked[lag - 1] for r in res])
        u = np.array([r.p_after_untasked[lag - 1] for r in res])
        ref_t = np.array([r.reference_after_tasked[0] for r in res])
        ref_u = np.array([r.reference_after_untasked[0] for r in res])
        out[lag] = (t.mean(), t.std(ddof=1) / np.sqrt(n_draws), ref_t.mean(),
                    u.mean(), u.std(ddof=1) / np.sqrt(n_draws), ref_u.mean())
    return out


@pytest.mark.parametrize("algorithm", ["rct-randomise/3", "rct-randomise/2"])
@pytest.mark.parametrize(("n", "days", "k"), [(45, 182, 22), (20, 90, 8)])
def test_no_induced_alternation_default_design(n, days, k, algorithm):
    d = crossover(_ids(n), start="2021-06-07", days=days, per_day=k, seed=2022,
                  algorithm=algorithm)
    c = np.floor(k * days / n)  # coverage c or c+1 per hot spot
    for lag, (t, se_t, ref_t, u, se_u, ref_u) in _transitions(d, 300, 5).items():
        # uniform: (c-1)/(D-1) after a tasked day, c/(D-1) after an untasked one
        assert (c - 1) / (days - 1) - 1e-12 <= ref_t <= c / (days - 1) + 1e-12
        assert c / (days - 1) - 1e-12 <= ref_u <= (c + 1) / (days - 1) + 1e-12
        assert abs(t - ref_t) < 4 * se_t + 1e-4, (lag, t, ref_t, se_t)
        assert abs(u - ref_u) < 4 * se_u + 1e-4, (lag, u, ref_u, se_u)
    # the allocation itself: within the sampling spread of one schedule
    s = d.serial_structure()
    assert abs(s.p_after_tasked[0] - s.p_after_untasked[0]) < 0.06


def test_v1_sampler_fails_the_alternation_check():
    d = crossover(_ids(45), start="2021-06-07", days=182, per_day=22, seed=2022,
                  algorithm="rct-randomise/1")
    t, se_t, ref_t, u, se_u, ref_u = _transitions(d, 40, 5, lags=(1,))[1]
    # issue 14's figures: 0.294 vs 0.676 under the old sampler
    assert t == pytest.approx(0.294, abs=0.01) and u == pytest.approx(0.676, abs=0.01)
    assert abs(t - ref_t) > 20 * se_t


def test_unit_day_probabilities_exactly_k_over_n():
    d = crossover(_ids(20), start="2021-06-07", days=30, per_day=8, seed=1)
    p = d.probabilities()
    assert (p["treatment"] == 0.4).all() and p.attrs["method"] == "symmetry"
    emp = d.draw(4000, np.random.default_rng(2)).mean(axis=0)
    se = np.sqrt(0.4 * 0.6 / 4000)
    assert np.abs(emp - 0.4).max() < 5 * se


KERNELS = [
    pytest.param({}, id="curveball"),
    pytest.param({"block_weekday": True}, id="curveball-weekday"),
    pytest.param({"equal_coverage": False}, id="independent"),
    pytest.param({"max_consecutive": 2, "washout": 2}, id="local"),
    pytest.param(V2, id="v2-swap"),
    pytest.param({"block_weekday": True, **V2}, id="v2-swap-weekday"),
    pytest.param({"equal_coverage": False, **V2}, id="v2-independent"),
]


@pytest.mark.parametrize("kw", KERNELS)
def test_allocation_is_draw_zero_and_draws_do_not_depend_on_batch(kw):
    d = crossover(_ids(12), start="2021-06-07", days=30, per_day=4, seed=77, **kw)
    a = d.draw(3, np.random.PCG64(77))
    assert (a[0] == d.assignment).all()  # the same procedure, the same words
    b = d.draw(GROUP + 5, np.random.PCG64(77))
    assert (b[:3] == a).all()
    sampler = d._sampler()
    from rct.randomise.base import RawStream

    c = sampler.draw(RawStream(np.random.PCG64(77)), 2 * GROUP + 1, max_groups=1)
    assert (c.reshape(len(c), -1)[: GROUP + 5] == b).all()
    # distinct draws, all feasible
    z = d.draw_schedules(50, np.random.default_rng(1))
    assert len({x.tobytes() for x in z}) == 50
    assert (z.sum(axis=2) == 4).all()
    if kw.get("equal_coverage", True):
        cov = z.sum(axis=1)
        assert (cov.max(axis=1) - cov.min(axis=1) <= 1).all()


def test_more_than_64_hotspots_multiword_rows():
    d = crossover(_ids(70) + [f"X{i}" for i in range(30)], start="2021-06-07", days=40,
                  per_day=37, seed=5)
    z = np.concatenate([d.schedule[None], d.draw_schedules(20, np.random.default_rng(3))])
    assert (z.sum(axis=2) == 37).all()
    cov = z.sum(axis=1)
    assert (cov.max(axis=1) - cov.min(axis=1) <= 1).all()
    emp = d.draw(2000, np.random.default_rng(4)).mean(axis=0)
    assert np.abs(emp - 0.37).max() < 5 * np.sqrt(0.37 * 0.63 / 2000)


def test_weekday_blocking_coverage_within_weekday_and_total():
    d = crossover(_ids(45), start="2021-06-07", days=182, per_day=22, seed=9, block_weekday=True)
    z = np.concatenate([d.schedule[None], d.draw_schedules(30, np.random.default_rng(3))])
    wd = np.array([x.weekday() for x in d.dates])
    tot = z.sum(axis=1)
    assert (tot.max(axis=1) - tot.min(axis=1) <= 1).all()
    for w in range(7):
        c = z[:, wd == w].sum(axis=1)
        assert (c.max(axis=1) - c.min(axis=1) <= 1).all()


def test_sites_quotas_coverage_and_probabilities():
    ids = _ids(30)
    sites = {h: ("north" if i < 12 else "south") for i, h in enumerate(ids)}
    d = crossover(ids, start="2021-06-07", days=60, per_day={"north": 5, "south": 6},
                  sites=sites, seed=4)
    north = np.array([sites[h] == "north" for h in d.ids])
    z = np.concatenate([d.schedule[None], d.draw_schedules(40, np.random.default_rng(1))])
    assert (z[:, :, north].sum(axis=2) == 5).all() and (z[:, :, ~north].sum(axis=2) == 6).all()
    for part in (north, ~north):
        c = z[:, :, part].sum(axis=1)
        assert (c.max(axis=1) - c.min(axis=1) <= 1).all()
    p = d.probabilities()["treatment"].to_numpy().reshape(30, 60)
    assert np.allclose(p[north], 5 / 12) and np.allclose(p[~north], 6 / 18)
    assert d.per_day == 11
    assert "site" in d.allocation.columns
    same = crossover(ids, start="2021-06-07", days=60, per_day={"north": 5, "south": 6},
                     sites=sites, seed=4)
    assert allocation_bytes(same) == allocation_bytes(d)


def test_sites_errors():
    ids = _ids(6)
    with pytest.raises(DesignError, match="no site"):
        crossover(ids, start="2021-06-07", days=5, per_day=1, sites={"HS00": "a"}, seed=1)
    sites = {h: "a" if i < 3 else "b" for i, h in enumerate(ids)}
    with pytest.raises(DesignError, match="no quota"):
        crossover(ids, start="2021-06-07", days=5, per_day={"a": 1}, sites=sites, seed=1)
    with pytest.raises(DesignError, match="site 'b'"):
        crossover(ids, start="2021-06-07", days=5, per_day={"a": 1, "b": 3}, sites=sites, seed=1)
    with pytest.raises(DesignError, match="rct-randomise/2"):
        crossover(ids, start="2021-06-07", days=5, per_day=1, sites=sites, seed=1,
                  algorithm="rct-randomise/1")
    with pytest.raises(DesignError, match="no sites"):
        crossover(ids, start="2021-06-07", days=5, per_day={"a": 1}, seed=1)
    with pytest.raises(ValueError, match="rct-randomise/1, rct-randomise/2"):
        crossover(ids, start="2021-06-07", days=5, per_day=1, seed=1, algorithm="v3")


def test_regression_pin_v2_bytes():
    # These bytes may never change: rct-randomise/2 schedules must re-derive.
    d = crossover(_ids(20), start="2020-06-01", days=90, per_day=8, seed=2020, **V2)
    digest = hashlib.sha256(allocation_bytes(d)).hexdigest()
    assert digest == PIN_DEFAULT, digest
    for algorithm in ("rct-randomise/2", "rct-randomise/3"):  # /3 runs /2 under run constraints
        d = crossover(_ids(12), start="2020-06-01", days=28, per_day=4, seed=5,
                      max_consecutive=2, washout=2, block_weekday=True, algorithm=algorithm)
        digest = hashlib.sha256(allocation_bytes(d)).hexdigest()
        assert digest == PIN_CONSTRAINED, (algorithm, digest)


PIN_DEFAULT = "b3a4a1d7872dbc66e9d35e4ae2d4ecd68296382c6824bffa70d79e872746bff4"
PIN_CONSTRAINED = "cbbc971b051e29e50a697e3855dfe70074d94e4ff157987b87791abf23af9c33"


@pytest.mark.slow
def test_pair_overlaps_mixed_like_a_four_times_longer_chain(monkeypatch):
    # rct-randomise/2 mixing: the within-schedule spread of pairwise co-tasking counts (an isomorphism
    # invariant the permutations cannot change) matches a chain run four times longer
    import rct.randomise.crossover_mcmc as M

    def spread(design):
        z = design.draw_schedules(150, np.random.default_rng(8)).astype(np.float64)
        o = np.einsum("bti,btj->bij", z, z)
        iu = np.triu_indices(z.shape[2], 1)
        v = o[:, iu[0], iu[1]].var(axis=1)
        return v.mean(), v.std(ddof=1) / np.sqrt(len(v))

    kw = {"start": "2021-06-07", "days": 182, "per_day": 22, "seed": 1, **V2}
    m1, s1 = spread(crossover(_ids(45), **kw))
    monkeypatch.setattr(M, "_SWEEPS_PER_LEVEL", 4 * M._SWEEPS_PER_LEVEL)
    m4, s4 = spread(crossover(_ids(45), **kw))
    assert abs(m1 - m4) < 4 * np.hypot(s1, s4), (m1, m4)
    monkeypatch.setattr(M, "_SWEEPS_PER_LEVEL", M._SWEEPS_PER_LEVEL / 16)
    monkeypatch.setattr(M, "_SWEEPS_MIN", 1)
    m0, s0 = spread(crossover(_ids(45), **kw))
    assert m0 - m4 > 8 * np.hypot(s0, s4)  # a too-short chain is detected
