"""Balance table and omnibus randomisation test."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from rct.errors import DesignError
from rct.randomise import balance, crossover, parallel
from rct.randomise.rerandomise import mahalanobis_loop


def _units():
    return pd.DataFrame({
        "hotspot_id": [f"H{i}" for i in range(7)],
        "crimes": [12.0, 30.0, 7.0, 15.0, 22.0, 9.0, 18.0],
        "harm": [200.0, 640.0, 90.0, 410.0, 150.0, 75.0, 330.0],
    })


def test_table_matches_direct_computation():
    u = _units()
    d = parallel(u, counts=(4, 3), seed=2)
    res = balance(d, u, ["crimes", "harm"])
    z = pd.Series(d.assignment, index=list(d.ids))
    t = u.set_index("hotspot_id").loc[list(d.ids)]
    for c in ["crimes", "harm"]:
        xt, xc = t[c][z.to_numpy() == 1], t[c][z.to_numpy() == 0]
        row = res.table.set_index("covariate").loc[c]
        assert row["mean_treatment"] == pytest.approx(xt.mean())
        smd = (xt.mean() - xc.mean()) / np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2)
        assert row["smd_treatment"] == pytest.approx(smd)
        assert row["variance_ratio_treatment"] == pytest.approx(xt.var(ddof=1) / xc.var(ddof=1))


def test_omnibus_p_value_by_enumeration():
    u = _units()
    d = parallel(u, counts=(5, 2), seed=4)
    res = balance(d, u, ["crimes", "harm"])
    assert res.omnibus["method"].startswith("exact") and res.omnibus["reference_size"] == 21
    x = u.set_index("hotspot_id").loc[list(d.ids), ["crimes", "harm"]].to_numpy()
    m_obs = mahalanobis_loop(x, [d.assignment])[0]
    ref = []
    for pair in combinations(range(7), 2):  # independent: all 21 allocations by itertools
        a = np.zeros(7, int)
        a[list(pair)] = 1
        ref.append(mahalanobis_loop(x, [a])[0])
    p_ref = np.mean(np.array(ref) >= m_obs - 1e-9)
    assert res.omnibus["statistic"] == pytest.approx(m_obs, rel=1e-10)
    assert res.omnibus["p_value"] == pytest.approx(p_ref, abs=1e-12)


def test_monte_carlo_omnibus_is_uniformish_under_design():
    rng = np.random.default_rng(0)
    u = pd.DataFrame({"hotspot_id": [f"H{i:02d}" for i in range(40)], "a": rng.normal(size=40),
                      "b": rng.gamma(2, size=40)})
    ps = [balance(parallel(u, seed=s), u, ["a", "b"], draws=400, seed=s).omnibus["p_value"]
          for s in range(60)]
    # p-values of realised allocations from the design itself are ~U(0,1)
    assert 0.3 < np.mean(ps) < 0.7
    assert np.mean(np.array(ps) <= 0.1) < 0.3


def test_crossover_refused():
    d = crossover(["a", "b", "c"], start="2021-01-01", days=2, per_day=1, seed=1)
    with pytest.raises(DesignError, match="crossover"):
        balance(d, pd.DataFrame({"hotspot_id": ["a", "b", "c"], "x": [1, 2, 3]}), ["x"])
