"""The runnable scripts in examples/: each reproduces something published or real.

Every script is run as a user would run it (``python examples/<name>.py``)
and its ``main()`` figures are compared with the published numbers.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(name: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- WDD: Wheeler & Ratcliffe (2018); ptools tests ------------------------------------------


def test_wdd_ptools_script_prints_the_published_figures():
    out = _run("wdd_ptools")
    # published: local -107 (SE 30.71); total -118 (SE 39.60); harm -1,721 (SE 304.10)
    local = next(line for line in out.splitlines() if line.startswith("local"))
    total = next(line for line in out.splitlines() if line.startswith("total"))
    harm = next(line for line in out.splitlines() if line.startswith("harm "))
    assert local.split()[1:3] == ["-107", "30.71"]
    assert total.split()[1:4] == ["-118", "39.60", "-2.98"]
    assert harm.split()[1:3] == ["-1,721", "304.10"]


def test_wdd_ptools_main_figures():
    got = _load("wdd_ptools").main()
    # ptools::wdd(c(308,318), c(207,110), c(150,140), c(178,157)): local -107, total -118,
    # SE sqrt(1568); ptools::wdd_harm(..., c(3,2,5,7,10)): -1721, SE 304.10360077
    assert got["local"][0] == -107 and round(got["local"][1], 2) == 30.71
    assert got["total"][0] == -118 and got["total"][1] == pytest.approx(math.sqrt(1568))
    assert got["harm"][0] == pytest.approx(-1721) and got["harm"][1] == pytest.approx(
        304.10360077, rel=1e-8)


# -- RIRR: Wilson (2022) -----------------------------------------------------------------


def test_rirr_published_script_runs_and_asserts_itself():
    out = _run("rirr_published")
    assert "RIRR 0.6545455" in out and "log RIRR -0.4238142" in out


def test_rirr_published_main_figures():
    got = _load("rirr_published").main()
    w = got["Wheeler (2021) worked example"]
    # published: log(30) - log(50) - (log(55) - log(60)) = -0.4238142; exp() = 0.6545455
    assert w["log_rirr"] == pytest.approx(-0.4238142, abs=5e-8)
    assert w["rirr"] == pytest.approx(0.6545455, abs=5e-8)
    p = got["Philadelphia Foot Patrol Experiment, violent crime"]
    # independent: (110/207)/(318/308) and the Poisson GLM interaction (statsmodels)
    assert p["rirr"] == pytest.approx((110 / 207) / (318 / 308), rel=1e-12)
    assert p["se_log_rirr"] == pytest.approx(math.sqrt(1 / 207 + 1 / 110 + 1 / 308 + 1 / 318))
    assert p["glm_log_rirr"] == pytest.approx(p["log_rirr"], rel=1e-6)
    assert p["glm_se"] == pytest.approx(p["se_log_rirr"], rel=1e-5)


# -- design sizes: Southend, Bedfordshire, Thames Valley 2 --------------------------------


def test_design_sizes_match_the_published_trials():
    got = _load("design_sizes").main()
    s, b, tv = got["Southend"], got["Bedfordshire (Op Rowan)"], got["Thames Valley 2"]
    # Southend: 20 hot spots x 90 days, 8 a day -> 720 / 1,080 place-days
    assert (s["tasked"], s["control"]) == (720, 1080)
    assert (s["coverage_min"], s["coverage_max"]) == (36, 36)  # 90 * 8 / 20
    # Bedfordshire: 21 x 90, 7 a day -> 630 / 1,260
    assert (b["tasked"], b["control"]) == (630, 1260)
    assert (b["coverage_min"], b["coverage_max"]) == (30, 30)  # 90 * 7 / 21
    # Thames Valley 2: 34 hot spots, 17 a day, >= 2,021 hot-spot-days per arm
    assert tv["per_day_min"] == tv["per_day_max"] == 17
    assert min(tv["tasked"], tv["control"]) >= 2021
    assert 17 * (tv["days"] - 1) < 2021  # the shortest such trial
    assert (tv["tasked"], tv["control"], tv["days"]) == (2023, 2023, 119)
    assert (tv["coverage_min"], tv["coverage_max"]) == (59, 60)  # 119 * 17 / 34 = 59.5
    for row in got.values():
        assert row["dates"] == row["days"]
        assert row["per_day_min"] == row["per_day_max"] == row["per_day"]


def test_design_sizes_script_prints_the_table():
    out = _run("design_sizes")
    assert "720    1,080" in out and "630    1,260" in out and "2,023    2,023" in out


# -- placebo on the real police.uk months -------------------------------------------------


@pytest.fixture(scope="module")
def placebo(tmp_path_factory):
    return _load("placebo_police_uk").main(tmp_path_factory.mktemp("placebo"), n_placebo=100,
                                           n_empirical=2000, ri_draws=999)


def test_placebo_trial_is_null(placebo):
    assert placebo["hotspots"] == 45
    assert placebo["conf_low"] <= 0 <= placebo["conf_high"]
    assert placebo["ri_p"] > 0.05


def test_placebo_rejection_rates_are_near_alpha(placebo):
    """Over many placebo randomisations a valid 5 % test rejects about 5 % of the time.

    Tolerance: alpha + 3 Monte Carlo SEs (100 draws: SE 0.022 -> <= 0.115);
    the empirical_power sizes (2,000 trials) must fall in its own 99 % band.
    """
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / placebo["n_placebo"])
    for name in ("Lin (HC2)", "difference in means (Neyman)", "randomisation (Lin)"):
        assert 0.0 <= placebo[f"rate {name}"] <= bound, name
    for est in ("rate-ratio", "diff-means"):
        assert placebo[f"size_ok {est}"], (est, placebo[f"size {est}"])
        assert abs(placebo[f"size {est}"] - 0.05) < 0.02


# -- meta-analysis: UK hot-spot trials with published variances ---------------------------


def test_meta_uk_hotspots_prints_the_library_figures():
    """The script's printed pooled figures are the library's (rct.evaluate.meta_analysis)."""
    from rct.evaluate.meta import meta_analysis

    out = _run("meta_uk_hotspots")
    mod = _load("meta_uk_hotspots")
    tab = mod.effects()
    lines = out.splitlines()
    for name, method, knha in mod.FITS:
        est = meta_analysis(tab, method=method, knha=knha)
        r, d = est.term("pooled ratio"), est.details
        line = next(ln for ln in lines if ln[:22].strip() == name)
        f = line[22:].split()
        assert f == [f"{r.estimate:.3f}", f"{r.conf_low:.3f}", "to", f"{r.conf_high:.3f}",
                     f"{r.p_value:.3f}", f"{d['tau2']:.4f}", f"{d['I2']:.1f}%",
                     f"{d['pi_low_ratio']:.3f}", "to", f"{d['pi_high_ratio']:.3f}"], name
    # the trials without a derivable variance are listed, not pooled
    for label in ("Southend-on-Sea (Essex)", "Bedfordshire (Op Rowan)", "Thames Valley 1",
                  "Peterborough PCSOs"):
        assert any(ln.strip().startswith(label) and "missing:" in ln for ln in lines)


def test_meta_uk_hotspots_matches_metafor():
    """main()'s figures against metafor on the same two effects (metafor_meta.R, "uk_published")."""
    import json

    ref = json.loads((Path(__file__).resolve().parent / "reference" / "evaluate"
                      / "metafor_meta.json").read_text())["datasets"]["uk_published"]
    mod = _load("meta_uk_hotspots")
    tab = mod.effects()
    # R: log((63/88)/(74/64)), 1/88+1/63+1/64+1/74; log(1.25), (log(1.25)/qnorm(0.95))^2
    assert tab["yi"].tolist() == pytest.approx(ref["yi"], abs=1e-12)
    assert tab["vi"].tolist() == pytest.approx(ref["vi"], abs=1e-12)
    got = mod.main()
    assert got["k"] == 2 and len(got["missing"]) == 4
    for name, fit in (("fixed effect", "FE_z"), ("DerSimonian-Laird", "DL_z"), ("REML", "REML_z"),
                      ("REML + Knapp-Hartung", "REML_knha")):
        r, g = ref["fits"][fit], got["fits"][name]
        # R: exp(c(b, ci.lb, ci.ub)) of rma(yi, vi, method = ..., test = ...); predict()
        assert g["ratio"] == pytest.approx(math.exp(r["beta"]), rel=1e-9)
        assert g["conf_low"] == pytest.approx(math.exp(r["ci_lb"]), rel=1e-9)
        assert g["conf_high"] == pytest.approx(math.exp(r["ci_ub"]), rel=1e-9)
        assert g["tau2"] == pytest.approx(r["tau2"], abs=1e-9)
        assert g["I2"] == pytest.approx(r["I2"], abs=1e-9)
        if r["pi_lb"] is not None:
            assert g["pi_low"] == pytest.approx(math.exp(r["pi_lb"]), rel=1e-9)
