"""Simulate a hot-spot trial with known truth: crimes, patrol logs and Airwave pings."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.simulate.city import sample_points, synthetic_hotspots
from rct.simulate.spec import SimulationSpec

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["SimulatedTrial", "simulate_trial", "default_schedule"]

_MIN = np.int64(60_000_000_000)  # one minute in nanoseconds
_POLICE_UK = {
    "violence and sexual offences": "Violence and sexual offences",
    "robbery": "Robbery",
    "public order": "Public order",
    "possession of weapons": "Possession of weapons",
    "criminal damage and arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other crime": "Other crime",
}


@dataclass(frozen=True)
class SimulatedTrial:
    """A synthetic trial: the files a force would supply, and the truth behind them.

    Attributes
    ----------
    spec : SimulationSpec
    hotspots : GeoDataFrame (EPSG:27700)
    schedule : DataFrame ``hotspot_id, trial_date, arm`` over the trial window
        (parallel designs: ``hotspot_id, arm``)
    crimes : DataFrame, a force extract (naive local ``occurred_at``,
        Home Office ``offence_code``, ``easting``/``northing``)
    patrols : DataFrame, app patrol logs (times with UTC offsets)
    pings : DataFrame, Airwave pings (UTC timestamps, WGS84 lon/lat)
    panel : DataFrame, the true per hotspot_id × trial_date quantities:
        ``period`` (baseline/trial), ``tasked``, ``expected`` (mean crimes),
        ``crimes``, ``catchment_crimes``, ``patrol_minutes`` (union of tasked
        patrols), ``patrol_visits``, ``radio_minutes`` (union of all radios in
        the hot spot, tasked and background)
    truth : mapping of headline truths and the counts of bad rows planted
    """

    spec: SimulationSpec
    hotspots: gpd.GeoDataFrame
    schedule: pd.DataFrame
    crimes: pd.DataFrame
    patrols: pd.DataFrame
    pings: pd.DataFrame
    panel: pd.DataFrame
    truth: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "truth", MappingProxyType(dict(self.truth)))

    def write(self, out_dir, **kw):
        """Write the trial's files, ``trial.toml`` and ``truth.json`` (see :func:`rct.simulate.write_trial`)."""
        from rct.simulate.write import write_trial

        return write_trial(self, out_dir, **kw)


def default_schedule(hotspot_ids, spec: SimulationSpec, *, seed: int) -> pd.DataFrame:
    """Randomise with :mod:`rct.randomise` as the spec's design says.

    ``hotspot_ids``: ids, or the hot-spot table (needed with sites or shifts:
    its ``site`` and ``window`` columns are the design's strata).
    """
    import pandas as pd

    from rct.randomise import crossover, parallel

    table = hotspot_ids if isinstance(hotspot_ids, pd.DataFrame) else None
    ids = list(table["hotspot_id"]) if table is not None else list(hotspot_ids)
    strata = table is not None and (spec.sites or spec.shifts)
    if spec.design == "crossover":
        kw = {}
        if strata:
            units = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
            kw = {"sites": "site" if spec.sites else None,
                  "windows": "auto" if spec.shifts else None}
            d = crossover(units, start=spec.start, days=spec.days, per_day=spec.quota,
                          day_starts=spec.day_starts, seed=seed, **kw)
        else:
            d = crossover(ids, start=spec.start, days=spec.days, per_day=spec.k,
                          day_starts=spec.day_starts, seed=seed)
    elif strata:  # parallel, blocked by site
        units = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
        d = parallel(units, scheme="block", block_column="site", seed=seed)
    else:
        d = parallel(pd.DataFrame({"hotspot_id": ids}), scheme="complete", seed=seed)
    return d.allocation


def simulate_trial(
    spec: SimulationSpec | None = None,
    *,
    hotspots: gpd.GeoDataFrame | None = None,
    schedule: pd.DataFrame | None = None,
    randomisation_seed: int | None = None,
) -> SimulatedTrial:
    """Simulate a trial with known truth.

    Parameters
    ----------
    spec
        The trial's parameters (defaults: Thames-Valley-like crossover).
    hotspots
        Hot spots in EPSG:27700 with ``hotspot_id``; by default a synthetic
        city of ``spec.n_hotspots`` hexagons.
    schedule
        The allocation: crossover ``hotspot_id, trial_date, arm`` or parallel
        ``hotspot_id, arm``; by default randomised with :mod:`rct.randomise`
        using ``randomisation_seed`` (default ``spec.seed + 1``).

    Notes
    -----
    Crimes on hot spot *i*, day *d*: ``Poisson(base_rate · g_i · e_id · m_id)``
    with ``g_i ~ Gamma(heterogeneity)`` and ``e_id ~ Gamma(dispersion)``
    (mean 1: negative-binomial counts), ``m_id = effect`` on tasked days,
    ``carryover`` on an untasked day after a tasked one, 1 otherwise.  A
    share ``displacement`` of the prevented crimes (expected count) is added
    to the catchment ring.  Visit and radio presence are whole minutes, so
    the true presence per trial day is computed exactly on a minute grid —
    independently of the ingestion code it is used to test.
    """
    import pandas as pd

    spec = spec or SimulationSpec()
    rng = np.random.default_rng(spec.seed)
    if hotspots is None:
        hotspots = synthetic_hotspots(spec.n_hotspots, rng=rng)
    hotspots = _units(hotspots.reset_index(drop=True), spec)
    ids = hotspots["hotspot_id"].astype(str).to_numpy()
    n = len(ids)
    # the places behind the units (a unit is a place in one shift when there are shifts)
    place_ids, place_of = np.unique(hotspots.get("place_id", hotspots["hotspot_id"]).astype(
        str).to_numpy(), return_inverse=True)
    if "place_id" not in hotspots.columns:
        place_ids, place_of = ids, np.arange(n)
    places = hotspots.iloc[np.unique(place_of, return_index=True)[1]]
    n_places = len(place_ids)
    if schedule is None:
        seed = spec.seed + 1 if randomisation_seed is None else randomisation_seed
        schedule = default_schedule(hotspots if (spec.sites or spec.shifts) else ids, spec,
                                    seed=seed)

    days = pd.date_range(spec.baseline_start, spec.end, freq="D").date
    n_days = len(days)
    tasked = _tasked_matrix(schedule, ids, days, spec)
    in_trial = np.array([d >= spec.start for d in days])

    from rct.io.times import trial_day_bounds

    lo, hi = trial_day_bounds(pd.Series(days), spec.day_starts)
    day_lo = _ns(lo)
    day_hi = _ns(hi)
    unit_lo, unit_hi = _unit_bounds(spec, hotspots, days, day_lo, day_hi)
    site = hotspots["site"].astype(str).to_numpy() if "site" in hotspots.columns else None
    win = hotspots["window"].astype(str).to_numpy() if "window" in hotspots.columns else None
    irr = np.array([spec.irr(None if site is None else site[i], None if win is None else win[i])
                    for i in range(n)])
    rate = np.full(n, spec.base_rate)
    if win is not None:
        from rct.io.windows import parse_windows

        ws = parse_windows(spec.shifts)
        given = spec.shift_rates or {}
        rate = np.array([given.get(w, spec.base_rate * ws.get(w).nominal_minutes / 1440)
                         for w in win])

    crimes, crime_counts, catch_counts, expected = _crimes(
        spec, rng, hotspots, tasked, day_lo, day_hi, unit_lo=unit_lo, unit_hi=unit_hi, irr=irr,
        rate=rate, place_of=place_of, n_places=n_places)
    # the app logs the unit the tasking list named (H01-night); dosage is cut by time anyway
    patrols, visits = _patrols(spec, rng, ids, tasked, in_trial, unit_lo, unit_hi)
    background = _background_visits(spec, rng, n_places, n_days, day_lo, day_hi)
    pv = visits.assign(hs=place_of[visits["hs"].to_numpy()])  # radios are at places
    pings = _pings(spec, rng, places, pv, background)

    patrol_minutes = _presence_minutes(pv[["hs", "start", "end"]], n_places, unit_lo, unit_hi,
                                       place_of)
    all_radio = pd.concat([pv[["hs", "start", "end"]], background[["hs", "start", "end"]]])
    radio_minutes = _presence_minutes(all_radio, n_places, unit_lo, unit_hi, place_of)
    visit_count = np.zeros((n, n_days), dtype=np.int64)
    first = visits.drop_duplicates("visit")
    np.add.at(visit_count, (first["hs"].to_numpy(), first["day"].to_numpy()), 1)

    hs_idx, day_idx = np.divmod(np.arange(n * n_days), n_days)
    panel = pd.DataFrame(
        {
            "hotspot_id": ids[hs_idx],
            "trial_date": np.asarray(days)[day_idx],
            "period": np.where(in_trial[day_idx], "trial", "baseline"),
            "tasked": tasked.ravel(),
            "expected": expected.ravel(),
            "crimes": crime_counts.ravel(),
            "catchment_crimes": catch_counts.ravel(),
            "patrol_visits": visit_count.ravel(),
            "patrol_minutes": patrol_minutes.ravel(),
            "radio_minutes": radio_minutes.ravel(),
        }
    )
    if site is not None or win is not None:  # the truth per site and shift
        for col, lab in (("window", win), ("site", site)):
            if lab is not None:
                panel.insert(1, col, lab[hs_idx])
        panel["true_irr"] = irr[hs_idx]
    crimes, patrols, pings, planted = _add_mess(spec, rng, crimes, patrols, pings)
    trial = panel[panel["period"] == "trial"]
    truth = {
        "irr": spec.effect,
        "percent_change": 100.0 * (spec.effect - 1.0),
        "carryover_irr": spec.carryover,
        "displacement_share": spec.displacement,
        "crimes_per_hotspot_day": float(trial["crimes"].mean()),
        "trial_crimes_tasked": int(trial.loc[trial["tasked"], "crimes"].sum()),
        "trial_crimes_untasked": int(trial.loc[~trial["tasked"], "crimes"].sum()),
        "tasked_hotspot_days": int(trial["tasked"].sum()),
        "untasked_hotspot_days": int((~trial["tasked"]).sum()),
        "patrol_minutes_tasked": float(trial.loc[trial["tasked"], "patrol_minutes"].sum()),
        "patrol_minutes_untasked": float(trial.loc[~trial["tasked"], "patrol_minutes"].sum()),
        "patrol_visits": int(panel["patrol_visits"].sum()),
        "good_rows": {"crimes": len(crimes) - sum(planted["crimes"].values()),
                      "patrols": len(patrols) - sum(planted["patrols"].values()),
                      "pings": len(pings) - sum(planted["pings"].values())},
        "planted_bad_rows": planted,
    }
    if site is not None or win is not None:
        truth.update(_strata_truth(spec, site, win, irr))
    return SimulatedTrial(spec=spec, hotspots=hotspots, schedule=schedule, crimes=crimes,
                          patrols=patrols, pings=pings, panel=panel, truth=truth)


# ---------------------------------------------------------------------------


def _ns(s) -> np.ndarray:
    import pandas as pd

    s = pd.Series(s)
    return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype(
        "int64")


def _units(hotspots: gpd.GeoDataFrame, spec: SimulationSpec) -> gpd.GeoDataFrame:
    """The hot-spot table with the spec's sites and shifts (units = place × shift).

    Places are given sites in order (the first ``sites[s1]`` places are site
    ``s1`` ...); with shifts each place becomes one unit per shift,
    ``<place>-<shift>``, with the columns of a per-window hot-spot file
    (:mod:`rct.io.windows`).
    """
    import geopandas as gpd
    import pandas as pd

    if not (spec.sites or spec.shifts):
        return hotspots
    h = hotspots.copy()
    if spec.sites:
        if len(h) != sum(spec.sites.values()):
            from rct.errors import DesignError

            raise DesignError(f"{len(h)} hot spots but the sites hold {sum(spec.sites.values())}")
        h["site"] = np.repeat(list(spec.sites), list(spec.sites.values()))
    if not spec.shifts:
        return h
    from rct.io.windows import parse_windows

    ws = parse_windows(spec.shifts)
    parts = []
    for w in ws:
        u = h.copy()
        u.insert(1, "place_id", h["hotspot_id"].astype(str))
        u["hotspot_id"] = u["place_id"] + "-" + w.name
        u["window"], u["window_start"], u["window_end"] = w.name, w.start, w.end
        parts.append(u)
    out = pd.concat(parts, ignore_index=True).sort_values("hotspot_id", kind="stable")
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=hotspots.crs)


def _unit_bounds(spec: SimulationSpec, hotspots, days, day_lo, day_hi):
    """UTC bounds (ns) of each unit's time on each trial day, shape (units, days): the whole
    trial day, or the unit's shift instance belonging to that trial day."""
    n = len(hotspots)
    if "window" not in hotspots.columns:
        return np.broadcast_to(day_lo, (n, len(days))), np.broadcast_to(day_hi, (n, len(days)))
    import datetime as dt

    from rct.io.windows import window_timeline

    tl = window_timeline(spec.shifts, day_starts=spec.day_starts,
                         first=days[0] - dt.timedelta(days=1), last=days[-1] + dt.timedelta(days=1))
    d0 = np.datetime64(days[0], "D").astype(np.int64)
    pos = tl.trial_date.astype(np.int64) - d0
    ok = (pos >= 0) & (pos < len(days))
    nw = len(tl.windows)
    lo = np.zeros((nw, len(days)), dtype=np.int64)
    hi = np.zeros((nw, len(days)), dtype=np.int64)
    lo[tl.window[ok], pos[ok]] = tl.start[ok]
    hi[tl.window[ok], pos[ok]] = tl.end[ok]
    code = np.array([tl.windows.index(w) for w in hotspots["window"].astype(str)])
    return lo[code], hi[code]


def _strata_truth(spec: SimulationSpec, site, win, irr) -> dict:
    """The true rate ratio per site, per shift and per site × shift (None where it varies)."""
    out: dict = {}

    def one(mask) -> float | None:
        vals = np.unique(irr[mask])
        return float(vals[0]) if len(vals) == 1 else None

    for name, lab in (("irr_by_site", site), ("irr_by_shift", win)):
        if lab is not None:
            out[name] = {str(v): one(lab == v) for v in np.unique(lab)}
    common = one(np.ones(len(irr), dtype=bool))  # the one IRR of every unit, if there is one
    out["irr"] = common
    out["percent_change"] = None if common is None else 100.0 * (common - 1.0)
    if site is not None and win is not None:
        out["irr_by_site_shift"] = {f"{a} / {b}": one((site == a) & (win == b))
                                    for a in np.unique(site) for b in np.unique(win)}
    return out


def _tasked_matrix(schedule: pd.DataFrame, ids: np.ndarray, days, spec: SimulationSpec):
    """Boolean (hot spot × day) matrix: tasked that day (parallel: every trial day)."""
    import pandas as pd

    pos = {h: i for i, h in enumerate(ids)}
    day_pos = {d: j for j, d in enumerate(days)}
    out = np.zeros((len(ids), len(days)), dtype=bool)
    treated = schedule["arm"].astype(str) == "treatment"
    if "trial_date" in schedule.columns:
        s = schedule.loc[treated]
        dates = pd.to_datetime(s["trial_date"]).dt.date
        rows = s["hotspot_id"].astype(str).map(pos).to_numpy()
        cols = dates.map(day_pos).to_numpy()
        ok = ~(pd.isna(rows) | pd.isna(cols))
        out[rows[ok].astype(int), cols[ok].astype(int)] = True
    else:
        trial_cols = np.array([d >= spec.start for d in days])
        rows = schedule.loc[treated, "hotspot_id"].astype(str).map(pos).dropna().astype(int)
        out[np.ix_(rows.to_numpy(), np.flatnonzero(trial_cols))] = True
    return out


def _multiplier(spec: SimulationSpec, tasked: np.ndarray, irr=None) -> np.ndarray:
    effect = spec.effect if irr is None else np.asarray(irr, dtype=float)[:, None]
    mult = np.where(tasked, effect, 1.0)
    if spec.carryover != 1.0:
        yesterday = np.zeros_like(tasked)
        yesterday[:, 1:] = tasked[:, :-1]
        mult = np.where(~tasked & yesterday, spec.carryover, mult)
    return mult


def _gamma(rng: np.random.Generator, shape: float, size) -> np.ndarray:
    if not np.isfinite(shape):
        return np.ones(size)
    return rng.gamma(shape, 1.0 / shape, size)


def _crimes(spec, rng, hotspots, tasked, day_lo, day_hi, *, unit_lo, unit_hi, irr, rate,
            place_of, n_places):
    import pandas as pd
    import shapely

    n, n_days = tasked.shape
    g = _gamma(rng, spec.heterogeneity, n_places)[place_of]  # a place's rate, in every shift
    e = _gamma(rng, spec.dispersion, (n, n_days))
    mult = _multiplier(spec, tasked, irr)
    expected = rate[:, None] * g[:, None] * mult
    counts = rng.poisson(expected * e)
    prevented = rate[:, None] * g[:, None] * (1.0 - mult)
    catch_mean = spec.catchment_rate + spec.displacement * np.clip(prevented, 0, None)
    catch = rng.poisson(catch_mean * _gamma(rng, spec.dispersion, (n, n_days)))

    geoms = hotspots.geometry.to_numpy()
    rings = shapely.difference(shapely.buffer(geoms, spec.catchment_m), geoms)
    x1, y1, own1 = sample_points(geoms, counts.sum(axis=1), rng=rng)
    x2, y2, own2 = sample_points(rings, catch.sum(axis=1), rng=rng)
    # day of each crime, in the order sample_points returns them (by hot spot)
    day1 = np.concatenate([np.repeat(np.arange(n_days), counts[i]) for i in range(n)]) \
        if counts.sum() else np.empty(0, int)
    day2 = np.concatenate([np.repeat(np.arange(n_days), catch[i]) for i in range(n)]) \
        if catch.sum() else np.empty(0, int)

    # crimes away from every hot spot and catchment (a force extract covers the area)
    xb, yb = _background_points(spec, rng, hotspots)
    dayb = rng.integers(0, n_days, len(xb))

    x = np.concatenate([x1, x2, xb])
    y = np.concatenate([y1, y2, yb])
    day = np.concatenate([day1, day2, dayb]).astype(int)
    # each hot-spot (and catchment) crime falls in its unit's time on the day: the trial day,
    # or the unit's shift
    lo_c = np.concatenate([unit_lo[own1, day1], unit_lo[own2, day2], day_lo[dayb]])
    hi_c = np.concatenate([unit_hi[own1, day1], unit_hi[own2, day2], day_hi[dayb]])
    t = lo_c + (rng.random(len(day)) * (hi_c - lo_c)).astype(np.int64)
    t -= t % 60_000_000_000  # whole minutes, as force systems record them
    from rct.simulate.spec import SUBGROUP_CODES

    groups = np.array(list(spec.offence_mix))
    p = np.array(list(spec.offence_mix.values()), dtype=float)
    subgroup = groups[rng.choice(len(groups), size=len(day), p=p / p.sum())]
    order = np.argsort(t, kind="stable")
    sub = pd.Series(subgroup[order])
    code = sub.map(SUBGROUP_CODES)
    when = pd.to_datetime(t[order], utc=True).tz_convert("Europe/London").tz_localize(None)
    crimes = pd.DataFrame(
        {
            "crime_id": [f"SIM{i:07d}" for i in range(len(order))],
            "occurred_at": when.strftime("%Y-%m-%d %H:%M"),
            "offence_code": code.to_numpy(),
            "offence": code.map(_offence_names()).to_numpy(),
            "offence_subgroup": sub.to_numpy(),
            "easting": np.round(x[order], 1),
            "northing": np.round(y[order], 1),
        }
    )
    return crimes, counts, catch, expected


def _background_points(spec, rng, hotspots):
    import shapely

    minx, miny, maxx, maxy = hotspots.total_bounds
    pad = 3000.0
    keep_out = shapely.union_all(shapely.buffer(hotspots.geometry.to_numpy(),
                                                spec.catchment_m + 50.0))
    m = spec.n_background_crimes
    x = rng.uniform(minx - pad, maxx + pad, 3 * m + 10)
    y = rng.uniform(miny - pad, maxy + pad, 3 * m + 10)
    ok = ~shapely.contains_xy(keep_out, x, y)
    return x[ok][:m], y[ok][:m]


def _offence_names() -> dict[str, str]:
    from importlib.resources import files

    import pandas as pd

    path = files("rct").joinpath("data/harm/ons-crime-severity-weights.csv")
    with path.open("rb") as fh:
        t = pd.read_csv(fh, usecols=["ONS_SEVERITY_code", "ONS_SEVERITY_offence"])
    return dict(zip(t["ONS_SEVERITY_code"].astype(str), t["ONS_SEVERITY_offence"], strict=False))


def _patrols(spec, rng, ids, tasked, in_trial, day_lo, day_hi, *, log_ids=None):
    """App patrol logs (one row per officer visit) and the visit intervals behind them.

    ``day_lo``/``day_hi``: each unit's bounds per day (units x days).  A
    visit starts inside its unit's time; ``log_ids`` is what the app records
    for each unit (the place, for units in shifts; default the unit id).
    """
    import pandas as pd

    n, n_days = tasked.shape
    trial = np.broadcast_to(in_trial, tasked.shape)
    p = np.where(tasked, spec.compliance, np.where(trial, spec.contamination, 0.0))
    patrolled = rng.random(tasked.shape) < p
    n_visits = np.where(patrolled, 1 + rng.poisson(max(spec.visits_mean - 1.0, 0.0), tasked.shape), 0)
    hs, day = np.nonzero(n_visits)
    reps = n_visits[hs, day]
    hs = np.repeat(hs, reps)
    day = np.repeat(day, reps)
    k = len(hs)
    dwell = np.clip(np.round(rng.lognormal(np.log(spec.dwell_median_min), 0.45, k)), 1, 120)
    length = (day_hi[hs, day] - day_lo[hs, day]) // _MIN
    start_min = (rng.random(k) * length).astype(np.int64)
    start = day_lo[hs, day] + start_min * _MIN
    end = start + dwell.astype(np.int64) * _MIN
    pair = rng.random(k) < spec.pair_share
    mode = np.where(rng.random(k) < spec.foot_share, "foot", "vehicle")
    stopped = rng.random(k) < spec.stop_share
    officers = np.array([f"TV{n:05d}" for n in rng.choice(90000, 40, replace=False) + 10000])
    crew = _assign_free(start, end, 1 + pair, len(officers), rng)
    off1, off2 = crew[:, 0], crew[:, 1]

    visit = np.arange(k)
    rows = np.concatenate([visit, visit[pair]])
    officer = np.concatenate([off1, off2[pair]])
    visits = pd.DataFrame({"visit": rows, "hs": hs[rows], "day": day[rows],
                           "start": start[rows], "end": end[rows],
                           "officer": officers[officer]})
    visits = visits.sort_values(["start", "visit", "officer"], kind="stable").reset_index(drop=True)
    notes_pool = np.array(["", "", "", "spoke to shop staff", "group dispersed",
                           "quiet", "advice given to resident"])
    patrols = pd.DataFrame(
        {
            "patrol_id": [f"P{i:06d}" for i in range(len(visits))],
            "officer_id": visits["officer"].to_numpy(),
            "hotspot_id": (ids if log_ids is None else log_ids)[visits["hs"].to_numpy()],
            "arrived_at": _iso_local(visits["start"].to_numpy()),
            "left_at": _iso_local(visits["end"].to_numpy()),
            "mode": mode[visits["visit"].to_numpy()],
            "stopped": stopped[visits["visit"].to_numpy()],
            "notes": notes_pool[rng.integers(0, len(notes_pool), len(visits))],
        }
    )
    return patrols, visits


def _background_visits(spec, rng, n, n_days, day_lo, day_hi):
    """Normal policing: radios in hot spots on any day, both arms and periods."""
    import pandas as pd

    counts = rng.poisson(spec.background_visits, (n, n_days))
    hs, day = np.nonzero(counts)
    reps = counts[hs, day]
    hs, day = np.repeat(hs, reps), np.repeat(day, reps)
    k = len(hs)
    length = (day_hi[day] - day_lo[day]) // _MIN
    start = day_lo[day] + (rng.random(k) * length).astype(np.int64) * _MIN
    dur = np.clip(np.round(rng.exponential(8.0, k)), 1, 90).astype(np.int64)
    radios = np.array([f"BG{r:04d}" for r in range(60)])
    end = start + dur * _MIN
    radio = _assign_free(start, end, np.ones(k, dtype=int), len(radios), rng)[:, 0]
    return pd.DataFrame({"hs": hs, "day": day, "start": start, "end": end,
                         "officer": radios[radio]})


def _assign_free(start, end, size, pool: int, rng) -> np.ndarray:
    """Give each visit ``size`` (1 or 2) people from a pool, none of them busy elsewhere.

    Greedy in order of start time, choosing at random among those free; a
    person is never in two places at once (so no radio pings from two hot
    spots at the same second).  Column 1 is -1 where ``size`` is 1.  A plain
    loop over visits: the simulator runs once per trial, not on a hot path.
    """
    free_at = np.full(pool, np.iinfo(np.int64).min)
    out = np.full((len(start), 2), -1, dtype=np.int64)
    for i in np.argsort(start, kind="stable"):
        free = np.flatnonzero(free_at <= start[i])
        if len(free) < size[i]:  # everyone busy: take whoever is free soonest
            free = np.argsort(free_at, kind="stable")[: size[i]]
        chosen = rng.choice(free, size=size[i], replace=False)
        out[i, : size[i]] = chosen
        free_at[chosen] = end[i]
    return out


def _pings(spec, rng, hotspots, visits, background):
    """Airwave pings every ``ping_seconds`` (jittered start) while a radio is in a hot spot."""
    import pandas as pd
    from pyproj import Transformer

    v = pd.concat([visits.assign(kind="tasked"), background.assign(kind="background")],
                  ignore_index=True)
    radio = v["officer"].map(_radio_of).to_numpy()
    step = int(round(spec.ping_seconds)) * 1_000_000_000
    # GPS fixes carry whole seconds
    first = v["start"].to_numpy() + rng.integers(0, step // 1_000_000_000, len(v)) * 1_000_000_000
    n_p = np.maximum((v["end"].to_numpy() - first + step - 1) // step, 0)
    owner = np.repeat(np.arange(len(v)), n_p)
    j = np.arange(len(owner)) - np.repeat(np.cumsum(n_p) - n_p, n_p)
    t = first[owner] + j * step
    counts = np.bincount(v["hs"].to_numpy()[owner], minlength=len(hotspots))
    x, y, _ = sample_points(hotspots.geometry.to_numpy(), counts, rng=rng)
    # sample_points returns points grouped by hot spot: match them to pings by hot spot
    order = np.argsort(v["hs"].to_numpy()[owner], kind="stable")
    px = np.empty(len(owner))
    py = np.empty(len(owner))
    px[order], py[order] = x, y
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(px, py)
    pings = pd.DataFrame(
        {
            "radio_id": radio[owner],
            "timestamp": pd.to_datetime(t, utc=True),
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "speed": np.round(rng.exponential(1.2, len(owner)), 1),
            "accuracy_m": rng.choice([5.0, 10.0, 15.0], len(owner)),
        }
    )
    return pings.sort_values(["timestamp", "radio_id"], kind="stable").reset_index(drop=True)


def _radio_of(officer: str) -> str:
    """Each officer carries one radio; background radios are their own ids."""
    import hashlib

    if officer.startswith("BG"):
        return "AW" + officer
    return "AW" + hashlib.sha256(officer.encode()).hexdigest()[:8].upper()


def _iso_local(ns: np.ndarray) -> np.ndarray:
    """ISO 8601 with the Europe/London offset, as a phone app records it."""
    import pandas as pd

    t = pd.to_datetime(ns, utc=True).tz_convert("Europe/London")
    s = t.strftime("%Y-%m-%dT%H:%M:%S%z")
    return np.array([x[:-2] + ":" + x[-2:] for x in s])


def _presence_minutes(intervals: pd.DataFrame, n: int, day_lo, day_hi, place_of=None,
                      *, max_cells: int = 20_000_000) -> np.ndarray:
    """Minutes with anyone present, per unit × trial day, on a whole-minute grid.

    ``intervals`` hold presence at ``n`` places (``hs``); ``day_lo``/``day_hi``
    (units x days) are each unit's bounds on each day and ``place_of`` the
    place of each unit (default: units are the places, with whole trial
    days).  The grid (places × minutes of the whole period) is built for
    blocks of places of at most ``max_cells`` cells, so memory stays bounded
    (300 hot spots × 455 days would otherwise need several GB).
    """
    day_lo, day_hi = np.asarray(day_lo), np.asarray(day_hi)
    if place_of is None:
        place_of = np.arange(n)
    if day_lo.ndim == 1:  # the same trial days for every unit
        day_lo = np.broadcast_to(day_lo, (len(place_of), len(day_lo)))
        day_hi = np.broadcast_to(day_hi, (len(place_of), len(day_hi)))
    origin = int(day_lo.min())
    total = int((int(day_hi.max()) - origin) // _MIN) + 1
    a_all = np.clip(((intervals["start"].to_numpy() - origin) // _MIN).astype(np.int64), 0, total)
    b_all = np.clip(((intervals["end"].to_numpy() - origin) // _MIN).astype(np.int64), 0, total)
    hs_all = intervals["hs"].to_numpy()
    lo = ((day_lo - origin) // _MIN).astype(np.int64)
    hi = ((day_hi - origin) // _MIN).astype(np.int64)
    out = np.zeros(lo.shape, dtype=float)
    block = max(1, max_cells // (total + 1))
    for first in range(0, n, block):  # blocks of places, not rows
        last = min(n, first + block)
        sel = (hs_all >= first) & (hs_all < last)
        grid = np.zeros((last - first, total + 1), dtype=np.int32)
        hs = hs_all[sel] - first
        np.add.at(grid, (hs, a_all[sel]), 1)
        np.add.at(grid, (hs, b_all[sel]), -1)
        np.cumsum(grid, axis=1, out=grid)
        present = grid[:, :total] > 0
        del grid
        cum = np.zeros((last - first, total + 1), dtype=np.int32)
        np.cumsum(present, axis=1, out=cum[:, 1:])
        units = np.flatnonzero((place_of >= first) & (place_of < last))
        rows = (place_of[units] - first)[:, None]
        out[units] = cum[rows, hi[units]] - cum[rows, lo[units]]
    return out


def _add_mess(spec, rng, crimes, patrols, pings):
    """Plant a few bad rows of the kinds real extracts have; return their counts."""
    import pandas as pd

    planted: dict[str, dict[str, int]] = {"crimes": {}, "patrols": {}, "pings": {}}
    if not spec.mess:
        return crimes, patrols, pings, planted
    # crimes: missing coordinates, unparseable dates, exact duplicate rows
    c = crimes.copy()
    idx = rng.choice(len(c), 6, replace=False)
    c.loc[idx[:3], ["easting", "northing"]] = np.nan
    c.loc[idx[3:5], "occurred_at"] = ["31/13/2021 25:00", "not a date"]
    dup = c.iloc[[int(idx[5])]]
    c = pd.concat([c, dup], ignore_index=True)
    planted["crimes"] = {"missing coordinates": 3, "unparseable timestamp": 2, "duplicate": 1}
    # patrols: left before arrived, unknown hot spot, duplicates, an over-long visit
    p = patrols.copy()
    bad = p.sample(4, random_state=int(rng.integers(1 << 31))).copy()
    bad["patrol_id"] = [f"PX{i:04d}" for i in range(4)]
    bad.iloc[0, bad.columns.get_loc("left_at")] = "2021-01-01T00:00:00+00:00"
    bad.iloc[1, bad.columns.get_loc("hotspot_id")] = "NOT-A-HOTSPOT"
    bad.iloc[2, bad.columns.get_loc("left_at")] = _shift_iso(bad.iloc[2]["arrived_at"], hours=9)
    bad.iloc[3, bad.columns.get_loc("arrived_at")] = "yesterday evening"
    p = pd.concat([p, bad, p.iloc[[0, 1]]], ignore_index=True)
    planted["patrols"] = {"left before arrived": 1, "unknown hot spot": 1,
                          "visit too long": 1, "unparseable timestamp": 1, "duplicate": 2}
    # pings: exact duplicates, outside Great Britain, one radio in two places at once
    q = pings.copy()
    n_dup = max(len(q) // 200, 1)
    dups = q.iloc[rng.choice(len(q), n_dup, replace=False)]
    outside = q.iloc[rng.choice(len(q), 5, replace=False)].copy()
    outside[["lon", "lat"]] = 0.0
    clash = q.iloc[rng.choice(len(q), 2, replace=False)].copy()
    clash["lon"] = clash["lon"] + 0.05  # same radio and second, ~3.5 km away
    q = pd.concat([q, dups, outside, clash], ignore_index=True)
    q = q.sort_values(["timestamp", "radio_id"], kind="stable").reset_index(drop=True)
    # a clash involves two rows (the original and the copy elsewhere): 4 rows in all
    planted["pings"] = {"duplicate": n_dup, "outside Great Britain": 5,
                        "radio in two places at once": 2}
    return c, p, q, planted


def _shift_iso(value: str, *, hours: float) -> str:
    import pandas as pd

    t = pd.Timestamp(value) + pd.Timedelta(hours=hours)
    s = t.strftime("%Y-%m-%dT%H:%M:%S%z")
    return s[:-2] + ":" + s[-2:]

