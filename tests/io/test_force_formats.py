"""The reading layer's new sources and formats: Excel, queries, column maps, slash dates, GIS out."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rct.errors import ConfigError, DataError
from rct.io.columns import load_columns, rename_columns
from rct.io.sources import Input, open_source
from rct.io.times import DayOrderScan, day_order, slash_to_iso

# ------------------------------------------------------------------ slash dates


def test_slash_dates_become_iso_in_the_order_given():
    v = pa.array(["06/09/2021 06:07", "25/10/2021 1:30:05", "2021-09-06T06:07:00", None, "",
                  "6/9/2021", "01.02.2021 10:00:00.5", "13/13/2021 10:00"])
    assert slash_to_iso(v, True).to_pylist() == [
        "2021-09-06T06:07:00", "2021-10-25T01:30:05", "2021-09-06T06:07:00", None, "",
        "2021-09-06", "2021-02-01T10:00:00.5", "2021-13-13T10:00:00"]
    assert slash_to_iso(v, False).to_pylist()[0] == "2021-06-09T06:07:00"
    assert slash_to_iso(v, None) is v


@pytest.mark.parametrize(("values", "expected"), [
    (["06/09/2021", "25/09/2021"], True),       # a day above 12 first: day-first
    (["09/06/2021", "09/25/2021"], False),      # above 12 second: month-first
    (["2021-09-06"], None),                     # no slash dates at all
    (["01/01/2021", "05/05/2021"], True),       # day = month: either order reads the same
    (["06/09/2021", "31/13/2021 25:00"], None),  # both parts above 12: invalid, not evidence
])
def test_day_order_is_told_from_the_column(values, expected):
    if expected is None and "/" in values[0]:
        with pytest.raises(DataError, match=r"ambiguous dates: '06/09/2021' \(row 1\)"):
            day_order(pa.array(values))
        return
    assert day_order(pa.array(values)) is expected


def test_mixed_orders_are_refused_naming_both_rows():
    with pytest.raises(DataError, match=r"'25/09/2021' \(row 2\) is day-first but "
                                        r"'09/25/2021' \(row 3\) is month-first"):
        day_order(pa.array(["06/09/2021", "25/09/2021", "09/25/2021"]))
    assert day_order(pa.array(["06/09/2021", "25/09/2021", "09/25/2021"]), dayfirst=True)


def test_scan_gathers_chunks_with_their_rows():
    s = DayOrderScan()
    s.add(pa.array(["06/09/2021 06:00"] * 3), np.array([1, 2, 3]))
    s.add(pa.array(["2021-09-06", "14/09/2021"]), np.array([500001, 500002]))
    assert s.decide(None) is True and s.first_over_12 == ("14/09/2021", 500002)


# ------------------------------------------------------------------ column maps


def test_columns_from_toml_csv_and_a_trial_file(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('dayfirst = true\n[patrols]\n"Hot Spot" = "hotspot_id"\n')
    m = load_columns(toml)
    assert m.for_kind("patrols") == {"Hot Spot": "hotspot_id"} and m.dayfirst is True
    csv = tmp_path / "c.csv"
    csv.write_text("input,column,canonical\ncrimes,Crime Ref,crime_id\npings,ISSI No,radio_id\n")
    m = load_columns(csv)
    assert m.for_kind("crimes") == {"Crime Ref": "crime_id"} and m.dayfirst is None
    trial = tmp_path / "trial.toml"
    trial.write_text('[trial]\nname = "x"\n[columns]\nhotspots = { "Beat" = "hotspot_id" }\n')
    assert load_columns(trial).for_kind("hotspots") == {"Beat": "hotspot_id"}


def test_column_map_problems_are_listed_together(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('dayfirst = "yes"\n[patrol]\nA = "b"\n[patrols]\n"A" = "arrival"\n'
                   '"B" = "hotspot_id"\n"C" = "hotspot_id"\n')
    with pytest.raises(ConfigError) as e:
        load_columns(bad)
    text = str(e.value)
    assert "dayfirst = 'yes' must be true or false" in text and "unknown key 'patrol'" in text
    assert "'arrival' is not a patrols column; valid names are patrol_id" in text
    assert "'C' and 'B' both map to 'hotspot_id'" in text


def test_mapping_renames_exact_then_loose_headers():
    assert rename_columns(["Hot Spot", " Arrived ", "hot-spot", "x"],
                          {"Hot Spot": "hotspot_id", "Arrived": "arrived_at"}) == [
        "hotspot_id", "arrived_at", "hotspot_id", "x"]


def test_trial_file_columns_section_is_checked(tmp_path):
    from rct.config import load_trial

    t = tmp_path / "trial.toml"
    t.write_text('[design]\ntype = "parallel"\nscheme = "complete"\n'
                 '[columns]\ndayfirst = true\npatrols = { "Hot Spot" = "hotspot_id" }\n'
                 'crimes = { "Ref" = "not_a_column" }\n')
    with pytest.raises(ConfigError, match=r"\[columns\] crimes: 'Ref' = 'not_a_column'"):
        load_trial(t)
    t.write_text('[design]\ntype = "parallel"\nscheme = "complete"\n'
                 '[files]\npatrols = "p.csv"\n[columns]\ndayfirst = true\n'
                 'patrols = { "Hot Spot" = "hotspot_id" }\n')
    trial = load_trial(t)
    [inp] = trial.inputs("patrols")
    assert isinstance(inp, Input) and inp.mapping == {"Hot Spot": "hotspot_id"}
    assert inp.dayfirst is True and inp.path == tmp_path / "p.csv"


# ------------------------------------------------------------------ Excel


def _workbook(path, rows, title="Data", extra_sheet=False):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    if extra_sheet:
        wb.create_sheet("Other").append(["x"])
    wb.save(path)
    return path


def test_excel_cells_read_as_a_csv_export_would_hold_them(tmp_path):
    p = _workbook(tmp_path / "a.xlsx", [
        ["id", "when", "n", "x", "day", "flag", None],
        ["A", dt.datetime(2021, 9, 6, 6, 7), 1001, 2.5, dt.date(2021, 9, 6), True, None],
        [None, None, None, None, None, None, None],  # a blank row: skipped, not counted
        ["B", dt.datetime(2021, 9, 6, 6, 7, 30, 500000), 12.0, -0.1, None, False, None],
        ["C", "06/09/2021 06:07", "x", 1e20, None, None, "stray"],  # a value right of the header
    ])
    src = open_source(p)
    assert src.columns == ("id", "when", "n", "x", "day", "flag")
    [chunk] = list(src.chunks())
    t = chunk.table.to_pydict()
    assert t["when"] == ["2021-09-06T06:07:00", "2021-09-06T06:07:30.500000"]
    assert t["n"] == ["1001", "12"] and t["x"] == ["2.5", "-0.1"]
    assert t["day"] == ["2021-09-06", None] and t["flag"] == ["true", "false"]
    assert (chunk.rows + 1).tolist() == [2, 4]  # the sheet's row numbers
    assert [(b.row, b.expected, b.saw) for b in chunk.bad] == [(5, 6, 7)]


def test_excel_sheets_chosen_by_name_or_number(tmp_path):
    p = _workbook(tmp_path / "b.xlsx", [["hotspot_id"], ["H1"]], extra_sheet=True)
    with pytest.raises(DataError, match=r"2 sheets \('Data', 'Other'\); pass --sheet"):
        open_source(p)
    assert open_source(Input(path=p, sheet="Data")).columns == ("hotspot_id",)
    assert open_source(Input(path=p, sheet="2")).columns == ("x",)
    with pytest.raises(DataError, match="no sheet 'Nope'"):
        open_source(Input(path=p, sheet="Nope"))


def test_excel_header_naming_a_column_twice_is_refused(tmp_path):
    p = _workbook(tmp_path / "c.xlsx", [["id", "id"], ["a", "b"]])
    with pytest.raises(DataError, match="names column 'id' 2 times"):
        open_source(p)


def test_workbooks_neutralise_formula_cells(tmp_path):
    from openpyxl import load_workbook

    from rct.io.excel import write_workbook

    df = pd.DataFrame({"hotspot_id": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "-12", "HS1"],
                       "n": [1, 2, 3, 4], "when": pd.to_datetime(["2021-09-06"] * 4)})
    out = write_workbook(tmp_path / "w.xlsx", {"tasking": df, "=evil": df.head(1)})
    wb = load_workbook(out)
    assert wb.sheetnames == ["tasking", "=evil"]
    ws = wb["tasking"]
    cells = [ws.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in cells] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "-12", "HS1"]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    assert ws.cell(row=2, column=2).value == 1 and ws.cell(row=2, column=3).is_date
    with pytest.raises(Exception, match="already exists"):
        write_workbook(tmp_path / "w.xlsx", {"a": df}, force=False)


# ------------------------------------------------------------------ databases


def test_query_runs_once_and_never_shows_the_password(tmp_path):
    import sqlalchemy as sa

    from rct.io.sql import Query, redact

    db = tmp_path / "f.db"
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.begin() as c:
        c.execute(sa.text("create table t(a integer, b text, c timestamp)"))
        c.execute(sa.text("insert into t values (1, 'x', '2021-09-06 06:07:00'), (2, NULL, NULL)"))
    inp = Input(query=Query(f"sqlite:///{db}", "select * from t order by a"))
    src = open_source(inp)
    first = [c.table.to_pydict() for c in src.chunks()]
    with eng.begin() as c:  # the table changes: the spooled rows do not
        c.execute(sa.text("delete from t"))
    assert [c.table.to_pydict() for c in src.chunks()] == first
    assert first[0]["a"] == ["1", "2"] and first[0]["b"] == ["x", None]
    entry = inp.manifest_entry()
    assert entry["rows"] == 2 and entry["query"] == "select * from t order by a"
    url = "postgresql+psycopg://rct:s3cr%40t@db.force.local/warehouse"
    q = Query(url, "select 1")
    assert redact(url) == "postgresql+psycopg://rct:***@db.force.local/warehouse"
    assert "s3cr" not in repr(q) + str(q) + q.name
    with pytest.raises(DataError) as e:
        open_source(Input(query=Query(f"sqlite:///{tmp_path}/nope/x.db", "select 1")))
    assert "the database query failed" in str(e.value)


# ------------------------------------------------------------------ GIS out


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_hot_spots_written_as_gis_files_read_back(tmp_path, suffix):
    import geopandas as gpd
    from shapely.geometry import LineString, box

    from rct.io.hotspots import read_hotspots, write_hotspots

    gdf = gpd.GeoDataFrame({"hotspot_id": ["S1", "S2"], "beat": ["north", "south"]},
                           geometry=[box(451000, 206000, 451200, 206200),
                                     LineString([(451300, 206000), (451300, 206100)])],
                           crs="EPSG:27700")
    src = tmp_path / "in.geojson"
    gdf.to_file(src, driver="GeoJSON")
    hs = read_hotspots(src)
    assert hs.attrs == {"line_buffer_m": 15.0, "n_lines": 1}
    assert hs.area.round(3).tolist() == [40000.0, 3000.0]
    out = write_hotspots(hs, tmp_path / f"hs{suffix}")
    back = read_hotspots(out)
    assert back["hotspot_id"].tolist() == ["S1", "S2"] and back["beat"].tolist() == [
        "north", "south"]
    assert np.allclose(back.area, hs.area, rtol=1e-6)
    if suffix == ".shp":
        assert {p.suffix for p in tmp_path.glob("hs.*")} == {".shp", ".shx", ".dbf", ".prj",
                                                             ".cpg"}
