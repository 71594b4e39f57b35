"""Cost and value of the patrols: officer hours, crimes and harm prevented, cost per crime
prevented and a benefit–cost ratio, with intervals from the effect's confidence interval.

Nothing here carries a built-in price.  The cost of an officer hour is a trial-file
setting with its source (:class:`CostPerHour`); unit costs of crime come from a table the
user supplies (:func:`read_unit_costs`), usually the Home Office's *The economic and social
costs of crime* (Heeks et al. 2018) — and every figure says where its numbers came from.

* :func:`officer_hours` — hours delivered from a dosage table (patrol dosage
  ``officer_minutes`` or Airwave ``radio_minutes`` / ``presence_minutes``);
* :func:`control_baseline` — crimes (and harm, and crimes by offence) expected on the
  tasked hot-spot-days had they not been tasked: each hot spot's untasked-day rate times
  its tasked days;
* :func:`cost_value` — the primary effect (a rate ratio with CI) applied to that
  baseline, priced.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import ConfigError, DataError, RCTWarning
from rct.evaluate.results import TIDY_COLUMNS
from rct.evaluate.sequential import _json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["BASES", "CostPerHour", "OfficerHours", "Baseline", "CostValue",
           "UnpricedOffenceWarning", "officer_hours", "control_baseline", "read_unit_costs",
           "cost_value"]

BASES = ("tasked", "extra", "all")


class UnpricedOffenceWarning(RCTWarning):
    """Some control-condition crimes are of offences the unit-cost table does not price."""


def _nonempty(s: Any) -> bool:
    return isinstance(s, str) and s.strip() != ""


@dataclass(frozen=True)
class CostPerHour:
    """The cost of one officer hour, with where the figure comes from.

    Parameters
    ----------
    value
        Cost per officer hour (> 0).
    source
        Where it comes from (required), e.g. a force's published staff-cost rate or a
        cited report with table and year.
    currency, price_year
        Recorded with the figures (the unit costs of crime should be in the same).
    """

    value: float
    source: str
    currency: str = "GBP"
    price_year: str | None = None

    def __post_init__(self) -> None:
        problems = []
        try:
            v = float(self.value)
        except (TypeError, ValueError):
            v = math.nan
        if not (v > 0 and math.isfinite(v)):
            problems.append(f"cost per officer hour must be a positive number, got {self.value!r}")
        if not _nonempty(self.source):
            problems.append("cost per officer hour needs a source (where the figure comes from)")
        if problems:
            raise ConfigError(problems)
        object.__setattr__(self, "value", v)


@dataclass(frozen=True)
class OfficerHours:
    """Officer hours delivered (see :func:`officer_hours`)."""

    hours: float
    basis: str
    measure: str
    source: str
    tasked_hours: float
    untasked_hours: float
    tasked_days: int
    untasked_days: int

    def to_dict(self) -> dict[str, Any]:
        return _json(dict(vars(self)))


@dataclass(frozen=True)
class Baseline:
    """Outcomes expected on the tasked hot-spot-days without tasking (:func:`control_baseline`).

    ``expected`` maps outcome column → expected total; ``by_offence`` (or ``None``) is a
    DataFrame ``offence, expected_crimes, untasked_crimes``.
    """

    expected: Mapping[str, float]
    observed_tasked: Mapping[str, float]
    tasked_days: int
    untasked_days: int
    offence_column: str | None = None
    by_offence: Any = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", MappingProxyType(dict(self.expected)))
        object.__setattr__(self, "observed_tasked", MappingProxyType(dict(self.observed_tasked)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        if self.by_offence is not None:
            object.__setattr__(self, "by_offence", self.by_offence.copy())


def _panel_flags(panel: Any, treatment: str, unit: str, time: str) -> Any:
    import pandas as pd

    missing = [c for c in (unit, time, treatment) if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks columns {missing}; it has {list(panel.columns)}")
    z = panel[treatment].to_numpy()
    if not np.isin(z, (0, 1)).all():
        raise DataError(f"{treatment!r} must be 0/1", column=treatment)
    out = pd.DataFrame({unit: panel[unit].astype(str).to_numpy(),
                        time: pd.to_datetime(panel[time]).dt.date.to_numpy(),
                        treatment: z.astype(np.int8)})
    if out.duplicated([unit, time]).any():
        raise DataError("the panel has duplicate hotspot_id × trial_date rows")
    return out


def officer_hours(
    dosage: Any,
    panel: Any,
    *,
    measure: str = "officer_minutes",
    basis: str = "tasked",
    source: str = "patrol logs",
    treatment: str = "tasked",
    unit: str = "hotspot_id",
    time: str = "trial_date",
) -> OfficerHours:
    """Officer hours delivered at the hot spots, from a dosage table.

    Parameters
    ----------
    dosage
        Per ``hotspot_id`` × ``trial_date`` dosage with a minutes column ``measure``:
        patrol dosage (``rct ingest patrols``: ``officer_minutes`` — sum over patrols, two
        officers together count twice; ``presence_minutes`` — union) or Airwave presence
        (``rct ingest airwave``: ``radio_minutes`` — sum over radios; ``presence_minutes``
        — any radio present).  Hot-spot-days absent from it had none.
    panel
        The crossover panel or schedule with ``hotspot_id, trial_date`` and a 0/1
        ``tasked`` column (which days were tasked).
    basis
        ``"tasked"`` (default): hours on tasked hot-spot-days — the patrols the app asked
        for; ``"extra"``: ``(mean per tasked day − mean per untasked day) × tasked days``,
        the hours attributable to tasking (right for Airwave, where radios pass by anyway);
        ``"all"``: every hour in the table on scheduled hot-spot-days.
    source
        Recorded with the figure (e.g. ``"patrol logs"``, ``"Airwave"``).

    Returns
    -------
    OfficerHours
    """
    import pandas as pd

    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    flags = _panel_flags(panel, treatment, unit, time)
    for c in (unit, time, measure):
        if c not in dosage.columns:
            raise DataError(f"the dosage table has no {c!r} column; it has "
                            f"{list(dosage.columns)}", column=c)
    d = pd.DataFrame({unit: dosage[unit].astype(str).to_numpy(),
                      time: pd.to_datetime(dosage[time]).dt.date.to_numpy(),
                      "_m": pd.to_numeric(dosage[measure], errors="coerce").to_numpy()})
    bad = ~np.isfinite(d["_m"].to_numpy()) | (d["_m"].to_numpy() < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError("minutes must be non-negative numbers", row=i + 1, column=measure,
                        value=dosage[measure].iloc[i])
    d = d.groupby([unit, time], as_index=False)["_m"].sum()
    m = flags.merge(d, on=[unit, time], how="left")
    mins = m["_m"].fillna(0.0).to_numpy()
    z = m[treatment].to_numpy() == 1
    n1, n0 = int(z.sum()), int((~z).sum())
    h1, h0 = float(mins[z].sum() / 60), float(mins[~z].sum() / 60)
    if basis == "tasked":
        hours = h1
    elif basis == "all":
        hours = h1 + h0
    else:
        if n0 == 0 or n1 == 0:
            raise DataError("basis='extra' needs both tasked and untasked hot-spot-days")
        hours = max((h1 / n1 - h0 / n0) * n1, 0.0)
    return OfficerHours(hours=float(hours), basis=basis, measure=measure, source=source,
                        tasked_hours=h1, untasked_hours=h0, tasked_days=n1, untasked_days=n0)


def control_baseline(
    panel: Any,
    *,
    outcomes: tuple[str, ...] = ("crimes",),
    crimes: Any = None,
    offence_column: str | None = None,
    treatment: str = "tasked",
    unit: str = "hotspot_id",
    time: str = "trial_date",
) -> Baseline:
    """Outcomes expected on the tasked hot-spot-days had they not been tasked.

    Parameters
    ----------
    panel
        Crossover panel: ``hotspot_id, trial_date, tasked`` and the ``outcomes`` columns.
    outcomes
        Outcome columns to project (e.g. ``("crimes", "harm")``); those absent are skipped.
    crimes
        Optional incident-level crimes (``hotspot_id, trial_date`` and an offence column)
        for the baseline by offence, which :func:`cost_value` prices.
    offence_column
        ``"offence_code"`` or ``"offence"`` (default: whichever ``crimes`` has, code first).

    Notes
    -----
    ``E0 = sum_i (Y0_i / T0_i) T1_i``: each hot spot's outcome per untasked day times its
    tasked days (a hot spot never untasked takes the trial's overall untasked rate).  By
    offence, the same with ``Y0_io``.  Crimes outside the panel's hot-spot-days are
    ignored (counted in ``details``).
    """
    import pandas as pd

    flags = _panel_flags(panel, treatment, unit, time)
    z = flags[treatment].to_numpy() == 1
    ids, code = np.unique(flags[unit].to_numpy(), return_inverse=True)
    H = len(ids)
    T1 = np.bincount(code, z, H)
    T0 = np.bincount(code, ~z, H)
    if T0.sum() == 0 or T1.sum() == 0:
        raise DataError("the panel needs both tasked and untasked hot-spot-days")

    def project(y0_by_hs: np.ndarray, total0: float) -> float:
        rate = np.where(T0 > 0, y0_by_hs / np.where(T0 > 0, T0, 1.0), total0 / T0.sum())
        return float((rate * T1).sum())

    expected, observed = {}, {}
    for c in outcomes:
        if c not in panel.columns:
            continue
        y = pd.to_numeric(panel[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(y).any() or (y < 0).any():
            raise DataError(f"{c!r} must be non-negative numbers", column=c)
        y0 = np.bincount(code, y * ~z, H)
        expected[c] = project(y0, float(y0.sum()))
        observed[c] = float((y * z).sum())
    if not expected:
        raise DataError(f"the panel has none of the outcome columns {list(outcomes)}")
    by, col, dropped = None, None, 0
    if crimes is not None:
        col = offence_column or next((c for c in ("offence_code", "offence")
                                      if c in crimes.columns), None)
        if col is None or col not in crimes.columns:
            raise DataError("the crimes table needs an 'offence_code' or 'offence' column")
        cr = pd.DataFrame({unit: crimes[unit].astype(str).to_numpy(),
                           time: pd.to_datetime(crimes[time]).dt.date.to_numpy(),
                           "_o": crimes[col].astype(str).to_numpy()})
        cr = cr.merge(flags, on=[unit, time], how="left")
        dropped = int(cr[treatment].isna().sum())
        cr = cr[cr[treatment].notna()]
        c0 = cr[cr[treatment] == 0]
        hs = pd.Index(ids).get_indexer(c0[unit])
        offences = sorted(cr["_o"].unique())
        rows = []
        for o in offences:  # one projection per offence (a few dozen at most)
            sel = (c0["_o"] == o).to_numpy()
            y0 = np.bincount(hs[sel], minlength=H).astype(float)
            rows.append({"offence": o, "expected_crimes": project(y0, float(y0.sum())),
                         "untasked_crimes": int(sel.sum()),
                         "tasked_crimes": int(((cr["_o"] == o) & (cr[treatment] == 1)).sum())})
        by = pd.DataFrame(rows, columns=["offence", "expected_crimes", "untasked_crimes",
                                         "tasked_crimes"])
    return Baseline(expected=expected, observed_tasked=observed, tasked_days=int(T1.sum()),
                    untasked_days=int(T0.sum()), offence_column=col, by_offence=by,
                    details={"hotspots": H, "crimes_outside_panel": dropped})


def read_unit_costs(table: Any, *, file: Any = None) -> pd.DataFrame:
    """Validate a unit-costs-of-crime table (a DataFrame or a CSV path).

    Columns: ``offence_code`` or ``offence`` (matching the crimes' offence column),
    ``unit_cost`` (cost of one crime, > 0 … 0 allowed), ``source`` (where the figure comes
    from: required on every row); optional ``currency``, ``price_year``, ``notes``.
    Nothing is bundled: the Home Office's *The economic and social costs of crime*
    (Heeks, Reed, Tafsiri & Prince 2018, Research Report 99, table 1) is the usual
    source — cite the edition, table and price year in ``source``.

    Returns
    -------
    pandas.DataFrame
        ``offence, unit_cost, source`` (+ the optional columns), one row per offence.
    """
    import pandas as pd

    if not hasattr(table, "columns"):
        file = file or table
        table = pd.read_csv(table, dtype={"offence_code": str, "offence": str})
    key = next((c for c in ("offence_code", "offence") if c in table.columns), None)
    missing = [c for c in ("unit_cost", "source") if c not in table.columns]
    if key is None:
        missing.insert(0, "offence_code or offence")
    if missing:
        raise DataError(f"the unit-cost table lacks {missing}; it has {list(table.columns)}",
                        file=file)
    out = pd.DataFrame({"offence": table[key].astype(str).str.strip().to_numpy()})
    cost = pd.to_numeric(table["unit_cost"], errors="coerce").to_numpy(dtype=float)
    for i in range(len(out)):  # validation with the row named (tables are short)
        if not (np.isfinite(cost[i]) and cost[i] >= 0):
            raise DataError("unit_cost must be a non-negative number", file=file, row=i + 1,
                            column="unit_cost", value=table["unit_cost"].iloc[i])
        if not _nonempty(table["source"].iloc[i] if pd.notna(table["source"].iloc[i]) else ""):
            raise DataError("every unit cost needs a source", file=file, row=i + 1,
                            column="source", value=table["source"].iloc[i])
    out["unit_cost"] = cost
    out["source"] = table["source"].astype(str).to_numpy()
    for c in ("currency", "price_year", "notes"):
        if c in table.columns:
            out[c] = table[c].to_numpy()
    dup = out["offence"].duplicated()
    if dup.any():
        raise DataError("an offence appears twice", file=file, row=int(np.flatnonzero(dup)[0]) + 1,
                        column=key, value=out["offence"][dup].iloc[0])
    out.attrs["key"] = key
    return out


@dataclass(frozen=True)
class CostValue:
    """Cost and value of the patrols (see :func:`cost_value`).

    Every money figure is in ``currency``; ``rows`` holds one entry per quantity with its
    point value, interval and a ``status`` that says when a figure is undefined or
    unbounded rather than printing a misleading number.
    """

    rows: tuple[Mapping[str, Any], ...]
    effect: Mapping[str, float]
    hours: OfficerHours
    cost_per_hour: CostPerHour
    alpha: float
    currency: str
    sources: tuple[str, ...]
    notes: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(MappingProxyType(dict(r)) for r in self.rows))
        object.__setattr__(self, "effect", MappingProxyType(dict(self.effect)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def row(self, term: str) -> Mapping[str, Any]:
        for r in self.rows:
            if r["term"] == term:
                return r
        raise KeyError(f"no row {term!r}; rows are {[r['term'] for r in self.rows]}")

    def tidy(self) -> pd.DataFrame:
        """One row per quantity: ``TIDY_COLUMNS`` (``std_error``, ``statistic`` and
        ``p_value`` NaN: these are derived figures, not tests) plus ``unit`` and
        ``status`` (``"ok"``, ``"unbounded"``, ``"undefined"``)."""
        import pandas as pd

        recs = [{"outcome": r.get("outcome", ""), "term": r["term"], "estimate": r["estimate"],
                 "std_error": math.nan, "statistic": math.nan, "p_value": math.nan,
                 "conf_low": r["conf_low"], "conf_high": r["conf_high"],
                 "method": "cost and value (interval from the effect's CI)", "n": pd.NA,
                 "unit": r["unit"], "status": r["status"]} for r in self.rows]
        return pd.DataFrame(recs, columns=[*TIDY_COLUMNS, "unit", "status"])

    def to_dict(self) -> dict[str, Any]:
        return _json({
            "kind": "cost and value", "currency": self.currency, "alpha": self.alpha,
            "effect": dict(self.effect), "officer_hours": self.hours.to_dict(),
            "cost_per_officer_hour": {"value": self.cost_per_hour.value,
                                      "source": self.cost_per_hour.source,
                                      "currency": self.cost_per_hour.currency,
                                      "price_year": self.cost_per_hour.price_year},
            "rows": [dict(r) for r in self.rows],  # an unbounded limit becomes null
            "sources": list(self.sources), "notes": list(self.notes),
            "details": dict(self.details),
        })

    def summary(self) -> str:
        cur = self.currency
        h = self.row("officer_hours")
        c = self.row("cost")
        p = self.row("crimes_prevented")
        pct = f"{1 - self.alpha:.0%}".replace("%", " %")  # "95 %", as the headline writes it
        out = [f"{h['estimate']:,.0f} officer hours ({self.hours.source}, {self.hours.basis} "
               f"basis) cost {cur} {c['estimate']:,.0f} at {cur} {self.cost_per_hour.value:,.2f} "
               f"an hour ({self.cost_per_hour.source}).",
               f"Crimes prevented: {p['estimate']:,.1f} ({pct} CI {p['conf_low']:,.1f} to "
               f"{p['conf_high']:,.1f}).", _cpc_sentence(self.row("cost_per_crime_prevented"),
                                                         cur, pct)]
        try:
            b = self.row("benefit_cost_ratio")
            out.append(f"Benefit–cost ratio {b['estimate']:.2f} ({pct} CI {b['conf_low']:.2f} "
                       f"to {b['conf_high']:.2f}){'; ' + b['note'] if b.get('note') else ''}.")
        except KeyError:
            out.append("No benefit–cost ratio: no unit costs of crime were supplied.")
        return " ".join(out)

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, float_format=lambda v: f"{v:,.4g}")

    def __str__(self) -> str:
        return self.summary()


def _cpc_sentence(r: Mapping[str, Any], cur: str, pct: str) -> str:
    if r["status"] == "undefined":
        return f"Cost per crime prevented: undefined — {r['note']}."
    hi = "unbounded" if math.isinf(r["conf_high"]) else f"{cur} {r['conf_high']:,.0f}"
    return (f"Cost per crime prevented: {cur} {r['estimate']:,.0f} ({pct} CI {cur} "
            f"{r['conf_low']:,.0f} to {hi}){'; ' + r['note'] if r.get('note') else ''}.")


def _effect_numbers(effect: Any) -> tuple[float, float, float, float, str]:
    """(rate ratio, low, high, alpha, label) from an Estimate or a (rr, low, high) tuple."""
    if hasattr(effect, "terms"):
        t = effect.effect
        if t.scale != "ratio":
            raise ValueError(f"the effect must be a rate ratio (scale 'ratio'); the headline "
                             f"term of {effect.method!r} has scale {t.scale!r}")
        return (float(t.estimate), float(t.conf_low), float(t.conf_high), float(effect.alpha),
                f"{effect.outcome}: {effect.method}")
    try:
        rr, lo, hi = (float(x) for x in effect)
    except (TypeError, ValueError) as e:
        raise ValueError("effect must be an Estimate with a ratio term or a "
                         "(rate_ratio, conf_low, conf_high) triple") from e
    return rr, lo, hi, math.nan, "given rate ratio"


def _check_rr(rr: float, lo: float, hi: float) -> None:
    if not all(math.isfinite(x) and x > 0 for x in (rr, lo, hi)) or not lo <= rr <= hi:
        raise ValueError(f"the rate ratio and its interval must be positive with "
                         f"low <= estimate <= high; got {rr}, ({lo}, {hi})")


def cost_value(
    *,
    effect: Any,
    hours: OfficerHours,
    cost_per_hour: CostPerHour,
    baseline: Baseline,
    unit_costs: Any = None,
    outcome: str = "crimes",
    harm_effect: Any = None,
    harm: str = "harm",
    alpha: float | None = None,
) -> CostValue:
    """Cost per crime prevented and benefit–cost ratio of the patrols, with intervals.

    Parameters
    ----------
    effect
        The primary effect on crimes as a rate ratio with CI: an
        :class:`~rct.evaluate.results.Estimate` whose headline term has ``scale="ratio"``
        (e.g. :func:`rct.evaluate.crossover.crossover_poisson`) or ``(rr, low, high)``.
    hours
        :func:`officer_hours`.
    cost_per_hour
        :class:`CostPerHour` (value and source).
    baseline
        :func:`control_baseline` (with ``by_offence`` if unit costs are to be applied).
    unit_costs
        Optional unit costs of crime by offence (:func:`read_unit_costs`); without them
        there is no value of crime prevented and no benefit–cost ratio.
    harm_effect
        Rate ratio for the harm outcome (same forms as ``effect``); default: the crimes
        effect, assuming the same proportional effect on harm (said in the notes).
    alpha
        Level of the intervals (default: the effect's).

    Returns
    -------
    CostValue

    Notes
    -----
    With ``E0`` the crimes expected on the tasked hot-spot-days without tasking
    (:func:`control_baseline`) and rate ratio ``RR`` (interval ``[RR_L, RR_U]``):
    crimes prevented ``P(RR) = (1 - RR) E0``; cost ``C = hours x cost per hour``; value of
    crime prevented ``V(RR) = (1 - RR) sum_o E0_o u_o`` over the priced offences ``o``
    (unit cost ``u_o``; the same proportional effect on every offence); benefit–cost ratio
    ``V / C``; net benefit ``V - C``; cost per crime prevented ``C / P``.  Each interval is
    the effect's interval carried through the (monotone) map from ``RR``:
    ``P in [(1 - RR_U) E0, (1 - RR_L) E0]``, likewise ``V``, ``V/C`` and ``V - C``.
    ``C / P`` is only defined where ``P > 0``: if the interval's upper rate ratio
    ``RR_U >= 1`` (no effect, or harm, is within the CI) its upper limit is unbounded
    (``inf``, status ``"unbounded"``); if the point estimate ``RR >= 1`` no crime was
    prevented at the estimate and the figure is undefined (``NaN``, status
    ``"undefined"``) — never a negative cost per crime.  ``E0``, the hours and the prices
    are treated as known, so the intervals show the effect's uncertainty only.  Unit
    costs: Heeks et al. (2018); cost-benefit of hot-spot policing: e.g. Ariel, Weinborn &
    Sherman (2016), *J. Exp. Criminol.* 12:319–345 (Peterborough PCSO patrols).
    """
    rr, lo, hi, a_eff, label = _effect_numbers(effect)
    _check_rr(rr, lo, hi)
    a = a_eff if alpha is None else float(alpha)
    if not (0 < a < 1):
        raise ValueError("give alpha (the level of the effect's interval)")
    if outcome not in baseline.expected:
        raise ValueError(f"the baseline has no {outcome!r}; it has {list(baseline.expected)}")
    cur = cost_per_hour.currency
    E0 = float(baseline.expected[outcome])
    cost = hours.hours * cost_per_hour.value
    notes = ["Intervals carry the effect's confidence interval through; the baseline, hours "
             "and prices are treated as known."]
    sources = [f"cost per officer hour: {cost_per_hour.source}"]
    rows: list[dict[str, Any]] = []

    def add(term, est, low, high, unit, status="ok", note="", out=outcome):
        rows.append({"term": term, "outcome": out, "estimate": float(est),
                     "conf_low": float(low), "conf_high": float(high), "unit": unit,
                     "status": status, "note": note})

    add("officer_hours", hours.hours, hours.hours, hours.hours, "hours")
    add("cost", cost, cost, cost, cur)
    add("rate_ratio", rr, lo, hi, "ratio")
    add("crimes_expected_without_tasking", E0, E0, E0, "crimes")
    P, P_lo, P_hi = (1 - rr) * E0, (1 - hi) * E0, (1 - lo) * E0
    add("crimes_prevented", P, P_lo, P_hi, "crimes",
        note="negative values are more crimes on tasked days" if P_lo < 0 else "")
    # cost per crime prevented: honest about no effect
    if rr >= 1:
        cpc = (math.nan, math.nan, math.nan, "undefined",
               "the estimate shows no crime prevented (rate ratio >= 1)")
    elif hi >= 1:
        cpc = (cost / P, cost / P_hi, math.inf, "unbounded",
               "the interval includes no effect, so its upper limit is unbounded")
    else:
        cpc = (cost / P, cost / P_hi, cost / P_lo, "ok", "")
    add("cost_per_crime_prevented", cpc[0], cpc[1], cpc[2], f"{cur} per crime", cpc[3], cpc[4])
    if harm in baseline.expected:
        if harm_effect is None:
            hr, hlo, hhi = rr, lo, hi
            notes.append(f"Harm prevented applies the {outcome} rate ratio to {harm!r} "
                         "(assumes the same proportional effect on harm).")
        else:
            hr, hlo, hhi, _, _ = _effect_numbers(harm_effect)
            _check_rr(hr, hlo, hhi)
        H0 = float(baseline.expected[harm])
        add("harm_expected_without_tasking", H0, H0, H0, harm, out=harm)
        add("harm_prevented", (1 - hr) * H0, (1 - hhi) * H0, (1 - hlo) * H0, harm, out=harm)
    priced_share = math.nan
    if unit_costs is not None:
        uc = read_unit_costs(unit_costs)
        by = baseline.by_offence
        if by is None:
            raise ValueError("unit costs need the baseline by offence: pass the crimes table "
                             "to control_baseline(crimes=...)")
        m = by.merge(uc, on="offence", how="left")
        priced = m["unit_cost"].notna().to_numpy()
        exp_all = float(m["expected_crimes"].sum())
        priced_share = float(m.loc[priced, "expected_crimes"].sum() / exp_all) if exp_all else 0.0
        if (~priced).any():
            miss = m.loc[~priced].sort_values("expected_crimes", ascending=False)
            warnings.warn(
                f"{int((~priced).sum())} offences ({1 - priced_share:.1%} of the expected "
                f"crimes) have no unit cost and are left out of the value: "
                f"{', '.join(miss['offence'].head(5))}{' …' if len(miss) > 5 else ''}",
                UnpricedOffenceWarning, stacklevel=2)
            notes.append(f"Offences without a unit cost are left out of the value "
                         f"({1 - priced_share:.1%} of the expected crimes): the value is a "
                         "lower bound in that respect.")
        V0 = float((m.loc[priced, "expected_crimes"] * m.loc[priced, "unit_cost"]).sum())
        V, V_lo, V_hi = (1 - rr) * V0, (1 - hi) * V0, (1 - lo) * V0
        add("cost_of_crime_expected_without_tasking", V0, V0, V0, cur)
        add("value_of_crime_prevented", V, V_lo, V_hi, cur)
        add("net_benefit", V - cost, V_lo - cost, V_hi - cost, cur)
        note = ("the interval includes no benefit (a ratio <= 0 means no crime prevented or "
                "more crime)" if V_lo <= 0 else "")
        add("benefit_cost_ratio", V / cost if cost > 0 else math.nan,
            V_lo / cost if cost > 0 else math.nan, V_hi / cost if cost > 0 else math.nan,
            "ratio", "ok" if cost > 0 else "undefined", note)
        used = m.loc[priced & (m["expected_crimes"] > 0), "source"].unique()
        sources += [f"unit costs of crime: {s}" for s in sorted(map(str, used))]
    return CostValue(
        rows=tuple(rows), effect={"rate_ratio": rr, "conf_low": lo, "conf_high": hi,
                                  "label": label},
        hours=hours, cost_per_hour=cost_per_hour, alpha=a, currency=cur,
        sources=tuple(sources), notes=tuple(notes),
        details={"priced_share_of_expected_crimes": priced_share,
                 "tasked_days": baseline.tasked_days, "untasked_days": baseline.untasked_days},
    )
