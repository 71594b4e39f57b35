"""Ingest: the trial's data in, one table per stage, ready for the plan's estimators.

The flow is plan → ingest → estimate → report. Ingest turns a force's files
into the tables the analysis plan reads:

* outcomes — crimes (and harm) per hot spot and trial day or month, with
  displacement catchments: :func:`build_outcomes`, :func:`ingest_crimes`
  (``rct ingest crimes``; :mod:`rct.ingest.outcomes`);
* dosage — patrol-app visits and Airwave radio presence per hot spot and day,
  over baseline activity: :func:`ingest_patrols` (``rct ingest patrols``) and
  :func:`ingest_airwave` (``rct ingest airwave``), which live in
  :mod:`rct.dosage` beside compliance and monitoring.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_outcomes", "ingest_crimes", "ingest_patrols", "ingest_airwave"]

_WHERE = {
    "build_outcomes": "rct.ingest.outcomes",
    "ingest_crimes": "rct.ingest.outcomes",
    "ingest_patrols": "rct.dosage",
    "ingest_airwave": "rct.dosage",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rct.ingest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
