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
