"""Every command's help: a worked example that parses, readable metavars, one vocabulary."""

from __future__ import annotations

import re
import shlex

import pytest

from rct.cli import command, main
from rct.cli._help import PIPELINE_ORDER, SHORT, walk

COMMANDS = [(path, c) for path, c in walk(command())]
LEAVES = [(path, c) for path, c in COMMANDS if not hasattr(c, "commands")]
RAW = re.compile(r"<[^>\s]*>|list\[|\b(FLOAT|INTEGER|TEXT|PATH|BOOLEAN)\b|\{[a-z_]+\}")


def _help(path: tuple[str, ...], capsys) -> str:
    assert main([*path, "--help"]) == 0
    return capsys.readouterr().out


def _examples(text: str) -> list[str]:
    """The example commands of a help text: lines starting ``rct `` after "Example",
    continued (trailing backslash) on the next lines."""
    out = []
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if re.search(r"\bExample\b", ln)), None)
    if start is None:
        return out
    first = re.sub(r".*Example[^:]*:\s*", "", lines[start])
    rest = [first, *lines[start + 1:]]
    i = 0
    while i < len(rest):
        ln = rest[i].strip()
        if ln.startswith("rct "):
            cmd = ln
            while cmd.endswith("\\") and i + 1 < len(rest):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + rest[i].strip()
            out.append(cmd)
        i += 1
    return out


def test_every_command_is_covered():
    names = {" ".join(p) for p, _ in LEAVES}
    assert {"ingest patrols", "ingest airwave", "ingest crimes", "schema", "hotspots build",
            "randomise crossover", "monitor", "evaluate", "report evaluation"} <= names
    assert len(LEAVES) >= 22


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "rct")
def test_help_has_a_worked_example_and_readable_metavars(path, capsys):
    text = _help(path, capsys)
    assert "Example" in text, f"no example in `rct {' '.join(path)} --help`"
    usage = text.split("\n\n", 1)[0]
    assert not RAW.search(usage), usage
    options = text.split("Options:", 1)[-1] + text.split("Arguments:", 1)[-1].split("Options:")[0]
    bad = [ln for ln in options.splitlines() if RAW.search(ln.split("  ")[0] if ln.strip()
                                                            else "")]
    assert not bad, bad


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=lambda p: " ".join(p))
def test_the_example_is_a_valid_command_line(path, capsys):
    """Each example parses: its command exists and every option it uses is real."""
    examples = _examples(_help(path, capsys))
    assert examples, path
    root = command()
    for ex in examples:
        words = shlex.split(ex.replace("\\", ""))[1:]
        words = [w for w in words if "$(" not in w]
        cmd, rest = root, list(words)
        while hasattr(cmd, "commands") and rest and rest[0] in cmd.commands:
            cmd = cmd.commands[rest.pop(0)]
        assert not hasattr(cmd, "commands"), ex
        ctx = cmd.make_context(cmd.name, rest)  # an unknown option or a bad value raises
        assert ctx.params is not None, ex


def test_root_lists_commands_in_pipeline_order_with_full_descriptions(capsys):
    text = _help((), capsys)
    listed = [m.group(1) for m in re.finditer(r"^  ([a-z]+)\s{2,}", text.split("Commands:")[1],
                                              re.M)]
    assert listed == [c for c in PIPELINE_ORDER if c in listed] and len(listed) == len(SHORT)
    for name, short in SHORT.items():
        assert f"{name}" in text and short in text and len(short) <= 66  # one line at 80 columns
    assert "..." not in text.split("Commands:")[1]


def test_force_only_ever_means_overwrite():
    for path, c in LEAVES:
        for p in c.params:
            opts = list(getattr(p, "opts", [])) + list(getattr(p, "secondary_opts", []))
            if "--force" in opts:
                assert "police" not in (p.help or "").lower(), path
                assert re.search(r"overwrite|replace", p.help or "", re.I), path
            if any(o in ("--police-force", "--force-name") for o in opts):
                assert p.name == "police_force"


def test_dates_are_start_and_end_everywhere():
    for path, c in LEAVES:
        opts = {o for p in c.params for o in getattr(p, "opts", []) if not p.hidden}
        assert not opts & {"--trial-start", "--trial-end", "--from", "--to"}, path


def test_old_patrol_date_names_still_work_and_warn(tmp_path, capsys, monkeypatch):
    from tests import force_data as fd

    monkeypatch.setenv("RCT_PSEUDONYM_KEY", "0123456789abcdef0123456789abcdef")
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    logs = fd.write_patrols_iso(tmp_path / "p.csv", fd.patrol_records())
    base = ["ingest", "patrols", str(logs), "--hotspots", str(hs)]
    assert main([*base, "--trial-start", "2021-10-01", "--out", str(tmp_path / "a.csv")]) == 0
    assert "--trial-start is now --start" in capsys.readouterr().err
    assert main([*base, "--start", "2021-10-01", "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert "--trial-start" not in _help(("ingest", "patrols"), capsys)


def test_every_ingest_command_requires_out(capsys):
    for name in ("patrols", "airwave", "crimes"):
        cmd = command().commands["ingest"].commands[name]
        out = next(p for p in cmd.params if p.name == "out")
        assert out.required, name


def test_paths_are_printed_relative(tmp_path, capsys, monkeypatch):
    from tests import force_data as fd

    monkeypatch.chdir(tmp_path)
    hs = fd.hotspots_geojson(tmp_path / "hs.geojson")
    crimes = fd.write_crimes_iso(tmp_path / "c.csv", fd.crime_records())
    assert main(["ingest", "crimes", str(crimes), "--hotspots", str(hs),
                 "--out", str(tmp_path / "out" / "o.csv")]) == 0
    out = capsys.readouterr().out
    assert "wrote out/o.csv" in out and str(tmp_path) not in out
