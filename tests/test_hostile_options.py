"""Every numeric option and trial-file key has a stated range, checked at the boundary (case 6)."""

from __future__ import annotations

import pytest
import typer

from rct.cli import app, main
from rct.config import RANGES, load_trial
from rct.errors import ConfigError

#: commands the walk must reach (it checks every command's numeric options)
CHECKED = {
    ("ingest", "patrols"), ("ingest", "airwave"), ("ingest", "crimes"), ("hotspots", "build"),
    ("simulate",), ("evaluate",), ("randomise", "parallel"), ("randomise", "crossover"),
    ("randomise", "balance"),
}


def _commands(cmd, path: tuple[str, ...] = ()):
    if hasattr(cmd, "commands"):  # a group (typer bundles its own click: duck-typed)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, cmd


def _numeric(annotation) -> bool:
    import types
    import typing

    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or (
        typing.get_origin(annotation) is typing.Union) else (annotation,)
    return any(a in (int, float) for a in args)


def test_case_06_every_numeric_option_states_and_checks_its_range():
    import inspect
    import typing

    root = typer.main.get_command(app)
    seen, n_numeric = set(), 0
    for path, cmd in _commands(root):
        seen.add(path)
        fn = cmd.callback
        hints = typing.get_type_hints(fn)
        for name, param in inspect.signature(fn).parameters.items():
            info = param.default
            if not _numeric(hints.get(name)) or type(info).__name__ != "OptionInfo":
                continue
            n_numeric += 1
            where = f"{' '.join(path)} --{name.replace('_', '-')}"
            assert info.callback is not None, f"{where} has no range check"
            assert "Range:" in (info.help or ""), f"{where} states no range"
    assert seen >= CHECKED and n_numeric >= 50  # every command: the walk really sees them


@pytest.mark.parametrize(("argv", "message"), [
    (["ingest", "airwave", "p.csv", "--hotspots", "h.geojson", "--out", "a.parquet",
      "--buffer", "1e9"], "--buffer = 1,000,000,000 is out of range: must be between 0 and 1000"),
    (["ingest", "patrols", "l.csv", "--hotspots", "h.csv", "--max-visit-hours", "nan"],
     "--max-visit-hours = nan is not a finite number"),
    (["ingest", "patrols", "l.csv", "--hotspots", "h.csv", "--max-quarantined", "1.5"],
     "--max-quarantined = 1.5 is out of range: must be between 0 and 1"),
    (["ingest", "airwave", "p.csv", "--hotspots", "h.geojson", "--out", "a.parquet",
      "--chunk-rows", "0"], "--chunk-rows = 0 is out of range"),
    (["evaluate", "trial.toml", "--draws", "-5"],
     "--draws = -5 is out of range: must be between 100 and 1,000,000"),
    (["randomise", "balance", "a.csv", "--draws", "-5"], "--draws = -5 is out of range"),
    (["randomise", "crossover", "h.csv", "--out", "s.csv", "--start", "2024-01-01", "--days",
      "inf", "--per-day", "2", "--seed", "1"], "Invalid value for '--days'"),
    (["ingest", "crimes", "c.csv", "--hotspots", "h.geojson", "--out", "o.parquet",
      "--catchment", "0"], "--catchment = 0 is out of range: must be more than 0"),
    (["simulate", "--out", "x", "--hotspots", "1000000"], "--hotspots = 1,000,000 is out of range"),
    (["hotspots", "build", "c.csv", "--out", "h.geojson", "--cell", "-150"],
     "--cell = -150 is out of range"),
])
def test_case_06_out_of_range_options_give_one_line_errors(tmp_path, capsys, monkeypatch, argv,
                                                           message):
    monkeypatch.chdir(tmp_path)  # nothing exists: the range check comes first
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    if "Invalid value" not in message:  # click's own type errors keep its usage lines
        assert err.count("\n") == 0 and err.startswith("rct: error:")


def _trial(tmp_path, body: str):
    p = tmp_path / "trial.toml"
    p.write_text(body)
    return p


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("analysis", "ri_draws", "10000000000000", "must be between 100 and 1,000,000"),
    ("analysis", "alpha", "nan", "must be a finite number"),
    ("analysis", "alpha", "0.7", "less than 0.5"),
    ("dosage", "max_visit_hours", "inf", "must be a finite number"),
    ("dosage", "buffer_m", "1e9", "must be between 0 and 1,000"),
    ("dosage", "gap_minutes", "-1", "out of range"),
    ("dosage", "cap_per_day", "2.5", "must be int"),
    ("design", "washout", "100000", "must be between 0 and 365"),
    ("design", "seed", "-3", "out of range"),
    ("design", "acceptance", "0", "more than 0"),
])
def test_case_06_trial_keys_have_ranges(tmp_path, section, key, value, message):
    body = '[design]\ntype = "parallel"\n' if section != "design" else ""
    body += f"[{section}]\n"
    if section == "design":
        body += 'type = "parallel"\n'
    body += f"{key} = {value}\n"
    with pytest.raises(ConfigError, match=rf"\[{section}\] {key} = .*{message}"):
        load_trial(_trial(tmp_path, body))


def test_case_06_every_ranged_key_is_a_real_key():
    from rct.config import _SECTIONS

    for section, key in RANGES:
        assert key in _SECTIONS[section].__dataclass_fields__, (section, key)
