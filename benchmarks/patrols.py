"""Patrol logs -> per-hot-spot-day dosage: how fast, against the strongest pandas way.

A force-wide year: 300 hot spots x 365 trial days, ``--patrols`` patrol rows
(default 1,000,000) of 1-60 minutes, many overlapping (two officers
together), some crossing the 06:00 boundary, ISO 8601 times with offsets.

Figures (one JSON line each):

* ``ingest``: read + validate + pseudonymise + split at the day boundary +
  union + aggregate, from an in-memory frame of strings (what
  :func:`rct.dosage.patrols.ingest_patrols` does, without writing).
  Goal: 1 million patrols in under 20 s on this machine.
* ``union``: the presence (union of intervals) per hot-spot-day only,
  :func:`rct.dosage.intervals.interval_union` against the peer a competent
  analyst would write: vectorised pandas (sort by group and start, ``cummax``
  of the ends per group, new-block flags, new coverage summed), on the same
  pieces, CPU seconds best of 3 each in the same run.  Both must agree
  exactly.  (An earlier version compared against ``groupby.apply`` with a
  Python loop and reported 60x; against this peer the honest figure is about
  1x: it is the same algorithm.)

The machine has 2 cores shared with other work: times are noisy.

    .venv/bin/python benchmarks/patrols.py [--patrols 1000000] [--peer-patrols N]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from rct.dosage.intervals import interval_union
from rct.dosage.patrols import ingest_patrols

KEY = b"benchmark-key-0123456789abcdef"


def make_logs(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hot = np.array([f"HS{i:03d}" for i in range(300)])
    t0 = pd.Timestamp("2024-04-01 06:00", tz="Europe/London").tz_convert("UTC")
    minute = rng.integers(0, 365 * 24 * 60, n)
    length = rng.integers(1, 61, n)
    # every third patrol is a second officer joining the one before
    lead = np.arange(n)
    joins = rng.random(n) < 1 / 3
    lead[joins] = np.maximum(lead[joins] - 1, 0)
    minute[joins] = minute[lead[joins]] + rng.integers(0, 10, int(joins.sum()))
    start = pd.Series(t0 + pd.to_timedelta(minute, unit="min"))
    end = pd.Series(t0 + pd.to_timedelta(minute + length, unit="min"))
    hs = hot[rng.integers(0, 300, n)]
    hs[joins] = hs[lead[joins]]
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return pd.DataFrame(
        {
            "patrol_id": np.char.add("P", np.arange(n).astype(str)),
            "officer_id": np.char.add("PC", rng.integers(1000, 3000, n).astype(str)),
            "hotspot_id": hs,
            "arrived_at": start.dt.strftime(fmt),
            "left_at": end.dt.strftime(fmt),
            "mode": np.where(rng.random(n) < 0.6, "foot", "vehicle"),
            "stopped": np.where(rng.random(n) < 0.1, "yes", "no"),
        }
    )


def peer_union(pieces: pd.DataFrame) -> pd.Series:
    """The strongest plain-pandas way: sort by (group, start), running maximum of the ends
    within each group (``cummax``), a new block where a start passes it, and each
    interval's new coverage ``max(0, e - max(s, previous reach))`` summed per group."""
    d = pieces.sort_values(["g", "s"], kind="stable")
    reach = d.groupby("g", sort=False)["e"].cummax()
    prev = reach.groupby(d["g"], sort=False).shift()  # reach before this interval (NaN: first)
    low = np.maximum(d["s"].to_numpy(), prev.fillna(d["s"]).to_numpy().astype(np.int64))
    cover = np.maximum(d["e"].to_numpy() - low, 0)
    return pd.Series(cover, index=d.index).groupby(d["g"].to_numpy()).sum()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patrols", type=int, default=1_000_000)
    ap.add_argument("--peer-patrols", type=int, default=None,
                    help="patrols in the union comparison (default: all)")
    args = ap.parse_args()

    logs = make_logs(args.patrols)
    hot = sorted(set(logs["hotspot_id"]))
    warnings.simplefilter("ignore")  # 3 generated patrols fall outside the year: quarantined
    t, cpu = time.perf_counter(), time.process_time()
    r = ingest_patrols(
        logs, hotspots=hot, key=KEY, trial_start="2024-04-01", trial_end="2025-03-31"
    )
    took, took_cpu = time.perf_counter() - t, time.process_time() - cpu
    print(
        json.dumps(
            {
                "benchmark": "patrols.ingest",
                "patrols": args.patrols,
                "hotspot_days": len(r.dosage),
                "seconds": round(took, 3),
                "cpu_seconds": round(took_cpu, 3),
                "patrols_per_s": round(args.patrols / took),
                "goal": "1e6 patrols < 20 s (CPU time: the machine is shared)",
                "met": bool(took_cpu * 1e6 / args.patrols < 20),
            }
        )
    )

    # the union kernel against the peer, on the same pieces
    sub = logs.iloc[: args.peer_patrols or args.patrols]
    s, e = (
        pd.to_datetime(sub[c], utc=True)
        .dt.tz_localize(None)
        .to_numpy()
        .astype("datetime64[s]")
        .astype(np.int64)
        for c in ("arrived_at", "left_at")
    )
    day = (s - 6 * 3600) // 86400  # UTC-day proxy: the kernel cost does not depend on it
    g = pd.factorize(pd.Series(sub["hotspot_id"].to_numpy()) + "|" + pd.Series(day).astype(str))[0]
    ours_runs, peer_runs = [], []
    for _ in range(3):  # best of 3 each, interleaved (the machine is shared)
        t = time.process_time()
        ours = interval_union(g, s, e).length
        ours_runs.append(time.process_time() - t)
        t = time.process_time()
        theirs = peer_union(pd.DataFrame({"g": g, "s": s, "e": e}))
        peer_runs.append(time.process_time() - t)
    t_ours, t_peer = min(ours_runs), min(peer_runs)
    agree = bool(np.array_equal(ours[theirs.index.to_numpy()], theirs.to_numpy()))
    print(
        json.dumps(
            {
                "benchmark": "patrols.union",
                "patrols": len(sub),
                "groups": int(g.max()) + 1,
                "cpu_seconds": round(t_ours, 4),
                "peer": "vectorised pandas: sort, groupby cummax, new-block flags",
                "peer_cpu_seconds": round(t_peer, 4),
                "ratio": round(t_ours / t_peer, 2),
                "agree": agree,
                "note": "ratio = rct CPU / peer CPU, best of 3 each in the same run; "
                "rct's union is the same algorithm (it exists to be exact in int64 and "
                "shared by every dosage source), so about 1x is the honest result",
            }
        )
    )
    print(json.dumps({"row": {
        "benchmark": f"patrols union, {len(sub):,} patrols (CPU)", "rct_s": t_ours,
        "peer": "vectorised pandas cummax (CPU)", "peer_s": t_peer,
        "note": "identical" if agree else "RESULTS DIFFER"}}))
    print(json.dumps({"row": {
        "benchmark": f"patrols ingest, {args.patrols:,} patrols (CPU)", "rct_s": took_cpu,
        "peer": "-", "peer_s": None}}))
    return {"ingest_cpu": took_cpu, "union_cpu": t_ours, "peer_cpu": t_peer, "agree": agree}


if __name__ == "__main__":
    main()
