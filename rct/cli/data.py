"""`rct data`: where the bundled data are (police.uk Thames Valley months, harm tables)."""

from __future__ import annotations

import typer

_WHAT = {"police-uk": "data/police_uk", "harm": "data/harm", "sources": "data/SOURCES.md"}


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""

    @app.command("data")
    def data(
        what: str = typer.Argument("police-uk", help="police-uk | harm | sources"),
    ) -> None:
        """Print the folder (or file) of the bundled data, for use in other commands.

        \b
        Example:
          rct hotspots build "$(rct data police-uk)"/*.csv.gz --top 45 \\
            --out hotspots.geojson
        """
        from importlib.resources import files

        if what not in _WHAT:
            raise ValueError(f"rct data: {what!r} is not one of {', '.join(_WHAT)}")
        typer.echo(str(files("rct").joinpath(_WHAT[what])))
