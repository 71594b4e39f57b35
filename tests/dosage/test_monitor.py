"""Baseline uplift and compliance: hand-computed truths and an independent loop reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rct.dosage.baseline import baseline_uplift, hotspot_day_arms
from rct.dosage.compliance import compliance
from rct.dosage.monitor import monitor
from rct.errors import DataError

D = dt.date


def _days(a: str, b: str) -> list[dt.date]:
    return list(pd.date_range(a, b).date)


def _airwave(rows):
    return pd.DataFrame(rows, columns=["hotspot_id", "trial_date", "presence_minutes", "visits"])


def _parallel_case():
    """A, B tasked; C, D control.  Hand-computed means below."""
    alloc = pd.DataFrame({"hotspot_id": list("ABCD"), "arm": ["treatment"] * 2 + ["control"] * 2})
    base, trial = _days("2024-01-01", "2024-01-10"), _days("2024-02-01", "2024-02-14")
    rows = []
    for d in base:
        rows.append(("A", d, 10.0, 1))
        rows.append(("C", d, 8.0, 1))
    for d in base[:5]:
        rows.append(("B", d, 20.0, 2))  # B: 20 on 5 of 10 days -> mean 10
    for d in base[:2]:
        rows.append(("D", d, 40.0, 4))  # D: 40 on 2 of 10 days -> mean 8
    for i, d in enumerate(trial):
        rows.append(("A", d, 30.0, 3))
        if i % 2 == 0:
            rows.append(("B", d, 30.0, 3))  # B: mean 15
        rows.append(("C", d, 12.0, 1))
        rows.append(("D", d, 12.0, 1))
    # outside both windows, and a hot spot not in the allocation: ignored
    rows.append(("A", D(2024, 1, 20), 999.0, 99))
    rows.append(("E", D(2024, 2, 3), 999.0, 99))
    return alloc, base, trial, _airwave(rows)


def test_uplift_parallel_hand_computed():
    alloc, base, trial, air = _parallel_case()
    u = baseline_uplift(air, alloc, baseline=(base[0], base[-1]), trial=(trial[0], trial[-1]))
    r = u.table.set_index("measure").loc["presence_minutes"]
    # B_t = (10 + 10) / 2, B_c = (8 + 8) / 2, T_t = (30 + 15) / 2, T_c = 12
    assert r["baseline_treatment"] == 10.0 and r["baseline_control"] == 8.0
    assert r["trial_treatment"] == 22.5 and r["trial_control"] == 12.0
    assert r["n_treatment"] == 28 and r["n_control"] == 28 and r["n_baseline_days"] == 10
    assert r["difference"] == 10.5
    assert r["ratio"] == pytest.approx(22.5 / 12 - 1, abs=1e-15)  # the "+93 %"-style figure
    assert r["change_treatment"] == 12.5 and r["change_control"] == 4.0
    assert r["did"] == 8.5
    assert r["did_ratio"] == pytest.approx((22.5 / 10) / (12 / 8) - 1, abs=1e-15)
    assert r["additional"] == 28 * 12.5 and r["additional_did"] == 28 * 8.5
    v = u.table.set_index("measure").loc["visits"]
    # visits: B_t = (1 + 1)/2 = 1, T_t = (3 + 1.5)/2 = 2.25, B_c = (1 + 0.8)/2 = 0.9, T_c = 1
    assert v["additional"] == pytest.approx(28 * 1.25, abs=1e-12)
    assert v["did"] == pytest.approx(1.25 - 0.1, abs=1e-12)
    assert u.to_dict()["measures"][0]["measure"] == "presence_minutes"


def test_uplift_crossover_weights_baseline_by_days_in_arm():
    # A tasked on 3 of 4 days, B on 1: baselines weighted accordingly
    trial = _days("2024-02-01", "2024-02-04")
    sched = pd.DataFrame(
        {
            "hotspot_id": ["A"] * 4 + ["B"] * 4,
            "trial_date": [d.isoformat() for d in trial] * 2,
            "arm": ["treatment", "treatment", "control", "treatment"]
            + ["control", "control", "treatment", "control"],
        }
    )
    rows = [("A", d, 10.0, 1) for d in _days("2024-01-01", "2024-01-05")]
    rows += [("B", d, 2.0, 1) for d in _days("2024-01-01", "2024-01-05")]
    for i, d in enumerate(trial):
        a_tasked = sched["arm"][i] == "treatment"
        rows.append(("A", d, 20.0 if a_tasked else 10.0, 1))
        rows.append(("B", d, 2.0 if a_tasked else 6.0, 1))
    u = baseline_uplift(
        _airwave(rows),
        sched,
        baseline=("2024-01-01", "2024-01-05"),
        trial=("2024-02-01", "2024-02-04"),
    )
    r = u.table.set_index("measure").loc["presence_minutes"]
    assert r["baseline_treatment"] == (3 * 10 + 1 * 2) / 4
    assert r["baseline_control"] == (1 * 10 + 3 * 2) / 4
    assert r["trial_treatment"] == (3 * 20 + 6) / 4 and r["trial_control"] == (10 + 3 * 2) / 4
    assert r["did"] == (16.5 - 8) - (4 - 4)


def test_uplift_windows_must_not_overlap():
    alloc, base, trial, air = _parallel_case()
    with pytest.raises(DataError, match="baseline ends"):
        baseline_uplift(air, alloc, baseline=(base[0], trial[0]), trial=(trial[0], trial[-1]))


def test_hotspot_day_arms_parallel_and_crossover():
    alloc = pd.DataFrame({"hotspot_id": ["A", "B"], "arm": ["treatment", "control"]})
    g = hotspot_day_arms(alloc, window=("2024-03-30", "2024-04-01"))
    assert len(g) == 6 and g["arm"].value_counts().to_dict() == {"treatment": 3, "control": 3}
    dup = pd.concat([alloc, alloc])
    with pytest.raises(DataError, match="more than once"):
        hotspot_day_arms(dup, window=("2024-03-30", "2024-04-01"))


# ---------------------------------------------------------------------------
# compliance against a plain-loop reference


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    hot = [f"H{i}" for i in range(5)]
    days = _days("2024-05-01", "2024-05-17")  # 2 weeks + 3 days
    sched = [(h, d, "treatment" if rng.random() < 0.5 else "control") for h in hot for d in days]
    rows = []
    for h, d, _ in sched:
        if rng.random() < 0.15:
            continue  # absent row = nothing recorded
        visits = int(rng.integers(0, 4))
        presence = float(rng.integers(0, 30)) if visits else 0.0
        officer = presence + float(rng.integers(0, 10)) if visits else 0.0
        foot = float(rng.integers(0, int(officer) + 1))
        vehicle = float(rng.integers(0, int(officer - foot) + 1))
        lt5 = int(rng.integers(0, visits + 1))
        k = int(rng.integers(0, visits - lt5 + 1))
        rows.append((h, d, visits, presence, officer, foot, vehicle, 0, 1, lt5, k, 1))
    cols = [
        "hotspot_id", "trial_date", "visits", "presence_minutes", "officer_minutes",
        "foot_minutes", "vehicle_minutes", "stops", "officers", "visits_lt5", "visits_10_15",
        "presence_periods",
    ]  # fmt: skip
    dosage = pd.DataFrame(rows, columns=cols)
    schedule = pd.DataFrame(sched, columns=["hotspot_id", "trial_date", "arm"])
    return dosage, schedule, days


def _reference(dosage, schedule, days, *, target, cap, behind_share):
    """Plain Python loops over hot-spot-days: an independent implementation."""
    by_key = {(r.hotspot_id, r.trial_date): r for r in dosage.itertuples()}
    acc: dict = {}
    per_hs_week: dict = {}
    for h, d, arm in schedule.itertuples(index=False):
        r = by_key.get((h, d))
        v = r.visits if r is not None else 0
        p = r.presence_minutes if r is not None else 0.0
        om = r.officer_minutes if r is not None else 0.0
        fm = r.foot_minutes if r is not None else 0.0
        k = r.visits_10_15 if r is not None else 0
        s = r.visits_lt5 if r is not None else 0
        week = (d - days[0]).days // 7 + 1
        for key in ("all", week):
            a = acc.setdefault(key, dict.fromkeys(
                ["t", "dosed", "c", "cont", "tv", "cap", "om", "fm", "k", "s"], 0))  # fmt: skip
            if arm == "treatment":
                a["t"] += 1
                a["dosed"] += p >= target
                a["tv"] += v
                a["cap"] += v > cap
                a["om"] += om
                a["fm"] += fm
                a["k"] += k
                a["s"] += s
            else:
                a["c"] += 1
                a["cont"] += v > 0
        hw = per_hs_week.setdefault((h, week), [0, 0])
        if arm == "treatment":
            hw[0] += 1
            hw[1] += p >= target
    behind = {key for key, (t, dd) in per_hs_week.items() if t > 0 and dd / t < behind_share}
    return acc, behind


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compliance_matches_loop_reference(seed):
    dosage, schedule, days = _random_case(seed)
    c = compliance(
        dosage, schedule, trial=(days[0], days[-1]), target_minutes=15, cap_per_day=2,
        behind_share=0.6, as_of=days[-1],
    )  # fmt: skip
    acc, behind = _reference(dosage, schedule, days, target=15, cap=2, behind_share=0.6)
    a = acc["all"]
    assert c.value("dosed_share") == a["dosed"] / a["t"]
    assert c.value("contamination_share") == a["cont"] / a["c"]
    assert c.value("visits_per_tasked_day") == a["tv"] / a["t"]
    assert c.value("over_cap_share") == a["cap"] / a["t"]
    assert c.value("foot_share") == pytest.approx(a["fm"] / a["om"], rel=1e-14)
    assert c.value("koper_share") == a["k"] / a["tv"]
    assert c.value("short_share") == a["s"] / a["tv"]
    # weekly table: weeks 1, 2 and the partial week 3
    assert c.weekly["week"].tolist() == [1, 2, 3]
    assert c.weekly["week_end"].tolist() == [D(2024, 5, 7), D(2024, 5, 14), D(2024, 5, 17)]
    for row in c.weekly.itertuples():
        w = acc[row.week]
        assert row.tasked_days == w["t"] and row.dosed_days == w["dosed"]
        assert row.contaminated_days == w["cont"] and row.over_cap_days == w["cap"]
    # a short week (dose share below behind_share) describes the week; the alarm is the
    # behind rule (tests/dosage/test_behind_rule.py)
    short = c.hotspots["short_week"]
    flagged = set(zip(c.hotspots.loc[short, "hotspot_id"],
                      c.hotspots.loc[short, "week"], strict=True))  # fmt: skip
    assert flagged == behind
    assert c.parameters["behind_share"] == 0.6
    assert c.weekly["hotspots_short_week"].sum() == len(behind)
    assert c.weekly["hotspots_behind"].sum() == int(c.hotspots["behind"].sum())


def test_as_of_defaults_to_last_day_with_patrols():
    dosage, schedule, days = _random_case(4)
    dosage = dosage[pd.to_datetime(dosage["trial_date"]) <= "2024-05-09"]
    c = compliance(dosage, schedule, trial=(days[0], days[-1]))
    assert c.parameters["as_of"] == dt.date(2024, 5, 9)
    assert c.weekly["week"].tolist() == [1, 2]
    assert (
        c.summary.set_index("metric").loc["dosed_share", "denominator"]
        == (
            (pd.to_datetime(schedule["trial_date"]) <= "2024-05-09")
            & (schedule["arm"] == "treatment")
        ).sum()
    )


def test_choices_are_validated():
    dosage, schedule, days = _random_case(5)
    with pytest.raises(ValueError, match="presence_minutes, officer_minutes"):
        compliance(dosage, schedule, trial=(days[0], days[-1]), dose_measure="visits")


def test_monitor_combines_and_writes(tmp_path):
    alloc, base, trial, air = _parallel_case()
    dosage = air.assign(
        officer_minutes=air["presence_minutes"], foot_minutes=0.0, vehicle_minutes=0.0,
        visits_lt5=0, visits_10_15=0,
    )  # fmt: skip
    rep = monitor(
        allocation=alloc, trial=(trial[0], trial[-1]), baseline=(base[0], base[-1]),
        patrol_dosage=dosage, airwave=air, target_minutes=20,
    )  # fmt: skip
    assert [u.source for u in rep.uplift] == ["airwave", "patrols"]
    # A: 30 every day, B: 30 on half the days -> 21 of 28 tasked days dosed
    assert rep.compliance.value("dosed_share") == 21 / 28
    tidy = rep.tidy()
    assert set(tidy["section"]) == {"compliance", "uplift"}
    did = tidy[(tidy["source"] == "airwave") & (tidy["measure"] == "presence_minutes")
               & (tidy["statistic"] == "did")]["value"]  # fmt: skip
    assert did.tolist() == [8.5]
    written = rep.write(tmp_path / "m")
    assert set(written) == {"compliance", "weekly", "hotspots", "uplift", "json"}
    assert all(p.exists() for p in written.values())
    assert not list((tmp_path / "m").glob(".*.tmp"))
    assert "difference-in-differences +8.5 min" in rep.summary()
    assert rep.uplift_for("airwave").source == "airwave"
    with pytest.raises(ValueError, match="airwave, patrols"):
        rep.uplift_for("gps")


def test_monitor_without_baseline_notes_it():
    alloc, base, trial, air = _parallel_case()
    rep = monitor(allocation=alloc, trial=(trial[0], trial[-1]), airwave=air)
    assert rep.compliance is None and rep.uplift == ()
    assert any("no baseline window" in n for n in rep.notes)


def test_package_names_resolve():
    import rct.dosage as dosage

    mine = [n for n, m in dosage._LAZY.items() if not m.endswith("airwave")]
    for name in mine:
        assert getattr(dosage, name) is not None
    with pytest.raises(AttributeError):
        dosage.no_such_name  # noqa: B018
