"""`rct power ...` commands: analytic, simulate, empirical (alias history).

Only typer and the standard library are imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rct.cli._options import check_range, ranged

app = typer.Typer(
    help="Power and minimum detectable effects (analytic, simulated, from history).\n\n"
    "Example: rct power analytic --design crossover --hotspots 45 --days 365 --per-day 22 "
    "--rate 0.2",
    no_args_is_help=True,
)

_EFFECT_HELP = "Effect as a proportional reduction (0.15 = 15 %); omit to solve for it."


def _floats(text: str | None, name: str, lo: float | None = None, hi: float | None = None, *,
            integer: bool = False, lo_open: bool = False) -> list[float] | None:
    """A comma-separated grid option, each value checked against the option's range."""
    if text is None:
        return None
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        from rct.errors import DesignError

        raise DesignError(
            f"--{name} must be a number or comma-separated numbers; got {text!r}"
        ) from None
    for v in values:
        check_range(f"--{name}", v, lo, hi, integer=integer, lo_open=lo_open)
    return values


def _check_outputs(*paths: Path | None, force: bool) -> None:
    """The one overwrite rule, before any work: existing outputs need --force."""
    from rct.io.atomic import check_overwrite

    check_overwrite([p for p in paths if p is not None], force=force)


_FORCE_HELP = "Replace existing --out / --plot files (refused otherwise)."


def _one(values: list[float] | None) -> float | None:
    return None if values is None else values[0]


def _read_table(path: Path) -> Any:
    import pandas as pd

    from rct.errors import DataError

    if not path.exists():
        raise DataError("file not found", file=path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _harm_weights(path: Path | None) -> Any:
    if path is None:
        return None
    from rct.errors import DataError

    df = _read_table(path)
    col = next((c for c in ("weight", "harm") if c in df.columns), None)
    if col is None:
        raise DataError("harm weights file needs a 'weight' or 'harm' column", file=path)
    return df[col].dropna().to_numpy(dtype=float)


def _calibrated(
    history: Path | None, rate: float | None, dispersion: float, heterogeneity: float
) -> tuple[float, float, float]:
    """Rate, dispersion and heterogeneity: from --history (moments) unless given explicitly."""
    from rct.errors import DesignError

    if history is None:
        if rate is None:
            raise DesignError("give --rate, or --history to calibrate it from past counts")
        return rate, dispersion, heterogeneity
    from rct.power import calibrate_history

    cal = calibrate_history(_read_table(history))
    typer.echo(
        f"calibrated from {history.name}: rate {cal.rate:.4g} per hot spot-period, "
        f"dispersion {cal.dispersion:.3g}, heterogeneity {cal.heterogeneity:.3g} "
        f"({cal.n_hotspots} hot spots x {cal.n_periods} periods)"
    )
    return (
        cal.rate if rate is None else rate,
        cal.dispersion if dispersion == 0 else dispersion,
        cal.heterogeneity if heterogeneity == 0 else heterogeneity,
    )


def _write(result: Any, out: Path | None) -> None:
    if out is None:
        return
    from rct.cli._common import shown
    from rct.io.atomic import write_json, write_table

    if out.suffix.lower() == ".json":
        write_json(
            out, result.to_dict() if hasattr(result, "to_dict") else result.to_dict("records")
        )
    else:
        write_table(result.tidy() if hasattr(result, "tidy") else result, out)
    typer.echo(f"wrote {shown(out)}")


@app.command("analytic")
def analytic(
    design: str = typer.Option("crossover", help="crossover | parallel"),
    hotspots: float = ranged(None, "--hotspots", metavar="N", help="Number of hot spots; omit to solve for it.", lo=2, hi=1_000_000, integer=True),
    days: float = ranged(
        None, "--days", metavar="N", help="Trial days (parallel: days or periods followed); omit to solve.",
        lo=0, hi=36_600, lo_open=True),
    rate: float = ranged(
        None, "--rate", metavar="RATE", help="Crimes per hot-spot-day (or per period) without patrols (or --history).",
        lo=0, hi=1_000, lo_open=True),
    reduction: float = ranged(None, "--reduction", metavar="SHARE", help=_EFFECT_HELP, lo=-5, hi=0.99),
    power: float = ranged(0.8, "--power", help="Target power (ignored when solving for power).", lo=0, hi=1, lo_open=True),
    alpha: float = ranged(0.05, "--alpha", help="Significance level (ignored when solving for alpha).", lo=0, hi=0.5, lo_open=True),
    solve: str = typer.Option(
        None,
        help="hotspots | days | effect | power | alpha (default: the omitted one, else power).",
    ),
    per_day: float = ranged(None, "--per-day", metavar="K", help="Crossover: hot spots tasked per day.", lo=1, hi=1_000_000, integer=True),
    share: float = ranged(
        None, "--share", help="Share tasked per day (crossover) or treated (parallel); default 0.5.",
        lo=0, hi=1, lo_open=True),
    dispersion: float = ranged(0.0, "--dispersion", help="Day-level negative binomial dispersion phi.", lo=0, hi=100),
    heterogeneity: float = ranged(0.0, "--heterogeneity", help="Between-hot-spot variance tau^2 of rates.", lo=0, hi=100),
    harm_cv: float = ranged(
        0.0, "--harm-cv", help="Coefficient of variation of harm weights (harm outcome).", lo=0, hi=100),
    outcome: str = typer.Option("count", help="Parallel: count | log-count | harm."),
    estimator: str = typer.Option("rate-ratio", help="Parallel: rate-ratio | diff-means."),
    scheme: str = typer.Option("complete", help="Parallel: complete | block | pairs."),
    block_correlation: float = ranged(
        0.0, "--block-correlation", help="Parallel: variance share explained by blocks/pairs.", lo=0, hi=1),
    n_blocks: int = ranged(None, "--n-blocks", metavar="N", help="Parallel, scheme block: number of blocks.", lo=1, hi=1_000_000, integer=True),
    r2: float = ranged(0.0, "--r2", help="Parallel: R^2 of the baseline covariate.", lo=0, hi=1),
    alternative: str = typer.Option("two-sided", help="two-sided | smaller | larger."),
    history: Path = typer.Option(
        None, help="Past hot spot x day/period counts: calibrates rate, dispersion, heterogeneity."
    ),
    out: Path = typer.Option(None, metavar="FILE", help="Write the result (.json, .csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help=_FORCE_HELP),
) -> None:
    """Analytic power, sample size, trial length or MDE (solve for one quantity).

    \b
    Example:
      rct power analytic --design crossover --hotspots 45 --days 365 \\
        --per-day 22 --rate 0.2 --dispersion 0.3
      (solves for power; omit --days to solve for the length)
    """
    from rct.errors import DesignError
    from rct.power import crossover_power, parallel_power

    _check_outputs(out, force=force)
    rate, dispersion, heterogeneity = _calibrated(history, rate, dispersion, heterogeneity)

    choices = ("hotspots", "days", "effect", "power", "alpha")
    if solve is None:
        omitted = [
            k
            for k, v in (("hotspots", hotspots), ("days", days), ("effect", reduction))
            if v is None
        ]
        if len(omitted) > 1:
            raise DesignError(
                f"give all but one of --hotspots, --days, --reduction; missing {omitted}"
            )
        solve = omitted[0] if omitted else "power"
    if solve not in choices:
        raise ValueError(f"--solve must be one of {', '.join(choices)}; got {solve!r}")
    kw: dict[str, Any] = dict(
        hotspots=None if solve == "hotspots" else hotspots,
        days=None if solve == "days" else days,
        reduction=None if solve == "effect" else reduction,
        power=None if solve == "power" else power,
        alpha=None if solve == "alpha" else alpha,
        rate=rate,
        dispersion=dispersion,
        heterogeneity=heterogeneity,
        harm_cv=harm_cv,
        alternative=alternative,
    )
    if design == "crossover":
        result = crossover_power(per_day=per_day, share=share, **kw)
    elif design == "parallel":
        if kw["days"] is None and solve != "days":
            kw["days"] = 1.0
        result = parallel_power(
            share=0.5 if share is None else share, outcome=outcome, estimator=estimator,
            design=scheme, block_correlation=block_correlation, n_blocks=n_blocks, r2=r2, **kw,
        )  # fmt: skip
    else:
        raise ValueError(f"--design must be one of 'crossover', 'parallel'; got {design!r}")
    typer.echo(result.summary())
    _write(result, out)


@app.command("simulate")
def simulate(
    design: str = typer.Option("crossover", help="crossover | parallel"),
    hotspots: str = typer.Option(..., help="Hot spots (comma-separated for a grid)."),
    days: str = typer.Option(..., help="Trial days (comma-separated for a grid)."),
    rate: float = ranged(None, "--rate", metavar="RATE", help="Crimes per hot-spot-day without patrols (or --history).", lo=0, hi=1_000, lo_open=True),
    reduction: str = typer.Option(..., help="True reduction(s), e.g. 0.15 or 0.1,0.15,0.2."),
    share: float = ranged(
        0.5, "--share", help="Share tasked per day (crossover) or treated (parallel).", lo=0, hi=1, lo_open=True),
    n_sims: int = ranged(
        2000, "--n-sims", metavar="N", help="Simulated trials (and as many null trials for the size).",
        lo=10, hi=10_000_000, integer=True),
    alpha: float = ranged(0.05, "--alpha", help="Significance level.", lo=0, hi=0.5, lo_open=True),
    dispersion: float = ranged(0.0, "--dispersion", help="Day-level negative binomial dispersion phi.", lo=0, hi=100),
    heterogeneity: float = ranged(0.0, "--heterogeneity", help="Between-hot-spot variance tau^2 of rates.", lo=0, hi=100),
    harm_weights: Path = typer.Option(
        None, help="CSV with a 'weight' column: harm per crime to resample."
    ),
    estimator: str = typer.Option(
        None, help="fe-poisson (crossover); rate-ratio | diff-means | log-diff-means."
    ),
    seed: int = ranged(..., "--seed", help="Random seed (required: results must be reproducible).", lo=0, hi=2**63 - 1, integer=True),
    plot: Path = typer.Option(None, metavar="FILE", help="Power curve (.png or .svg) for a grid."),
    history: Path = typer.Option(
        None, help="Past hot spot x day/period counts: calibrates rate, dispersion, heterogeneity."
    ),
    out: Path = typer.Option(None, metavar="FILE", help="Write results (.csv, .parquet or .json)."),
    force: bool = typer.Option(False, "--force", help=_FORCE_HELP),
) -> None:
    """Monte Carlo power, size, bias and coverage of the planned test (grids and curves).

    \b
    Example:
      rct power simulate --hotspots 45 --days 90,180,365 --rate 0.2 \\
        --reduction 0.15 --n-sims 500 --seed 1 --plot power.png
    """
    from rct.power import CrossoverSpec, ParallelSpec, power_grid, simulate_power

    _check_outputs(out, plot, force=force)
    rate, dispersion, heterogeneity = _calibrated(history, rate, dispersion, heterogeneity)

    ns = [int(v) for v in _floats(hotspots, "hotspots", 2, 1_000_000, integer=True) or []]
    ds = _floats(days, "days", 1, 36_600, integer=True) or []
    rs = _floats(reduction, "reduction", -5, 0.99) or []
    if design not in ("crossover", "parallel"):
        raise ValueError(f"--design must be one of 'crossover', 'parallel'; got {design!r}")
    if len(ns) * len(ds) * len(rs) > 1 or plot is not None:
        opts = {} if design == "crossover" or estimator is None else {"estimator": estimator}
        grid = power_grid(
            design=design, hotspots=ns, days=ds, reductions=rs, rate=rate, share=share,
            alpha=alpha, dispersion=dispersion, heterogeneity=heterogeneity, simulate=True,
            n_sims=n_sims, seed=seed, **opts,
        )  # fmt: skip
        typer.echo(grid.to_string(index=False))
        if plot is not None:
            from rct.cli._common import shown
            from rct.reports.figures import save_figure, simulated_power_curves

            save_figure(simulated_power_curves(grid, x="days" if len(ds) > 1 else "hotspots"),
                        plot)
            typer.echo(f"wrote {shown(plot)}")
        _write(grid, out)
        return
    n, d = ns[0], ds[0]
    if design == "crossover":
        spec: Any = CrossoverSpec(n, int(d), int(round(share * n)))
        result = simulate_power(
            spec, rate=rate, reduction=rs[0], n_sims=n_sims, alpha=alpha, dispersion=dispersion,
            heterogeneity=heterogeneity, harm_weights=_harm_weights(harm_weights),
            estimator=estimator, seed=seed,
        )  # fmt: skip
    else:
        spec = ParallelSpec(n, treated=int(round(share * n)))
        result = simulate_power(
            spec, rate=rate, reduction=rs[0], n_sims=n_sims, alpha=alpha, days=d,
            dispersion=dispersion, heterogeneity=heterogeneity,
            harm_weights=_harm_weights(harm_weights), estimator=estimator, seed=seed,
        )  # fmt: skip
    typer.echo(result.summary())
    _write(result, out)


def _empirical(
    counts: Path = typer.Argument(..., help="Hot spot x period count table (CSV/Parquet)."),
    design: str = typer.Option("crossover", help="crossover | parallel"),
    periods: int = ranged(None, "--periods", metavar="N", help="Trial length in periods (default: the whole history).", lo=1, hi=1_000_000, integer=True),
    per_period: int = ranged(None, "--per-period", metavar="K", help="Crossover: hot spots tasked per period.", lo=1, hi=1_000_000, integer=True),
    share: float = ranged(0.5, "--share", help="Share treated (per period for crossover).", lo=0, hi=1, lo_open=True),
    reduction: float = ranged(..., "--reduction", metavar="SHARE", help="Reduction imposed by thinning treated crimes.", lo=0, hi=0.99),
    outcome: str = typer.Option("crimes", help="Count column."),
    period_column: str = typer.Option(
        None, help="Period column (default trial_date/period/month)."
    ),
    n_sims: int = ranged(2000, "--n-sims", metavar="N", help="Placebo trials.", lo=10, hi=10_000_000, integer=True),
    alpha: float = ranged(0.05, "--alpha", help="Significance level.", lo=0, hi=0.5, lo_open=True),
    estimator: str = typer.Option(
        None, help="fe-poisson (crossover); rate-ratio | diff-means (parallel)."
    ),
    seed: int = ranged(..., "--seed", help="Random seed.", lo=0, hi=2**63 - 1, integer=True),
    out: Path = typer.Option(None, metavar="FILE", help="Write the result (.json, .csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help=_FORCE_HELP),
) -> None:
    """Empirical power and size from placebo trials on past crime counts.

    \b
    Example:
      rct power empirical out/outcomes.parquet --per-period 22 \\
        --reduction 0.15 --n-sims 500 --seed 1
    """
    from rct.power import empirical_power

    _check_outputs(out, force=force)
    result = empirical_power(
        _read_table(counts), design=design, periods=periods, per_period=per_period, share=share,
        reduction=reduction, outcome=outcome, period=period_column, n_sims=n_sims, alpha=alpha,
        estimator=estimator, seed=seed,
    )  # fmt: skip
    typer.echo(result.verdict)
    typer.echo(result.tidy().T.to_string(header=False))
    _write(result, out)


app.command("empirical")(_empirical)
app.command("history", help="Alias of 'empirical'.\n\n\b\nExample: rct power history "
            "out/outcomes.parquet --per-period 22 --reduction 0.15 --seed 1")(_empirical)
