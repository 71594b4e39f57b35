"""`rct ingest patrols`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import (
    chunk_rows_option,
    columns_option,
    dayfirst_option,
    db_option,
    force_option,
    max_quarantined_option,
    quarantine_raw_option,
    query_option,
    ranged,
    sheet_option,
    xlsx_option,
)
from rct.cli.ingest import app


def _old_date_name(new: str):  # noqa: ANN202 - a click callback
    def warn(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is not None and not ctx.resilient_parsing:
            typer.echo(f"rct: warning: {param.opts[0]} is now {new}; the old name will go",
                       err=True)
        return value

    return warn


@app.command("patrols")
def patrols(
    logs: list[Path] | None = typer.Argument(
        None, metavar="LOGS...",
        help="Patrol log file(s) from the app: CSV, Parquet or Excel .xlsx (or --db/--query)."
    ),
    hotspots: Path = typer.Option(..., "--hotspots", metavar="FILE",
                                  help="Hot-spots file (ids checked)."),
    out: Path = typer.Option(..., "--out", metavar="FILE",
                             help="Output table (.parquet or .csv)."),
    day_starts: str = typer.Option(
        "06:00", "--day-starts", metavar="HH:MM", help="Trial-day boundary, local time."
    ),
    start: str = typer.Option(None, "--start", metavar="DATE",
                              help="First trial day, YYYY-MM-DD."),
    end: str = typer.Option(
        None, "--end", metavar="DATE", help="Last trial day, YYYY-MM-DD (not before --start)."
    ),
    max_visit_hours: float = ranged(
        4.0, "--max-visit-hours", metavar="HOURS", help="Quarantine visits longer than this.",
        lo=0.0, hi=48.0, lo_open=True, unit="hours",
    ),
    key_file: Path = typer.Option(
        None,
        "--key-file", metavar="FILE",
        help="Pseudonym key file (default: $RCT_PSEUDONYM_KEY, or a key generated under "
        "~/.config/hotspot-rct/). Must be outside the output's directory.",
    ),
    include_notes: bool = typer.Option(
        False,
        "--include-notes",
        help="Copy the free-text notes column into the quarantine file (off: may hold "
        "personal data).",
    ),
    nonexistent: str = typer.Option(
        "quarantine",
        "--nonexistent", metavar="quarantine|shift_forward",
        help="Times in the hour the clocks skip in March: quarantine (default: the patrol "
        "cannot have happened as logged) | shift_forward (to 02:00).",
    ),
    chunk_rows: int = chunk_rows_option(500_000),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "raw officer IDs (not pseudonyms), the notes and every other column"
    ),
    force: bool = force_option(),
    columns: Path | None = columns_option(),
    dayfirst: bool | None = dayfirst_option(),
    sheet: str | None = sheet_option(),
    db: str | None = db_option("patrol logs"),
    query: str | None = query_option(),
    xlsx: Path | None = xlsx_option("the dosage table"),
    trial_start: str = typer.Option(None, "--trial-start", hidden=True,
                                    callback=_old_date_name("--start")),
    trial_end: str = typer.Option(None, "--trial-end", hidden=True,
                                  callback=_old_date_name("--end")),
) -> None:
    """Patrol logs -> presence, officer, foot/vehicle minutes and visits per hot-spot-day.

    Bad rows go to <out>.quarantine.csv with a reason; officer IDs are
    replaced by keyed-hash pseudonyms; <out>.manifest.json records the
    SHA-256 of every input (a query: the database without its password, the
    SQL and the rows' SHA-256) and output, and the counts. Columns the app
    names differently are mapped with --columns (see `rct schema patrols`);
    UK dates (06/09/2021 06:07) are read day-first when the file shows it.

    \b
    Example:
      rct ingest patrols logs.csv --hotspots hotspots.geojson \\
        --start 2021-09-06 --end 2022-09-05 --out out/patrol_dosage.parquet
    """
    import warnings

    from rct.cli._common import shown
    from rct.cli._inputs import check_xlsx, inputs
    from rct.dosage.patrols import ingest_patrols
    from rct.errors import QuarantineWarning

    if nonexistent not in ("quarantine", "shift_forward"):
        raise typer.BadParameter(
            f"--nonexistent must be one of quarantine, shift_forward; got {nonexistent!r}"
        )
    if trial_start is not None and start is not None or trial_end is not None and end is not None:
        raise typer.BadParameter("give --start/--end (not also --trial-start/--trial-end)")
    start = start if start is not None else trial_start
    end = end if end is not None else trial_end
    sources = inputs("patrols", logs, columns=columns, dayfirst=dayfirst, sheet=sheet, db=db,
                     query=query, what="patrol log files")
    check_xlsx(xlsx, force)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuarantineWarning)  # the summary below says it
        result = ingest_patrols(
            sources,
            hotspots=hotspots,
            out=out,
            day_starts=day_starts,
            trial_start=start,
            trial_end=end,
            max_visit_hours=max_visit_hours,
            key_file=key_file,
            include_notes=include_notes,
            nonexistent=nonexistent,
            chunk_rows=chunk_rows,
            max_quarantined=max_quarantined,
            quarantine_raw=quarantine_raw,
            force=force,
        )
    typer.echo(result.summary())
    if xlsx is not None:
        from rct.io.workbooks import dosage_workbook

        dosage_workbook(result.dosage, xlsx, force=force)
        typer.echo(f"wrote {shown(xlsx)}")
