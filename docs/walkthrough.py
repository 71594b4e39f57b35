"""Run the README's walkthrough and check (or rewrite) the output it prints.

The README cannot go stale: ``tests/test_readme.py`` runs every command of the
README section "A whole trial, step by step" (and the power answer above it)
in a temporary folder and compares what they print with what the README
shows.  After a change that moves a figure, regenerate the README's outputs:

    .venv/bin/python docs/walkthrough.py --update

Conventions in README.md, in every region between ``<!-- walkthrough:begin -->``
and ``<!-- walkthrough:end -->`` (the regions run in order, in one folder):

* a ````console```` block: ``$ command`` lines (``\\`` continues a line) are
  run in order; the lines after a command, up to the next ``$``, are its
  output, exactly (stdout then stderr).  ``cd DIR`` changes the folder.
* a ````sh```` block: its commands are run, their output is not shown.
* a ````toml```` block right after ``<!-- walkthrough:file NAME -->`` is
  written to ``NAME`` in the current folder before the next command.

Commands run through ``bash`` with this interpreter's ``bin`` folder first on
``PATH`` (so ``rct`` is this checkout's), a fixed pseudonym key, and a private
``HOME``.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- walkthrough:begin -->", "<!-- walkthrough:end -->"
_FILE = re.compile(r"<!-- walkthrough:file (\S+) -->")


@dataclass
class Block:
    kind: str  # console | sh | toml | text
    lines: list[str]
    file: str | None = None


def _split(text: str) -> list[tuple[bool, str]]:
    """The README as ``[(inside a walkthrough region, text)]`` pieces, in order."""
    pieces: list[tuple[bool, str]] = []
    rest = text
    while BEGIN in rest:
        before, rest = rest.split(BEGIN, 1)
        if END not in rest:
            raise SystemExit(f"README.md: {BEGIN} without {END}")
        inside, rest = rest.split(END, 1)
        pieces += [(False, before + BEGIN), (True, inside), (False, END)]
    if not any(flag for flag, _ in pieces):
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section")
    return [*pieces, (False, rest)]


def _parse(body: str) -> list[Block]:
    blocks: list[Block] = []
    lines = body.split("\n")
    i, pending_file = 0, None
    text_buf: list[str] = []
    while i < len(lines):
        line = lines[i]
        m = _FILE.fullmatch(line.strip())
        if m:
            pending_file = m.group(1)
        fence = re.fullmatch(r"```(console|sh|toml)\s*", line)
        if fence:
            blocks.append(Block("text", text_buf))
            text_buf = []
            j = i + 1
            while j < len(lines) and lines[j] != "```":
                j += 1
            kind = fence.group(1)
            blocks.append(Block(kind, lines[i + 1:j],
                                pending_file if kind == "toml" else None))
            if kind == "toml":
                pending_file = None
            i = j + 1
            continue
        text_buf.append(line)
        i += 1
    blocks.append(Block("text", text_buf))
    return blocks


def _commands(lines: list[str]) -> list[tuple[str, list[str]]]:
    """``[(command, shown command lines)]`` of a console/sh block (outputs dropped)."""
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            shown = [line]
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                shown.append(lines[i])
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            out.append((cmd.strip(), shown))
        i += 1
    return out


class Runner:
    """Runs commands as a user would, tracking ``cd``."""

    def __init__(self, root: Path) -> None:
        self.cwd = root
        home = root / ".home"
        home.mkdir(exist_ok=True)
        self.env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                    f"{os.environ.get('PATH', '')}", "HOME": str(home),
                    "RCT_PSEUDONYM_KEY": "walkthrough-key-0123456789abcdef",
                    "COLUMNS": "100", "TZ": "UTC", "PYTHONHASHSEED": "0"}
        if "PYTHONPATH" in os.environ:
            self.env["PYTHONPATH"] = os.environ["PYTHONPATH"]

    def run(self, cmd: str) -> list[str]:
        m = re.fullmatch(r"cd\s+(\S+)", cmd)
        if m:
            self.cwd = (self.cwd / m.group(1)).resolve()
            return []
        proc = subprocess.run(["bash", "-c", cmd], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, timeout=900)
        text = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise RuntimeError(f"README command failed (exit {proc.returncode}) in "
                               f"{self.cwd}:\n$ {cmd}\n{text}")
        return [ln.rstrip() for ln in text.splitlines()]


def regenerate(readme: Path = README, workdir: Path | None = None) -> str:
    """The README with every walkthrough output replaced by what the commands print now."""
    text = readme.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="rct-walkthrough-") as tmp:
        runner = Runner(Path(workdir) if workdir else Path(tmp))
        result: list[str] = []
        for inside, piece in _split(text):
            if not inside:
                result.append(piece)
                continue
            out: list[str] = []
            for b in _parse(piece):
                if b.kind == "text":
                    out.append("\n".join(b.lines))
                    continue
                if b.kind == "toml":
                    if b.file:
                        (runner.cwd / b.file).write_text("\n".join(b.lines) + "\n",
                                                         encoding="utf-8")
                    out.append("```toml\n" + "\n".join(b.lines) + "\n```")
                    continue
                new: list[str] = []
                for cmd, shown in _commands(b.lines):
                    printed = runner.run(cmd)
                    new += shown
                    if b.kind == "console":
                        new += printed
                out.append(f"```{b.kind}\n" + "\n".join(new) + "\n```")
            result.append("\n".join(out))
    return "".join(result)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update", action="store_true", help="rewrite README.md's outputs")
    ap.add_argument("--workdir", type=Path, help="run in this (empty) folder instead of a temp one")
    args = ap.parse_args(argv)
    new = regenerate(workdir=args.workdir)
    old = README.read_text(encoding="utf-8")
    if new == old:
        print("README walkthrough: every printed output matches")
        return 0
    if args.update:
        README.write_text(new, encoding="utf-8")
        print("README.md updated")
        return 0
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                               "README.md", "README.md (as run)"))
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
