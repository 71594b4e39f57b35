"""Design, monitoring and evaluation reports: one self-contained HTML file each.

>>> from rct.reports import design_report, monitor_report, evaluation_report
>>> evaluation_report("trial.toml").write("evaluation.html")   # doctest: +SKIP

The builders are imported lazily so that ``import rct.reports`` stays cheap.
"""

from __future__ import annotations

from rct._lazy import lazy_names

_LAZY = {
    "design_report": "rct.reports.design",
    "monitor_report": "rct.reports.monitor",
    "evaluation_report": "rct.reports.evaluation",
    "Report": "rct.reports.sections",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
