"""Result objects: immutable, tidy in the documented shape, JSON-safe."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from rct.evaluate.results import TIDY_COLUMNS, Estimate, EvaluationResults, Term


def _est(outcome="crimes", p=0.04):
    return Estimate(
        outcome=outcome,
        method="difference in means",
        terms=(Term("treatment", -0.1, 0.05, -2.0, p, -0.2, 0.0),
               Term("irr", np.float64(0.9), scale="ratio")),
        n=45,
        details={"mc_se": np.float64(0.001), "draws": np.int64(2000)},
    )


def test_tidy_has_documented_columns_one_row_per_term():
    df = _est().tidy()
    assert list(df.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert df["term"].tolist() == ["treatment", "irr"]
    assert df.loc[0, "p_value"] == 0.04 and math.isnan(df.loc[1, "p_value"])


def test_immutable():
    e = _est()
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.n = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.details["mc_se"] = 1.0  # type: ignore[index]


def test_to_dict_is_json_safe_and_nan_becomes_null():
    d = _est().to_dict()
    text = json.dumps(d)
    assert json.loads(text)["terms"][1]["p_value"] is None
    assert json.loads(text)["details"]["draws"] == 2000


def test_collection_adjusted_p_and_primary():
    a, b = _est("crimes", 0.04), _est("harm", 0.01)
    res = EvaluationResults((a, b), primary="harm", adjustment="holm",
                            adjusted_p={("crimes", "difference in means", "treatment"): 0.04,
                                        ("harm", "difference in means", "treatment"): 0.02})
    df = res.tidy()
    assert df.loc[df["outcome"] == "harm", "primary"].all()
    assert df.loc[(df["outcome"] == "harm") & (df["term"] == "treatment"), "p_adjusted"].item() == 0.02
    assert json.dumps(res.to_dict())
    assert "harm" in res.summary() and "<table" in res._repr_html_()


def test_summary_and_term_lookup():
    e = _est()
    assert "p = 0.040" in e.summary()
    assert e.term("irr").scale == "ratio"
    with pytest.raises(KeyError, match="treatment"):
        e.term("nope")
    with pytest.raises(ValueError):
        Estimate("y", "m", (), n=1)
