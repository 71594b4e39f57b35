"""`rct ingest airwave`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import (
    chunk_rows_option,
    force_option,
    max_quarantined_option,
    quarantine_raw_option,
    ranged,
)
from rct.cli.ingest import app


@app.command("airwave")
def airwave(
    pings: list[Path] = typer.Argument(..., help="Ping files (CSV/Parquet), globs or directories."),
    hotspots: Path = typer.Option(
        ..., "--hotspots", help="Hot-spot file (GeoJSON, GPKG, SHP, CSV)."
    ),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet or .csv)."),
    buffer: float = ranged(25.0, "--buffer", help="Buffer around hot spots.", lo=0.0, hi=1000.0,
                           unit="metres"),
    gap_minutes: float = ranged(5.0, "--gap-minutes", help="Gap that starts a new visit.",
                                lo=0.0, hi=1440.0, unit="minutes"),
    day_starts: str = typer.Option("06:00", "--day-starts", help="Trial-day boundary (HH:MM)."),
    tail_seconds: float = ranged(
        0.0, "--tail-seconds", help="Seconds added to the end of each visit.", lo=0.0, hi=3600.0,
        unit="seconds",
    ),
    tolerance: float = ranged(
        50.0, "--tolerance", help="Metres apart for 'radio in two places at once'.", lo=0.0,
        hi=100_000.0, unit="metres",
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="Pseudonym key file (kept outside the outputs)."
    ),
    chunk_rows: int = chunk_rows_option(1_000_000),
    engine: str = typer.Option("default", "--engine", help="default | dask"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: a local cluster)."
    ),
    workers: int = ranged(2, "--workers", help="Workers of the local Dask cluster.", lo=1, hi=256,
                          integer=True),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option("raw radio IDs (not pseudonyms)"),
    force: bool = force_option(),
) -> None:
    """Airwave radio presence per hot spot and trial day: pings, radios, presence minutes, visits."""
    from rct.dosage.airwave import ingest_airwave

    result = ingest_airwave(
        [str(p) for p in pings],
        str(hotspots),
        out=out,
        force=force,
        max_quarantined=max_quarantined,
        buffer_m=buffer,
        gap_minutes=gap_minutes,
        day_starts=day_starts,
        tail_seconds=tail_seconds,
        tolerance_m=tolerance,
        key_file=key_file,
        chunk_rows=chunk_rows,
        engine=engine,
        scheduler=scheduler,
        n_workers=workers,
        quarantine_raw=quarantine_raw,
    )
    typer.echo(result.summary())
    typer.echo(f"wrote {out}")
