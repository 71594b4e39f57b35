"""Dosage: app patrol logs, Airwave radio presence, baseline activity and compliance.

Names are loaded on first use so that importing :mod:`rct.dosage` stays cheap.
"""

from __future__ import annotations

from rct._lazy import lazy_names

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # patrol logs
    "read_patrol_logs": "rct.dosage.patrol_logs",
    "hotspot_ids": "rct.dosage.patrol_logs",
    "patrol_dosage": "rct.dosage.patrols",
    "ingest_patrols": "rct.dosage.patrols",
    "PatrolIngest": "rct.dosage.patrols",
    "DOSAGE_COLUMNS": "rct.dosage.patrols",
    # Airwave radio presence (rct.dosage.airwave)
    "airwave_presence": "rct.dosage.airwave",
    "ingest_airwave": "rct.dosage.airwave",
    "AirwavePresence": "rct.dosage.airwave",
    "AirwaveOptions": "rct.dosage.airwave",
    "AIRWAVE_COLUMNS": "rct.dosage.airwave",
    # pseudonyms
    "Pseudonymiser": "rct.dosage.pseudonym",
    "load_or_create_key": "rct.dosage.pseudonym",
    "default_key_file": "rct.dosage.pseudonym",
    # interval union kernel
    "interval_union": "rct.dosage.intervals",
    "union_length": "rct.dosage.intervals",
    "IntervalUnion": "rct.dosage.intervals",
    # baseline, compliance and monitoring
    "hotspot_day_arms": "rct.dosage.baseline",
    "baseline_uplift": "rct.dosage.baseline",
    "Uplift": "rct.dosage.baseline",
    "compliance": "rct.dosage.compliance",
    "Compliance": "rct.dosage.compliance",
    "monitor": "rct.dosage.monitor",
    "monitor_trial": "rct.dosage.monitor",
    "MonitorReport": "rct.dosage.monitor",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
