"""`rct report design|monitor|evaluation trial.toml --out report.html`.

Only typer and the standard library are imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rct.cli._options import ranged

app = typer.Typer(
    help="Self-contained HTML reports: design (pre-registration), monitoring, evaluation.\n\n"
    "Example: rct report evaluation trial.toml --out evaluation_report.html",
    no_args_is_help=True,
)

_TRIAL = typer.Argument(..., help="The trial file (trial.toml).")


def _out_option(kind: str) -> Any:
    """The ``--out`` option of a ``kind`` report; its default is :func:`_out`'s."""
    return typer.Option(
        None, "--out", help=f"HTML file (default: {kind}_report.html beside the trial file)."
    )


def _out(trial: Path, out: Path | None, kind: str) -> Path:
    return out if out is not None else trial.parent / f"{kind}_report.html"


_FORCE = typer.Option(False, "--force", help="Replace an existing report (refused otherwise).")


def _check(trial: Path, out: Path | None, kind: str, force: bool) -> Path:
    """The report's path, refused up front (before the work) if it exists and not ``force``."""
    from rct.io.atomic import check_overwrite

    path = _out(trial, out, kind)
    check_overwrite([path], force=force)
    return path


def _done(report, out: Path) -> None:  # noqa: ANN001 - a rct.reports.sections.Report
    path = report.write(out)
    typer.echo(f"wrote {path}")
    for section, reasons in report.unavailable.items():
        for why in reasons:
            typer.echo(f"  {section}: not available: {why}")


@app.command("design")
def design(
    trial: Path = _TRIAL,
    out: Path | None = _out_option("design"),
    force: bool = _FORCE,
    rate: float | None = ranged(None, "--rate", metavar="RATE", help="Crimes per hot-spot-day for power; "
                                "overrides [power] rate (default: the plan's, else "
                                "calibrated on the baseline outcomes).", lo=0, hi=1000, lo_open=True),
    dispersion: float | None = ranged(None, "--dispersion", help="Day-level "
                                      "overdispersion φ; overrides [power] dispersion.", lo=0, hi=100),
    heterogeneity: float | None = ranged(None, "--heterogeneity", help="Between-hot-spot "
                                         "heterogeneity τ²; overrides [power] "
                                         "heterogeneity.", lo=0, hi=100),
    power: float | None = ranged(None, "--power", help="Target power for the detectable "
                                 "effect; overrides [power] power.", lo=0, hi=0.999, lo_open=True),
) -> None:
    """Design report for pre-registration: plan SHA-256, map, allocation, balance, power.

    Power uses the plan's [power] assumptions; --rate, --dispersion,
    --heterogeneity and --power override them, and the report names each
    override (the registered plan is not changed).

    \b
    Example:
      rct report design trial.toml --out design_report.html
    """
    from rct.reports.design import design_report

    target = _check(trial, out, "design", force)
    _done(design_report(trial, rate=rate, dispersion=dispersion, heterogeneity=heterogeneity,
                        power=power), target)


@app.command("monitor")
def monitor(
    trial: Path = _TRIAL,
    out: Path | None = _out_option("monitor"),
    force: bool = _FORCE,
    as_of: str | None = typer.Option(None, "--as-of", help="Last day to include, YYYY-MM-DD "
                                     "(default: last day with patrols)."),
) -> None:
    """Monitoring report: weekly dosage, presence vs baseline, compliance, dwell, laggards.

    \b
    Example:
      rct report monitor trial.toml --as-of 2021-10-31
    """
    from rct.reports.monitor import monitor_report

    target = _check(trial, out, "monitor", force)
    _done(monitor_report(trial, as_of=as_of), target)


@app.command("evaluation")
def evaluation(
    trial: Path = _TRIAL,
    out: Path | None = _out_option("evaluation"),
    force: bool = _FORCE,
    results: Path | None = typer.Option(None, "--results", help="results.json to report "
                                        "(default: [files] results; evaluated now if missing)."),
    allow_stale: bool = typer.Option(False, "--allow-stale", help="Report results whose inputs "
                                     "or plan differ from the files now on disk, under a red "
                                     "warning (default: refuse, exit 2)."),
) -> None:
    """Evaluation report, ordered as a journal paper: summary, flow, results, limitations.

    Refuses (exit 2) when an input the results were computed from has changed
    since `rct evaluate` read it, naming the file, unless --allow-stale.

    \b
    Example:
      rct report evaluation trial.toml --out evaluation_report.html
    """
    from rct.reports.evaluation import evaluation_report

    target = _check(trial, out, "evaluation", force)
    _done(evaluation_report(trial, results=results, allow_stale=allow_stale), target)
