"""Benchmark: render the evaluation report (and the other two) of a Thames-Valley-sized trial.

Builds a synthetic crossover trial (default 45 hot spots x 365 days, half
tasked each day, 90 baseline days), runs the pipeline once (ingest crimes,
Airwave, patrols; evaluate), then times each report builder from the trial
file to the HTML string, best of ``--repeat`` runs.  Goal (issue 6): the
evaluation report renders in under 5 s.  There is no peer tool for these
reports; for scale the same run times ``rct evaluate`` (the analysis the
report formats).

    .venv/bin/python benchmarks/report_render.py [--hotspots 45] [--days 365] [--repeat 3]

Prints one JSON object per line.  The machine has 2 cores shared with other
jobs: numbers are noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hotspots", type=int, default=45)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--goal", type=float, default=5.0)
    args = ap.parse_args()

    warnings.simplefilter("ignore")
    from rct.plan.evaluate import evaluate_trial_files
    from rct.reports import design_report, evaluation_report, monitor_report
    from tests.reports.conftest import build_trial

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        toml = build_trial(Path(tmp) / "trial", n_hotspots=args.hotspots, days=args.days,
                           plant=False)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluate_trial_files(toml, force=True)  # [analysis] ri_draws; build_trial evaluated it once
        evaluate_s = time.perf_counter() - t0
        size = {"hotspots": args.hotspots, "days": args.days,
                "hotspot_days": args.hotspots * args.days}
        print(json.dumps({"benchmark": "report_render/setup", **size,
                          "pipeline_seconds": round(build, 2),
                          "rct_evaluate_seconds": round(evaluate_s, 2)}), flush=True)
        for kind, fn in (("evaluation", evaluation_report), ("design", design_report),
                         ("monitor", monitor_report)):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                rep = fn(toml)
                times.append(time.perf_counter() - t0)
            row = {"benchmark": f"report_render/{kind}", **size,
                   "seconds_best": round(min(times), 3),
                   "seconds_all": [round(x, 3) for x in times],
                   "html_bytes": len(rep.html.encode()), "images": rep.html.count("<img"),
                   "unavailable": sorted(rep.unavailable)}
            if kind == "evaluation":
                row.update(goal_seconds=args.goal, goal_met=min(times) < args.goal,
                           vs_rct_evaluate=round(min(times) / evaluate_s, 3))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
