"""`rct ingest airwave`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import (
    chunk_rows_option,
    columns_option,
    dayfirst_option,
    force_option,
    line_buffer_option,
    max_quarantined_option,
    quarantine_raw_option,
    ranged,
    xlsx_option,
)
from rct.cli.ingest import app


@app.command("airwave")
def airwave(
    pings: list[Path] = typer.Argument(..., metavar="PINGS...",
                                       help="Ping files (CSV/Parquet), globs or directories."),
    hotspots: Path = typer.Option(
        ..., "--hotspots", metavar="FILE", help="Hot-spot file (GeoJSON, GPKG, SHP, CSV, .xlsx)."
    ),
    out: Path = typer.Option(..., "--out", metavar="FILE", help="Output table (.parquet or .csv)."),
    buffer: float = ranged(25.0, "--buffer", metavar="METRES", help="Buffer around hot spots.",
                           lo=0.0, hi=1000.0, unit="metres"),
    gap_minutes: float = ranged(5.0, "--gap-minutes", metavar="MINUTES",
                                help="Gap that starts a new visit.", lo=0.0, hi=1440.0,
                                unit="minutes"),
    day_starts: str = typer.Option("06:00", "--day-starts", metavar="HH:MM",
                                   help="Trial-day boundary, local time."),
    tail_seconds: float = ranged(
        0.0, "--tail-seconds", metavar="SECONDS", help="Seconds added to the end of each visit.",
        lo=0.0, hi=3600.0, unit="seconds",
    ),
    tolerance: float = ranged(
        50.0, "--tolerance", metavar="METRES",
        help="Metres apart for 'radio in two places at once'.", lo=0.0, hi=100_000.0,
        unit="metres",
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", metavar="FILE", help="Pseudonym key file (kept outside the outputs)."
    ),
    chunk_rows: int = chunk_rows_option(1_000_000),
    engine: str = typer.Option("default", "--engine", metavar="default|dask",
                               help="default | dask"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="Dask scheduler address (default: a local cluster)."
    ),
    workers: int = ranged(2, "--workers", metavar="N", help="Workers of the local Dask cluster.",
                          lo=1, hi=256, integer=True),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option("raw radio IDs (not pseudonyms)"),
    force: bool = force_option(),
    columns: Path | None = columns_option(),
    dayfirst: bool | None = dayfirst_option(),
    line_buffer: float | None = line_buffer_option(),
    xlsx: Path | None = xlsx_option("the presence table"),
) -> None:
    """Airwave radio presence per hot spot and trial day: pings, radios, presence minutes, visits.

    Radio IDs are replaced by keyed-hash pseudonyms; bad pings go to
    <out>.quarantine.csv with a reason. Headers other than the accepted
    ones are mapped with --columns (see `rct schema pings`).

    \b
    Example:
      rct ingest airwave "pings/*.parquet" --hotspots hotspots.geojson \\
        --buffer 25 --out out/airwave_presence.parquet
    """
    from rct.cli._common import shown
    from rct.cli._inputs import check_xlsx, column_map
    from rct.dosage.airwave import ingest_airwave
    from rct.io.sources import Input

    cmap = column_map(columns)
    mapping = cmap.for_kind("pings")
    order = cmap.dayfirst if dayfirst is None else dayfirst
    check_xlsx(xlsx, force)
    result = ingest_airwave(
        [Input(path=p, columns=mapping, dayfirst=order) if (mapping or order is not None)
         else str(p) for p in pings],
        Input(path=hotspots, columns=cmap.for_kind("hotspots"), line_buffer_m=line_buffer),
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
    typer.echo(f"wrote {shown(out)}")
    if xlsx is not None:
        from rct.io.workbooks import dosage_workbook

        dosage_workbook(result.table, xlsx, sheet="presence", force=force)
        typer.echo(f"wrote {shown(xlsx)}")
