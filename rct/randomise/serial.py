"""Serial structure of a crossover schedule: does tasking today depend on recent days?

A repeat-crossover trial compares tasked with untasked hot-spot-days.  When
patrols deter crime on the following days too (residual deterrence; Sherman
2022, Barnes et al. 2020), a schedule whose untasked days tend to follow
tasked days understates the effect.  :func:`serial_structure` measures that
for one schedule:

* transition probabilities ``P(tasked on t | tasked on t - l)`` and
  ``P(tasked on t | untasked on t - l)`` for lags ``l = 1..lags``, pooled over
  hot spots, each with the value a schedule with exchangeable days would have
  given each hot spot's number of tasked days ``c_i``:
  ``sum_i c_i (c_i - 1) / ((D - 1) sum_i c_i)`` and
  ``sum_i c_i (D - c_i) / ((D - 1) sum_i (D - c_i))``;
* the distribution of run lengths of tasked and of untasked days;
* the correlation between today's tasking and the number of tasked days among
  the previous ``window`` days (pooled over hot spots, days ``t >= window``),
  against ``-sqrt(L) / ((D - 1) sqrt(1 - (L - 1)/(D - 1)))``, its value under
  exchangeable days with a common coverage.

Under run constraints (``max_consecutive``, washout) the reference values are
not what the design should give -- the constraints themselves create serial
structure -- but they still show how far the schedule is from independent days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SerialStructure", "serial_structure", "serial_diagnostics"]


@dataclass(frozen=True)
class SerialStructure:
    """Serial-structure diagnostics of one schedule (immutable; see :func:`serial_structure`)."""

    n_hotspots: int
    n_days: int
    lags: tuple[int, ...]
    p_after_tasked: tuple[float, ...]
    p_after_untasked: tuple[float, ...]
    reference_after_tasked: tuple[float, ...]
    reference_after_untasked: tuple[float, ...]
    n_after_tasked: tuple[int, ...]
    n_after_untasked: tuple[int, ...]
    tasked_runs: tuple[tuple[int, int], ...]  # (length, count)
    untasked_runs: tuple[tuple[int, int], ...]
    window: int
    corr_recent: float
    reference_corr_recent: float

    @property
    def longest_tasked_run(self) -> int:
        return max((length for length, _ in self.tasked_runs), default=0)

    @property
    def longest_untasked_run(self) -> int:
        return max((length for length, _ in self.untasked_runs), default=0)

    @property
    def mean_tasked_run(self) -> float:
        return _mean_run(self.tasked_runs)

    @property
    def mean_untasked_run(self) -> float:
        return _mean_run(self.untasked_runs)

    def tidy(self) -> Any:
        """Long table: ``statistic, lag, length, value, reference, n``."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for j, lag in enumerate(self.lags):
            rows.append({"statistic": "p_tasked_after_tasked", "lag": lag, "length": None,
                         "value": self.p_after_tasked[j],
                         "reference": self.reference_after_tasked[j],
                         "n": self.n_after_tasked[j]})
            rows.append({"statistic": "p_tasked_after_untasked", "lag": lag, "length": None,
                         "value": self.p_after_untasked[j],
                         "reference": self.reference_after_untasked[j],
                         "n": self.n_after_untasked[j]})
        rows.append({"statistic": "corr_today_recent", "lag": self.window, "length": None,
                     "value": self.corr_recent, "reference": self.reference_corr_recent,
                     "n": self.n_hotspots * max(0, self.n_days - self.window)})
        for name, runs in (("tasked_runs", self.tasked_runs), ("untasked_runs", self.untasked_runs)):
            for length, count in runs:
                rows.append({"statistic": name, "lag": None, "length": length,
                             "value": float(count), "reference": math.nan, "n": count})
        df = pd.DataFrame(rows)
        for c in ("lag", "length"):
            df[c] = df[c].astype("Int64")
        df["n"] = df["n"].astype("int64")
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (for reports)."""
        return {
            "n_hotspots": self.n_hotspots, "n_days": self.n_days,
            "lags": list(self.lags),
            "p_after_tasked": list(self.p_after_tasked),
            "p_after_untasked": list(self.p_after_untasked),
            "reference_after_tasked": list(self.reference_after_tasked),
            "reference_after_untasked": list(self.reference_after_untasked),
            "n_after_tasked": list(self.n_after_tasked),
            "n_after_untasked": list(self.n_after_untasked),
            "tasked_runs": [list(r) for r in self.tasked_runs],
            "untasked_runs": [list(r) for r in self.untasked_runs],
            "longest_tasked_run": self.longest_tasked_run,
            "longest_untasked_run": self.longest_untasked_run,
            "mean_tasked_run": self.mean_tasked_run,
            "mean_untasked_run": self.mean_untasked_run,
            "window": self.window, "corr_recent": self.corr_recent,
            "reference_corr_recent": self.reference_corr_recent,
        }

    def short_lines(self) -> list[str]:
        """The two-line diagnostic ``rct randomise crossover`` prints."""
        j = self.lags.index(1) if 1 in self.lags else 0
        return [
            f"serial structure: P(tasked | tasked the day before) = {self.p_after_tasked[j]:.3f}, "
            f"P(tasked | untasked the day before) = {self.p_after_untasked[j]:.3f} "
            f"(independent days: {self.reference_after_tasked[j]:.3f} / "
            f"{self.reference_after_untasked[j]:.3f})",
            f"longest run: {self.longest_tasked_run} tasked days, "
            f"{self.longest_untasked_run} untasked days",
        ]

    def summary(self) -> str:
        """Plain-text summary, one line per lag then runs and the recent-tasking correlation."""
        lines = [f"Serial structure of a {self.n_hotspots} hot spot x {self.n_days} day schedule",
                 "lag  P(t | tasked)  ref     P(t | untasked)  ref"]
        for j, lag in enumerate(self.lags):
            lines.append(f"{lag:>3}  {self.p_after_tasked[j]:>13.3f}  {self.reference_after_tasked[j]:.3f}"
                         f"  {self.p_after_untasked[j]:>15.3f}  {self.reference_after_untasked[j]:.3f}")
        lines.append(f"tasked runs: mean {self.mean_tasked_run:.2f} days, longest "
                     f"{self.longest_tasked_run}; untasked runs: mean {self.mean_untasked_run:.2f}, "
                     f"longest {self.longest_untasked_run}")
        lines.append(f"corr(tasked today, tasked days in previous {self.window}) = "
                     f"{self.corr_recent:.4f} (independent days: {self.reference_corr_recent:.4f})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary() + "</pre>"


def _mean_run(runs: tuple[tuple[int, int], ...]) -> float:
    total = sum(c for _, c in runs)
    return sum(length * c for length, c in runs) / total if total else math.nan


def _as_matrix(schedule: Any) -> np.ndarray:
    """A ``(D, N)`` 0/1 matrix from a design, an array, or a schedule table."""
    import pandas as pd

    from rct.errors import DataError

    if hasattr(schedule, "schedule") and hasattr(schedule, "dates"):
        return np.asarray(schedule.schedule, dtype=np.int8)
    if isinstance(schedule, pd.DataFrame):
        need = {"hotspot_id", "trial_date", "arm"}
        if not need <= set(schedule.columns):
            raise DataError(f"a schedule table needs columns {sorted(need)}; it has "
                            f"{list(schedule.columns)}")
        days = pd.to_datetime(schedule["trial_date"])
        wide = (schedule.assign(_d=days, _z=(schedule["arm"].astype(str) == "treatment")
                                .astype(np.int8))
                .pivot(index="_d", columns="hotspot_id", values="_z"))
        full = pd.date_range(days.min(), days.max(), freq="D")
        if wide.isna().any().any() or len(wide) != len(full):
            raise DataError("the schedule is not a complete hot spot x consecutive-day panel")
        return wide.to_numpy(dtype=np.int8)
    x = np.asarray(schedule)
    if x.ndim != 2 or not np.isin(x, (0, 1)).all():
        raise DataError("a schedule must be a (days, hot spots) 0/1 matrix")
    return x.astype(np.int8)


def _runs(x: np.ndarray, value: int) -> tuple[tuple[int, int], ...]:
    """Histogram of run lengths of ``value`` down each column of ``x`` ``(D, N)``."""
    d, n = x.shape
    z = (x == value).astype(np.int8)
    pad = np.zeros((1, n), dtype=np.int8)
    dz = np.diff(np.vstack([pad, z, pad]), axis=0)  # +1 at run starts, -1 after run ends
    starts = np.flatnonzero(dz.T.ravel() == 1)
    ends = np.flatnonzero(dz.T.ravel() == -1)
    lengths = ends - starts
    if lengths.size == 0:
        return ()
    vals, counts = np.unique(lengths, return_counts=True)
    return tuple((int(v), int(c)) for v, c in zip(vals, counts, strict=True))


def serial_structure(schedule: Any, *, lags: int = 7, window: int = 4) -> SerialStructure:
    """Transition probabilities by lag, run lengths and recent-tasking correlation of a schedule.

    Parameters
    ----------
    schedule
        A :class:`~rct.randomise.crossover.CrossoverDesign`, a ``(days, hot spots)``
        0/1 array, or a schedule table (``hotspot_id, trial_date, arm``).
    lags
        Largest lag ``L``: transition probabilities for ``l = 1..L``.
    window
        Number of previous days counted for the recent-tasking correlation.

    Returns
    -------
    SerialStructure

    Notes
    -----
    With ``X_it`` the tasking of hot spot ``i`` on day ``t`` (``D`` days),
    ``P(tasked | tasked l before) = sum_{i,t>=l} X_it X_i,t-l / sum_{i,t>=l} X_i,t-l``
    and likewise with ``1 - X_i,t-l``.  Under a schedule whose days are
    exchangeable for each hot spot (the uniform design without run
    constraints), ``E[X_t X_{t-l}] = c(c-1)/(D(D-1))``, which gives the
    reference values in the module docstring.  Residual deterrence and why the
    serial structure matters: Sherman (2022), *Cambridge Journal of
    Evidence-Based Policing* 6:25-41.
    """
    x = _as_matrix(schedule).astype(np.int64)
    d, n = x.shape
    lags = int(lags)
    window = int(window)
    if lags < 1 or window < 1:
        raise ValueError(f"lags and window must be >= 1, got lags={lags}, window={window}")
    c = x.sum(axis=0).astype(float)
    ref_t = float((c * (c - 1)).sum() / ((d - 1) * c.sum())) if d > 1 and c.sum() else math.nan
    u = d - c
    ref_u = float((c * u).sum() / ((d - 1) * u.sum())) if d > 1 and u.sum() else math.nan
    pt, pu, nt, nu = [], [], [], []
    for lag in range(1, lags + 1):
        if lag >= d:
            pt.append(math.nan)
            pu.append(math.nan)
            nt.append(0)
            nu.append(0)
            continue
        now, before = x[lag:], x[:-lag]
        a, b = int(before.sum()), int((1 - before).sum())
        pt.append(float((now * before).sum() / a) if a else math.nan)
        pu.append(float((now * (1 - before)).sum() / b) if b else math.nan)
        nt.append(a)
        nu.append(b)
    corr = ref_corr = math.nan
    if d > window:
        cs = np.vstack([np.zeros((1, n), np.int64), np.cumsum(x, axis=0)])
        recent = (cs[window:-1] - cs[: d - window])  # tasked days among t-window..t-1, t >= window
        today = x[window:]
        if today.std() > 0 and recent.std() > 0:
            corr = float(np.corrcoef(today.ravel(), recent.ravel())[0, 1])
        if d > window:
            ref_corr = -math.sqrt(window) / (d - 1) / math.sqrt(max(1e-12, 1 - (window - 1) / (d - 1)))
    return SerialStructure(
        n_hotspots=n, n_days=d, lags=tuple(range(1, lags + 1)),
        p_after_tasked=tuple(pt), p_after_untasked=tuple(pu),
        reference_after_tasked=(ref_t,) * lags, reference_after_untasked=(ref_u,) * lags,
        n_after_tasked=tuple(nt), n_after_untasked=tuple(nu),
        tasked_runs=_runs(x, 1), untasked_runs=_runs(x, 0),
        window=window, corr_recent=corr, reference_corr_recent=ref_corr,
    )


def serial_diagnostics(allocation: Any, *, lags: int = 7, window: int = 4) -> dict[str, Any]:
    """For the design report: :func:`serial_structure` of a schedule file or table, as a dict.

    ``allocation`` is a schedule CSV path, a schedule table or a design.
    Returns :meth:`SerialStructure.to_dict` plus ``"table"`` (one record per
    lag: ``lag``, ``p_tasked_after_tasked``, ``p_tasked_after_untasked``, their
    ``reference_*`` values under independent days and the ``n_*`` pair counts)
    and ``"lines"`` (the short diagnostic the CLI prints).  JSON-ready.
    """
    from pathlib import Path

    import pandas as pd

    if isinstance(allocation, str | Path):
        allocation = pd.read_csv(allocation, dtype={"hotspot_id": str})
    res = serial_structure(allocation, lags=lags, window=window)
    out = res.to_dict()
    out["table"] = [
        {"lag": lag, "p_tasked_after_tasked": res.p_after_tasked[j],
         "p_tasked_after_untasked": res.p_after_untasked[j],
         "reference_after_tasked": res.reference_after_tasked[j],
         "reference_after_untasked": res.reference_after_untasked[j],
         "n_after_tasked": res.n_after_tasked[j], "n_after_untasked": res.n_after_untasked[j]}
        for j, lag in enumerate(res.lags)
    ]
    out["lines"] = res.short_lines()
    return out
