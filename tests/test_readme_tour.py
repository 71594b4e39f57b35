"""The README's command tour names real commands and real options (it cannot go stale)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from rct.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour_commands() -> list[str]:
    text = README.read_text()
    tour = text[text.index("## A tour of the commands"):text.index("Rows that cannot be used")]
    cells = re.findall(r"`(rct [^`]+)`", tour)
    return [c.replace("\\|", "|") for c in cells]


def _command(words: list[str]):
    cmd = typer.main.get_command(app)
    path = []
    for w in words:
        if not hasattr(cmd, "commands") or w not in cmd.commands:
            break
        cmd = cmd.commands[w]
        path.append(w)
    return path, cmd


def test_every_command_and_option_in_the_tour_exists():
    commands = _tour_commands()
    assert len(commands) >= 15
    seen_groups = set()
    for line in commands:
        words = line.split()[1:]
        # "rct report design|monitor|evaluation ..." names several sub-commands at once
        first = [w.split("|")[0] for w in words if not w.startswith("-")][:2]
        path, cmd = _command(first)
        assert path, line
        assert not hasattr(cmd, "commands"), f"{line}: {' '.join(path)} is a group, not a command"
        seen_groups.add(path[0])
        known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line):
            assert opt in known, f"README tour: `{line}` uses {opt}, which rct {' '.join(path)} lacks"
    top = set(typer.main.get_command(app).commands) - {"demo"}
    assert top <= seen_groups, f"commands missing from the README tour: {sorted(top - seen_groups)}"
