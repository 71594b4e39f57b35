"""Report content: completeness, self-containment, escaping, privacy, wiring to the library."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.reports.conftest import (
    PLANTED_NOTE,
    PLANTED_OFFICER,
    SCRIPT_NAME,
    TRIAL_NAME,
    strip_images,
)

KINDS = ("design", "monitor", "evaluation")


@pytest.mark.parametrize("kind", KINDS)
def test_every_section_is_built_from_a_complete_trial(reports: dict, kind: str) -> None:
    report, path = reports[kind]
    assert dict(report.unavailable) == {}, report.unavailable
    assert "Not available" not in report.html
    assert path.stat().st_size == len(report.html.encode("utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_self_contained_no_network_no_scripts(reports: dict, kind: str) -> None:
    html = reports[kind][0].html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    imgs = re.findall(r'<img[^>]*src="([^"]*)"', html)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "@media print" in html  # print stylesheet inline


def test_report_sections_carry_what_the_issue_lists(reports: dict) -> None:
    ids = {k: set(re.findall(r'<section id="([^"]+)"', reports[k][0].html)) for k in KINDS}
    assert {"hotspots", "allocation", "balance", "power", "plan", "manifest"} <= ids["design"]
    assert {"weekly", "presence", "compliance", "dwell", "behind"} <= ids["monitor"]
    from rct.reports.design import SECTION_ORDER as DESIGN
    from rct.reports.evaluation import SECTION_ORDER as EVALUATION

    assert set(DESIGN) <= ids["design"] and set(EVALUATION) == ids["evaluation"]


@pytest.mark.parametrize("kind", ["design", "monitor"])
def test_script_in_a_hotspot_name_is_text(reports: dict, kind: str) -> None:
    html = reports[kind][0].html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &#34;Market St&#34;" in html


@pytest.mark.parametrize("kind", KINDS)
def test_trial_name_from_the_trial_file_is_escaped(reports: dict, kind: str) -> None:
    html = reports[kind][0].html
    assert TRIAL_NAME not in html and "<b>bold</b>" not in html
    assert "<title>Simulated &lt;b&gt;bold&lt;/b&gt; trial</title>" in html


@pytest.mark.parametrize("kind", KINDS)
def test_no_officer_or_radio_identifier_or_note(reports: dict, trial_path: Path,
                                                kind: str) -> None:
    html = strip_images(reports[kind][0].html)
    root = trial_path.parent
    patrols = pd.read_csv(root / "patrols.csv", dtype=str, keep_default_na=False)
    pings = pd.concat(pd.read_parquet(p, columns=["radio_id"])
                      for p in sorted((root / "pings").glob("*.parquet")))
    assert PLANTED_OFFICER in set(patrols["officer_id"])  # really planted
    assert PLANTED_OFFICER not in html
    assert PLANTED_NOTE not in html and "Jane Doe" not in html
    leaked = [v for v in set(patrols["officer_id"]) | set(pings["radio_id"].astype(str))
              if v and v in html]
    assert leaked == []
    notes = [n for n in set(patrols["notes"]) if len(n) > 3 and n in html]
    assert notes == []


def test_evaluation_numbers_are_the_results_file(reports: dict, trial_path: Path) -> None:
    from rct.config import load_trial
    from rct.plan.headline import format_p
    from rct.reports.evaluation import results_tidy

    rd = json.loads(Path(load_trial(trial_path).files.results).read_text())
    tidy = results_tidy(rd)
    fam = tidy[tidy["role"] == "primary"].iloc[0]
    html = reports["evaluation"][0].html
    assert f"randomisation {format_p(fam['p_value'])}" in html  # as the headline prints it
    assert len(tidy) == sum(len(e["terms"]) for e in rd["estimates"])


def test_randomisation_figure_is_the_histogram_behind_the_p_value(trial_path: Path) -> None:
    """results.json carries the headline test's histogram; its p is the published p."""
    from rct.config import load_trial
    from rct.reports.evaluation import null_distribution, results_tidy

    t = load_trial(trial_path)
    rd = json.loads(Path(t.files.results).read_text())
    nd = null_distribution(t, rd)
    fam = results_tidy(rd)
    fam = fam[fam["role"] == "primary"].iloc[0]
    assert nd["method"] == fam["method"]
    # the pre-registered test of the demo plan is the conditional Poisson rate ratio: the
    # histogram is of its log
    observed = np.exp(nd["observed"]) if fam["scale"] == "ratio" else nd["observed"]
    assert observed == pytest.approx(fam["estimate"], rel=1e-9)
    assert nd["p_value"] == pytest.approx(fam["p_value"], abs=1e-12)
    # Monte Carlo: (1 + #{|T_b| >= |t|}) / (B + 1); the bins hold every finite draw
    assert nd["n_defined"] == rd["meta"]["ri_draws"]
    assert sum(nd["counts"]) + nd["n_below"] + nd["n_above"] == nd["n_defined"]
    assert (1 + nd["n_exceed"]) / (1 + nd["n_defined"]) == pytest.approx(fam["p_value"], abs=1e-12)
    assert len(nd["edges"]) == len(nd["counts"]) + 1


def test_report_does_not_recompute_statistics() -> None:
    """The evaluation report only formats results: no estimator or RI engine is imported."""
    root = Path(__file__).resolve().parents[2] / "rct" / "reports"
    for module in ("evaluation.py", "evaluation_sections.py", "words.py"):
        src = (root / module).read_text()
        for name in ("complier_effect", "randomisation_test", "difference_in_means",
                     "crossover_fe", "design_from_trial", "_parallel_units", "evaluate_crossover",
                     "evaluate_parallel"):
            assert name not in src, (module, name)


def test_missing_stages_say_not_available(trial_path: Path, tmp_path: Path) -> None:
    """Before ingest/evaluate have run, sections say why instead of inventing numbers."""
    from rct.reports import design_report, evaluation_report, monitor_report

    root = tmp_path / "early"
    shutil.copytree(trial_path.parent, root, ignore=shutil.ignore_patterns("out"))
    toml = root / "trial.toml"
    d = design_report(toml)
    # power needs no outcomes: the trial file's [power] section states the assumed rate
    assert set(d.unavailable) == {"balance"}
    assert all("outcomes" in r for rs in d.unavailable.values() for r in rs)
    assert d.html.count("Not available: ") == 1
    toml.write_text(toml.read_text().replace('patrols = "patrols.csv"\n', ""))
    m = monitor_report(toml)
    assert {"weekly", "compliance", "dwell", "behind"} <= set(m.unavailable)
    assert "Not available: no patrol dosage table" in m.html
    # results passed in, but no outcome or dosage tables: refused unless allow_stale
    from rct.reports.evaluation import StaleResultsError

    rd = json.loads((trial_path.parent / "out" / "results.json").read_text())
    with pytest.raises(StaleResultsError, match=r"out/(outcomes|patrol_dosage)\.parquet \("):
        evaluation_report(toml, results=rd)
    full = evaluation_report(toml, results=rd, allow_stale=True)
    assert not {"primary", "exploratory", "displacement"} & set(full.unavailable)
    assert "These results are stale" in full.html
    # results without the complier, catchment and histogram entries: those parts say so
    rd["estimates"] = [e for e in rd["estimates"] if "complier" not in e["method"]
                       and not e["outcome"].startswith("catchment_")]
    for e in rd["estimates"]:
        e["details"].pop("null_histogram", None)
    rd["meta"].pop("randomisation_distribution")
    e = evaluation_report(toml, results=rd, allow_stale=True)
    assert "displacement" in e.unavailable
    assert "Randomisation distribution not shown: the results do not record" in e.html
    assert "Displacement was not assessed" in e.html  # and the limitations say so
    assert "primary" not in e.unavailable and "robustness" not in e.unavailable


def test_cli_writes_each_report(trial_path: Path, tmp_path: Path, capsys) -> None:
    from rct.cli import main

    for kind in KINDS:
        out = tmp_path / f"{kind}.html"
        assert main(["report", kind, str(trial_path), "--out", str(out)]) == 0
        assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "not available" not in capsys.readouterr().out
    assert main(["report", "design", str(tmp_path / "missing.toml")]) == 2


def test_fixture_planted_the_script_name(trial_path: Path) -> None:
    from rct.io.hotspots import read_hotspots

    assert SCRIPT_NAME in set(read_hotspots(trial_path.parent / "hotspots.geojson")["name"])


def test_parallel_trial_reports(parallel_trial: Path, parallel_reports: dict,
                                tmp_path: Path) -> None:
    """A parallel design takes the other paths: omnibus balance, hot-spot totals, DIM draws."""
    from rct.config import load_trial
    from rct.reports import evaluation_report
    from rct.reports.evaluation import null_distribution, results_tidy

    t = load_trial(parallel_trial)
    reps = {k: r for k, (r, _) in parallel_reports.items()}
    rd = json.loads(Path(t.files.results).read_text())
    for kind, r in reps.items():
        assert dict(r.unavailable) == {}, (kind, r.unavailable)
    assert "Omnibus balance test (Mahalanobis" in reps["design"].html
    # hot spots as `rct hotspots build` writes them: share_crimes = crimes / total is dropped
    assert ("Left out of the omnibus test: share of the selection data&#39;s crimes, an exact "
            "linear function of crimes in the selection data") in reps["design"].html
    assert "Allocation" in reps["design"].html and "Verified: " in reps["design"].html
    nd = null_distribution(t, rd)
    fam = results_tidy(rd)
    fam = fam[fam["role"] == "primary"].iloc[0]
    # complete randomisation of 16 hot spots: all C(16, 8) = 12,870 assignments, equally likely
    assert "exact" in fam["method"] and nd["n_defined"] == 12_870 == sum(nd["counts"])
    assert nd["n_exceed"] / nd["n_defined"] == pytest.approx(fam["p_value"], abs=1e-12)
    assert nd["p_value"] == pytest.approx(fam["p_value"], abs=1e-12)
    # the pre/post, displacement and complier entries of a parallel trial with a baseline
    methods = " | ".join(e["method"] for e in rd["estimates"])
    for what in ("WDD at hot-spot level", "relative incident rate ratio of arm totals",
                 "weighted displacement quotient", "complier effect of presence_minutes",
                 "ratio of means"):
        assert what in methods, what
    html = reps["evaluation"].html
    assert "Catchment ring and pre/post displacement measures" in html
    # without results.json the trial is evaluated for the report, and it says so
    root = tmp_path / "noresults"
    shutil.copytree(parallel_trial.parent, root)
    (root / "out" / "results.json").unlink()
    e = evaluation_report(root / "trial.toml")
    assert dict(e.unavailable) == {}
    assert "computed for this report because out/results.json was not found" in e.html


def test_randomisation_figure_for_the_conditional_poisson_plan(trial_path: Path,
                                                               tmp_path: Path) -> None:
    """Plan estimator panel-poisson: the figure draws its statistic with its own seed."""
    from rct.config import load_trial
    from rct.plan.evaluate import evaluate_trial_files
    from rct.reports.evaluation import null_distribution, results_tidy

    root = tmp_path / "cp"
    shutil.copytree(trial_path.parent, root)
    toml = root / "trial.toml"
    toml.write_text(toml.read_text().replace('estimator = "auto"', 'estimator = "panel-poisson"'))
    evaluate_trial_files(toml, ri_draws=300, force=True)
    t = load_trial(toml)
    rd = json.loads(Path(t.files.results).read_text())
    fam = results_tidy(rd)
    fam = fam[fam["role"] == "primary"].iloc[0]
    assert "conditional Poisson" in fam["method"]
    nd = null_distribution(t, rd)
    assert np.exp(nd["observed"]) == pytest.approx(fam["estimate"], rel=1e-9)
    assert "conditional Poisson" in nd["label"] and nd["n_defined"] == 300
    assert (1 + nd["n_exceed"]) / (1 + nd["n_defined"]) == pytest.approx(fam["p_value"],
                                                                        abs=1e-12)


def test_table_html_formats_p_value_columns():
    import pandas as pd

    from rct.reports.render import table_html

    html = str(table_html(pd.DataFrame({"estimate": [0.000999, 0.5], "p": [0.000999, 0.0062]})))
    assert "<td class=\"n\">&lt; 0.001</td>" in html and "<td class=\"n\">0.006</td>" in html
    assert "<td class=\"n\">0.000999</td>" in html  # other columns keep significant figures
