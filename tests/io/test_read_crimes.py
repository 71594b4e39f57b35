"""rct.io.crimes: police.uk street CSVs and force extracts on good, messy and hostile input."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pandas as pd
import pytest

from rct.errors import DataError
from rct.geo import fits_bng, from_bng, to_bng
from rct.io.crimes import read_crimes, read_raw_table
from rct.io.police_uk import PUBLISHED_COLUMNS

HEADER = ",".join(PUBLISHED_COLUMNS)
TVP = "Thames Valley Police"


def _uk_row(
    cid,
    month="2018-06",
    lon="-0.970400",
    lat="51.993385",
    loc="On or near Willow Drive",
    ctype="Anti-social behaviour",
    outcome="",
):
    return f"{cid},{month},{TVP},{TVP},{lon},{lat},{loc},E01017648,Aylesbury Vale 001A,{ctype},{outcome},"


def _police_uk_text() -> str:
    rows = [
        _uk_row(""),  # ASB, blank ID
        _uk_row("", lon="-0.983713", lat="51.996558", loc="On or near Poplars Road"),
        _uk_row(
            "", lon="-0.983713", lat="51.996558", loc="On or near Poplars Road"
        ),  # identical ASB
        _uk_row(
            "3f62aa",
            lon="-0.941743",
            lat="51.992511",
            ctype="Burglary",
            outcome="Under investigation",
        ),
        _uk_row("", lon="", lat="", loc="No Location"),  # no coordinates
        _uk_row("f2a6bb", month="2018-13", ctype="Drugs"),  # bad month
        _uk_row("c0ffee", lon="-0.9", lat="not-a-number", ctype="Robbery"),
    ]
    return HEADER + "\n" + "\n".join(rows) + "\n"


@pytest.fixture
def uk_csv(tmp_path):
    path = tmp_path / "2018-06-thames-valley-street.csv"
    path.write_text(_police_uk_text())
    return path


# ------------------------------------------------------------------ police.uk


def test_police_uk_canonical_columns_and_reasons(uk_csv):
    r = read_crimes(uk_csv)
    assert r.n_read == 7 and r.n_accepted == 4 and r.n_quarantined == 3
    d = r.data
    assert list(d.columns[:7]) == [
        "crime_id",
        "month",
        "occurred_at",
        "x",
        "y",
        "category",
        "offence_code",
    ]
    assert (
        "source_file" in d.columns
        and "lsoa_code" in d.columns
        and "last_outcome_category" in d.columns
    )
    assert d["occurred_at"].isna().all() and str(d["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert (d["month"] == "2018-06").all()
    assert d["offence_code"].isna().all()
    assert d["crime_id"].is_unique
    assert d.loc[d["category"] == "Burglary", "crime_id"].tolist() == ["3f62aa"]
    asb = d[d["category"] == "Anti-social behaviour"]["crime_id"]
    assert len(asb) == 3 and asb.str.fullmatch(r"synthetic:[0-9a-f]{16}").all()
    # x, y are the published lon/lat in EPSG:27700
    lon, lat = from_bng(d["x"], d["y"])
    assert np.allclose(lon, d["lon"], atol=1e-8) and np.allclose(lat, d["lat"], atol=1e-8)
    q = r.quarantine.set_index("source_row")
    assert q.loc[5, "reason"] == "missing coordinates"
    assert q.loc[6, "reason"] == "unparseable month"
    assert q.loc[7, "reason"] == "unparseable coordinates"
    assert q.loc[6, "Month"] == "2018-13"  # raw values kept
    assert (r.quarantine["source_file"] == str(uk_csv)).all()


def test_police_uk_synthetic_ids_are_stable(uk_csv, tmp_path):
    a = read_crimes(uk_csv).data["crime_id"]
    b = read_crimes(uk_csv).data["crime_id"]
    assert a.tolist() == b.tolist()
    other = tmp_path / "renamed.csv.gz"
    with gzip.open(other, "wt") as fh:
        fh.write(_police_uk_text())
    assert read_crimes(other).data["crime_id"].tolist() == a.tolist()
    # the same month read twice: every row of the second copy is a duplicate
    both = read_crimes([uk_csv, other])
    assert both.n_read == 14 and both.n_accepted == 4
    assert (both.reasons().get("duplicate crime_id", 0)) == 4


def test_kind_forced_and_invalid(uk_csv, tmp_path):
    assert read_crimes(uk_csv, kind="police_uk").n_accepted == 4
    ext = tmp_path / "ext.csv"
    ext.write_text("crime_id,occurred_at,easting,northing\nA,2024-01-01 10:00,450000,200000\n")
    with pytest.raises(
        DataError,
        match=r"ext\.csv.*not a police\.uk street CSV.*'Month', 'Longitude', 'Latitude', 'Crime type'",
    ):
        read_crimes(ext, kind="police_uk")
    with pytest.raises(ValueError, match="auto, police_uk, extract"):
        read_crimes(ext, kind="guess")
    # a police.uk file read as an extract: blank IDs are then missing crime_ids
    r = read_crimes(uk_csv, kind="extract")
    assert r.reasons()["missing crime_id"] == 4


def test_directory_and_glob(tmp_path):
    for m in ("2018-06", "2018-07"):
        (tmp_path / f"{m}-street.csv").write_text(_police_uk_text().replace("2018-06", m))
    (tmp_path / "notes.txt").write_text("ignore me")
    r = read_crimes(tmp_path)
    assert r.n_read == 14 and sorted(r.data["month"].unique()) == ["2018-06", "2018-07"]
    assert r.data["source_file"].nunique() == 2
    g = read_crimes(str(tmp_path / "2018-0*-street.csv"))
    assert g.n_read == 14
    with pytest.raises(DataError, match="no files match"):
        read_crimes(str(tmp_path / "1999-*.csv"))


# -------------------------------------------------------------- force extracts


@pytest.mark.parametrize(
    "header",
    [
        "crime_id,occurred_at,offence_code,easting,northing",
        "Crime ID,date,HO Code,Easting,Northing",
        "crime_ref,datetime,home_office_code,x,y",
        "ID,committed_at,ho_code,EASTING,NORTHING",
        "Crime Reference,Occurred,ho_code,bng_x,bng_y",
    ],
)
def test_extract_aliases_bng(tmp_path, header):
    path = tmp_path / "e.csv"
    path.write_text(
        header + "\n"
        "C1,2024-06-01 22:15,8N,451234,206789\n"
        "C2,2024-01-15 09:00,28E,452000.5,207000.25\n"
    )
    r = read_crimes(path)
    assert r.n_accepted == 2, r.quarantine
    d = r.data
    assert d["crime_id"].tolist() == ["C1", "C2"]
    assert d["x"].tolist() == [451234.0, 452000.5] and d["y"].tolist() == [206789.0, 207000.25]
    # BST in June, GMT in January
    assert d["occurred_at"].tolist() == [
        pd.Timestamp("2024-06-01 21:15", tz="UTC"),
        pd.Timestamp("2024-01-15 09:00", tz="UTC"),
    ]
    assert d["month"].tolist() == ["2024-06", "2024-01"]
    assert d["offence_code"].tolist() == ["8N", "28E"]
    assert d["category"].tolist() == ["Violence and sexual offences", "Burglary"]


def test_extract_lonlat_category_and_extras(tmp_path):
    path = tmp_path / "ll.csv"
    path.write_text(
        "crime_id,occurred_at,Latitude,lng,Crime type,Beat Code,harm\n"
        "A,2024-06-01T12:00:00Z,51.75,-1.25,Robbery,TV12,365\n"
    )
    r = read_crimes(path)
    d = r.data
    e, n = to_bng([-1.25], [51.75])
    assert d["x"].iloc[0] == pytest.approx(e[0]) and d["y"].iloc[0] == pytest.approx(n[0])
    assert d["category"].iloc[0] == "Robbery" and d["offence_code"].isna().all()
    assert d["beat_code"].iloc[0] == "TV12" and d["harm"].iloc[0] == "365"


def test_extra_columns_never_dropped_and_category_filled_from_code(tmp_path):
    path = tmp_path / "clash.csv"
    path.write_text(
        "crime_id,occurred_at,easting,northing,source_file,Source File,crime_type,ho_code\n"
        "A,2024-06-01 12:00,451000,206000,upstream.csv,other.csv,,8N\n"
        "B,2024-06-01 12:00,451000,206000,upstream.csv,other.csv,Drugs,8N\n"
    )
    r = read_crimes(path)
    d = r.data
    assert d["source_file"].tolist() == [str(path)] * 2
    assert d["source_file_in_file"].tolist() == ["upstream.csv"] * 2
    assert d["Source File"].tolist() == ["other.csv"] * 2
    assert d["category"].tolist() == ["Violence and sexual offences", "Drugs"]


def test_extract_bng_filled_from_lonlat(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text(
        "crime_id,occurred_at,easting,northing,lat,lon\n"
        "A,2024-06-01 12:00,451000,206000,,\n"
        "B,2024-06-01 12:00,,,51.75,-1.25\n"
        "C,2024-06-01 12:00,,,,\n"
    )
    r = read_crimes(path)
    assert r.data["crime_id"].tolist() == ["A", "B"]
    e, _ = to_bng([-1.25], [51.75])
    assert r.data["x"].tolist() == pytest.approx([451000.0, e[0]])
    assert r.reasons().to_dict() == {"missing coordinates": 1}


def test_xy_crs_guessed_or_given(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("id,occurred,x,y\nA,2024-06-01 12:00,-1.25,51.75\n")
    r = read_crimes(path)
    assert fits_bng(r.data["x"], r.data["y"]).all()
    assert any("EPSG:4326" in n for n in r.notes)
    merc = tmp_path / "merc.csv"
    merc.write_text("id,occurred,x,y\nA,2024-06-01 12:00,-139000,6748000\n")
    with pytest.raises(DataError, match=r"merc\.csv.*cannot tell the CRS.*crs="):
        read_crimes(merc)
    m = read_crimes(merc, crs="EPSG:3857")
    assert m.n_accepted == 1 and fits_bng(m.data["x"], m.data["y"]).all()


def test_date_and_time_columns_and_uk_dates(tmp_path):
    path = tmp_path / "dt.csv"
    path.write_text(
        "crime_id,date,time,easting,northing\n"
        "A,2024-06-01,22:15,451000,206000\n"
        "B,01/06/2024,22:15,451000,206000\n"
        "C,1/6/2024,,451000,206000\n"
        "D,31/02/2024,10:00,451000,206000\n"
        "E,2024-06-01 22:15,09:00,451000,206000\n"  # a full datetime wins over the time column
    )
    r = read_crimes(path)
    d = r.data.set_index("crime_id")["occurred_at"]
    assert d["A"] == d["B"] == d["E"] == pd.Timestamp("2024-06-01 21:15", tz="UTC")
    assert d["C"] == pd.Timestamp("2024-05-31 23:00", tz="UTC")  # midnight BST
    assert r.quarantine["reason"].tolist() == ["unparseable timestamp"]


@pytest.mark.parametrize(
    ("ambiguous", "expected"),
    [("earliest", "2024-10-27 00:30"), ("latest", "2024-10-27 01:30"), ("quarantine", None)],
)
def test_repeated_october_hour(tmp_path, ambiguous, expected):
    path = tmp_path / "oct.csv"
    path.write_text("crime_id,occurred_at,easting,northing\nA,2024-10-27 01:30,451000,206000\n")
    r = read_crimes(path, ambiguous=ambiguous)
    if expected is None:
        assert r.reasons().to_dict() == {"ambiguous local time (October clock change)": 1}
    else:
        assert r.data["occurred_at"].iloc[0] == pd.Timestamp(expected, tz="UTC")


@pytest.mark.parametrize(
    ("nonexistent", "expected"), [("shift_forward", "2024-03-31 01:00"), ("quarantine", None)]
)
def test_missing_march_hour(tmp_path, nonexistent, expected):
    path = tmp_path / "mar.csv"
    path.write_text("crime_id,occurred_at,easting,northing\nA,2024-03-31 01:30,451000,206000\n")
    r = read_crimes(path, nonexistent=nonexistent)
    if expected is None:
        assert r.reasons().to_dict() == {"non-existent local time (March clock change)": 1}
    else:
        assert r.data["occurred_at"].iloc[0] == pd.Timestamp(expected, tz="UTC")


def test_messy_extract_quarantine_reasons(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(
        "crime_id,occurred_at,easting,northing\n"
        "A,2024-06-01 10:00,451000,206000\n"  # 1 ok
        "B,2024-06-01 10:00,,\n"  # 2 missing coordinates
        "C,2024-06-01 10:00,abc,206000\n"  # 3 unparseable coordinates
        "D,2024-06-01 10:00,0,0\n"  # 4 placeholder
        "E,2024-06-01 10:00,451000,2060000\n"  # 5 outside GB
        "F,yesterday,451000,206000\n"  # 6 unparseable timestamp
        "G,,451000,206000\n"  # 7 missing timestamp
        "A,2024-06-02 10:00,451000,206000\n"  # 8 duplicate
        ",2024-06-01 10:00,451000,206000\n"  # 9 missing crime_id
        "H,2024-06-01 10:00,451000,206000,extra\n"  # 10 wrong number of fields
        "  I ,2024-06-01 10:00 , 451000 , 206000 \n"  # 11 ok after stripping
    )
    r = read_crimes(path)
    assert r.n_read == 11 and r.n_accepted == 2
    assert r.data["crime_id"].tolist() == ["A", "I"]
    got = dict(zip(r.quarantine["source_row"], r.quarantine["reason"], strict=True))
    assert got == {
        2: "missing coordinates",
        3: "unparseable coordinates",
        4: "placeholder coordinates (0, 0)",
        5: "outside Great Britain",
        6: "unparseable timestamp",
        7: "missing timestamp",
        8: "duplicate crime_id",
        9: "missing crime_id",
        10: "wrong number of fields (expected 4, saw 5)",
    }
    # the malformed line's text (it may hold anything) only when asked for
    assert "raw_line" not in r.quarantine.columns
    raw = read_crimes(path, quarantine_raw=True)
    ragged = raw.quarantine.set_index("source_row").loc[10, "raw_line"]
    assert ragged == "H,2024-06-01 10:00,451000,206000,extra"
    assert "raw_line" not in r.data.columns and "_malformed" not in r.data.columns


def test_duplicates_across_files_first_usable_wins(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(
        "crime_id,occurred_at,easting,northing\nX,2024-06-01 10:00,,\nY,2024-06-01 10:00,451000,206000\n"
    )
    b.write_text(
        "crime_id,occurred_at,easting,northing\nX,2024-06-01 10:00,451000,206000\nY,2024-06-01 10:00,451000,206000\n"
    )
    r = read_crimes([a, b])
    assert r.n_read == 4
    assert r.data[["crime_id", "source_file"]].values.tolist() == [["Y", str(a)], ["X", str(b)]]
    assert sorted(r.reasons().index) == ["duplicate crime_id", "missing coordinates"]


def test_swapped_lat_lon_is_an_error(tmp_path):
    path = tmp_path / "sw.csv"
    path.write_text(
        "crime_id,occurred_at,lat,lon\nA,2024-06-01 10:00,-1.25,51.75\nB,2024-06-01 10:00,-1.2,51.7\n"
    )
    with pytest.raises(DataError, match=r"sw\.csv.*swapped"):
        read_crimes(path)


def test_month_only_extract_and_synthetic_ids(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(
        "Month,Easting,Northing,offence_code\n2024-06,451000,206000,8N\n2024-06,451000,206000,8N\n"
    )
    r = read_crimes(path)
    assert r.n_accepted == 2 and r.data["occurred_at"].isna().all()
    assert r.data["crime_id"].is_unique and r.data["crime_id"].str.startswith("synthetic:").all()
    assert any("synthetic" in n for n in r.notes)


def test_parquet_extract(tmp_path):
    path = tmp_path / "e.parquet"
    pd.DataFrame(
        {
            "crime_ref": ["A", "B", "C"],
            "occurred": pd.to_datetime(
                ["2024-10-27 01:30", "2024-03-31 01:30", "2024-06-01 12:00"]
            ),
            "easting": [451000.0, np.nan, 452000.0],
            "northing": [206000.0, 206000.0, 207000.0],
            "ho_code": ["8N", "8N", "105A"],
        }
    ).to_parquet(path)
    r = read_crimes(path)
    assert r.data["crime_id"].tolist() == ["A", "C"]
    assert r.data["occurred_at"].tolist() == [
        pd.Timestamp("2024-10-27 00:30", tz="UTC"),  # naive datetimes are London time too
        pd.Timestamp("2024-06-01 11:00", tz="UTC"),
    ]
    assert r.reasons().to_dict() == {"missing coordinates": 1}


def test_encodings_bom_latin1_and_separators(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(
        "\ufeffcrime_id,occurred_at,easting,northing\nA,2024-06-01 10:00,451000,206000\n".encode()
    )
    assert read_crimes(bom).n_accepted == 1
    lat1 = tmp_path / "latin1.csv"
    lat1.write_bytes(
        "crime_id;occurred_at;easting;northing;street\nA;2024-06-01 10:00;451000;206000;Caf\xe9 Row\n".encode(
            "latin-1"
        )
    )
    r = read_crimes(lat1)
    assert r.data["street"].iloc[0] == "Café Row"
    assert any("Latin-1" in n for n in r.notes)
    tab = tmp_path / "tab.csv"
    tab.write_text(
        "crime_id\toccurred_at\teasting\tnorthing\nA\t2024-06-01 10:00\t451000\t206000\n"
    )
    assert read_crimes(tab).n_accepted == 1


# --------------------------------------------------------------------- hostile


@pytest.mark.parametrize(
    ("header", "what"),
    [
        (
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
            "LSOA name,Outcome type",
            "outcomes",
        ),
        (
            "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
            "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,"
            "Object of search,Outcome,Outcome linked to object of search,"
            "Removal of more than just outer clothing",
            "stop-and-search",
        ),
    ],
)
def test_other_police_uk_downloads_are_refused(tmp_path, header, what):
    path = tmp_path / "other.csv"
    n = header.count(",") + 1
    path.write_text(header + "\n" + ",".join(["x"] * n) + "\n")
    with pytest.raises(
        DataError, match=rf"other\.csv.*not a crime file: this is a police\.uk {what}"
    ):
        read_crimes(path)


def test_not_a_crime_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,age\nAnn,41\n")
    with pytest.raises(DataError, match=r"people\.csv.*not a crime file: no location columns"):
        read_crimes(path)
    notime = tmp_path / "notime.csv"
    notime.write_text("crime_id,easting,northing\nA,451000,206000\n")
    with pytest.raises(DataError, match=r"notime\.csv.*no time column"):
        read_crimes(notime)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", b"", "empty file"),
        ("junk.csv.gz", b"\x00\x01not gzip at all", "cannot read as CSV"),
        ("junk.parquet", b"PAR1 nope", "cannot read as Parquet"),
        ("quote.csv", b'"crime_id,occurred_at\nA,2024', "cannot read as CSV"),
        ("bin.csv", bytes(range(256)) * 4, "not a crime file"),
    ],
)
def test_hostile_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"{re.escape(name)}.*{match}"):
        read_crimes(path)


def test_missing_file_and_empty_list(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_crimes(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no crime files"):
        read_crimes([])


def test_header_only_file_reads_zero_rows(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "\n")
    r = read_crimes(path)
    assert r.n_read == 0 and r.data.empty and r.quarantine.empty


def test_read_raw_table_keeps_strings(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n007,NA\n,x\n")
    frame, notes = read_raw_table(path)
    assert frame["a"].tolist() == ["007", ""] and frame["b"].tolist() == ["NA", "x"]
    assert notes == ()
