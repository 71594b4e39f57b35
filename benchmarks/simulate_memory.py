"""`rct simulate` at force scale: peak memory and time (issue goal: 300 x 365 under 1.5 GB).

Runs ``rct simulate --hotspots H --days D`` in a child process and reads the
child's peak resident set size (``getrusage(RUSAGE_CHILDREN)``), printing one
JSON line.  The peer is the size of what it writes (the files are the
product; memory beyond a small multiple of them is waste).

    .venv/bin/python benchmarks/simulate_memory.py [--hotspots 300] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hotspots", type=int, default=300)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sim"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from rct.cli import entry; entry()", "simulate",
                        "--hotspots", str(args.hotspots), "--days", str(args.days),
                        "--out", str(out)], check=True, capture_output=True)
        wall = time.perf_counter() - t
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    peak_gb = usage.ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux
    print(json.dumps({"benchmark": "simulate_memory", "hotspots": args.hotspots,
                      "days": args.days, "peak_rss_gb": round(peak_gb, 3),
                      "goal_peak_rss_gb": 1.5, "meets_goal": peak_gb < 1.5,
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                      "wall_s": round(wall, 2), "files_mb": round(size / 1e6, 1),
                      "peak_over_files": round(peak_gb * 1024**3 / max(size, 1), 1)}))


if __name__ == "__main__":
    main()
