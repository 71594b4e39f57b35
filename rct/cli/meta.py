"""`rct meta`: pool trials (meta-analysis of one effect per trial)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rct.cli._options import ranged

_HELP = """Pool trials: fixed-effect, DerSimonian-Laird or REML meta-analysis (as metafor::rma).

INPUTS is one table (CSV or Parquet) with a row per trial, or two or more
results.json files written by `rct evaluate` (the primary outcome's rate
ratio of each is pooled).  The table holds `label` and either `yi` (the
log rate ratio, or a difference with --scale difference) with `vi` (its
variance) or `sei` (its standard error); or counts: `treated_pre,
treated_post, control_pre, control_post` (Wilson's RIRR), or
`events_treated, exposure_treated, events_control, exposure_control`
(crimes and hot-spot-days on tasked and untasked days).

Prints each trial with its weight, the pooled effect, tau^2, I^2, Q and the
prediction interval; --out writes them as JSON, --plot draws a forest plot.
Existing outputs are kept unless --force.

\b
Example (trials.csv):
    label,events_treated,exposure_treated,events_control,exposure_control
    Trial A,141,720,226,1080
    Trial B,249,2023,353,2023
    Trial C,310,1200,278,1200
\b
    rct meta trials.csv --method REML --knha --out pooled.json --plot forest.png
    rct meta site1/out/results.json site2/out/results.json --method DL
"""


def _check_outputs(paths: list[Path | None], force: bool) -> None:
    from rct.errors import DataError

    for p in paths:
        if p is not None and p.exists() and not force:
            raise DataError("exists; pass --force to overwrite it", file=p)


def _inputs(inputs: list[Path]) -> Any:
    from rct.errors import DataError

    for p in inputs:
        if not p.exists():
            raise DataError("file not found", file=p)
    tables = [p for p in inputs if p.suffix.lower() in (".csv", ".parquet")]
    if tables and len(inputs) > 1:
        raise DataError("give one table, or results.json files only", file=tables[0])
    if tables:
        return tables[0]
    if len(inputs) < 2:
        raise DataError("a meta-analysis of results files needs two or more of them",
                        file=inputs[0])
    return [str(p) for p in inputs]


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(r: float) -> str:
    pct = 100 * (r - 1)
    return f"{abs(pct):.1f}% {'fewer' if pct < 0 else 'more'}"


def summary_lines(est: Any) -> list[str]:
    """The plain-words table `rct meta` prints for a meta-analysis :class:`Estimate`."""
    d = est.details
    ratio = d["scale"] == "log_ratio"

    def fmt(v: float) -> str:
        return f"{v:.2f}" if ratio else f"{v:.4g}"

    level = f"{1 - est.alpha:.0%}"
    lines = [f"{est.method[0].upper()}{est.method[1:]}, {d['k']} trials"
             + (" (log rate ratios, shown as rate ratios)" if ratio else "")]
    width = max(8, *(len(s["label"]) for s in d["studies"]))
    head = "rate ratio" if ratio else "estimate"
    lines.append(f"  {'trial':<{width}}  {head:>10}  {level + ' CI':>16}  {'weight':>7}")
    for s in d["studies"]:
        e, lo, hi = ((s["ratio"], s["ratio_low"], s["ratio_high"]) if ratio
                     else (s["yi"], s["conf_low"], s["conf_high"]))
        lines.append(f"  {s['label']:<{width}}  {fmt(e):>10}  "
                     f"{fmt(lo) + ' to ' + fmt(hi):>16}  {s['weight']:6.1f}%")
    t = est.terms[1] if ratio else est.effect
    lines.append(f"  {'pooled':<{width}}  {fmt(t.estimate):>10}  "
                 f"{fmt(t.conf_low) + ' to ' + fmt(t.conf_high):>16}  ({_p(est.effect.p_value)})")
    if ratio:
        lines.append(f"Pooled rate ratio {fmt(t.estimate)}: {_pct(t.estimate)} crimes on average "
                     f"with the extra patrols ({level} CI {_pct(t.conf_low)} to "
                     f"{_pct(t.conf_high)}).")
    lo, hi = ((d["pi_low_ratio"], d["pi_high_ratio"]) if ratio else (d["pi_low"], d["pi_high"]))
    lines.append(f"Prediction interval {fmt(lo)} to {fmt(hi)}: where the effect of a new, "
                 "similar trial would be expected to fall.")
    lines.append(f"Between-trial variance tau^2 = {d['tau2']:.4g} (tau = {d['tau']:.3g}); "
                 f"I^2 = {d['I2']:.1f}% of the variation is between trials.")
    lines.append(f"Heterogeneity: Q = {d['Q']:.2f} on {d['Q_df']} df, {_p(d['Q_p'])}.")
    return lines


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""

    @app.command("meta", help=_HELP)
    def meta(
        inputs: list[Path] = typer.Argument(..., help="One table (CSV/Parquet), or 2+ results.json files."),
        method: str = typer.Option("REML", "--method", help="REML | DL | FE."),
        knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung t-based test and intervals (recommended for few trials)."),
        alpha: float = ranged(0.05, "--alpha", help="Intervals are 1 - alpha.", lo=0, hi=0.5, lo_open=True),
        scale: str = typer.Option("log_ratio", "--scale", help="log_ratio (yi are log rate ratios) | difference."),
        correction: float = ranged(0.0, "--correction", help="Added to the counts of rows with a zero count (e.g. 0.5).", lo=0, hi=10),
        outcome: str | None = typer.Option(None, "--outcome", help="results.json inputs: outcome to pool (default: each file's primary)."),
        estimator: str | None = typer.Option(None, "--estimator", help="results.json inputs: part of the method name to pick (e.g. Poisson)."),
        out: Path | None = typer.Option(None, "--out", help="Write the result as JSON."),
        plot: Path | None = typer.Option(None, "--plot", help="Write a forest plot (.png or .svg)."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    ) -> None:
        _check_outputs([out, plot], force)
        if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
            raise ValueError(f"--plot must end in .png or .svg; got {plot.name!r}")
        effects = _inputs(inputs)
        from rct.evaluate.meta import meta_analysis

        est = meta_analysis(effects, method=method, knha=knha, alpha=alpha, scale=scale,
                            correction=correction, outcome=outcome, estimator=estimator)
        for line in summary_lines(est):
            typer.echo(line)
        fig = None
        if plot is not None:
            from rct.reports.figures import meta_forest_plot

            fig = meta_forest_plot(est)
        if out is not None:
            from rct.io.atomic import write_json

            write_json(out, est.to_dict())
            typer.echo(f"wrote {out}")
        if fig is not None:
            from rct.reports.figures import save_figure

            save_figure(fig, plot, dpi=200)
            typer.echo(f"wrote {plot}")
