"""Design, monitoring and evaluation reports: one self-contained HTML file each.

>>> from rct.reports import design_report, monitor_report, evaluation_report
>>> evaluation_report("trial.toml").write("evaluation.html")   # doctest: +SKIP

The builders are imported lazily so that ``import rct.reports`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "design_report": "rct.reports.design",
    "monitor_report": "rct.reports.monitor",
    "evaluation_report": "rct.reports.evaluation",
    "Report": "rct.reports.sections",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rct.reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
