"""``rct monitor``: baseline uplift and compliance while the trial runs.

:func:`monitor` takes the tables and windows explicitly;
:func:`monitor_trial` reads them from a ``trial.toml`` (re-ingesting the
patrol logs when they are newer than the dosage table) and writes the CSVs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.baseline import Uplift, Window, _window, baseline_uplift
from rct.dosage.compliance import Compliance, compliance
from rct.errors import ConfigError

__all__ = ["MonitorReport", "monitor", "monitor_trial", "read_table", "flag_behind",
           "behind_rule_text", "BEHIND_RULE"]

#: The default rule for a hot spot "behind" (see :func:`flag_behind`).
BEHIND_RULE = {"fraction": 0.5, "min_tasked_days": 7, "alpha": 0.01}

OUTPUT_FILES = {
    "compliance": "monitor_compliance.csv",
    "weekly": "monitor_weekly.csv",
    "hotspots": "monitor_hotspots.csv",
    "uplift": "monitor_uplift.csv",
    "json": "monitor.json",
}


@dataclass(frozen=True)
class MonitorReport:
    """Compliance to date and baseline uplift (Airwave and / or patrols).

    Attributes
    ----------
    compliance : Compliance or None
        ``None`` without a patrol dosage table.
    uplift : tuple of Uplift
        One per activity source with a baseline (``"airwave"``, ``"patrols"``).
    parameters : dict
    notes : tuple of str
        What could not be computed and why.
    """

    compliance: Compliance | None
    uplift: tuple[Uplift, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def uplift_for(self, source: str) -> Uplift:
        for u in self.uplift:
            if u.source == source:
                return u
        valid = ", ".join(u.source for u in self.uplift) or "none"
        raise ValueError(f"source must be one of {valid}; got {source!r}")

    def uplift_table(self) -> pd.DataFrame:
        if not self.uplift:
            return pd.DataFrame(columns=["source", "measure"])
        return pd.concat([u.tidy() for u in self.uplift], ignore_index=True)

    def tidy(self) -> pd.DataFrame:
        """Long table: ``section, source, measure, statistic, value``."""
        parts = []
        if self.compliance is not None:
            s = self.compliance.summary
            long = (
                s.rename(columns={"metric": "measure", "value": "value_"})
                .melt(
                    id_vars=["measure"],
                    value_vars=["value_", "numerator", "denominator"],
                    var_name="statistic",
                )
                .replace({"statistic": {"value_": "value"}})
            )
            long.insert(0, "source", "patrols")
            long.insert(0, "section", "compliance")
            parts.append(long)
        if self.uplift:
            u = self.uplift_table()
            long = u.melt(id_vars=["source", "measure"], var_name="statistic")
            long.insert(0, "section", "uplift")
            parts.append(long)
        if not parts:
            return pd.DataFrame(columns=["section", "source", "measure", "statistic", "value"])
        out = pd.concat(parts, ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out[["section", "source", "measure", "statistic", "value"]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "compliance": None if self.compliance is None else self.compliance.to_dict(),
            "uplift": [u.to_dict() for u in self.uplift],
            "parameters": self.parameters,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = []
        c = self.compliance
        if c is not None:
            s = c.summary.set_index("metric")
            lines.append(
                f"dose: {_pct(s.loc['dosed_share', 'value'])} of "
                f"{int(s.loc['dosed_share', 'denominator']):,} tasked hot-spot-days got the "
                f"target; contamination: {_pct(s.loc['contamination_share', 'value'])} of "
                f"{int(s.loc['contamination_share', 'denominator']):,} control hot-spot-days"
            )
            lines.append(
                f"foot share {_pct(s.loc['foot_share', 'value'])}, Koper 10-15 min "
                f"{_pct(s.loc['koper_share', 'value'])}, under 5 min "
                f"{_pct(s.loc['short_share', 'value'])}"
            )
            behind = ", ".join(c.behind) if c.behind else "none"
            lines.append(f"hot spots behind: {behind} (rule: {c.rule})")
        for u in self.uplift:
            t = u.table.set_index("measure")
            if "presence_minutes" in t.index:
                r = t.loc["presence_minutes"]
                lines.append(
                    f"{u.source} presence per hot-spot-day: tasked {r['trial_treatment']:.1f} vs "
                    f"control {r['trial_control']:.1f} min ({_pct(r['ratio'], sign=True)}); "
                    f"difference-in-differences {r['did']:+.1f} min "
                    f"({_pct(r['did_ratio'], sign=True)})"
                )
            if "visits" in t.index:
                r = t.loc["visits"]
                lines.append(
                    f"{u.source} additional visits over baseline: {r['additional']:,.0f} "
                    f"(net of control change: {r['additional_did']:,.0f})"
                )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def write(self, out_dir: str | os.PathLike[str], *, force: bool = False,
              extra: dict[str, tuple[str, Any]] | None = None) -> dict[str, Path]:
        """Write the CSVs and ``monitor.json`` into ``out_dir`` as one unit.

        ``monitor.json``, the CSVs, any ``extra`` tables (role -> (file name,
        DataFrame), e.g. the interim analysis) and ``monitor.json.manifest.json``
        are committed together (:class:`rct.io.atomic.OutputUnit`); a previous
        run's files are replaced only with ``force`` (the one overwrite rule).
        """
        import json

        from rct.io.atomic import OutputUnit, _json_default

        out = Path(out_dir)
        tables: dict[str, tuple[str, Any]] = {}
        if self.compliance is not None:
            c = self.compliance
            for name, df in (("compliance", c.summary), ("weekly", c.weekly),
                             ("hotspots", c.hotspots)):
                tables[name] = (OUTPUT_FILES[name], df)
        if self.uplift:
            tables["uplift"] = (OUTPUT_FILES["uplift"], self.uplift_table())
        tables.update(extra or {})
        names = {**{k: v for k, v in OUTPUT_FILES.items() if k != "json"},
                 **{k: f for k, (f, _) in tables.items()}}
        unit = OutputUnit(out / OUTPUT_FILES["json"],
                          companions={k: out / f for k, f in names.items()}, force=force,
                          command="rct monitor")
        unit.check()
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_json_default)
        unit.add_bytes("output", (text + "\n").encode("utf-8"))
        for role, (_, df) in tables.items():
            unit.add_table(role, df)
        unit.commit(parameters={"as_of": str(self.parameters.get("as_of"))})
        written = {role: out / f for role, (f, _) in tables.items()}
        written["json"] = out / OUTPUT_FILES["json"]
        return written


def flag_behind(
    hotspots: pd.DataFrame,
    *,
    fraction: float = BEHIND_RULE["fraction"],
    min_tasked_days: int = BEHIND_RULE["min_tasked_days"],
    alpha: float = BEHIND_RULE["alpha"],
) -> pd.DataFrame:
    r"""Which hot spots are truly behind on dose, at the end of each trial week.

    Parameters
    ----------
    hotspots
        One row per hot spot and week with ``hotspot_id, week, tasked_days,
        dosed_days`` (that week's counts; :attr:`Compliance.hotspots`).
    fraction
        A hot spot can be behind only when its cumulative dosed share is below
        ``fraction`` times the reference share.
    min_tasked_days
        ... and only once it has had at least this many tasked days.
    alpha
        ... and only when a one-sided binomial test of its dosed days against
        the reference share gives ``p < alpha``.

    Returns
    -------
    DataFrame
        Aligned with ``hotspots`` (same index): ``cumulative_tasked_days,
        cumulative_dosed_days, reference_share, behind_p, behind``.

    Notes
    -----
    For hot spot :math:`i` at the end of week :math:`w`, with :math:`n_i`
    tasked days and :math:`x_i` dosed days to date, the reference share
    :math:`m_w` is the median of :math:`x_j / n_j` over hot spots with
    :math:`n_j \ge` ``min_tasked_days``.  Hot spot :math:`i` is *behind* when

    .. math::

        n_i \ge n_{min}, \quad x_i / n_i < f\, m_w, \quad
        P(X \le x_i) < \alpha \text{ for } X \sim \mathrm{Binomial}(n_i, m_w).

    The first two conditions make the shortfall large (less than half what the
    typical hot spot gets, by default); the third makes it unlikely to be
    chance, so few tasked days do not raise the alarm.  Judging against the
    median rather than the target keeps the flag for hot spots that are behind
    the rest of the trial: when the whole trial misses the target, the
    compliance summary says so once, instead of every hot spot being flagged
    every week.  With every hot spot dosed independently with the same
    probability, a hot spot is flagged with probability at most ``alpha``.
    """
    from scipy.stats import binom

    need = {"hotspot_id", "week", "tasked_days", "dosed_days"}
    if not need <= set(hotspots.columns):
        raise ValueError(f"hotspots needs the columns {sorted(need)}")
    order = hotspots.sort_values(["hotspot_id", "week"], kind="stable")
    cum = order.groupby("hotspot_id", sort=False)[["tasked_days", "dosed_days"]].cumsum()
    n = cum["tasked_days"].to_numpy(dtype=float)
    x = cum["dosed_days"].to_numpy(dtype=float)
    eligible = n >= min_tasked_days
    share = np.divide(x, n, out=np.full_like(x, np.nan), where=n > 0)
    ref = (pd.Series(np.where(eligible, share, np.nan), index=order.index)
           .groupby(order["week"].to_numpy()).transform("median").to_numpy())
    with np.errstate(invalid="ignore"):
        p = np.where(eligible & np.isfinite(ref), binom.cdf(x, n, np.nan_to_num(ref)), np.nan)
    behind = eligible & np.isfinite(ref) & (share < fraction * ref) & (p < alpha)
    out = pd.DataFrame({
        "cumulative_tasked_days": n.astype(np.int64), "cumulative_dosed_days": x.astype(np.int64),
        "reference_share": ref, "behind_p": p, "behind": behind}, index=order.index)
    return out.loc[hotspots.index]


def behind_rule_text(*, fraction: float = BEHIND_RULE["fraction"],
                     min_tasked_days: int = BEHIND_RULE["min_tasked_days"],
                     alpha: float = BEHIND_RULE["alpha"], target_minutes: float = 15.0,
                     dose_measure: str = "presence_minutes") -> str:
    """The rule of :func:`flag_behind` in words (for the CLI and the reports)."""
    measure = dose_measure.replace("_", " ")
    half = {0.5: "half"}.get(fraction, f"{fraction:.0%}")
    return (f"a hot spot is behind when, counting all its tasked days so far (at least "
            f"{min_tasked_days}), it received the target dose ({target_minutes:g} {measure}) "
            f"on less than {half} the share of tasked days that the median hot spot did, and "
            f"a one-sided binomial test against the median hot spot's share gives p < "
            f"{alpha:g} (so a shortfall of a few days that chance explains is not flagged)")


def _pct(x: float, *, sign: bool = False) -> str:
    if x is None or pd.isna(x):
        return "n/a"
    return f"{100 * x:+.1f} %" if sign else f"{100 * x:.1f} %"


def monitor(
    *,
    allocation: pd.DataFrame,
    trial: Window,
    baseline: Window | None = None,
    patrol_dosage: pd.DataFrame | None = None,
    airwave: pd.DataFrame | None = None,
    target_minutes: float = 15.0,
    dose_measure: str = "presence_minutes",
    cap_per_day: int | None = None,
    behind_share: float = 0.8,
    as_of: Any = None,
    treatment: str = "treatment",
    control: str = "control",
) -> MonitorReport:
    """Compliance and baseline uplift to date.

    Parameters
    ----------
    allocation
        Parallel (``hotspot_id, arm``) or crossover (``hotspot_id,
        trial_date, arm``) allocation.
    trial, baseline
        Inclusive day windows; without ``baseline`` no uplift is computed.
    patrol_dosage
        Patrol dosage table (:func:`rct.dosage.patrols.patrol_dosage`).
    airwave
        Airwave presence table (``hotspot_id, trial_date, pings, radios,
        presence_minutes, visits``).
    target_minutes, dose_measure, cap_per_day, behind_share, as_of
        See :func:`rct.dosage.compliance.compliance`.  The uplift uses the
        trial window up to the same ``as_of`` day.

    Returns
    -------
    MonitorReport
    """
    t0, t1 = _window(trial, "trial")
    notes: list[str] = []
    comp = None
    end = t1 if as_of is None else min(pd.Timestamp(as_of).normalize(), t1)
    if patrol_dosage is not None:
        comp = compliance(
            patrol_dosage,
            allocation,
            trial=(t0, t1),
            target_minutes=target_minutes,
            dose_measure=dose_measure,
            cap_per_day=cap_per_day,
            behind_share=behind_share,
            as_of=as_of,
            treatment=treatment,
            control=control,
        )
        end = pd.Timestamp(comp.parameters["as_of"])
    else:
        notes.append("no patrol dosage table: compliance not computed")
    uplift = []
    if baseline is None:
        notes.append("no baseline window: uplift over baseline not computed")
    else:
        for source, table in (("airwave", airwave), ("patrols", patrol_dosage)):
            if table is None:
                if source == "airwave":
                    notes.append("no Airwave presence table: Airwave uplift not computed")
                continue
            u = baseline_uplift(
                table,
                allocation,
                baseline=baseline,
                trial=(t0, end),
                treatment=treatment,
                control=control,
                source=source,
            )
            uplift.append(u)
            notes.extend(u.notes)
    params = {
        "trial": [t0.date().isoformat(), t1.date().isoformat()],
        "as_of": end.date().isoformat(),
        "baseline": None
        if baseline is None
        else [d.date().isoformat() for d in _window(baseline, "baseline")],
        "target_minutes": target_minutes,
        "dose_measure": dose_measure,
        "cap_per_day": cap_per_day,
        "behind_share": behind_share,
    }
    return MonitorReport(
        compliance=comp, uplift=tuple(uplift), parameters=params, notes=tuple(notes)
    )


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet table (``hotspot_id`` as text).

    Through :func:`rct.io.tables.read_table`: the output is checked against
    its manifest (a table beside another run's quarantine file is refused),
    malformed or corrupt files and repeated keys are errors naming the file.
    """
    from rct.io.tables import read_table as read_output

    p = Path(path)
    df = read_output(p, dtype={"hotspot_id": str, "arm": str})
    if "hotspot_id" in df.columns:
        df["hotspot_id"] = df["hotspot_id"].astype(str).astype(object)
    return df


def monitor_trial(
    trial: Any,
    *,
    as_of: Any = None,
    out_dir: str | os.PathLike[str] | None = None,
    write: bool = True,
    key_file: str | os.PathLike[str] | None = None,
    force: bool = False,
    extra: dict[str, tuple[str, Any]] | None = None,
) -> tuple[MonitorReport, dict[str, Path]]:
    """Run :func:`monitor` on the files a ``trial.toml`` names.

    Parameters
    ----------
    trial
        Path of a ``trial.toml`` or a loaded :class:`rct.config.Trial`.
    as_of
        Last day to include (default: the last day with patrols).
    out_dir
        Where to write (default ``[files] out_dir``).
    write
        Write the CSVs and JSON (and re-ingest stale patrol logs); ``False`` writes nothing.
    key_file
        Pseudonym key file if the patrol logs must be (re-)ingested (default
        ``[dosage] pseudonym_key_file``).
    force, extra
        :meth:`MonitorReport.write`: replace a previous run's outputs; more
        tables to commit with them (``rct monitor`` adds the interim analysis).

    Returns
    -------
    report : MonitorReport
    written : dict of Path
        The files written (including a re-ingested patrol dosage table).

    Notes
    -----
    The patrol logs (``[files] patrols``) are ingested again when the dosage
    table (``[files] patrol_dosage``) is missing or older than any log, with
    the trial's day boundary, maximum visit length and a window from the
    baseline start (or trial start) to the trial end.
    """
    from rct.config import Trial, load_trial

    t = trial if isinstance(trial, Trial) else load_trial(trial)
    problems = []
    window = t.windows.trial
    if window is None and t.design.start is not None and t.design.end is not None:
        window = (t.design.start, t.design.end)
    if window is None:
        problems.append("[windows] trial is not set (nor [design] start and days)")
    if t.files.allocation is None:
        problems.append("[files] allocation is not set")
    if problems:
        raise ConfigError(problems, file=t.path)
    allocation = read_table(t.files.allocation)
    written: dict[str, Path] = {}

    dosage = None
    ingest_notes: list[str] = []
    dosage_file = t.files.patrol_dosage
    logs = t.inputs("patrols")  # [columns] travels with each file
    if logs:
        stale = not dosage_file.exists() or any(
            p.exists() and p.stat().st_mtime > dosage_file.stat().st_mtime for p in logs
        )
        if stale and not write:  # a read-only caller (a report) never rewrites the dosage table
            ingest_notes.append(
                "the patrol logs are newer than the patrol dosage table (or it does not exist): "
                "run `rct ingest patrols` (or `rct monitor`) to bring it up to date")
        elif stale:
            from rct.dosage.patrols import ingest_patrols

            first = t.windows.baseline[0] if t.windows.baseline else window[0]
            result = ingest_patrols(
                logs,
                hotspots=t.hotspots_input() if t.files.hotspots else allocation,
                out=dosage_file,
                day_starts=t.design.day_starts,
                trial_start=first,
                trial_end=window[1],
                max_visit_hours=t.dosage.max_visit_hours,
                key_file=key_file or t.dosage.pseudonym_key_file,
                force=True,  # the table is stale: monitor refreshes its own derived output
            )
            written["patrol_dosage"] = dosage_file
            if result.quarantine_file is not None:
                written["patrol_quarantine"] = result.quarantine_file
            dosage = result.dosage
            ingest_notes.append(f"re-ingested patrol logs: {result.read.summary()}")
            if result.key_source is not None and result.key_source.kind == "generated":
                ingest_notes.append(result.key_source.describe())
    if dosage is None and dosage_file.exists():
        dosage = read_table(dosage_file)
    airwave = None
    if t.files.airwave_presence.exists():
        airwave = read_table(t.files.airwave_presence)
    elif t.files.airwave:
        ingest_notes.append(
            f"Airwave pings are listed but {t.files.airwave_presence} does not exist yet: "
            "run `rct ingest airwave` first"
        )

    arms = t.design.arms
    if "treatment" in arms and "control" in arms:
        treatment, control = "treatment", "control"
    else:  # first arm listed = control, second = tasked
        control, treatment = arms[0], arms[1]
    report = monitor(
        allocation=allocation,
        trial=window,
        baseline=t.windows.baseline,
        patrol_dosage=dosage,
        airwave=airwave,
        target_minutes=t.dosage.target_minutes,
        cap_per_day=t.dosage.cap_per_day,
        as_of=as_of,
        treatment=treatment,
        control=control,
    )
    if ingest_notes:
        report = replace(report, notes=(*ingest_notes, *report.notes))
    if write:
        written.update(report.write(out_dir if out_dir is not None else t.files.out_dir,
                                    force=force, extra=extra))
    return report, written
