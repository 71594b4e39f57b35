"""Print the rpact comparison tables of docs/sequential.md (max differences per design).

Run from the repository root: ``python tests/reference/evaluate/rpact_compare.py``.
The assertions are in tests/evaluate/test_sequential.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from rct.evaluate.sequential import sequential_test  # noqa: E402
from tests.evaluate.test_sequential import REF, TYPES, _designs, _ours  # noqa: E402


def main() -> None:
    ref = _designs()
    print("| design | looks | max abs diff, critical value | max abs diff, cumulative alpha |")
    print("|---|---|---|---|")
    for case, g in ref.groupby("case", sort=False):
        d = _ours(g)
        c = np.asarray(d.critical_values)
        r = g["critical"].to_numpy()
        well = np.diff(g["alpha_spent"].to_numpy(), prepend=0.0) > 1e-5
        skipped = f" ({int((~well).sum())} looks spending < 1e-5 not compared)" \
            if (~well).any() else ""
        da = np.max(np.abs(np.asarray(d.alpha_spent) - g["alpha_spent"].to_numpy()))
        print(f"| {case} | {len(g)} | {np.max(np.abs(c[well] - r[well])):.1e}{skipped} | "
              f"{da:.1e} |")
    a = pd.read_csv(REF / "rpact_analysis.csv")
    print("\n| analysis | max abs diff, RCI (HR) | final p, ours / rpact |\n|---|---|---|")
    for case, g in a.groupby("case", sort=False):
        dz = ref[ref["case"] == g["design"].iloc[0]]
        r = dz.iloc[0]
        se = 2 / np.sqrt(g["events"].to_numpy())
        k = len(g)
        res = sequential_test(g["z"].to_numpy() * se, se, method=TYPES[r["type"]],
                              alpha=float(r["alpha"]),
                              alternative="greater" if r["sided"] == 1 else "two-sided",
                              information_rates=dz["rate"].to_numpy()[:k], final=k == len(dz))
        t = res.tidy()
        m = max(np.max(np.abs(np.exp(t["conf_low"].to_numpy()) - g["rci_low_hr"].to_numpy())),
                np.max(np.abs(np.exp(t["conf_high"].to_numpy()) - g["rci_high_hr"].to_numpy())))
        print(f"| {case} | {m:.1e} | {res.p_value:.7f} / {g['final_p'].dropna().iloc[0]:.7f} |")


if __name__ == "__main__":
    main()
