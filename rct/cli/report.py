"""`rct report design|monitor|evaluation trial.toml --out report.html`.

Only typer and the standard library are imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="Self-contained HTML reports: design (pre-registration), monitoring, evaluation.",
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
    rate: float | None = typer.Option(None, "--rate", help="Crimes per hot-spot-day for power "
                                      "(default: calibrated on the baseline outcomes)."),
    power: float = typer.Option(0.8, "--power", help="Target power for the detectable effect."),
) -> None:
    """Design report for pre-registration: map, allocation, balance, power, plan, manifest."""
    from rct.reports.design import design_report

    _done(design_report(trial, rate=rate, power=power), _out(trial, out, "design"))


@app.command("monitor")
def monitor(
    trial: Path = _TRIAL,
    out: Path | None = _out_option("monitor"),
    as_of: str | None = typer.Option(None, "--as-of", help="Last day to include, YYYY-MM-DD "
                                     "(default: last day with patrols)."),
) -> None:
    """Monitoring report: weekly dosage, presence vs baseline, compliance, dwell, laggards."""
    from rct.reports.monitor import monitor_report

    _done(monitor_report(trial, as_of=as_of), _out(trial, out, "monitor"))


@app.command("evaluation")
def evaluation(
    trial: Path = _TRIAL,
    out: Path | None = _out_option("evaluation"),
    results: Path | None = typer.Option(None, "--results", help="results.json to report "
                                        "(default: [files] results; evaluated now if missing)."),
) -> None:
    """Evaluation report: flow, balance, dosage, effects, RI, complier, displacement, appendix."""
    from rct.reports.evaluation import evaluation_report

    _done(evaluation_report(trial, results=results), _out(trial, out, "evaluation"))
