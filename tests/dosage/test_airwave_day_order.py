"""The date order of a ping CSV settled from the first chunk the reader reads anyway.

``airwave_presence`` (default engine) no longer reads a CSV's first million
rows once more before the run to tell ISO times from slash dates
(``plan_units(defer_day_order=True)``); the decision must be the one the up-front
look (:func:`rct.dosage.airwave_read.file_day_order`) makes, for ISO files,
day-first and month-first slash dates, files whose order cannot be told, and a
chunk size other than the first look's.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from rct.dosage.airwave import airwave_presence
from rct.dosage.airwave_read import DAY_ORDER_FROM_FIRST_CHUNK, plan_units
from rct.errors import DataError
from rct.io.sources import Input

KEY = b"test-key-0123456789abcdef"


def _hotspots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"hotspot_id": ["A", "B"]},
                            geometry=[shapely.box(450_000, 200_000, 450_100, 200_100),
                                      shapely.box(450_400, 200_000, 450_500, 200_100)],
                            crs=27700)


def _pings(fmt: str, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    t = pd.Timestamp("2024-03-25 05:00") + pd.to_timedelta(np.arange(n) * 97, unit="s")
    t = t + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    return pd.DataFrame({
        "radio_id": rng.choice(["R1", "R2", "R3"], n),
        "timestamp": t.strftime(fmt),
        "x": 450_000 + rng.choice([20.0, 450.0], n) + rng.uniform(0, 50, n),
        "y": 200_010 + rng.uniform(0, 80, n),
    })


def _run(path, **kw):
    return airwave_presence(path, _hotspots(), key=KEY, **kw)


@pytest.mark.parametrize("fmt,order", [("%Y-%m-%d %H:%M:%S", None),
                                       ("%d/%m/%Y %H:%M:%S", True),
                                       ("%m/%d/%Y %H:%M", False)])
@pytest.mark.parametrize("chunk_rows", [1_000_000, 100])
def test_deferred_order_gives_the_table_of_the_stated_order(
    tmp_path, monkeypatch, fmt, order, chunk_rows
):
    path = tmp_path / "pings.csv"
    _pings(fmt).to_csv(path, index=False)
    (unit,) = plan_units([path], defer_day_order=True)
    assert unit.dayfirst == DAY_ORDER_FROM_FIRST_CHUNK
    got = _run(path, chunk_rows=chunk_rows)
    stated = _run(Input(path=path, dayfirst=order) if order is not None else path,
                  chunk_rows=chunk_rows)
    with monkeypatch.context() as mp:  # the order looked for up front, as before
        import rct.dosage.airwave as aw

        mp.setattr(aw, "plan_units", lambda p, **kw: plan_units(p, **{
            **kw, "defer_day_order": False}))
        upfront = _run(path, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(got.table, stated.table)
    pd.testing.assert_frame_equal(got.table, upfront.table)
    assert got.n_quarantined == stated.n_quarantined == upfront.n_quarantined == 0
    assert got.table["pings"].sum() > 100
    if order is not None:  # and the other order reads other days
        other = _run(Input(path=path, dayfirst=not order), chunk_rows=chunk_rows)
        assert not other.table.equals(got.table)


def test_an_order_that_cannot_be_told_is_still_refused(tmp_path):
    path = tmp_path / "pings.csv"
    d = _pings("%d/%m/%Y %H:%M:%S", n=50)
    d["timestamp"] = "03/04/2024 10:00:00"  # day and month both at most 12, everywhere
    d.to_csv(path, index=False)
    with pytest.raises(DataError, match="ambiguous dates"):
        _run(path)
