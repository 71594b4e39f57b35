"""Strata of crossover designs beyond sites: shifts (time windows), and their quotas.

A shift crossover's unit is a hot spot in one time window (``H001-night``; see
:mod:`rct.io.windows`); the window is a stratum with its own daily quota, so
the sampler's sites machinery runs on site × window strata
(:meth:`rct.randomise.crossover.CrossoverDesign._site_columns`).  Here: the
unit -> window mapping and the window definitions (:func:`_windows_of`), the
quota per stratum (:func:`_check_strata`, :func:`_quota`), the tasking list
per shift, and the command line's ``--sites``/``--quotas``
(:func:`crossover_quota`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from rct.errors import DesignError

__all__ = ["crossover_quota", "parse_quotas", "quota_table"]


def _windows_of(hotspot_ids: Any, windows: Any, shifts: Any, id_column: str
                ) -> tuple[dict[str, str] | None, Any]:
    """(unit -> window, the WindowSet) of a shift design, or (None, None)."""
    import pandas as pd

    from rct.io.windows import hotspot_windows, parse_windows

    if windows is None:
        if shifts is not None:
            raise DesignError("shifts (window definitions) were given without windows "
                              "(the window of each unit)")
        return None, None
    frame = hotspot_ids if isinstance(hotspot_ids, pd.DataFrame) else None
    if isinstance(windows, str):
        if frame is None:
            if windows == "auto":
                return None, None
            raise DesignError(f"windows={windows!r} names a column, but the hot spots are not "
                              "a table")
        if windows == "auto":
            hw = hotspot_windows(frame.rename(columns={id_column: "hotspot_id"}))
            if hw is None:
                return None, None
            return dict(hw.unit_window), parse_windows(shifts) if shifts is not None \
                else hw.windows
        if windows not in frame.columns:
            raise DesignError(f"windows={windows!r} names a column, but the hot spots have no "
                              "such column")
        window_of = dict(zip(frame[id_column].astype(str), frame[windows].astype(str),
                             strict=True))
        if shifts is None:
            hw = hotspot_windows(frame.rename(columns={id_column: "hotspot_id"}))
            shifts = None if hw is None else hw.windows
    else:
        window_of = {str(k): str(v) for k, v in dict(windows).items()}
    if shifts is None:
        raise DesignError("a shift design needs the windows' times (shifts, e.g. "
                          "{'day': '06:00-18:00', 'night': '18:00-06:00'})")
    try:
        spec = parse_windows(shifts)
    except ValueError as exc:
        raise DesignError(str(exc)) from None
    return window_of, spec


def _quota(quota: Any, site: str | None, window: str) -> int:
    """``k`` of the stratum (site, window): ``quota`` is a number, window -> k, site -> k or
    site -> {window -> k} (a site's entry wins over a window's)."""
    if not isinstance(quota, Mapping):
        return int(quota)
    if site is not None and site in quota:
        v = quota[site]
        if not isinstance(v, Mapping):
            return int(v)
        if window in v:
            return int(v[window])
    return int(quota[window])


def quota_table(per_day: Any, sites: Mapping[str, str] | None,
                windows: Mapping[str, str] | None) -> dict[tuple[str | None, str | None], int]:
    """Every stratum's ``k``: ``{(site, window): k}`` (None where there are no sites / windows).

    Two ways of writing the same quotas give the same table (``rct evaluate``
    compares ``[design] per_day`` with the manifest's this way).
    """
    units = sorted(set(windows or {}) | set(sites or {}))
    keys = sorted({((sites or {}).get(u), (windows or {}).get(u)) for u in units},
                  key=lambda k: (str(k[0]), str(k[1])))
    out = {}
    for s_, w_ in keys:
        if not isinstance(per_day, Mapping):
            out[(s_, w_)] = int(per_day)
        elif w_ is None:
            out[(s_, w_)] = int(per_day[s_])
        else:
            out[(s_, w_)] = _quota(per_day, s_, w_)
    return out


def _check_strata(ids: list[str], site_of: dict[str, str] | None, window_of: dict[str, str],
                  per_day: Any, shifts: Any) -> tuple[list[str] | None, list[str], Any, int]:
    """Labels, the quota to record and k tasked a day for a shift design (site × window strata).

    ``per_day``: one number (every stratum), window -> k, site -> k (every window
    of the site), site -> {window -> k}, or a mix (a site's entry wins over a
    window's).  Recorded as given (every stratum must have a quota).
    """
    missing = [i for i in ids if i not in window_of]
    if missing:
        raise DesignError(f"hot spot {missing[0]!r} has no window ({len(missing)} without one)")
    wl = [window_of[i] for i in ids]
    unknown = sorted(set(wl) - set(shifts.names))
    if unknown:
        raise DesignError(f"window {unknown[0]!r} is not one of the shifts "
                          f"({', '.join(shifts.names)})")
    if site_of is not None:
        gone = [i for i in ids if i not in site_of]
        if gone:
            raise DesignError(f"hot spot {gone[0]!r} has no site ({len(gone)} without one)")
    sl = None if site_of is None else [site_of[i] for i in ids]
    wins = [w for w in shifts.names if w in set(wl)]
    sites = sorted(set(sl)) if sl is not None else [None]
    sizes = {(s, w): sum(1 for a, b in zip(sl or [None] * len(ids), wl, strict=True)
                         if a == s and b == w) for s in sites for w in wins}

    def bad(what: str) -> DesignError:
        return DesignError(what)

    if isinstance(per_day, Mapping):
        given = {str(k): v for k, v in per_day.items()}
        if sl is None:
            extra = sorted(set(given) - set(wins))
            if extra:
                raise bad(f"per_day names {extra[0]!r}, which is not a window with hot spots; "
                          f"windows: {', '.join(wins)}")
            lacking = [w for w in wins if w not in given]
            if lacking:
                raise bad(f"per_day has no quota for window {lacking[0]!r}")
            quota: Any = {w: int(given[w]) for w in wins}
            table = {(None, w): quota[w] for w in wins}
        else:
            both = sorted(set(sites) & set(wins))
            if both:
                raise bad(f"{both[0]!r} is the name of a site and of a window: per_day cannot "
                          "tell which it means; rename one")
            table = {}
            for s in sites:
                for w in wins:
                    v = given.get(s)
                    v = v.get(w, given.get(w)) if isinstance(v, Mapping) else v
                    if v is None:
                        v = given.get(w)
                    if v is None:
                        raise bad(f"per_day has no quota for site {s!r} in window {w!r}")
                    table[(s, w)] = int(v)
            extra = sorted(set(given) - set(sites) - set(wins))
            if extra:
                raise bad(f"per_day names {extra[0]!r}, which is neither a site nor a window; "
                          f"sites: {', '.join(sites)}; windows: {', '.join(wins)}")
            quota = {k: ({k2: int(v2) for k2, v2 in v.items()} if isinstance(v, Mapping)
                         else int(v)) for k, v in given.items()}  # as given (manifest)
    else:
        quota = int(per_day)
        table = {key: quota for key in sizes}
    for (s, w), size in sizes.items():
        k = table[(s, w)]
        where = f"window {w!r}" if s is None else f"site {s!r}, window {w!r}"
        if not 1 <= k < size:
            raise bad(f"per_day for {where} must be between 1 and {size - 1} ({size} hot spots), "
                      f"got {k}")
    return sl, wl, quota, int(sum(table.values()))


def _shift_tasking_list(design: Any, *, sep: str) -> Any:
    import pandas as pd

    from rct.io.times import LONDON
    from rct.io.windows import window_timeline

    ws = design.shifts
    tl = window_timeline(ws, day_starts=design.parameters["day_starts"],
                         first=design.dates[0] - dt.timedelta(days=1),
                         last=design.dates[-1] + dt.timedelta(days=1))
    where = {(str(d), int(w)): i for i, (d, w) in enumerate(zip(
        tl.trial_date.astype("datetime64[D]").astype(str), tl.window, strict=True))}
    wins = [w for w in ws.names if w in set(design.windows)]
    ids = np.array(design.ids, dtype=object)
    unit_window = np.array(design.windows, dtype=object)
    rows = []
    fmt = "%Y-%m-%d %H:%M"
    for t, d in enumerate(design.dates):  # one row per day and shift (a few hundred rows)
        for w in wins:
            here = (unit_window == w) & design.schedule[t].astype(bool)
            i = where[(d.isoformat(), ws.index(w))]
            rows.append((d.isoformat(), w, d.strftime("%a"), int(tl.start[i]), int(tl.end[i]),
                         int(here.sum()), sep.join(ids[here])))
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 7

    def local(ns: Any) -> list[str]:
        return pd.to_datetime(np.asarray(ns, dtype=np.int64), utc=True).tz_convert(
            LONDON).strftime(fmt).to_list()

    return pd.DataFrame({"trial_date": list(cols[0]), "window": list(cols[1]),
                         "weekday": list(cols[2]), "starts_local": local(cols[3]),
                         "ends_local": local(cols[4]),
                         "n_tasked": np.asarray(cols[5], dtype=np.int64),
                         "tasked": list(cols[6])})




def parse_quotas(text: str | None) -> dict[str, int | dict[str, int]]:
    """``"north=3,south=2"`` / ``"day=2,night=3"`` / ``"north/night=4"`` -> a quota mapping."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        key, sep, value = part.partition("=")
        try:
            k = int(value)
        except ValueError:
            k = None
        if not sep or k is None:
            raise DesignError(f"quota {part!r} must be NAME=k (site or shift), or SITE/SHIFT=k")
        if "/" in key:
            site, _, win = key.partition("/")
            out.setdefault(site.strip(), {})
            if not isinstance(out[site.strip()], dict):
                raise DesignError(f"site {site.strip()!r} has a quota and per-shift quotas")
            out[site.strip()][win.strip()] = k
        else:
            out[key.strip()] = k
    return out


def crossover_quota(hotspots: Any, *, per_day: int, sites: str | None, quotas: str | None,
                    id_column: str = "hotspot_id") -> dict[str, Any]:
    """``per_day`` / ``sites`` / ``windows`` for :func:`rct.randomise.crossover` from the command line.

    ``--per-day K`` is the quota of every stratum (each site and shift);
    ``--quotas`` overrides it for the sites, shifts or site/shift pairs it names.
    A per-window hot-spot file (``rct hotspots build --windows``) makes the
    design a shift crossover.
    """
    from rct.io.windows import hotspot_windows
    from rct.randomise.manifest import read_units

    given = parse_quotas(quotas)
    if sites is None and not given:
        units = read_units(hotspots, id_column=id_column)
        hw = hotspot_windows(units.rename(columns={id_column: "hotspot_id"}))
        return {"per_day": int(per_day), **({"windows": "auto"} if hw is not None else {})}
    units = read_units(hotspots, id_column=id_column)
    if sites is not None and sites not in units.columns:
        raise DesignError(f"--sites {sites}: the hot spots have no column {sites!r}; columns: "
                          f"{', '.join(map(str, units.columns))}")
    hw = hotspot_windows(units.rename(columns={id_column: "hotspot_id"}))
    site_names = sorted(units[sites].astype(str).unique()) if sites is not None else [None]
    win_names = list(hw.windows.names) if hw is not None else [None]
    known = {s for s in site_names if s is not None} | {w for w in win_names if w is not None}
    unknown = sorted(set(given) - known)
    if unknown:
        raise DesignError(f"--quotas names {unknown[0]!r}, which is neither a site nor a shift; "
                          f"sites: {', '.join(s for s in site_names if s) or 'none'}; shifts: "
                          f"{', '.join(w for w in win_names if w) or 'none'}")
    if not given:
        return {"per_day": int(per_day), **({"sites": sites} if sites else {}),
                **({"windows": "auto"} if hw is not None else {})}
    table: dict[Any, Any] = {}
    for s_ in site_names:
        for w_ in win_names:
            v = given.get(s_) if s_ is not None else None
            if isinstance(v, dict):
                v = v.get(w_, given.get(w_, per_day) if w_ is not None else per_day)
            elif v is None:
                v = given.get(w_, per_day) if w_ is not None else per_day
            table[(s_, w_)] = int(v)
    if hw is None:
        per = {s_: table[(s_, None)] for s_ in site_names}
    elif sites is None:
        per = {w_: table[(None, w_)] for w_ in win_names}
    else:
        per = {s_: {w_: table[(s_, w_)] for w_ in win_names} for s_ in site_names}
    out: dict[str, Any] = {"per_day": per}
    if sites is not None:
        out["sites"] = sites
    if hw is not None:
        out["windows"] = "auto"
    return out
