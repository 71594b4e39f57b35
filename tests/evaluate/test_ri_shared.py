"""Randomisation inference: one set of draws for every statistic, and the one-pass ratio interval."""

from __future__ import annotations

import numpy as np
import pytest

from rct.evaluate._fe import ConditionalPoissonLogRR
from rct.evaluate.ri import randomisation_test, reference_assignments
from rct.randomise.crossover import crossover


def _trial(n=10, days=20, k=5, seed=3):
    design = crossover([f"h{i}" for i in range(n)], start="2024-01-01", days=days, per_day=k,
                       seed=seed)
    rng = np.random.default_rng(seed)
    z = np.asarray(design.assignment, dtype=float)
    lam = np.repeat(rng.gamma(2, 0.4, n), days)
    y = rng.poisson(lam * np.where(z == 1, 0.7, 1.0)).astype(float)
    ids = np.repeat(np.arange(n), days)
    return design, y, ids


class _Plain:
    """The same statistic without its one-pass family (the slow, re-scoring path)."""

    name, linear, scale = "plain", False, "log_ratio"

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, Z, y):
        return self.inner(Z, y)


def test_one_pass_ratio_interval_equals_rescoring_every_draw():
    design, y, ids = _trial()
    stat = ConditionalPoissonLogRR(ids)
    ref = reference_assignments(design, draws=400, rng=np.random.default_rng(1))
    fast = randomisation_test(design, y, stat, reference=ref, effect="multiplicative")
    slow = randomisation_test(design, y, _Plain(stat), reference=ref, effect="multiplicative")
    assert fast.p_value == slow.p_value
    assert fast.conf_low == pytest.approx(slow.conf_low, rel=1e-9)
    assert fast.conf_high == pytest.approx(slow.conf_high, rel=1e-9)
    # a null other than 1 goes through the same family
    f2 = randomisation_test(design, y, stat, reference=ref, effect="multiplicative", null=0.8,
                            ci=False)
    s2 = randomisation_test(design, y, _Plain(stat), reference=ref, effect="multiplicative",
                            null=0.8, ci=False)
    assert f2.p_value == s2.p_value


def test_shift_family_is_the_statistic_of_the_shifted_outcome():
    design, y, ids = _trial()
    stat = ConditionalPoissonLogRR(ids)
    Z = np.asarray(design.draw(50, np.random.default_rng(2)), dtype=float)
    z = np.asarray(design.assignment, dtype=float)
    at = stat.shift_family(Z, y, z)
    for tau in (-0.7, 0.0, 0.3):
        np.testing.assert_allclose(at(tau), stat(Z, y * np.exp(-tau * z)), rtol=1e-12, atol=1e-12)


def test_shared_reference_is_the_same_as_drawing_with_that_seed():
    design, y, ids = _trial()
    stat = ConditionalPoissonLogRR(ids)
    ref = reference_assignments(design, draws=300, rng=np.random.default_rng(9))
    a = randomisation_test(design, y, stat, reference=ref, effect="multiplicative", ci=False)
    b = randomisation_test(design, y, stat, draws=300, rng=np.random.default_rng(9),
                           effect="multiplicative", ci=False)
    assert a.p_value == b.p_value and a.n_draws == b.n_draws == 300
    with pytest.raises(ValueError, match="values but the design has"):
        randomisation_test(design, y[:-1], stat, reference=ref)


def test_prescored_draws_give_the_tests_of_unshared_draws(monkeypatch):
    """Every statistic scored once on the shared draws (SharedReference + prescore) gives the
    numbers each test computes on its own, and no test passes over the draws again."""
    from rct.evaluate._fe import TwoWayFE
    from rct.evaluate.ri import adjusted_randomisation_test
    from rct.evaluate.ri_null import SharedReference, prescore, prescore_families

    design, y, ids = _trial(n=12, days=24, k=6)
    rng = np.random.default_rng(5)
    y2 = y * rng.gamma(2.0, 20.0, y.size)  # a heavy-tailed "harm" outcome
    dose = np.asarray(design.assignment, dtype=float) * 20 + rng.gamma(1.0, 3.0, y.size)
    u = design.units.to_frame(index=False)
    fe = TwoWayFE(u.iloc[:, 0].astype(str), u.iloc[:, 1].astype(str))
    cp = ConditionalPoissonLogRR(ids)
    z = np.asarray(design.assignment, dtype=float)
    shared = reference_assignments(design, draws=300, rng=np.random.default_rng(1))
    assert isinstance(shared, SharedReference)
    plain = tuple(shared)  # the same draws, no memo: each test scores on its own

    def run(ref):
        out = []
        for v in (y, y2):
            out.append(randomisation_test(design, v, fe, reference=ref))
            out.append(randomisation_test(design, v, cp, reference=ref, effect="multiplicative"))
        out.append(adjusted_randomisation_test(design, y, dose, fe, reference=ref))
        return out

    want = run(plain)
    prescore(shared, fe, [y, y2, z, dose])
    prescore_families(shared, cp, [y, y2], z)
    rows = []  # rows of every assignment matrix a statistic is computed on from now on

    def spy(real):
        return lambda Z, *a, **k: rows.append(np.shape(Z)[0]) or real(Z, *a, **k)

    monkeypatch.setattr(fe, "score_many", spy(fe.score_many))
    monkeypatch.setattr(cp, "shift_families", spy(cp.shift_families))
    got = run(shared)
    assert rows and set(rows) == {1}  # only the observed assignment: no pass over the draws
    for g, w in zip(got, want, strict=True):
        assert g.p_value == w.p_value and g.details["n_exceed"] == w.details["n_exceed"]
        np.testing.assert_allclose([g.observed, g.conf_low, g.conf_high],
                                   [w.observed, w.conf_low, w.conf_high], rtol=1e-12)
        assert g.details["null_histogram"] == w.details["null_histogram"]


def test_align_columns_equals_align_to_design_per_column():
    import pandas as pd

    from rct.evaluate.ri_stats import align_columns, align_to_design

    design, y, _ = _trial(n=6, days=9, k=3)
    u = design.units.to_frame(index=False)
    frame = pd.DataFrame({"hotspot_id": u.iloc[:, 0], "trial_date": pd.to_datetime(u.iloc[:, 1]),
                          "y": y, "w": np.arange(y.size) * 1.5}).sample(frac=1.0, random_state=2)
    got = align_columns(design, frame, ["y", "w", "y"])
    assert list(got) == ["y", "w"]
    for c in ("y", "w"):
        np.testing.assert_array_equal(got[c], align_to_design(design, frame, c))
    np.testing.assert_array_equal(got["y"], y)
