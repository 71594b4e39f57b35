"""CPU seconds of `rct evaluate` on a simulated crossover, against the same estimators in the
well-kept libraries, timed in the same run (issue 16, goals 1 and 4).

1. ``rct simulate`` a crossover (default 300 hot spots x 365 days, 1,000 randomisation
   draws as its trial.toml asks), ``rct ingest crimes`` and ``rct ingest patrols``; then
   the CPU seconds (user + sys, children) of ``rct evaluate trial.toml --force`` in a
   subprocess.  Goal: <= 15 s at 300 x 365.
2. On the same panel, in this process: rct's two-way FE OLS with CR2 + Satterthwaite
   (:func:`rct.evaluate.crossover.crossover_fe`) against linearmodels ``PanelOLS``
   (``entity_effects``, ``time_effects``, ``cov_type="clustered"``, clustered by hot spot;
   a CR1 SE, less work than CR2), and rct's two-way FE Poisson with CR2
   (:func:`crossover_poisson`) against statsmodels ``GLM(Poisson)`` with hot-spot and day
   dummies and ``cov_type="cluster"`` (the fit a competent analyst would write without
   a fixed-effects Poisson package; CR1 SE).  The GLM peer forms an
   ``n x (N + D)`` dense design: it is run at 45 hot spots, and at 300 only with
   ``--glm`` (about 1 GB and minutes of CPU).

Also, in this process, the CPU of drawing the 1,000 assignments (``rct.randomise``) and of
the rest of the evaluation with those draws cached (imports done): the part of the
evaluation that is not the sampler's.

Prints one JSON line per case with CPU seconds and ``ratio`` = peer / rct (> 1: rct faster).
The machine is shared (2 cores): CPU seconds, not wall.

Run:  python benchmarks/evaluate_cpu.py [--quick] [--glm] [--hotspots N] [--days D]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rct(*args: str, cwd: Path) -> float:
    """Run the rct CLI in a subprocess; its CPU seconds (user + sys)."""
    before = _children_cpu()
    subprocess.run([sys.executable, "-c", "import sys; from rct.cli import entry; "
                    "sys.argv[0] = 'rct'; entry()", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)
    return _children_cpu() - before


def _timed(fn):
    t = _self_cpu()
    out = fn()
    return out, _self_cpu() - t


def _emit(**kw) -> None:
    print(json.dumps(kw, default=float), flush=True)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    glm_full = "--glm" in argv
    n_hs = int(argv[argv.index("--hotspots") + 1]) if "--hotspots" in argv else (45 if quick else 300)
    days = int(argv[argv.index("--days") + 1]) if "--days" in argv else 365
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _rct("simulate", "--out", "trial", "--hotspots", str(n_hs), "--days", str(days),
             "--seed", "2021", cwd=root)
        d = root / "trial"
        toml = (d / "trial.toml").read_text()
        base = toml.split("baseline = [")[1].split(",")[0].strip()
        end = toml.split("trial = [")[1].split("]")[0].split(",")[1].strip()
        start = toml.split("trial = [")[1].split(",")[0].strip()
        _rct("ingest", "crimes", "crimes.csv", "--hotspots", "hotspots.geojson", "--harm",
             "cchi-subgroup", "--start", base, "--end", end, "--out", "out/outcomes.parquet",
             cwd=d)
        _rct("ingest", "patrols", "patrols.csv", "--hotspots", "hotspots.geojson", "--start",
             start, "--end", end, "--out", "out/patrol_dosage.parquet", cwd=d)
        cpu = _rct("evaluate", "trial.toml", "--force", cwd=d)
        draws = int(toml.split("ri_draws = ")[1].split()[0])
        _emit(benchmark="evaluate_cpu", case="rct evaluate (whole plan)", hotspots=n_hs,
              days=days, ri_draws=draws, rct_cpu_s=round(cpu, 2), goal_cpu_s=15.0)
        _breakdown(d, n_hs, days, draws)
        panel = _panel(d)
    _estimators(panel, n_hs, days, glm=glm_full or n_hs <= 60)


def _breakdown(d: Path, n_hs: int, days: int, draws: int) -> None:
    """In this process: the CPU of drawing the design's assignments (``rct.randomise``) and of
    the rest of the evaluation with those draws cached (imports already done)."""
    import rct.plan.crossover as plan_crossover
    from rct.evaluate.ri_null import SharedReference
    from rct.plan.evaluate import evaluate_trial

    real = plan_crossover._reference
    cache: dict = {}

    def cached(design, *, draws, seed):
        if "ref" not in cache:
            t = _self_cpu()
            cache["ref"] = real(design, draws=draws, seed=seed)
            cache["cpu"] = _self_cpu() - t
        return SharedReference(*cache["ref"])  # a fresh memo: no statistic carried over

    plan_crossover._reference = cached
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluate_trial(d / "trial.toml")  # imports, and the draws (timed)
            _, rest = _timed(lambda: evaluate_trial(d / "trial.toml"))
    finally:
        plan_crossover._reference = real
    _emit(benchmark="evaluate_cpu", case="rct evaluate, in process", hotspots=n_hs, days=days,
          ri_draws=draws, draws_cpu_s=round(cache["cpu"], 2),
          evaluate_excluding_draws_cpu_s=round(rest, 2))


def _panel(d: Path):
    import pandas as pd

    from rct.evaluate.crossover import crossover_panel

    out = pd.read_parquet(d / "out" / "outcomes.parquet")
    alloc = pd.read_csv(d / "schedule.csv")
    return crossover_panel(out, alloc)


def _estimators(panel, n_hs: int, days: int, *, glm: bool) -> None:
    import pandas as pd
    import statsmodels.api as sm
    from linearmodels.panel import PanelOLS

    from rct.evaluate.crossover import crossover_fe, crossover_poisson

    warnings.simplefilter("ignore")
    ours, t_ols = _timed(lambda: crossover_fe(panel, outcome="crimes"))
    df_ = panel[["hotspot_id", "trial_date", "crimes", "tasked"]].copy()
    df_["trial_date"] = pd.to_datetime(df_["trial_date"])
    df_ = df_.set_index(["hotspot_id", "trial_date"])

    def peer_ols():
        return PanelOLS(df_["crimes"].astype(float), df_[["tasked"]].astype(float),
                        entity_effects=True, time_effects=True).fit(
            cov_type="clustered", cluster_entity=True)

    res, t_peer = _timed(peer_ols)
    _emit(benchmark="evaluate_cpu", case="two-way FE OLS, clustered SE", hotspots=n_hs,
          days=days, rct="crossover_fe (CR2 + Satterthwaite)", peer="linearmodels PanelOLS (CR1)",
          rct_cpu_s=round(t_ols, 3), peer_cpu_s=round(t_peer, 3), ratio=round(t_peer / t_ols, 2),
          same_estimate=bool(np.isclose(ours.terms[0].estimate, float(res.params["tasked"]),
                                        rtol=1e-9)))
    pois, t_pois = _timed(lambda: crossover_poisson(panel, outcome="crimes"))
    row = {"benchmark": "evaluate_cpu", "case": "two-way FE Poisson, clustered SE",
           "hotspots": n_hs, "days": days, "rct": "crossover_poisson (CR2 + Satterthwaite)",
           "rct_cpu_s": round(t_pois, 3)}
    if glm:
        u = pd.get_dummies(panel["hotspot_id"].astype(str), drop_first=False, dtype=float)
        t = pd.get_dummies(panel["trial_date"].astype(str), drop_first=True, dtype=float)
        X = np.column_stack([panel["tasked"].to_numpy(float), u.to_numpy(), t.to_numpy()])
        y = panel["crimes"].to_numpy(float)
        groups = pd.factorize(panel["hotspot_id"])[0]

        def peer_glm():
            return sm.GLM(y, X, family=sm.families.Poisson()).fit(
                cov_type="cluster", cov_kwds={"groups": groups})

        g, t_glm = _timed(peer_glm)
        row.update(peer="statsmodels GLM Poisson + dummies (cluster)", peer_cpu_s=round(t_glm, 3),
                   ratio=round(t_glm / t_pois, 2),
                   same_estimate=bool(np.isclose(np.log(pois.terms[0].estimate), g.params[0],
                                                 rtol=1e-6)))
    else:
        row["peer"] = "statsmodels GLM (skipped at this size; --glm to run it)"
    print(json.dumps(row, default=float), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
