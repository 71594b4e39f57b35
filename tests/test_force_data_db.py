"""Patrol logs and crimes read from a real PostgreSQL server (--db URL --query SQL).

The server: $RCT_TEST_POSTGRES_URL (``make test`` and CI start one with
``.ci/postgres.sh run``); without it these tests start their own throwaway
server with the same script (Debian's postgresql, installed by ``make
test``) and stop it afterwards.  They never skip: with no PostgreSQL to be
had they fail and say how to install it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rct.cli import main
from tests import force_data as fd

ROOT = Path(__file__).resolve().parents[1]
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def pg_url():
    url = os.environ.get("RCT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    run = subprocess.run(["sh", str(ROOT / ".ci" / "postgres.sh"), "start"], capture_output=True,
                         text=True)
    if run.returncode != 0 or "postgresql" not in run.stdout:
        pytest.fail("no PostgreSQL server for the database tests: set RCT_TEST_POSTGRES_URL, or "
                    "install Debian's postgresql (sh .ci/postgres.sh install; make test does) "
                    f"so the tests can start one. The script said: {run.stderr.strip()[-500:]}")
    url = run.stdout.strip().splitlines()[-1]
    folder = url.split("host=", 1)[1].split("&", 1)[0]
    try:
        yield url
    finally:
        subprocess.run(["sh", str(ROOT / ".ci" / "postgres.sh"), "stop", folder], check=False)


@pytest.fixture(scope="module")
def pg_tables(pg_url):
    patrols, crimes = fd.patrol_records(), fd.crime_records()
    # typed as a warehouse holds them: times as timestamps, ids and coordinates as numbers
    fd.load_table(pg_url, "patrol_log", patrols, fd.PATROL_COLUMNS,
                  {"officer_id": "INTEGER", "arrived_at": "TIMESTAMP", "left_at": "TIMESTAMP"})
    fd.load_table(pg_url, "crime_extract", crimes, fd.CRIME_COLUMNS,
                  {"occurred_at": "TIMESTAMP", "easting": "DOUBLE PRECISION",
                   "northing": "DOUBLE PRECISION"})
    return patrols, crimes


def _password(url: str) -> str:
    from sqlalchemy.engine import make_url

    pw = make_url(url).password
    assert pw, "the test server must need a password"
    return pw


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*")
                     if p.is_file() and p.suffix in (".csv", ".json"))


def test_postgres_patrol_table_gives_the_csv_dosage(tmp_path, capsys, monkeypatch, pg_url,
                                                    pg_tables):
    monkeypatch.setenv("RCT_PSEUDONYM_KEY", KEY)
    patrols, _ = pg_tables
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    iso = fd.write_patrols_iso(tmp_path / "iso.csv", patrols)
    common = ["--hotspots", str(hs), "--start", "2021-09-06", "--end", "2021-11-30"]
    assert main(["ingest", "patrols", str(iso), *common, "--out", str(tmp_path / "a" / "d.csv")
                 ]) == 0
    # the URL from the environment ($RCT_DB_URL): the password is never on the command line
    monkeypatch.setenv("RCT_DB_URL", pg_url)
    sql = "SELECT * FROM patrol_log"
    assert main(["ingest", "patrols", "--query", sql, *common, "--out",
                 str(tmp_path / "b" / "d.csv")]) == 0
    out = capsys.readouterr()
    base, db = pd.read_csv(tmp_path / "a" / "d.csv"), pd.read_csv(tmp_path / "b" / "d.csv")
    pd.testing.assert_frame_equal(db, base)
    qa = pd.read_csv(tmp_path / "a" / "d.quarantine.csv")["reason"].value_counts()
    qb = pd.read_csv(tmp_path / "b" / "d.quarantine.csv")
    pd.testing.assert_series_equal(qb["reason"].value_counts(), qa)
    assert qb["source_file"].str.startswith("query on postgresql+psycopg://rct:***@").all()
    pw = _password(pg_url)
    assert pw not in out.out + out.err and pw not in _all_text(tmp_path / "b")
    man = json.loads((tmp_path / "b" / "d.csv.manifest.json").read_text())
    entry = next(i for i in man["inputs"] if "query" in i)
    assert entry["query"] == sql and entry["rows"] == len(patrols)
    assert "***" in entry["database"] and pw not in entry["database"]


def test_postgres_crime_table_gives_the_csv_outcomes(tmp_path, capsys, pg_url, pg_tables):
    _, crimes = pg_tables
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    iso = fd.write_crimes_iso(tmp_path / "iso.csv", crimes)
    common = ["--hotspots", str(hs), "--period", "day", "--start", "2021-09-06", "--end",
              "2021-11-30"]
    assert main(["ingest", "crimes", str(iso), *common, "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["ingest", "crimes", "--db", pg_url, "--query",
                 "SELECT * FROM crime_extract WHERE category <> 'none'", *common,
                 "--out", str(tmp_path / "b.csv")]) == 0
    out = capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b.csv"), pd.read_csv(tmp_path / "a.csv"))
    assert _password(pg_url) not in out.out + out.err


def test_a_failed_connection_or_query_names_the_database_not_the_password(capsys, tmp_path,
                                                                          pg_url, pg_tables):
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    pw = _password(pg_url)
    wrong = pg_url.replace(f":{pw}@", ":not-the-password@")
    args = ["ingest", "crimes", "--query", "SELECT * FROM crime_extract", "--hotspots", str(hs),
            "--out", str(tmp_path / "o.csv")]
    assert main([*args[:2], "--db", wrong, *args[2:]]) == 2
    err = capsys.readouterr().err
    assert "password authentication failed" in err and "rct:***@" in err
    assert "not-the-password" not in err and pw not in err
    assert main(["ingest", "crimes", "--db", pg_url, "--query", "SELECT * FROM no_such_table",
                 *args[4:]]) == 2
    err = capsys.readouterr().err
    assert "no_such_table" in err and "does not exist" in err and pw not in err
    assert not (tmp_path / "o.csv").exists()
