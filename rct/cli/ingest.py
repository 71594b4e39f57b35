"""`rct ingest ...` commands: patrols, airwave, crimes.

Each command lives in its own module (``ingest_patrols``, ``ingest_airwave``,
``ingest_crimes``) and registers itself on :data:`app`.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Ingest patrol logs, Airwave pings and crimes into per-hot-spot-day tables.\n\n"
    "Example: rct ingest patrols logs.xlsx --hotspots hotspots.geojson --out "
    "out/patrol_dosage.parquet   (`rct schema patrols` lists the columns)",
    no_args_is_help=True,
)

from rct.cli import ingest_airwave, ingest_crimes, ingest_patrols  # noqa: E402,F401  (registers commands)
