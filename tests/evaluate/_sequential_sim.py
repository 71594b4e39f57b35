"""Calibration of sequential monitoring by simulation (used by test_sequential.py and to
print the table in docs/sequential.md).

World (shaped like Thames Valley 1): ``H`` hot spots, ``K`` tasked each day at random,
``D`` trial days; hot-spot mean rates ``lambda_i ~ Gamma(shape 1, mean 0.2)`` crimes per
hot-spot-day (CV 1 across hot spots), a weekly pattern ``1 + 0.3 sin(2 pi d / 7)`` and
negative-binomial overdispersion within hot-spot-day (gamma mixing, shape 1):
``Y_id ~ Poisson(lambda_i w_d G_id)``, ``G_id ~ Gamma(1, 1)``.  Under the alternative
each tasked hot-spot-day's crimes are thinned binomially with probability 0.85 (a 15 %
reduction; the same worlds and schedules as the null, so the two are paired).

At every weekly look the effect is the conditional-Poisson log rate ratio with
hot-spot strata and SE clustered by hot spot, from cumulative per-hot-spot sums
(:func:`rct.evaluate.interim.stratified_log_rr`), all simulations and looks at once.

Methods (two-sided alpha = 0.05, crossing on either side counts under the null):
O'Brien-Fleming-type and Pocock-type Lan-DeMets spending at planned information
fractions ``week / weeks``; O'Brien-Fleming with spending by the *observed* amount of data, the
cumulative crimes ``E_k / E_max`` (``E_max`` the mean at the last look from a separate
pilot set of simulations, as a power calculation would supply it; the last look spends
what is left); the normal-mixture confidence sequence tightest at ``I_max`` (the pilot's
mean information ``1/SE^2`` at the last look);
and, for contrast, a naive 5 % test at every look.

Run ``python -m tests.evaluate._sequential_sim`` from the repository root to print the
table (more simulations than the test uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from rct.evaluate.interim import stratified_log_rr
from rct.evaluate.sequential import cs_mixing, cs_radius, gs_design, gs_observed

ALPHA = 0.05


@dataclass(frozen=True)
class World:
    hotspots: int = 45
    per_day: int = 22
    weeks: int = 52
    rate: float = 0.2
    hotspot_shape: float = 1.0
    nb_size: float = 1.0
    reduction: float = 0.15


def weekly_sums(world: World, sims: int, rng: np.random.Generator, *, chunk: int = 200):
    """Per simulation, week and hot spot: (Y1, Y0 under the null), Y1 under the
    alternative, T1, T0 — cumulative over weeks; arrays ``(sims, weeks, hotspots)``."""
    H, W = world.hotspots, world.weeks
    D = 7 * W
    out = {k: np.empty((sims, W, H)) for k in ("y1", "y0", "y1a", "t1")}
    week = 1 + 0.3 * np.sin(2 * np.pi * np.arange(D) / 7)
    for s0 in range(0, sims, chunk):  # memory-bounded chunks, vectorised within
        n = min(chunk, sims - s0)
        lam = rng.gamma(world.hotspot_shape, world.rate / world.hotspot_shape, (n, 1, H))
        keys = rng.random((n, D, H))
        kth = np.partition(keys, world.per_day - 1, axis=2)[:, :, world.per_day - 1:world.per_day]
        z = keys <= kth  # exactly per_day tasked each day
        mu = lam * week[None, :, None] * rng.gamma(world.nb_size, 1 / world.nb_size, (n, D, H))
        y = rng.poisson(mu)
        ya = np.where(z, rng.binomial(y, 1 - world.reduction), y)
        for key, v in (("y1", y * z), ("y0", y * ~z), ("y1a", ya * z), ("t1", z)):
            wk = v.reshape(n, W, 7, H).sum(axis=2)
            out[key][s0:s0 + n] = np.cumsum(wk, axis=1)
    t = 7 * np.arange(1, W + 1)[None, :, None]
    out["t0"] = t - out["t1"]
    return out


def normal_scale(b: np.ndarray, se: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ok, z)``: looks with an estimate and the t statistic mapped to the normal scale
    (``df = inf`` leaves it as it is), as :func:`rct.evaluate.sequential.sequential_test`
    does."""
    ok = np.isfinite(b) & np.isfinite(se) & (se > 0)
    t = np.where(ok, b / np.where(ok, se, 1.0), 0.0)
    d = np.where(ok, df, np.inf)
    z = np.where(t > 0, -special.ndtri(stats.t.sf(t, d)), special.ndtri(stats.t.cdf(t, d)))
    return ok, z


def crossings(ok: np.ndarray, z: np.ndarray, info: np.ndarray, events: np.ndarray, *,
              methods, i_max: float, e_max: float, observed_sims: int):
    """First crossing look per simulation for each method (``0`` = never; ``-1`` = not
    computed) and the sign of the statistic there.  Arrays ``(sims, weeks)``; looks
    without an estimate never cross."""
    S, W = z.shape
    res: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    t = np.arange(1, W + 1) / W
    for m in methods:
        n_done = S
        if m in ("obrien-fleming", "pocock"):
            c = np.asarray(gs_design(t, alpha=ALPHA, sided=2, spending=m).critical_values)
            hit = ok & (np.abs(z) >= c[None, :])
        elif m == "naive":
            hit = ok & (np.abs(z) >= 1.959963984540054)
        elif m == "confidence-sequence":
            rho = cs_mixing(i_max, alpha=ALPHA)
            ii = np.where(ok, info, 1.0)
            c = cs_radius(ii, rho=rho, alpha=ALPHA) * np.sqrt(ii)  # on the z scale
            hit = ok & (np.abs(z) >= c)
        elif m == "obrien-fleming (observed crimes)":
            hit = np.zeros((S, W), dtype=bool)
            n_done = min(S, observed_sims)
            for s in range(n_done):  # one boundary recursion per simulation
                idx = np.flatnonzero(ok[s] & (np.diff(events[s], prepend=0) > 0))
                d = gs_observed(events[s, idx], max_information=e_max,
                                final=idx[-1] == W - 1, alpha=ALPHA, sided=2,
                                spending="obrien-fleming", grid=16)
                hit[s, idx] = np.abs(z[s, idx]) >= np.asarray(d.critical_values)
        else:
            raise ValueError(m)
        any_ = hit.any(axis=1)
        first = np.where(any_, np.argmax(hit, axis=1) + 1, 0)
        first[n_done:] = -1
        sign = np.sign(np.take_along_axis(z, np.maximum(first - 1, 0)[:, None], 1)[:, 0])
        res[m] = (first, sign)
    return res


METHODS = ("obrien-fleming", "pocock", "obrien-fleming (observed crimes)",
           "confidence-sequence", "naive")


def calibrate(world: World, sims: int, *, seed: int, observed_sims: int | None = None,
              pilot: int = 200, se: str = "cr2") -> list[dict]:
    """Size, power and expected stopping week of each method (one row per method)."""
    rng = np.random.default_rng(seed)
    pil = weekly_sums(world, pilot, rng)
    fit = stratified_log_rr(pil["y1"][:, -1], pil["y0"][:, -1], pil["t1"][:, -1],
                            pil["t0"][:, -1], se=se)
    i_max = float(np.nanmean(1 / fit.std_error**2))
    e_max = float(np.mean(pil["y1"][:, -1].sum(-1) + pil["y0"][:, -1].sum(-1)))
    data = weekly_sums(world, sims, rng)
    obs = sims if observed_sims is None else observed_sims
    kw = {"methods": METHODS, "i_max": i_max, "e_max": e_max, "observed_sims": obs}
    out = []
    for key in ("y1", "y1a"):  # null, then the 15 % reduction
        b, s, df = stratified_log_rr(data[key], data["y0"], data["t1"], data["t0"], se=se)
        ok, z = normal_scale(b, s, df)
        info = np.where(ok, 1 / np.where(ok, s, 1.0) ** 2, np.nan)
        out.append(crossings(ok, z, info, (data[key] + data["y0"]).sum(-1), **kw))
    null, alt = out
    rows = []
    for m in METHODS:
        f0, _ = null[m]
        f1, g1 = alt[m]
        n0 = int((f0 >= 0).sum())
        if n0 == 0:  # not run (observed_sims=0)
            continue
        size = float((f0 > 0).sum() / n0)
        good = (f1 > 0) & (g1 < 0)  # crossed showing a decrease
        n1 = int((f1 >= 0).sum())
        power = float(good.sum() / n1)
        stop = np.where(f1 > 0, f1, world.weeks)[f1 >= 0]
        rows.append({
            "method": m, "sims": n0, "size": size,
            "size_mc_se": math.sqrt(size * (1 - size) / n0),
            "power": power, "power_mc_se": math.sqrt(power * (1 - power) / n1),
            "expected_stop_week": float(stop.mean()),
            "median_stop_week": float(np.median(stop)),
            "stop_week_mc_se": float(stop.std(ddof=1) / math.sqrt(stop.size)),
            "i_max": i_max,
        })
    return rows


def fixed_sample(world: World, sims: int, *, seed: int, se: str = "cr2") -> tuple[float, float]:
    """Size and power of the single test at the last look (for the table's footnote)."""
    rng = np.random.default_rng(seed)
    d = weekly_sums(world, sims, rng)
    out = []
    for key in ("y1", "y1a"):
        fit = stratified_log_rr(d[key][:, -1], d["y0"][:, -1], d["t1"][:, -1], d["t0"][:, -1],
                                se=se)
        ok, z = normal_scale(*fit)
        out.append(float(np.mean(ok & (np.abs(z) >= 1.959963984540054))))
    return out[0], out[1]


def markdown(rows: list[dict], world: World) -> str:
    head = ("| method | size (MC SE) | power, 15 % reduction (MC SE) | expected stopping "
            "week (median) |\n|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['method']} ({r['sims']} sims) | {100 * r['size']:.2f} % "
                     f"({100 * r['size_mc_se']:.2f}) | {100 * r['power']:.1f} % "
                     f"({100 * r['power_mc_se']:.1f}) | {r['expected_stop_week']:.1f} "
                     f"({r['median_stop_week']:.0f}) |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the docs table
    import time

    for world, sims, obs in ((World(), 10_000, 2000),
                             (World(hotspots=20, per_day=8, weeks=13), 10_000, 2000)):
        t0 = time.perf_counter()
        rows = calibrate(world, sims, seed=20240601, observed_sims=obs)
        fs = fixed_sample(world, sims, seed=7)
        print(f"\n{world} ({time.perf_counter() - t0:.1f} s); I_max = {rows[0]['i_max']:.1f}; "
              f"single final test: size {100 * fs[0]:.2f} %, power {100 * fs[1]:.1f} %")
        print(markdown(rows, world))
    # for contrast: the plain CR1 sandwich
    rows = calibrate(World(), 10_000, seed=20240601, observed_sims=0, se="cluster")
    print("\nCR1 sandwich (G/(G-1)), t with G - 1 df (45 hot spots, 52 weeks):")
    print(markdown([r for r in rows if r["method"] in ("obrien-fleming", "pocock")], World()))
