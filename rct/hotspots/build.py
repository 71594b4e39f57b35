"""Build hot spots from crime points: hex cells, counts and harm, ranking, selection."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rct.errors import DataError, RCTWarning
from rct.hotspots.grid import HexGrid, Orientation

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from rct.harm import HarmTable

__all__ = ["build_hotspots", "HotspotResult", "HotspotWarning", "RankBy"]

RankBy = Literal["count", "harm"]


class HotspotWarning(RCTWarning):
    """Fewer hot spots than asked for, or a share of harm that could not be reached."""


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class HotspotResult:
    """Hot spots chosen from a hexagonal grid, with the denominators for shares.

    Attributes
    ----------
    hotspots
        GeoDataFrame (EPSG:27700), one row per hot spot in rank order:
        ``hotspot_id`` ("H001", ...), ``rank``, ``crimes``, ``harm``,
        ``harm_unknown`` (crimes in it with no harm weight), ``share_crimes``,
        ``share_harm``, ``area_m2``, ``share_area``, ``cells``, ``centroid_x``,
        ``centroid_y`` (EPSG:27700 m), ``cell_ids`` ("q,r;q,r" axial cell addresses), ``geometry``.
    cells
        Every cell with at least one crime: ``cell_id``, ``q``, ``r``, ``x``,
        ``y`` (centre), ``crimes``, ``harm``, ``harm_unknown``, ``rank``,
        ``chosen``, ``hotspot_id`` (<NA> when not chosen).
    grid
        The :class:`~rct.hotspots.grid.HexGrid` used.
    n_crimes, total_harm, n_harm_unknown
        Denominators: crimes of the chosen types, their total known harm
        (NaN without a harm table), crimes with no harm weight.
    area_cells_m2
        Area of all cells with at least one crime: the denominator of ``share_area``.
    """

    hotspots: gpd.GeoDataFrame
    cells: pd.DataFrame
    grid: HexGrid
    n_crimes: int
    total_harm: float
    n_harm_unknown: int
    area_cells_m2: float
    crime_types: tuple[str, ...] | None
    harm_table: HarmTable | None
    params: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, HotspotResult] | None = None

    @property
    def n_hotspots(self) -> int:
        return len(self.hotspots)

    def _totals(self) -> dict[str, float]:
        h = self.hotspots
        return {
            "hot_spots": len(h),
            "cells": int(h["cells"].sum()),
            "area_m2": float(h["area_m2"].sum()),
            "crimes": int(h["crimes"].sum()),
            "harm": float(h["harm"].sum()) if self.harm_table is not None else float("nan"),
        }

    def summary(self, *, area_m2: float | None = None) -> pd.DataFrame:
        """The headline figures as a table: ``measure, value, denominator``.

        Parameters
        ----------
        area_m2
            Optional study area (e.g. the force area) in m²: adds a
            "share of study area" row with that denominator.

        Notes
        -----
        Share of area is hot-spot area / area of all cells with at least one
        crime of the chosen types (not the force area, which the data do not
        give: pass ``area_m2`` for that).  Share of crime and of harm are of
        all crimes of the chosen types in the data; crimes whose offence has no
        harm weight count in neither harm total.
        """
        import pandas as pd

        if self.groups:  # built per window and/or site: one block of rows per group
            return pd.concat([g.summary(area_m2=area_m2).assign(group=k)[
                ["group", "measure", "value", "denominator"]]
                for k, g in self.groups.items()], ignore_index=True)
        t = self._totals()
        cell_txt = f"{self.grid.cell:g} m hexagons (across flats), {self.grid.orientation}-top"
        rows: list[tuple[str, float, str]] = [
            ("hot spots", t["hot_spots"], "merged touching cells" if self.params.get(
                "merge_touching") else "one cell each"),
            ("cells chosen", t["cells"], cell_txt),
            ("area (km²)", t["area_m2"] / 1e6, ""),
            ("share of area", t["area_m2"] / self.area_cells_m2 if self.area_cells_m2 else np.nan,
             f"{len(self.cells):,} cells with >= 1 crime ({self.area_cells_m2 / 1e6:,.2f} km²)"),
        ]
        if area_m2 is not None:
            rows.append(("share of study area", t["area_m2"] / float(area_m2),
                         f"study area {float(area_m2) / 1e6:,.2f} km²"))
        types = ", ".join(self.crime_types) if self.crime_types else "all crime types"
        rows += [
            ("crimes in hot spots", t["crimes"], ""),
            ("share of crime", t["crimes"] / self.n_crimes if self.n_crimes else np.nan,
             f"{self.n_crimes:,} crimes ({types})"),
        ]
        if self.harm_table is not None:
            unk = f"; {self.n_harm_unknown:,} crimes without a weight excluded" if (
                self.n_harm_unknown) else ""
            rows += [
                ("harm in hot spots", t["harm"], self.harm_table.unit),
                ("share of harm", t["harm"] / self.total_harm if self.total_harm else np.nan,
                 f"total harm {self.total_harm:,.0f} ({self.harm_table.name}){unk}"),
            ]
        return pd.DataFrame(rows, columns=["measure", "value", "denominator"])

    def summary_text(self, *, area_m2: float | None = None) -> str:
        """:meth:`summary` formatted for a terminal (shares as %, counts as integers)."""
        if self.groups:
            return "\n\n".join(f"{k}:\n" + g.summary_text(area_m2=area_m2)
                               for k, g in self.groups.items())
        table = self.summary(area_m2=area_m2)

        def fmt(measure: str, v: float) -> str:
            if v != v:  # NaN
                return "n/a"
            if measure.startswith("share"):
                return f"{100 * v:.1f} %"
            if measure.startswith("area"):
                return f"{v:,.3f}"
            if measure.startswith("harm"):
                return f"{v:,.1f}"
            return f"{int(round(v)):,}"

        shown = table.assign(value=[fmt(m, v) for m, v in zip(table["measure"], table["value"],
                                                                strict=True)])
        return shown.to_string(index=False, justify="left")

    def headline(self) -> str:
        """One line, e.g. ``45 hot spots: 2.6 % of the area of cells with crime, 41.0 % of crime``."""
        if self.groups:
            places = (self.hotspots["place_id"].nunique() if "place_id" in self.hotspots
                      else len(self.hotspots))
            return (f"{len(self.hotspots)} hot spots at {places} places, ranked per "
                    f"{self._group_word()}: " + "; ".join(
                        f"{k}: {g.headline()}" for k, g in self.groups.items()))
        t = self._totals()
        area = 100 * t["area_m2"] / self.area_cells_m2 if self.area_cells_m2 else float("nan")
        crime = 100 * t["crimes"] / self.n_crimes if self.n_crimes else float("nan")
        line = (f"{t['hot_spots']} hot spots: {area:.1f} % of the area of cells with crime, "
                f"{crime:.1f} % of crime")
        if self.harm_table is not None and self.total_harm:
            line += f", {100 * t['harm'] / self.total_harm:.1f} % of harm"
        return line

    def _group_word(self) -> str:
        by = [w for w, k in (("site", "site_column"), ("time window", "windows"))
              if self.params.get(k)]
        return " and ".join(by) or "group"

    def tidy(self) -> pd.DataFrame:
        """The hot spots as a plain DataFrame (no geometry)."""
        import pandas as pd

        return pd.DataFrame(self.hotspots.drop(columns="geometry"))

    def to_dict(self) -> dict[str, Any]:
        """Parameters and headline figures (JSON-ready)."""
        t = self._totals()
        return {
            "params": dict(self.params),
            "grid": {"cell_m": self.grid.cell, "orientation": self.grid.orientation,
                     "origin": list(self.grid.origin), "cell_area_m2": self.grid.cell_area},
            "n_crimes": self.n_crimes,
            "total_harm": None if np.isnan(self.total_harm) else self.total_harm,
            "n_harm_unknown": self.n_harm_unknown,
            "n_cells_with_crime": len(self.cells),
            "area_cells_m2": self.area_cells_m2,
            "crime_types": list(self.crime_types) if self.crime_types else None,
            "harm": None if self.harm_table is None else self.harm_table.to_dict(),
            **{f"hotspot_{k}": v for k, v in t.items()},
            "headline": self.headline(),
            **({"groups": {k: g.to_dict() for k, g in self.groups.items()}}
               if self.groups else {}),
        }

    def _repr_html_(self) -> str:
        return f"<p>{self.headline()}</p>" + self.summary().to_html(index=False)

    def __repr__(self) -> str:
        return f"HotspotResult({self.headline()})"


# --------------------------------------------------------------------------- helpers
def _validate_choice(name: str, value: object, valid: Sequence[object]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}, got {value!r}")


def _prepare(
    crimes: pd.DataFrame,
    *,
    crime_types: str | Iterable[str] | None,
    harm: Any,
    force: str,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, tuple[str, ...] | None, HarmTable | None]:
    """Filter crimes to the chosen types; return (frame, weights, unknown, types, table)."""
    import pandas as pd

    from rct.harm import harm_table, normalise_category

    if not isinstance(crimes, pd.DataFrame):
        raise TypeError(f"crimes must be a pandas DataFrame, got {type(crimes).__name__}")
    for col in ("x", "y"):
        if col not in crimes.columns:
            raise DataError(
                f"crimes need EPSG:27700 coordinates in columns 'x' and 'y'; found "
                f"{list(crimes.columns)}", column=col)
        vals = pd.to_numeric(crimes[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{int(bad.sum()):,} crimes have no usable coordinate "
                            "(quarantine them when reading)", row=i + 1, column=col,
                            value=crimes[col].iloc[i])

    types: tuple[str, ...] | None = None
    if crime_types is not None:
        wanted = [crime_types] if isinstance(crime_types, str) else list(crime_types)
        wanted = [t.strip() for w in wanted for t in str(w).split(",") if t.strip()] if any(
            "," in str(w) for w in wanted) else [str(w).strip() for w in wanted]
        if wanted:
            if "category" not in crimes.columns:
                raise DataError("crime_types needs a 'category' column in the crimes",
                                column="category")
            cats = normalise_category(crimes["category"])
            present = set(cats.dropna())
            keys = [normalise_category(w) for w in wanted]
            missing = [w for w, k in zip(wanted, keys, strict=True) if k not in present]
            if missing:
                have = sorted(set(crimes["category"].dropna().astype(str)))
                raise DataError(f"no crimes of type {missing}; the data have {have}",
                                column="category", value=missing[0])
            crimes = crimes.loc[cats.isin(keys).to_numpy()]
            types = tuple(wanted)

    table = None if harm is None else harm_table(harm, force=force)
    if table is None:
        weights = np.full(len(crimes), np.nan)
        unknown = np.zeros(len(crimes), dtype=bool)
    else:
        w, u = table.weigh(crimes)
        weights, unknown = w.to_numpy(dtype=float), u.to_numpy(dtype=bool)
    return crimes, weights, unknown, types, table


_OFF = np.int64(1 << 30)  # |q|, |r| < 2**30: 1 m cells span 1,000 km in under 2**21


def _pack(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """One int64 key per axial cell (no overflow for |q|, |r| < 2**30)."""
    return ((np.asarray(q, np.int64) + _OFF) << np.int64(32)) | (np.asarray(r, np.int64) + _OFF)


def _unpack(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (key >> np.int64(32)) - _OFF, (key & np.int64(0xFFFFFFFF)) - _OFF


def _cells(grid: HexGrid, x: np.ndarray, y: np.ndarray, weights: np.ndarray,
           unknown: np.ndarray) -> pd.DataFrame:
    """Counts and harm per occupied cell (vectorised: np.unique + bincount)."""
    import pandas as pd

    q, r = grid.locate(x, y)
    uniq, inverse = np.unique(_pack(q, r), return_inverse=True)
    inverse = inverse.reshape(-1)
    keys = np.stack(_unpack(uniq), axis=1)
    k = len(keys)
    crimes = np.bincount(inverse, minlength=k)
    harm = np.bincount(inverse, weights=np.where(np.isnan(weights), 0.0, weights), minlength=k)
    n_unknown = np.bincount(inverse, weights=unknown.astype(float), minlength=k).astype(np.int64)
    cx, cy = grid.centres(keys[:, 0], keys[:, 1])
    return pd.DataFrame({
        "cell_id": pd.Series(keys[:, 0]).astype(str) + "," + pd.Series(keys[:, 1]).astype(str),
        "q": keys[:, 0], "r": keys[:, 1], "x": cx, "y": cy,
        "crimes": crimes.astype(np.int64), "harm": harm, "harm_unknown": n_unknown,
    })


def _rank(cells: pd.DataFrame, rank_by: RankBy) -> pd.DataFrame:
    """Sort cells best first; ties broken by the other measure, then q, r (deterministic)."""
    first, second = ("crimes", "harm") if rank_by == "count" else ("harm", "crimes")
    out = cells.sort_values([first, second, "q", "r"], ascending=[False, False, True, True],
                            kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def _select(ranked: pd.DataFrame, *, top: int | None, share_of_harm: float | None,
            total_harm: float, min_separation: float) -> tuple[np.ndarray, str | None]:
    """Positions (in rank order) of the chosen cells, and a shortfall message if any.

    Greedy: walk down the ranking, take a cell unless its centre is closer
    than ``min_separation`` to a cell already taken; stop at ``top`` cells or
    once the chosen harm reaches ``share_of_harm * total_harm``.
    """
    n = len(ranked)
    harm = ranked["harm"].to_numpy(dtype=float)
    target = None if share_of_harm is None else share_of_harm * total_harm * (1 - 1e-12)
    if min_separation <= 0:
        if top is not None:
            chosen = np.arange(min(top, n))
        else:
            k = int(np.searchsorted(np.cumsum(harm), target, side="left")) + 1
            chosen = np.arange(min(k, n))
    else:
        from scipy.spatial import cKDTree

        xy = ranked[["x", "y"]].to_numpy(dtype=float)
        tree = cKDTree(xy)
        eligible = np.ones(n, dtype=bool)
        picked: list[int] = []
        got, i, limit = 0.0, 0, top if top is not None else n
        radius = min_separation * (1 - 1e-9)  # "at least min_separation apart" is allowed
        # the loop runs once per chosen cell; the pointer i only moves forward
        while len(picked) < limit and (target is None or got < target):
            while i < n and not eligible[i]:
                i += 1
            if i == n:
                break
            picked.append(i)
            got += harm[i]
            near = tree.query_ball_point(xy[i], radius, p=2.0, return_sorted=False)
            eligible[np.asarray(near, dtype=np.int64)] = False
        chosen = np.asarray(picked, dtype=np.int64)
    short = None
    if top is not None and len(chosen) < top:
        short = (f"only {len(chosen)} of the {top} cells asked for could be chosen "
                 f"({n} cells have crime; min_separation={min_separation:g} m)")
    if target is not None and harm[chosen].sum() < target:
        short = (f"the chosen cells hold {harm[chosen].sum() / total_harm:.1%} of harm, short of "
                 f"share_of_harm={share_of_harm:g} (min_separation={min_separation:g} m)")
    return chosen, short


def _components(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Label touching cells (hex distance 1) with the same component number."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(q)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    q = q.astype(np.int64)
    r = r.astype(np.int64)
    key = _pack(q, r)
    order = np.argsort(key)
    sorted_keys = key[order]
    rows, cols = [], []
    for dq, dr in ((1, 0), (0, 1), (-1, 1)):  # half the six neighbours; the graph is undirected
        nk = _pack(q + dq, r + dr)
        pos = np.clip(np.searchsorted(sorted_keys, nk), 0, n - 1)
        hit = sorted_keys[pos] == nk
        rows.append(np.flatnonzero(hit))
        cols.append(order[pos[hit]])
    i, j = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


# --------------------------------------------------------------------------- main entry
def build_hotspots(
    crimes: pd.DataFrame,
    *,
    cell: float = 150.0,
    top: int | None = None,
    share_of_harm: float | None = None,
    rank_by: RankBy | None = None,
    crime_types: str | Iterable[str] | None = None,
    harm: str | os.PathLike[str] | HarmTable | None = None,
    force: str = "Thames Valley",
    min_separation: float = 0.0,
    merge_touching: bool = False,
    origin: tuple[float, float] | None = None,
    orientation: Orientation = "pointy",
    windows: Any = None,
    day_starts: str = "06:00",
    site_column: str | None = None,
) -> HotspotResult:
    """Choose hot spots: the hexagonal cells with the most crime or harm.

    Parameters
    ----------
    crimes
        Crime points with ``x``, ``y`` (EPSG:27700 m) and ``category`` (and
        ``offence_code`` for code-keyed harm tables), e.g. ``read_crimes(...).data``.
    cell
        Hexagon size in metres **across flats** (= distance between the
        centres of touching cells); area per cell ``sqrt(3)/2 * cell**2``.
    top
        Choose this many cells (before any merging).
    share_of_harm
        Instead of ``top``: the smallest set of cells, in ranking order, whose
        harm reaches this share (0-1] of the total harm.  Needs ``harm``.
    rank_by
        ``"count"`` (crimes) or ``"harm"``; default ``"harm"`` with
        ``share_of_harm`` (which then gives the smallest such set when there
        is no separation constraint), else ``"count"``.
    crime_types
        police.uk categories to keep (case-insensitive); others are ignored,
        including in the denominators.  Default: all rows.
    harm
        A harm table name (``"cchi"``, ``"cchi-subgroup"``, ``"ons"``), CSV path
        or :class:`~rct.harm.HarmTable`; None for counts only.
    force
        Force for the ``"cchi"`` category table.
    min_separation
        Minimum distance in metres between the centres of chosen cells; cells
        are taken greedily in rank order, skipping any closer than this to one
        already taken (limits contamination between arms).
    merge_touching
        Merge chosen cells that share an edge into one hot spot.
    origin
        Grid anchor in EPSG:27700 metres; default (0, 0), so grids are comparable
        across datasets.
    orientation
        ``"pointy"`` or ``"flat"`` topped hexagons.
    windows
        Time windows (``"day=06:00-18:00,night=18:00-06:00"``, a mapping or a
        :class:`rct.io.windows.WindowSet`): rank and choose cells separately in
        each window, from the crimes whose local time falls in it (so a place
        can be a night hot spot and not a day one).  Needs crime times
        (``occurred_at``).  ``top``/``share_of_harm`` apply per window.
    day_starts
        Trial-day boundary (local time), recorded with the windows.
    site_column
        A column of the crimes naming each crime's site (e.g. ``falls_within``
        for the force, or a local policing area): rank and choose cells
        separately within each site; the hot spots get a ``site`` column.

    Returns
    -------
    HotspotResult
        ``.hotspots`` GeoDataFrame, ``.cells``, ``.summary()``, ``.headline()``, ``.tidy()``.
        Built per window or site, one row per hot spot (unit) with ``site``,
        ``window``, ``window_start``, ``window_end`` and ``place_id`` columns as
        they apply, ``rank`` within its group, shares of its group's crime;
        ``.groups`` holds each group's own result.

    Notes
    -----
    Points are binned to cells with axial hexagon coordinates and cube
    rounding (vectorised; see :mod:`rct.hotspots.grid`).  Cells are ranked by
    the chosen measure, ties broken by the other measure and then the cell
    address, so the result is deterministic.  With ``min_separation`` the
    greedy choice is not guaranteed to be the best-scoring separated set.
    Weisburd, D. (2015). The law of crime concentration and the criminology
    of place. Criminology 53(2):133-157.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    if windows is not None or site_column is not None:
        return _build_grouped(
            crimes, windows=windows, day_starts=day_starts, site_column=site_column,
            options=dict(cell=cell, top=top, share_of_harm=share_of_harm, rank_by=rank_by,
                         crime_types=crime_types, harm=harm, force=force,
                         min_separation=min_separation, merge_touching=merge_touching,
                         origin=origin, orientation=orientation))
    if (top is None) == (share_of_harm is None):
        raise ValueError("give exactly one of top= (a number of cells) or share_of_harm= (0-1]")
    if top is not None and (int(top) != top or top < 1):
        raise ValueError(f"top must be a positive whole number, got {top!r}")
    if share_of_harm is not None and not (0 < share_of_harm <= 1):
        raise ValueError(f"share_of_harm must be in (0, 1], got {share_of_harm!r}")
    if rank_by is None:
        rank_by = "harm" if share_of_harm is not None else "count"
    _validate_choice("rank_by", rank_by, ["count", "harm"])
    _validate_choice("orientation", orientation, ["pointy", "flat"])
    if (rank_by == "harm" or share_of_harm is not None) and harm is None:
        raise ValueError("ranking by harm or choosing a share_of_harm needs a harm table: "
                         "harm='cchi', 'cchi-subgroup', 'ons' or a CSV path")
    if not (np.isfinite(min_separation) and min_separation >= 0):
        raise ValueError(f"min_separation must be >= 0 metres, got {min_separation!r}")
    grid = HexGrid(cell, orientation=orientation, origin=origin or (0.0, 0.0))
    top = None if top is None else int(top)

    frame, weights, unknown, types, table = _prepare(
        crimes, crime_types=crime_types, harm=harm, force=force)
    if len(frame) == 0:
        raise DataError("no crimes to build hot spots from")
    x = pd.to_numeric(frame["x"]).to_numpy(dtype=float)
    y = pd.to_numeric(frame["y"]).to_numpy(dtype=float)
    cells = _rank(_cells(grid, x, y, weights, unknown), rank_by)
    total_harm = float(np.nansum(weights)) if table is not None else float("nan")
    if share_of_harm is not None and not total_harm > 0:
        raise DataError(f"total harm is {total_harm:g}: no crime has a positive weight in "
                        f"harm table {table.name!r}, so share_of_harm cannot be used")
    chosen, short = _select(cells, top=top, share_of_harm=share_of_harm,
                            total_harm=total_harm, min_separation=float(min_separation))
    if short:
        warnings.warn(short, HotspotWarning, stacklevel=2)

    pick = cells.iloc[chosen].reset_index(drop=True)
    group = (_components(pick["q"].to_numpy(), pick["r"].to_numpy()) if merge_touching
             else np.arange(len(pick)))
    # hot spots in order of their best cell's rank
    first_rank = pd.Series(pick["rank"].to_numpy()).groupby(group).min()
    order = first_rank.sort_values(kind="mergesort").index.to_numpy()
    hot_no = np.empty(len(order), dtype=np.int64)
    hot_no[order] = np.arange(len(order))
    pick["hot"] = hot_no[np.searchsorted(first_rank.index.to_numpy(), group)]
    width = max(3, len(str(len(order))))
    ids = np.array([f"H{i + 1:0{width}d}" for i in range(len(order))], dtype=object)

    polys = grid.polygons(pick["q"].to_numpy(), pick["r"].to_numpy())
    agg = pick.groupby("hot", sort=True).agg(
        rank=("rank", "min"), crimes=("crimes", "sum"), harm=("harm", "sum"),
        harm_unknown=("harm_unknown", "sum"), cells=("rank", "size"),
        cell_ids=("cell_id", lambda s: ";".join(sorted(s))))
    if merge_touching:
        geoms = [shapely.union_all(polys[pick["hot"].to_numpy() == h], grid_size=1e-3)
                 for h in agg.index]
    else:
        geoms = list(polys[np.argsort(pick["hot"].to_numpy())])
    area_cells = len(cells) * grid.cell_area
    gdf = gpd.GeoDataFrame(
        {
            "hotspot_id": ids[agg.index.to_numpy()],
            "rank": agg["rank"].to_numpy(np.int64),
            "crimes": agg["crimes"].to_numpy(np.int64),
            "harm": agg["harm"].to_numpy(float) if table is not None else np.nan,
            "harm_unknown": agg["harm_unknown"].to_numpy(np.int64),
            "share_crimes": agg["crimes"].to_numpy(float) / len(frame),
            "share_harm": (agg["harm"].to_numpy(float) / total_harm
                           if table is not None and total_harm > 0 else np.nan),
            "area_m2": agg["cells"].to_numpy(float) * grid.cell_area,
            "share_area": agg["cells"].to_numpy(float) * grid.cell_area / area_cells,
            "cells": agg["cells"].to_numpy(np.int64),
            "cell_ids": agg["cell_ids"].to_numpy(object),
        },
        geometry=geoms,
        crs="EPSG:27700",
    )
    cent = gdf.geometry.centroid
    gdf.insert(gdf.columns.get_loc("cell_ids"), "centroid_x", cent.x.to_numpy())
    gdf.insert(gdf.columns.get_loc("cell_ids"), "centroid_y", cent.y.to_numpy())
    gdf = gdf.reset_index(drop=True)

    cells["chosen"] = False
    cells.loc[chosen, "chosen"] = True
    cells["hotspot_id"] = pd.Series(pd.NA, index=cells.index, dtype="object")
    cells.loc[chosen, "hotspot_id"] = ids[pick["hot"].to_numpy()]
    if table is None:
        cells["harm"] = np.nan

    params = {
        "cell": grid.cell, "top": top, "share_of_harm": share_of_harm, "rank_by": rank_by,
        "crime_types": list(types) if types else None,
        "harm": None if table is None else table.name,
        "force": force if table is not None and table.name == "cchi" else None,
        "min_separation": float(min_separation), "merge_touching": bool(merge_touching),
        "origin": list(grid.origin), "orientation": orientation,
    }
    return HotspotResult(
        hotspots=gdf, cells=cells, grid=grid, n_crimes=len(frame), total_harm=total_harm,
        n_harm_unknown=int(unknown.sum()), area_cells_m2=area_cells, crime_types=types,
        harm_table=table, params=params,
    )


# --------------------------------------------------------------------------- per window / site
def _build_grouped(crimes: pd.DataFrame, *, windows: Any, day_starts: str,
                   site_column: str | None, options: dict[str, Any]) -> HotspotResult:
    """:func:`build_hotspots` within each site and/or time window, then put together.

    Every group is ranked on the same grid (same origin), so the same cell is
    the same place in every window: places are numbered ``H001``, ... in
    order of their best rank over the groups (then group order, then cell
    address), and a unit's ``hotspot_id`` is ``<place>-<window>`` when there
    are windows (the place id alone otherwise).
    """
    import geopandas as gpd
    import pandas as pd

    from rct.io.windows import assign_windows, parse_windows

    if not isinstance(crimes, pd.DataFrame):
        raise TypeError(f"crimes must be a pandas DataFrame, got {type(crimes).__name__}")
    ws = None if windows is None else parse_windows(windows)
    frame = crimes.reset_index(drop=True)
    # crime types first, so a window without (say) robbery is not an error
    kept, _, _, types, _ = _prepare(frame, crime_types=options["crime_types"], harm=None,
                                    force=options["force"])
    frame = kept.reset_index(drop=True)
    keys = pd.DataFrame(index=frame.index)
    if site_column is not None:
        if site_column not in frame.columns:
            raise DataError(f"no column {site_column!r} in the crimes to take sites from; "
                            f"columns: {list(frame.columns)}", column=site_column)
        site = frame[site_column].astype("string").str.strip()
        missing = site.isna() | (site == "")
        if missing.any():
            warnings.warn(f"{int(missing.sum()):,} crimes have no {site_column!r} and are left "
                          "out", HotspotWarning, stacklevel=3)
        keys["site"] = site.where(~missing).astype(object)
    if ws is not None:
        if "occurred_at" not in frame.columns or frame["occurred_at"].isna().all():
            raise DataError("hot spots per time window need crime times ('occurred_at'); "
                            "these crimes have months only (police.uk)", column="occurred_at")
        when = pd.to_datetime(frame["occurred_at"], utc=True)
        aw = assign_windows(when, ws, day_starts=day_starts)
        lost = when.isna().to_numpy()
        gap = ~lost & aw["window"].isna().to_numpy()
        if lost.any():
            warnings.warn(f"{int(lost.sum()):,} crimes have no time and are left out of the "
                          "per-window ranking", HotspotWarning, stacklevel=3)
        if gap.any():
            warnings.warn(f"{int(gap.sum()):,} crimes fall outside every window "
                          f"({ws.text}) and are left out", HotspotWarning, stacklevel=3)
        keys["window"] = aw["window"].to_numpy()
    ok = keys.notna().all(axis=1).to_numpy()
    sites = sorted(keys.loc[ok, "site"].unique()) if "site" in keys else [None]
    wins = list(ws.names) if ws is not None else [None]
    opts = dict(options, crime_types=None)
    results: dict[tuple, HotspotResult] = {}
    for s_ in sites:  # one build per group (a handful), each vectorised
        for w_ in wins:
            m = ok.copy()
            if s_ is not None:
                m &= (keys["site"] == s_).to_numpy()
            if w_ is not None:
                m &= (keys["window"] == w_).to_numpy()
            if not m.any():
                warnings.warn(f"no crimes in {_group_name(s_, w_)}: no hot spots there",
                              HotspotWarning, stacklevel=3)
                continue
            results[(s_, w_)] = build_hotspots(frame.loc[m], **opts)
    if not results:
        raise DataError("no crimes to build hot spots from in any group")
    parts = []
    for (s_, w_), r in results.items():
        h = pd.DataFrame(r.hotspots.drop(columns="geometry")).assign(
            geometry=r.hotspots.geometry.values, _site=s_, _window=w_,
            _orig=r.hotspots["hotspot_id"].to_numpy())
        parts.append(h)
    allh = pd.concat(parts, ignore_index=True)
    # places: same site and same cells = same place, numbered by best rank over the groups
    pkey = allh["_site"].map(lambda v: "" if v is None else str(v)) + "|" + allh[
        "cell_ids"].astype(str)
    gorder = {k: i for i, k in enumerate(results)}
    allh["_g"] = [gorder[(a, b)] for a, b in zip(allh["_site"], allh["_window"], strict=True)]
    best = allh.groupby(pkey, sort=False).agg(r=("rank", "min"), g=("_g", "min"))
    best = best.assign(key=best.index).sort_values(["r", "g", "key"], kind="mergesort")
    width = max(3, len(str(len(best))))
    place_of = {k: f"H{i + 1:0{width}d}" for i, k in enumerate(best["key"])}
    allh["place_id"] = pkey.map(place_of).to_numpy()
    allh["hotspot_id"] = (allh["place_id"] + "-" + allh["_window"].astype(str)
                          if ws is not None else allh["place_id"])
    front = ["hotspot_id"]
    if ws is not None:
        front.append("place_id")
    if site_column is not None:
        allh["site"] = allh["_site"]
        front.append("site")
    if ws is not None:
        allh["window"] = allh["_window"]
        allh["window_start"] = [ws.get(w).start for w in allh["_window"]]
        allh["window_end"] = [ws.get(w).end for w in allh["_window"]]
        front += ["window", "window_start", "window_end"]
    allh = allh.sort_values(["_g", "rank"], kind="mergesort").reset_index(drop=True)
    rest = [c for c in allh.columns if c not in front and not c.startswith("_")
            and c != "geometry"]
    gdf = gpd.GeoDataFrame(allh[front + rest], geometry=list(allh["geometry"]),
                           crs="EPSG:27700")
    cells = []
    for (s_, w_), r in results.items():
        c = r.cells.copy()
        mine = allh.loc[allh["_g"] == gorder[(s_, w_)]]
        c["hotspot_id"] = c["hotspot_id"].map(dict(zip(mine["_orig"], mine["hotspot_id"],
                                                       strict=True)))
        for col, v in (("site", s_), ("window", w_)):
            if v is not None:
                c.insert(0, col, v)
        cells.append(c)
    first = next(iter(results.values()))
    params = dict(first.params)
    params.update(crime_types=list(types) if types else None,
                  windows=None if ws is None else ws.to_dict(),
                  day_starts=day_starts if ws is not None else None, site_column=site_column)
    groups = {_group_name(s_, w_): r for (s_, w_), r in results.items()}
    return HotspotResult(
        hotspots=gdf, cells=pd.concat(cells, ignore_index=True), grid=first.grid,
        n_crimes=sum(r.n_crimes for r in results.values()),
        total_harm=float(np.nansum([r.total_harm for r in results.values()])
                         if first.harm_table is not None else np.nan),
        n_harm_unknown=sum(r.n_harm_unknown for r in results.values()),
        area_cells_m2=float(sum(r.area_cells_m2 for r in results.values())),
        crime_types=types, harm_table=first.harm_table, params=params, groups=groups)


def _group_name(site: Any, window: Any) -> str:
    return " / ".join(str(v) for v in (site, window) if v is not None)
