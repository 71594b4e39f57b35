"""`rct power ...` commands: analytic, simulate, empirical (alias history).

Only typer and the standard library are imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="Power and minimum detectable effects (analytic, simulated, from history).\n\n"
    "Example: rct power analytic --design crossover --hotspots 45 --days 365 --per-day 22 "
    "--rate 0.2",
    no_args_is_help=True,
)

_EFFECT_HELP = "Effect as a proportional reduction (0.15 = 15 %); omit to solve for it."


def _floats(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        from rct.errors import DesignError

        raise DesignError(
            f"--{name} must be a number or comma-separated numbers; got {text!r}"
        ) from None


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
    from rct.io.atomic import write_json, write_table

    if out.suffix.lower() == ".json":
        write_json(
            out, result.to_dict() if hasattr(result, "to_dict") else result.to_dict("records")
        )
    else:
        write_table(result.tidy() if hasattr(result, "tidy") else result, out)
    typer.echo(f"wrote {out}")


@app.command("analytic")
def analytic(
    design: str = typer.Option("crossover", help="crossover | parallel"),
    hotspots: float = typer.Option(None, help="Number of hot spots; omit to solve for it."),
    days: float = typer.Option(
        None, help="Trial days (parallel: days or periods followed); omit to solve."
    ),
    rate: float = typer.Option(
        None, help="Crimes per hot-spot-day (or per period) without patrols (or --history)."
    ),
    reduction: float = typer.Option(None, help=_EFFECT_HELP),
    power: float = typer.Option(0.8, help="Target power (ignored when solving for power)."),
    alpha: float = typer.Option(0.05, help="Significance level (ignored when solving for alpha)."),
    solve: str = typer.Option(
        None,
        help="hotspots | days | effect | power | alpha (default: the omitted one, else power).",
    ),
    per_day: float = typer.Option(None, help="Crossover: hot spots tasked per day."),
    share: float = typer.Option(
        None, help="Share tasked per day (crossover) or treated (parallel); default 0.5."
    ),
    dispersion: float = typer.Option(0.0, help="Day-level negative binomial dispersion phi."),
    heterogeneity: float = typer.Option(0.0, help="Between-hot-spot variance tau^2 of rates."),
    harm_cv: float = typer.Option(
        0.0, help="Coefficient of variation of harm weights (harm outcome)."
    ),
    outcome: str = typer.Option("count", help="Parallel: count | log-count | harm."),
    estimator: str = typer.Option("rate-ratio", help="Parallel: rate-ratio | diff-means."),
    scheme: str = typer.Option("complete", help="Parallel: complete | block | pairs."),
    block_correlation: float = typer.Option(
        0.0, help="Parallel: variance share explained by blocks/pairs."
    ),
    n_blocks: int = typer.Option(None, help="Parallel, scheme block: number of blocks."),
    r2: float = typer.Option(0.0, help="Parallel: R^2 of the baseline covariate."),
    alternative: str = typer.Option("two-sided", help="two-sided | smaller | larger."),
    history: Path = typer.Option(
        None, help="Past hot spot x day/period counts: calibrates rate, dispersion, heterogeneity."
    ),
    out: Path = typer.Option(None, help="Write the result (.json, .csv or .parquet)."),
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
    rate: float = typer.Option(None, help="Crimes per hot-spot-day without patrols."),
    reduction: str = typer.Option(..., help="True reduction(s), e.g. 0.15 or 0.1,0.15,0.2."),
    share: float = typer.Option(
        0.5, help="Share tasked per day (crossover) or treated (parallel)."
    ),
    n_sims: int = typer.Option(
        2000, help="Simulated trials (and as many null trials for the size)."
    ),
    alpha: float = typer.Option(0.05, help="Significance level."),
    dispersion: float = typer.Option(0.0, help="Day-level negative binomial dispersion phi."),
    heterogeneity: float = typer.Option(0.0, help="Between-hot-spot variance tau^2 of rates."),
    harm_weights: Path = typer.Option(
        None, help="CSV with a 'weight' column: harm per crime to resample."
    ),
    estimator: str = typer.Option(
        None, help="fe-poisson (crossover); rate-ratio | diff-means | log-diff-means."
    ),
    seed: int = typer.Option(..., help="Random seed (required: results must be reproducible)."),
    plot: Path = typer.Option(None, help="Power curve (.png or .svg) for a grid."),
    history: Path = typer.Option(
        None, help="Past hot spot x day/period counts: calibrates rate, dispersion, heterogeneity."
    ),
    out: Path = typer.Option(None, help="Write results (.csv, .parquet or .json)."),
) -> None:
    """Monte Carlo power, size, bias and coverage of the planned test (grids and curves).

    \b
    Example:
      rct power simulate --hotspots 45 --days 90,180,365 --rate 0.2 \\
        --reduction 0.15 --n-sims 500 --seed 1 --plot power.png
    """
    from rct.power import CrossoverSpec, ParallelSpec, power_grid, simulate_power

    rate, dispersion, heterogeneity = _calibrated(history, rate, dispersion, heterogeneity)

    ns = [int(v) for v in _floats(hotspots, "hotspots") or []]
    ds = _floats(days, "days") or []
    rs = _floats(reduction, "reduction") or []
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
            from rct.reports.figures import save_figure, simulated_power_curves

            save_figure(simulated_power_curves(grid, x="days" if len(ds) > 1 else "hotspots"),
                        plot)
            typer.echo(f"wrote {plot}")
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
    periods: int = typer.Option(None, help="Trial length in periods (default: the whole history)."),
    per_period: int = typer.Option(None, help="Crossover: hot spots tasked per period."),
    share: float = typer.Option(0.5, help="Share treated (per period for crossover)."),
    reduction: float = typer.Option(..., help="Reduction imposed by thinning treated crimes."),
    outcome: str = typer.Option("crimes", help="Count column."),
    period_column: str = typer.Option(
        None, help="Period column (default trial_date/period/month)."
    ),
    n_sims: int = typer.Option(2000, help="Placebo trials."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    estimator: str = typer.Option(
        None, help="fe-poisson (crossover); rate-ratio | diff-means (parallel)."
    ),
    seed: int = typer.Option(..., help="Random seed."),
    out: Path = typer.Option(None, help="Write the result (.json, .csv or .parquet)."),
) -> None:
    """Empirical power and size from placebo trials on past crime counts.

    \b
    Example:
      rct power empirical out/outcomes.parquet --per-period 22 \\
        --reduction 0.15 --n-sims 500 --seed 1
    """
    from rct.power import empirical_power

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
