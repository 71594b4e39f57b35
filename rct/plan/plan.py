"""The analysis plan: one object from pre-registration to publication.

:func:`plan_from_trial` resolves a ``trial.toml`` (and the allocation and
hot-spot files it names) into an :class:`AnalysisPlan`: the estimand, the
primary outcome, the one primary test and the scale it is reported on,
secondary outcomes and their multiplicity adjustment, α, carryover lags and
the power assumptions.  The design report prints it, ``rct plan`` registers
it (``plan.json``), ``rct evaluate`` runs it and records it in
``results.json``, and the evaluation report prints it again: every one of
them shows the same SHA-256.

The SHA-256 is that of the plan's canonical JSON (:meth:`AnalysisPlan.to_json`:
sorted keys, two-space indent, UTF-8, one trailing newline), which is exactly
the content of ``plan.json``; so ``sha256sum plan.json`` prints it too.  Paths
in the plan are relative to the trial file's folder, so the hash does not
depend on where the trial folder lives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rct.errors import ConfigError

__all__ = [
    "PLAN_SCHEMA",
    "PRIMARY_TESTS",
    "OutcomeSpec",
    "PrimaryTest",
    "PowerAssumptions",
    "AnalysisPlan",
    "plan_from_trial",
    "primary_test_key",
    "outcome_label",
    "HARM_INDEX_NAMES",
]

PLAN_SCHEMA = "rct-plan/1"

HARM_INDEX_NAMES = {
    "cchi": "Cambridge Crime Harm Index (police.uk category weights)",
    "cchi-subgroup": "Cambridge Crime Harm Index (Home Office subgroup weights)",
    "ons": "ONS Crime Severity Score",
}

#: primary test key -> (design -> (statistic, scale, effect model))
PRIMARY_TESTS: dict[str, dict[str, dict[str, str]]] = {
    "rate-ratio": {
        "crossover": {
            "statistic": "conditional Poisson log rate ratio with hot-spot strata "
                         "(tasked vs untasked hot-spot-days)",
            "scale": "rate ratio",
            "effect": "multiplicative",
            "interval": "inverting the randomisation test under a constant proportional effect",
        },
        "parallel": {
            "statistic": "log ratio of mean outcome per hot spot, treatment vs control "
                         "(within blocks when blocked)",
            "scale": "rate ratio",
            "effect": "multiplicative",
            "interval": "inverting the randomisation test under a constant proportional effect",
        },
    },
    "difference": {
        "crossover": {
            "statistic": "two-way fixed-effects OLS coefficient of tasking "
                         "(hot-spot and day fixed effects)",
            "scale": "difference per hot-spot-day",
            "effect": "additive",
            "interval": "inverting the randomisation test under a constant additive effect",
        },
        "parallel": {
            "statistic": "difference in mean outcome per hot spot, treatment minus control "
                         "(within blocks when blocked)",
            "scale": "difference per hot spot over the trial window",
            "effect": "additive",
            "interval": "inverting the randomisation test under a constant additive effect",
        },
    },
    "lin": {
        "parallel": {
            "statistic": "Lin's covariate-adjusted difference in means (baseline outcome, "
                         "interacted)",
            "scale": "difference per hot spot over the trial window",
            "effect": "additive",
            "interval": "inverting the randomisation test under a constant additive effect",
        },
    },
}


def primary_test_key(design_type: str, estimator: str) -> str:
    """The primary test an ``[analysis] estimator`` names for a design (ValueError if none)."""
    from rct.config import ESTIMATORS_BY_DESIGN

    tests = ESTIMATORS_BY_DESIGN.get(design_type, {})
    if estimator not in tests:
        raise ValueError(
            f"estimator {estimator!r} is not available for a {design_type} design; valid: "
            f"{', '.join(tests)}")
    return tests[estimator]


def estimators_for(design_type: str) -> tuple[str, ...]:
    from rct.config import ESTIMATORS_BY_DESIGN

    return tuple(ESTIMATORS_BY_DESIGN.get(design_type, {}))


def outcome_label(name: str, *, crime_types: tuple[str, ...] = (), harm: str = "cchi",
                  labels: Mapping[str, str] | None = None) -> str:
    """A reader's name for an outcome column (``[analysis] labels`` wins)."""
    if labels and name in labels:
        return str(labels[name])
    types = ", ".join(crime_types)
    if name == "crimes":
        return f"Recorded crime ({types})" if types else "Recorded crime"
    if name == "harm":
        index = HARM_INDEX_NAMES.get(harm, "user harm table")
        short = index.split(" (")[0]
        return f"Crime harm ({short}{'; ' + types if types else ''})"
    return name.replace("_", " ")


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome of the plan: column, reader's label, and how it is built."""

    name: str
    label: str
    crime_types: tuple[str, ...]
    harm_index: str | None
    unit: str
    window: tuple[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "crime_types": list(self.crime_types),
                "harm_index": self.harm_index, "unit": self.unit,
                "window": list(self.window) if self.window else None}


@dataclass(frozen=True)
class PrimaryTest:
    """The one pre-registered test: statistic, inference, scale and interval."""

    key: str
    statistic: str
    scale: str
    effect: str
    interval: str
    inference: str
    draws: int
    seed: int | None
    alpha: float
    alternative: str = "two-sided"

    @property
    def description(self) -> str:
        """One sentence naming the test, for the reports."""
        return (f"{self.inference}: {self.statistic}; {self.alternative} test at "
                f"α = {self.alpha:g}, reported as a {self.scale} with a "
                f"{1 - self.alpha:.0%} interval from {self.interval}")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "statistic": self.statistic, "scale": self.scale,
                "effect": self.effect, "interval": self.interval, "inference": self.inference,
                "draws": self.draws, "seed": self.seed, "alpha": self.alpha,
                "alternative": self.alternative}


@dataclass(frozen=True)
class PowerAssumptions:
    """``[power]``: what the design's power calculation assumes."""

    rate: float | None = None
    dispersion: float = 0.0
    heterogeneity: float = 0.0
    reduction: float = 0.15
    power: float = 0.8

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "dispersion": self.dispersion,
                "heterogeneity": self.heterogeneity, "reduction": self.reduction,
                "power": self.power}


@dataclass(frozen=True)
class AnalysisPlan:
    """The resolved analysis plan of a trial (immutable).

    Build it with :func:`plan_from_trial`.  :meth:`to_dict` is what
    ``plan.json`` and ``results.json`` carry; :attr:`sha256` is the SHA-256 of
    :meth:`to_json`.
    """

    trial_name: str
    force: str
    registration: str | None
    design_type: str
    design: Mapping[str, Any]
    estimand: str
    primary: OutcomeSpec
    primary_test: PrimaryTest
    secondary: tuple[OutcomeSpec, ...]
    multiplicity: str
    carryover_days: int
    covariates: tuple[str, ...]
    power: PowerAssumptions
    files: Mapping[str, Any]
    dosage: Mapping[str, Any]
    robustness: tuple[str, ...]
    monitoring: Mapping[str, Any] = field(default_factory=dict)
    costs: Mapping[str, Any] = field(default_factory=dict)
    _json: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "design", MappingProxyType(dict(self.design)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "dosage", MappingProxyType(dict(self.dosage)))
        object.__setattr__(self, "monitoring", MappingProxyType(dict(self.monitoring)))
        object.__setattr__(self, "costs", MappingProxyType(dict(self.costs)))
        object.__setattr__(self, "_json", _canonical(self._as_dict()))

    # -- identity -------------------------------------------------------------
    def _as_dict(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "trial": {"name": self.trial_name, "force": self.force,
                      "registration": self.registration},
            "design": dict(self.design),
            "estimand": self.estimand,
            "primary_outcome": self.primary.to_dict(),
            "primary_test": self.primary_test.to_dict(),
            "secondary_outcomes": [o.to_dict() for o in self.secondary],
            "multiplicity": self.multiplicity,
            "carryover_days": self.carryover_days,
            "covariates": list(self.covariates),
            "power_assumptions": self.power.to_dict(),
            "files": dict(self.files),
            "dosage": dict(self.dosage),
            "robustness": list(self.robustness),
            "monitoring": dict(self.monitoring),
            "costs": dict(self.costs),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the content of ``plan.json``)."""
        return json.loads(self._json)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, indent 2, trailing newline (``plan.json``'s bytes)."""
        return self._json

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`to_json` (= ``sha256sum plan.json``): publish this."""
        return hashlib.sha256(self._json.encode("utf-8")).hexdigest()

    @property
    def outcomes(self) -> tuple[OutcomeSpec, ...]:
        return (self.primary, *self.secondary)

    @property
    def alpha(self) -> float:
        return self.primary_test.alpha

    # -- for people -------------------------------------------------------------
    def describe(self) -> list[tuple[str, str]]:
        """The plan in plain words, one (label, text) row per element, for the reports."""
        t = self.primary_test
        rows = [
            ("Estimand", self.estimand),
            *self._strata_rows(),
            ("Primary outcome", f"{self.primary.label}, {self.primary.unit}"
             + (f", trial window {self.primary.window[0]} to {self.primary.window[1]}"
                if self.primary.window else "")),
            ("Primary test", t.description),
            ("Randomisation draws", f"{t.draws:,} draws from the trial's own randomisation "
             "design" + (f" (seed {t.seed})" if t.seed is not None else "")),
        ]
        if self.secondary:
            adj = {"holm": "Holm-adjusted", "bh": "Benjamini–Hochberg-adjusted",
                   "none": "not adjusted"}[self.multiplicity]
            rows.append(("Secondary outcomes", "; ".join(o.label for o in self.secondary)
                         + f" — the same test, p-values {adj} across the secondary outcomes"))
        else:
            rows.append(("Secondary outcomes", "none"))
        if self.covariates:
            rows.append(("Covariates", ", ".join(self.covariates)))
        if self.carryover_days:
            rows.append(("Carryover", f"tasking on each of the previous {self.carryover_days} "
                         "days, estimated as an exploratory distributed-lag model"))
        p = self.power
        rows.append(("Power assumptions",
                     (f"{p.rate:g} crimes per hot-spot-day" if p.rate is not None
                      else "crime rate calibrated on the baseline window")
                     + f", day-level overdispersion {p.dispersion:g}, between-hot-spot "
                     f"heterogeneity {p.heterogeneity:g}; {p.reduction:.0%} reduction, "
                     f"{p.power:.0%} power"))
        m = self.monitoring
        if m.get("sequential", "none") == "none":
            rows.append(("Interim looks", "none planned: the effect is estimated once, at the "
                         "end of the trial (monitoring shows dosage and compliance only)"))
        else:
            name = {"obrien-fleming": "O'Brien–Fleming-type", "pocock": "Pocock-type"}.get(
                m["sequential"])
            how = (f"group-sequential boundaries with {name} Lan–DeMets alpha spending"
                   if name else "an anytime-valid confidence sequence")
            rows.append(("Interim looks", f"the primary effect every {m['every_days']} days, "
                         f"{m['planned_looks']} planned looks, judged against {how} "
                         f"({m['alternative']}, overall α = {t.alpha:g}); per-hot-spot "
                         f"feedback over the last {m['feedback_weeks']} weeks, shrunk towards "
                         "the trial-wide effect (feedback, not a test)"))
        c = self.costs
        if c.get("officer_hour") is not None:
            rows.append(("Cost and value", f"officer hours ({c['hours_from']}, {c['basis']} "
                         f"hot-spot-days) at {c['currency']} {c['officer_hour']:g} an hour "
                         f"({c['officer_hour_source']}), against crimes prevented"
                         + (f" priced by {c['unit_costs']['file']}" if c.get("unit_costs")
                            else "")))
        if self.robustness:
            rows.append(("Robustness and exploratory analyses",
                         "; ".join(self.robustness) + " — reported, never confirmatory"))
        return rows

    def _strata_rows(self) -> list[tuple[str, str]]:
        """The design's sites and shifts in words (none for a single-site whole-day trial)."""
        d = self.design
        rows = []
        if d.get("shifts"):
            rows.append(("Shifts", "each hot spot in each shift is a unit of the crossover ("
                         + ", ".join(f"{k} {v}" for k, v in d["shifts"].items()) + "; a shift "
                         "crossing midnight belongs to the trial day it starts in), tasked with "
                         "its own daily quota"))
        if d.get("sites"):
            rows.append(("Sites", f"column {d['sites']!r} of the hot-spot file: "
                         + ("a daily quota per site" if self.design_type == "crossover"
                            else "randomised within sites (blocks)")
                         + "; the pooled test is primary, per-site estimates exploratory"))
        return rows

    def differences(self, other: AnalysisPlan | Mapping[str, Any]) -> list[str]:
        """Dotted keys whose values differ from ``other`` (a plan or a plan dict)."""
        theirs = other.to_dict() if isinstance(other, AnalysisPlan) else dict(other)
        return _diff(self.to_dict(), theirs)


def _canonical(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(key)
            else:
                out += _diff(a[k], b[k], key)
        return out
    return [] if a == b else [prefix or "(plan)"]


# ---------------------------------------------------------------------------
# building


def plan_from_trial(trial: Any) -> AnalysisPlan:
    """Resolve a trial file (path or :class:`rct.config.Trial`) into its analysis plan.

    Raises
    ------
    ConfigError
        When a key of the trial file cannot be honoured by the design
        (e.g. a parallel-only estimator in a crossover trial), naming the key.
    """
    from rct.config import Trial, load_trial

    t = trial if isinstance(trial, Trial) else load_trial(trial)
    d, a = t.design, t.analysis
    problems: list[str] = []
    try:
        key = primary_test_key(d.type, a.estimator)
    except ValueError:
        problems.append(f"[analysis] estimator = {a.estimator!r} is not available for a "
                        f"{d.type} design; valid: {', '.join(estimators_for(d.type))}")
        key = "rate-ratio"
    if key == "lin" and t.windows.baseline is None:
        problems.append('[analysis] estimator = "lin" needs [windows] baseline (the baseline '
                        "outcome is its covariate)")
    if d.type == "parallel" and a.carryover_days:
        problems.append(f"[analysis] carryover_days = {a.carryover_days} applies to crossover "
                        "designs only")
    if problems:
        raise ConfigError(problems, file=t.path)

    window = ((t.windows.trial[0].isoformat(), t.windows.trial[1].isoformat())
              if t.windows.trial else None)
    unit = ("per hot-spot-day" if d.type == "crossover"
            else "total per hot spot over the trial window")
    if d.type == "crossover" and d.shifts:
        unit = "per hot-spot-shift (a hot spot in one shift on one trial day)"
    harm = t.files.harm if t.files.harm in HARM_INDEX_NAMES else _rel(t, t.files.harm)

    def spec(name: str) -> OutcomeSpec:
        return OutcomeSpec(
            name=name,
            label=outcome_label(name, crime_types=a.crime_types, harm=t.files.harm,
                                labels=a.labels),
            crime_types=tuple(a.crime_types), harm_index=harm if "harm" in name else None,
            unit=unit, window=window)

    info = PRIMARY_TESTS[key][d.type]
    test = PrimaryTest(
        key=key, statistic=info["statistic"], scale=info["scale"], effect=info["effect"],
        interval=info["interval"],
        inference="randomisation inference (Monte Carlo draws from the trial's own design)",
        draws=int(a.ri_draws), seed=a.seed, alpha=float(a.alpha))
    if d.type == "crossover":
        estimand = ("The effect of tasking a hot spot on a trial day on that hot-spot-day's "
                    "outcome: tasked against untasked hot-spot-days, every hot spot serving "
                    "in both conditions (a repeated crossover).")
    else:
        estimand = ("The effect of assigning a hot spot to the patrolled arm on its outcome "
                    "over the trial window: treatment against control hot spots.")
    covs: tuple[str, ...] = ()
    if d.type == "parallel":
        if key == "lin":
            covs = (f"baseline {a.primary} (the baseline window's total)",)
        if d.scheme in ("block", "pairs"):
            covs = (*covs, "randomisation blocks (analysed within blocks)")
    robustness = _robustness(d.type, key, a)
    strata = [w for w, on in (("site", d.sites), ("shift", d.type == "crossover" and d.shifts))
              if on]
    if strata:  # estimates by site / shift beside the pooled one (rct.plan.subgroups)
        robustness = (*robustness,
                      f"the primary test restricted to each {' and each '.join(strata)} "
                      "(randomisation inference from the same draws) with a randomisation test "
                      "of heterogeneity and Cochran's Q / I²")
    # the allocation's manifest is not hashed here: it records when it was made, so
    # its bytes differ between identical re-runs; `rct randomise verify` checks it
    files = {
        "hotspots": _file_entry(t, t.files.hotspots),
        "allocation": _file_entry(t, t.files.allocation),
        "harm": harm if t.files.harm in HARM_INDEX_NAMES else _file_entry(t, Path(t.files.harm)),
    }
    design = {k: v for k, v in t.to_dict()["design"].items() if v not in (None, [], ())}
    dosage = {k: v for k, v in t.to_dict()["dosage"].items()
              if k != "pseudonym_key_file" and v is not None}
    m = t.monitoring
    looks = m.planned_looks
    if looks is None and d.days:
        looks = max(1, d.days // m.every_days)
    monitoring = {"sequential": m.sequential, "every_days": m.every_days,
                  "planned_looks": looks, "alternative": m.alternative,
                  "feedback_weeks": m.feedback_weeks}
    c = t.costs
    costs = {} if c.officer_hour is None else {
        "officer_hour": c.officer_hour, "officer_hour_source": c.officer_hour_source,
        "currency": c.currency, "price_year": c.price_year, "hours_from": c.hours_from,
        "basis": c.basis, "unit_costs": _file_entry(t, c.unit_costs)}
    return AnalysisPlan(
        trial_name=t.trial.name, force=t.trial.force, registration=t.trial.registration,
        design_type=d.type, design=design, estimand=estimand, primary=spec(a.primary),
        primary_test=test,
        secondary=tuple(spec(s) for s in a.secondary if s != a.primary),
        multiplicity=a.multiplicity, carryover_days=int(a.carryover_days), covariates=covs,
        power=PowerAssumptions(**t.power.to_kwargs()), files=files, dosage=dosage,
        robustness=robustness, monitoring=monitoring, costs=costs)


def _robustness(design_type: str, key: str, a: Any) -> tuple[str, ...]:
    if design_type == "crossover":
        other = ("randomisation test of the two-way fixed-effects OLS difference"
                 if key == "rate-ratio" else
                 "randomisation test of the conditional Poisson rate ratio")
        rows = [other,
                "two-way fixed-effects Poisson rate ratio with small-sample cluster-robust "
                "standard errors",
                "two-way fixed-effects OLS with small-sample cluster-robust standard errors",
                "published-style comparison of tasked and untasked hot-spot-days "
                "(t-test; chi-squared assumes Poisson counts)"]
        if a.carryover_days:
            rows.append(f"carryover over {a.carryover_days} days (distributed lags)")
    else:
        other = ("randomisation test of the difference in means" if key != "difference"
                 else "randomisation test of the ratio of means")
        rows = [other, "quasi-Poisson and negative binomial rate ratios",
                "Neyman difference in means with its design-based standard error",
                "pre/post comparisons when a baseline window is given (WDD, RIRR)"]
    rows += ["displacement to the catchment ring when catchment counts exist",
             "complier effect of patrol presence when a dosage table exists"]
    return tuple(rows)


def _rel(t: Any, p: Any) -> str | None:
    if p is None:
        return None
    p = Path(p)
    try:
        return p.resolve().relative_to(t.root.resolve()).as_posix()
    except ValueError:
        return p.name


def _file_entry(t: Any, p: Path | None) -> dict[str, Any] | None:
    """``{"file": relative name, "sha256": ...}`` (``sha256`` None when it does not exist yet)."""
    if p is None:
        return None
    p = Path(p)
    sha = None
    if p.is_file():
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
    return {"file": _rel(t, p), "sha256": sha}
