"""`rct power` commands through rct.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rct.cli import main


def test_analytic_solves_days_and_writes_json(tmp_path, capsys):
    out = tmp_path / "tv.json"
    code = main(["power", "analytic", "--hotspots", "45", "--rate", "0.2", "--share", "0.5",
                 "--reduction", "0.15", "--power", "0.8", "--out", str(out)])  # fmt: skip
    assert code == 0
    res = json.loads(out.read_text())
    assert res["solved_for"] == "days"
    from rct.power import crossover_power

    ana = crossover_power(hotspots=45, days=None, rate=0.2, share=0.5, reduction=0.15, power=0.8)
    assert res["value"] == ana.value
    assert "solved for days" in capsys.readouterr().out


def test_analytic_parallel_mde_csv(tmp_path):
    out = tmp_path / "p.csv"
    code = main(["power", "analytic", "--design", "parallel", "--hotspots", "100", "--days", "365",
                 "--rate", "0.2", "--heterogeneity", "0.5", "--out", str(out)])  # fmt: skip
    assert code == 0
    df = pd.read_csv(out)
    assert df.loc[0, "solved_for"] == "effect" and 0 < df.loc[0, "effect"] < 1


def test_analytic_errors_exit_2(capsys):
    assert main(["power", "analytic", "--rate", "0.2", "--reduction", "0.1"]) == 2
    assert "give all but one" in capsys.readouterr().err
    code = main(["power", "analytic", "--design", "parallel", "--hotspots", "10", "--rate", "0.2",
                 "--reduction", "0.05", "--heterogeneity", "1", "--solve", "days"])  # fmt: skip
    assert code == 2
    assert "no number of days" in capsys.readouterr().err


def test_simulate_grid_with_plot(tmp_path):
    out, svg = tmp_path / "grid.csv", tmp_path / "curve.svg"
    code = main(["power", "simulate", "--hotspots", "45", "--days", "60,120", "--rate", "0.2",
                 "--reduction", "0.15,0.3", "--n-sims", "200", "--seed", "1", "--out", str(out),
                 "--plot", str(svg)])  # fmt: skip
    assert code == 0
    df = pd.read_csv(out)
    assert len(df) == 4 and {"power", "analytic_power", "size_ok"} <= set(df.columns)
    assert svg.read_text().lstrip().startswith("<?xml")


def test_simulate_single_and_empirical(tmp_path):
    out = tmp_path / "sim.json"
    assert main(["power", "simulate", "--design", "parallel", "--hotspots", "40", "--days", "90",
                 "--rate", "0.3", "--reduction", "0.3", "--n-sims", "300", "--seed", "2",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads(out.read_text())["design"] == "parallel"
    rng = np.random.default_rng(0)
    hist = pd.DataFrame({"hotspot_id": np.repeat(np.arange(30), 60), "trial_date": np.tile(np.arange(60), 30),
                         "crimes": rng.poisson(0.5, 1800)})  # fmt: skip
    counts = tmp_path / "hist.csv"
    hist.to_csv(counts, index=False)
    for name in ("empirical", "history"):  # history is an alias: the same result
        out2 = tmp_path / f"{name}.csv"
        assert main(["power", name, str(counts), "--periods", "30", "--reduction", "0.2",
                     "--n-sims", "200", "--seed", "3", "--out", str(out2)]) == 0  # fmt: skip
        assert pd.read_csv(out2).loc[0, "design"] == "empirical-crossover"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "empirical.csv"),
                                  pd.read_csv(tmp_path / "history.csv"))
    assert (
        main(
            ["power", "empirical", str(tmp_path / "nope.csv"), "--reduction", "0.2", "--seed", "1"]
        )
        == 2
    )


def test_history_calibrates_analytic_and_simulate(tmp_path, capsys):
    rng = np.random.default_rng(1)
    u = rng.gamma(2.0, 0.5, 45)
    y = rng.poisson(rng.gamma(2.0, 0.5 * 0.2 * u[:, None] * np.ones((45, 200))))
    hist = pd.DataFrame({"hotspot_id": np.repeat(np.arange(45), 200), "trial_date": np.tile(np.arange(200), 45),
                         "crimes": y.ravel()})  # fmt: skip
    path = tmp_path / "hist.parquet"
    hist.to_parquet(path)
    out = tmp_path / "a.json"
    assert main(["power", "analytic", "--history", str(path), "--hotspots", "45", "--days", "365",
                 "--out", str(out)]) == 0  # fmt: skip
    from rct.power import calibrate_history, crossover_power

    cal = calibrate_history(hist)
    want = crossover_power(hotspots=45, days=365, rate=cal.rate, dispersion=cal.dispersion,
                           heterogeneity=cal.heterogeneity, power=0.8)  # fmt: skip
    assert json.loads(out.read_text())["value"] == want.value
    assert "calibrated from hist.parquet" in capsys.readouterr().out
    assert main(["power", "simulate", "--history", str(path), "--hotspots", "45", "--days", "90",
                 "--reduction", "0.2", "--n-sims", "200", "--seed", "1"]) == 0  # fmt: skip
    assert main(["power", "simulate", "--hotspots", "45", "--days", "90", "--reduction", "0.2",
                 "--seed", "1"]) == 2  # no rate, no history  # fmt: skip
