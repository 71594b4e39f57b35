"""Simulation study: residual deterrence and the bias of the crossover analyses (issue 14).

Truth: a rate ratio r = 0.85 on tasked hot-spot-days and on the K untasked
days after the last tasked day (K = 1..4 days of residual deterrence), none
afterwards.  For the default design (rct-randomise/2: 45 hot spots, 22 a day,
182 days, equal coverage) and, for comparison, the rct-randomise/1 schedules
and a washout design, each replicate draws a fresh schedule from the design
and Poisson counts with hot-spot rates ~ Gamma(4, 5) (mean 20 a day, so
the Monte Carlo error is small; the biases below do not depend on the rate)
and a smooth day effect, and estimates log r by

* the default analysis: FE Poisson, tasked vs untasked days, no lags (for
  the washout design also without its flagged washout days);
* the additive distributed lag (``crossover_carryover``, 4 lags, Poisson);
* the carryover model (``distributed_lag``, since-last form, 4 days, Poisson).

Bias is reported relative to |log r|.  Goal (issue 14): the carryover model
within 10 % of log r for every K; the test fails if it regresses.  The table
in docs/carryover.md is this study's output:

    PYTHONPATH=. python tests/evaluate/test_carryover_simulation.py
"""

from __future__ import annotations

import numpy as np
import pytest

from rct.evaluate.carryover import carryover_matrix, crossover_carryover, distributed_lag
from rct.evaluate.crossover import crossover_poisson
from rct.randomise import crossover
from rct.randomise.crossover import washout_flags

RR = 0.85
N, D, K_DAY = 45, 182, 22
REPLICATES = 30


def simulate(K: int, *, replicates: int = REPLICATES, algorithm: str = "rct-randomise/2",
             washout: int = 0, models: tuple[str, ...] = ("default", "lags", "since-last"),
             seed: int = 14) -> dict[str, np.ndarray]:
    """Estimates of log r per model over ``replicates`` trials (one row per replicate)."""
    ids = [f"h{i:02d}" for i in range(N)]
    design = crossover(ids, start="2021-06-07", days=D, per_day=K_DAY, seed=seed,
                       algorithm=algorithm, washout=washout)
    rng = np.random.default_rng(seed + 1000 * K + washout)
    schedules = design.draw_schedules(replicates, rng)  # fresh schedules from the design
    units = design.units.to_frame(index=False)
    season = 1 + 0.3 * np.sin(np.arange(D) / 20)
    out: dict[str, list[float]] = {m: [] for m in models}
    cumulative = []
    for sched in schedules:
        z = sched.T  # (N, D)
        X = carryover_matrix(z[None], 4, "since-last")[0]
        exposed = X[0] + X[1 : K + 1].sum(axis=0)  # tasked, or within K days after the last
        lam = rng.gamma(4.0, 5.0, N)
        y = rng.poisson(lam[:, None] * season[None, :] * RR**exposed).ravel()
        panel = units.assign(crimes=y, tasked=z.ravel().astype(np.int8))
        if "default" in models:
            out["default"].append(np.log(crossover_poisson(panel, vcov="CR1").terms[0].estimate))
        if "drop-washout" in models:  # the default analysis without the flagged washout days
            keep = ~washout_flags(sched, washout).T.ravel()
            out["drop-washout"].append(np.log(crossover_poisson(panel[keep], vcov="CR1").terms[0].estimate))
        if "lags" in models:
            out["lags"].append(np.log(crossover_carryover(panel, lags=4, model="poisson")
                                      .terms[0].estimate))
        if "since-last" in models:
            try:
                est = distributed_lag(panel, lags=4, vcov="CR1")  # bias only: no CR2 needed
            except ValueError:  # not identified: alternating (v1) schedules
                out["since-last"].append(np.nan)
                cumulative.append(np.nan)
                continue
            out["since-last"].append(np.log(est.terms[0].estimate))
            cumulative.append(np.log(est.term("cumulative").estimate))
    res = {m: np.array(v) for m, v in out.items()}
    if cumulative:
        res["cumulative"] = np.array(cumulative)
    return res


def _bias(v: np.ndarray) -> tuple[float, float]:
    t = abs(np.log(RR))
    return (v.mean() - np.log(RR)) / t, v.std(ddof=1) / np.sqrt(len(v)) / t


@pytest.mark.slow
def test_carryover_model_meets_the_bias_goal_and_the_default_analysis_does_not():
    for K in (1, 2, 3, 4):
        res = simulate(K, models=("default", "since-last"))
        b, se = _bias(res["since-last"])
        assert abs(b) <= 0.10, f"K={K}: carryover model bias {100 * b:+.1f} % (MC se {100 * se:.1f} %)"
        assert se < 0.025  # the study is precise enough to see a 10 % bias
        bd, sed = _bias(res["default"])
        # residual deterrence on untasked days pulls the same-day comparison towards 1
        assert bd > 0.3 and bd > b + 8 * np.hypot(se, sed), (K, bd, b)
        # the cumulative effect of an isolated tasked day is (K + 1) log r
        cum = res["cumulative"].mean() / ((K + 1) * np.log(RR))
        assert cum == pytest.approx(1.0, abs=0.12), (K, cum)


@pytest.mark.slow
def test_washout_design_is_analysed_with_its_washout_days_as_carryover_days():
    res = simulate(2, washout=2, models=("default", "drop-washout", "since-last"), replicates=20)
    b, se = _bias(res["drop-washout"])  # washout days dropped: within the 10 % goal
    assert abs(b) <= 0.10, (b, se)
    b, se = _bias(res["since-last"])  # washout days modelled: unbiased, but noisier here
    assert abs(b) <= 3 * se, (b, se)
    assert _bias(res["default"])[0] > 0.3  # washout days used as controls: badly biased


def table(replicates: int = REPLICATES) -> str:
    """The markdown table of docs/carryover.md."""
    lines = ["| carryover days K | design | default analysis | additive lags (4) | "
             "carryover model (since-last, 4) | cumulative / ((K+1) log r) |",
             "|---|---|---|---|---|---|"]
    extra = []
    for K in (1, 2, 3, 4):
        for label, kw in (("rct-randomise/2", {}), ("rct-randomise/1", {"algorithm": "rct-randomise/1"}),
                          ("washout 2 (v2)", {"washout": 2})):
            if label.startswith("washout") and K != 2:
                continue
            models = ("default", "lags", "since-last")
            if "washout" in kw:
                models += ("drop-washout",)
            res = simulate(K, replicates=replicates, models=models, **kw)
            if "drop-washout" in res:
                b, se = _bias(res["drop-washout"])
                extra.append(f"Washout design, K = {K}, default analysis without the washout "
                             f"days: {np.exp(res['drop-washout'].mean()):.3f} ({100 * b:+.1f} % "
                             f"± {100 * se:.1f}; SD {res['drop-washout'].std(ddof=1):.3f}).")
            cells = []
            for m in ("default", "lags", "since-last"):
                if np.isnan(res[m]).any():
                    cells.append(f"not identified in {int(np.isnan(res[m]).sum())} of "
                                 f"{len(res[m])} schedules")
                    continue
                b, se = _bias(res[m])
                sd = res[m].std(ddof=1)
                cells.append(f"{np.exp(res[m].mean()):.3f} ({100 * b:+.1f} % ± {100 * se:.1f}; "
                             f"SD {sd:.3f})")
            cum = res["cumulative"].mean() / ((K + 1) * np.log(RR))
            cum_cell = "-" if np.isnan(cum) else f"{cum:.2f}"
            lines.append(f"| {K} | {label} | " + " | ".join(cells) + f" | {cum_cell} |")
    return "\n".join(lines + [""] + extra)


if __name__ == "__main__":
    print(table())
