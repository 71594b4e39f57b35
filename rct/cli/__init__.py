"""The ``rct`` command line: one command, one library call.

Only :mod:`typer` is imported here; each command imports what it needs
(pandas, statsmodels, matplotlib ...) inside its body so that ``--help``
answers quickly.  Errors a user can cause (:class:`rct.errors.RCTError`)
become a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
import warnings

import typer

from rct.cli import (
    data,
    evaluate,
    hotspots,
    ingest,
    meta,
    monitor,
    plan,
    power,
    randomise,
    report,
    schema,
    simulate,
)
from rct.errors import RCTError

app = typer.Typer(
    name="rct",
    help="Randomised controlled trials of hot-spot policing.\n\n"
    "Example: rct demo --out rct-demo   (the whole pipeline on a synthetic trial); then "
    "`rct COMMAND --help` for each step, listed below in the order a trial uses them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# `rct --help` lists the commands in pipeline order (rct.cli._help.PIPELINE_ORDER)
app.add_typer(hotspots.app, name="hotspots")
app.add_typer(power.app, name="power")
app.add_typer(randomise.app, name="randomise")
plan.register(app)
app.add_typer(ingest.app, name="ingest")
monitor.register(app)
evaluate.register(app)
app.add_typer(report.app, name="report")
simulate.register(app)
meta.register(app)
data.register(app)
schema.register(app)


def _print_version(value: bool) -> None:
    if value:
        from rct._version import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the package version and exit.",
    ),
    allow_outside: bool = typer.Option(
        False,
        "--allow-outside",
        help="Let paths in a trial file (inputs, out_dir, outputs) lie outside the trial "
        "file's folder; refused otherwise. Put it before the command: rct --allow-outside "
        "monitor trial.toml",
    ),
) -> None:
    """Randomised controlled trials of hot-spot policing.

    \b
    Example:
      rct demo --out rct-demo
      (the whole pipeline on a synthetic trial); then `rct COMMAND --help` for each step, listed below in the order a trial uses them.
    """
    from rct.config import ALLOW_OUTSIDE

    ALLOW_OUTSIDE.set(allow_outside)


_COMMAND = None


def command():  # noqa: ANN201 - a click.Group
    """The click command tree, built once, with readable help (:func:`rct.cli._help.polish`)."""
    global _COMMAND
    if _COMMAND is None:
        from rct.cli._help import polish

        _COMMAND = polish(typer.main.get_command(app))
    return _COMMAND


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return its exit code (used by tests and ``entry``)."""
    from rct.config import ALLOW_OUTSIDE

    token = ALLOW_OUTSIDE.set(False)  # each run starts from the default
    try:
        command()(args=argv, prog_name="rct")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (RCTError, ValueError, OSError) as exc:  # bad input, bad choice, unreadable file
        typer.echo(f"rct: error: {exc}", err=True)
        return 2
    finally:
        ALLOW_OUTSIDE.reset(token)
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings as one line on stderr: ``rct: warning: ...`` (no source line)."""
    typer.echo(f"rct: warning: {message}", err=True)


def entry() -> None:  # pragma: no cover - console-script shim
    warnings.showwarning = _show_warning
    sys.exit(main())
