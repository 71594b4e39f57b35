"""Holm / Benjamini-Hochberg against statsmodels multipletests; primary left unadjusted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from rct.evaluate.multiplicity import adjust_estimates, adjust_pvalues
from rct.evaluate.results import Estimate, EvaluationResults, Term

P = st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(P)
def test_bh_bonferroni_match_statsmodels(p):
    for ours, theirs in (("bh", "fdr_bh"), ("bonferroni", "bonferroni")):
        np.testing.assert_allclose(
            adjust_pvalues(p, method=ours),
            multipletests(p, method=theirs)[1],
            rtol=1e-12,
            atol=1e-15,
        )


# statsmodels' "holm" takes ~0.2 s a call here, so fewer examples
@settings(max_examples=25, deadline=None)
@given(P)
def test_holm_matches_statsmodels(p):
    np.testing.assert_allclose(
        adjust_pvalues(p, method="holm"), multipletests(p, method="holm")[1], rtol=1e-12, atol=1e-15
    )


def test_nan_left_out_and_aliases():
    p = [0.01, math.nan, 0.04, 0.03]
    out = adjust_pvalues(p, method="fdr_bh")
    assert math.isnan(out[1])
    np.testing.assert_allclose(
        out[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1]
    )
    assert np.array_equal(adjust_pvalues([0.2, 0.5], method="none"), [0.2, 0.5])
    with pytest.raises(ValueError, match="valid choices"):
        adjust_pvalues([0.1], method="hochberg-ish")
    with pytest.raises(ValueError):
        adjust_pvalues([1.5])


def _est(outcome, p, method="difference in means"):
    return Estimate(outcome, method, (Term("treatment", 1.0, p_value=p),), n=45)


def test_primary_unadjusted_secondaries_holm():
    ests = [
        _est("crimes", 0.03),
        _est("harm", 0.02),
        _est("crimes_violence", 0.04),
        _est("catchment_crimes", 0.30),
    ]
    res = adjust_estimates(ests, primary="crimes", method="holm")
    assert isinstance(res, EvaluationResults)
    tidy = res.tidy()
    got = dict(zip(tidy["outcome"], tidy["p_adjusted"], strict=True))
    assert got["crimes"] == 0.03  # confirmatory: not adjusted
    expected = multipletests([0.02, 0.04, 0.30], method="holm")[1]
    assert [got["harm"], got["crimes_violence"], got["catchment_crimes"]] == pytest.approx(expected)
    assert res.primary == "crimes" and res.adjustment == "holm"
    assert tidy.loc[tidy.outcome == "crimes", "primary"].item()
    # idempotent on an EvaluationResults, BH this time
    res2 = adjust_estimates(res, primary=None, method="benjamini-hochberg")
    assert res2.tidy()["p_adjusted"].tolist() == pytest.approx(
        multipletests([0.03, 0.02, 0.04, 0.30], method="fdr_bh")[1]
    )
