"""`rct hotspots ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Build hot spots from crime data.", no_args_is_help=True)


@app.command("build")
def build(
    crimes: list[Path] = typer.Argument(
        ..., metavar="CRIMES", help="Crime files: police.uk street CSVs (.csv/.csv.gz) or force extracts."
    ),
    out: Path = typer.Option(..., "--out", help="Hot-spot GeoJSON to write (WGS84)."),
    cell: float = typer.Option(150.0, help="Hexagon size in metres across flats."),
    top: int | None = typer.Option(None, help="Number of cells to choose."),
    share_of_harm: float | None = typer.Option(
        None, help="Instead of --top: smallest set of cells holding this share (0-1] of harm."
    ),
    rank_by: str | None = typer.Option(
        None, help="count or harm (default: harm with --share-of-harm, else count)."
    ),
    crime_types: list[str] | None = typer.Option(
        None,
        "--crime-types",
        help="police.uk categories to keep; repeat the option or separate with commas.",
    ),
    harm: str | None = typer.Option(
        None, help="Harm table: cchi, cchi-subgroup, ons or a CSV (offence_code/category, weight)."
    ),
    force: str = typer.Option("Thames Valley", help="Force for the cchi category table."),
    min_separation: float = typer.Option(
        0.0, help="Minimum distance (m) between the centres of chosen cells."
    ),
    merge_touching: bool = typer.Option(
        False, "--merge-touching", help="Merge chosen cells that share an edge."
    ),
    orientation: str = typer.Option("pointy", help="Hexagons: pointy or flat topped."),
    kind: str = typer.Option("auto", help="Crime file kind: auto, police_uk or extract."),
    stability: bool = typer.Option(
        False, "--stability", help="Also compare the top cells of the first and second half."
    ),
    summary_out: Path | None = typer.Option(
        None, "--summary-out", help="Also write the summary table as CSV."
    ),
) -> None:
    """Choose the hexagonal cells with the most crime (or harm) and write them as GeoJSON.

    Example: rct hotspots build data/*.csv.gz --crime-types "Violence and sexual offences"
    --cell 150 --top 45 --min-separation 300 --out hotspots.geojson
    """
    import warnings

    from rct.errors import RCTError, RCTWarning
    from rct.hotspots import build_hotspots
    from rct.hotspots import stability as stability_check
    from rct.io.atomic import write_table
    from rct.io.crimes import read_crimes
    from rct.io.hotspots import write_hotspots
    from rct.io.quarantine import quarantine_path

    read = read_crimes(crimes, kind=kind)
    typer.echo(read.summary())
    if read.n_quarantined:
        qpath = write_table(read.quarantine, quarantine_path(out))
        typer.echo(f"quarantined rows written to {qpath}")
    options = dict(
        cell=cell, top=top, share_of_harm=share_of_harm, rank_by=rank_by,
        crime_types=crime_types or None, harm=harm, force=force,
        min_separation=min_separation, orientation=orientation,
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RCTWarning)
            result = build_hotspots(read.data, merge_touching=merge_touching, **options)
            stab = stability_check(read.data, split="half", **options) if stability else None
    except RCTError:
        raise
    except ValueError as exc:  # an invalid option value: a usage error, exit code 2
        raise typer.BadParameter(str(exc)) from None
    for w in caught:
        if issubclass(w.category, RCTWarning):
            typer.echo(f"rct: warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    write_hotspots(result.hotspots, out)
    if summary_out is not None:
        write_table(result.summary(), summary_out)
    typer.echo(result.headline())
    typer.echo(result.summary_text())
    if result.harm_table is not None:
        typer.echo(f"harm: {result.harm_table.source}. Cite: {result.harm_table.citation}")
    if stab is not None:
        typer.echo("stability (first half -> second half):")
        typer.echo(stab.summary())
    typer.echo(f"wrote {len(result.hotspots)} hot spots to {out}")
