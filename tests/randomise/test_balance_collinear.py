"""Balance on hot spots built by `rct hotspots build` (issue 13 item 4).

``build_hotspots`` writes ``crimes`` and ``share_crimes`` (= crimes / total),
``area_m2``, ``share_area`` and ``cells`` (multiples of each other): the
Mahalanobis covariance is singular, and ``balance`` used to fail.  Now
constant and collinear covariates are left out of the omnibus test with a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rct.errors import DesignError
from rct.randomise import balance, parallel
from rct.randomise.balance import independent_covariates


def _built_hotspots(n: int = 30, seed: int = 4):
    from rct.hotspots import build_hotspots

    rng = np.random.default_rng(seed)
    centres = rng.uniform([450_000, 170_000], [470_000, 190_000], size=(n, 2))
    k = rng.poisson(25, n) + 5
    pts = np.repeat(centres, k, axis=0) + rng.normal(0, 20, (k.sum(), 2))
    crimes = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1],
                           "category": "Violence and sexual offences"})
    return build_hotspots(crimes, cell=150, top=n).hotspots


def test_balance_on_hot_spots_from_build():
    hs = _built_hotspots()
    assert {"crimes", "share_crimes", "area_m2", "share_area", "cells"} <= set(hs.columns)
    covs = ["crimes", "share_crimes", "area_m2", "share_area", "cells", "centroid_x"]
    covs = [c for c in covs if c in hs.columns]
    design = parallel(hs.drop(columns="geometry"), scheme="complete", seed=9)
    res = balance(design, hs, covs, draws=500, seed=1)
    kept, dropped = res.omnibus["covariates"], res.omnibus["dropped"]
    assert "crimes" in kept and "share_crimes" in dropped
    assert dropped["share_crimes"].startswith("an exact linear function of crimes")
    assert "share_crimes left out of the omnibus test" in " ".join(res.notes)
    assert len(res.table) == len(covs)  # every covariate keeps its row
    assert 0 < res.omnibus["p_value"] <= 1
    # the omnibus statistic equals the one computed on the kept covariates alone
    alone = balance(design, hs, kept, draws=500, seed=1)
    assert res.omnibus["statistic"] == pytest.approx(alone.omnibus["statistic"], rel=1e-12)
    assert res.omnibus["p_value"] == alone.omnibus["p_value"]


def test_independent_covariates_reasons():
    rng = np.random.default_rng(1)
    a = rng.poisson(30, 40).astype(float)
    h = rng.gamma(2, 50, 40)
    x = np.column_stack([a, a / a.sum(), h, np.full(40, 7.0), 2 * a - 3 * h + 1,
                         rng.normal(size=40)])
    kept, dropped = independent_covariates(x, ["a", "share_a", "h", "const", "mix", "z"])
    assert kept == ["a", "h", "z"]
    assert dropped == {
        "share_a": "an exact linear function of a (it adds no information)",
        "const": "constant across hot spots",
        "mix": "an exact linear function of a and h (it adds no information)"}
    # against numpy's rank: the kept columns (centred) have full rank, adding any dropped
    # one does not raise it
    xc = x - x.mean(axis=0)
    idx = {n: i for i, n in enumerate(["a", "share_a", "h", "const", "mix", "z"])}
    k = [idx[n] for n in kept]
    assert np.linalg.matrix_rank(xc[:, k]) == len(k)
    for n in dropped:
        assert np.linalg.matrix_rank(xc[:, [*k, idx[n]]]) == len(k)


def test_too_many_covariates_for_the_hot_spots():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 6))
    kept, dropped = independent_covariates(x, list("abcdef"), max_covariates=4)
    assert kept == list("abcd")
    assert dropped["e"] == "with 6 hot spots the test takes at most 4 covariates"


def test_no_usable_covariate_is_an_error():
    units = pd.DataFrame({"hotspot_id": [f"h{i}" for i in range(10)], "c": 3.0})
    design = parallel(units, scheme="complete", seed=1)
    with pytest.raises(DesignError, match="c: constant across hot spots"):
        balance(design, units, ["c"], draws=100)
