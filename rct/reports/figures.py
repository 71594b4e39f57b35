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
    "log_ticks",
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # a real canvas: text extents can be measured before saving
    return fig


def _colour(name: str, i: int) -> str:
    return ARM_COLOURS.get(str(name), _OTHER[i % len(_OTHER)])


def hotspot_map(hotspots: gpd.GeoDataFrame, *, arm: pd.Series | None = None,
                title: str = "Hot spots", max_panels: int = 9) -> Figure:
    """Hot spots in British National Grid metres, coloured by arm; no web tiles.

    The first axes is the overview, zoomed to the hot spots' bounds (plus a
    margin).  Hot spots too close together to label at that scale are grouped
    (single-linkage clusters at 4 % of the map's span); each group gets a
    lettered box on the overview and a zoomed panel of its own below, where
    the polygons are visible and every hot spot is labelled.  Isolated hot
    spots are labelled on the overview; labels are placed so they do not
    overlap each other (:func:`_place_labels`).  ``max_panels`` caps the panels
    (the clustering threshold grows until the groups fit).  The layout is
    fixed once the labels are placed, so what was checked is what is saved.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Polygon, Rectangle

    gdf = (hotspots.to_crs(27700) if hotspots.crs is not None else hotspots).reset_index(drop=True)
    ids = gdf["hotspot_id"].astype(str).to_numpy()
    labels = (arm.reindex(ids).fillna("not allocated").astype(str).to_numpy() if arm is not None
              else np.array(["hot spot"] * len(gdf)))
    groups = list(dict.fromkeys(labels))
    colour = {g: _colour(g, i if g != "hot spot" else 2) for i, g in enumerate(groups)}
    cent = gdf.geometry.representative_point()
    pts = np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])
    x0, y0, x1, y1 = gdf.total_bounds
    span = max(x1 - x0, y1 - y0, 1.0)
    cluster = _clusters(pts, 0.04 * span, max_panels)
    sizes = np.bincount(cluster)
    multi = [k for k in np.unique(cluster) if sizes[k] > 1]
    n_rows = -(-len(multi) // 3)
    fig = _figure(7.0, 5.2 + 2.5 * n_rows)
    grid = fig.add_gridspec(1 + n_rows, 3, height_ratios=[5.2] + [2.5] * n_rows)
    ax = fig.add_subplot(grid[0, :])
    shapes = [_rings(geom) for geom in gdf.geometry]
    radius = np.array([max(b[2] - b[0], b[3] - b[1]) / 2 for b in gdf.geometry.bounds.to_numpy()])

    def draw(target, sel):
        patches = [Polygon(r, closed=True) for i in np.flatnonzero(sel) for r in shapes[i]]
        cols = [colour[labels[i]] for i in np.flatnonzero(sel) for _ in shapes[i]]
        target.add_collection(PatchCollection(patches, facecolor=cols, edgecolor="black",
                                              linewidth=0.4, zorder=2))

    draw(ax, np.ones(len(gdf), bool))
    for g in groups:  # a marker for each hot spot: visible however far out the map is
        sel = labels == g
        ax.scatter(pts[sel, 0], pts[sel, 1], s=14, color=colour[g], edgecolor="black",
                   linewidth=0.4, zorder=3)
    letters = {k: chr(ord("A") + i) for i, k in enumerate(multi)}
    boxes = []
    for k in multi:
        bx0, by0, bx1, by1 = gdf[cluster == k].total_bounds
        pad = 0.012 * span
        ax.add_patch(Rectangle((bx0 - pad, by0 - pad), bx1 - bx0 + 2 * pad, by1 - by0 + 2 * pad,
                               fill=False, edgecolor="#444444", linewidth=0.8, zorder=4))
        boxes.append((letters[k], (bx0 - pad, by1 + pad), 0.0))
    margin = 0.06 * span + 150.0
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y0 - margin, y1 + margin)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Easting (m)", fontsize=8)
    ax.set_ylabel("Northing (m)", fontsize=8)
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Patch(color=colour[g], label=str(g)) for g in groups],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    panels = []
    for i, k in enumerate(multi):
        pax = fig.add_subplot(grid[1 + i // 3, i % 3])
        sel = cluster == k
        draw(pax, sel)
        bx0, by0, bx1, by1 = gdf[sel].total_bounds
        half = max(bx1 - bx0, by1 - by0, 600.0) / 2 + 150.0
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        pax.set_xlim(cx - half, cx + half)
        pax.set_ylim(cy - half, cy + half)
        pax.set_aspect("equal", adjustable="box")
        pax.set_xticks([])
        pax.set_yticks([])
        pax.set_title(f"{letters[k]}: {int(sel.sum())} hot spots", fontsize=8)
        _scale_bar(pax, 2 * half)
        panels.append((pax, [(ids[j], pts[j], radius[j]) for j in np.flatnonzero(sel)]))
    fig.canvas.draw()  # lay out once; labels are then placed in final display units
    fig.set_layout_engine("none")
    single = [i for i in range(len(gdf)) if sizes[cluster[i]] == 1]
    _place_labels(fig, ax, [(ids[i], pts[i], radius[i]) for i in single] + boxes,
                  bold={letter for letter, _, _ in boxes})
    for pax, texts in panels:
        _place_labels(fig, pax, texts)
    return fig


def _rings(geom) -> list[np.ndarray]:
    """Exterior rings of a (multi)polygon as coordinate arrays, for a PatchCollection."""
    parts = getattr(geom, "geoms", [geom])
    return [np.asarray(p.exterior.coords) for p in parts if hasattr(p, "exterior")]


def _clusters(pts: np.ndarray, threshold: float, max_groups: int) -> np.ndarray:
    """Single-linkage clusters (0-based labels); the threshold doubles until the multi-member
    clusters number at most ``max_groups``."""
    if len(pts) < 2:
        return np.zeros(len(pts), dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    z = linkage(pts, method="single")
    t = max(threshold, 1.0)
    while True:
        lab = fcluster(z, t, criterion="distance") - 1
        if (np.bincount(lab) > 1).sum() <= max_groups:
            return lab
        t *= 2


def _scale_bar(ax, width_m: float) -> None:
    """A labelled bar of a round length in the lower left of a map panel."""
    target = width_m / 4
    nice = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000]
    length = max([v for v in nice if v <= target] or [nice[0]])
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    x, y = x0 + 0.06 * (x1 - x0), y0 + 0.07 * (y1 - y0)
    ax.plot([x, x + length], [y, y], color="black", linewidth=2, solid_capstyle="butt")
    ax.text(x + length / 2, y + 0.025 * (y1 - y0),
            f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m",
            ha="center", va="bottom", fontsize=7)


def _place_labels(fig, ax, texts, *, bold=frozenset(), fontsize: float = 7.0) -> list:
    """Label points so no two labels overlap and each stays inside its axes.

    ``texts`` are ``(text, (x, y), radius_m)``: the label goes just outside a
    circle of ``radius_m`` metres round the point (the polygon), at the first
    of sixteen positions (eight directions, two distances) that overlaps no
    label already placed; a far position gets a thin leader line.  A label
    that fits nowhere goes to its first position.  Labels have a white halo.
    """
    import matplotlib.patheffects as pe

    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    (xa, xb) = ax.get_xlim()
    pt_per_m = frame.width / (xb - xa) * 72.0 / fig.dpi
    dirs = [(0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)]
    align = {-1: "right", 0: "center", 1: "left"}
    valign = {-1: "top", 0: "center", 1: "bottom"}
    from matplotlib.transforms import Bbox

    px_per_m = frame.width / (xb - xa)
    centres = ax.transData.transform(np.array([xy for _, xy, _ in texts], dtype=float)
                                     .reshape(-1, 2))
    # the hot spots themselves are obstacles too: a label never covers a polygon
    obstacles = [Bbox.from_extents(cx - r * px_per_m - 1, cy - r * px_per_m - 1,
                                   cx + r * px_per_m + 1, cy + r * px_per_m + 1)
                 for (cx, cy), (_, _, r) in zip(centres, texts, strict=True)]
    placed: list = []
    out = []
    halo = [pe.withStroke(linewidth=2.2, foreground="white")]
    for text, (x, y), r in texts:
        base = r * pt_per_m + 2.5
        chosen = None
        for dist, (dx, dy) in [(d, v) for d in (base, base + 9.0) for v in dirs]:
            norm = np.hypot(dx, dy)
            off = (dist * dx / norm, dist * dy / norm)
            a = ax.annotate(text, (x, y), xytext=off, textcoords="offset points",
                            ha=align[dx], va=valign[dy], fontsize=fontsize, zorder=6,
                            fontweight="bold" if text in bold else "normal", path_effects=halo,
                            arrowprops=(dict(arrowstyle="-", linewidth=0.5, color="#555555",
                                             shrinkA=0, shrinkB=0)
                                        if dist > base + 1 else None))
            bb = a.get_window_extent(renderer)
            inside = frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0 \
                and bb.y1 <= frame.y1
            if inside and not any(bb.overlaps(o) for o in placed) and \
                    not any(bb.overlaps(o) for o in obstacles):
                chosen = (a, bb)
                break
            a.remove()
        if chosen is None:  # nowhere free of polygons: settle for not covering other labels
            for dist, (dx, dy) in [(d, v) for d in (base, base + 9.0) for v in dirs]:
                norm = np.hypot(dx, dy)
                a = ax.annotate(text, (x, y), xytext=(dist * dx / norm, dist * dy / norm),
                                textcoords="offset points", ha=align[dx], va=valign[dy],
                                fontsize=fontsize, zorder=6, path_effects=halo)
                bb = a.get_window_extent(renderer)
                if frame.contains(bb.x0, bb.y0) and frame.contains(bb.x1, bb.y1) and \
                        not any(bb.overlaps(o) for o in placed):
                    chosen = (a, bb)
                    break
                a.remove()
        if chosen is None:
            a = ax.annotate(text, (x, y), xytext=(0, base), textcoords="offset points",
                            ha="center", va="bottom", fontsize=fontsize, zorder=6,
                            path_effects=halo)
            chosen = (a, a.get_window_extent(renderer))
        placed.append(chosen[1])
        out.append(chosen[0])
    return out


_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25,
              1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0)


_TICK_SETS = (  # finest first; each reads as round numbers on a ratio axis
    (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0),
    (0.25, 0.33, 0.5, 0.67, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0),
    (0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 5.0, 10.0),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
    (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
)


def log_ticks(lo: float, hi: float, *, max_ticks: int = 8) -> list[float]:
    """Round ratio ticks (0.5, 0.75, 1, 1.5, ...) within ``[lo, hi]`` for a log axis.

    The finest of a few round sets that puts 3 to ``max_ticks`` ticks in the
    range; failing that, the round values of :data:`_LOG_TICKS` thinned to an
    even spread in log space (1 first when inside); at least two ticks.
    """
    for ticks in _TICK_SETS:
        inside = [v for v in ticks if lo <= v <= hi]
        if 3 <= len(inside) <= max_ticks:
            return inside
    inside = [v for v in _LOG_TICKS if lo <= v <= hi]
    if len(inside) < 2:
        return [float(f"{v:.2g}") for v in np.geomspace(lo, hi, 3)]
    min_gap = (np.log(hi) - np.log(lo)) / (max_ticks + 1)
    while True:
        keep = [1.0] if 1.0 in inside else []
        for v in sorted(inside, key=lambda v: (abs(np.log(v)), v)):  # nearest 1 first
            if all(abs(np.log(v) - np.log(k)) >= min_gap for k in keep):
                keep.append(v)
        if len(keep) <= max_ticks:
            return sorted(keep)
        min_gap *= 1.15


def forest_plot(tidy: pd.DataFrame, *, label: str = "label", null: float = 0.0,
                xlabel: str = "Estimate (95 % CI)", log: bool = False,
                wrap: int = 48, values: bool = True) -> Figure:
    """Point estimates with intervals, one row each; ``null`` draws the no-effect line.

    ``log=True`` (ratios) draws a log axis with round ticks (0.5, 0.75, 1, 1.5
    ...; :func:`log_ticks`) and no minor tick labels.  Row labels wrap at
    ``wrap`` characters so none is cut; ``values`` prints each estimate and
    interval on the right.
    """
    import textwrap

    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    names = ["\n".join(textwrap.wrap(str(s), wrap)) or " " for s in tidy[label]]
    lines = [t.count("\n") + 1 for t in names]
    heights = np.maximum(np.asarray(lines, dtype=float), 1.6)
    fig = _figure(7.0, max(1.8, 0.17 * heights.sum() + 1.1))
    ax = fig.add_subplot()
    y = heights.sum() - (np.cumsum(heights) - heights / 2)
    est = tidy["estimate"].to_numpy(dtype=float)
    lo = tidy["conf_low"].to_numpy(dtype=float)
    hi = tidy["conf_high"].to_numpy(dtype=float)
    ax.errorbar(est, y, xerr=[np.abs(est - lo), np.abs(hi - est)], fmt="o", color="#1b6ca8",
                ecolor="#1b6ca8", capsize=3, markersize=4)
    ax.axvline(null, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels=names, fontsize=7.5)
    ax.set_ylim(0, heights.sum())
    ax.set_xlabel(xlabel, fontsize=8.5)
    if log:
        a = float(np.nanmin(np.r_[lo, est, null]))
        b = float(np.nanmax(np.r_[hi, est, null]))
        pad = (np.log(b) - np.log(a)) * 0.08 + 0.02
        xa, xb = float(np.exp(np.log(a) - pad)), float(np.exp(np.log(b) + pad))
        # widen a little to take in a round tick just outside (0.5 rather than 0.509)
        near = (np.log(xb) - np.log(xa)) * 0.12
        below = [v for v in _LOG_TICKS if v < xa and np.log(xa) - np.log(v) < near]
        above = [v for v in _LOG_TICKS if v > xb and np.log(v) - np.log(xb) < near]
        xa = below[-1] / 1.02 if below else xa
        xb = above[0] * 1.02 if above else xb
        ax.set_xscale("log")
        ax.set_xlim(xa, xb)
        ticks = log_ticks(xa, xb)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.tick_params(axis="x", labelsize=8)
    if values:
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(y, labels=[_ci_text(e, lo_, hi_) for e, lo_, hi_ in
                                    zip(est, lo, hi, strict=True)], fontsize=7.5)
        right.tick_params(axis="y", length=0)
    ax.tick_params(axis="y", length=0)
    return fig


def _ci_text(e: float, lo: float, hi: float) -> str:
    from rct.plan.headline import format_number

    return f"{format_number(e)} ({format_number(lo)} to {format_number(hi)})"


def randomisation_histogram(draws: np.ndarray | None, observed: float, *,
                            p_value: float | None = None,
                            xlabel: str = "Test statistic under the null",
                            edges: np.ndarray | None = None, counts: np.ndarray | None = None,
                            p_text: str | None = None) -> Figure:
    """The randomisation distribution of a statistic with the observed value marked.

    Either the ``draws`` themselves, or a histogram already binned by ``rct
    evaluate`` (``edges`` and ``counts``, as ``results.json`` stores it).
    ``p_text`` (e.g. ``"< 0.001"``) is shown in the legend instead of ``p_value``.
    """
    fig = _figure(7.0, 3.4)
    ax = fig.add_subplot()
    if edges is not None and counts is not None:
        c = np.asarray(counts, dtype=float)
        ax.stairs(c, np.asarray(edges, dtype=float), fill=True, color="#bcd4e6",
                  edgecolor="#6b8fb3")
        ylabel = "Assignments" if float(c.sum()).is_integer() else "Probability"
    else:
        d = np.asarray(draws, dtype=float)
        ax.hist(d[np.isfinite(d)], bins=40, color="#bcd4e6", edgecolor="#6b8fb3")
        ylabel = "Re-randomisations"
    ax.axvline(observed, color="#d1495b", linewidth=2, label="observed")
    if p_text is None and p_value is not None:
        from rct.reports.words import p_cell

        p_text = p_cell(p_value)
    title = None if p_text is None else (f"p {p_text}" if p_text.startswith("<")
                                         else f"p = {p_text}")
    ax.legend(title=title, fontsize=8, title_fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8.5)
    ax.set_ylabel(ylabel, fontsize=8.5)
    ax.tick_params(labelsize=8)
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
    return fig


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
