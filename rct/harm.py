"""Harm indices: weight each crime by how harmful it is.

Three bundled tables (files in ``rct/data/harm/``; sources and licences in
``rct/data/SOURCES.md``) and user tables, all used the same way::

    table = harm_table("cchi", force="Thames Valley")   # or "cchi-subgroup", "ons", "my.csv"
    weights, unknown = table.weigh(crimes)                # pd.Series float, pd.Series bool

Unknown offence codes or categories are never weighted 0: their weight is
NaN, they are flagged in ``unknown`` and listed, with counts, in an
:class:`rct.errors.UnknownOffenceWarning`.  Anti-social behaviour, which
police.uk publishes beside crimes, has no weight in any bundled table (it is
not a notifiable offence), so it is reported as unknown unless filtered out.

Weights are in days of imprisonment (sentencing-based indices): CCHI uses the
starting-point sentence for a first offender, the ONS Crime Severity Score
the average sentence actually handed down (custody days, with non-custodial
sentences converted to days).
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from rct.errors import DataError, UnknownOffenceWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "HarmTable",
    "harm_table",
    "HARM_TABLES",
    "CCHI_FORCES",
    "normalise_category",
    "normalise_offence_code",
    "crime_type_mask",
    "CRIME_TYPE_COLUMNS",
    "read_harm_csv",
]

#: Names of the bundled tables accepted by :func:`harm_table`.
HARM_TABLES: tuple[str, ...] = ("cchi", "cchi-subgroup", "ons")
#: Forces for which the police.uk-category CCHI table is bundled.
CCHI_FORCES: tuple[str, ...] = ("Thames Valley", "Essex", "Bedfordshire")

CCHI_CITATION = (
    "Sherman, L., Neyroud, P. W. & Neyroud, E. (2016). The Cambridge Crime Harm Index: "
    "Measuring Total Harm from Crime Based on Sentencing Guidelines. Policing 10(3):171-183; "
    "values from the Cambridge Centre for Evidence-Based Policing 2026 update."
)
ONS_CITATION = (
    "Office for National Statistics, Crime Severity Score weights (Open Government Licence "
    "v3.0); offence-to-police.uk category join from the Police-Supply-Demand project "
    "(Birks & Smith 2020-2021, MIT licence)."
)

Key = Literal["offence_code", "category", "subgroup"]
_SUBGROUP_COLUMNS = ("subgroup", "prc_subgroup", "offence_subgroup")
# a plausible Home Office code or code/subcode ("8N", "105A", "37.2", "56/1");
# excludes the spreadsheet-mangled serial numbers ("43831") in the ONS join table
_HO_CODE = re.compile(r"^\d{1,3}[A-Z]?(?:[./]\d{1,3})?$")


# --------------------------------------------------------------------------- normalisation
def normalise_category(values: pd.Series | str) -> pd.Series | str:
    """Case- and space-insensitive key for crime categories / subgroups.

    ``"Criminal Damage and Arson"`` and ``"criminal damage & arson "`` both
    become ``"criminal damage and arson"``.
    """
    import pandas as pd

    if isinstance(values, str):
        return normalise_category(pd.Series([values], dtype="object")).iloc[0]
    s = values.astype("string").str.strip().str.casefold()
    s = s.str.replace("&", " and ", regex=False).str.replace(r"\s+", " ", regex=True)
    return s.str.strip()


#: columns a crime type is matched against, in this order (police.uk category first)
CRIME_TYPE_COLUMNS: tuple[str, ...] = ("category", "offence_subgroup", "offence", "offence_code")


def crime_type_mask(crimes: pd.DataFrame, types: Any) -> Any:
    """Boolean mask of the crimes whose type is one of ``types``.

    A crime matches when its police.uk ``category``, Home Office
    ``offence_subgroup``, ``offence`` or ``offence_code`` equals one of the
    types (case-, space- and ``&``-insensitive), so the same trial file works
    for police.uk data and for force extracts.  Raises :class:`DataError`
    naming any type that matches no crime (with the types the data have).
    """
    import numpy as np

    from rct.errors import DataError

    wanted = [types] if isinstance(types, str) else list(types)
    keys = [normalise_category(str(w)) for w in wanted]
    cols = [c for c in CRIME_TYPE_COLUMNS if c in crimes.columns]
    if not cols:
        raise DataError("crime types need a 'category', 'offence_subgroup', 'offence' or "
                        f"'offence_code' column; the crimes have {list(crimes.columns)}",
                        column="category")
    mask = np.zeros(len(crimes), dtype=bool)
    hit = dict.fromkeys(keys, False)
    for c in cols:
        v = normalise_category(crimes[c].astype("string"))
        for k in keys:
            m = (v == k).fillna(False).to_numpy(dtype=bool)
            if m.any():
                hit[k] = True
                mask |= m
    missing = [w for w, k in zip(wanted, keys, strict=True) if not hit[k]]
    if missing:
        have = sorted(set(crimes[cols[0]].dropna().astype(str)))[:20]
        raise DataError(f"no crimes of type {missing}; the data's {cols[0]} values include "
                        f"{have}", column=cols[0], value=missing[0])
    return mask


def normalise_offence_code(values: pd.Series | str) -> pd.Series | str:
    """Canonical Home Office offence code: trimmed, upper case, no leading zeros.

    ``" 008n"`` -> ``"8N"``, ``"056/1"`` -> ``"56/1"``.
    """
    import pandas as pd

    if isinstance(values, str):
        return normalise_offence_code(pd.Series([values], dtype="object")).iloc[0]
    s = values.astype("string").str.strip().str.upper().str.replace(r"\s+", "", regex=True)
    return s.str.replace(r"^0+(?=\d)", "", regex=True)


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True, eq=False)
class HarmTable:
    """A harm index: weights by Home Office offence code, subgroup and/or category.

    Build one with :func:`harm_table`.  Lookups are by normalised key (see
    :func:`normalise_offence_code`, :func:`normalise_category`).

    Attributes
    ----------
    name
        ``"cchi"``, ``"cchi-subgroup"``, ``"ons"`` or the user file's path.
    by
        The table's primary key: ``"offence_code"``, ``"subgroup"`` or ``"category"``.
    code_weights, subgroup_weights, category_weights
        Normalised key -> weight (read-only mappings; empty when not available).
    labels
        Normalised key -> the spelling in the source file.
    source, citation
        One-line provenance and the reference to cite in reports.
    unit
        What a weight of 1 means (e.g. ``"days of imprisonment"``).
    notes
        How derived weights (category roll-ups) were computed.
    """

    name: str
    by: Key
    code_weights: Mapping[str, float]
    category_weights: Mapping[str, float]
    source: str
    citation: str
    subgroup_weights: Mapping[str, float] = field(default_factory=dict)
    code_aliases: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    unit: str = "days of imprisonment"
    notes: str = ""

    def __post_init__(self) -> None:
        for name in ("code_weights", "category_weights", "subgroup_weights", "code_aliases", "labels"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __repr__(self) -> str:
        return (
            f"HarmTable(name={self.name!r}, by={self.by!r}, codes={len(self.code_weights)}, "
            f"subgroups={len(self.subgroup_weights)}, categories={len(self.category_weights)})"
        )

    # ----------------------------------------------------------------- lookups
    def weight(self, *, offence_code: str | None = None, category: str | None = None,
               subgroup: str | None = None) -> float:
        """Weight of one offence (NaN when unknown); same precedence as :meth:`weigh`."""
        import pandas as pd

        row = {"offence_code": [offence_code], "category": [category], "subgroup": [subgroup]}
        w, _ = self.weigh(pd.DataFrame(row, dtype="object"), warn=False)
        return float(w.iloc[0])

    def weigh(self, crimes: pd.DataFrame, *, warn: bool = True) -> tuple[pd.Series, pd.Series]:
        """Harm weight of each crime.

        Parameters
        ----------
        crimes
            Needs ``offence_code`` (Home Office code), a subgroup column
            (``subgroup``/``prc_subgroup``/``offence_subgroup``) or ``category``
            (police.uk crime type), whichever the table is keyed by.
        warn
            Emit an :class:`~rct.errors.UnknownOffenceWarning` listing the
            unknown codes/categories with their counts.

        Returns
        -------
        weights : pd.Series of float
            Index of ``crimes``; NaN where the offence is unknown (never 0).
        unknown : pd.Series of bool
            True where no weight was found.

        Notes
        -----
        Precedence for each crime: its ``offence_code`` when the table has code
        weights and the code is not blank; else its subgroup when the table has
        subgroup weights and the crime has one; else its ``category``.  A code
        that is given but not in the table is unknown: it does *not* fall back
        to the category (a wrong code should be seen, not papered over).
        """
        import numpy as np
        import pandas as pd

        n = len(crimes)
        weights = np.full(n, np.nan)
        decided = np.zeros(n, dtype=bool)
        unknown_counts: dict[str, int] = {}
        used_any = False
        code_lookup = self._code_lookup

        def lookup_code(u: pd.Series) -> pd.Series:
            w = u.map(code_lookup)
            miss = w.isna() & u.notna()
            if miss.any():  # "37/2" written for "37.2"
                w[miss] = u[miss].str.replace("/", ".", regex=False).map(code_lookup)
            return w

        steps = []
        if self.code_weights and "offence_code" in crimes.columns:
            steps.append(("offence_code", normalise_offence_code, lookup_code))
        sub_col = next((c for c in _SUBGROUP_COLUMNS if c in crimes.columns), None)
        if self.subgroup_weights and sub_col is not None:
            sw = dict(self.subgroup_weights)
            steps.append((sub_col, normalise_category, lambda u, m=sw: u.map(m)))
        if self.category_weights and "category" in crimes.columns:
            cw = dict(self.category_weights)
            steps.append(("category", normalise_category, lambda u, m=cw: u.map(m)))

        for column, normalise, look in steps:
            used_any = True
            # work on the distinct values only: a million crimes have a few dozen offences
            codes, uniques = pd.factorize(crimes[column], use_na_sentinel=True)
            raw = pd.Series(uniques, dtype="object")
            norm = normalise(raw)
            usable_u = (norm.notna() & (norm != "")).to_numpy(dtype=bool)
            w_u = pd.to_numeric(look(norm), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            has = (codes >= 0) & ~decided
            has[has] = usable_u[codes[has]]
            if not has.any():
                continue
            weights[has] = w_u[codes[has]]
            decided |= has
            bad = np.bincount(codes[has], weights=np.isnan(w_u[codes[has]]).astype(float),
                              minlength=len(uniques))
            for j in np.flatnonzero(bad):
                unknown_counts[f"{column} {raw.iloc[j]!r}"] = int(bad[j])

        if not used_any and n:
            need = [k for k, v in (("offence_code", self.code_weights),
                                   ("subgroup", self.subgroup_weights),
                                   ("category", self.category_weights)) if v]
            raise DataError(
                f"harm table {self.name!r} needs a column {' or '.join(map(repr, need))}; "
                f"the crimes have {list(crimes.columns)}",
                column=need[0],
            )

        if (~decided).any():
            unknown_counts["no offence code or category"] = int((~decided).sum())
        unknown = pd.Series(np.isnan(weights), index=crimes.index, name="harm_unknown")
        if warn and unknown.any():
            counts = pd.Series(unknown_counts).sort_values(ascending=False, kind="mergesort")
            listed = ", ".join(f"{k} ({v:,})" for k, v in counts.head(20).items())
            more = f", and {len(counts) - 20} more" if len(counts) > 20 else ""
            warnings.warn(
                f"harm table {self.name!r}: {int(unknown.sum()):,} of {n:,} crimes have no "
                f"weight (harm NaN, not 0): {listed}{more}",
                UnknownOffenceWarning,
                stacklevel=2,
            )
        return pd.Series(weights, index=crimes.index, name="harm"), unknown

    @functools.cached_property
    def _code_lookup(self) -> dict[str, float]:
        out = {k: self.code_weights[v] for k, v in self.code_aliases.items()}
        out.update(self.code_weights)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Every weight as a table: ``key_type, key, label, weight``."""
        import pandas as pd

        rows = []
        for kind, mapping in (("offence_code", self.code_weights),
                              ("offence_code_alias", {k: self.code_weights[v]
                                                      for k, v in self.code_aliases.items()}),
                              ("subgroup", self.subgroup_weights),
                              ("category", self.category_weights)):
            for k, w in mapping.items():
                rows.append((kind, k, self.labels.get(k, k), float(w)))
        return pd.DataFrame(rows, columns=["key_type", "key", "label", "weight"])

    def to_dict(self) -> dict[str, object]:
        """Name, key, provenance and notes (for manifests and reports)."""
        return {"name": self.name, "by": self.by, "source": self.source,
                "citation": self.citation, "unit": self.unit, "notes": self.notes,
                "n_codes": len(self.code_weights), "n_subgroups": len(self.subgroup_weights),
                "n_categories": len(self.category_weights)}


# --------------------------------------------------------------------------- constructors
def harm_table(
    name_or_path: str | os.PathLike[str] | HarmTable,
    *,
    force: str = "Thames Valley",
    category_statistic: Literal["median", "mean"] = "median",
) -> HarmTable:
    """Load a bundled harm table or a user CSV.

    Parameters
    ----------
    name_or_path
        ``"cchi"``: Cambridge Crime Harm Index by police.uk category for
        ``force``; ``"cchi-subgroup"``: CCHI by Home Office offence subgroup
        (category fallback: national count-weighted mean); ``"ons"``: ONS Crime
        Severity Score by Home Office offence code (category fallback: see
        Notes); a path to a CSV with ``offence_code`` and/or ``category``,
        ``weight`` and optionally ``source``; or a :class:`HarmTable`
        (returned as is).
    force
        For ``"cchi"``: one of :data:`CCHI_FORCES` (case-insensitive).
    category_statistic
        For ``"ons"``: how offence weights are rolled up to police.uk categories.

    Notes
    -----
    ONS category weights are **count-free**: the ``category_statistic``
    (median by default) of the distinct offence weights (one per ONS severity
    code) that the join table maps to each police.uk category, each offence
    counting once however common it is.  No offence counts are bundled with the
    ONS table, so these are not the average harm of a crime in that category;
    e.g. the median for "Violence and sexual offences" (about 972 days) sits
    far above the harm of the common assaults that dominate the category.  Use
    them for ranking places only with that caveat; weigh per offence code
    where a force extract has codes.  The CCHI category table is instead
    count-weighted by each force's own 2024/25 offence mix (see SOURCES.md).

    ONS codes are keyed by ``ONS_COUNTS_code`` (``"1"``, ``"4.1"``, ...).
    The join table's ``POLICE_UK_CAT_MAP_code`` (e.g. ``"56/1"`` for 56A) is
    accepted as an alias where it looks like a Home Office code/subcode and
    maps to one weight; ``"x/y"`` is also tried as ``"x.y"``.

    Examples
    --------
    >>> harm_table("cchi", force="Essex").weight(category="Robbery")
    365.0
    """
    if isinstance(name_or_path, HarmTable):
        return name_or_path
    key = str(name_or_path).strip()
    lowered = key.lower()
    if lowered == "cchi":
        return _cchi_category(_match_force(force))
    if lowered == "cchi-subgroup":
        return _cchi_subgroup()
    if lowered == "ons":
        if category_statistic not in ("median", "mean"):
            raise ValueError(
                f"category_statistic must be one of ['median', 'mean'], got {category_statistic!r}"
            )
        return _ons(category_statistic)
    path = Path(os.fspath(name_or_path))
    if path.suffix.lower() in (".csv", ".txt", ".xlsx") or path.exists() or os.sep in key:
        return read_harm_csv(path)
    raise ValueError(
        f"unknown harm table {key!r}; use one of {list(HARM_TABLES)} or a path to a CSV file"
    )


def _match_force(force: str) -> str:
    for f in CCHI_FORCES:
        if normalise_category(f) == normalise_category(str(force)).removesuffix(" police"):
            return f
    raise ValueError(f"no CCHI category table for force {force!r}; valid forces: {list(CCHI_FORCES)}")


def _bundled(name: str) -> pd.DataFrame:
    import pandas as pd

    with resources.files("rct").joinpath("data", "harm", name).open("rb") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@functools.lru_cache(maxsize=8)
def _cchi_category(force: str) -> HarmTable:
    d = _bundled("cchi-police-uk-category-days.csv")
    d = d[d["force"] == force]
    keys = normalise_category(d["crime_type"])
    return HarmTable(
        name="cchi",
        by="category",
        code_weights={},
        category_weights=dict(zip(keys, d["cchi_days"].astype(float), strict=True)),
        labels=dict(zip(keys, d["crime_type"], strict=True)),
        source=f"Cambridge Crime Harm Index by police.uk category, {force} 2024/25 offence mix",
        citation=CCHI_CITATION,
        notes=(f"Category weights are CCHI subgroup weights averaged with {force}'s own "
               "2024/25 subgroup counts (bundled file cchi-police-uk-category-days.csv)."),
    )


@functools.lru_cache(maxsize=1)
def _cchi_subgroup() -> HarmTable:
    d = _bundled("cchi-subgroup-days.csv")
    w = d["cchi_days"].astype(float)
    n = d["national_count_2024_25"].astype(float)
    subs = normalise_category(d["prc_subgroup"])
    cats = normalise_category(d["category"])
    num = (w * n).groupby(cats.to_numpy()).sum()
    den = n.groupby(cats.to_numpy()).sum()
    cat_w = (num / den).to_dict()
    labels = dict(zip(subs, d["prc_subgroup"], strict=True))
    labels.update(dict(zip(cats, d["category"], strict=True)))
    return HarmTable(
        name="cchi-subgroup",
        by="subgroup",
        code_weights={},
        subgroup_weights=dict(zip(subs, w, strict=True)),
        category_weights=cat_w,
        labels=labels,
        source="Cambridge Crime Harm Index by Home Office offence subgroup (2026 update)",
        citation=CCHI_CITATION,
        notes=("Subgroup weights as published; category fallback = mean of subgroup weights "
               "weighted by national 2024/25 counts."),
    )


@functools.lru_cache(maxsize=2)
def _ons(statistic: str) -> HarmTable:
    d = _bundled("ons-crime-severity-weights.csv")
    w = d["ONS_SEVERITY_weight"].astype(float)
    codes = normalise_offence_code(d["ONS_COUNTS_code"])
    code_w = dict(zip(codes, w, strict=True))
    labels = dict(zip(codes, d["ONS_SEVERITY_offence"].str.strip(), strict=True))
    primary = dict(zip(codes, codes, strict=True))

    # aliases from the police.uk join column, only where unambiguous and plausible
    alias = normalise_offence_code(d["POLICE_UK_CAT_MAP_code"].replace("", None))
    aliases: dict[str, str] = {}
    for a, group in w.groupby(alias.to_numpy()):
        a = str(a)
        if a in primary or not _HO_CODE.match(a) or group.nunique() != 1:
            continue
        aliases[a] = codes[group.index[0]]

    # count-free roll-up to police.uk categories: one weight per ONS severity code
    per_offence = d.assign(w=w).drop_duplicates("ONS_SEVERITY_code")
    cats = normalise_category(per_offence["POLICE_UK_CAT_MAP_category"])
    cat_w = per_offence["w"].groupby(cats.to_numpy()).agg(statistic).to_dict()
    labels.update(dict(zip(cats, per_offence["POLICE_UK_CAT_MAP_category"], strict=True)))
    return HarmTable(
        name="ons",
        by="offence_code",
        code_weights=code_w,
        code_aliases=aliases,
        category_weights=cat_w,
        labels=labels,
        source="ONS Crime Severity Score weights by Home Office offence code",
        citation=ONS_CITATION,
        unit="days of imprisonment (ONS severity weight)",
        notes=(f"Category fallback = count-free {statistic} of the distinct offence weights "
               "(one per ONS severity code) mapped to each police.uk category; not count-weighted."),
    )


def read_harm_csv(path: str | os.PathLike[str]) -> HarmTable:
    """A user harm table: ``offence_code`` and/or ``category`` -> ``weight`` [+ ``source``].

    Rows with a non-blank ``offence_code`` give code weights, rows with only a
    ``category`` give category weights.  Weights must be finite and >= 0.
    Errors (:class:`~rct.errors.DataError`) name the file, row (1-based data
    row), column and value.
    """
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError("harm table file not found", file=path)
    from rct.io.delimited import read_csv_pandas

    if path.suffix.lower() == ".xlsx":  # an Excel sheet: its cells as text (one sheet)
        from rct.io.excel import read_sheet_frame

        d = read_sheet_frame(path).astype(str)
    else:
        # the shared CSV reader: any encoding; a malformed row is an error naming file and row
        d = read_csv_pandas(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    d.columns = [str(c).strip().lower() for c in d.columns]
    has_code, has_cat = "offence_code" in d.columns, "category" in d.columns
    if not (has_code or has_cat):
        raise DataError(
            f"harm table needs an 'offence_code' or 'category' column; found {list(d.columns)}",
            file=path, column="offence_code",
        )
    if "weight" not in d.columns:
        raise DataError(f"harm table needs a 'weight' column; found {list(d.columns)}",
                        file=path, column="weight")
    if d.empty:
        raise DataError("harm table has no rows", file=path)

    raw = d["weight"].str.strip()
    w = pd.to_numeric(raw, errors="coerce")
    bad = w.isna() | ~np.isfinite(w.fillna(0)) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError("weight must be a finite number >= 0", file=path, row=i + 1,
                        column="weight", value=d["weight"].iloc[i])

    code = normalise_offence_code(d["offence_code"]).fillna("") if has_code else pd.Series("", index=d.index)
    cat = normalise_category(d["category"]).fillna("") if has_cat else pd.Series("", index=d.index)
    blank = (code == "") & (cat == "")
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError("row has neither an offence_code nor a category", file=path,
                        row=i + 1, column="offence_code" if has_code else "category", value="")

    by_code = code != ""
    tables: dict[str, dict[str, float]] = {}
    labels: dict[str, str] = {}
    for kind, keys, mask, original in (
        ("offence_code", code, by_code, d["offence_code"] if has_code else None),
        ("category", cat, ~by_code, d["category"] if has_cat else None),
    ):
        k, ww = keys[mask], w[mask]
        dup = k.duplicated(keep=False)
        if dup.any():
            spread = ww[dup].groupby(k[dup]).nunique()
            conflict = spread[spread > 1]
            if len(conflict):
                key = conflict.index[0]
                i = int(np.flatnonzero(((keys == key) & mask).to_numpy())[1])
                raise DataError(f"{kind} {key!r} is given twice with different weights",
                                file=path, row=i + 1, column=kind, value=original.iloc[i])
        tables[kind] = dict(zip(k, ww.astype(float), strict=True))
        if original is not None:
            labels.update(dict(zip(k, original[mask].str.strip(), strict=True)))

    sources = sorted({s.strip() for s in d["source"] if s.strip()}) if "source" in d.columns else []
    source = "; ".join(sources) if sources else f"user harm table {path.name}"
    return HarmTable(
        name=str(path),
        by="offence_code" if tables["offence_code"] else "category",
        code_weights=tables["offence_code"],
        category_weights=tables["category"],
        labels=labels,
        source=source,
        citation=source,
        unit="user units",
        notes=f"read from {path}",
    )
