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
        None, "--out-dir", help="Where to write the monitor CSVs (default: [files] out_dir)."
    ),
) -> None:
    """Weekly dosage and compliance while the trial runs, and uplift over baseline.

    Writes monitor_compliance.csv, monitor_weekly.csv, monitor_hotspots.csv,
    monitor_uplift.csv and monitor.json.
    """
    import warnings

    from rct.dosage.monitor import monitor_trial
    from rct.errors import QuarantineWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuarantineWarning)  # reported in the notes
        report, written = monitor_trial(trial, as_of=as_of, out_dir=out_dir)
    from rct.cli._common import shown

    typer.echo(report.summary())
    typer.echo("wrote " + ", ".join(shown(Path(p)) for p in written.values()))
