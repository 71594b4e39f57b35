"""The bundled Thames Valley police.uk months, read as published.

Counts are checked against the raw files read independently with the
standard library's gzip and csv modules.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter

import numpy as np
import pytest

from rct.geo import from_bng
from rct.io.crimes import read_crimes


@pytest.fixture(scope="module")
def months(police_uk_dir):
    files = sorted(police_uk_dir.glob("*-street.csv.gz"))
    assert len(files) == 6
    return files


@pytest.fixture(scope="module")
def result(months):
    return read_crimes(months)


def _raw(path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        n_lines = sum(1 for _ in fh)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return n_lines, rows


def test_counts_reconcile_with_raw_line_counts(months, result):
    total = 0
    for path in months:
        n_lines, rows = _raw(path)
        assert len(rows) == n_lines - 1  # no embedded newlines: one record per line
        no_xy = sum(1 for r in rows if r["Longitude"] == "" or r["Latitude"] == "")
        got_acc = int((result.data["source_file"] == str(path)).sum())
        got_q = int((result.quarantine["source_file"] == str(path)).sum())
        assert got_acc + got_q == n_lines - 1
        assert got_q == no_xy
        total += n_lines - 1
    assert result.n_read == total
    assert set(result.quarantine["reason"]) == {"missing coordinates"}


def test_ids_categories_and_months(months, result):
    d = result.data
    assert d["crime_id"].is_unique
    raw_types = Counter()
    blank_ids = 0
    for path in months:
        _, rows = _raw(path)
        for r in rows:
            if r["Longitude"] and r["Latitude"]:
                raw_types[r["Crime type"]] += 1
                blank_ids += r["Crime ID"] == ""
    assert d["category"].value_counts().to_dict() == dict(raw_types)
    assert int(d["crime_id"].str.startswith("synthetic:").sum()) == blank_ids
    asb = d["category"] == "Anti-social behaviour"
    assert d.loc[asb, "crime_id"].str.startswith("synthetic:").all()
    assert sorted(d["month"].unique()) == [
        "2018-06",
        "2018-10",
        "2018-11",
        "2018-12",
        "2019-01",
        "2019-02",
    ]
    assert d["occurred_at"].isna().all()


def test_coordinates_are_the_published_points_in_bng(result):
    d = result.data
    lon, lat = from_bng(d["x"].to_numpy(), d["y"].to_numpy())
    assert np.allclose(lon, d["lon"], atol=1e-7) and np.allclose(lat, d["lat"], atol=1e-7)
    # Thames Valley (Berkshire, Buckinghamshire, Oxfordshire) in British National Grid
    assert d["x"].between(380_000, 530_000).all()
    assert d["y"].between(150_000, 270_000).all()
