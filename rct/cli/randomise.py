"""`rct randomise ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="randomise", no_args_is_help=True)
