"""`rct plan trial.toml`: resolve, show and register the analysis plan."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""

    @app.command("plan")
    def plan(
        trial: Path = typer.Argument(..., help="The trial file (trial.toml)."),
        out: Path | None = typer.Option(None, "--out", help="plan.json to write (default: "
                                        "[files] plan, i.e. plan.json beside the trial file)."),
        check: bool = typer.Option(False, "--check", help="Only compare with the registered "
                                   "plan.json; write nothing (exit 2 when it differs)."),
        force: bool = typer.Option(False, "--force", help="Replace a different registered "
                                   "plan.json (a published plan should not change)."),
    ) -> None:
        """Show the analysis plan and register it as plan.json; publish its SHA-256.

        \b
        Example:
          rct plan trial.toml
          (then publish the printed SHA-256, which is also what `sha256sum plan.json` prints)
        """
        from rct.cli._common import shown
        from rct.config import load_trial
        from rct.plan.plan import plan_from_trial
        from rct.plan.register import check_registration, register_plan

        t = load_trial(trial)
        p = plan_from_trial(t)
        for label, text in p.describe():
            typer.echo(f"{label}: {text}")
        if check:
            reg = check_registration(p, t)
            typer.echo(f"plan: {reg.message}")
            if reg.status != "registered":
                raise typer.Exit(2)
            return
        p, path = register_plan(t, out=out, force=force)
        typer.echo(f"wrote {shown(path)}")
        typer.echo(f"plan SHA-256 (publish this; = sha256sum {path.name}): {p.sha256}")

