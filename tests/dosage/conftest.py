"""A patrol-log generator with known truth.

Presence is built block by block: each block is a stretch of whole minutes
at one hot spot, covered by one patrol, by two officers together (one
patrol inside the other) or by two patrols in a chain (overlapping or
touching).  The union of a block's patrols is the block by construction, so
the true presence minutes are the sum of the block lengths: no interval
algorithm is involved in the truth.  Blocks sit in separate hour slots
between 07:00 and 23:00 local time (clear of both clock changes); "night"
patrols cross the 06:00 boundary with known minutes either side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

KEY = b"test-key-0123456789abcdef"
HOTSPOTS = tuple(f"HS{i:02d}" for i in range(1, 7))
# a week around each clock change of 2024, plus ordinary days
DATES = tuple(pd.date_range("2024-03-27", "2024-04-02").date) + tuple(
    pd.date_range("2024-10-24", "2024-10-29").date
)
OFFICERS = tuple(f"PC{n}" for n in (1001, 1002, 1003, 2044, 2187, 3310, 4821, 5009))
TRUTH_COLUMNS = [
    "hotspot_id",
    "trial_date",
    "visits",
    "presence_minutes",
    "officer_minutes",
    "foot_minutes",
    "vehicle_minutes",
    "stops",
    "officers",
    "visits_lt5",
    "visits_10_15",
    "presence_periods",
]


@dataclass(frozen=True)
class Simulated:
    logs: pd.DataFrame  # raw rows, naive local time strings
    truth: pd.DataFrame  # per hotspot_id, trial_date (every pair of HOTSPOTS x dates)
    dates: tuple[dt.date, ...]
    hotspots: tuple[str, ...]


def _fmt(day: dt.date, minutes_after_midnight: int) -> str:
    t = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=int(minutes_after_midnight))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def simulate_patrols(
    seed: int,
    *,
    hotspots: tuple[str, ...] = HOTSPOTS,
    dates: tuple[dt.date, ...] = DATES,
    night_share: float = 0.3,
) -> Simulated:
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    acc: dict[tuple[str, dt.date], dict] = {}
    date_set = set(dates)

    def cell(h: str, d: dt.date) -> dict:
        return acc.setdefault(
            (h, d),
            {
                "visits": 0,
                "presence_minutes": 0.0,
                "officer_minutes": 0.0,
                "foot_minutes": 0.0,
                "vehicle_minutes": 0.0,
                "stops": 0,
                "officers": set(),
                "visits_lt5": 0,
                "visits_10_15": 0,
                "presence_periods": 0,
            },
        )

    def patrol(h: str, day: dt.date, a: int, b: int, officer: str, start_day: dt.date) -> None:
        """A patrol from a to b minutes after midnight of ``day`` (local)."""
        mode = ("foot", "vehicle", "Foot", "car", "")[rng.integers(0, 5)]
        stopped_value, stops = (("yes", 1), ("no", 0), ("2", 2), ("", 0), ("0", 0))[
            rng.integers(0, 5)
        ]
        rows.append(
            {
                "patrol_id": f"P{len(rows) + 1:05d}",
                "officer_id": officer,
                "hotspot_id": h,
                "arrived_at": _fmt(day, a),
                "left_at": _fmt(day, b),
                "mode": mode,
                "stopped": stopped_value,
                "notes": f"saw {officer} at {h}",
            }
        )
        c = cell(h, start_day)
        c["visits"] += 1
        c["stops"] += stops
        length = b - a
        c["visits_lt5"] += length < 5
        c["visits_10_15"] += 10 <= length <= 15
        return mode.lower()

    for h in hotspots:
        for d in dates:
            n_blocks = int(rng.integers(0, 4))
            for slot in np.sort(rng.choice(16, size=n_blocks, replace=False)):
                a = 7 * 60 + int(slot) * 60 + int(rng.integers(0, 10))
                length = int(rng.integers(1, 50))
                kind = int(rng.integers(0, 3))
                o1, o2 = rng.choice(len(OFFICERS), size=2, replace=False)
                o1, o2 = OFFICERS[o1], OFFICERS[o2]
                if kind == 0 or length < 3:
                    pieces = [(a, a + length, o1)]
                elif kind == 1:  # two officers together: the second inside the first
                    x = int(rng.integers(0, length - 1))
                    y = int(rng.integers(x + 1, length + 1))
                    pieces = [(a, a + length, o1), (a + x, a + y, o2)]
                else:  # a chain, overlapping or touching: [0, m) and [k, L) with k <= m
                    m = int(rng.integers(1, length))
                    k = int(rng.integers(0, m + 1))
                    pieces = [(a, a + m, o1), (a + k, a + length, o2)]
                c = cell(h, d)
                c["presence_minutes"] += length
                c["presence_periods"] += 1
                for lo, hi, off in pieces:
                    mode = patrol(h, d, lo, hi, off, d)
                    c["officer_minutes"] += hi - lo
                    c["foot_minutes"] += (hi - lo) * (mode == "foot")
                    c["vehicle_minutes"] += (hi - lo) * (mode in ("vehicle", "car"))
                    c["officers"].add(off)
            nxt = d + dt.timedelta(days=1)
            if nxt in date_set and rng.random() < night_share:
                # crosses 06:00 of the next morning: x minutes on d, y on the next day
                x, y = int(rng.integers(1, 40)), int(rng.integers(1, 40))
                off = OFFICERS[int(rng.integers(0, len(OFFICERS)))]
                mode = patrol(h, nxt, 6 * 60 - x, 6 * 60 + y, off, d)
                for day, mins in ((d, x), (nxt, y)):
                    c = cell(h, day)
                    c["presence_minutes"] += mins
                    c["presence_periods"] += 1
                    c["officer_minutes"] += mins
                    c["foot_minutes"] += mins * (mode == "foot")
                    c["vehicle_minutes"] += mins * (mode in ("vehicle", "car"))
                    c["officers"].add(off)

    records = []
    for h in sorted(hotspots):
        for d in sorted(dates):
            c = cell(h, d)
            rec = {"hotspot_id": h, "trial_date": d, **c}
            rec["officers"] = len(c["officers"])
            records.append(rec)
    truth = pd.DataFrame.from_records(records)[TRUTH_COLUMNS]
    for col in ("presence_minutes", "officer_minutes", "foot_minutes", "vehicle_minutes"):
        truth[col] = truth[col].astype(np.float64)
    for col in ("visits", "stops", "officers", "visits_lt5", "visits_10_15", "presence_periods"):
        truth[col] = truth[col].astype(np.int64)
    truth["hotspot_id"] = truth["hotspot_id"].astype(object)
    logs = pd.DataFrame(rows)
    # shuffle: the input order must not matter
    logs = logs.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)
    return Simulated(logs=logs, truth=truth, dates=tuple(dates), hotspots=tuple(hotspots))


@pytest.fixture(autouse=True)
def _no_user_key(monkeypatch, tmp_path_factory):
    """Keep tests away from the user's key: env unset, XDG config in a temp dir."""
    monkeypatch.delenv("RCT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture(scope="session")
def simulated() -> Simulated:
    return simulate_patrols(20240331)


@pytest.fixture(scope="session")
def simulate():
    """The generator itself: ``simulate(seed, hotspots=..., dates=..., night_share=...)``."""
    return simulate_patrols


@pytest.fixture(scope="session")
def key() -> bytes:
    return KEY


@pytest.fixture(scope="session")
def officers() -> tuple[str, ...]:
    return OFFICERS
