"""`rct ingest crimes`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import force_option, max_quarantined_option, quarantine_raw_option, ranged
from rct.cli.ingest import app


@app.command("crimes")
def crimes(
    files: list[Path] = typer.Argument(..., help="Crime files (force extract CSV/Parquet or police.uk street CSVs)."),
    hotspots: Path = typer.Option(..., "--hotspots", help="Hot spots (GeoJSON, GeoPackage, Shapefile, CSV)."),
    harm: str = typer.Option("cchi", "--harm", help="Harm index: cchi | cchi-subgroup | ons | path to a CSV."),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet or .csv)."),
    buffer: float = ranged(0.0, "--buffer", help="Buffer around each hot spot.", lo=0.0, hi=1000.0,
                           unit="metres"),
    catchment: float | None = ranged(None, "--catchment", help="Width of the displacement catchment ring.",
                                     lo=0.0, hi=5000.0, lo_open=True, unit="metres"),
    day_starts: str = typer.Option("06:00", "--day-starts", help="Trial-day boundary, local time HH:MM."),
    period: str | None = typer.Option(None, "--period", help="day | month (default: month when crimes have no times)."),
    start: str | None = typer.Option(None, "--start", help="First trial day (YYYY-MM-DD) or month (YYYY-MM)."),
    end: str | None = typer.Option(None, "--end", help="Last trial day or month (inclusive; not before --start)."),
    police_force: str = typer.Option("Thames Valley", "--police-force", help="Police force for force-specific harm weights."),
    kind: str = typer.Option("auto", "--kind", help="auto | police_uk | extract."),
    crime_types: list[str] | None = typer.Option(
        None, "--crime-types", help="Count only these crime types (police.uk category, Home "
        "Office subgroup, offence or code; repeat or separate with commas); the trial file's "
        "[analysis] crime_types must match."),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "every column, including free text such as police.uk 'Context' or an extract's "
        "descriptions"),
    force: bool = force_option(),
) -> None:
    """Count crimes and harm per hot spot and trial day (or month), with catchments."""
    from rct.evaluate.outcomes import ingest_crimes

    if period is not None and period not in ("day", "month"):
        raise typer.BadParameter(f"--period must be one of day, month; got {period!r}")
    counts = ingest_crimes(
        files, hotspots=hotspots, out=out, harm=harm, police_force=police_force, kind=kind,
        buffer_m=buffer, catchment_m=catchment, day_starts=day_starts, period=period, start=start,
        end=end, max_quarantined=max_quarantined, quarantine_raw=quarantine_raw, force=force,
        crime_types=[t.strip() for c in crime_types or [] for t in c.split(",") if t.strip()]
        or None,
    )
    typer.echo(
        f"wrote {out}: {counts['rows_out']:,} rows ({counts['period']}); crimes read "
        f"{counts['rows_read']:,}, quarantined {counts['rows_quarantined']:,}, in hot spots "
        f"{counts['in_hotspots']:,}, outside window {counts['outside_window']:,}"
    )
