"""The WDD worked examples of Wheeler & Ratcliffe, as ptools computes them.

Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
difference test to evaluate place based crime interventions. *Crime Science*
7:11.  Their worked example is the Philadelphia Foot Patrol Experiment's
violent crime (Ratcliffe et al. 2011): control areas 308 -> 318, treated
areas 207 -> 110, catchments around the controls 150 -> 140 and around the
treated areas 178 -> 157.  Published: local WDD -107 (SE 30.71), total
(local + displacement) -118 (SE sqrt(1568) = 39.60, z = -2.98).

The harm-weighted version is Wheeler's (2020) amendment ("Amending the WDD
test to incorporate harm weights", andrewpwheeler.com, 19 Nov 2020),
implemented as ``ptools::wdd_harm``; the ptools test "Cumulative Harm"
combines five crime types' local WDDs with weights 3, 2, 5, 7, 10:
-1,721 (SE 304.10).

Run:  python examples/wdd_ptools.py
"""

from __future__ import annotations

from rct.evaluate.prepost import wdd, wdd_harm

# Philadelphia Foot Patrol Experiment, violent crime, 3 months before vs the 12-week trial
CONTROL = (308, 318)
TREATED = (207, 110)
CATCHMENT_CONTROL = (150, 140)
CATCHMENT_TREATED = (178, 157)

# ptools tests/testthat "Cumulative Harm": (control, treated) pre/post counts per crime type
HARM_TYPES = [
    ((133, 91), (130, 74)),
    ((388, 305), (327, 202)),
    ((148, 97), (398, 190)),
    ((86, 64), (144, 92)),
    ((94, 67), (183, 96)),
]
HARM_WEIGHTS = [3, 2, 5, 7, 10]

PUBLISHED = {
    "local": (-107.0, 30.71),
    "total": (-118.0, 39.60),
    "harm": (-1721.0, 304.10),
}


def main() -> dict[str, tuple[float, float]]:
    """Print and return ``{name: (estimate, SE)}`` for local, total and harm-weighted WDD."""
    e = wdd(CONTROL, TREATED, displacement_control=CATCHMENT_CONTROL,
            displacement_treated=CATCHMENT_TREATED, alpha=0.05)
    local, total, disp = e.term("local"), e.term("total"), e.term("displacement")
    per_type = [wdd(c, t).term("local") for c, t in HARM_TYPES]
    harm = wdd_harm([t.estimate for t in per_type], [t.std_error for t in per_type],
                    HARM_WEIGHTS, alpha=0.05).effect
    out = {
        "local": (local.estimate, local.std_error),
        "displacement": (disp.estimate, disp.std_error),
        "total": (total.estimate, total.std_error),
        "harm": (harm.estimate, harm.std_error),
    }
    print("WDD, Philadelphia Foot Patrol Experiment (Wheeler & Ratcliffe 2018)")
    print(f"{'':14}{'estimate':>10}{'SE':>9}{'z':>8}{'95% CI':>20}   published")
    for name, t in (("local", local), ("displacement", disp), ("total", total), ("harm", harm)):
        pub = PUBLISHED.get(name)
        pub_s = f"{pub[0]:,.0f} (SE {pub[1]:.2f})" if pub else ""
        print(f"{name:<14}{t.estimate:>10,.0f}{t.std_error:>9.2f}{t.statistic:>8.2f}"
              f"{t.conf_low:>10,.0f} to {t.conf_high:>6,.0f}   {pub_s}")
    print("(harm: five crime types' local WDDs weighted 3, 2, 5, 7, 10 — ptools::wdd_harm)")
    return out


if __name__ == "__main__":
    main()
