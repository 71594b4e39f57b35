"""`rct hotspots ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import (
    columns_option,
    dayfirst_option,
    db_option,
    force_option,
    max_quarantined_option,
    quarantine_raw_option,
    query_option,
    ranged,
    sheet_option,
)

app = typer.Typer(help="Choose hot spots: the hexagonal cells with the most crime or harm.\n\n"
                  "Example: rct hotspots build \"$(rct data police-uk)\"/*.csv.gz --top 45 "
                  "--out hotspots.geojson", no_args_is_help=True)


@app.command("build")
def build(
    crimes: list[Path] | None = typer.Argument(
        None, metavar="CRIMES...", help="Crime files: police.uk street CSVs (.csv/.csv.gz) or "
        "force extracts (CSV, Parquet, Excel .xlsx); or --db/--query."
    ),
    out: Path = typer.Option(..., "--out", metavar="FILE",
                             help="Hot spots to write: .geojson (WGS84), .gpkg or .shp "
                             "(British National Grid)."),
    cell: float = ranged(150.0, "--cell", help="Hexagon size across flats.", lo=10.0, hi=5000.0,
                         unit="metres"),
    top: int | None = ranged(None, "--top", help="Number of cells to choose.", lo=1, hi=100_000,
                             integer=True),
    share_of_harm: float | None = ranged(
        None, "--share-of-harm", help="Instead of --top: smallest set of cells holding this share "
        "of harm.", lo=0.0, hi=1.0, lo_open=True,
    ),
    rank_by: str | None = typer.Option(
        None, metavar="count|harm",
        help="count or harm (default: harm with --share-of-harm, else count)."
    ),
    crime_types: list[str] | None = typer.Option(
        None,
        "--crime-types", metavar="TYPES",
        help="police.uk categories to keep; repeat the option or separate with commas.",
    ),
    harm: str | None = typer.Option(
        None, metavar="TABLE",
        help="Harm table: cchi, cchi-subgroup, ons or a CSV/.xlsx (offence_code/category, "
        "weight)."
    ),
    police_force: str = typer.Option(
        "Thames Valley", "--police-force", metavar="NAME",
        help="Police force for the cchi category table."
    ),
    min_separation: float = ranged(
        0.0, "--min-separation", help="Minimum distance between the centres of chosen cells.",
        lo=0.0, hi=50_000.0, unit="metres",
    ),
    merge_touching: bool = typer.Option(
        False, "--merge-touching", help="Merge chosen cells that share an edge."
    ),
    orientation: str = typer.Option("pointy", metavar="pointy|flat",
                                    help="Hexagons: pointy or flat topped."),
    kind: str = typer.Option("auto", metavar="auto|police_uk|extract",
                             help="Crime file kind: auto, police_uk or extract."),
    stability: bool = typer.Option(
        False, "--stability", help="Also compare the top cells of the first and second half."
    ),
    summary_out: Path | None = typer.Option(
        None, "--summary-out", metavar="FILE", help="Also write the summary table as CSV."
    ),
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "every column of the crime rows, including free text such as police.uk 'Context'"
    ),
    force: bool = force_option(),
    windows: str | None = typer.Option(
        None, "--windows", metavar="LIST", help="Rank per time window (shift), e.g. "
        "day=06:00-18:00,night=18:00-06:00; needs crime times. Each unit is place-window."),
    day_starts: str = typer.Option(
        "06:00", "--day-starts", metavar="HH:MM", help="Trial-day boundary (local HH:MM) the windows belong to."),
    sites: str | None = typer.Option(
        None, "--sites", metavar="COLUMN", help="Rank within each site: a column of the crimes (e.g. "
        "falls_within); the hot spots get a site column."),
    columns: Path | None = columns_option(),
    dayfirst: bool | None = dayfirst_option(),
    sheet: str | None = sheet_option(),
    db: str | None = db_option("crime records"),
    query: str | None = query_option(),
) -> None:
    """Choose the hexagonal cells with the most crime (or harm); write them for GIS and the app.

    Writes GeoJSON, GeoPackage or Shapefile (by the --out suffix) with
    <out>.manifest.json; crimes that cannot be used go to
    <out>.quarantine.csv with a reason.

    \b
    Example:
      rct hotspots build data/*.csv.gz \\
        --crime-types "Violence and sexual offences" --cell 150 --top 45 \\
        --min-separation 300 --out hotspots.geojson
    """
    import warnings

    from rct.cli._common import shown
    from rct.cli._inputs import inputs
    from rct.errors import RCTError, RCTWarning
    from rct.hotspots import build_hotspots
    from rct.hotspots import stability as stability_check
    from rct.io.atomic import OutputUnit, check_overwrite, write_table
    from rct.io.crimes import _expand_paths, read_crimes
    from rct.io.hotspots import GIS_SUFFIXES, hotspots_files
    from rct.io.quarantine import enforce_share, quarantine_path

    if out.suffix.lower() not in GIS_SUFFIXES:
        raise typer.BadParameter(f"--out must end in one of {', '.join(GIS_SUFFIXES)}; got "
                                 f"{out.name!r}")
    sidecars = {s: out.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg")} \
        if out.suffix.lower() == ".shp" else {}
    # the one overwrite rule, checked before any work: the hot spots, their quarantine and
    # manifest (one unit), and the summary table
    unit = OutputUnit(out, companions={"quarantine": quarantine_path(out), **sidecars},
                      force=force, command="rct hotspots build")
    unit.check()
    if summary_out is not None:
        check_overwrite([summary_out], force=force)
    sources = inputs("crimes", crimes, columns=columns, dayfirst=dayfirst, sheet=sheet, db=db,
                     query=query, what="crime files")
    read = read_crimes(sources, kind=kind, quarantine_raw=quarantine_raw)
    typer.echo(read.summary())
    enforce_share(read.n_read, read.n_quarantined, read.reasons() if read.n_quarantined else {},
                  limit=max_quarantined, source=read.source, what="crime rows")
    options = dict(
        cell=cell, top=top, share_of_harm=share_of_harm, rank_by=rank_by,
        crime_types=crime_types or None, harm=harm, force=police_force,
        min_separation=min_separation, orientation=orientation,
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RCTWarning)
            result = build_hotspots(read.data, merge_touching=merge_touching, windows=windows,
                                    day_starts=day_starts, site_column=sites, **options)
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
    for target, data in hotspots_files(result.hotspots, out).items():
        role = "output" if target == out else target.suffix
        unit.add_bytes(role, data, rows=len(result.hotspots) if role == "output" else None)
    if read.n_quarantined:
        unit.add_table("quarantine", read.quarantine)
    unit.commit(
        counts={"read": read.n_read, "accepted": read.n_accepted,
                "quarantined": read.n_quarantined},
        inputs=_expand_paths(sources),
        parameters={k: v for k, v in options.items() if k != "force"} | {
            "police_force": police_force, "merge_touching": merge_touching, "kind": kind}
        | ({"windows": result.params.get("windows"), "day_starts": day_starts}
           if windows else {}) | ({"sites": sites} if sites else {}),
    )
    if read.n_quarantined:
        typer.echo(f"quarantined rows written to {shown(quarantine_path(out))}")
    if summary_out is not None:
        write_table(result.summary(), summary_out)
    typer.echo(result.headline())
    typer.echo(result.summary_text())
    if result.harm_table is not None:
        typer.echo(f"harm: {result.harm_table.source}. Cite: {result.harm_table.citation}")
    if stab is not None:
        typer.echo("stability (first half -> second half):")
        typer.echo(stab.summary())
    typer.echo(f"wrote {len(result.hotspots)} hot spots to {shown(out)}")
