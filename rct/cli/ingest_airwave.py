"""`rct ingest airwave`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli.ingest import app


@app.command("airwave")
def airwave(
    pings: list[Path] = typer.Argument(..., help="Ping files (CSV/Parquet), globs or directories."),
    hotspots: Path = typer.Option(
        ..., "--hotspots", help="Hot-spot file (GeoJSON, GPKG, SHP, CSV)."
    ),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet or .csv)."),
    buffer: float = typer.Option(25.0, "--buffer", help="Buffer around hot spots, metres."),
    gap_minutes: float = typer.Option(5.0, "--gap-minutes", help="Gap that starts a new visit."),
    day_starts: str = typer.Option("06:00", "--day-starts", help="Trial-day boundary (HH:MM)."),
    tail_seconds: float = typer.Option(
        0.0, "--tail-seconds", help="Seconds added to the end of each visit."
    ),
    tolerance: float = typer.Option(
        50.0, "--tolerance", help="Metres apart for 'radio in two places at once'."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="Pseudonym key file (kept outside the outputs)."
    ),
    chunk_rows: int = typer.Option(1_000_000, "--chunk-rows", help="Rows per chunk read."),
    engine: str = typer.Option("default", "--engine", help="default | dask"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: a local cluster)."
    ),
    workers: int = typer.Option(2, "--workers", help="Workers of the local Dask cluster."),
) -> None:
    """Airwave radio presence per hot spot and trial day: pings, radios, presence minutes, visits."""
    from rct.dosage.airwave import ingest_airwave

    result = ingest_airwave(
        [str(p) for p in pings],
        str(hotspots),
        out=out,
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
    )
    typer.echo(result.summary())
    typer.echo(f"wrote {out}")
