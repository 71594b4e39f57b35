"""`rct simulate` and `rct demo`."""

from __future__ import annotations

from pathlib import Path

import typer

from rct.cli._options import force_option, ranged

#: the files `rct simulate` writes into --out (checked against the overwrite rule)
SIMULATED_FILES = ("hotspots.geojson", "schedule.csv", "allocation.csv", "crimes.csv",
                   "patrols.csv", "truth.json", "truth_panel.csv", "trial.toml")


def simulate(
    out: Path = typer.Option(..., "--out", help="Directory to write the trial's files into."),
    hotspots: int = ranged(45, "--hotspots", help="Number of hot spots.", lo=2, hi=5000,
                           integer=True),
    days: int = ranged(90, "--days", help="Trial days.", lo=1, hi=3660, integer=True),
    baseline_days: int = ranged(90, "--baseline-days", help="Baseline days before the trial.",
                                lo=0, hi=3660, integer=True),
    per_day: int | None = ranged(None, "--per-day", help="Hot spots tasked per day (default: half).",
                                 lo=1, hi=5000, integer=True),
    design: str = typer.Option("crossover", "--design", help="crossover or parallel."),
    start: str = typer.Option("2021-09-06", "--start", help="First trial day (YYYY-MM-DD)."),
    base_rate: float = ranged(0.2, "--base-rate", help="Crimes per hot-spot-day without extra patrol.",
                              lo=0.0, hi=100.0, lo_open=True),
    effect: float = ranged(0.85, "--effect", help="True rate ratio on tasked days (0.85 = 15% fewer).",
                           lo=0.0, hi=10.0, lo_open=True),
    seed: int = ranged(2021, "--seed", help="Simulation seed.", lo=0, hi=2**63 - 1, integer=True),
    no_mess: bool = typer.Option(False, "--no-mess", help="Do not plant bad rows."),
    force: bool = force_option(),
    sites: str = typer.Option(None, "--sites", help="Sites and their numbers of hot spots, e.g. north=10,south=8 (replaces --hotspots)."),
    shifts: str = typer.Option(None, "--shifts", help="Shifts (time windows), e.g. day=06:00-18:00,night=18:00-06:00: units are hot spot x shift."),
    effects: str = typer.Option(None, "--effects", help="True rate ratio by site, shift or site/shift, e.g. north=0.8,south/night=0.7 (--effect elsewhere)."),
    shift_rates: str = typer.Option(None, "--shift-rates", help="Crimes per unit-day in each shift, e.g. day=0.08,night=0.15."),
    quotas: str = typer.Option(None, "--quotas", help="Daily quotas: site=k, shift=k or site/shift=k (default: half of each site)."),
) -> None:
    """Write a synthetic trial with known truth: the files a force would supply, trial.toml and truth.json.

    \b
    Example:
      rct simulate --out sim --hotspots 45 --days 90 --effect 0.85 \\
        --seed 2021
    """
    import datetime as dt

    from rct.errors import DesignError
    from rct.io.atomic import check_overwrite, ensure_parent
    from rct.simulate import SimulationSpec, simulate_trial

    if out.exists() and not out.is_dir():
        raise DesignError(f"--out {out} is a file; give a folder to write the trial into")
    ensure_parent(out / SIMULATED_FILES[0])
    existing = [out / n for n in SIMULATED_FILES] + sorted((out / "pings").glob("part-*.parquet"))
    check_overwrite(existing, force=force)

    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        raise DesignError(f"--start must be a date YYYY-MM-DD, got {start!r}") from None
    from rct.randomise.crossover_strata import parse_quotas

    strata = {"sites": _named(sites, int, "--sites"), "shifts": shifts or None,
              "effects": _named(effects, float, "--effects") or {},
              "shift_rates": _named(shift_rates, float, "--shift-rates"),
              "quotas": parse_quotas(quotas) or None}
    spec = SimulationSpec(n_hotspots=hotspots, design=design, per_day=per_day, start=first,
                          days=days, baseline_days=baseline_days, base_rate=base_rate,
                          effect=effect, mess=not no_mess, seed=seed, **strata)
    trial = simulate_trial(spec)
    paths = trial.write(out)
    truth = trial.truth
    typer.echo(f"wrote a simulated {design} trial to {out}/")
    for role, path in paths.items():
        typer.echo(f"  {role:<12} {path}")
    if truth.get("irr") is not None:
        typer.echo(
            f"truth: IRR {truth['irr']:.3g} on tasked days; "
            f"{truth['crimes_per_hotspot_day']:.3f} crimes per hot-spot-day in the trial"
        )
    else:
        typer.echo(f"truth: {truth['crimes_per_hotspot_day']:.3f} crimes per hot-spot-day in "
                   "the trial; the IRR differs by site and shift:")
    for key in ("irr_by_site", "irr_by_shift", "irr_by_site_shift"):
        if key in truth:
            parts = ", ".join(f"{k} {'varies' if v is None else format(v, '.3g')}"
                              for k, v in truth[key].items())
            typer.echo(f"  {key.replace('irr_by_', 'IRR by ').replace('_', ' x ')}: {parts}")


def _named(text: str | None, kind: type, option: str) -> dict | None:
    """``"north=10,south=8"`` -> ``{"north": 10, "south": 8}`` (values of type ``kind``)."""
    from rct.errors import DesignError

    if not text:
        return None
    out = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = kind(value)
        except ValueError:
            sep = ""
        if not sep:
            raise DesignError(f"{option}: {part!r} must be NAME=value")
    return out


def demo(
    out: Path = typer.Option(Path("rct-demo"), "--out", help="Directory to write everything into."),
    quick: bool = typer.Option(False, "--quick", help="Four weeks of trial, fewer RI draws (a smoke test)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
) -> None:
    """The whole pipeline on a synthetic Thames-Valley-like trial, with no input.

    Hot spots from the bundled police.uk data, randomise, simulate, ingest,
    monitor, evaluate, and the design, monitoring and evaluation reports.

    \b
    Example:
      rct demo --out rct-demo --quick
    """
    from rct.demo import run_demo

    res = run_demo(out, progress=progress, quick=quick)
    typer.echo(f"wrote the demo trial to {res.out_dir}/ (trial file {res.files['trial']})")
    for kind, path in res.reports.items():
        typer.echo(f"  {kind + ' report':<18} {path}")
    for line in res.summary:
        typer.echo(line)
    if str(res.figures.get("pseudonym_key", "")).startswith("generated"):
        typer.echo(res.figures["pseudonym_key"])
    typer.echo(f"({sum(res.seconds.values()):.0f} s; details in {res.files['summary']})")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("simulate")(simulate)
    app.command("demo")(demo)
