"""`rct schema KIND` against the readers' own alias tables, and its examples read back."""

from __future__ import annotations

import json

import pytest

from rct.cli import main
from rct.io.columns import KINDS, PATROL_ALIASES, PING_ALIASES, schema


def _printed(kind, capsys) -> dict:
    assert main(["schema", kind, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _reader_aliases(kind: str) -> dict[str, tuple[str, ...]]:
    """canonical -> aliases, taken from the reader modules themselves."""
    if kind == "patrols":
        from rct.dosage.patrol_logs import _ALIASES, OPTIONAL, REQUIRED

        out = {c: (c,) for c in (*REQUIRED, *OPTIONAL)}
        for alias, canon in _ALIASES.items():
            out[canon] = (*out[canon], alias)
        return out
    if kind == "pings":
        from rct.dosage.airwave_read import ALIASES

        return dict(ALIASES)
    if kind == "crimes":
        from rct.io.crimes import ALIASES

        return {k: v for k, v in ALIASES.items()}
    if kind == "hotspots":
        from rct.io.hotspots import _ID_ALIASES, _RADIUS_NAMES, _WKT_NAMES, _XY_PAIRS

        return {"hotspot_id": _ID_ALIASES, "geometry": _WKT_NAMES, "radius": _RADIUS_NAMES,
                "x": tuple(a for a, _ in _XY_PAIRS), "y": tuple(b for _, b in _XY_PAIRS)}
    return {"offence_code": ("offence_code",), "category": ("category",),
            "weight": ("weight",), "source": ("source",)}


@pytest.mark.parametrize("kind", KINDS)
def test_schema_lists_exactly_the_aliases_the_reader_accepts(kind, capsys):
    printed = {c["name"]: set(c["aliases"]) for c in _printed(kind, capsys)["columns"]}
    for canon, aliases in _reader_aliases(kind).items():
        assert canon in printed, (kind, canon)
        assert set(aliases) == printed[canon], (kind, canon)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_text_names_every_column_type_and_an_example(kind, capsys):
    assert main(["schema", kind]) == 0
    text = capsys.readouterr().out
    s = schema(kind)
    for c in s.columns:
        assert c.name in text and c.type in text
    assert "example:" in text and s.example_csv().splitlines()[0] in text
    assert "--columns" in text


def test_the_one_alias_table_is_the_readers(capsys):
    from rct.dosage import airwave_read, patrol_logs

    assert airwave_read.ALIASES is PING_ALIASES
    assert set(patrol_logs._ALIASES.values()) <= set(PATROL_ALIASES)


def test_each_printed_example_is_read_by_its_reader(tmp_path):
    """The example rows `rct schema` prints are valid input for the readers."""
    from rct.dosage.patrol_logs import read_patrol_logs
    from rct.dosage.pseudonym import Pseudonymiser
    from rct.harm import read_harm_csv
    from rct.io.crimes import read_crimes
    from rct.io.hotspots import read_hotspots

    files = {k: tmp_path / f"{k}.csv" for k in KINDS}
    for k, p in files.items():
        p.write_text(schema(k).example_csv() + "\n", encoding="utf-8")
    r = read_patrol_logs(files["patrols"], pseudonymiser=Pseudonymiser(b"k" * 32))
    assert r.n_accepted == 1 and r.data["minutes"].iloc[0] == 15
    c = read_crimes(files["crimes"])
    assert c.n_accepted == 1 and c.data["occurred_at"].iloc[0].isoformat() == (
        "2021-09-25T22:15:00+00:00")  # 25/09/2021 23:15 BST: day-first (a day above 12)
    h = read_hotspots(files["hotspots"])
    assert h["hotspot_id"].tolist() == ["HS01"] and h.area.iloc[0] > 0
    assert read_harm_csv(files["harm"]).weight(offence_code="8N") == 365.0
    (tmp_path / "pings.csv").write_text(schema("pings").example_csv() + "\n")
    from rct.dosage.airwave_read import Unit, iter_chunks, resolve_columns
    from rct.io.delimited import sniff_csv

    cols = resolve_columns(list(sniff_csv(files["pings"]).columns))
    assert set(cols) >= {"radio_id", "timestamp", "x", "y"}
    chunk = next(iter_chunks(Unit(0, str(files["pings"]), "csv"), chunk_rows=10))
    assert chunk[0].num_rows == 1


def test_unknown_kind_is_refused_listing_the_kinds(capsys):
    assert main(["schema", "radios"]) == 2
    assert "patrols, pings, crimes, hotspots, harm" in capsys.readouterr().err


def test_readme_links_the_schema_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "rct schema patrols" in readme and "## Your force's data" in readme


def test_readme_columns_example_is_a_valid_mapping(tmp_path):
    """The [columns] snippet in the README loads and maps what it says it maps."""
    import re
    from pathlib import Path

    from rct.io.columns import load_columns

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- columns-example -->\n```toml\n(.*?)```", readme, re.S).group(1)
    f = tmp_path / "columns.toml"
    f.write_text(block)
    cmap = load_columns(f)
    assert cmap.for_kind("patrols") == {"Hot Spot": "hotspot_id", "Officer No": "officer_id",
                                        "Arrived": "arrived_at", "Departed": "left_at"}
    assert cmap.for_kind("crimes") == {"Crime Ref": "crime_id", "Offence": "category",
                                       "Grid E": "easting", "Grid N": "northing"}
    assert cmap.dayfirst is True
