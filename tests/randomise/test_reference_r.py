"""The Mahalanobis balance statistic against R (stats::mahalanobis), output committed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rct.randomise.rerandomise import MahalanobisScorer

REF = Path(__file__).resolve().parents[1] / "reference" / "randomise"


def test_mahalanobis_matches_r():
    x = pd.read_csv(REF / "mr_input.csv").to_numpy()
    z = pd.read_csv(REF / "mr_assign.csv").to_numpy().T.astype(np.int8)
    r = pd.read_csv(REF / "mahalanobis_R.csv")
    scorer = MahalanobisScorer(x, 2)
    # R: mahalanobis(d, center = rep(0, ncol(x)), cov = cov(x) * (1/sum(t) + 1/sum(!t)))
    #    with d = colMeans(x[t, ]) - colMeans(x[!t, ])   (tests/reference/randomise/mahalanobis.R)
    np.testing.assert_allclose(scorer.score(z), r["M"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(scorer.score_numpy(z), r["M"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose([float(scorer.exact(zz)) for zz in z], r["M"].to_numpy(), rtol=1e-13)
