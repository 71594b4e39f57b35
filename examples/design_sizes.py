"""Design sizes of three published crossover hot-spot trials, regenerated as schedules.

Each trial tasked k of N hot spots each day for D days, so it had k*D
treatment ("tasked") and (N-k)*D control hot-spot-days:

* Southend-on-Sea (Essex Police, 2020): 20 hot spots, 90 days, 8 patrolled a
  day -> 720 tasked / 1,080 control hot-spot-days.
* Bedfordshire (Operation Rowan): 21 areas, 90 days, 7 a day -> 630 / 1,260.
* Thames Valley trial 2: 34 hot spots, half (17) tasked a day, trial day
  06:00-05:59, at least 2,021 hot-spot-days per arm.  17 does not divide
  2,021, so the shortest trial meeting it is ceil(2,021 / 17) = 119 days
  (17 x 119 = 2,023 per arm); the script derives that number rather than
  assuming it.

Each schedule is drawn with :func:`rct.randomise.crossover` (equal coverage:
every hot spot tasked on the same number of days, +-1), and the per-arm
hot-spot-day counts and coverage are read back from the schedule itself.

Run:  python examples/design_sizes.py
"""

from __future__ import annotations

import datetime as dt
import math

from rct.randomise import crossover

TV2_MIN_PER_ARM = 2021

TRIALS = {
    # name: (hot spots, tasked per day, days, first day, published per-arm sizes)
    "Southend": (20, 8, 90, dt.date(2020, 1, 6), (720, 1080)),
    "Bedfordshire (Op Rowan)": (21, 7, 90, dt.date(2021, 6, 1), (630, 1260)),
    "Thames Valley 2": (34, 17, math.ceil(TV2_MIN_PER_ARM / 17), dt.date(2023, 4, 3), None),
}


def main(seed: int = 2020) -> dict[str, dict[str, float]]:
    """Draw each schedule; print and return per-arm hot-spot-days and coverage."""
    out: dict[str, dict[str, float]] = {}
    print(f"{'trial':<25}{'N':>4}{'k/day':>6}{'days':>6}{'tasked':>8}{'control':>9}"
          f"{'tasked days per hot spot':>27}{'published':>16}")
    for j, (name, (n, k, days, start, published)) in enumerate(TRIALS.items()):
        ids = [f"{name[:2].upper()}{i:02d}" for i in range(1, n + 1)]
        d = crossover(ids, start=start, days=days, per_day=k, day_starts="06:00", seed=seed + j)
        alloc = d.allocation
        tasked = alloc["arm"] == "treatment"
        per_hotspot = alloc[tasked].groupby("hotspot_id").size().reindex(ids, fill_value=0)
        per_day = alloc[tasked].groupby("trial_date").size()
        row = {
            "hotspots": n, "per_day": k, "days": days,
            "tasked": int(tasked.sum()), "control": int((~tasked).sum()),
            "coverage_min": int(per_hotspot.min()), "coverage_max": int(per_hotspot.max()),
            "tasked_share": float(tasked.mean()),
            "per_day_min": int(per_day.min()), "per_day_max": int(per_day.max()),
            "dates": int(alloc["trial_date"].nunique()),
        }
        out[name] = row
        pub = f"{published[0]:,} / {published[1]:,}" if published else f">= {TV2_MIN_PER_ARM:,} each"
        cov = f"{row['coverage_min']}-{row['coverage_max']} of {days} ({100 * k / n:.0f} %)"
        print(f"{name:<25}{n:>4}{k:>6}{days:>6}{row['tasked']:>8,}{row['control']:>9,}"
              f"{cov:>27}{pub:>16}")
    tv = out["Thames Valley 2"]
    print(f"Thames Valley 2: {tv['days']} days is the shortest trial with >= {TV2_MIN_PER_ARM:,} "
          f"hot-spot-days per arm (17 x {tv['days'] - 1} = {17 * (tv['days'] - 1):,} is short); "
          "trial day 06:00-05:59 local.")
    return out


if __name__ == "__main__":
    main()
