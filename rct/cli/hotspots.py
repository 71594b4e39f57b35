"""`rct hotspots ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="hotspots", no_args_is_help=True)
