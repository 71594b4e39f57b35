"""Cost and value of the patrols: hand-computed figures and the honest edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from rct.errors import ConfigError, DataError
from rct.evaluate.costs import (
    CostPerHour,
    UnpricedOffenceWarning,
    control_baseline,
    cost_value,
    officer_hours,
    read_unit_costs,
)
from rct.evaluate.results import Estimate, Term

# Two hot spots, four days.  a: tasked on days 1 and 3; b: tasked on days 1 and 2.
PANEL = pd.DataFrame({
    "hotspot_id": ["a"] * 4 + ["b"] * 4,
    "trial_date": pd.date_range("2024-01-01", periods=4).tolist() * 2,
    "tasked": [1, 0, 1, 0, 1, 1, 0, 0],
    "crimes": [0, 2, 1, 1, 0, 0, 3, 1],
    "harm": [0, 20, 5, 10, 0, 0, 30, 1.0],
})
DOSAGE = pd.DataFrame({
    "hotspot_id": ["a", "a", "b", "b"],
    "trial_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-04"]),
    "officer_minutes": [60.0, 30.0, 90.0, 15.0],
    "radio_minutes": [80.0, 40.0, 100.0, 40.0],
})
CRIMES = pd.DataFrame({  # incident-level, matching PANEL's counts
    "hotspot_id": ["a", "a", "a", "a", "b", "b", "b", "b"],
    "trial_date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-04",
                                  "2024-01-03", "2024-01-03", "2024-01-03", "2024-01-04"]),
    "offence_code": ["8", "105", "8", "8", "8", "105", "58", "8"],
})
UNIT = pd.DataFrame({"offence_code": ["8", "105"], "unit_cost": [1000.0, 100.0],
                     "source": ["test table, row 8", "test table, row 105"]})
RATE = CostPerHour(40.0, "test rate (hand-computed example)")


def test_officer_hours_by_hand():
    # tasked hot-spot-days with minutes: a day 1 (60), b day 2 (90) -> 150 min = 2.5 h;
    # untasked: a day 2 (30), b day 4 (15) -> 0.75 h
    h = officer_hours(DOSAGE, PANEL)
    assert (h.hours, h.tasked_hours, h.untasked_hours) == (2.5, 2.5, 0.75)
    assert (h.tasked_days, h.untasked_days) == (4, 4)
    assert officer_hours(DOSAGE, PANEL, basis="all").hours == 3.25
    # Airwave: (80 + 100)/60 = 3 h tasked over 4 days, (40 + 40)/60 untasked over 4 days:
    # extra = (3/4 - (4/3)/4) x 4 = 3 - 4/3
    a = officer_hours(DOSAGE, PANEL, measure="radio_minutes", basis="extra", source="Airwave")
    assert a.hours == pytest.approx(3 - 4 / 3)
    with pytest.raises(ValueError, match="tasked"):
        officer_hours(DOSAGE, PANEL, basis="overtime")
    with pytest.raises(DataError, match="presence_minutes"):
        officer_hours(DOSAGE, PANEL, measure="presence_minutes")


def test_control_baseline_by_hand():
    bl = control_baseline(PANEL, outcomes=("crimes", "harm"), crimes=CRIMES)
    # a: (2 + 1) crimes on 2 untasked days x 2 tasked days = 3; b: (3 + 1)/2 x 2 = 4
    assert bl.expected["crimes"] == 7.0
    assert bl.expected["harm"] == (20 + 10) / 2 * 2 + (30 + 1) / 2 * 2
    assert bl.observed_tasked["crimes"] == 1.0
    by = bl.by_offence.set_index("offence")["expected_crimes"]
    assert by.to_dict() == {"105": 2.0, "58": 1.0, "8": 4.0}


def test_cost_value_by_hand():
    bl = control_baseline(PANEL, outcomes=("crimes", "harm"), crimes=CRIMES)
    h = officer_hours(DOSAGE, PANEL)
    with pytest.warns(UnpricedOffenceWarning, match="58"):
        cv = cost_value(effect=(0.8, 0.6, 0.95), hours=h, cost_per_hour=RATE, baseline=bl,
                        unit_costs=UNIT, alpha=0.05)
    r = cv.row
    assert r("cost")["estimate"] == 100.0  # 2.5 h x 40
    # crimes prevented (1 - RR) x 7 with the CI mapped through: [0.05 x 7, 0.4 x 7]
    assert r("crimes_prevented")["estimate"] == pytest.approx(1.4)
    assert (r("crimes_prevented")["conf_low"], r("crimes_prevented")["conf_high"]) == \
        pytest.approx((0.35, 2.8))
    cpc = r("cost_per_crime_prevented")
    assert cpc["status"] == "ok"
    assert (cpc["estimate"], cpc["conf_low"], cpc["conf_high"]) == \
        pytest.approx((100 / 1.4, 100 / 2.8, 100 / 0.35))
    # value: expected cost of crime 4 x 1000 + 2 x 100 = 4200 (offence 58 unpriced)
    assert r("cost_of_crime_expected_without_tasking")["estimate"] == 4200.0
    assert r("value_of_crime_prevented")["estimate"] == pytest.approx(840.0)
    bcr = r("benefit_cost_ratio")
    assert (bcr["estimate"], bcr["conf_low"], bcr["conf_high"]) == pytest.approx((8.4, 2.1, 16.8))
    assert r("net_benefit")["estimate"] == pytest.approx(740.0)
    assert r("harm_prevented")["estimate"] == pytest.approx(0.2 * 61)
    assert cv.details["priced_share_of_expected_crimes"] == pytest.approx(6 / 7)
    assert any("test table, row 8" in s for s in cv.sources)
    assert any("test rate" in s for s in cv.sources)
    assert any("lower bound" in n for n in cv.notes)
    assert "GBP 71" in cv.summary()
    t = cv.tidy()
    assert t["p_value"].isna().all() and set(t["status"]) == {"ok"}
    json.dumps(cv.to_dict(), allow_nan=False)


def test_no_effect_in_the_interval_is_unbounded_not_negative():
    bl = control_baseline(PANEL, crimes=CRIMES)
    h = officer_hours(DOSAGE, PANEL)
    est = Estimate(outcome="crimes", method="test", n=8, alpha=0.05, terms=(
        Term("tasked", 0.8, conf_low=0.6, conf_high=1.1, scale="ratio"),))
    with pytest.warns(UnpricedOffenceWarning):
        cv = cost_value(effect=est, hours=h, cost_per_hour=RATE, baseline=bl, unit_costs=UNIT)
    cpc = cv.row("cost_per_crime_prevented")
    assert cpc["status"] == "unbounded" and math.isinf(cpc["conf_high"])
    assert cpc["conf_low"] == pytest.approx(100 / 2.8)
    assert "unbounded" in cv.summary()
    assert cv.row("crimes_prevented")["conf_low"] == pytest.approx(-0.7)
    bcr = cv.row("benefit_cost_ratio")
    assert bcr["conf_low"] < 0 and "includes no benefit" in bcr["note"]
    d = cv.to_dict()
    row = next(x for x in d["rows"] if x["term"] == "cost_per_crime_prevented")
    assert row["conf_high"] is None and row["status"] == "unbounded"
    json.dumps(d, allow_nan=False)


def test_no_crime_prevented_at_the_estimate_is_undefined():
    bl = control_baseline(PANEL)
    h = officer_hours(DOSAGE, PANEL)
    cv = cost_value(effect=(1.05, 0.8, 1.3), hours=h, cost_per_hour=RATE, baseline=bl,
                    alpha=0.05)
    cpc = cv.row("cost_per_crime_prevented")
    assert cpc["status"] == "undefined"
    assert all(np.isnan([cpc["estimate"], cpc["conf_low"], cpc["conf_high"]]))
    assert "undefined" in cv.summary() and "-" not in cv.summary().split("undefined")[1][:5]
    assert "No benefit" in cv.summary()  # no unit costs supplied


def test_settings_and_tables_need_their_sources():
    with pytest.raises(ConfigError, match="source"):
        CostPerHour(40.0, "")
    with pytest.raises(ConfigError, match="positive"):
        CostPerHour(-1.0, "x")
    bad = UNIT.assign(source=["ok", " "])
    with pytest.raises(DataError, match="row 2"):
        read_unit_costs(bad)
    with pytest.raises(DataError, match="unit_cost"):
        read_unit_costs(UNIT.drop(columns="unit_cost"))
    with pytest.raises(ValueError, match="by offence"):
        cost_value(effect=(0.8, 0.6, 0.95), hours=officer_hours(DOSAGE, PANEL),
                   cost_per_hour=RATE, baseline=control_baseline(PANEL), unit_costs=UNIT,
                   alpha=0.05)
    with pytest.raises(ValueError, match="low <= estimate"):
        cost_value(effect=(0.8, 0.9, 0.95), hours=officer_hours(DOSAGE, PANEL),
                   cost_per_hour=RATE, baseline=control_baseline(PANEL), alpha=0.05)


def test_unit_costs_from_csv(tmp_path):
    f = tmp_path / "unit_costs.csv"
    UNIT.assign(price_year="2015/16").to_csv(f, index=False)
    uc = read_unit_costs(f)
    assert list(uc["offence"]) == ["8", "105"] and uc.attrs["key"] == "offence_code"
    assert "price_year" in uc.columns
