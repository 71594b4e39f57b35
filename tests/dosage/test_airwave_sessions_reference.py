"""Airwave sessionising (numpy) against a plain-Python reading of the definitions.

The definitions are in the Notes of :func:`rct.dosage.airwave.airwave_presence`:
visits cut at gaps > gap, occupying [first ping, last ping + tail), split at
trial-day boundaries (Europe/London ``day_starts``, so 23/25-hour days), per
hot spot and trial day: pings, distinct radios, visit pieces, union and sum of
the pieces' minutes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rct.dosage.airwave import AirwaveOptions
from rct.dosage.airwave_sessions import day_boundaries, presence_table

NS_MIN = 60_000_000_000


def _reference(hot, radio, t, ids, opts):
    dates, bounds = day_boundaries(int(t.min()), int(t.max()) + opts.tail_ns, opts.day_starts)
    day = lambda v: int(np.searchsorted(bounds, v, side="right") - 1)  # noqa: E731
    cells: dict = {}

    def cell(h, d):
        return cells.setdefault((h, d), {"pings": 0, "radios": set(), "pieces": []})

    for h, r in sorted(set(zip(hot.tolist(), radio.tolist(), strict=True))):
        ts = sorted(t[(hot == h) & (radio == r)].tolist())
        for v in ts:
            cell(h, day(v))["pings"] += 1
        visits, cur = [], [ts[0]]
        for v in ts[1:]:
            if v - cur[-1] > opts.gap_ns:
                visits.append(cur)
                cur = [v]
            else:
                cur.append(v)
        visits.append(cur)
        for vis in visits:
            start, last = vis[0], vis[-1]
            end = last + opts.tail_ns
            stop = end - 1 if end > last else last
            for d in range(day(start), day(stop) + 1):
                a = max(start, int(bounds[d]))
                b = max(min(end, int(bounds[d + 1])), a)
                c = cell(h, d)
                c["radios"].add(r)
                c["pieces"].append((a, b))
    rows = []
    for (h, d), c in sorted(cells.items()):
        if not c["pieces"]:
            continue
        union, reach = 0, None
        for a, b in sorted(c["pieces"]):
            lo = a if reach is None else max(a, reach)
            union += max(0, b - lo)
            reach = b if reach is None else max(reach, b)
        rows.append({
            "hotspot_id": ids[h], "trial_date": dates[d], "pings": c["pings"],
            "radios": len(c["radios"]), "presence_minutes": union / NS_MIN,
            "radio_minutes": sum(b - a for a, b in c["pieces"]) / NS_MIN,
            "visits": len(c["pieces"]),
        })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(8))
def test_presence_table_matches_the_definitions(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 600))
    n_hot, n_radio = int(rng.integers(1, 6)), int(rng.integers(1, 8))
    hot = rng.integers(0, n_hot, n).astype(np.int32)
    radio = rng.integers(0, 2**40, n_radio)[rng.integers(0, n_radio, n)]
    t0 = np.int64(1_711_846_800) * 10**9  # 2024-03-31 01:00 UTC: the spring clock change
    t = t0 + rng.integers(0, 3 * 86400, n) * 10**9
    if seed % 2:
        t = np.sort(t)  # files in time order (the usual case), or not
    if seed % 3 == 0:
        t = t // (10 * NS_MIN) * (10 * NS_MIN)  # repeated times
    opts = AirwaveOptions(
        gap_minutes=[0.0, 5.0, 30.0, 240.0][seed % 4],
        tail_seconds=[0.0, 3600.0, 30.0][seed % 3],  # a tail longer than the gap: seeds 1, 4, 7
        day_starts=["06:00", "00:00", "23:30"][seed % 3],
    )
    ids = np.array([f"H{i}" for i in range(n_hot)], dtype=object)
    got = presence_table(hot, radio, t, ids, opts)
    want = _reference(hot, radio, t, ids, opts)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want, check_dtype=False, check_exact=False, rtol=1e-12
    )
