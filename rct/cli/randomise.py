"""`rct randomise ...` commands: parallel, crossover, verify, balance."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import columns_option, line_buffer_option, ranged, sheet_option

app = typer.Typer(
    help="Randomise hot spots, verify allocations, check balance.\n\n"
    "Example: rct randomise crossover hotspots.geojson --start 2021-09-06 --days 365 "
    "--per-day 22 --seed 20210906 --out schedule.csv",
    no_args_is_help=True)

_FORCE = typer.Option(
    False, "--force", help="Overwrite an existing allocation (refused otherwise: re-drawing rigs trials)."
)


def _ints(text: str | None, sep: str = ",") -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.replace(":", sep).split(sep) if t.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"expected integers separated by '{sep}' or ':', got {text!r}") from exc


def _hotspot_input(hotspots: Path, columns: Path | None, sheet: str | None,
                   line_buffer: float | None = None) -> object:
    """The hot-spot file with the force's column mapping and sheet (a plain path without)."""
    if columns is None and sheet is None and line_buffer is None:
        return hotspots
    from rct.cli._inputs import column_map
    from rct.io.sources import Input

    return Input(path=hotspots, columns=column_map(columns).for_kind("hotspots"), sheet=sheet,
                 line_buffer_m=line_buffer)


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@app.command("parallel")
def parallel_cmd(
    hotspots: Path = typer.Argument(..., help="Hot spots file (hotspot_id + block/covariate columns)."),
    out: Path = typer.Option(..., "--out", help="Allocation CSV to write (+ .manifest.json)."),
    seed: int = ranged(..., "--seed", help="Non-negative integer seed.", lo=0, hi=2**63 - 1, integer=True),
    scheme: str = typer.Option("complete", "--scheme", help="complete | block | pairs | rerandomise"),
    arms: str = typer.Option("control,treatment", "--arms", help="Comma-separated arm names, control first."),
    ratio: str = typer.Option("1:1", "--ratio", help="Integer allocation ratio, e.g. 1:1 or 2:1:1."),
    counts: str = typer.Option(None, "--counts", help="Exact units per arm (complete), e.g. 38,34."),
    block_column: str = typer.Option(None, "--block-column", help="Column holding blocks."),
    blocks_from: str = typer.Option(None, "--blocks-from", help="Form quantile blocks from this column."),
    n_blocks: int = ranged(None, "--n-blocks", help="Number of quantile blocks.", lo=1, hi=10_000, integer=True),
    rank_column: str = typer.Option(None, "--rank-column", help="Rank column for matched pairs."),
    covariates: str = typer.Option(None, "--covariates", help="Comma-separated covariates (rerandomise)."),
    threshold: float = ranged(None, "--threshold", help="Accept Mahalanobis M <= threshold.", lo=0.0, hi=1e6, lo_open=True),
    acceptance: float = ranged(None, "--acceptance", help="Or: nominal acceptance probability.", lo=0.0, hi=1.0, lo_open=True),
    id_column: str = typer.Option("hotspot_id", "--id-column", help="Column holding the ids."),
    force: bool = _FORCE,
    columns: Path | None = columns_option(),
    sheet: str | None = sheet_option(),
) -> None:
    """Randomise hot spots to arms for the whole trial and write allocation + manifest.

    \b
    Example:
      rct randomise parallel hotspots.geojson --scheme block \\
        --block-column beat --seed 20210906 --out allocation.csv
    """
    from rct.cli._common import shown
    from rct.randomise.manifest import randomise_parallel_file

    d = randomise_parallel_file(
        _hotspot_input(hotspots, columns, sheet), out=out, seed=seed, force=force, scheme=scheme, arms=_names(arms),
        ratio=_ints(ratio), counts=_ints(counts), block_column=block_column,
        blocks_from=blocks_from, n_blocks=n_blocks, rank_column=rank_column,
        covariates=_names(covariates), threshold=threshold, acceptance=acceptance,
        id_column=id_column,
    )
    typer.echo(f"wrote {shown(out)} ({d.n_units} hot spots, scheme {d.scheme}) and "
               f"{shown(out)}.manifest.json")


@app.command("crossover")
def crossover_cmd(
    hotspots: Path = typer.Argument(..., help="Hot spots file (hotspot_id column)."),
    out: Path = typer.Option(..., "--out", help="Schedule CSV to write (+ .manifest.json)."),
    start: str = typer.Option(..., "--start", help="First trial date, YYYY-MM-DD."),
    days: int = ranged(..., "--days", help="Number of trial days.", lo=1, hi=3660, integer=True),
    per_day: int = ranged(..., "--per-day", help="Hot spots tasked each day.", lo=1, hi=100_000, integer=True),
    seed: int = ranged(..., "--seed", help="Non-negative integer seed.", lo=0, hi=2**63 - 1, integer=True),
    day_starts: str = typer.Option("06:00", "--day-starts", help="Trial-day boundary, local HH:MM."),
    equal_coverage: bool = typer.Option(True, "--equal-coverage/--no-equal-coverage"),
    block_weekday: bool = typer.Option(False, "--block-weekday", help="Equal coverage within weekdays."),
    max_consecutive: int = ranged(None, "--max-consecutive", help="Cap on consecutive patrol days.", lo=1, hi=3660, integer=True),
    washout: int = ranged(0, "--washout", help="Untasked days after each run of patrol days.", lo=0, hi=365, integer=True),
    tasking: Path = typer.Option(None, "--tasking", metavar="FILE", help="Also write the daily tasking list: .csv, .xlsx, .gpkg or .geojson (refused if it exists, unless --force)."),
    id_column: str = typer.Option("hotspot_id", "--id-column", help="Column holding the ids."),
    force: bool = _FORCE,
    sites: str = typer.Option(None, "--sites", metavar="COLUMN", help="Column of the hot spots naming each one's site: --per-day hot spots of each site a day (and of each shift)."),
    quotas: str = typer.Option(None, "--quotas", metavar="LIST", help="Daily quotas that differ from --per-day: site=k, shift=k or site/shift=k, comma-separated (e.g. north=3,south=2)."),
    columns: Path | None = columns_option(),
    sheet: str | None = sheet_option(),
    line_buffer: float | None = line_buffer_option(),
) -> None:
    """Schedule a crossover hot-spot-day trial and write schedule + manifest.

    A hot-spot file built per time window (rct hotspots build --windows) makes a
    shift crossover: each unit is a hot spot in one shift, --per-day of them a
    shift, with one tasking row per day and shift.

    --tasking writes the officers' daily list: .csv, .xlsx (a workbook with
    the tasking list and the schedule), or .gpkg (one feature per hot spot
    and tasked day, with its geometry, for QGIS or the app).

    \b
    Example:
      rct randomise crossover hotspots.geojson --start 2021-09-06 --days 365 \\
        --per-day 22 --seed 20210906 --out schedule.csv \\
        --tasking tasking.xlsx
    """
    from rct.cli._common import shown
    from rct.randomise.crossover_strata import crossover_quota
    from rct.randomise.manifest import randomise_crossover_file

    source = _hotspot_input(hotspots, columns, sheet, line_buffer)
    extra = crossover_quota(source, per_day=per_day, sites=sites, quotas=quotas,
                            id_column=id_column)
    d = randomise_crossover_file(
        source, out=out, seed=seed, force=force, tasking=tasking, start=start, days=days,
        day_starts=day_starts, equal_coverage=equal_coverage,
        block_weekday=block_weekday, max_consecutive=max_consecutive, washout=washout,
        id_column=id_column, **extra,
    )
    typer.echo(f"wrote {shown(out)} ({len(d.ids)} hot spots x {len(d.dates)} days) and "
               f"{shown(out)}.manifest.json")
    if tasking is not None:
        typer.echo(f"wrote the tasking list {shown(tasking)}")
    for line in d.strata_lines():
        typer.echo(line)
    for line in d.serial_structure().short_lines():
        typer.echo(line)


@app.command("verify")
def verify_cmd(allocation: Path = typer.Argument(..., help="Allocation CSV with its manifest.")) -> None:
    """Re-derive an allocation from its manifest and inputs; exit 2 naming any difference.

    \b
    Example:
      rct randomise verify schedule.csv
    """
    from rct.errors import VerificationError
    from rct.randomise.manifest import verify_allocation

    report = verify_allocation(allocation)
    if not report.ok:
        raise VerificationError(str(report))
    typer.echo(str(report))


@app.command("balance")
def balance_cmd(
    allocation: Path = typer.Argument(..., help="Parallel allocation CSV."),
    hotspots: Path = typer.Option(None, "--hotspots", help="Hot spots with covariates (default: from manifest)."),
    covariates: str = typer.Option(None, "--covariates", help="Comma-separated covariates."),
    draws: int = ranged(10_000, "--draws", help="Randomisation draws when not enumerable.", lo=1, hi=1_000_000, integer=True),
    seed: int = ranged(0, "--seed", help="Seed for the randomisation draws.", lo=0, hi=2**63 - 1, integer=True),
    out: Path = typer.Option(None, "--out", help="CSV to write (default <allocation>.balance.csv)."),
) -> None:
    """Means per arm, SMDs, variance ratios and an omnibus randomisation balance test.

    \b
    Example:
      rct randomise balance allocation.csv \\
        --covariates baseline_crimes,baseline_harm
    """
    from rct.randomise.balance import balance_file

    res = balance_file(allocation, hotspots=hotspots, covariates=_names(covariates), draws=draws,
                       seed=seed, out=out)
    typer.echo(res.summary())
