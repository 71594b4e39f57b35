"""A simulated two-site, two-shift crossover: randomised, ingested, evaluated and reported.

Every stage runs through the command line, as a force would run it: ``rct simulate`` with
sites and shifts (a known truth per site and shift), ``rct randomise crossover --sites``
re-drawing the same schedule with its manifest, ``rct randomise verify``, the three ingest
commands (checked against the simulation's truth panel), ``rct evaluate`` and the design
and evaluation reports.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rct.cli import main

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    d = tmp_path_factory.mktemp("sites_shifts")
    code = main(["simulate", "--out", str(d), "--sites", "north=6,south=6",
                 "--shifts", "day=06:00-18:00,night=18:00-06:00",
                 "--effects", "north=0.6,south=1.0", "--shift-rates", "day=0.15,night=0.3",
                 "--days", "42", "--baseline-days", "7", "--start", "2021-10-15",
                 "--seed", "31", "--no-mess"])
    assert code == 0
    return d


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_end_to_end(trial, capsys, monkeypatch):
    monkeypatch.setenv("RCT_PSEUDONYM_KEY", KEY)
    d = trial
    truth = json.loads((d / "truth.json").read_text())
    assert truth["irr_by_site"] == {"north": 0.6, "south": 1.0}
    assert truth["irr_by_site_shift"]["north / night"] == 0.6
    simulated = pd.read_csv(d / "schedule.csv")

    # randomise: the same seed re-draws the simulation's schedule, now with a manifest
    out = _run(["randomise", "crossover", str(d / "hotspots.geojson"), "--start", "2021-10-15",
                "--days", "42", "--per-day", "3", "--sites", "site", "--seed", "32",
                "--out", str(d / "schedule.csv"), "--tasking", str(d / "tasking.csv"),
                "--force"], capsys)
    assert "site north shift night (18:00-06:00): 3 of 6 tasked each day" in out
    pd.testing.assert_frame_equal(pd.read_csv(d / "schedule.csv"), simulated)
    assert "verified" in _run(["randomise", "verify", str(d / "schedule.csv")], capsys)
    tasking = pd.read_csv(d / "tasking.csv")
    assert len(tasking) == 42 * 2 and set(tasking["window"]) == {"day", "night"}

    # ingest, checked against the truth behind the simulation
    span = ["--start", "2021-10-08", "--end", "2021-11-25"]
    _run(["ingest", "crimes", str(d / "crimes.csv"), "--hotspots", str(d / "hotspots.geojson"),
          "--harm", "cchi-subgroup", "--out", str(d / "out" / "outcomes.parquet"),
          "--catchment", "150", "--period", "day", "--start", "2021-10-08", "--end",
          "2021-11-25"], capsys)
    _run(["ingest", "patrols", str(d / "patrols.csv"), "--hotspots",
          str(d / "hotspots.geojson"), "--out", str(d / "out" / "patrol_dosage.parquet"),
          *span], capsys)
    _run(["ingest", "airwave", str(d / "pings"), "--hotspots", str(d / "hotspots.geojson"),
          "--buffer", "10", "--out", str(d / "out" / "airwave_presence.parquet")], capsys)
    tp = pd.read_csv(d / "truth_panel.csv")
    tp["trial_date"] = pd.to_datetime(tp["trial_date"]).dt.date
    o = pd.read_parquet(d / "out" / "outcomes.parquet")
    p = pd.read_parquet(d / "out" / "patrol_dosage.parquet")
    for t in (o, p):
        t["trial_date"] = pd.to_datetime(t["trial_date"]).dt.date
    m = tp.merge(o, on=["hotspot_id", "trial_date"], suffixes=("", "_in"))
    assert len(m) == len(tp) and (m["crimes"] == m["crimes_in"]).all()
    assert (m["catchment_crimes"] == m["catchment_crimes_in"]).all()
    m = tp.merge(p, on=["hotspot_id", "trial_date"], how="left").fillna(0)
    np.testing.assert_allclose(m["presence_minutes"], m["patrol_minutes"])

    # evaluate: the pooled pre-registered test, and per site / shift beside it
    _run(["evaluate", str(d / "trial.toml"), "--draws", "300"], capsys)
    res = json.loads((d / "out" / "results.json").read_text())
    assert res["meta"]["ri_design"].startswith("the trial's own")
    sg = res["meta"]["subgroups"]
    assert set(sg) == {"site", "shift", "site × shift"}
    assert [r["level"] for r in sg["site"]["levels"]] == ["north", "south"]
    assert [r["units"] for r in sg["site"]["levels"]] == [12, 12]
    for by, dim in sg.items():
        for r in dim["levels"]:
            if by != "site × shift":  # a cell with a handful of crimes may have no upper bound
                assert 0 < r["conf_low"] < r["estimate"] < r["conf_high"]
            assert r["conf_low"] is None or r["conf_low"] <= r["estimate"]
            assert r["conf_high"] is None or r["estimate"] <= r["conf_high"]
        h = dim["heterogeneity"]
        assert 0 <= h["randomisation"]["p_value"] <= 1 and 0 <= h["Q_p"] <= 1
    roles = {e["role"] for e in res["estimates"] if "subgroup" in (e.get("details") or {})}
    assert roles == {"exploratory"}
    prim = [e for e in res["estimates"] if e["role"] == "primary"]
    assert len(prim) == 1 and "subgroup" not in prim[0]["details"]

    # report
    _run(["report", "design", str(d / "trial.toml"), "--out", str(d / "design.html")], capsys)
    _run(["report", "evaluation", str(d / "trial.toml"), "--out", str(d / "evaluation.html")],
         capsys)
    design = (d / "design.html").read_text()
    assert "Daily quotas by site and shift" in design and "ranked separately" in design
    html = (d / "evaluation.html").read_text()
    for heading in ("By site: ", "By shift: ", "By site and shift: ",
                    "The primary effect by site", "Does the effect differ between sites?"):
        assert heading in html
    assert html.count("Forest plot of the primary effect in each") == 3
