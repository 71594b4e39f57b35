"""Power curves as PNG/SVG.

matplotlib is imported only inside :func:`power_curve` (DESIGN: nothing
below ``reports`` imports matplotlib at module level); the reports helper
can call it, or draw its own figure from :func:`rct.power.grid.power_grid`'s
DataFrame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["power_curve"]


def power_curve(
    grid: Any,
    *,
    x: str = "days",
    hue: str = "reduction",
    out: str | Path | None = None,
    target: float = 0.8,
    title: str | None = None,
) -> Any:
    """Draw power against ``x`` with one line per ``hue`` value; save to ``out`` (.png/.svg).

    ``grid`` is a :func:`~rct.power.grid.power_grid` DataFrame; simulated
    power (with +/- 2 Monte Carlo SE bars) is drawn over the analytic curve
    when present.  Returns the matplotlib Figure.
    """
    import matplotlib

    if out is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from rct.io.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for key, sub in grid.groupby(hue, sort=True):
        sub = sub.sort_values(x)
        label = f"{hue} {100 * key:.0f} %" if hue == "reduction" else f"{hue} {key}"
        (line,) = ax.plot(sub[x], sub["analytic_power"], label=label)
        if "power" in sub:
            ax.errorbar(
                sub[x], sub["power"], yerr=2 * sub["power_mcse"], fmt="o", ms=3,
                color=line.get_color(), capsize=2,
            )  # fmt: skip
    ax.axhline(target, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1)
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel("power")
    ax.set_title(title or "Power (lines analytic; points simulated, ±2 MC SE)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if out is not None:
        out = Path(out)
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg"):
            plt.close(fig)
            raise ValueError(f"plot format must be one of 'png', 'svg'; got {fmt!r}")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
        plt.close(fig)
    return fig
