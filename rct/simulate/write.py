"""Write a simulated trial as the files a force would supply, plus the truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from rct.io.atomic import atomic_path, write_json, write_table, write_text

if TYPE_CHECKING:  # pragma: no cover
    from rct.simulate.trial import SimulatedTrial

__all__ = ["write_trial", "trial_toml"]


def write_trial(trial: SimulatedTrial, out_dir: str | Path, *, ping_files: int = 4) -> dict[str, Path]:
    """Write ``hotspots.geojson``, ``schedule.csv`` (or ``allocation.csv``), ``crimes.csv``,
    ``patrols.csv``, ``pings/part-*.parquet``, ``trial.toml``, ``truth.json`` and
    ``truth_panel.csv`` into ``out_dir``.

    Returns
    -------
    dict mapping each file's role to its path.
    """
    import numpy as np

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = trial.spec
    paths: dict[str, Path] = {}
    paths["hotspots"] = _write_hotspots(trial.hotspots, out / "hotspots.geojson")
    alloc_name = "schedule.csv" if spec.design == "crossover" else "allocation.csv"
    paths["allocation"] = write_table(trial.schedule, out / alloc_name)
    paths["crimes"] = write_table(trial.crimes, out / "crimes.csv")
    paths["patrols"] = write_table(trial.patrols, out / "patrols.csv")
    pings_dir = out / "pings"
    pings_dir.mkdir(exist_ok=True)
    for old in pings_dir.glob("part-*.parquet"):
        old.unlink()
    bounds = np.linspace(0, len(trial.pings), ping_files + 1).astype(int)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        write_table(trial.pings.iloc[a:b], pings_dir / f"part-{i:03d}.parquet")
    paths["pings"] = pings_dir
    paths["truth"] = write_json(out / "truth.json", {"spec": spec.to_dict(), **dict(trial.truth)})
    paths["truth_panel"] = write_table(trial.panel, out / "truth_panel.csv")
    paths["trial"] = write_text(out / "trial.toml", trial_toml(trial, allocation=alloc_name))
    return paths


def _write_hotspots(gdf, path: Path) -> Path:
    try:
        from rct.io.hotspots import write_hotspots
    except ImportError:  # pragma: no cover - readers not installed
        write_hotspots = None
    if write_hotspots is not None:
        write_hotspots(gdf, path)
        return path
    with atomic_path(path) as tmp:  # pragma: no cover
        gdf.to_crs(4326).to_file(tmp, driver="GeoJSON")
    return path


def _toml(v) -> str:
    """A number, string or (nested) table as inline TOML."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(v)


def _size(s) -> str:
    text = f"{s.n_hotspots} hot spots"
    if s.sites:
        text += f" in {len(s.sites)} sites"
    if s.shifts:
        text += f" x {len(s.shifts)} shifts"
    return text


def _key(k) -> str:
    import re

    return str(k) if re.fullmatch(r"[A-Za-z0-9_-]+", str(k)) else _toml(str(k))


def trial_toml(trial: SimulatedTrial, *, allocation: str = "schedule.csv",
               randomisation_seed: int | None = None, ri_draws: int = 1000) -> str:
    """The ``trial.toml`` of a simulated trial (see :mod:`rct.config`).

    The simulated crimes are all violence against the person and sexual
    offences (the national violent-offence mix), so the outcomes are labelled
    as violent crime; the power assumptions are the simulation's own.
    """
    s = trial.spec
    base_end = s.start - dt.timedelta(days=1)
    seed = s.seed + 1 if randomisation_seed is None else randomisation_seed
    if s.design == "crossover":
        design = (f'type = "crossover"\nscheme = "daily"\nper_day = {_toml(s.quota)}\n'
                  f"start = {s.start.isoformat()}\ndays = {s.days}\n")
        if s.sites:
            design += 'sites = "site"\n'
        if s.shifts:
            design += f"shifts = {_toml(s.shifts)}\n"
    elif s.sites:  # blocked by site
        design = 'type = "parallel"\nsites = "site"\n'
    else:
        design = 'type = "parallel"\nscheme = "complete"\n'
    monitoring = ('\n[monitoring]\nsequential = "obrien-fleming"\nevery_days = 7\n'
                  if s.design == "crossover" else "")
    return f"""# A simulated trial with known truth (see truth.json); written by `rct simulate`.
[trial]
name = "Simulated {s.design} hot-spot trial ({_size(s)}, {s.days} days)"
force = "Thames Valley"

[design]
{design}day_starts = "{s.day_starts}"
seed = {seed}

[windows]
baseline = [{s.baseline_start.isoformat()}, {base_end.isoformat()}]
trial = [{s.start.isoformat()}, {s.end.isoformat()}]

[files]
hotspots = "hotspots.geojson"
allocation = "{allocation}"
patrols = "patrols.csv"
airwave = ["pings/*.parquet"]
crimes = ["crimes.csv"]
harm = "cchi-subgroup"
out_dir = "out"

[analysis]
primary = "crimes"
secondary = ["harm"]
estimator = "auto"
alpha = 0.05
ri_draws = {ri_draws}
multiplicity = "holm"
seed = {s.seed}
labels = {{ crimes = "Violent crime", harm = "Violent-crime harm (CCHI)" }}

[power]
rate = {s.base_rate:g}
reduction = {1 - s.effect:g}
power = 0.8
{monitoring}
[costs]
officer_hour = 45
officer_hour_source = "illustrative figure for a synthetic trial, not a real cost"
price_year = 2024

[dosage]
target_minutes = 15
max_visit_hours = 4
buffer_m = 10
catchment_m = {s.catchment_m:g}
gap_minutes = 5
"""
