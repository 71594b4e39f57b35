"""Quarantine: rows that cannot be used, kept with a reason so counts reconcile.

Readers return a :class:`ReadResult`: the accepted rows, the quarantined rows
(original values plus ``source_file``, ``source_row`` and ``reason``), and
the number of rows read.  ``n_read == len(data) + len(quarantine)`` always.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rct.errors import QuarantineWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ReadResult",
    "Quarantiner",
    "quarantine_path",
    "MAX_QUARANTINED",
    "check_share",
    "enforce_share",
]


@dataclass(frozen=True)
class ReadResult:
    """Accepted rows, quarantined rows and the count read."""

    data: pd.DataFrame
    quarantine: pd.DataFrame
    n_read: int
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.n_read != len(self.data) + len(self.quarantine):
            raise AssertionError(  # a bug in the reader, never user error
                f"counts do not reconcile for {self.source}: read {self.n_read}, "
                f"accepted {len(self.data)}, quarantined {len(self.quarantine)}"
            )

    @property
    def n_accepted(self) -> int:
        return len(self.data)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantine)

    def reasons(self) -> pd.Series:
        """Quarantined rows counted by reason."""
        return self.quarantine["reason"].value_counts()

    def summary(self) -> str:
        """One line: ``read N = accepted A + quarantined Q (reason: n, ...)``."""
        line = (
            f"{self.source or 'input'}: read {self.n_read:,} = accepted {self.n_accepted:,}"
            f" + quarantined {self.n_quarantined:,}"
        )
        if self.n_quarantined:
            parts = ", ".join(f"{r}: {n:,}" for r, n in self.reasons().items())
            line += f" ({parts})"
        return line

    def warn(self) -> None:
        """Emit a :class:`QuarantineWarning` if anything was quarantined."""
        if self.n_quarantined:
            warnings.warn(self.summary(), QuarantineWarning, stacklevel=2)


class Quarantiner:
    """Collect bad rows of one frame, each with the first reason found.

    Examples
    --------
    >>> q = Quarantiner(df, source="crimes.csv")
    >>> q.flag(df["x"].isna(), "missing coordinates")
    >>> result = q.result(clean_df)   # clean_df: the surviving rows, transformed
    """

    def __init__(self, frame: pd.DataFrame, *, source: str | os.PathLike[str] = "") -> None:
        import numpy as np
        import pandas as pd

        self._frame = frame
        self.source = str(source)
        self._reason = pd.Series(pd.NA, index=frame.index, dtype="object")
        self._np = np

    def flag(self, mask: pd.Series, reason: str) -> None:
        """Quarantine rows where ``mask`` is true (first reason wins)."""
        mask = mask.fillna(False).astype(bool).reindex(self._frame.index, fill_value=False)
        new = mask & self._reason.isna()
        self._reason[new] = reason

    @property
    def bad(self) -> pd.Series:
        return self._reason.notna()

    @property
    def good(self) -> pd.Series:
        return self._reason.isna()

    def result(self, data: pd.DataFrame, *, n_read: int | None = None) -> ReadResult:
        """Build the :class:`ReadResult`; ``data`` holds the accepted rows."""
        bad = self.bad
        quarantined = self._frame.loc[bad].copy()
        quarantined.insert(0, "reason", self._reason[bad].astype(str))
        if "source_row" not in quarantined.columns:
            # 1-based data row numbers: the header is row 0 in a CSV
            quarantined.insert(0, "source_row", self._frame.index[bad.to_numpy()] + 1)
        if "source_file" not in quarantined.columns:
            quarantined.insert(0, "source_file", self.source)
        return ReadResult(
            data=data,
            quarantine=quarantined.reset_index(drop=True),
            n_read=len(self._frame) if n_read is None else n_read,
            source=self.source,
        )


def quarantine_path(output: str | os.PathLike[str]) -> Path:
    """``outcomes.parquet`` -> ``outcomes.quarantine.csv`` beside it."""
    out = Path(output)
    return out.with_name(f"{out.stem}.quarantine.csv")


#: default largest share of input rows a run may quarantine and still write its outputs
MAX_QUARANTINED = 0.5


def check_share(limit: float, *, name: str = "max_quarantined") -> float:
    """Validate a quarantine share limit (a number in [0, 1])."""
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or not (
        0 <= limit <= 1
    ):
        raise ValueError(f"{name} must be a share between 0 and 1; got {limit!r}")
    return float(limit)


def enforce_share(
    n_read: int,
    n_quarantined: int,
    reasons: dict[str, int] | pd.Series,
    *,
    limit: float,
    source: object = "input",
    what: str = "rows",
    option: str = "--max-quarantined",
) -> None:
    """Stop a run that quarantined more than ``limit`` of its rows (nothing is written).

    Raises
    ------
    QuarantineLimitError
        Naming the share, the limit, the top three reasons and how to accept.
    """
    from rct.errors import QuarantineLimitError

    limit = check_share(limit)
    if n_read <= 0 or n_quarantined / n_read <= limit:
        return
    counts = {str(k): int(v) for k, v in dict(reasons).items()}
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    shown = "; ".join(f"{r} ({n:,})" for r, n in top)
    share = n_quarantined / n_read
    raise QuarantineLimitError(
        f"quarantined {n_quarantined:,} of {n_read:,} {what} ({share:.0%}), more than the "
        f"{limit:.0%} allowed: nothing written. Top reasons: {shown}. Check the file's "
        f"format and columns, or pass {option} {min(1.0, math.ceil(share * 100) / 100):g} "
        "to accept this run",
        file=source,
        reasons=dict(top),
    )
