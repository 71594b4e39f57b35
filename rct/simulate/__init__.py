"""Synthetic hot-spot trials with known truth (for the demo, tests and power).

>>> from rct.simulate import SimulationSpec, simulate_trial
>>> trial = simulate_trial(SimulationSpec(n_hotspots=20, days=30), schedule=...)
>>> trial.write("sim/")
"""

from rct.simulate.city import sample_points, synthetic_hotspots
from rct.simulate.spec import SUBGROUP_CODES, SimulationSpec, violence_mix
from rct.simulate.trial import SimulatedTrial, default_schedule, simulate_trial
from rct.simulate.write import trial_toml, write_trial

__all__ = [
    "SimulationSpec",
    "SimulatedTrial",
    "SUBGROUP_CODES",
    "default_schedule",
    "sample_points",
    "simulate_trial",
    "synthetic_hotspots",
    "trial_toml",
    "violence_mix",
    "write_trial",
]
