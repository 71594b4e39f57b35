"""`rct hotspots build` on the bundled police.uk data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rct.cli import main
from rct.io.hotspots import read_hotspots

VIOLENCE = "Violence and sexual offences"


@pytest.fixture(scope="module")
def two_months(police_uk_dir):
    return [str(police_uk_dir / "2018-10-thames-valley-street.csv.gz"),
            str(police_uk_dir / "2018-11-thames-valley-street.csv.gz")]


def test_build_real_data_top_45(tmp_path, two_months, capsys):
    out = tmp_path / "hotspots.geojson"
    summary = tmp_path / "summary.csv"
    code = main(["hotspots", "build", *two_months, "--crime-types", VIOLENCE,
                 "--cell", "150", "--top", "45", "--min-separation", "300", "--harm", "cchi",
                 "--out", str(out), "--summary-out", str(summary), "--stability"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    text = printed.out

    # read / accepted / quarantined counts printed, and they reconcile with the files
    n_rows = sum(len(pd.read_csv(p)) for p in two_months)
    no_coords = sum(int(pd.read_csv(p)["Longitude"].isna().sum()) for p in two_months)
    assert f"read {n_rows:,}" in text
    quarantine = tmp_path / "hotspots.quarantine.csv"
    if no_coords:
        assert quarantine.exists() and "quarantine" in text
        q = pd.read_csv(quarantine)
        assert len(q) >= no_coords and q["reason"].notna().all()
    assert "45 hot spots:" in text and "share of crime" in text and "share of area" in text
    assert "stability" in text and "top cells still top" in text
    assert "Sherman" in text  # the harm index is cited

    # the GeoJSON is RFC 7946 WGS84 and re-reads as 45 unique hot spots in EPSG:27700
    raw = json.loads(out.read_text())
    assert raw["type"] == "FeatureCollection" and len(raw["features"]) == 45
    lon, lat = np.array(raw["features"][0]["geometry"]["coordinates"][0]).T
    assert (-2 < lon).all() and (lon < 0.5).all() and (51 < lat).all() and (lat < 52.5).all()
    gdf = read_hotspots(out)
    assert len(gdf) == 45 and gdf["hotspot_id"].is_unique and gdf.crs.to_epsg() == 27700
    assert gdf["hotspot_id"].iloc[0] == "H001"
    cent = gdf.geometry.centroid
    d = np.hypot(cent.x.to_numpy()[:, None] - cent.x.to_numpy()[None],
                 cent.y.to_numpy()[:, None] - cent.y.to_numpy()[None])
    d[np.diag_indices(45)] = np.inf
    assert d.min() >= 300 - 0.01                      # separation survives the round trip
    np.testing.assert_allclose(gdf.geometry.area, np.sqrt(3) / 2 * 150**2, rtol=1e-4)

    s = pd.read_csv(summary).set_index("measure")["value"]
    assert s["hot spots"] == 45
    assert s["share of crime"] > s["share of area"]
    assert gdf["crimes"].sum() == s["crimes in hot spots"]
    frames = [pd.read_csv(p) for p in two_months]
    n_violence = sum(int(((f["Crime type"] == VIOLENCE) & f["Longitude"].notna()).sum())
                     for f in frames)
    assert s["share of crime"] == pytest.approx(s["crimes in hot spots"] / n_violence)


def test_share_of_harm_with_merging(tmp_path, two_months, capsys):
    out = tmp_path / "h.geojson"
    code = main(["hotspots", "build", two_months[0], "--share-of-harm", "0.1",
                 "--harm", "cchi", "--merge-touching", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    gdf = read_hotspots(out)
    assert gdf["share_harm"].sum() >= 0.1
    assert gdf["cells"].sum() >= len(gdf)
    assert "share of harm" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--top", "5", "--rank-by", "density"], "count"),
        (["--top", "5", "--share-of-harm", "0.3", "--harm", "cchi"], "exactly one"),
        (["--top", "5", "--crime-types", "Jaywalking"], "Jaywalking"),
        (["--top", "5", "--harm", "no-such-index"], "cchi"),
    ],
)
def test_bad_options_exit_2_without_output(tmp_path, two_months, capsys, args, message):
    out = tmp_path / "h.geojson"
    code = main(["hotspots", "build", two_months[0], *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_crime_file_exit_2(tmp_path, capsys):
    code = main(["hotspots", "build", str(tmp_path / "nope.csv"), "--top", "5",
                 "--out", str(tmp_path / "h.geojson")])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err
