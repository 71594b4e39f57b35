"""`rct power ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="power", no_args_is_help=True)
