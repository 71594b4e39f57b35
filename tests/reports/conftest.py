"""A small synthetic crossover trial run through the whole pipeline, for the report tests.

Planted on purpose: a hot-spot name holding ``<script>`` markup, and a patrol
row with a raw officer id and a free-text note that must never reach a report.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SCRIPT_NAME = '<script>alert("pwned")</script> & "Market St"'
PLANTED_OFFICER = "PC-SECRET-4242"
PLANTED_NOTE = "NOTE-PRIVATE: spoke to Jane Doe at number 12"
TRIAL_NAME = "Simulated <b>bold</b> trial"
_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def strip_images(html: str) -> str:
    """The HTML without inline image payloads (so random base64 cannot match a search)."""
    return _DATA_URI.sub("data:image", html)


def build_trial(root: Path, *, n_hotspots: int = 12, days: int = 28, seed: int = 11,
                design: str = "crossover", plant: bool = True,
                selection_covariates: bool = False) -> Path:
    """Simulate, randomise with a manifest, register the plan, ingest, monitor and evaluate.

    Returns trial.toml; ``rct evaluate``'s printed summary is kept beside it as
    ``evaluate_summary.txt``.  ``selection_covariates`` adds the collinear
    ``crimes`` and ``share_crimes`` columns that ``rct hotspots build`` writes.
    """
    import numpy as np

    from rct.config import load_trial
    from rct.dosage.airwave import ingest_airwave
    from rct.ingest.outcomes import ingest_crimes
    from rct.plan.evaluate import evaluate_trial_files
    from rct.randomise import randomise_crossover_file, randomise_parallel_file
    from rct.simulate import SimulationSpec, simulate_trial, synthetic_hotspots

    spec = SimulationSpec(n_hotspots=n_hotspots, days=days, baseline_days=21, seed=seed,
                          n_background_crimes=300, design=design)
    hs = synthetic_hotspots(n_hotspots, rng=np.random.default_rng(seed))
    if plant:
        hs.loc[2, "name"] = SCRIPT_NAME
    sim = simulate_trial(spec, hotspots=hs)
    sim.write(root)
    toml = root / "trial.toml"
    if plant:
        # the patrol log gets one more real-looking row with a raw officer id and a note
        with open(root / "patrols.csv", "a", encoding="utf-8") as f:
            f.write(f'P999999,{PLANTED_OFFICER},{hs.loc[3, "hotspot_id"]},'
                    f'{spec.start}T10:00:00+01:00,{spec.start}T10:14:00+01:00,foot,False,'
                    f'"{PLANTED_NOTE}"\n')
        text = toml.read_text(encoding="utf-8")
        name = next(line for line in text.splitlines() if line.startswith("name = "))
        toml.write_text(text.replace(name, f'name = "{TRIAL_NAME}"'), encoding="utf-8")
    if selection_covariates:  # as `rct hotspots build` writes them: share = crimes / total
        import geopandas as gpd

        gdf = gpd.read_file(root / "hotspots.geojson")
        crimes = np.random.default_rng(seed).poisson(40, len(gdf)).astype(int)
        gdf["crimes"] = crimes
        gdf["share_crimes"] = crimes / crimes.sum()
        (root / "hotspots.geojson").unlink()
        gdf.to_file(root / "hotspots.geojson", driver="GeoJSON")
    # fewer randomisation draws keep the fixture quick (set in the plan, so it is registered)
    text = toml.read_text(encoding="utf-8").replace("ri_draws = 1000", "ri_draws = 400")
    if design == "parallel":
        # `rct simulate --design parallel` writes [design] day_starts, which a parallel
        # manifest does not record, so `rct evaluate` refuses it (reported to the lead)
        text = text.replace('day_starts = "06:00"\n', "", 1)
    toml.write_text(text, encoding="utf-8")
    t = load_trial(toml)
    # the same allocation again, now with its manifest (the simulator writes the CSV only)
    if design == "crossover":
        randomise_crossover_file(t.files.hotspots, out=t.files.allocation, seed=t.design.seed,
                                 force=True, start=t.design.start, days=t.design.days,
                                 per_day=t.design.per_day, day_starts=t.design.day_starts)
    else:
        randomise_parallel_file(t.files.hotspots, out=t.files.allocation, seed=t.design.seed,
                                force=True, scheme=t.design.scheme)
    out = t.files.out_dir
    ingest_crimes(list(t.files.crimes), hotspots=t.files.hotspots, out=t.files.outcomes,
                  harm=t.files.harm, buffer_m=t.dosage.buffer_m,
                  catchment_m=t.dosage.catchment_m, day_starts=t.design.day_starts,
                  start=t.windows.baseline[0], end=t.windows.trial[1])
    ingest_airwave([str(p) for p in t.files.airwave], str(t.files.hotspots),
                   out=t.files.airwave_presence, buffer_m=t.dosage.buffer_m,
                   day_starts=t.design.day_starts, key_file=root.parent / "pseudonym.key")
    import warnings

    from rct.dosage.monitor import monitor_trial
    from rct.errors import QuarantineWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuarantineWarning)  # the planted bad rows
        monitor_trial(t, out_dir=out, key_file=root.parent / "pseudonym.key")
    from rct.plan.register import register_plan

    register_plan(toml)  # plan.json: the pre-registration the reports check against
    _, _, summary = evaluate_trial_files(toml)
    (root / "evaluate_summary.txt").write_text(summary + "\n", encoding="utf-8")
    return toml


@pytest.fixture(scope="session")
def trial_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_trial(tmp_path_factory.mktemp("report-trial") / "trial")


@pytest.fixture(scope="session")
def reports(trial_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The three reports of the synthetic trial, rendered and written once."""
    from rct.reports import design_report, evaluation_report, monitor_report

    out = tmp_path_factory.mktemp("reports")
    built = {"design": design_report(trial_path), "monitor": monitor_report(trial_path),
             "evaluation": evaluation_report(trial_path)}
    return {k: (r, r.write(out / f"{k}.html")) for k, r in built.items()}


@pytest.fixture(scope="session")
def parallel_trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_trial(tmp_path_factory.mktemp("report-parallel") / "trial", n_hotspots=16,
                       design="parallel", seed=5, selection_covariates=True)


@pytest.fixture(scope="session")
def parallel_reports(parallel_trial: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The three reports of the parallel trial, rendered and written once."""
    from rct.reports import design_report, evaluation_report, monitor_report

    out = tmp_path_factory.mktemp("parallel-reports")
    built = {"design": design_report(parallel_trial), "monitor": monitor_report(parallel_trial),
             "evaluation": evaluation_report(parallel_trial)}
    return {k: (r, r.write(out / f"{k}.html")) for k, r in built.items()}
