"""Power over grids of hot spots x days x effect, analytic and simulated."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from rct.errors import DesignError
from rct.power._core import check_choice
from rct.power.designs import crossover_power, parallel_power
from rct.power.simulate import CrossoverSpec, ParallelSpec, simulate_power

__all__ = ["power_grid", "CURVE_COLUMNS"]

CURVE_COLUMNS = ("design", "hotspots", "days", "reduction", "irr", "analytic_power")


def power_grid(
    *,
    design: str = "crossover",
    hotspots: Sequence[int],
    days: Sequence[float],
    reductions: Sequence[float],
    rate: float,
    share: float = 0.5,
    alpha: float = 0.05,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    harm_cv: float = 0.0,
    simulate: bool = False,
    n_sims: int = 1000,
    seed: int | None = None,
    **options: Any,
) -> Any:
    """Analytic (and optionally simulated) power at every hot spots x days x reduction.

    Returns a DataFrame with ``design, hotspots, days, reduction, irr,
    analytic_power, mde_reduction`` and, when ``simulate``, the simulated
    ``power, power_mcse, size, size_ok, bias, coverage``: the data behind
    power curves (:func:`rct.power.plot.power_curve`).  ``options`` go to
    :func:`~rct.power.designs.parallel_power` (e.g. ``estimator``).
    """
    import pandas as pd

    check_choice("design", design, ("crossover", "parallel"))
    if not (len(hotspots) and len(days) and len(reductions)):
        raise DesignError("hotspots, days and reductions each need at least one value")
    rng = np.random.default_rng(seed)
    rows = []
    for n, d, r in itertools.product(hotspots, days, reductions):
        if design == "crossover":
            res = crossover_power(
                hotspots=n, days=d, rate=rate, share=share, reduction=r, alpha=alpha,
                dispersion=dispersion, heterogeneity=heterogeneity, harm_cv=harm_cv,
            )  # fmt: skip
        else:
            res = parallel_power(
                hotspots=n, days=d, rate=rate, share=share, reduction=r, alpha=alpha,
                dispersion=dispersion, heterogeneity=heterogeneity, harm_cv=harm_cv, **options,
            )  # fmt: skip
        row = {
            "design": design,
            "hotspots": n,
            "days": d,
            "reduction": r,
            "irr": 1 - r,
            "analytic_power": res.power,
            "mde_reduction": res.mde_reduction,
        }
        if simulate:
            if design == "crossover":
                spec: Any = CrossoverSpec(int(n), int(d), int(round(share * n)))
                sim = simulate_power(
                    spec, rate=rate, reduction=r, n_sims=n_sims, alpha=alpha,
                    dispersion=dispersion, heterogeneity=heterogeneity, rng=rng,
                )  # fmt: skip
            else:
                spec = ParallelSpec(int(n), treated=int(round(share * n)))
                sim = simulate_power(
                    spec, rate=rate, reduction=r, n_sims=n_sims, alpha=alpha, days=d,
                    dispersion=dispersion, heterogeneity=heterogeneity, rng=rng,
                    estimator=options.get("estimator"),
                )  # fmt: skip
            row.update(
                power=sim.power,
                power_mcse=sim.power_mcse,
                size=sim.size,
                size_ok=sim.size_ok,
                bias=sim.bias,
                coverage=sim.coverage,
            )
        rows.append(row)
    return pd.DataFrame(rows)
