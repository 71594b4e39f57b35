"""Reading the tables rct writes (dosage, presence, outcomes, allocations) back in.

:func:`read_table` is what ``rct monitor``, ``rct evaluate`` and the reports
use to read a stage's output:

* an interrupted commit is completed and the output is checked against its
  manifest (:func:`rct.io.atomic.verify_unit`): a table beside a quarantine
  file from another run, or edited by hand, is refused;
* a corrupt Parquet file, an empty or malformed CSV (wrong number of fields,
  a column named twice, any encoding) is a :class:`~rct.errors.DataError`
  naming the file (and row);
* cells neutralised against formula injection are restored;
* a key repeated (two rows for one hot spot and day) is refused, naming
  the key and both rows -- the tables hold one row per key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["read_table", "table_key", "check_unique_key"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt")


def table_key(columns: Sequence[object]) -> list[str]:
    """The key of an rct table from its columns: ``hotspot_id`` [+ ``trial_date`` | ``period``]."""
    cols = [str(c) for c in columns]
    if "hotspot_id" not in cols:
        return []
    if "trial_date" in cols:
        return ["hotspot_id", "trial_date"]
    if "period" in cols:
        return ["hotspot_id", "period"]
    return ["hotspot_id"]


def check_unique_key(df: pd.DataFrame, key: Sequence[str], *, file: object = None) -> None:
    """Refuse repeated keys, naming the key values and the two (1-based) rows."""
    if not key:
        return
    dup = df.duplicated(subset=list(key), keep=False)
    if not dup.any():
        return
    first = df.loc[dup, list(key)].iloc[0]
    same = (df[list(key)] == first.to_numpy()).all(axis=1).to_numpy().nonzero()[0]
    n = int(df.duplicated(subset=list(key), keep="first").sum())
    where = ", ".join(f"{k}={first[k]!s}" for k in key)
    raise DataError(
        f"{n} row(s) repeat a key: {where} is in rows {same[0] + 1} and {same[1] + 1}; the "
        f"table must hold one row per {' and '.join(key)}",
        file=file,
    )


def read_table(
    path: str | os.PathLike[str],
    *,
    dtype: Any = None,
    key: Sequence[str] | str | None = "auto",
    verify: bool = True,
) -> pd.DataFrame:
    """Read a CSV or Parquet table that an rct stage wrote.

    Parameters
    ----------
    path
        The table.
    dtype
        Passed to :func:`pandas.read_csv` (e.g. ``{"hotspot_id": str}``).
    key
        Columns that must be unique together; ``"auto"`` (default): from
        :func:`table_key`; ``None``: no check.
    verify
        Check the output against ``<path>.manifest.json`` when there is one.

    Raises
    ------
    DataError
        Missing, unreadable or malformed file; repeated keys.
    InconsistentOutputError
        The output does not match its manifest.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=p)
    if p.is_dir():
        raise DataError("is a folder, not a table", file=p)
    if verify:
        from rct.io.atomic import verify_unit

        verify_unit(p)
    suffix = p.suffix.lower()
    if suffix in _PARQUET:
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise DataError(
                f"not a readable Parquet file ({type(exc).__name__}: {_first_line(exc)})", file=p
            ) from None
    elif suffix in _CSV:
        df = _read_csv(p, dtype)
    else:
        raise DataError(f"unknown table format {suffix!r}; use .csv or .parquet", file=p)
    df.columns = [str(c) for c in df.columns]
    if key == "auto":
        key = table_key(df.columns)
    if key:
        check_unique_key(df, list(key), file=p)
    return df


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _read_csv(p: Path, dtype: Any) -> pd.DataFrame:
    from rct.io.delimited import read_csv_pandas
    from rct.io.safety import restore_frame

    return restore_frame(read_csv_pandas(p, dtype=dtype))
