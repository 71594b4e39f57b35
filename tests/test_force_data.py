"""Issue 17's "done when": a force's own data in, the same tables out.

The same patrol log as ISO CSV, as the app's day-first export (its own
headers, mapped with --columns), as an Excel workbook and as a database
table gives the same dosage table; the same crimes likewise give the same
outcomes table; line-string hot spots (street segments) randomise, verify
and ingest end to end.  (PostgreSQL: tests/test_force_data_db.py.)
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rct.cli import main
from tests import force_data as fd

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("RCT_PSEUDONYM_KEY", KEY)


@pytest.fixture(scope="module")
def records():
    return fd.patrol_records(), fd.crime_records()


def _dosage(capsys, tmp_path, name, args):
    out = tmp_path / "out" / f"{name}.csv"
    code = main(["ingest", "patrols", *args, "--hotspots", str(tmp_path / "hs.geojson"),
                 "--start", "2021-09-06", "--end", "2021-11-30", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    q = out.with_name(f"{name}.quarantine.csv")
    reasons = pd.read_csv(q)["reason"].value_counts().to_dict() if q.exists() else {}
    return pd.read_csv(out), reasons, captured.out


def test_one_patrol_log_four_ways_gives_one_dosage_table(tmp_path, capsys, key, records):
    patrols, _ = records
    fd.hotspots_geojson(tmp_path / "hs.geojson")
    iso = fd.write_patrols_iso(tmp_path / "iso.csv", patrols)
    uk = fd.write_patrols_uk(tmp_path / "app_export.csv", patrols)
    xlsx = fd.write_patrols_xlsx(tmp_path / "app_export.xlsx", patrols)
    cols = fd.column_mapping_toml(tmp_path / "columns.toml")  # no dayfirst: told from the file
    db = tmp_path / "force.db"
    fd.load_table(f"sqlite:///{db}", "patrols", patrols, fd.PATROL_COLUMNS,
                  {"officer_id": "INTEGER", "arrived_at": "TIMESTAMP", "left_at": "TIMESTAMP"})

    base, base_q, _ = _dosage(capsys, tmp_path, "iso", [str(iso)])
    assert base_q == {"unknown hot spot": 1, "left before arrived": 1}
    assert base["visits"].sum() == len(patrols) - 2 and len(base) > 20
    ways = {
        "uk": [str(uk), "--columns", str(cols)],
        "xlsx": [str(xlsx), "--sheet", "Patrols", "--columns", str(cols)],
        "sqlite": ["--db", f"sqlite:///{db}", "--query", "SELECT * FROM patrols"],
    }
    for name, args in ways.items():
        table, reasons, out = _dosage(capsys, tmp_path, name, args)
        pd.testing.assert_frame_equal(table, base, obj=name)
        assert reasons == base_q, name
    man = json.loads((tmp_path / "out" / "sqlite.csv.manifest.json").read_text())
    query = [i for i in man["inputs"] if "query" in i][0]
    assert query["query"] == "SELECT * FROM patrols" and query["rows"] == len(patrols)
    assert len(query["sha256"]) == 64
    man = json.loads((tmp_path / "out" / "xlsx.csv.manifest.json").read_text())
    assert [i.get("sheet") for i in man["inputs"] if i["path"].endswith(".xlsx")] == ["Patrols"]


def test_excel_rows_are_quarantined_with_the_sheet_row_number(tmp_path, capsys, key, records):
    patrols, _ = records
    fd.hotspots_geojson(tmp_path / "hs.geojson")
    xlsx = fd.write_patrols_xlsx(tmp_path / "app_export.xlsx", patrols)
    cols = fd.column_mapping_toml(tmp_path / "columns.toml")
    _, reasons, _ = _dosage(capsys, tmp_path, "x", [str(xlsx), "--sheet", "Patrols",
                                                    "--columns", str(cols)])
    q = pd.read_csv(tmp_path / "out" / "x.quarantine.csv")
    # patrols[2] (unknown hot spot) is on sheet row 4: the header is row 1
    assert q.set_index("reason").loc["unknown hot spot", "source_row"] == 4


def test_a_workbook_with_several_sheets_needs_sheet(tmp_path, capsys, key, records):
    fd.hotspots_geojson(tmp_path / "hs.geojson")
    xlsx = fd.write_patrols_xlsx(tmp_path / "app_export.xlsx", records[0])
    code = main(["ingest", "patrols", str(xlsx), "--hotspots", str(tmp_path / "hs.geojson"),
                 "--out", str(tmp_path / "d.csv")])
    assert code == 2
    assert "2 sheets ('Notes', 'Patrols'); pass --sheet" in capsys.readouterr().err


def test_uk_export_without_a_mapping_names_the_columns_and_the_fix(tmp_path, capsys, key,
                                                                  records):
    fd.hotspots_geojson(tmp_path / "hs.geojson")
    uk = fd.write_patrols_uk(tmp_path / "app_export.csv", records[0])
    code = main(["ingest", "patrols", str(uk), "--hotspots", str(tmp_path / "hs.geojson"),
                 "--out", str(tmp_path / "d.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "missing required column(s) patrol_id, officer_id" in err
    assert "'Collar No'" in err and "--columns" in err and "rct schema patrols" in err


def test_ambiguous_day_first_dates_are_refused_never_guessed(tmp_path, capsys, key):
    fd.hotspots_geojson(tmp_path / "hs.geojson")
    early = [r for r in fd.patrol_records() if r["arrived_at"].day <= 12
             and r["left_at"].day <= 12 and r["arrived_at"].day != r["arrived_at"].month]
    uk = fd.write_patrols_uk(tmp_path / "early.csv", early)
    cols = fd.column_mapping_toml(tmp_path / "columns.toml")
    args = ["ingest", "patrols", str(uk), "--hotspots", str(tmp_path / "hs.geojson"),
            "--columns", str(cols), "--out", str(tmp_path / "out" / "d.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    first = early[0]["arrived_at"].strftime("%d/%m/%Y %H:%M")
    assert f"ambiguous dates: '{first}' (row 1)" in err and "--dayfirst" in err
    assert not (tmp_path / "out").exists()
    assert main([*args, "--dayfirst"]) == 0
    d = pd.read_csv(tmp_path / "out" / "d.csv")
    assert d["visits"].sum() == len(early) - sum(
        r["hotspot_id"] == "NOT-A-HOTSPOT" or r["left_at"] < r["arrived_at"] for r in early)
    assert set(d["trial_date"]) <= {
        r["arrived_at"].date().isoformat() for r in early} | {
        (r["arrived_at"].date() - pd.Timedelta(days=1)).isoformat() for r in early}
    # --monthfirst reads the same text the other way round: other days
    assert main([*args, "--monthfirst", "--force", "--max-quarantined", "1"]) == 0
    m = pd.read_csv(tmp_path / "out" / "d.csv")
    assert set(m["trial_date"]) != set(d["trial_date"])


def test_one_crime_extract_four_ways_gives_one_outcomes_table(tmp_path, capsys, records):
    _, crimes = records
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    iso = fd.write_crimes_iso(tmp_path / "iso.csv", crimes)
    uk = fd.write_crimes_uk(tmp_path / "extract.csv", crimes)
    xlsx = fd.write_crimes_xlsx(tmp_path / "extract.xlsx", crimes)
    cols = fd.column_mapping_toml(tmp_path / "columns.toml")
    db = tmp_path / "force.db"
    fd.load_table(f"sqlite:///{db}", "crimes", crimes, fd.CRIME_COLUMNS,
                  {"occurred_at": "TIMESTAMP", "easting": "REAL", "northing": "REAL"})
    tables = {}
    for name, args in {
        "iso": [str(iso)],
        "uk": [str(uk), "--columns", str(cols)],
        "xlsx": [str(xlsx), "--columns", str(cols)],
        "sqlite": ["--db", f"sqlite:///{db}", "--query", "SELECT * FROM crimes"],
    }.items():
        out = tmp_path / "out" / f"{name}.csv"
        code = main(["ingest", "crimes", *args, "--hotspots", str(hs), "--period", "day",
                     "--start", "2021-09-06", "--end", "2021-11-30", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        assert "quarantined 1," in capsys.readouterr().out
        tables[name] = pd.read_csv(out)
    assert tables["iso"]["crimes"].sum() > 15
    for name, t in tables.items():
        pd.testing.assert_frame_equal(t, tables["iso"], obj=name)


def test_line_hot_spots_randomise_verify_and_ingest(tmp_path, capsys, key, records):
    import geopandas as gpd
    from shapely.geometry import LineString

    patrols, crimes = records
    # street segments through the four squares' middles, as a Thames Valley v2 file draws them
    lines = [LineString([(x, y + 100), (x + 200, y + 100)]) for x, y in fd._CORNERS.values()]
    path = tmp_path / "segments.geojson"
    gpd.GeoDataFrame({"hotspot_id": list(fd.HOTSPOT_IDS)}, geometry=lines,
                     crs="EPSG:27700").to_file(path, driver="GeoJSON")
    sched = tmp_path / "schedule.csv"
    assert main(["randomise", "crossover", str(path), "--start", "2021-09-06", "--days", "86",
                 "--per-day", "2", "--seed", "17", "--out", str(sched),
                 "--tasking", str(tmp_path / "tasking.gpkg")]) == 0
    assert main(["randomise", "verify", str(sched)]) == 0
    tasking = gpd.read_file(tmp_path / "tasking.gpkg")
    assert len(tasking) == 86 * 2 and tasking.geom_type.eq("Polygon").all()
    # 15 m each side of a 200 m segment, ends cut square
    assert tasking.area.round(6).eq(200 * 30).all()
    iso = fd.write_crimes_iso(tmp_path / "crimes.csv", crimes)
    out = tmp_path / "out" / "outcomes.csv"
    assert main(["ingest", "crimes", str(iso), "--hotspots", str(path), "--period", "day",
                 "--out", str(out)]) == 0
    narrow = pd.read_csv(out)["crimes"].sum()
    assert main(["ingest", "crimes", str(iso), "--hotspots", str(path), "--period", "day",
                 "--line-buffer", "60", "--out", str(out), "--force"]) == 0
    wide = pd.read_csv(out)["crimes"].sum()
    # every crime within 15 m (60 m) of a segment and not past its ends is counted
    import numpy as np

    xy = np.array([(r["easting"], r["northing"]) for r in crimes[1:]], dtype=float)
    def expected(w):
        n = 0
        for x0, y0 in fd._CORNERS.values():
            n += int(((xy[:, 0] >= x0) & (xy[:, 0] <= x0 + 200)
                      & (np.abs(xy[:, 1] - (y0 + 100)) <= w)).sum())
        return n
    assert narrow == expected(15) and wide == expected(60) and wide > narrow > 0
    d = tmp_path / "out" / "dosage.csv"
    iso_p = fd.write_patrols_iso(tmp_path / "patrols.csv", patrols)
    assert main(["ingest", "patrols", str(iso_p), "--hotspots", str(path), "--out", str(d)]) == 0
    assert pd.read_csv(d)["visits"].sum() == len(patrols) - 2
    capsys.readouterr()
