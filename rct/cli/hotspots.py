"""`rct hotspots ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import force_option, max_quarantined_option, quarantine_raw_option, ranged

app = typer.Typer(help="Build hot spots from crime data.", no_args_is_help=True)


@app.command("build")
def build(
    crimes: list[Path] = typer.Argument(
        ..., metavar="CRIMES", help="Crime files: police.uk street CSVs (.csv/.csv.gz) or force extracts."
    ),
    out: Path = typer.Option(..., "--out", help="Hot-spot GeoJSON to write (WGS84)."),
    cell: float = ranged(150.0, "--cell", help="Hexagon size across flats.", lo=10.0, hi=5000.0,
                         unit="metres"),
    top: int | None = ranged(None, "--top", help="Number of cells to choose.", lo=1, hi=100_000,
                             integer=True),
    share_of_harm: float | None = ranged(
        None, "--share-of-harm", help="Instead of --top: smallest set of cells holding this share "
        "of harm.", lo=0.0, hi=1.0, lo_open=True,
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
    police_force: str = typer.Option(
        "Thames Valley", "--police-force", help="Police force for the cchi category table."
    ),
    min_separation: float = ranged(
        0.0, "--min-separation", help="Minimum distance between the centres of chosen cells.",
        lo=0.0, hi=50_000.0, unit="metres",
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
    max_quarantined: float = max_quarantined_option(),
    quarantine_raw: bool = quarantine_raw_option(
        "every column of the crime rows, including free text such as police.uk 'Context'"
    ),
    force: bool = force_option(),
    windows: str | None = typer.Option(
        None, "--windows", help="Rank per time window (shift), e.g. "
        "day=06:00-18:00,night=18:00-06:00; needs crime times. Each unit is place-window."),
    day_starts: str = typer.Option(
        "06:00", "--day-starts", help="Trial-day boundary (local HH:MM) the windows belong to."),
    sites: str | None = typer.Option(
        None, "--sites", help="Rank within each site: a column of the crimes (e.g. "
        "falls_within); the hot spots get a site column."),
) -> None:
    """Choose the hexagonal cells with the most crime (or harm) and write them as GeoJSON.

    Example: rct hotspots build data/*.csv.gz --crime-types "Violence and sexual offences"
    --cell 150 --top 45 --min-separation 300 --out hotspots.geojson
    """
    import warnings

    from rct.errors import RCTError, RCTWarning
    from rct.hotspots import build_hotspots
    from rct.hotspots import stability as stability_check
    from rct.io.atomic import OutputUnit, check_overwrite, write_table
    from rct.io.crimes import _expand_paths, read_crimes
    from rct.io.hotspots import hotspots_geojson
    from rct.io.quarantine import enforce_share, quarantine_path

    # the one overwrite rule, checked before any work: the hot spots, their quarantine and
    # manifest (one unit), and the summary table
    unit = OutputUnit(out, companions={"quarantine": quarantine_path(out)}, force=force,
                      command="rct hotspots build")
    unit.check()
    if summary_out is not None:
        check_overwrite([summary_out], force=force)
    read = read_crimes(crimes, kind=kind, quarantine_raw=quarantine_raw)
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
    unit.add_bytes("output", hotspots_geojson(result.hotspots, path=out).encode("utf-8"),
                   rows=len(result.hotspots))
    if read.n_quarantined:
        unit.add_table("quarantine", read.quarantine)
    unit.commit(
        counts={"read": read.n_read, "accepted": read.n_accepted,
                "quarantined": read.n_quarantined},
        inputs=_expand_paths(crimes),
        parameters={k: v for k, v in options.items() if k != "force"} | {
            "police_force": police_force, "merge_touching": merge_touching, "kind": kind}
        | ({"windows": result.params.get("windows"), "day_starts": day_starts}
           if windows else {}) | ({"sites": sites} if sites else {}),
    )
    if read.n_quarantined:
        typer.echo(f"quarantined rows written to {quarantine_path(out)}")
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
