"""``rct demo``: the whole pipeline on a synthetic trial, with no input.

Every step is the library call its CLI command makes; nothing here estimates
anything.  The steps:

1. hot spots from the bundled police.uk Thames Valley data
   (:func:`rct.io.crimes.read_crimes`, :func:`rct.hotspots.build_hotspots`:
   violence, 150 m hexagons, top 45, centres at least 300 m apart)
   -> ``rct hotspots build``;
2. a Thames-Valley-like crossover schedule with its manifest
   (:func:`rct.randomise.manifest.randomise_crossover_file`)
   -> ``rct randomise crossover``;
3. a trial on those hot spots and that schedule with known truth
   (:func:`rct.simulate.simulate_trial`) -> ``rct simulate``;
4. dosage and outcomes (:func:`rct.dosage.patrols.ingest_patrols`,
   :func:`rct.dosage.airwave.ingest_airwave`,
   :func:`rct.ingest.outcomes.ingest_crimes`) -> ``rct ingest ...``;
5. monitoring (:func:`rct.dosage.monitor.monitor_trial`) -> ``rct monitor``;
6. evaluation (:func:`rct.plan.evaluate.evaluate_trial`,
   :func:`rct.plan.evaluate.write_results`) -> ``rct evaluate``;
7. the design, monitoring and evaluation reports (:mod:`rct.reports`)
   -> ``rct report ...``.

>>> from rct.demo import run_demo
>>> res = run_demo("rct-demo", quick=True)      # doctest: +SKIP
>>> print("\\n".join(res.summary))                # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rct.errors import RCTError

__all__ = ["DemoError", "DemoResult", "DemoSettings", "run_demo", "MARKER"]

MARKER = ".rct-demo"
VIOLENCE = "Violence and sexual offences"


class DemoError(RCTError):
    """A demo step could not run (a missing piece, or an output directory in use)."""


@dataclass(frozen=True)
class DemoSettings:
    """The demo trial: Thames-Valley-like (45 hot spots, half tasked each day)."""

    top: int = 45
    cell: float = 150.0
    min_separation: float = 300.0
    per_day: int = 22
    start: dt.date = dt.date(2021, 9, 6)  # spans the October clock change
    days: int = 182
    baseline_days: int = 91
    randomisation_seed: int = 20210906
    simulation_seed: int = 2021
    effect: float = 0.85
    base_rate: float = 0.2
    ri_draws: int | None = None  # None: the trial file's [analysis] ri_draws

    @classmethod
    def quick(cls) -> DemoSettings:
        """Four weeks of baseline and trial and fewer RI draws (for tests)."""
        return cls(days=28, baseline_days=28, ri_draws=200)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        d["start"] = self.start.isoformat()
        return d


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote and found.

    Attributes
    ----------
    out_dir : Path
    files : mapping of role -> path (inputs, derived tables, results)
    reports : mapping of ``design`` / ``monitor`` / ``evaluation`` -> HTML path
    summary : the three summary lines
    figures : the numbers behind the summary (estimated and true), for checks
    seconds : wall time of each step
    """

    out_dir: Path
    files: Mapping[str, Path]
    reports: Mapping[str, Path]
    summary: tuple[str, ...]
    figures: Mapping[str, Any]
    seconds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("files", "reports", "figures", "seconds"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "files": {k: str(v) for k, v in self.files.items()},
            "reports": {k: str(v) for k, v in self.reports.items()},
            "summary": list(self.summary),
            "figures": dict(self.figures),
            "seconds": dict(self.seconds),
        }


def _need(module: str, name: str, step: str) -> Any:
    """Import ``module.name`` or fail loudly naming the missing call."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise DemoError(f"demo step '{step}' cannot run: {module}.{name} is missing ({exc})") from exc


def _bundled_crimes() -> list[Path]:
    from importlib.resources import files

    root = files("rct").joinpath("data/police_uk")
    paths = sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    if not paths:
        raise DemoError("the bundled police.uk files (rct/data/police_uk) are missing")
    return paths


def _prepare(out: Path) -> None:
    """Refuse to write into a directory that holds anything but an earlier demo."""
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise DemoError(f"{out} is not empty and was not written by `rct demo`; "
                        "choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `rct demo`; safe to delete\n", encoding="utf-8")


class _Steps:
    """A tqdm bar over the demo's steps (stderr), with each step's wall time."""

    def __init__(self, names: list[str], progress: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=len(names), file=sys.stderr, disable=not progress,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]",
                        desc="rct demo", leave=True)
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()
        self._name = ""

    def start(self, name: str) -> None:
        self._name = name
        self._t = time.perf_counter()
        self.bar.set_description(f"rct demo: {name}")

    def done(self) -> None:
        self.seconds[self._name] = round(time.perf_counter() - self._t, 2)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.set_description("rct demo")
        self.bar.close()


STEPS = ["hot spots", "randomise", "simulate", "ingest patrols", "ingest airwave",
         "ingest crimes", "monitor", "evaluate", "design report", "monitor report",
         "evaluation report"]


def run_demo(
    out_dir: str | os.PathLike[str] = "rct-demo",
    *,
    progress: bool = True,
    quick: bool = False,
    settings: DemoSettings | None = None,
) -> DemoResult:
    """Run the whole pipeline on a synthetic Thames-Valley-like crossover trial.

    Parameters
    ----------
    out_dir
        Directory for every file (created; refused if it holds anything not
        written by an earlier demo).
    progress
        Show a progress bar over the steps on stderr.
    quick
        Four weeks of baseline and trial, 200 RI draws (for tests).
    settings
        Override the demo trial (default :class:`DemoSettings`).

    Returns
    -------
    DemoResult
        Paths of everything written, the three summary lines and the figures
        (estimated and true) behind them.
    """
    s = settings or (DemoSettings.quick() if quick else DemoSettings())
    out = Path(out_dir)
    _prepare(out)
    files: dict[str, Path] = {}
    steps = _Steps(STEPS, progress)
    try:
        with warnings.catch_warnings():
            from rct.errors import QuarantineWarning

            warnings.simplefilter("ignore", QuarantineWarning)  # the summaries count them
            built = _hotspots(s, out, files, steps)
            _randomise(s, out, files, steps)
            truth, trial_path = _simulate(s, out, files, steps)
            patrols, airwave, crimes = _ingest(trial_path, files, steps)
            mon = _monitor(trial_path, files, steps)
            results = _evaluate(trial_path, s, files, steps)
            reports = _reports(trial_path, out, results, steps)
    finally:
        steps.close()
    figures = _figures(built, mon, results, truth, s)
    planted = truth["planted_bad_rows"]
    figures.update({
        "patrol_rows_quarantined": int(patrols.read.n_quarantined),
        "airwave_rows_quarantined": int(airwave.n_quarantined),
        "crime_rows_quarantined": int(crimes["rows_quarantined"]),
        "planted_bad_patrol_rows": int(sum(planted["patrols"].values())),
        "planted_bad_ping_rows": int(sum(planted["pings"].values())),
        "planted_bad_crime_rows": int(sum(planted["crimes"].values())),
        "pseudonym_key": patrols.key_source.describe() if patrols.key_source else "",
    })
    files["summary"] = out / "demo_summary.json"
    result = DemoResult(out_dir=out, files=files, reports=reports, summary=_summary(figures, s),
                        figures=figures, seconds=steps.seconds)
    from rct.io.atomic import write_json

    write_json(files["summary"], {**result.to_dict(), "settings": s.to_dict()})
    return result


# ------------------------------------------------------------------ steps


def _hotspots(s: DemoSettings, out: Path, files: dict[str, Path], steps: _Steps) -> Any:
    steps.start("hot spots")
    read_crimes = _need("rct.io.crimes", "read_crimes", "hot spots")
    build_hotspots = _need("rct.hotspots", "build_hotspots", "hot spots")
    write_hotspots = _need("rct.io.hotspots", "write_hotspots", "hot spots")
    from rct.io.atomic import write_table
    from rct.io.quarantine import quarantine_path

    path = out / "hotspots.geojson"
    read = read_crimes(_bundled_crimes(), kind="police_uk")
    if read.n_quarantined:
        files["hotspots_quarantine"] = write_table(read.quarantine, quarantine_path(path))
    built = build_hotspots(read.data, cell=s.cell, top=s.top, crime_types=[VIOLENCE],
                           min_separation=s.min_separation)
    write_hotspots(built.hotspots, path)
    files["hotspots"] = path
    steps.done()
    return built


def _randomise(s: DemoSettings, out: Path, files: dict[str, Path], steps: _Steps) -> None:
    steps.start("randomise")
    randomise = _need("rct.randomise.manifest", "randomise_crossover_file", "randomise")
    manifest_path = _need("rct.randomise.manifest", "manifest_path", "randomise")
    path = out / "schedule.csv"
    # force: a re-run of the demo replaces its own earlier schedule (see _prepare)
    randomise(out / "hotspots.geojson", out=path, seed=s.randomisation_seed, force=True,
              start=s.start.isoformat(), days=s.days, per_day=s.per_day, day_starts="06:00",
              tasking=out / "tasking.csv")
    files["schedule"] = path
    files["schedule_manifest"] = manifest_path(path)
    files["tasking"] = out / "tasking.csv"
    steps.done()


def _simulate(s: DemoSettings, out: Path, files: dict[str, Path],
              steps: _Steps) -> tuple[dict[str, Any], Path]:
    steps.start("simulate")
    import pandas as pd

    SimulationSpec = _need("rct.simulate", "SimulationSpec", "simulate")
    simulate_trial = _need("rct.simulate", "simulate_trial", "simulate")
    trial_toml = _need("rct.simulate", "trial_toml", "simulate")
    read_hotspots = _need("rct.io.hotspots", "read_hotspots", "simulate")
    from rct.io.atomic import write_text

    hotspots = read_hotspots(out / "hotspots.geojson")
    schedule = pd.read_csv(out / "schedule.csv", dtype={"hotspot_id": str})
    spec = SimulationSpec(n_hotspots=len(hotspots), design="crossover", per_day=s.per_day,
                          start=s.start, days=s.days, baseline_days=s.baseline_days,
                          base_rate=s.base_rate, effect=s.effect, seed=s.simulation_seed)
    trial = simulate_trial(spec, hotspots=hotspots, schedule=schedule)
    # Write beside the demo, then keep the real hot spots and the manifest-bearing
    # schedule: move every other simulated file into place.
    stage = out / ".simulated"
    shutil.rmtree(stage, ignore_errors=True)
    written = trial.write(stage)
    keep = {"hotspots", "allocation"}
    for role, path in written.items():
        if role in keep:
            continue
        target = out / Path(path).name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(path, target)
        files[role] = target
    shutil.rmtree(stage, ignore_errors=True)
    # the trial file names the randomisation seed actually used, so `rct evaluate`
    # re-derives this schedule for randomisation inference
    trial_path = write_text(out / "trial.toml", trial_toml(
        trial, allocation="schedule.csv", randomisation_seed=s.randomisation_seed,
        ri_draws=s.ri_draws or 1000))
    files["trial"] = trial_path
    # register the analysis plan before any outcome is seen (`rct plan trial.toml`)
    register_plan = _need("rct.plan.register", "register_plan", "simulate")
    _, files["plan"] = register_plan(trial_path, force=True)
    steps.done()
    return {"spec": spec.to_dict(), **dict(trial.truth)}, trial_path


def _ingest(trial_path: Path, files: dict[str, Path], steps: _Steps) -> tuple[Any, Any, Any]:
    load_trial = _need("rct.config", "load_trial", "ingest")
    t = load_trial(trial_path)
    f, d = t.files, t.dosage
    first = t.windows.baseline[0] if t.windows.baseline else t.windows.trial[0]
    last = t.windows.trial[1]

    steps.start("ingest patrols")
    ingest_patrols = _need("rct.dosage.patrols", "ingest_patrols", "ingest patrols")
    patrols = ingest_patrols(list(f.patrols), hotspots=f.hotspots, out=f.patrol_dosage,
                             day_starts=t.design.day_starts, trial_start=first, trial_end=last,
                             max_visit_hours=d.max_visit_hours, key_file=d.pseudonym_key_file,
                             force=True)  # the folder is the demo's own (see _prepare)
    files["patrol_dosage"] = Path(f.patrol_dosage)
    steps.done()

    steps.start("ingest airwave")
    ingest_airwave = _need("rct.dosage.airwave", "ingest_airwave", "ingest airwave")
    airwave = ingest_airwave([str(p) for p in f.airwave], str(f.hotspots), out=f.airwave_presence,
                             buffer_m=d.buffer_m, gap_minutes=d.gap_minutes,
                             day_starts=t.design.day_starts, key_file=d.pseudonym_key_file,
                             force=True)
    files["airwave_presence"] = Path(f.airwave_presence)
    steps.done()

    steps.start("ingest crimes")
    ingest_crimes = _need("rct.ingest.outcomes", "ingest_crimes", "ingest crimes")
    crimes = ingest_crimes(list(f.crimes), hotspots=f.hotspots, out=f.outcomes, harm=f.harm,
                           police_force=t.trial.force, force=True, catchment_m=d.catchment_m,
                           day_starts=t.design.day_starts, period="day",
                           start=first.isoformat(), end=last.isoformat())
    files["outcomes"] = Path(f.outcomes)
    steps.done()
    return patrols, airwave, crimes


def _monitor(trial_path: Path, files: dict[str, Path], steps: _Steps) -> Any:
    steps.start("monitor")
    monitor_trial = _need("rct.dosage.monitor", "monitor_trial", "monitor")
    report, written = monitor_trial(trial_path, force=True)  # the demo replaces its own
    files.update({f"monitor_{k}": Path(v) for k, v in written.items()})
    steps.done()
    return report


def _evaluate(trial_path: Path, s: DemoSettings, files: dict[str, Path], steps: _Steps) -> Any:
    steps.start("evaluate")
    evaluate_trial = _need("rct.plan.evaluate", "evaluate_trial", "evaluate")
    write_results = _need("rct.plan.evaluate", "write_results", "evaluate")
    load_trial = _need("rct.config", "load_trial", "evaluate")
    results = evaluate_trial(trial_path)  # ri_draws is the trial file's (see _simulate)
    j, c = write_results(results, load_trial(trial_path).files.results, force=True)
    files["results"] = Path(j)
    files["results_csv"] = Path(c)
    steps.done()
    return results


def _reports(trial_path: Path, out: Path, results: Any, steps: _Steps) -> dict[str, Path]:
    calls = {
        "design": ("rct.reports.design", "design_report", {}),
        "monitor": ("rct.reports.monitor", "monitor_report", {}),
        "evaluation": ("rct.reports.evaluation", "evaluation_report", {"results": results}),
    }
    paths: dict[str, Path] = {}
    for kind, (module, name, kw) in calls.items():
        steps.start(f"{kind} report")
        build = _need(module, name, f"{kind} report")
        report = build(trial_path, **kw)
        paths[kind] = Path(report.write(out / f"{kind}_report.html"))
        steps.done()
    return paths


# ------------------------------------------------------------------ summary


def _figures(built: Any, mon: Any, results: Any, truth: dict[str, Any],
             s: DemoSettings) -> dict[str, Any]:
    """Pick the summary's numbers out of the steps' results (no estimation here)."""
    tidy = results.tidy()
    prim = tidy[tidy["outcome"] == results.primary]
    ri = prim["method"].str.startswith("randomisation inference")
    ratio = prim["scale"] == "ratio"
    model = prim[ratio & ~ri].iloc[0]  # the Poisson fixed-effects rate ratio
    ri_ratio = prim[ratio & ri].iloc[0]  # its randomisation-inference twin
    plan = prim["p_adjusted"].dropna() if "p_adjusted" in prim else prim["p_value"].iloc[:0]
    headline = results.headline
    patrols = mon.uplift_for("patrols").table.set_index("measure").loc["presence_minutes"]
    radio = mon.uplift_for("airwave").table.set_index("measure").loc["presence_minutes"]
    comp = mon.compliance.summary.set_index("metric")
    tasked_days = int(truth["tasked_hotspot_days"])
    control_days = int(truth["untasked_hotspot_days"])
    return {
        "hotspots": int(len(built.hotspots)),
        "hotspots_headline": built.headline(),
        "per_day": s.per_day,
        "days": s.days,
        "start": s.start.isoformat(),
        "tasked_hotspot_days": tasked_days,
        "control_hotspot_days": control_days,
        "patrol_minutes_tasked_day": float(patrols["trial_treatment"]),
        "patrol_minutes_control_day": float(patrols["trial_control"]),
        "true_patrol_minutes_tasked_day": float(truth["patrol_minutes_tasked"]) / tasked_days,
        "true_patrol_minutes_control_day": float(truth["patrol_minutes_untasked"]) / control_days,
        "airwave_minutes_tasked_day": float(radio["trial_treatment"]),
        "airwave_minutes_control_day": float(radio["trial_control"]),
        "airwave_ratio": float(radio["ratio"]),
        "dosed_share": float(comp.loc["dosed_share", "value"]),
        "target_minutes": float(mon.compliance.parameters["target_minutes"]),
        "primary": results.primary,
        "irr": float(model["estimate"]),
        "irr_conf_low": float(model["conf_low"]),
        "irr_conf_high": float(model["conf_high"]),
        "irr_method": str(model["method"]),
        "ri_irr": float(ri_ratio["estimate"]),
        "ri_p": float(ri_ratio["p_value"]),
        "ri_method": str(ri_ratio["method"]),
        "plan_p_adjusted": float(plan.iloc[0]) if len(plan) else float("nan"),
        "headline": headline.sentence,
        "headline_estimate": headline.estimate,
        "headline_p": headline.p_value,
        "plan_sha256": str(results.meta.get("plan_sha256")),
        "true_irr": float(truth["irr"]),
        "true_crimes_tasked": int(truth["trial_crimes_tasked"]),
        "true_crimes_untasked": int(truth["trial_crimes_untasked"]),
    }


def _summary(f: Mapping[str, Any], s: DemoSettings) -> tuple[str, str, str]:
    design = (
        f"design: {f['hotspots_headline']} (police.uk Thames Valley violence, {s.cell:g} m cells); "
        f"crossover, {f['per_day']} of {f['hotspots']} tasked a day for {f['days']} days from "
        f"{f['start']} ({f['tasked_hotspot_days']:,} tasked / {f['control_hotspot_days']:,} "
        "control hot-spot-days)"
    )
    dosage = (
        f"dosage: patrol presence {f['patrol_minutes_tasked_day']:.1f} min per tasked vs "
        f"{f['patrol_minutes_control_day']:.1f} per control hot-spot-day (truth "
        f"{f['true_patrol_minutes_tasked_day']:.1f} vs {f['true_patrol_minutes_control_day']:.1f}); "
        f"Airwave {f['airwave_minutes_tasked_day']:.1f} vs {f['airwave_minutes_control_day']:.1f} "
        f"min; {100 * f['dosed_share']:.0f} % of tasked days reached {f['target_minutes']:g} min"
    )
    effect = (
        f"effect: {f['headline']} (Simulated truth: {100 * (1 - f['true_irr']):.1f} % lower, "
        f"rate ratio {f['true_irr']:.2f}.)"
    )
    return design, dosage, effect
