"""`rct monitor`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("monitor")(monitor)


def monitor(
    trial: Path = typer.Argument(..., help="The trial file (trial.toml)."),
    as_of: str = typer.Option(
        None, "--as-of", help="Last day to include, YYYY-MM-DD (default: last day with patrols)."
    ),
    out_dir: Path = typer.Option(
        None, "--out-dir", metavar="DIR",
        help="Where to write the monitor CSVs (default: [files] out_dir)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace last run's monitoring files "
                               "(refused otherwise; they are one unit with a manifest)."),
    xlsx: Path | None = typer.Option(
        None, "--xlsx", metavar="FILE",
        help="Also write the weekly monitoring tables as one Excel workbook (.xlsx), a sheet "
        "each; an existing workbook is refused unless --force, like the CSVs."),
) -> None:
    """Weekly dosage and compliance while the trial runs, and uplift over baseline.

    Writes monitor_compliance.csv, monitor_weekly.csv, monitor_hotspots.csv,
    monitor_uplift.csv and monitor.json; with interim looks planned ([monitoring]
    sequential), also the sequential analysis of the primary effect
    (monitor_sequential.csv) and per-hot-spot feedback (monitor_feedback.csv).

    \b
    Example:
      rct monitor trial.toml --as-of 2021-10-31 --xlsx out/monitor.xlsx
    """
    import warnings

    from rct.cli._common import shown
    from rct.dosage.monitor import monitor_trial
    from rct.errors import QuarantineWarning
    from rct.plan.monitor import interim_analysis

    if xlsx is not None:
        from rct.io.atomic import check_overwrite

        check_overwrite([xlsx], force=force)  # before the work, like the CSVs
    interim = interim_analysis(trial, as_of=as_of)
    extra = {}
    if interim.status == "done":
        extra["sequential"] = ("monitor_sequential.csv", interim.sequential.tidy())
        if interim.feedback is not None:
            extra["feedback"] = ("monitor_feedback.csv", interim.feedback.tidy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuarantineWarning)  # reported in the notes
        report, written = monitor_trial(trial, as_of=as_of, out_dir=out_dir, force=force,
                                        extra=extra)
    typer.echo(report.summary())
    typer.echo(interim.summary())
    typer.echo("wrote " + ", ".join(shown(Path(p)) for p in written.values()))
    if xlsx is not None:
        from rct.io.workbooks import monitor_workbook

        tables = {str(k): p for k, p in written.items()
                  if Path(p).name.startswith("monitor_")}
        tables = {Path(p).stem.removeprefix("monitor_"): p for p in tables.values()}
        monitor_workbook(tables, xlsx, force=True)
        typer.echo(f"wrote {shown(xlsx)}")
