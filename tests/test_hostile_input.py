"""Hostile input to every reader (issue 15, cases 1, 2, 8, 9 and 10's identifiers)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rct.cli import main
from rct.dosage.airwave import airwave_presence
from rct.dosage.patrols import ingest_patrols
from rct.errors import DataError
from rct.io.crimes import read_crimes
from rct.io.hotspots import read_hotspots
from tests.hostile_data import (
    CRIME_HEADER,
    KEY,
    NOTE,
    PATROL_HEADER,
    PING_HEADER,
    crime_csv,
    crime_rows,
    hotspot_list,
    hotspots_geojson,
    patrol_csv,
    patrol_rows,
    ping_csv,
    ping_rows,
)

KEYB = KEY.encode()
pytestmark = pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("RCT_PSEUDONYM_KEY", KEY)


def _ingest(tmp_path, logs, **kw):
    return ingest_patrols(logs, hotspots=hotspot_list(tmp_path / "hs.csv"), key=KEYB, **kw)


# --------------------------------------------------------------------------- case 1


@pytest.mark.parametrize("where", [0, 8])
def test_case_01_stray_comma_quarantines_that_row_alone_patrols(tmp_path, where):
    rows = patrol_rows()
    rows[where] = rows[where].replace("spoke to", "spoke, to")  # one field too many
    logs = patrol_csv(tmp_path / "logs.csv", rows)
    out = tmp_path / "out" / "dosage.csv"
    code = main(["ingest", "patrols", str(logs), "--hotspots", str(hotspot_list(tmp_path / "h.csv")),
                 "--out", str(out)])
    assert code == 0
    q = pd.read_csv(out.with_name("dosage.quarantine.csv"))
    assert q[["source_row", "reason"]].values.tolist() == [
        [where + 1, "wrong number of fields (expected 8, saw 9)"]
    ]
    # nothing shifted: the 19 other patrols are accepted with their own ids and times
    res = _ingest(tmp_path, logs)
    assert res.read.n_accepted == 19
    want = [f"P{i:03d}" for i in range(20) if i != where]
    assert sorted(res.read.data["patrol_id"]) == want
    assert (res.read.data["minutes"] == 9.0).all()
    # and the quarantine leaks neither the raw officer id nor the note
    text = out.with_name("dosage.quarantine.csv").read_text()
    assert "PC90" not in text and "Smith" not in text


def test_case_01_short_row_and_later_rows_pings(tmp_path):
    rows = ping_rows()
    rows[0] += ",9"  # first data row: one field too many (pandas made it an index)
    rows[8] = ",".join(rows[8].split(",")[:3])  # a row cut short later in the file
    pings = ping_csv(tmp_path / "p.csv", rows)
    hs = hotspots_geojson(tmp_path / "hs.geojson")
    res = airwave_presence(pings, hs, key=KEYB)
    assert res.n_read == 30 and res.n_quarantined == 2
    got = res.quarantine[["source_row", "reason"]].values.tolist()
    assert got == [[1, "wrong number of fields (expected 5, saw 6)"],
                   [9, "wrong number of fields (expected 5, saw 3)"]]
    assert res.table["pings"].sum() == 28  # every other ping counted, none shifted


def test_case_01_crimes_hotspot_csv_and_harm_table(tmp_path):
    rows = crime_rows()
    rows[0] += ",extra"
    r = read_crimes(crime_csv(tmp_path / "c.csv", rows))
    assert r.n_accepted == 9
    assert r.quarantine[["source_row", "reason"]].values.tolist() == [
        [1, "wrong number of fields (expected 6, saw 7)"]]
    # small tables that must be complete stop, naming file and row
    hs = tmp_path / "hs.csv"
    hs.write_text("hotspot_id,x,y,radius\nA,450000,200000,50,oops\nB,451000,200000,50\n")
    with pytest.raises(DataError, match=r"hs\.csv, row 1: wrong number of fields \(expected 4, saw 5\)"):
        read_hotspots(hs)
    harm = tmp_path / "harm.csv"
    harm.write_text("offence_code,weight\n8N,10\n105A,5,3\n")
    from rct.harm import harm_table

    with pytest.raises(DataError, match=r"harm\.csv, row 2: wrong number of fields"):
        harm_table(str(harm))


def test_case_01_unterminated_quote_is_not_silently_swallowed(tmp_path):
    rows = patrol_rows()
    rows[3] = rows[3].replace(NOTE, '"' + NOTE)  # a quote that never closes
    logs = patrol_csv(tmp_path / "logs.csv", rows)
    with pytest.raises(DataError, match=r"logs\.csv.*quote opened on line 5 is never closed"):
        _ingest(tmp_path, logs)


# --------------------------------------------------------------------------- case 2


def test_case_02_quarantine_files_carry_pseudonyms_and_no_notes(tmp_path):
    rows = patrol_rows()
    rows[2] = rows[2].replace("2024-05-01 10:20", "yesterday")  # a bad time: quarantined
    logs = patrol_csv(tmp_path / "logs.csv", rows)
    out = tmp_path / "out" / "dosage.parquet"
    assert main(["ingest", "patrols", str(logs), "--hotspots",
                 str(hotspot_list(tmp_path / "h.csv")), "--out", str(out)]) == 0
    q = pd.read_csv(out.with_name("dosage.quarantine.csv"))
    assert q["reason"].tolist() == ["arrived_at: unparseable timestamp"]
    assert q["officer"].str.fullmatch(r"officer-[0-9a-f]{12}").all()
    assert "officer_id" not in q.columns and "notes" not in q.columns
    assert NOTE not in out.with_name("dosage.quarantine.csv").read_text()
    # the same key gives the same pseudonym as the accepted rows
    res = _ingest(tmp_path, logs)
    from rct.dosage.pseudonym import Pseudonymiser

    assert q["officer"].iloc[0] == Pseudonymiser(KEYB)("PC9002")
    assert set(res.read.data["officer"]) <= {Pseudonymiser(KEYB)(f"PC90{i:02d}") for i in range(7)}


def test_case_02_raw_quarantine_only_when_asked(tmp_path, capsys):
    rows = patrol_rows()
    rows[2] = rows[2].replace("2024-05-01 10:20", "yesterday")
    rows[5] += ",spare"
    logs = patrol_csv(tmp_path / "logs.csv", rows)
    out = tmp_path / "o2" / "dosage.parquet"
    assert main(["ingest", "patrols", str(logs), "--hotspots",
                 str(hotspot_list(tmp_path / "h.csv")), "--out", str(out),
                 "--quarantine-raw"]) == 0
    q = pd.read_csv(out.with_name("dosage.quarantine.csv"))
    assert "PC9002" in q["officer_id"].tolist() and NOTE in q["notes"].tolist()
    assert q["raw_line"].dropna().str.endswith(",spare").all()
    # its help says what it writes
    main(["ingest", "patrols", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "raw officer IDs (not pseudonyms)" in help_text and "personal data" in help_text


def test_case_02_ping_and_crime_quarantines(tmp_path):
    rows = ping_rows()
    rows[4] = rows[4].replace("2024-06-01T10:01:10", "")  # missing time
    res = airwave_presence(ping_csv(tmp_path / "p.csv", rows),
                           hotspots_geojson(tmp_path / "hs.geojson"), key=KEYB)
    assert res.quarantine["radio_id"].str.fullmatch(r"radio-[0-9a-f]{12}").all()
    assert not res.quarantine["radio_id"].str.startswith("ISSI").any()
    crimes = crime_rows()
    crimes[1] = crimes[1].replace("2024-06-02 11:00", "not a date")
    r = read_crimes(crime_csv(tmp_path / "c.csv", crimes))
    assert r.n_quarantined == 1 and "description" not in r.quarantine.columns
    raw = read_crimes(tmp_path / "c.csv", quarantine_raw=True)
    assert raw.quarantine["description"].str.contains("Bob Jones").all()


# --------------------------------------------------------------------------- case 8


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_case_08_one_encoding_detection_for_every_reader(tmp_path, encoding):
    rows = patrol_rows()
    rows[0] = rows[0].replace(NOTE, "café on Hôtel Street")  # non-ASCII text
    logs = patrol_csv(tmp_path / f"logs-{encoding}.csv", rows, encoding=encoding)
    plain = patrol_csv(tmp_path / "logs-plain.csv", rows)
    a = _ingest(tmp_path, logs, max_quarantined=0)
    b = _ingest(tmp_path, plain, max_quarantined=0)
    pd.testing.assert_frame_equal(a.dosage, b.dosage)
    hs = hotspots_geojson(tmp_path / "hs.geojson")
    p1 = airwave_presence(ping_csv(tmp_path / "p.csv", encoding=encoding), hs, key=KEYB)
    p2 = airwave_presence(ping_csv(tmp_path / "q.csv"), hs, key=KEYB)
    pd.testing.assert_frame_equal(p1.table, p2.table)
    c = read_crimes(crime_csv(tmp_path / "c.csv", encoding=encoding))
    assert c.n_accepted == 10
    lst = tmp_path / "ids.csv"
    lst.write_bytes("hotspot_id,name\nA,Café\nB,Hôtel\n".encode(encoding))
    from rct.dosage.patrol_logs import hotspot_ids

    assert hotspot_ids(lst) == ["A", "B"]


@pytest.mark.parametrize("kind", ["patrols", "pings", "crimes", "hotspots", "table"])
def test_case_08_empty_and_corrupt_files_name_the_file(tmp_path, kind):
    from rct.io.tables import read_table

    readers = {
        "patrols": lambda p: _ingest(tmp_path, p),
        "pings": lambda p: airwave_presence(p, hotspots_geojson(tmp_path / "hs.geojson"), key=KEYB),
        "crimes": read_crimes,
        "hotspots": read_hotspots,
        "table": read_table,
    }
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv.*empty file"):
        readers[kind](empty)
    if kind != "hotspots":
        bad = tmp_path / "bad.parquet"
        bad.write_bytes(b"PAR1 this is not parquet")
        with pytest.raises(DataError, match=r"bad\.parquet.*(Parquet|parquet)"):
            readers[kind](bad)


def test_case_08_duplicated_outcome_rows_are_named(tmp_path):
    from rct.io.tables import read_table

    p = tmp_path / "outcomes.csv"
    p.write_text("hotspot_id,trial_date,crimes\nA,2024-06-01,1\nB,2024-06-01,0\nA,2024-06-01,2\n")
    with pytest.raises(DataError, match=r"outcomes\.csv.*hotspot_id=A, trial_date=2024-06-01 is in "
                                        r"rows 1 and 3"):
        read_table(p)


def test_case_08_out_under_a_file_and_unwritable_folder_name_the_target(tmp_path, monkeypatch):
    logs = patrol_csv(tmp_path / "logs.csv")
    hs = hotspot_list(tmp_path / "h.csv")
    (tmp_path / "results.csv").write_text("I am a file")
    code = main(["ingest", "patrols", str(logs), "--hotspots", str(hs),
                 "--out", str(tmp_path / "results.csv" / "dosage.parquet")])
    assert code == 2
    # a folder we cannot write to (root ignores chmod, so the OS refusal is simulated)
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied", str(Path(k["dir"]) / ".x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "ro" / "dosage.parquet"
    with pytest.raises(DataError) as err:
        _ingest(tmp_path, logs, out=target)
    msg = str(err.value)
    assert str(target) in msg and "not writable" in msg and ".tmp" not in msg


def test_case_08_out_under_a_file_message(tmp_path, capsys):
    logs = patrol_csv(tmp_path / "logs.csv")
    (tmp_path / "results.csv").write_text("I am a file")
    target = tmp_path / "results.csv" / "dosage.parquet"
    main(["ingest", "patrols", str(logs), "--hotspots", str(hotspot_list(tmp_path / "h.csv")),
          "--out", str(target)])
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(target) in err and "is a file, not a folder" in err


# --------------------------------------------------------------------------- case 9


@pytest.mark.parametrize("kind", ["patrols", "pings", "crimes", "hotspots"])
def test_case_09_a_header_naming_a_column_twice_is_refused(tmp_path, kind):
    if kind == "patrols":
        p = patrol_csv(tmp_path / "x.csv", header=PATROL_HEADER.replace("notes", "hotspot_id"))
        call = lambda: _ingest(tmp_path, p)  # noqa: E731
    elif kind == "pings":
        p = ping_csv(tmp_path / "x.csv", header=PING_HEADER.replace("speed", "radio_id"))
        call = lambda: airwave_presence(p, hotspots_geojson(tmp_path / "h.geojson"), key=KEYB)  # noqa: E731
    elif kind == "crimes":
        p = crime_csv(tmp_path / "x.csv", header=CRIME_HEADER.replace("description", "crime_id"))
        call = lambda: read_crimes(p)  # noqa: E731
    else:
        p = tmp_path / "x.csv"
        p.write_text("hotspot_id,x,y,radius,hotspot_id\nA,450000,200000,50,B\n")
        call = lambda: read_hotspots(p)  # noqa: E731
    col = {"patrols": "hotspot_id", "pings": "radio_id", "crimes": "crime_id",
           "hotspots": "hotspot_id"}[kind]
    with pytest.raises(DataError, match=rf"x\.csv.*column '{col}' 2 times"):
        call()


def test_case_09_unknown_mode_clock_change_and_date_only(tmp_path):
    rows = patrol_rows()
    rows[1] = rows[1].replace(",foot,", ",spaceship,")
    # 01:30-01:45 on 27 March 2022 did not happen: the clocks went from 01:00 to 02:00
    rows[2] = "PX,PC9001,HS01,2022-03-27 01:30,2022-03-27 01:45,foot,no,"
    rows[3] = "PY,PC9001,HS01,2024-05-01,2024-05-01 10:30,foot,no,"  # a date, no time
    res = _ingest(tmp_path, patrol_csv(tmp_path / "logs.csv", rows))
    reasons = dict(zip(res.read.quarantine["source_row"], res.read.quarantine["reason"],
                       strict=True))
    assert reasons == {
        2: "unknown mode (not foot or vehicle)",
        3: "arrived_at: non-existent local time (March clock change)",
        4: "arrived_at: date without a time of day",
    }
    d = res.dosage
    assert (d["officer_minutes"] == d["foot_minutes"] + d["vehicle_minutes"]).all()


def test_case_09_start_after_end_is_an_error_up_front(tmp_path, capsys):
    logs = patrol_csv(tmp_path / "logs.csv")
    out = tmp_path / "out" / "dosage.parquet"
    keyfile = tmp_path / "secret" / "k.txt"
    code = main(["ingest", "patrols", str(logs), "--hotspots", str(hotspot_list(tmp_path / "h.csv")),
                 "--out", str(out), "--start", "2024-05-03", "--end", "2024-05-01",
                 "--key-file", str(keyfile)])
    assert code == 2
    assert "starts 2024-05-03 after it ends 2024-05-01" in capsys.readouterr().err
    assert not out.parent.exists() and not keyfile.exists()
    code = main(["ingest", "crimes", str(crime_csv(tmp_path / "c.csv")), "--hotspots",
                 str(hotspots_geojson(tmp_path / "hs.geojson")), "--out", str(out),
                 "--start", "2024-06-05", "--end", "2024-06-01"])
    assert code == 2 and "--start after --end" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- case 10 (ids)


def test_case_10_bidi_and_invisible_characters_in_ids_are_refused(tmp_path):
    hs = tmp_path / "hs.csv"
    hs.write_text("hotspot_id,x,y,radius\nHS01,450000,200000,50\nHS\u202e20,451000,200000,50\n",
                  encoding="utf-8")
    with pytest.raises(DataError, match=re.escape("row 2, column 'hotspot_id', value 'HS\\\\u202e20'")
                       + ".*U\\+202E"):
        read_hotspots(hs)
    plain = tmp_path / "ids.csv"
    plain.write_text("hotspot_id\nHS01\nHS\u200b02\n", encoding="utf-8")
    from rct.dosage.patrol_logs import hotspot_ids
    from rct.randomise.manifest import read_units

    with pytest.raises(DataError, match=r"ids\.csv, row 2.*U\+200B"):
        hotspot_ids(plain)
    with pytest.raises(DataError, match=r"ids\.csv, row 2.*U\+200B"):
        read_units(plain)
    # in event data the row is quarantined, naming the column
    rows = patrol_rows()
    rows[0] = rows[0].replace("P000", "P\u202e000")
    res = _ingest(tmp_path, patrol_csv(tmp_path / "logs.csv", rows))
    assert res.read.quarantine["reason"].tolist() == [
        "patrol_id holds an invisible or control character"]
