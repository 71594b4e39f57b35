"""Property-based tests: random garbage given to the crime readers.

Whatever the input, ``read_crimes`` either raises :class:`DataError` or
returns a result whose counts reconcile, whose accepted rows are usable and
whose quarantined rows carry a known reason.  Never another exception type.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rct.errors import DataError
from rct.geo import fits_bng
from rct.io.crimes import read_crimes
from rct.io.police_uk import PUBLISHED_COLUMNS

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

KNOWN_REASONS = {
    "wrong number of fields",
    "missing crime_id",
    "missing coordinates",
    "unparseable coordinates",
    "placeholder coordinates (0, 0)",
    "outside Great Britain",
    "missing month",
    "unparseable month",
    "missing crime type",
    "missing timestamp",
    "unparseable timestamp",
    "ambiguous local time (October clock change)",
    "non-existent local time (March clock change)",
    "duplicate crime_id",
    "crime_id holds an invisible or control character",
}

# text without NUL / surrogates (csv.writer cannot write NUL); newlines and quotes allowed
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_junk = st.text(_chars, max_size=15)
_lon = st.floats(-12, 5, allow_nan=False).map(lambda v: f"{v:.6f}")
_lat = st.floats(45, 65, allow_nan=False).map(lambda v: f"{v:.6f}")
_east = st.floats(-1e5, 9e5, allow_nan=False).map(lambda v: f"{v:.1f}")
_north = st.floats(-1e5, 1.5e6, allow_nan=False).map(lambda v: f"{v:.1f}")
_month = st.one_of(
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1990, 2030), st.integers(0, 13)), _junk
)
_time = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("2015-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2030-12-31").to_pydatetime(),
    ).map(lambda d: d.isoformat(sep=" ")),
    st.sampled_from(
        ["2024-10-27 01:30", "2024-03-31 01:30", "27/10/2024 01:15", "2024-06-01T12:00:00Z", ""]
    ),
    _junk,
)
_ids = st.one_of(st.sampled_from(["", "A", "B", "C"]), _junk)
_types = st.one_of(st.sampled_from(["Anti-social behaviour", "Burglary", ""]), _junk)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # quotes cells holding \r or \n
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _check_result(r, n_rows: int | None) -> None:
    assert r.n_read == r.n_accepted + r.n_quarantined
    if n_rows is not None:
        assert r.n_read == n_rows
    d = r.data
    if len(d):
        assert fits_bng(d["x"], d["y"]).all()
        assert d["crime_id"].notna().all() and d["crime_id"].is_unique
        assert d["month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()
        assert str(d["occurred_at"].dtype) == "datetime64[ns, UTC]"
    if len(r.quarantine):
        reasons = {re.sub(r" \(expected \d+, saw \d+\)$", "", x) for x in r.quarantine["reason"]}
        assert reasons <= KNOWN_REASONS
        assert r.quarantine["source_row"].between(1, r.n_read).all()
    # every data row appears exactly once, accepted or quarantined (per file)
    for f in set(r.quarantine.get("source_file", pd.Series(dtype=str))):
        rows = r.quarantine.loc[r.quarantine["source_file"] == f, "source_row"]
        assert rows.is_unique


def _row_with_only_blanks(row: list[str]) -> bool:
    return all(c == "" for c in row)


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(_ids, _month, _lon | _junk, _lat | _junk, _types).map(list), max_size=12
    )
)
def test_police_uk_random_cells(tmp_path, rows):
    full = [
        [cid, month, "TVP", "TVP", lon, lat, "On or near X", "E01", "Name 001A", ctype, "", ""]
        for cid, month, lon, lat, ctype in rows
    ]
    path = tmp_path / "uk.csv"
    path.write_text(_csv_text(list(PUBLISHED_COLUMNS), full), encoding="utf-8")
    r = read_crimes(path)  # a police.uk header: always readable
    _check_result(r, len(full))
    # accepted rows keep the published coordinates
    if len(r.data):
        assert np.isfinite(r.data["lon"]).all()


@SETTINGS
@given(
    header=st.permutations(["crime_ref", "occurred", "easting", "northing", "ho_code", "notes"]),
    rows=st.lists(
        st.tuples(_ids, _time, _east | _junk, _north | _junk, _junk, _junk).map(list), max_size=12
    ),
)
def test_extract_random_cells(tmp_path, header, rows):
    order = ["crime_ref", "occurred", "easting", "northing", "ho_code", "notes"]
    perm = [order.index(h) for h in header]
    shuffled = [[row[i] for i in perm] for row in rows]
    path = tmp_path / "ext.csv"
    path.write_text(_csv_text(list(header), shuffled), encoding="utf-8")
    r = read_crimes(path)
    _check_result(r, len(rows))


@SETTINGS
@given(
    header=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Crime ID",
                    "Month",
                    "Longitude",
                    "Latitude",
                    "Crime type",
                    "x",
                    "y",
                    "lat",
                    "lon",
                    "easting",
                    "northing",
                    "date",
                    "occurred_at",
                    "id",
                    "time",
                ]
            ),
            _junk,
        ),
        min_size=1,
        max_size=7,
    ),
    data=st.data(),
)
def test_random_headers_and_cells(tmp_path, header, data):
    cell = st.one_of(_junk, _lon, _lat, _east, _north, _time, _month)
    rows = data.draw(
        st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=8)
    )
    path = tmp_path / "any.csv"
    path.write_text(_csv_text(header, rows), encoding="utf-8")
    try:
        r = read_crimes(path)
    except DataError:
        return
    # rows that are just separators may be skipped as blank lines only for 1-column files
    expected = None if len(header) == 1 else len(rows)
    _check_result(r, expected)


@SETTINGS
@given(blob=st.binary(max_size=600))
def test_random_bytes(tmp_path, blob):
    for name in ("b.csv", "b.csv.gz", "b.parquet"):
        path = tmp_path / name
        path.write_bytes(blob)
        try:
            r = read_crimes(path)
        except DataError:
            continue
        _check_result(r, None)


@SETTINGS
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=60), min_size=1, max_size=10
    ),
    sep=st.sampled_from([",", ";", "\t", "|"]),
)
def test_random_text_lines(tmp_path, lines, sep):
    # a plausible header then random lines (ragged, quoted, NULs, ...)
    head = sep.join(["crime_id", "occurred_at", "easting", "northing"])
    path = tmp_path / "t.csv"
    path.write_text(head + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        r = read_crimes(path)
    except DataError:
        return
    _check_result(r, None)
    n_nonblank = sum(1 for ln in re.split(r"\r\n|\r|\n", "\n".join(lines)) if ln != "")
    assert r.n_read <= max(n_nonblank, 0) + len(lines)
