"""Crossover sampler: schedules drawn per second (rct-randomise/2), against the v1 sampler.

Also prints the ceiling for these exact draws: the rate at which PCG64 alone produces the
raw words one draw reads (``raw_words_per_draw``), i.e. what no faster kernel could beat
without changing the algorithm (and so the draws for a seed).

The randomisation tests draw about 1,000 schedules per test from
``design.draw``; this times that call at 45 x 365 (22 a day) and 300 x 365
(150 a day), for the default design (equal coverage, no run constraints),
for ``rct-randomise/2`` and for the superseded ``rct-randomise/1`` priority
sampler in the same run.  Prints one JSON line per case.

Run:  python benchmarks/crossover_draws.py [--quick]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from rct.randomise import crossover

CASES = [(45, 365, 22, 2000), (300, 365, 150, 300)]


def _rate(design, n: int) -> tuple[float, float]:
    design.draw(min(n, 20), np.random.default_rng(0))  # plan + warm caches
    cpu, wall = time.process_time(), time.perf_counter()
    design.draw(n, np.random.default_rng(1))
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main(quick: bool = False) -> list[dict]:
    out = []
    for n_hs, days, k, n in CASES:
        if quick:
            n = max(50, n // 10)
        ids = [f"h{i:03d}" for i in range(n_hs)]
        row = {"benchmark": "crossover_draws", "hotspots": n_hs, "days": days, "per_day": k,
               "draws": n}
        for version in ("rct-randomise/2", "rct-randomise/1"):
            d = crossover(ids, start="2025-01-06", days=days, per_day=k, seed=1, algorithm=version)
            wall, cpu = _rate(d, n if version.endswith("2") else max(50, n // 4))
            key = "v2" if version.endswith("2") else "v1"
            row[f"{key}_draws_per_s"] = round(wall, 1)
            row[f"{key}_draws_per_cpu_s"] = round(cpu, 1)
        row["ratio_v2_over_v1_cpu"] = round(row["v2_draws_per_cpu_s"] / row["v1_draws_per_cpu_s"], 2)
        # ceiling of any implementation of these exact draws: generating their raw PCG64 words
        d2 = crossover(ids, start="2025-01-06", days=days, per_day=k, seed=1)
        words = d2._sampler().n_words
        bg, groups = np.random.PCG64(1), max(1, n // 64)
        cpu = time.process_time()
        for _ in range(groups):  # the sampler reads words one group of 64 chains at a time
            bg.random_raw(64 * words)
        row["raw_words_per_draw"] = int(words)
        row["raw_word_ceiling_draws_per_cpu_s"] = round(64 * groups / (time.process_time() - cpu), 1)
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
