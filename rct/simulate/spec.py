"""Parameters of a synthetic trial."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from rct.errors import DesignError

__all__ = ["SimulationSpec", "SUBGROUP_CODES", "violence_mix"]

# Home Office police-recorded-crime subgroups of violent crime, each with a
# representative Home Office offence code (the ONS Crime Severity Score code
# used for the force extract's ``offence_code``).
SUBGROUP_CODES: dict[str, str] = {
    "Homicide": "1",
    "Violence with injury": "8N",
    "Violence without injury": "105A",
    "Stalking and harassment": "8L",
    "Death or serious injury - unlawful driving": "4.4",
    "Rape offences": "19C",
    "Other sexual offences": "20A",
    "Public order offences": "9A",
    "Robbery of business property": "34A",
    "Robbery of personal property": "34B",
    "Possession of weapons offences": "10D",
}


def violence_mix() -> dict[str, float]:
    """Shares of the violent-crime subgroups in England and Wales, 2024/25.

    From the national police-recorded counts bundled with the Cambridge Crime
    Harm Index table (``rct/data/harm/cchi-subgroup-days.csv``): the real
    offence mix, so simulated harm is as heavy-tailed as real harm (homicide
    is 0.02 % of violent crime and carries 5,475 CCHI days).  Street hot spots
    see less domestic and sexual violence than the national mix; pass your
    own ``offence_mix`` to change it.
    """
    from importlib.resources import files

    import pandas as pd

    with files("rct").joinpath("data/harm/cchi-subgroup-days.csv").open("rb") as fh:
        t = pd.read_csv(fh)
    counts = t.set_index("prc_subgroup")["national_count_2024_25"].reindex(list(SUBGROUP_CODES))
    return {k: float(v) for k, v in (counts / counts.sum()).items()}


@dataclass(frozen=True)
class SimulationSpec:
    """Everything that shapes a synthetic hot-spot trial.

    Defaults describe a Thames-Valley-like crossover trial: 45 hot spots,
    half tasked each day, about one violent crime per hot spot every five days,
    overdispersed counts, a 15 % reduction on tasked days.

    Parameters
    ----------
    n_hotspots
        Number of hot spots (used when the simulator makes its own city).
    design
        ``"crossover"`` (hot-spot-days) or ``"parallel"`` (hot spots).
    per_day
        Crossover: hot spots tasked each day (default: half, rounded down).
    start, days
        First trial day and trial length in days.
    baseline_days
        Days of pre-trial baseline simulated before ``start``.
    day_starts
        Trial-day boundary, local time.
    base_rate
        Mean crimes per hot-spot-day with no extra patrol.
    heterogeneity
        Gamma shape of the between-hot-spot rate multiplier (smaller = more
        heterogeneous); ``inf`` for none.
    dispersion
        Gamma shape of the day-level multiplier (negative-binomial size);
        ``inf`` for Poisson counts.
    effect
        True incidence-rate ratio on tasked hot-spot-days (0.85 = 15 % fewer).
    carryover
        IRR on the day after a tasked day when that day is not tasked (1 = none).
    displacement
        Share of prevented crimes that move to the catchment ring.
    catchment_m
        Width of the displacement catchment ring around each hot spot.
    catchment_rate
        Mean crimes per catchment-day with no displacement.
    compliance
        Share of tasked hot-spot-days that get at least one tasked patrol.
    contamination
        Share of untasked hot-spot-days that get a tasked patrol anyway.
    visits_mean
        Mean extra patrol visits on a patrolled tasked day (1 + Poisson).
    dwell_median_min
        Median visit length in minutes (log-normal around the Koper curve).
    foot_share, pair_share, stop_share
        Shares of visits on foot, by two officers together, and with a stop.
    background_visits
        Mean visits per hot-spot-day by normal policing (radios only; both
        arms, baseline and trial): the activity a trial must measure on top of.
    ping_seconds
        Airwave ping interval while a radio is in a hot spot.
    n_background_crimes
        Crimes away from hot spots (a force extract covers the whole area).
    offence_mix
        Share of each Home Office offence subgroup (keys of
        :data:`SUBGROUP_CODES`); default :func:`violence_mix`, the national mix.
    mess
        Whether to add realistic bad rows (duplicates, garbage, missing
        coordinates) to every file; their counts are in the truth.
    seed
        Seed of the simulation (independent of the randomisation seed).
    sites
        Site -> number of places (policing areas, forces); ``n_hotspots`` is
        then their sum.  Crossover schedules get a daily quota per site (half
        of the site's hot spots unless ``per_day``/``quotas`` say otherwise);
        parallel designs are blocked by site.
    shifts
        Time windows ``{"day": "06:00-18:00", "night": "18:00-06:00"}``: every
        place is a hot spot in every window, and the crossover's unit is
        place × window (``H01-night``) with its own daily quota; crimes and
        tasked patrols of a unit happen inside its window.
    shift_rates
        Mean crimes per unit-day of each shift with no extra patrol (default:
        ``base_rate`` times the share of the day the shift covers).
    effects
        The true rate ratio by ``"site/shift"``, ``"site"`` or ``"shift"`` (the
        most specific key wins; ``effect`` elsewhere): the known truth per
        site and shift.
    quotas
        Crossover ``per_day`` as a table (site -> k, shift -> k or
        site -> {shift -> k}), as :func:`rct.randomise.crossover` takes it.
    """

    n_hotspots: int = 45
    design: str = "crossover"
    per_day: int | None = None
    start: dt.date = dt.date(2021, 9, 6)
    days: int = 90
    baseline_days: int = 90
    day_starts: str = "06:00"
    base_rate: float = 0.2
    heterogeneity: float = 2.0
    dispersion: float = 4.0
    effect: float = 0.85
    carryover: float = 1.0
    displacement: float = 0.0
    catchment_m: float = 150.0
    catchment_rate: float = 0.15
    compliance: float = 0.9
    contamination: float = 0.03
    visits_mean: float = 1.2
    dwell_median_min: float = 13.0
    foot_share: float = 0.6
    pair_share: float = 0.3
    stop_share: float = 0.15
    background_visits: float = 0.6
    ping_seconds: float = 30.0
    n_background_crimes: int = 1500
    offence_mix: dict[str, float] = field(default_factory=violence_mix)
    mess: bool = True
    seed: int = 2021
    sites: dict[str, int] | None = None
    shifts: dict[str, str] | None = None
    shift_rates: dict[str, float] | None = None
    effects: dict[str, float] = field(default_factory=dict)
    quotas: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.sites is not None:
            if not self.sites or any(int(v) < 2 for v in self.sites.values()):
                problems.append(f"sites = {self.sites!r} must name each site's number of "
                                "places (at least 2)")
            else:
                object.__setattr__(self, "n_hotspots", int(sum(self.sites.values())))
        if self.shifts is not None:
            from rct.io.windows import parse_windows

            try:
                object.__setattr__(self, "shifts", parse_windows(self.shifts).to_dict())
            except ValueError as exc:
                problems.append(f"shifts: {exc}")
            if self.design != "crossover":
                problems.append("shifts need a crossover design (unit = hot spot × shift)")
        known = set(self.sites or ()) | set(self.shifts or ())
        for key, v in self.effects.items():
            parts = str(key).split("/")
            if not all(x in known for x in parts) or len(parts) > 2:
                problems.append(f"effects key {key!r} is not a site, a shift or site/shift")
            if not float(v) > 0:
                problems.append(f"effects[{key!r}] = {v} must be a positive rate ratio")
        for key, v in (self.shift_rates or {}).items():
            if key not in (self.shifts or {}):
                problems.append(f"shift_rates key {key!r} is not a shift")
            if not float(v) > 0:
                problems.append(f"shift_rates[{key!r}] = {v} must be positive")
        if self.design not in ("crossover", "parallel"):
            problems.append(f"design must be 'crossover' or 'parallel', got {self.design!r}")
        if self.n_hotspots < 2:
            problems.append(f"n_hotspots = {self.n_hotspots} must be at least 2")
        smallest = min(self.sites.values()) if self.sites else self.n_hotspots
        if self.per_day is not None and not 0 < self.per_day < smallest:
            problems.append(f"per_day = {self.per_day} must be between 1 and n_hotspots - 1")
        if self.days < 1 or self.baseline_days < 0:
            problems.append("days must be positive and baseline_days non-negative")
        for name in ("base_rate", "effect", "carryover", "heterogeneity", "dispersion"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} = {getattr(self, name)} must be positive")
        for name in ("displacement", "compliance", "contamination", "foot_share",
                     "pair_share", "stop_share"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} = {getattr(self, name)} must be between 0 and 1")
        unknown = sorted(set(self.offence_mix) - set(SUBGROUP_CODES))
        if unknown:
            problems.append(f"offence_mix has unknown subgroups {unknown}; known: "
                            f"{', '.join(SUBGROUP_CODES)}")
        if problems:
            raise DesignError("; ".join(problems))

    @property
    def k(self) -> int:
        """Hot spots tasked per day (crossover; per site and shift with strata)."""
        if self.per_day is not None:
            return self.per_day
        return (min(self.sites.values()) if self.sites else self.n_hotspots) // 2

    @property
    def quota(self) -> Any:
        """The crossover's ``per_day`` as :func:`rct.randomise.crossover` takes it."""
        if self.quotas is not None:
            return self.quotas
        if self.sites and self.per_day is None:  # half of each site's hot spots
            return {s: int(n) // 2 for s, n in self.sites.items()}
        return self.k

    def irr(self, site: str | None, shift: str | None) -> float:
        """The true rate ratio of a unit in ``site`` and ``shift`` (see ``effects``)."""
        for key in (f"{site}/{shift}", site, shift):
            if key in self.effects:
                return float(self.effects[key])
        return float(self.effect)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    @property
    def baseline_start(self) -> dt.date:
        return self.start - dt.timedelta(days=self.baseline_days)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        return d
