"""`rct ingest crimes`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import (
    columns_option,
    dayfirst_option,
    db_option,
    force_option,
    line_buffer_option,
    max_quarantined_option,
    quarantine_raw_option,
    query_option,
    ranged,
    sheet_option,
    xlsx_option,
)
from rct.cli.ingest import app


@app.command("crimes")
def crimes(
    files: list[Path] | None = typer.Argument(
        None, metavar="CRIMES...",
        help="Crime files: a force extract (CSV, Parquet, Excel .xlsx) or police.uk street "
        "CSVs; or --db/--query."),
    hotspots: Path = typer.Option(..., "--hotspots", metavar="FILE",
                                  help="Hot spots (GeoJSON, GeoPackage, Shapefile, CSV, .xlsx)."),
    harm: str = typer.Option("cchi", "--harm", metavar="TABLE",
                             help="Harm index: cchi | cchi-subgroup | ons | a CSV or .xlsx file."),
    out: Path = typer.Option(..., "--out", metavar="FILE", help="Output table (.parquet or .csv)."),
    buffer: float = ranged(0.0, "--buffer", metavar="METRES", help="Buffer around each hot spot.",
                           lo=0.0, hi=1000.0, unit="metres"),
    catchment: float | None = ranged(None, "--catchment", metavar="METRES",
                                     help="Width of the displacement catchment ring.",
                                     lo=0.0, hi=5000.0, lo_open=True, unit="metres"),
    day_starts: str = typer.Option("06:00", "--day-starts", metavar="HH:MM",
                                   help="Trial-day boundary, local time."),
    period: str | None = typer.Option(None, "--period", metavar="day|month",
                                      help="day | month (default: month when crimes have no times)."),
    start: str | None = typer.Option(None, "--start", metavar="DATE",
                                     help="First trial day (YYYY-MM-DD) or month (YYYY-MM)."),
    end: str | None = typer.Option(None, "--end", metavar="DATE",
                                   help="Last trial day or month (inclusive; not before --start)."),
    police_force: str = typer.Option("Thames Valley", "--police-force", metavar="NAME",
                                     help="Police force for force-specific harm weights."),
    kind: str = typer.Option("auto", "--kind", metavar="auto|police_uk|extract",
                             help="auto | police_uk | extract."),
    crime_types: list[str] | None = typer.Option(
        None, "--crime-types", metavar="TYPES",
        help="Count only these crime types (police.uk category, Home "
        "Office subgroup, offence or code; repeat or separate with commas); the trial file's "
        "[analysis] crime_types must match."),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "every column, including free text such as police.uk 'Context' or an extract's "
        "descriptions"),
    force: bool = force_option(),
    columns: Path | None = columns_option(),
    dayfirst: bool | None = dayfirst_option(),
    sheet: str | None = sheet_option(),
    db: str | None = db_option("crime records"),
    query: str | None = query_option(),
    line_buffer: float | None = line_buffer_option(),
    xlsx: Path | None = xlsx_option("the outcomes table"),
) -> None:
    """Count crimes and harm per hot spot and trial day (or month), with catchments.

    Reads force extracts (columns mapped with --columns; see `rct schema
    crimes`), police.uk street CSVs, Excel sheets or a database query; bad
    rows go to <out>.quarantine.csv with a reason, and <out>.manifest.json
    records every input's SHA-256 and the counts.

    \b
    Example:
      rct ingest crimes extract.csv --hotspots hotspots.geojson --harm cchi \\
        --start 2021-09-06 --end 2022-09-05 --out out/outcomes.parquet
    """
    from rct.cli._common import shown
    from rct.cli._inputs import check_xlsx, column_map, inputs
    from rct.ingest.outcomes import ingest_crimes
    from rct.io.sources import Input

    if period is not None and period not in ("day", "month"):
        raise typer.BadParameter(f"--period must be one of day, month; got {period!r}")
    sources = inputs("crimes", files, columns=columns, dayfirst=dayfirst, sheet=sheet, db=db,
                     query=query, what="crime files")
    cmap = column_map(columns)
    spots = Input(path=hotspots, columns=cmap.for_kind("hotspots"), line_buffer_m=line_buffer)
    check_xlsx(xlsx, force)
    counts = ingest_crimes(
        sources, hotspots=spots, out=out, harm=harm, police_force=police_force,
        kind=kind, buffer_m=buffer, catchment_m=catchment, day_starts=day_starts, period=period,
        start=start, end=end, max_quarantined=max_quarantined, quarantine_raw=quarantine_raw,
        force=force,
        crime_types=[t.strip() for c in crime_types or [] for t in c.split(",") if t.strip()]
        or None,
    )
    typer.echo(
        f"wrote {shown(out)}: {counts['rows_out']:,} rows ({counts['period']}); crimes read "
        f"{counts['rows_read']:,}, quarantined {counts['rows_quarantined']:,}, in hot spots "
        f"{counts['in_hotspots']:,}, outside window {counts['outside_window']:,}"
    )
    if xlsx is not None:
        from rct.io.workbooks import dosage_workbook

        dosage_workbook(out, xlsx, sheet="outcomes", force=force)
        typer.echo(f"wrote {shown(xlsx)}")

