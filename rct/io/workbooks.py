"""The Excel workbooks rct writes on request (``--xlsx``): what each holds, sheet by sheet.

The canonical outputs stay CSV / Parquet with their manifests (what
``rct monitor``, ``rct evaluate`` and ``rct randomise verify`` read back);
a workbook is the same tables for people who live in Excel, written beside
them by :func:`rct.io.excel.write_workbook` (formula-leading cells
neutralised, atomic).

* :func:`dosage_workbook` -- ``rct ingest patrols|airwave|crimes --xlsx``:
  the per-hot-spot-day table;
* :func:`results_workbook` -- ``rct evaluate --xlsx``: the headline, the
  tidy results;
* :func:`monitor_workbook` -- ``rct monitor --xlsx``: the weekly
  monitoring tables, one sheet each;
* :func:`tasking_workbook` -- ``rct randomise crossover --tasking
  tasking.xlsx``: the daily tasking list, and the schedule (one row per hot
  spot and day).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["dosage_workbook", "results_workbook", "monitor_workbook", "tasking_workbook"]


def _frame(table: Any) -> Any:
    """A table (DataFrame, or a CSV/Parquet file rct wrote) as a DataFrame."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table
    from rct.io.tables import read_table

    return read_table(table, key=None)


def dosage_workbook(table: Any, path: str | os.PathLike[str], *, sheet: str = "dosage",
                    force: bool = True) -> Path:
    """One sheet: the dosage (or presence, or outcomes) table."""
    from rct.io.excel import write_workbook

    return write_workbook(path, {sheet: _frame(table)}, force=force)


def results_workbook(results: Any, path: str | os.PathLike[str], *, summary: str | None = None,
                     force: bool = True) -> Path:
    """``summary`` (the headline lines, one per row) and ``results`` (the tidy table)."""
    import pandas as pd

    from rct.io.excel import write_workbook

    sheets: dict[str, Any] = {}
    if summary:
        sheets["summary"] = pd.DataFrame({"summary": [ln for ln in summary.splitlines()]})
    sheets["results"] = _frame(results)
    return write_workbook(path, sheets, force=force)


def monitor_workbook(tables: Mapping[str, Any], path: str | os.PathLike[str], *,
                     force: bool = True) -> Path:
    """One sheet per monitoring table (``weekly``, ``compliance``, ``hotspots``, ...).

    ``tables`` maps a name to a DataFrame or a CSV/Parquet file; JSON files
    are left out (they hold the same numbers as the tables).
    """
    from rct.io.excel import write_workbook

    sheets = {}
    for name, t in tables.items():
        if isinstance(t, str | os.PathLike) and Path(t).suffix.lower() not in (
                ".csv", ".parquet", ".pq"):
            continue
        sheets[str(name)] = _frame(t)
    order = ["weekly", "compliance", "hotspots", "uplift", "sequential", "feedback"]
    ranked = dict(sorted(sheets.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0])))
    return write_workbook(path, ranked, force=force)


def tasking_workbook(tasking: Any, path: str | os.PathLike[str], *, schedule: Any = None,
                     force: bool = True) -> Path:
    """``tasking`` (one row per trial day, the tasked hot spots) [+ ``schedule``]."""
    from rct.io.excel import write_workbook

    sheets = {"tasking": _frame(tasking)}
    if schedule is not None:
        sheets["schedule"] = _frame(schedule)
    return write_workbook(path, sheets, force=force)
