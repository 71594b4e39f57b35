"""`rct ingest patrols`."""

from __future__ import annotations

from pathlib import Path

import typer

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
    trial_end: str = typer.Option(None, "--trial-end", help="Last trial day, YYYY-MM-DD."),
    max_visit_hours: float = typer.Option(
        4.0, "--max-visit-hours", help="Quarantine visits longer than this."
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
        help="Copy the free-text notes column (off: may hold personal data).",
    ),
) -> None:
    """Patrol logs -> presence, officer, foot/vehicle minutes, visits per hot-spot-day.

    Bad rows go to <out>.quarantine.csv with a reason; officer IDs are
    replaced by keyed-hash pseudonyms.
    """
    import warnings

    from rct.dosage.patrols import ingest_patrols
    from rct.errors import QuarantineWarning

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
        )
    typer.echo(result.summary())
