"""`rct schema`: the columns each input holds (from the readers' own alias tables)."""

from __future__ import annotations

import typer

_KINDS = ("patrols", "pings", "crimes", "hotspots", "harm")


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""

    @app.command("schema")
    def schema(
        kind: str = typer.Argument(..., metavar="patrols|pings|crimes|hotspots|harm",
                                   help="The input to describe."),
        as_json: bool = typer.Option(False, "--json", help="Print it as JSON."),
    ) -> None:
        """Print an input's columns: names, types, whether required, aliases accepted, example.

        The aliases are the readers' own tables, so what this prints is what
        `rct ingest` accepts. Headers it does not list are mapped with
        --columns FILE (or [columns] in trial.toml).

        \b
        Example:
          rct schema patrols
        """
        from rct.io.columns import schema as describe

        if kind not in _KINDS:
            raise ValueError(f"rct schema: {kind!r} is not one of {', '.join(_KINDS)}")
        s = describe(kind)
        if as_json:
            import json

            typer.echo(json.dumps(s.to_dict(), indent=2))
        else:
            typer.echo(s.text())
