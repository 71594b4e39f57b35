"""`rct evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import ranged


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""

    @app.command("evaluate")
    def evaluate(
        trial: Path = typer.Argument(..., help="The trial file (trial.toml)."),
        out: Path | None = typer.Option(None, "--out", help="results.json path (default: [files] results)."),
        draws: int | None = ranged(None, "--draws", metavar="N", help="Randomisation-inference draws (default: [analysis] ri_draws).", lo=100, hi=1_000_000, integer=True),
        force: bool = typer.Option(False, "--force", help="Replace existing results (refused "
                                   "otherwise; results.json, its CSV and manifest are one unit)."),
        xlsx: Path | None = typer.Option(
            None, "--xlsx", metavar="FILE",
            help="Also write the results (headline and tidy table) as an Excel workbook "
            "(.xlsx); an existing one is refused unless --force, like results.json."),
    ) -> None:
        """Run the analysis plan: the pre-registered test and the rest; write results.json + CSV.

        \b
        Example:
          rct evaluate trial.toml --xlsx out/results.xlsx
          (prints the headline first)
        """
        from rct.cli._common import shown
        from rct.plan.evaluate import evaluate_trial_files

        if xlsx is not None:
            from rct.io.atomic import check_overwrite

            check_overwrite([xlsx], force=force)  # before the work, like results.json
        json_path, csv_path, summary = evaluate_trial_files(trial, out=out, ri_draws=draws, force=force)
        typer.echo(summary)
        typer.echo(f"wrote {shown(json_path)} and {shown(csv_path)}")
        if xlsx is not None:
            from rct.io.workbooks import results_workbook

            results_workbook(csv_path, xlsx, summary=summary, force=True)
            typer.echo(f"wrote {shown(xlsx)}")
