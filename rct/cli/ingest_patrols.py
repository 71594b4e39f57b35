"""`rct ingest patrols`."""

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


@app.command("patrols")
def patrols(
    logs: list[Path] = typer.Argument(
        ..., help="Patrol log file(s) from the app (CSV or Parquet)."
    ),
    hotspots: Path = typer.Option(..., "--hotspots", help="Hot-spots file (ids checked)."),
    out: Path = typer.Option(
        Path("patrol_dosage.parquet"), "--out", help="Output table (.parquet or .csv)."
    ),
    day_starts: str = typer.Option(
        "06:00", "--day-starts", help="Trial-day boundary, HH:MM local."
    ),
    trial_start: str = typer.Option(None, "--trial-start", help="First trial day, YYYY-MM-DD."),
    trial_end: str = typer.Option(
        None, "--trial-end", help="Last trial day, YYYY-MM-DD (not before --trial-start)."
    ),
    max_visit_hours: float = ranged(
        4.0, "--max-visit-hours", help="Quarantine visits longer than this.", lo=0.0, hi=48.0,
        lo_open=True, unit="hours",
    ),
    key_file: Path = typer.Option(
        None,
        "--key-file",
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
        "--nonexistent",
        help="Times in the hour the clocks skip in March: quarantine (default: the patrol "
        "cannot have happened as logged) | shift_forward (to 02:00).",
    ),
    chunk_rows: int = chunk_rows_option(500_000),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "raw officer IDs (not pseudonyms), the notes and every other column"
    ),
    force: bool = force_option(),
) -> None:
    """Patrol logs -> presence, officer, foot/vehicle minutes, visits per hot-spot-day.

    Bad rows go to <out>.quarantine.csv with a reason; officer IDs are
    replaced by keyed-hash pseudonyms; <out>.manifest.json records the
    SHA-256 of every input and output and the counts.
    """
    import warnings

    from rct.dosage.patrols import ingest_patrols
    from rct.errors import QuarantineWarning

    if nonexistent not in ("quarantine", "shift_forward"):
        raise typer.BadParameter(
            f"--nonexistent must be one of quarantine, shift_forward; got {nonexistent!r}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuarantineWarning)  # the summary below says it
        result = ingest_patrols(
            logs,
            hotspots=hotspots,
            out=out,
            day_starts=day_starts,
            trial_start=trial_start,
            trial_end=trial_end,
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
