"""Figures for the reports (matplotlib, Agg backend); each returns a Figure.

Inputs are tables (``.tidy()`` frames, dosage tables, arrays of draws);
nothing here computes a statistic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "hotspot_map",
    "forest_plot",
    "randomisation_histogram",
    "weekly_lines",
    "dwell_histogram",
    "power_curves",
    "balance_dots",
    "presence_bars",
    "simulated_power_curves",
    "save_figure",
    "meta_forest_plot",
    "sequential_plot",
    "feedback_plot",
]

ARM_COLOURS = {"treatment": "#1b6ca8", "control": "#d1495b", "baseline": "#8a8a8a"}
_OTHER = ["#3c8d2f", "#e09f3e", "#6a4c93", "#00798c", "#b5179e", "#7f5539", "#1b6ca8"]


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _colour(name: str, i: int) -> str:
    return ARM_COLOURS.get(str(name), _OTHER[i % len(_OTHER)])


def hotspot_map(hotspots: gpd.GeoDataFrame, *, arm: pd.Series | None = None,
                title: str = "Hot spots") -> Figure:
    """Hot-spot polygons in British National Grid metres, coloured by arm; no web tiles."""
    from matplotlib.patches import Patch

    fig = _figure(7.0, 6.0)
    ax = fig.add_subplot()
    gdf = hotspots.to_crs(27700) if hotspots.crs is not None else hotspots
    labels = arm.reindex(gdf["hotspot_id"]).fillna("not allocated").to_numpy() if arm is not None \
        else np.array(["hot spot"] * len(gdf))
    groups = list(dict.fromkeys(labels))
    for i, g in enumerate(groups):
        sub = gdf[labels == g]
        sub.plot(ax=ax, color=_colour(g, i), edgecolor="black", linewidth=0.4)
    for geom, hid in zip(gdf.geometry, gdf["hotspot_id"], strict=True):
        c = geom.representative_point()
        ax.annotate(str(hid), (c.x, c.y), fontsize=5, ha="center", va="center")
    ax.set_aspect("equal")
    ax.set_xlabel("Easting (m)")
    ax.set_ylabel("Northing (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    ax.set_title(title)
    ax.legend(handles=[Patch(color=_colour(g, i), label=str(g)) for i, g in enumerate(groups)],
              loc="best", fontsize=8)
    return fig


def forest_plot(tidy: pd.DataFrame, *, label: str = "label", null: float = 0.0,
                xlabel: str = "Estimate (95 % CI)") -> Figure:
    """Point estimates with intervals, one row each; ``null`` draws the no-effect line."""
    n = len(tidy)
    fig = _figure(7.0, max(1.6, 0.45 * n + 1.0))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    est = tidy["estimate"].to_numpy(dtype=float)
    lo = tidy["conf_low"].to_numpy(dtype=float)
    hi = tidy["conf_high"].to_numpy(dtype=float)
    ax.errorbar(est, y, xerr=[np.abs(est - lo), np.abs(hi - est)], fmt="o", color="#1b6ca8",
                ecolor="#1b6ca8", capsize=3)
    ax.axvline(null, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels=[str(s) for s in tidy[label]], fontsize=8)
    ax.set_xlabel(xlabel)
    return fig


def randomisation_histogram(draws: np.ndarray, observed: float, *, p_value: float | None = None,
                            xlabel: str = "Test statistic under the null") -> Figure:
    """The randomisation distribution of a statistic with the observed value marked."""
    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    draws = np.asarray(draws, dtype=float)
    ax.hist(draws[np.isfinite(draws)], bins=40, color="#bcd4e6", edgecolor="#6b8fb3")
    ax.axvline(observed, color="#d1495b", linewidth=2, label="observed")
    if p_value is not None:
        ax.legend(title=f"p = {p_value:.3f}", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Re-randomisations")
    return fig


def weekly_lines(df: pd.DataFrame, *, x: str = "week", y: str, group: str = "arm",
                 ylabel: str | None = None) -> Figure:
    """One line per group over weeks (e.g. presence minutes per hot-spot-day by arm)."""
    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    for i, (g, sub) in enumerate(df.groupby(group, sort=True)):
        sub = sub.sort_values(x)
        ax.plot(sub[x].astype(str), sub[y], marker="o", markersize=3, label=str(g),
                color=_colour(g, i))
    ax.set_ylabel(ylabel or y)
    ax.set_xlabel(x)
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=8)
    return fig


def dwell_histogram(minutes: np.ndarray, *, koper: tuple[float, float] = (10.0, 15.0)) -> Figure:
    """Visit lengths with the Koper-curve band (10-15 minutes) shaded."""
    fig = _figure(7.0, 3.4)
    ax = fig.add_subplot()
    m = np.asarray(minutes, dtype=float)
    m = m[np.isfinite(m)]
    top = max(60.0, float(np.quantile(m, 0.99))) if len(m) else 60.0
    ax.hist(np.clip(m, 0, top), bins=np.arange(0, top + 2.5, 2.5), color="#bcd4e6",
            edgecolor="#6b8fb3")
    ax.axvspan(*koper, color="#3c8d2f", alpha=0.2, label=f"Koper {koper[0]:g}-{koper[1]:g} min")
    ax.set_xlabel("Visit length (minutes)")
    ax.set_ylabel("Visits")
    ax.legend(fontsize=8)
    return fig


def power_curves(df: pd.DataFrame, *, x: str, y: str = "power", group: str | None = None,
                 target: float | None = 0.8, xlabel: str | None = None,
                 ylabel: str | None = None, planned: float | None = None,
                 group_label: str | None = None) -> Figure:
    """Power (or MDE) against design size, one curve per group.

    ``planned`` draws a vertical line at the planned design size;
    ``group_label`` is a format string for the legend (``"{:.0%} reduction"``).
    """
    fig = _figure(7.0, 3.8)
    ax = fig.add_subplot()
    groups = [(None, df)] if group is None else list(df.groupby(group, sort=True))
    for i, (g, sub) in enumerate(groups):
        sub = sub.sort_values(x)
        label = None if g is None else (group_label.format(g) if group_label
                                         else f"{group} = {g}")
        ax.plot(sub[x], sub[y], marker="o", markersize=3, color=_OTHER[i % len(_OTHER)],
                label=label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=1)
    if planned is not None:
        ax.axvline(planned, color="#d1495b", linestyle=":", linewidth=1.5, label="planned")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.set_ylim(0, 1.02)
    if group is not None or planned is not None:
        ax.legend(fontsize=8)
    return fig


def simulated_power_curves(grid: pd.DataFrame, *, x: str = "days", hue: str = "reduction",
                           target: float = 0.8, title: str | None = None) -> Figure:
    """Analytic power (lines) with simulated power (points, ±2 Monte Carlo SE) from a
    :func:`rct.power.power_grid` table, one colour per ``hue`` value."""
    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    for i, (key, sub) in enumerate(grid.groupby(hue, sort=True)):
        sub = sub.sort_values(x)
        colour = _OTHER[i % len(_OTHER)]
        label = f"{hue} {100 * key:.0f} %" if hue == "reduction" else f"{hue} {key}"
        ax.plot(sub[x], sub["analytic_power"], label=label, color=colour)
        if "power" in sub:
            ax.errorbar(sub[x], sub["power"], yerr=2 * sub["power_mcse"], fmt="o", ms=3,
                        color=colour, capsize=2)
    ax.axhline(target, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1)
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel("power")
    ax.set_title(title or "Power (lines analytic; points simulated, ±2 MC SE)")
    ax.legend(fontsize=8)
    return fig


def save_figure(fig: Figure, out, *, dpi: int = 120):
    """Write a figure atomically as PNG or SVG (chosen by the suffix)."""
    from pathlib import Path

    from rct.io.atomic import atomic_path

    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"figure format must be one of 'png', 'svg'; got {fmt!r}")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return out


def balance_dots(balance: pd.DataFrame, *, covariate: str = "covariate",
                 smd: str = "smd") -> Figure:
    """Standardised mean differences by covariate with the ±0.1 guide lines."""
    n = len(balance)
    fig = _figure(6.0, max(1.6, 0.4 * n + 1.0))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.scatter(balance[smd].astype(float), y, color="#1b6ca8")
    for v in (-0.1, 0.1):
        ax.axvline(v, color="grey", linestyle=":", linewidth=1)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(y, labels=[str(s) for s in balance[covariate]], fontsize=8)
    ax.set_xlabel("Standardised mean difference")
    return fig


def presence_bars(table: pd.DataFrame, *, measure: str = "presence_minutes",
                  treatment: str = "treatment", control: str = "control",
                  ylabel: str = "Minutes per hot-spot-day") -> Figure:
    """Baseline vs trial activity per hot-spot-day by arm, one panel per source.

    ``table`` is :meth:`rct.dosage.baseline.Uplift.tidy` output (several
    sources stacked): columns ``source, measure, baseline_treatment,
    baseline_control, trial_treatment, trial_control``.
    """
    rows = table[table["measure"] == measure]
    n = max(len(rows), 1)
    fig = _figure(3.4 * n + 0.6, 3.4)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (_, r) in zip(axes, rows.iterrows(), strict=False):
        labels = [f"{treatment}\nbaseline", f"{treatment}\ntrial", f"{control}\nbaseline",
                  f"{control}\ntrial"]
        vals = [r["baseline_treatment"], r["trial_treatment"], r["baseline_control"],
                r["trial_control"]]
        cols = [ARM_COLOURS["baseline"], _colour(treatment, 0), ARM_COLOURS["baseline"],
                _colour(control, 1)]
        ax.bar(range(4), np.nan_to_num(np.asarray(vals, dtype=float)), color=cols)
        ax.set_xticks(range(4), labels=labels, fontsize=7)
        ax.set_title(str(r["source"]), fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
    return fig


_RATIO_TICKS = ((0.01, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 100.0),  # first choice
                (0.75, 1.5, 0.2, 5.0, 0.33, 3.0, 0.67, 1.33, 0.05, 20.0, 0.02, 50.0))


def _ratio_ticks(a: float, b: float) -> list[float]:
    """Readable ratio ticks in ``[a, b]`` no closer than 1/9 of the log range."""
    gap = np.log(b / a) / 9
    chosen: list[float] = []
    for t in (*_RATIO_TICKS[0], *_RATIO_TICKS[1]):
        if a <= t <= b and all(abs(np.log(t / c)) >= gap for c in chosen):
            chosen.append(t)
    return sorted(chosen)


def meta_forest_plot(result, *, title: str | None = None, xlabel: str | None = None) -> Figure:
    """Forest plot of a meta-analysis (:func:`rct.evaluate.meta.meta_analysis`).

    ``result`` is the :class:`~rct.evaluate.results.Estimate` or its ``to_dict()``.  One
    row per trial (a square whose area is proportional to its weight, with its interval),
    the pooled effect as a diamond spanning its interval, and the prediction interval as
    a dashed line on the row below; a text column gives each estimate, interval and
    weight.  Log rate ratios are drawn on a log axis labelled in ratios (0.5, 0.75, 1,
    1.5 ...).
    """
    from matplotlib.patches import Polygon
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    det = d["details"]
    studies = det["studies"]
    ratio = det.get("scale") == "log_ratio"
    pooled = d["terms"][1] if ratio else d["terms"][0]
    k = len(studies)
    keys = ("ratio", "ratio_low", "ratio_high") if ratio else ("yi", "conf_low", "conf_high")
    est, lo, hi = (np.array([s[c] for s in studies], dtype=float) for c in keys)
    pi = (det["pi_low_ratio"], det["pi_high_ratio"]) if ratio else (det["pi_low"], det["pi_high"])
    w = np.array([s["weight"] for s in studies], dtype=float)
    fig = _figure(8.0, 0.42 * k + 2.6)
    grid = fig.add_gridspec(1, 2, width_ratios=(3.0, 1.6), wspace=0.0)
    ax = fig.add_subplot(grid[0, 0])
    tx = fig.add_subplot(grid[0, 1], sharey=ax)
    y = np.arange(k, 0, -1) + 0.5
    blue, dark, red = "#1b6ca8", "#16324f", "#d1495b"
    ax.hlines(y, lo, hi, color=dark, linewidth=1.3)
    ax.scatter(est, y, marker="s", s=25 + 225 * w / w.max(), color=blue, edgecolor=dark,
               zorder=3)
    pe, pl, ph = pooled["estimate"], pooled["conf_low"], pooled["conf_high"]
    ax.add_patch(Polygon([(pl, 0), (pe, 0.34), (ph, 0), (pe, -0.34)], closed=True,
                         facecolor=dark, edgecolor=dark, zorder=4))
    ax.hlines(-1, pi[0], pi[1], color=red, linewidth=1.8, linestyle=(0, (4, 2)))
    ax.vlines(pi, -1.2, -0.8, color=red, linewidth=1.8)
    null = 1.0 if ratio else 0.0
    ax.axvline(null, color="grey", linestyle="--", linewidth=1, zorder=0)
    lims = np.array([*lo, *hi, *pi, pl, ph, null], dtype=float)
    lims = lims[np.isfinite(lims)]
    if ratio:
        ax.set_xscale("log")
        a, b = lims.min() / 1.12, lims.max() * 1.12
        ax.set_xlim(a, b)
        ax.xaxis.set_major_locator(FixedLocator(_ratio_ticks(a, b)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        pad = 0.08 * (lims.max() - lims.min() or 1.0)
        ax.set_xlim(lims.min() - pad, lims.max() + pad)
    ax.set_ylim(-1.7, k + 1.3)
    ax.set_yticks([*y, 0, -1], labels=[s["label"] for s in studies]
                  + ["Pooled", "Prediction interval"], fontsize=9)
    ax.get_yticklabels()[-2].set_fontweight("bold")
    ax.get_yticklabels()[-1].set_color(red)
    ax.tick_params(axis="x", labelsize=9)
    level = f"{1 - float(d.get('alpha', 0.05)):.0%}"
    ax.set_xlabel(xlabel or (f"Rate ratio ({level} CI, log scale); below 1 = fewer crimes"
                             if ratio else f"Estimate ({level} CI)"), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    tx.axis("off")
    tx.set_xlim(0, 1)

    def fmt(v: float) -> str:
        if ratio and 0 < abs(v) < 0.01:
            return f"{v:.2g}"
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"

    head = dict(fontsize=9, fontweight="bold", va="center")
    tx.text(0.04, k + 0.9, f"{'Ratio' if ratio else 'Estimate'} [{level} CI]", **head)
    tx.text(0.97, k + 0.9, "Weight", ha="right", **head)
    rows = [(yy, f"{fmt(e)} [{fmt(a_)}, {fmt(b_)}]", f"{ww:.1f}%", {})
            for yy, e, a_, b_, ww in zip(y, est, lo, hi, w, strict=True)]
    rows += [(0, f"{fmt(pe)} [{fmt(pl)}, {fmt(ph)}]", "100%", {"fontweight": "bold"}),
             (-1, f"[{fmt(pi[0])}, {fmt(pi[1])}]", "", {"color": red})]
    for yy, left, right, kw in rows:
        tx.text(0.04, yy, left, fontsize=9, va="center", **kw)
        tx.text(0.97, yy, right, fontsize=9, ha="right", va="center", **kw)
    method = str(d.get("method", ""))
    how = "Fixed effect" if method.startswith("fixed") else (
        f"Random effects ({det.get('tau2_method', '')}"
        + (", Knapp-Hartung)" if det.get("knha") else ")"))
    qp = det["Q_p"]
    ax.set_title(title or f"{how}, {k} trials\ntau\u00b2 = {det['tau2']:.3g}, "
                 f"I\u00b2 = {det['I2']:.0f}%, Q = {det['Q']:.2f} "
                 f"(p {'< 0.001' if qp < 0.001 else f'= {qp:.3f}'})", fontsize=10, loc="left")


def sequential_plot(looks: pd.DataFrame, *, exponentiate: bool | None = None,
                    title: str | None = None, x: str = "label",
                    ylabel: str | None = None) -> Figure:
    """Sequential monitoring: the estimate at each look, its sequential interval and the
    boundary, with the first crossing marked.

    ``looks`` is :meth:`rct.evaluate.sequential.SequentialAnalysis.tidy` output (columns
    ``estimate, conf_low, conf_high, boundary_low, boundary_high, crossed, after_stop,
    scale`` and ``x``, e.g. ``label``).  ``exponentiate`` (default: when ``scale`` is
    ``"log_ratio"``) shows rate ratios on a log axis.  The vertical range follows the
    estimates; interval limits beyond it (infinite ones: a look that cannot yet reject,
    or a one-sided bound) run off the edge, and a look without a finite boundary has no
    boundary point.  The title says whether a boundary was crossed.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig = _figure(7.0, 3.8)
    ax = fig.add_subplot()
    if exponentiate is None:
        exponentiate = bool(len(looks)) and str(looks["scale"].iloc[0]) == "log_ratio"
    est = looks["estimate"].to_numpy(dtype=float)
    lo = looks["conf_low"].to_numpy(dtype=float)
    hi = looks["conf_high"].to_numpy(dtype=float)
    null = 0.0
    # vertical range: the estimates and the null, padded by the typical interval half-width
    half = np.nanmedian(np.where(np.isfinite(hi - lo), (hi - lo) / 2, np.nan)) \
        if np.isfinite(hi - lo).any() else 0.5
    span_lo = min(np.nanmin(est), null) - 1.5 * half
    span_hi = max(np.nanmax(est), null) + 1.5 * half
    pad = 0.02 * (span_hi - span_lo)
    lo_c = np.clip(lo, span_lo - pad, span_hi + pad)
    hi_c = np.clip(hi, span_lo - pad, span_hi + pad)
    f = np.exp if exponentiate else (lambda v: v)
    xs = np.arange(len(looks))
    ax.fill_between(xs, f(lo_c), f(hi_c), color="#bcd4e6", alpha=0.7,
                    label="sequential interval")
    ax.plot(xs, f(est), marker="o", markersize=3, color="#1b6ca8", label="estimate")
    first = True
    for col in ("boundary_low", "boundary_high"):
        b = looks[col].to_numpy(dtype=float)
        b = np.where(np.isfinite(b), b, np.nan)
        if np.isfinite(b).any():
            ax.plot(xs, f(b), color="#d1495b", linestyle="--", linewidth=1.2, marker=".",
                    markersize=3, label="boundary" if first else None)
            first = False
    ax.axhline(f(null), color="grey", linewidth=0.8)
    crossed = looks["crossed"].to_numpy(dtype=bool) & ~looks["after_stop"].to_numpy(dtype=bool)
    if crossed.any():
        k = int(np.argmax(crossed))
        ax.plot([xs[k]], [f(est[k])], marker="*", markersize=14, color="#d1495b",
                linestyle="none", label="boundary crossed")
        default = f"Boundary crossed at look {k + 1} ({looks[x].iloc[k]})"
    else:
        default = "No boundary crossed"
    ax.set_ylim(f(span_lo), f(span_hi))
    if exponentiate:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0, 7.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    n = len(looks)
    step = max(1, n // 12)
    ax.set_xticks(xs[::step], labels=[str(v) for v in looks[x].iloc[::step]], fontsize=7,
                  rotation=45, ha="right")
    ax.set_ylabel(ylabel or ("Rate ratio (tasked / untasked)" if exponentiate else "Estimate"))
    ax.set_xlabel("Look")
    ax.set_title(title or default, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return fig


def feedback_plot(table: pd.DataFrame, *, label: str = "hotspot_id") -> Figure:
    """Per-hot-spot feedback: each hot spot's own rate ratio interval (grey) and the shrunk
    one (blue), on a log axis; :meth:`rct.evaluate.feedback.HotspotFeedback.tidy` output.
    A hot spot with no crime in the window has no raw interval."""
    n = len(table)
    fig = _figure(7.0, max(2.0, 0.22 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    raw_lo = table["raw_low"].to_numpy(dtype=float)
    raw_hi = table["raw_high"].to_numpy(dtype=float)
    ok = np.isfinite(raw_lo) & np.isfinite(raw_hi) & (raw_lo > 0)
    ax.hlines(y[ok] + 0.15, raw_lo[ok], raw_hi[ok], color="#8a8a8a", linewidth=1.5,
              label="this hot spot's weeks alone")
    ax.plot(table["raw_rate_ratio"].to_numpy(dtype=float)[ok], y[ok] + 0.15, "o", color="#8a8a8a",
            markersize=3)
    ax.hlines(y - 0.15, table["conf_low"], table["conf_high"], color="#1b6ca8", linewidth=2,
              label="shrunk toward the trial-wide effect")
    ax.plot(table["estimate"], y - 0.15, "o", color="#1b6ca8", markersize=3)
    from matplotlib.ticker import FuncFormatter

    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(y, labels=[str(s) for s in table[label]], fontsize=6)
    ax.set_xlabel("Rate ratio, tasked vs untasked days (feedback, not a test)")
    ax.legend(fontsize=7, loc="best")
    return fig
