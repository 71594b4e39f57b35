"""Calibration of the estimates by site and by shift (:mod:`rct.plan.subgroups`).

A two-site, two-shift crossover (2 sites x 6 places x 2 shifts = 24 hot-spot-shift units,
3 of 6 tasked per site and shift each day, 42 days), crimes per unit-day
``Poisson(rate_w g_place e_ud irr^z)`` with place heterogeneity ``g ~ Gamma(2)`` shared by
a place's shifts, day-level overdispersion ``e ~ Gamma(4)`` and night twice as busy as
day (0.15 / 0.3 crimes per unit-day).  Each replicate draws its own schedule from the
design and its own 199 reference schedules, and runs exactly what ``rct evaluate`` runs
for the subgroups (:func:`rct.plan.subgroups.subgroup_estimates`).

Scenarios: ``site`` (IRR 0.6 in north, 1.0 in south, either shift), ``shift`` (IRR 0.6 at
night, 1.0 by day, either site) and ``none`` (0.8 everywhere: the size of the tests of
heterogeneity).

    PYTHONPATH=. python tests/plan/_subgroup_sim.py 200 1     # replicates per scenario, seed
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pandas as pd

SCENARIOS = {"site": {"north": 0.6, "south": 1.0}, "shift": {"night": 0.6, "day": 1.0},
             "none": {}}
RATES = {"day": 0.15, "night": 0.3}
DRAWS = 199


class _Observed:
    """A design with another observed assignment (one replicate's schedule)."""

    def __init__(self, design, z):
        self.parent, self.units, self.assignment = design, design.units, z

    def draw(self, n, rng):
        return self.parent.draw(n, rng)

    def enumerate(self, limit=100_000, **kw):
        return None


def _design():
    from rct.randomise import crossover

    rows = [(f"H{i:02d}-{w}", "north" if i < 6 else "south", w, a, b)
            for i in range(12) for w, (a, b) in (("day", ("06:00", "18:00")),
                                                 ("night", ("18:00", "06:00")))]
    u = pd.DataFrame(rows, columns=["hotspot_id", "site", "window", "window_start",
                                    "window_end"])
    return crossover(u, start="2021-10-18", days=42, sites="site", windows="auto", per_day=3,
                     seed=11)


def run(scenario: str, reps: int, seed: int) -> pd.DataFrame:
    """One row per replicate x subgroup: truth, RI and model intervals, heterogeneity p."""
    from rct.evaluate.crossover import ConditionalPoissonLogRR, crossover_poisson
    from rct.evaluate.ri import randomisation_test, reference_assignments, ri_estimate
    from rct.plan.subgroups import subgroup_estimates

    d = _design()
    uid = np.array([u for u, _ in d.units], dtype=object)
    udate = np.array([t for _, t in d.units], dtype=object)
    site = np.array([d.sites[d.ids.index(u)] for u in uid], dtype=object)
    win = np.array([d.windows[d.ids.index(u)] for u in uid], dtype=object)
    place = np.array([u.split("-")[0] for u in uid], dtype=object)
    eff = SCENARIOS[scenario]
    irr = np.array([eff.get(s, eff.get(w, 0.8)) for s, w in zip(site, win, strict=True)])
    rate = np.array([RATES[w] for w in win])
    _, pcode = np.unique(place, return_inverse=True)
    dims = {"site": site} if scenario == "site" else {"shift": win} if scenario == "shift" \
        else {"site": site, "shift": win}
    rng = np.random.default_rng(seed)
    observed = d.draw(reps, rng)
    rows = []
    for r in range(reps):  # one trial per replicate (the estimators are vectorised inside)
        z = observed[r].astype(np.int8)
        g = rng.gamma(2.0, 0.5, pcode.max() + 1)[pcode]
        e = rng.gamma(4.0, 0.25, len(uid))
        y = rng.poisson(rate * g * e * np.where(z == 1, irr, 1.0)).astype(float)
        des = _Observed(d, z)
        ref = reference_assignments(des, draws=DRAWS, rng=rng, exact_limit=0)
        panel = pd.DataFrame({"hotspot_id": uid, "trial_date": udate, "crimes": y,
                              "tasked": z})
        stat = ConditionalPoissonLogRR(uid)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            pooled = ri_estimate(randomisation_test(des, y, stat, effect="multiplicative",
                                                    reference=ref), outcome="crimes",
                                 n=len(y), term="tasked")
            _, summary = subgroup_estimates(
                des, y, groups=dims, make_stat=lambda idx: ConditionalPoissonLogRR(uid[idx]),
                model=lambda idx, panel=panel: crossover_poisson(panel.iloc[idx], outcome="crimes"),
                reference=ref, outcome="crimes", effect="multiplicative",
                label="conditional Poisson", alpha=0.05, pooled=pooled, term="tasked")
        for by, s in summary.items():
            labels = dims[by]
            het = s["heterogeneity"]
            for lev in s["levels"]:
                truth = np.unique(irr[labels == lev["level"]])
                rows.append({
                    "scenario": scenario, "rep": r, "by": by, "level": lev["level"],
                    "truth": float(truth[0]) if len(truth) == 1 else math.nan,
                    "ri_low": lev["conf_low"] or 0.0, "ri_high": lev["conf_high"] or math.inf,
                    "model_low": lev["model_conf_low"], "model_high": lev["model_conf_high"],
                    "het_ri_p": het.get("randomisation", {}).get("p_value", math.nan),
                    "het_q_p": het.get("Q_p", math.nan)})
    return pd.DataFrame(rows)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the 95 % intervals per scenario and group, and heterogeneity rejections."""
    df = df.copy()
    df["ri_cover"] = (df["ri_low"] <= df["truth"]) & (df["truth"] <= df["ri_high"])
    df["model_cover"] = (df["model_low"] <= df["truth"]) & (df["truth"] <= df["model_high"])
    cov = df[df["truth"].notna()].groupby(["scenario", "by", "level", "truth"]).agg(
        n=("rep", "size"), ri_coverage=("ri_cover", "mean"),
        model_coverage=("model_cover", "mean")).reset_index()
    het = df.drop_duplicates(["scenario", "rep", "by"]).groupby(["scenario", "by"]).agg(
        n=("rep", "size"), het_ri_reject=("het_ri_p", lambda p: float((p <= 0.05).mean())),
        het_q_reject=("het_q_p", lambda p: float((p <= 0.05).mean()))).reset_index()
    return cov, het


if __name__ == "__main__":  # pragma: no cover - the calibration table of the report
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    out = pd.concat([run(s, reps, seed + i) for i, s in enumerate(SCENARIOS)])
    cov, het = table(out)
    pd.set_option("display.width", 160)
    print(cov.to_string(index=False))
    print(het.to_string(index=False))
