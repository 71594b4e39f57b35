"""The README cannot go stale: its walkthrough is run and its printed outputs compared."""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _walkthrough():
    spec = importlib.util.spec_from_file_location("walkthrough", ROOT / "docs" / "walkthrough.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["walkthrough"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_readme_walkthrough_prints_what_the_readme_shows(tmp_path):
    """Every command in the README's walkthrough regions runs, and prints exactly what is shown.

    On failure: ``.venv/bin/python docs/walkthrough.py --update`` rewrites the outputs.
    """
    w = _walkthrough()
    old = (ROOT / "README.md").read_text(encoding="utf-8")
    new = w.regenerate(workdir=tmp_path)
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "README.md", "README.md (as run)", n=1))
    assert new == old, "README outputs are stale (run docs/walkthrough.py --update):\n" + diff


def test_walkthrough_parser_reads_commands_outputs_and_files():
    w = _walkthrough()
    cmds = w._commands(["$ rct a \\", "    --b c", "out 1", "$ rct d", "out 2"])
    assert cmds == [("rct a --b c", ["$ rct a \\", "    --b c"]), ("rct d", ["$ rct d"])]
    blocks = w._parse("x\n<!-- walkthrough:file t.toml -->\n```toml\na = 1\n```\n```sh\n$ ls\n```")
    kinds = [(b.kind, b.file) for b in blocks if b.kind != "text"]
    assert kinds == [("toml", "t.toml"), ("sh", None)]


def test_readme_trial_file_reference_loads(tmp_path):
    """The README's annotated trial file is a valid trial file (every key it shows exists)."""
    import re

    from rct.config import load_trial

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The trial file"):]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "trial.toml").write_text(block, encoding="utf-8")
    t = load_trial(tmp_path / "trial.toml")
    assert t.monitoring.sequential == "obrien-fleming" and t.costs.officer_hour == 45
    assert t.analysis.crime_types == ("Violence and sexual offences",)
