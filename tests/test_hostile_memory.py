"""Memory set by --chunk-rows, with the same results at every chunk size (issue 15, case 7).

The 50 M-ping / 5 M-patrol figures come from ``benchmarks/ingest_memory.py``;
here the same benchmark runs at a small size, and the results are checked
to be identical whatever the chunk size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rct.dosage.patrols import ingest_patrols
from tests.hostile_data import KEY, hotspot_list

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")


def _messy_logs(path: Path, n: int = 3000) -> Path:
    """Patrols with exact duplicates, conflicting ids, bad lines and bad values, spread out."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n):
        day = 1 + int(rng.integers(0, 20))
        h, m = int(rng.integers(7, 22)), int(rng.integers(0, 50))
        rows.append(f"P{i},PC{int(rng.integers(1, 30))},HS0{1 + i % 5},2024-05-{day:02d} {h}:{m:02d},"
                    f"2024-05-{day:02d} {h}:{m + int(rng.integers(1, 9)):02d},"
                    f"{'foot' if i % 3 else 'car'},{i % 4},note {i}")
    for k in range(0, n, 97):
        rows.insert(k, rows[k])  # an exact duplicate, anywhere (also across chunks)
    for k in range(5, n, 211):
        rows[k] = rows[k].replace(",note", ",extra,note")  # wrong number of fields
    for k in range(11, n, 157):
        rows[k] = rows[k].split(",", 1)[0] + ",PC99,HS01,2024-05-03 10:00,2024-05-03 10:05,foot,0,x"
    rows[3] = rows[3].replace("2024-05", "05/2024")  # unparseable
    rows.append(rows[40].split(",", 1)[0] + ",PC1,HS02,2024-05-09 09:00,2024-05-09 09:10,foot,0,z")
    path.write_text("patrol_id,officer_id,hotspot_id,arrived_at,left_at,mode,stopped,notes\n"
                    + "\n".join(rows) + "\n")
    return path


def test_case_07_patrol_results_do_not_depend_on_the_chunk_size(tmp_path):
    logs = _messy_logs(tmp_path / "logs.csv")
    hs = hotspot_list(tmp_path / "h.csv")
    runs = [ingest_patrols(logs, hotspots=hs, key=KEY.encode(), chunk_rows=c,
                           trial_start="2024-05-02", trial_end="2024-05-18")
            for c in (10_000_000, 1000, 137)]
    reasons = runs[0].read.reasons().to_dict()
    assert {"exact duplicate", "conflicting duplicate patrol_id", "outside the trial window",
            "wrong number of fields (expected 8, saw 9)"} <= set(reasons)
    for r in runs[1:]:
        pd.testing.assert_frame_equal(r.dosage, runs[0].dosage, check_exact=True)
        pd.testing.assert_frame_equal(r.read.quarantine, runs[0].read.quarantine)
        pd.testing.assert_frame_equal(r.read.data, runs[0].read.data)


@pytest.mark.slow
def test_case_07_memory_benchmark_runs_small_and_reports_peaks():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ingest_memory.py"), "--pings", "300000",
         "--patrols", "60000", "--chunk-rows", "100000", "20000"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
    steps = {d["step"]: d for d in lines}
    assert steps["airwave_same_result"]["same"] and steps["patrols_same_result"]["same"]
    aw = [d for d in lines if d["step"] == "ingest_airwave"]
    assert [d["chunk_rows"] for d in aw] == [100000, 20000]
    assert all(0 < d["peak_mib"] < 1536 and d["cpu_seconds"] > 0 for d in aw)
    pat = [d for d in lines if d["step"] == "ingest_patrols"]
    assert all(0 < d["peak_mib"] < 2048 for d in pat)
