"""Small helpers shared by the command modules (standard library only)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["shown"]


def shown(path: str | Path) -> str:
    """A path as printed to the user: relative to the working folder when inside it."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(p)
