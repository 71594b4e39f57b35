"""The trial file, ``trial.toml``: a trial's inputs, outputs and analysis plan.

One file names everything a trial needs, so it can be pre-registered and every
later command (``monitor``, ``evaluate``, ``report``) reads it.  The loader
validates the whole file and reports every problem at once, each with its key::

    [design] per_day = 50 is more than the 45 hot spots

Paths are relative to the directory of the TOML file.

Example
-------
.. code-block:: toml

    [trial]
    name = "Thames Valley hot spots 2"
    force = "Thames Valley"

    [design]
    type = "crossover"          # or "parallel"
    per_day = 17                # crossover: hot spots tasked each day
    start = 2023-04-01
    days = 365
    day_starts = "06:00"        # trial day runs 06:00-05:59 local time
    seed = 20230401

    [windows]
    baseline = [2023-01-01, 2023-03-31]
    trial = [2023-04-01, 2024-03-30]

    [files]
    hotspots = "hotspots.geojson"
    allocation = "schedule.csv"
    patrols = "patrols.csv"
    airwave = ["pings/*.parquet"]
    crimes = ["crimes.csv"]
    harm = "cchi"               # cchi | cchi-subgroup | ons | path/to/table.csv
    out_dir = "out"

    [analysis]
    primary = "harm"
    secondary = ["crimes"]
    estimator = "auto"
    alpha = 0.05
    ri_draws = 2000
    multiplicity = "holm"

    [dosage]
    target_minutes = 15
    max_visit_hours = 4
    buffer_m = 25
    gap_minutes = 5

    [columns]                   # the force's headers -> canonical names (rct schema KIND)
    dayfirst = true             # slash dates are dd/mm/yyyy
    patrols = { "Hot Spot" = "hotspot_id", "Arrived" = "arrived_at" }
    crimes = { "Crime Ref" = "crime_id" }
"""

from __future__ import annotations

import contextvars
import datetime as dt
import glob
import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rct.errors import ConfigError

__all__ = [
    "Trial",
    "TrialInfo",
    "DesignSpec",
    "Windows",
    "Files",
    "Analysis",
    "DosageSpec",
    "PowerSpec",
    "MonitoringSpec",
    "CostSpec",
    "ColumnsSpec",
    "load_trial",
    "DESIGN_TYPES",
    "PARALLEL_SCHEMES",
    "ESTIMATORS",
    "MULTIPLICITY",
    "RANGES",
    "ALLOW_OUTSIDE",
]

DESIGN_TYPES = ("parallel", "crossover")
PARALLEL_SCHEMES = ("complete", "block", "pairs", "rerandomise")
CROSSOVER_SCHEMES = ("daily",)
#: [analysis] estimator: the primary test (see rct.plan: "auto" = rate ratio in both designs)
ESTIMATORS = ("auto", "rate-ratio", "difference", "lin", "dim", "panel", "panel-poisson")
#: [analysis] estimator -> the primary test it names (rct.plan.PRIMARY_TESTS), per design
ESTIMATORS_BY_DESIGN: dict[str, dict[str, str]] = {
    "crossover": {"auto": "rate-ratio", "rate-ratio": "rate-ratio", "panel-poisson": "rate-ratio",
                  "difference": "difference", "panel": "difference"},
    "parallel": {"auto": "rate-ratio", "rate-ratio": "rate-ratio", "difference": "difference",
                 "dim": "difference", "lin": "lin"},
}
#: names the old trial files used for model-based estimators, refused with a pointer
_RETIRED_ESTIMATORS = ("negbin", "poisson", "quasipoisson")
MULTIPLICITY = ("holm", "bh", "none")
HARM_NAMES = ("cchi", "cchi-subgroup", "ons")

#: valid range of every numeric key: (section, key) -> (low, high, low_open, whole_number)
#: (``low_open``: the low end itself is not allowed).  NaN and infinity are always refused.
RANGES: dict[tuple[str, str], tuple[float, float, bool, bool]] = {
    ("design", "seed"): (0, 2**63 - 1, False, True),
    ("design", "per_day"): (1, 100_000, False, True),
    ("design", "days"): (1, 3660, False, True),
    ("design", "max_consecutive"): (1, 3660, False, True),
    ("design", "washout"): (0, 365, False, True),
    ("design", "n_treated"): (1, 100_000, False, True),
    ("design", "n_blocks"): (1, 100_000, False, True),
    ("design", "threshold"): (0, 1e6, True, False),
    ("design", "acceptance"): (0, 1, True, False),
    ("analysis", "alpha"): (0, 0.5, True, False),
    ("analysis", "ri_draws"): (100, 1_000_000, False, True),
    ("analysis", "carryover_days"): (0, 14, False, True),
    ("analysis", "seed"): (0, 2**63 - 1, False, True),
    ("dosage", "target_minutes"): (0, 1440, True, False),
    ("dosage", "max_visit_hours"): (0, 48, True, False),
    ("dosage", "buffer_m"): (0, 1000, False, False),
    ("dosage", "catchment_m"): (0, 5000, True, False),
    ("dosage", "gap_minutes"): (0, 1440, True, False),
    ("dosage", "cap_per_day"): (1, 1440, False, True),
}

#: set by ``rct --allow-outside``: trial-file paths may leave the trial's folder
ALLOW_OUTSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rct_allow_outside", default=False
)

# output name -> default file name under out_dir
_OUTPUTS = {
    "patrol_dosage": "patrol_dosage.parquet",
    "airwave_presence": "airwave_presence.parquet",
    "outcomes": "outcomes.parquet",
    "results": "results.json",
}
# the registered plan (``rct plan``) sits beside the trial file unless [files] plan says otherwise
_PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class TrialInfo:
    """``[trial]``: who and what."""

    name: str = "hot-spot trial"
    force: str = "Thames Valley"
    registration: str | None = None


@dataclass(frozen=True)
class DesignSpec:
    """``[design]``: the randomisation design the allocation was drawn from."""

    type: str = "crossover"
    scheme: str = "daily"
    arms: tuple[str, ...] = ("control", "treatment")
    seed: int | None = None
    day_starts: str = "06:00"
    # crossover
    per_day: int | dict[str, Any] | None = None
    start: dt.date | None = None
    days: int | None = None
    equal_coverage: bool = True
    block_weekday: bool = False
    max_consecutive: int | None = None
    washout: int = 0
    # parallel
    n_treated: int | None = None
    ratio: tuple[int, ...] | None = None
    block_column: str | None = None
    blocks_from: str | None = None
    n_blocks: int | None = None
    rank_column: str | None = None
    covariates: tuple[str, ...] = ()
    threshold: float | None = None
    acceptance: float | None = None
    # sites and shifts (both designs / crossover)
    sites: str | None = None
    shifts: dict[str, str] | None = None

    @property
    def end(self) -> dt.date | None:
        """Last trial day of a crossover design (inclusive)."""
        if self.start is None or self.days is None:
            return None
        return self.start + dt.timedelta(days=self.days - 1)


@dataclass(frozen=True)
class Windows:
    """``[windows]``: inclusive date ranges of the baseline and trial periods."""

    baseline: tuple[dt.date, dt.date] | None = None
    trial: tuple[dt.date, dt.date] | None = None


@dataclass(frozen=True)
class Files:
    """``[files]``: inputs and outputs, resolved to absolute paths."""

    hotspots: Path | None = None
    allocation: Path | None = None
    patrols: tuple[Path, ...] = ()
    airwave: tuple[Path, ...] = ()
    crimes: tuple[Path, ...] = ()
    harm: str = "cchi"
    out_dir: Path = Path("out")
    patrol_dosage: Path = Path("out/patrol_dosage.parquet")
    airwave_presence: Path = Path("out/airwave_presence.parquet")
    outcomes: Path = Path("out/outcomes.parquet")
    results: Path = Path("out/results.json")
    plan: Path = Path("plan.json")


@dataclass(frozen=True)
class Analysis:
    """``[analysis]``: the pre-registered analysis plan."""

    primary: str = "harm"
    secondary: tuple[str, ...] = ("crimes",)
    estimator: str = "auto"
    alpha: float = 0.05
    ri_draws: int = 2000
    multiplicity: str = "holm"
    crime_types: tuple[str, ...] = ()
    carryover_days: int = 0
    seed: int | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def outcomes(self) -> tuple[str, ...]:
        return (self.primary, *[s for s in self.secondary if s != self.primary])


@dataclass(frozen=True)
class DosageSpec:
    """``[dosage]``: how patrols and radio pings become dose."""

    target_minutes: float = 15.0
    max_visit_hours: float = 4.0
    buffer_m: float = 0.0
    catchment_m: float | None = None
    gap_minutes: float = 5.0
    cap_per_day: int | None = None
    pseudonym_key_file: Path | None = None


@dataclass(frozen=True)
class PowerSpec:
    """``[power]``: the assumptions of the design's power calculation (part of the plan)."""

    rate: float | None = None
    dispersion: float = 0.0
    heterogeneity: float = 0.0
    reduction: float = 0.15
    power: float = 0.8

    def to_kwargs(self) -> dict[str, Any]:
        return {"rate": self.rate, "dispersion": self.dispersion,
                "heterogeneity": self.heterogeneity, "reduction": self.reduction,
                "power": self.power}


SEQUENTIAL_METHODS = ("none", "obrien-fleming", "pocock", "confidence-sequence")
ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass(frozen=True)
class MonitoringSpec:
    """``[monitoring]``: interim looks at the primary effect while the trial runs (the plan).

    ``sequential = "none"`` (default): no interim effect estimate is shown, so
    looking at the data cannot inflate the error rate.
    """

    sequential: str = "none"
    every_days: int = 7
    planned_looks: int | None = None  # default: one per complete period of the trial
    alternative: str = "two-sided"
    feedback_weeks: int = 4


@dataclass(frozen=True)
class CostSpec:
    """``[costs]``: the price of an officer hour (with its source) and unit costs of crime."""

    officer_hour: float | None = None
    officer_hour_source: str | None = None
    currency: str = "GBP"
    price_year: int | None = None
    hours_from: str = "patrols"  # patrols (officer minutes) | airwave (radio minutes)
    basis: str = "tasked"  # tasked | extra | all
    unit_costs: Path | None = None


@dataclass(frozen=True)
class ColumnsSpec:
    """``[columns]``: the force's column headers mapped to canonical names, per input.

    Each of ``patrols``, ``pings``, ``crimes``, ``hotspots``, ``harm`` maps a
    header to a canonical name (see ``rct schema KIND``); ``dayfirst`` sets
    the order of slash dates (default: told from each file, refused when it
    cannot be).  Every command that reads the trial's inputs applies it.
    """

    patrols: dict[str, str] = field(default_factory=dict)
    pings: dict[str, str] = field(default_factory=dict)
    crimes: dict[str, str] = field(default_factory=dict)
    hotspots: dict[str, str] = field(default_factory=dict)
    harm: dict[str, str] = field(default_factory=dict)
    dayfirst: bool | None = None

    def column_map(self) -> Any:
        """As a :class:`rct.io.columns.ColumnMap`."""
        from rct.io.columns import ColumnMap

        return ColumnMap({k: getattr(self, k) for k in
                          ("patrols", "pings", "crimes", "hotspots", "harm")}, self.dayfirst)


@dataclass(frozen=True)
class Trial:
    """A validated ``trial.toml``.

    Attributes
    ----------
    path : Path
        The TOML file.
    sha256 : str
        SHA-256 of its bytes (for manifests and report appendices).
    """

    path: Path
    sha256: str
    trial: TrialInfo = field(default_factory=TrialInfo)
    design: DesignSpec = field(default_factory=DesignSpec)
    windows: Windows = field(default_factory=Windows)
    files: Files = field(default_factory=Files)
    analysis: Analysis = field(default_factory=Analysis)
    dosage: DosageSpec = field(default_factory=DosageSpec)
    power: PowerSpec = field(default_factory=PowerSpec)
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    costs: CostSpec = field(default_factory=CostSpec)
    columns: ColumnsSpec = field(default_factory=ColumnsSpec)

    @property
    def root(self) -> Path:
        return self.path.parent

    def inputs(self, name: str) -> list[Any]:
        """``[files] <name>`` as :class:`rct.io.sources.Input` s carrying ``[columns]``.

        ``name`` is ``patrols``, ``airwave`` or ``crimes``; the readers apply
        the force's column mapping and date order.  Plain paths when
        ``[columns]`` says nothing for that input.
        """
        from rct.io.sources import Input

        kind = {"patrols": "patrols", "airwave": "pings", "crimes": "crimes"}[name]
        mapping = getattr(self.columns, kind)
        paths = list(getattr(self.files, name))
        if not mapping and self.columns.dayfirst is None:
            return paths
        return [Input(path=p, columns=mapping, dayfirst=self.columns.dayfirst) for p in paths]

    def hotspots_input(self) -> Any:
        """``[files] hotspots`` with ``[columns] hotspots`` (a plain path without)."""
        if self.files.hotspots is None or not self.columns.hotspots:
            return self.files.hotspots
        from rct.io.sources import Input

        return Input(path=self.files.hotspots, columns=self.columns.hotspots)

    def require(self, *names: str) -> None:
        """Raise :class:`ConfigError` unless every named ``[files]`` input is set and exists."""
        problems = []
        for name in names:
            value = getattr(self.files, name)
            paths = value if isinstance(value, tuple) else (value,)
            if value is None or value == ():
                problems.append(f"[files] {name} is not set")
                continue
            for p in paths:
                if not Path(p).exists():
                    problems.append(f"[files] {name} = {str(p)!r} does not exist")
        if problems:
            raise ConfigError(problems, file=self.path)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings) for reports and manifests."""
        from dataclasses import asdict

        def conv(v: Any) -> Any:
            if isinstance(v, Path):
                return str(v)
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            if isinstance(v, dt.date):
                return v.isoformat()
            return v

        return conv(asdict(self))


# ---------------------------------------------------------------------------
# loading


class _Problems:
    """Collects every problem so the user sees them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, section: str, message: str) -> None:
        self.items.append(f"[{section}] {message}")


_SECTIONS: dict[str, type] = {
    "trial": TrialInfo,
    "design": DesignSpec,
    "windows": Windows,
    "files": Files,
    "analysis": Analysis,
    "dosage": DosageSpec,
    "power": PowerSpec,
    "monitoring": MonitoringSpec,
    "costs": CostSpec,
    "columns": ColumnsSpec,
}


def load_trial(
    path: str | Path, *, check_files: bool = False, allow_outside: bool | None = None
) -> Trial:
    """Read and validate a ``trial.toml``.

    Parameters
    ----------
    path
        The trial file.
    check_files
        Also require every input named under ``[files]`` to exist.
    allow_outside
        Let paths in the file (``[files]`` inputs, ``out_dir`` and outputs,
        ``[dosage] pseudonym_key_file``) resolve outside the trial file's
        folder.  Default ``False`` (``rct --allow-outside ...`` sets it): a
        path that escapes the folder (``../x``, ``/etc/x``) is a problem
        naming its key, so a shared trial file cannot make a command read
        or write elsewhere on the machine.

    Returns
    -------
    Trial

    Raises
    ------
    ConfigError
        Listing every problem found, each with its section and key.
    """
    path = Path(path).resolve()
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"cannot read trial file: {exc.strerror}"], file=path) from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"not valid TOML: {exc}"], file=path) from None

    p = _Problems()
    for section in raw:
        if section not in _SECTIONS:
            p.add(section, f"unknown section; valid sections are {', '.join(_SECTIONS)}")
    for section, cls in _SECTIONS.items():
        value = raw.get(section, {})
        if not isinstance(value, dict):
            p.add(section, "must be a table")
            raw[section] = {}
            continue
        valid = set(cls.__dataclass_fields__)
        if section == "columns":
            continue  # checked by _columns (every problem named)
        for key in value:
            if key not in valid:
                p.add(section, f"unknown key {key!r}; valid keys are {', '.join(sorted(valid))}")

    root = path.parent
    outside = ALLOW_OUTSIDE.get() if allow_outside is None else bool(allow_outside)
    trial = _trial_info(raw.get("trial", {}), p)
    design = _design(raw.get("design", {}), p)
    windows = _windows(raw.get("windows", {}), p)
    files = _files(raw.get("files", {}), root, p, outside)
    analysis = _analysis(raw.get("analysis", {}), p)
    dosage = _dosage(raw.get("dosage", {}), root, p, outside)
    power = _power(raw.get("power", {}), p)
    monitoring = _monitoring(raw.get("monitoring", {}), design, p)
    costs = _costs(raw.get("costs", {}), root, p, outside)
    columns = _columns(raw.get("columns", {}), p)
    _cross_checks(design, windows, files, analysis, p)

    if p.items:
        raise ConfigError(p.items, file=path)
    result = Trial(
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        trial=trial,
        design=design,
        windows=windows,
        files=files,
        analysis=analysis,
        dosage=dosage,
        power=power,
        monitoring=monitoring,
        costs=costs,
        columns=columns,
    )
    if check_files:
        inputs = [
            n
            for n in ("hotspots", "allocation", "patrols", "airwave", "crimes")
            if getattr(files, n) not in (None, ())
        ]
        result.require(*inputs)
    return result


# -- typed getters ------------------------------------------------------------


def _get(
    d: dict,
    key: str,
    kind: type | tuple[type, ...],
    section: str,
    p: _Problems,
    default: Any = None,
) -> Any:
    if key not in d:
        return default
    v = d[key]
    ok = isinstance(v, kind) and not (isinstance(v, bool) and bool not in _as_tuple(kind))
    if not ok:
        names = " or ".join(k.__name__ for k in _as_tuple(kind))
        p.add(section, f"{key} = {v!r} must be {names}")
        return default
    return v


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _choice(
    d: dict, key: str, valid: tuple[str, ...], section: str, p: _Problems, default: str
) -> str:
    v = _get(d, key, str, section, p, default)
    if v not in valid:
        p.add(section, f"{key} = {v!r} is not one of {', '.join(valid)}")
        return default
    return v


def _date(v: Any, key: str, section: str, p: _Problems) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    p.add(section, f"{key} = {v!r} must be a date (YYYY-MM-DD)")
    return None


def _ranged(v: Any, key: str, section: str, p: _Problems, default: Any = None) -> Any:
    """``v`` if it lies in :data:`RANGES` for ``(section, key)``; else a problem and ``default``."""
    if v is None:
        return None
    lo, hi, lo_open, whole = RANGES[(section, key)]
    if isinstance(v, float) and not math.isfinite(v):
        p.add(section, f"{key} = {v!r} must be a finite number")
        return default
    if whole and int(v) != v:
        p.add(section, f"{key} = {v!r} must be a whole number")
        return default
    if (v <= lo if lo_open else v < lo) or v > hi:
        low = f"more than {_num(lo)}" if lo_open else _num(lo)
        p.add(section, f"{key} = {v!r} is out of range: must be between {low} and {_num(hi)}")
        return default
    return v


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"


def _positive(v: Any, key: str, section: str, p: _Problems, *, allow_zero: bool = False) -> Any:
    """Kept for callers of the old helper: the key's range from :data:`RANGES`."""
    return _ranged(v, key, section, p)


def _strings(d: dict, key: str, section: str, p: _Problems) -> tuple[str, ...]:
    v = d.get(key, ())
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    if key in d:
        p.add(section, f"{key} = {v!r} must be a string or a list of strings")
    return ()


def _trial_info(d: dict, p: _Problems) -> TrialInfo:
    return TrialInfo(
        name=_get(d, "name", str, "trial", p, TrialInfo.name),
        force=_get(d, "force", str, "trial", p, TrialInfo.force),
        registration=_get(d, "registration", str, "trial", p, None),
    )


def _design(d: dict, p: _Problems) -> DesignSpec:
    s = "design"
    kind = _choice(d, "type", DESIGN_TYPES, s, p, "crossover")
    schemes = PARALLEL_SCHEMES if kind == "parallel" else CROSSOVER_SCHEMES
    scheme = _choice(d, "scheme", schemes, s, p, schemes[0])
    day_starts = _get(d, "day_starts", str, s, p, "06:00")
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", day_starts):
        p.add(s, f'day_starts = {day_starts!r} must be HH:MM, e.g. "06:00"')
    arms = _strings(d, "arms", s, p) or ("control", "treatment")
    if len(set(arms)) != len(arms) or len(arms) < 2:
        p.add(s, f"arms = {list(arms)!r} must name at least two distinct arms")
    start = _date(d["start"], "start", s, p) if "start" in d else None
    ratio = d.get("ratio")
    if ratio is not None:
        if not (
            isinstance(ratio, list)
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 100 for x in ratio)
            and len(ratio) == len(arms)
        ):
            p.add(s, f"ratio = {ratio!r} must be one whole number between 1 and 100 per arm "
                     f"({len(arms)})")
            ratio = None
        else:
            ratio = tuple(ratio)
    acceptance = _ranged(_get(d, "acceptance", (int, float), s, p), "acceptance", s, p)
    sites = _get(d, "sites", str, s, p)
    block_column = _get(d, "block_column", str, s, p)
    if (kind == "parallel" and sites and "scheme" not in d and block_column is None
            and "blocks_from" not in d):
        scheme = "block"  # sites: a parallel design is blocked by site unless told otherwise
    if kind == "parallel" and sites and scheme == "block" and block_column is None \
            and "blocks_from" not in d:
        block_column = sites
    spec = DesignSpec(
        type=kind,
        scheme=scheme,
        arms=arms,
        seed=_ranged(_get(d, "seed", int, s, p), "seed", s, p),
        day_starts=day_starts,
        per_day=_per_day(d, s, p),
        start=start,
        days=_positive(_get(d, "days", int, s, p), "days", s, p),
        equal_coverage=_get(d, "equal_coverage", bool, s, p, True),
        block_weekday=_get(d, "block_weekday", bool, s, p, False),
        max_consecutive=_positive(_get(d, "max_consecutive", int, s, p), "max_consecutive", s, p),
        washout=_ranged(_get(d, "washout", int, s, p, 0), "washout", s, p, 0),
        n_treated=_positive(_get(d, "n_treated", int, s, p), "n_treated", s, p),
        ratio=ratio,
        block_column=block_column,
        blocks_from=_get(d, "blocks_from", str, s, p),
        n_blocks=_positive(_get(d, "n_blocks", int, s, p), "n_blocks", s, p),
        rank_column=_get(d, "rank_column", str, s, p),
        covariates=_strings(d, "covariates", s, p),
        threshold=_positive(_get(d, "threshold", (int, float), s, p), "threshold", s, p),
        acceptance=acceptance,
        sites=sites,
        shifts=_shifts(d, s, p),
    )
    if kind == "crossover":
        for key in ("per_day", "start", "days"):
            if key not in d:
                p.add(s, f"{key} is required for a crossover design")
    if kind == "parallel" and scheme == "block" and not spec.block_column and not spec.blocks_from:
        p.add(s, 'scheme = "block" needs block_column, or blocks_from and n_blocks (quantile '
                 "blocks)")
    if (spec.blocks_from is None) != (spec.n_blocks is None):
        p.add(s, "blocks_from and n_blocks go together (quantile blocks of one column)")
    if spec.block_column and spec.blocks_from:
        p.add(s, "give block_column or blocks_from, not both")
    if kind == "crossover":
        for key in ("n_treated", "ratio", "block_column", "blocks_from", "n_blocks",
                    "rank_column", "threshold", "acceptance"):
            if key in d:
                p.add(s, f"{key} applies to parallel designs only")
        if isinstance(spec.per_day, dict) and not (spec.sites or spec.shifts):
            p.add(s, "per_day is a table (a quota per site or shift), but neither sites nor "
                     "shifts is set")
    else:
        for key in ("per_day", "days", "equal_coverage", "block_weekday", "max_consecutive",
                    "washout", "shifts"):
            if key in d:
                p.add(s, f"{key} applies to crossover designs only")
        if scheme == "pairs" and not spec.rank_column:
            p.add(s, 'scheme = "pairs" needs rank_column (hot spots are paired by rank)')
    if kind == "parallel" and scheme == "rerandomise" and not spec.covariates:
        p.add(s, 'scheme = "rerandomise" needs covariates')
    return spec


def _per_day(d: dict, s: str, p: _Problems) -> Any:
    """``per_day``: a number, or a table site -> k, shift -> k or site -> {shift -> k}."""
    v = d.get("per_day")
    if v is None:
        return None
    if not isinstance(v, dict):
        return _positive(_get(d, "per_day", int, s, p), "per_day", s, p)

    def whole(x: Any, key: str) -> int | None:
        if isinstance(x, bool) or not isinstance(x, int):
            p.add(s, f"per_day.{key} = {x!r} must be a whole number of hot spots a day")
            return None
        return _ranged(x, "per_day", s, p)

    out: dict[str, Any] = {}
    for key, x in v.items():
        if isinstance(x, dict):
            out[key] = {k2: whole(x2, f"{key}.{k2}") for k2, x2 in x.items()}
        else:
            out[key] = whole(x, key)
    return out


def _shifts(d: dict, s: str, p: _Problems) -> dict[str, str] | None:
    """``shifts``: the time windows of a shift design, ``{day = "06:00-18:00", ...}``."""
    v = d.get("shifts")
    if v is None:
        return None
    from rct.io.windows import parse_windows

    if not isinstance(v, dict | str):
        p.add(s, f'shifts = {v!r} must be a table of name = "HH:MM-HH:MM"')
        return None
    try:
        return parse_windows(v).to_dict()
    except ValueError as exc:
        p.add(s, f"shifts: {exc}")
        return None


def _windows(d: dict, p: _Problems) -> Windows:
    out: dict[str, tuple[dt.date, dt.date] | None] = {}
    for key in ("baseline", "trial"):
        v = d.get(key)
        if v is None:
            out[key] = None
            continue
        if not (isinstance(v, list) and len(v) == 2):
            p.add("windows", f"{key} = {v!r} must be [start, end]")
            out[key] = None
            continue
        a, b = (_date(x, key, "windows", p) for x in v)
        if a and b and a > b:
            p.add("windows", f"{key} starts {a} after it ends {b}")
        out[key] = (a, b) if a and b else None
    w = Windows(**out)
    if w.baseline and w.trial and w.baseline[1] >= w.trial[0]:
        p.add("windows", f"baseline ends {w.baseline[1]}, not before the trial starts {w.trial[0]}")
    return w


def _inside(root: Path, value: str, key: str, section: str, p: _Problems, allow: bool) -> bool:
    """True if ``value`` (relative to ``root``) stays inside ``root``; else a problem."""
    if allow:
        return True
    full = os.path.normpath(os.path.join(str(root), value))
    base = os.path.normpath(str(root))
    if os.path.commonpath([full, base]) == base:
        return True
    p.add(
        section,
        f"{key} = {value!r} is outside the trial's folder {base}; keep the trial's files in "
        "its folder, or pass --allow-outside (rct --allow-outside ...) to allow it",
    )
    return False


def _files(d: dict, root: Path, p: _Problems, allow_outside: bool = False) -> Files:
    s = "files"

    def one(key: str) -> Path | None:
        v = _get(d, key, str, s, p)
        if v is not None:
            _inside(root, v, key, s, p, allow_outside)
        return None if v is None else (root / v).resolve()

    def many(key: str) -> tuple[Path, ...]:
        out: list[Path] = []
        for pattern in _strings(d, key, s, p):
            _inside(root, pattern, key, s, p, allow_outside)
            full = str(root / pattern)
            if glob.has_magic(pattern):
                matches = sorted(glob.glob(full))
                # nothing yet (a pre-registered trial before data arrive): keep the
                # pattern, so Trial.require() reports it when a command needs the files
                out.extend(Path(m).resolve() for m in matches) if matches else out.append(
                    Path(full).resolve())
            else:
                out.append(Path(full).resolve())
        return tuple(out)

    harm = _get(d, "harm", str, s, p, "cchi")
    if harm not in HARM_NAMES and not harm.lower().endswith(".csv"):
        p.add(s, f"harm = {harm!r} must be one of {', '.join(HARM_NAMES)} or a .csv table")
    elif harm not in HARM_NAMES:
        _inside(root, harm, "harm", s, p, allow_outside)
        harm = str((root / harm).resolve())
    out_name = _get(d, "out_dir", str, s, p, "out")
    _inside(root, out_name, "out_dir", s, p, allow_outside)
    out_dir = (root / out_name).resolve()
    outputs = {}
    for key, default in _OUTPUTS.items():
        v = _get(d, key, str, s, p)
        if v:
            _inside(root, v, key, s, p, allow_outside)
        outputs[key] = (root / v).resolve() if v else out_dir / default
    plan_v = _get(d, "plan", str, s, p)
    if plan_v is not None:
        _inside(root, plan_v, "plan", s, p, allow_outside)
    plan_path = (root / (plan_v or _PLAN_FILE)).resolve()
    return Files(
        plan=plan_path,
        hotspots=one("hotspots"),
        allocation=one("allocation"),
        patrols=many("patrols"),
        airwave=many("airwave"),
        crimes=many("crimes"),
        harm=harm,
        out_dir=out_dir,
        **outputs,
    )


def _analysis(d: dict, p: _Problems) -> Analysis:
    s = "analysis"
    alpha = float(_get(d, "alpha", (int, float), s, p, 0.05))
    if math.isfinite(alpha) and alpha >= 0.5:
        p.add(s, f"alpha = {alpha!r} is out of range: must be more than 0 and less than 0.5")
        alpha = 0.05
    alpha = float(_ranged(alpha, "alpha", s, p, 0.05))
    draws = _ranged(_get(d, "ri_draws", int, s, p, 2000), "ri_draws", s, p, 2000)
    carry = _ranged(_get(d, "carryover_days", int, s, p, 0), "carryover_days", s, p, 0)
    estimator = _get(d, "estimator", str, s, p, "auto")
    if estimator in _RETIRED_ESTIMATORS:
        p.add(s, f"estimator = {estimator!r}: the pre-registered test is a randomisation test; "
                 'use "rate-ratio" (model-based count models are reported as robustness checks)')
        estimator = "auto"
    elif estimator not in ESTIMATORS:
        p.add(s, f"estimator = {estimator!r} is not one of {', '.join(ESTIMATORS)}")
        estimator = "auto"
    labels = d.get("labels", {})
    if not (isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())):
        p.add(s, f"labels = {labels!r} must be a table of outcome = \"label\"")
        labels = {}
    primary = _get(d, "primary", str, s, p, "harm")
    secondary = _strings(d, "secondary", s, p) if "secondary" in d else ("crimes",)
    for name in labels:
        if name not in (primary, *secondary):
            p.add(s, f"labels has {name!r}, which is not the primary or a secondary outcome")
    types = _strings(d, "crime_types", s, p)
    if len(set(types)) != len(types):
        p.add(s, f"crime_types = {list(types)!r} lists a type twice")
    return Analysis(
        primary=primary,
        secondary=secondary,
        estimator=estimator,
        alpha=alpha,
        ri_draws=draws,
        multiplicity=_choice(d, "multiplicity", MULTIPLICITY, s, p, "holm"),
        crime_types=types,
        carryover_days=carry,
        seed=_ranged(_get(d, "seed", int, s, p), "seed", s, p),
        labels=dict(labels),
    )


def _power(d: dict, p: _Problems) -> PowerSpec:
    s = "power"
    num = (int, float)
    rate = _get(d, "rate", num, s, p)
    if rate is not None and not 0 < rate <= 1000:
        p.add(s, f"rate = {rate!r} must be a positive number of crimes per hot-spot-day")
        rate = None
    out: dict[str, Any] = {"rate": None if rate is None else float(rate)}
    for key, lo, hi, default in (("dispersion", 0.0, 100.0, 0.0),
                                 ("heterogeneity", 0.0, 100.0, 0.0),
                                 ("reduction", 0.0, 1.0, 0.15), ("power", 0.0, 1.0, 0.8)):
        v = _get(d, key, num, s, p, default)
        strict = key in ("reduction", "power")
        ok = (lo < v < hi) if strict else (lo <= v <= hi)
        if not ok:
            p.add(s, f"{key} = {v!r} must be {'between' if strict else 'from'} {lo:g} "
                     f"{'and' if strict else 'to'} {hi:g}")
            v = default
        out[key] = float(v)
    return PowerSpec(**out)


def _dosage(d: dict, root: Path, p: _Problems, allow_outside: bool = False) -> DosageSpec:
    s = "dosage"
    num = (int, float)
    key_file = _get(d, "pseudonym_key_file", str, s, p)
    if key_file is not None:
        _inside(root, key_file, "pseudonym_key_file", s, p, allow_outside)
    return DosageSpec(
        target_minutes=float(
            _positive(_get(d, "target_minutes", num, s, p, 15.0), "target_minutes", s, p) or 15.0
        ),
        max_visit_hours=float(
            _positive(_get(d, "max_visit_hours", num, s, p, 4.0), "max_visit_hours", s, p) or 4.0
        ),
        buffer_m=float(
            _positive(_get(d, "buffer_m", num, s, p, 0.0), "buffer_m", s, p, allow_zero=True) or 0.0
        ),
        catchment_m=_positive(_get(d, "catchment_m", num, s, p), "catchment_m", s, p),
        gap_minutes=float(
            _positive(_get(d, "gap_minutes", num, s, p, 5.0), "gap_minutes", s, p) or 5.0
        ),
        cap_per_day=_positive(_get(d, "cap_per_day", int, s, p), "cap_per_day", s, p),
        pseudonym_key_file=None if key_file is None else (root / key_file).resolve(),
    )


def _monitoring(d: dict, design: DesignSpec, p: _Problems) -> MonitoringSpec:
    s = "monitoring"
    method = _choice(d, "sequential", SEQUENTIAL_METHODS, s, p, "none")
    every = _get(d, "every_days", int, s, p, 7)
    if not 1 <= every <= 366:
        p.add(s, f"every_days = {every!r} must be from 1 to 366")
        every = 7
    looks = _get(d, "planned_looks", int, s, p)
    if looks is not None and not 1 <= looks <= 1000:
        p.add(s, f"planned_looks = {looks!r} must be from 1 to 1,000")
        looks = None
    fb = _get(d, "feedback_weeks", int, s, p, 4)
    if not 1 <= fb <= 52:
        p.add(s, f"feedback_weeks = {fb!r} must be from 1 to 52")
        fb = 4
    if method != "none" and design.type != "crossover":
        p.add(s, f"sequential = {method!r}: interim looks are built for crossover designs "
                 "(every hot spot in both conditions every week)")
    return MonitoringSpec(sequential=method, every_days=every, planned_looks=looks,
                          alternative=_choice(d, "alternative", ALTERNATIVES, s, p, "two-sided"),
                          feedback_weeks=fb)


def _columns(d: dict, p: _Problems) -> ColumnsSpec:
    from rct.io.columns import parse_columns

    cmap, problems = parse_columns(d)
    for msg in problems:
        p.add("columns", msg)
    return ColumnsSpec(**{k: dict(v) for k, v in cmap.maps.items()}, dayfirst=cmap.dayfirst)


def _costs(d: dict, root: Path, p: _Problems, allow_outside: bool = False) -> CostSpec:
    s = "costs"
    hour = _get(d, "officer_hour", (int, float), s, p)
    if hour is not None and not 0 < hour <= 10_000:
        p.add(s, f"officer_hour = {hour!r} must be a positive cost of one officer hour")
        hour = None
    source = _get(d, "officer_hour_source", str, s, p)
    if hour is not None and not (source and source.strip()):
        p.add(s, "officer_hour needs officer_hour_source: where the figure comes from")
    year = _get(d, "price_year", int, s, p)
    if year is not None and not 1900 <= year <= 2200:
        p.add(s, f"price_year = {year!r} is not a year")
        year = None
    unit = _get(d, "unit_costs", str, s, p)
    if unit is not None:
        _inside(root, unit, "unit_costs", s, p, allow_outside)
    return CostSpec(officer_hour=None if hour is None else float(hour),
                    officer_hour_source=source, currency=_get(d, "currency", str, s, p, "GBP"),
                    price_year=year,
                    hours_from=_choice(d, "hours_from", ("patrols", "airwave"), s, p, "patrols"),
                    basis=_choice(d, "basis", ("tasked", "extra", "all"), s, p, "tasked"),
                    unit_costs=None if unit is None else (root / unit).resolve())


def _cross_checks(design: DesignSpec, windows: Windows, files: Files, analysis: Analysis,
                  p: _Problems) -> None:
    valid = ESTIMATORS_BY_DESIGN[design.type]
    if analysis.estimator not in valid:
        p.add("analysis", f"estimator = {analysis.estimator!r} is not available for a "
                          f"{design.type} design; valid: {', '.join(valid)}")
    if design.type == "parallel" and analysis.carryover_days:
        p.add("analysis", f"carryover_days = {analysis.carryover_days} applies to crossover "
                          "designs only")
    if design.type == "crossover" and design.start and design.days and windows.trial:
        if windows.trial[0] != design.start:
            p.add(
                "windows", f"trial starts {windows.trial[0]}, but [design] start = {design.start}"
            )
        if windows.trial[1] != design.end:
            p.add(
                "windows",
                f"trial ends {windows.trial[1]}, but [design] start + days - 1 = {design.end}",
            )
    n = _count_hotspots(files.hotspots)
    strata = design.sites or design.shifts or isinstance(design.per_day, dict)
    if n is not None and not strata:  # with sites or shifts, per_day is per stratum
        if design.per_day is not None and design.per_day > n:
            p.add("design", f"per_day = {design.per_day} is more than the {n} hot spots")
        if design.per_day is not None and design.per_day == n:
            p.add(
                "design",
                f"per_day = {design.per_day} tasks every one of the {n} hot spots "
                "each day: there is no control",
            )
    if n is not None:
        if design.n_treated is not None and design.n_treated >= n:
            p.add(
                "design",
                f"n_treated = {design.n_treated} leaves no control among the {n} hot spots",
            )


def _count_hotspots(path: Path | None) -> int | None:
    """Number of hot spots in the file, if it exists and can be counted cheaply."""
    if path is None or not path.exists():
        return None
    try:
        if path.suffix.lower() in (".geojson", ".json"):
            import json

            return len(json.loads(path.read_text("utf-8")).get("features", []))
        if path.suffix.lower() == ".csv":
            import csv

            with path.open(newline="", encoding="utf-8") as fh:
                return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None
