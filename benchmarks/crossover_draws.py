"""Crossover sampler: schedules drawn per CPU second, rct-randomise/3 against rct-randomise/2.

The randomisation tests draw about 1,000 schedules per test from
``design.draw``; this times that call at 45 x 365 (22 a day) and 300 x 365
(150 a day), for the default design (equal coverage, no run constraints),
for ``rct-randomise/3`` (exact curveball trades, numba kernel) and for the
superseded ``rct-randomise/2`` (masked trades, numpy) in the same run, and
prints the ratio.  Also prints the ceilings: the rate at which numpy's PCG64
alone produces the words one draw reads -- for ``/3`` the 4 raw words of the
design's stream plus the words its chain's own PCG64 generator reads
(``v3_words_per_draw``), for ``/2`` its raw words -- i.e. what no faster
implementation of the same draws could beat.  One JSON line per case.

Run:  python benchmarks/crossover_draws.py [--quick]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from rct.randomise import crossover
from rct.randomise.base import RawStream

CASES = [(45, 365, 22, 5000), (300, 365, 150, 1000)]
V3, V2 = "rct-randomise/3", "rct-randomise/2"


def _rate(design, n: int, repeats: int) -> tuple[float, float]:
    """Best of ``repeats`` (wall draws/s, CPU draws/s) for ``design.draw(n)``."""
    design.draw(min(n, 20), np.random.default_rng(0))  # plan, compile or load the kernel
    wall_best = cpu_best = 0.0
    for r in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        design.draw(n, np.random.default_rng(1 + r))
        wall_best = max(wall_best, n / (time.perf_counter() - wall))
        cpu_best = max(cpu_best, n / max(1e-9, time.process_time() - cpu))
    return wall_best, cpu_best


def _word_ceiling(words_per_draw: float, n: int) -> float:
    """Draws per CPU second if a draw cost only numpy's PCG64 producing its words."""
    bg = np.random.PCG64(1)
    total = int(round(n * words_per_draw))
    chunk = 1 << 16  # in cache-sized pieces: the time of the words, not of page faults
    cpu = time.process_time()
    for start in range(0, total, chunk):
        bg.random_raw(min(chunk, total - start))
    return n / (time.process_time() - cpu)


def main(quick: bool = False) -> list[dict]:
    out = []
    for n_hs, days, k, n in CASES:
        if quick:
            n = max(200, n // 5)
        ids = [f"h{i:03d}" for i in range(n_hs)]
        row = {"benchmark": "crossover_draws", "hotspots": n_hs, "days": days, "per_day": k,
               "draws": n}
        designs = {}
        for version, key, m in ((V3, "v3", n), (V2, "v2", max(50, n // 8))):
            d = crossover(ids, start="2025-01-06", days=days, per_day=k, seed=1, algorithm=version)
            designs[key] = d
            wall, cpu = _rate(d, m, 2 if quick else 3)
            row[f"{key}_draws_per_s"] = round(wall, 1)
            row[f"{key}_draws_per_cpu_s"] = round(cpu, 1)
        row["ratio_v3_over_v2_cpu"] = round(row["v3_draws_per_cpu_s"] / row["v2_draws_per_cpu_s"], 2)
        row["v3_cpu_s_per_1000_draws"] = round(1000 / row["v3_draws_per_cpu_s"], 3)
        s3 = designs["v3"]._sampler()
        s3.draw(RawStream(5), 64)
        row["v3_raw_words_per_draw"] = int(s3.n_words)
        row["v3_words_per_draw"] = round(s3.n_words + s3.generator_words, 1)
        row["v3_word_ceiling_draws_per_cpu_s"] = round(_word_ceiling(row["v3_words_per_draw"], n), 1)
        w2 = designs["v2"]._sampler().n_words
        row["v2_raw_words_per_draw"] = int(w2)
        row["v2_word_ceiling_draws_per_cpu_s"] = round(_word_ceiling(w2, max(256, n // 8)), 1)
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
