"""The reports a force would publish (issue 13 item 3): structure, one headline, one hash,
no internals, legible figures, stale results refused (issue 15 item 11).

Content checks run on a crossover trial (the demo's design) and a parallel trial, both
built once per session (``tests/reports/conftest.py``).
"""

from __future__ import annotations

import hashlib
import html as htmllib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.reports.conftest import strip_images

DESIGNS = ("crossover", "parallel")


@pytest.fixture(scope="module")
def built(trial_path, reports, parallel_trial, parallel_reports) -> dict:
    """design -> (trial.toml, {kind: Report})."""
    return {"crossover": (trial_path, {k: r for k, (r, _) in reports.items()}),
            "parallel": (parallel_trial, {k: r for k, (r, _) in parallel_reports.items()})}


class _Visible(HTMLParser):
    """The text a reader sees, without <code> spans (file names, commands, digests),
    <style>, <title> and attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("code", "style", "title", "head"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("code", "style", "title", "head"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def visible_text(html: str) -> str:
    p = _Visible()
    p.feed(strip_images(html))
    return re.sub(r"\s+", " ", " ".join(p.out))


#: what must never reach a reader: Python values, dicts, code names, unformatted numbers
INTERNALS = {
    "Python boolean": r"\b(True|False|None|nan|NaN)\b",
    "dict or list repr": r"[{\[]'",
    "module or function name": r"\brct\.[a-z_]+",
    "underscore (a column or key name)": r"\w_\w",
    "caller wording": r"passed in by the caller",
    "design object": r"design object",
    "range of one value": r"\b(\d+)\s?[–-]\s?\1 hot spots",
    "uninterpretable lead": r"effect \(difference\)",
    "seed with thousands separators": r"\b\d{1,3},\d{3},\d{3}\b",
    "raw float": r"\d\.\d{7,}",
}


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("kind", ["design", "monitor", "evaluation"])
def test_no_internals_in_what_a_reader_sees(built, design, kind):
    text = visible_text(built[design][1][kind].html)
    found = {name: sorted(set(m.group(0) for m in re.finditer(rx, text)))[:5]
             for name, rx in INTERNALS.items() if re.search(rx, text)}
    assert found == {}, found


def test_internals_check_can_fail():
    text = visible_text("<p>ri_design: re-derived design object {'a': True} 20,210,906</p>"
                        "<p><code>out/patrol_dosage.parquet</code> 22–22 hot spots</p>")
    hits = {n for n, rx in INTERNALS.items() if re.search(rx, text)}
    assert hits == {"Python boolean", "dict or list repr", "underscore (a column or key name)",
                    "design object", "seed with thousands separators", "range of one value"}


@pytest.mark.parametrize("design", DESIGNS)
def test_evaluation_sections_in_journal_order(built, design):
    from rct.reports.evaluation import SECTION_ORDER

    ids = re.findall(r'<section id="([^"]+)"', built[design][1]["evaluation"].html)
    assert tuple(ids) == SECTION_ORDER
    assert SECTION_ORDER == ("summary", "flow", "primary", "secondary", "dosage", "cost",
                             "robustness", "displacement", "exploratory", "limitations",
                             "reproducibility")


@pytest.mark.parametrize("design", DESIGNS)
def test_design_sections_in_order(built, design):
    from rct.reports.design import SECTION_ORDER

    ids = re.findall(r'<section id="([^"]+)"', built[design][1]["design"].html)
    assert tuple(ids) == SECTION_ORDER


def _results(toml: Path) -> dict:
    return json.loads((toml.parent / "out" / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("design", DESIGNS)
def test_one_headline_the_same_in_results_cli_and_report(built, design):
    toml, reps = built[design]
    html = reps["evaluation"].html
    sentence = _results(toml)["meta"]["headline"]["sentence"]
    heads = re.findall(r'<p class="headline">(.*?)</p>', html, flags=re.S)
    assert len(heads) == 1
    assert htmllib.unescape(heads[0]).strip() == sentence
    assert visible_text(html).count(sentence) == 1  # said once, not repeated as a fact card
    cli = (toml.parent / "evaluate_summary.txt").read_text(encoding="utf-8").splitlines()
    assert cli[0] == sentence
    # the secondary outcomes to the printed digit, as `rct evaluate` prints them
    secondary = [line.removeprefix("secondary: ") for line in cli if line.startswith("secondary")]
    assert secondary
    for line in secondary:
        assert "Secondary outcome — " + line.replace("holm-adjusted", "Holm-adjusted") + "." \
            in visible_text(html), line


@pytest.mark.parametrize("design", DESIGNS)
def test_conclusion_follows_from_the_test_at_alpha(built, design):
    toml, reps = built[design]
    h = _results(toml)["meta"]["headline"]
    text = visible_text(reps["evaluation"].html)
    rejects = h["p_value"] < h["alpha"]
    assert ("rejects the hypothesis of no effect" in text) == rejects
    assert ("does not reject the hypothesis of no effect" in text) == (not rejects)


@pytest.mark.parametrize("design", DESIGNS)
def test_plan_sha256_is_sha256sum_of_plan_json_in_both_reports(built, design):
    from rct.config import load_trial
    from rct.plan.plan import plan_from_trial

    toml, reps = built[design]
    t = load_trial(toml)
    on_disk = hashlib.sha256(Path(t.files.plan).read_bytes()).hexdigest()
    assert plan_from_trial(t).sha256 == on_disk == _results(toml)["meta"]["plan_sha256"]
    assert f"(publish this): <code>{on_disk}</code>" in reps["design"].html
    assert on_disk in reps["evaluation"].html
    assert "the registered plan" in visible_text(reps["evaluation"].html)
    # the allocation manifest file's SHA-256 as sha256sum gives it, labelled as such, never
    # as "publish this"; and not the manifest's internal self-check field
    from rct.randomise.manifest import manifest_path

    mpath = manifest_path(t.files.allocation)
    man_sha = hashlib.sha256(mpath.read_bytes()).hexdigest()
    for kind in ("design", "evaluation"):
        assert man_sha in reps[kind].html
    internal = json.loads(mpath.read_text())["manifest_sha256"]
    assert internal != man_sha
    assert internal not in reps["design"].html and internal not in reps["evaluation"].html
    assert reps["design"].html.count("publish this") == 1


@pytest.mark.parametrize("design", DESIGNS)
def test_every_hash_in_the_design_report_is_in_the_evaluation_report(built, design):
    toml, reps = built[design]
    hexes = {k: set(re.findall(r"\b[0-9a-f]{64}\b", strip_images(reps[k].html)))
             for k in ("design", "evaluation")}
    assert len(hexes["design"]) >= 4  # plan, manifest file, allocation, hot spots
    assert hexes["design"] <= hexes["evaluation"], hexes["design"] - hexes["evaluation"]


@pytest.mark.parametrize("design", DESIGNS)
def test_design_report_names_the_primary_test_as_the_evaluation_does(built, design):
    from rct.config import load_trial
    from rct.plan.plan import plan_from_trial

    toml, reps = built[design]
    plan = plan_from_trial(load_trial(toml))
    named = plan.primary_test.description
    for kind in ("design", "evaluation"):
        assert named in visible_text(reps[kind].html), kind
    assert plan.primary_test.statistic in visible_text(reps["design"].html)


def test_seeds_are_integers_and_daily_tasking_is_said_once(built):
    from rct.config import load_trial

    toml, reps = built["crossover"]
    t = load_trial(toml)
    for kind in ("design", "evaluation"):
        text = visible_text(reps[kind].html)
        assert str(t.design.seed) in text
        if t.design.seed >= 1000:
            assert f"{t.design.seed:,}" not in text
    per_day = t.design.per_day
    assert f"{per_day} hot spots tasked each day" in visible_text(reps["design"].html)


def test_limitations_come_from_the_facts(built):
    toml, reps = built["crossover"]
    html = reps["evaluation"].html
    limits = visible_text(html[html.index('<section id="limitations"'):
                               html.index('<section id="reproducibility"')])
    assert "Only 12 hot spots" in limits  # the fixture has 12
    h = _results(toml)["meta"]["headline"]
    assert ("includes a rate ratio of 1" in limits) == (h["conf_low"] <= 1 <= h["conf_high"])
    assert "carryover" in limits  # a crossover without a carryover model


def test_exploratory_rows_are_marked_and_never_primary(built):
    for design in DESIGNS:
        toml, reps = built[design]
        rd = _results(toml)
        html = reps["evaluation"].html
        ex = html[html.index('<section id="exploratory"'):html.index('<section id="limitations"')]
        assert "Exploratory, not confirmatory" in ex
        assert [e["role"] for e in rd["estimates"]].count("primary") == 1
        # Poisson-variance tests sit in the exploratory or displacement sections only
        prim = html[html.index('<section id="primary"'):html.index('<section id="secondary"')]
        assert "Poisson variance" not in prim


@pytest.mark.parametrize("design", DESIGNS)
def test_secondary_outcomes_show_adjusted_p(built, design):
    from rct.plan.headline import format_p

    toml, reps = built[design]
    rd = _results(toml)
    html = reps["evaluation"].html
    sec = html[html.index('<section id="secondary"'):html.index('<section id="dosage"')]
    assert "Holm-adjusted p" in sec
    for a in rd["adjusted_p"]:
        assert format_p(a["p_adjusted"]).removeprefix("p = ").removeprefix("p ") in sec


# ---------------------------------------------------------------------------
# stale results (issue 15 item 11)


@pytest.fixture
def stale_copy(trial_path, tmp_path) -> Path:
    root = tmp_path / "stale"
    shutil.copytree(trial_path.parent, root)
    return root / "trial.toml"


def test_changed_outcomes_are_refused_naming_the_file(stale_copy, capsys):
    from rct.cli import main
    from rct.reports.evaluation import StaleResultsError, evaluation_report

    out = stale_copy.parent / "out" / "outcomes.parquet"
    df = pd.read_parquet(out)
    df.loc[df.index[0], "crimes"] += 1
    df.to_parquet(out)
    with pytest.raises(StaleResultsError) as err:
        evaluation_report(stale_copy)
    assert "out/outcomes.parquet (outcomes) changed since `rct evaluate` read it" in str(err.value)
    assert main(["report", "evaluation", str(stale_copy), "--out",
                 str(stale_copy.parent / "e.html")]) == 2
    msg = capsys.readouterr().err.strip().splitlines()
    assert len(msg) == 1 and "out/outcomes.parquet" in msg[0] and "--allow-stale" in msg[0]
    assert not (stale_copy.parent / "e.html").exists()
    assert main(["report", "evaluation", str(stale_copy), "--out",
                 str(stale_copy.parent / "e.html"), "--allow-stale"]) == 0
    html = (stale_copy.parent / "e.html").read_text(encoding="utf-8")
    banner = html[html.index('<div class="banner"'):html.index("</div>", html.index(
        '<div class="banner"'))]
    assert "These results are stale" in banner and "out/outcomes.parquet" in banner, banner
    assert html.index('<div class="banner"') < html.index('<section id="summary"')


def test_an_emptied_outcomes_table_is_refused(stale_copy):
    """The case of issue 15: `rct evaluate` failed on an emptied table; the old results stay."""
    from rct.reports.evaluation import StaleResultsError, evaluation_report

    out = stale_copy.parent / "out" / "outcomes.parquet"
    pd.read_parquet(out).iloc[:0].to_parquet(out)
    with pytest.raises(StaleResultsError, match="outcomes.parquet"):
        evaluation_report(stale_copy)


def test_a_changed_plan_is_refused(stale_copy):
    from rct.reports.evaluation import StaleResultsError, evaluation_report

    stale_copy.write_text(stale_copy.read_text().replace("alpha = 0.05", "alpha = 0.1"))
    with pytest.raises(StaleResultsError, match=r"analysis plan changed .*primary_test.alpha"):
        evaluation_report(stale_copy)


def test_results_without_input_hashes_are_refused(stale_copy):
    from rct.reports.evaluation import StaleResultsError, evaluation_report

    rd = _results(stale_copy)
    rd["meta"].pop("inputs")
    with pytest.raises(StaleResultsError, match="record no SHA-256"):
        evaluation_report(stale_copy, results=rd)


def test_fresh_results_are_not_stale(built):
    from rct.config import load_trial
    from rct.reports.evaluation import stale_inputs

    for design in DESIGNS:
        toml, _ = built[design]
        assert stale_inputs(load_trial(toml), _results(toml)) == []


# ---------------------------------------------------------------------------
# design report: power under the plan's assumptions, overrides named


def test_power_uses_the_plans_assumptions_and_names_overrides(trial_path, tmp_path):
    from rct.config import load_trial
    from rct.plan.plan import plan_from_trial
    from rct.power import crossover_power
    from rct.reports.design import _power
    from rct.reports.sections import ReportBuilder

    root = tmp_path / "power"
    shutil.copytree(trial_path.parent, root)
    toml = root / "trial.toml"
    import re

    text = re.sub(r"\n\[power\]\n(?:[a-z_]+ = [^\n]*\n)*", "\n", toml.read_text())
    toml.write_text(text + "\n[power]\nrate = 0.2\ndispersion = 0.25\n"
                    "heterogeneity = 0.5\nreduction = 0.2\npower = 0.9\n")
    t = load_trial(toml)

    def design_report(_, **over):  # the report's power section alone (the rest is tested above)
        b = ReportBuilder(kind="Design report", title="t", subtitle="s", source="trial.toml")
        with b.section("power", "Power") as s:
            _power(s, b, t, plan_from_trial(t), rate=over.get("rate"),
                   dispersion=over.get("dispersion"), heterogeneity=over.get("heterogeneity"),
                   reductions=(0.1, 0.3), target=None)
        return b.render("design.html.j2")

    rep = design_report(toml)
    assert dict(rep.unavailable) == {}
    text = visible_text(rep.html)
    assert ("0.2 crimes per hot-spot-day (as the plan states), day-level overdispersion "
            "φ = 0.25, between-hot-spot heterogeneity τ² = 0.5, a 20 % reduction to detect with "
            "90 % power") in text, text[text.index("Assumptions"):][:300]
    assert "Overrides" not in text
    want = crossover_power(hotspots=12, days=28, rate=0.2, per_day=6, power=0.9, alpha=0.05,
                           dispersion=0.25, heterogeneity=0.5)
    assert f"{100 * want.mde_reduction:.1f} % reduction (rate ratio {want.mde:.3f})" in text
    # (with 12 hot spots and small-sample t tests, dispersion 1 could not reach 90 % power)
    over = design_report(toml, dispersion=0.5, heterogeneity=0.5)
    t2 = visible_text(over.html)
    assert "Overrides given to , not part of the plan: dispersion 0.5 (plan: 0.25)." in t2
    assert "heterogeneity" not in t2[t2.index("Overrides"):t2.index("Overrides") + 90]
    more = crossover_power(hotspots=12, days=28, rate=0.2, per_day=6, power=0.9, alpha=0.05,
                           dispersion=0.5, heterogeneity=0.5)
    assert more.mde_reduction > want.mde_reduction
    assert f"{100 * more.mde_reduction:.1f} % reduction" in t2


def test_cli_design_options(trial_path, tmp_path, capsys):
    from rct.cli import main

    out = tmp_path / "d.html"
    assert main(["report", "design", str(trial_path), "--rate", "0.2", "--dispersion", "0.25",
                 "--heterogeneity", "0.5", "--out", str(out)]) == 0
    text = visible_text(out.read_text(encoding="utf-8"))
    assert "Overrides given to" in text and "dispersion 0.25 (plan: 0)" in text
    assert main(["report", "design", str(trial_path), "--dispersion", "-1", "--out",
                 str(out)]) == 2


# ---------------------------------------------------------------------------
# schedule diagnostics (crossover)


def test_schedule_diagnostics_match_a_loop(trial_path):
    from rct.config import load_trial
    from rct.reports.common import allocation
    from rct.reports.design import _serial_diagnostics

    alloc = allocation(load_trial(trial_path))
    trans, runs = _serial_diagnostics(alloc)
    wide = (alloc.assign(z=(alloc["arm"] == "treatment").astype(int))
            .pivot(index="hotspot_id", columns="trial_date", values="z").sort_index(axis=1))
    m = wide.to_numpy()
    for lag in (1, 3, 7):
        a = b = na = nb = 0
        for row in m:
            for d in range(lag, len(row)):
                if row[d - lag]:
                    na += 1
                    a += row[d]
                else:
                    nb += 1
                    b += row[d]
        r = trans.set_index("lag").loc[lag]
        assert r["p_after_tasked"] == pytest.approx(a / na, abs=1e-15)
        assert r["p_after_untasked"] == pytest.approx(b / nb, abs=1e-15)
    # run lengths add up to every hot-spot-day
    total = (runs["length"] * (runs["tasked_runs"] + runs["untasked_runs"])).sum()
    assert total == m.size
    assert (runs["length"] * runs["tasked_runs"]).sum() == m.sum()


def test_schedule_diagnostics_see_an_alternating_schedule():
    from rct.reports.design import _serial_diagnostics

    days = pd.date_range("2024-01-01", periods=20).date
    rows = [(h, d, "treatment" if (i + j) % 2 == 0 else "control")
            for j, h in enumerate(["A", "B", "C", "D"]) for i, d in enumerate(days)]
    trans, runs = _serial_diagnostics(pd.DataFrame(rows, columns=["hotspot_id", "trial_date",
                                                                  "arm"]))
    t = trans.set_index("lag")
    assert t.loc[1, "p_after_tasked"] == 0 and t.loc[1, "p_after_untasked"] == 1
    assert t.loc[2, "p_after_tasked"] == 1
    assert runs["length"].tolist() == [1] and runs["tasked_runs"].tolist() == [40]


# ---------------------------------------------------------------------------
# figures at print size


def _boxes(fig, texts):
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in texts if t.get_text() and t.get_visible()]


def _overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


def test_forest_plot_log_ticks_legible(built):
    """Log axis with round ticks, no minor labels, no overlapping or cut labels."""
    from rct.reports.figures import forest_plot

    toml, _ = built["crossover"]
    rd = _results(toml)
    rows = [{"label": f"{e['outcome']}: {e['method']}", "estimate": e["terms"][0]["estimate"],
             "conf_low": e["terms"][0]["conf_low"], "conf_high": e["terms"][0]["conf_high"]}
            for e in rd["estimates"] if e["terms"][0].get("scale") == "ratio"
            and e["terms"][0].get("conf_low") is not None]
    assert len(rows) >= 3
    for frame in (pd.DataFrame(rows),
                  pd.DataFrame({"label": ["a", "b"], "estimate": [0.3, 2.5],
                                "conf_low": [0.1, 1.2], "conf_high": [0.8, 9.0]})):
        fig = forest_plot(frame, null=1.0, log=True)
        fig.canvas.draw()
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert len(labels) >= 3
        assert all(re.fullmatch(r"\d+(\.\d+)?", t.get_text()) for t in labels), \
            [t.get_text() for t in labels]
        assert ax.get_xaxis().get_minor_ticks() == [] or not any(
            t.label1.get_visible() and t.label1.get_text() for t in ax.xaxis.get_minor_ticks())
        xb = _boxes(fig, labels)
        assert _overlaps(xb) == []
        page = fig.bbox
        for axis in fig.axes:  # row labels and the values column are inside the figure
            for b in _boxes(fig, axis.get_yticklabels()) + xb:
                assert page.x0 - 0.5 <= b.x0 and b.x1 <= page.x1 + 0.5, b
                assert page.y0 - 0.5 <= b.y0 and b.y1 <= page.y1 + 0.5, b
        if 1.0 >= ax.get_xlim()[0]:
            assert "1" in [t.get_text() for t in labels]


def test_log_ticks_are_round_and_spread():
    from rct.reports.figures import log_ticks

    assert log_ticks(0.49, 1.28) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    assert log_ticks(0.2, 3) == [0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
    for lo, hi in ((0.05, 20), (0.01, 100), (0.7, 0.95), (0.3, 1.1), (0.9, 1.3)):
        ticks = log_ticks(lo, hi)
        assert 3 <= len(ticks) <= 8 and all(lo <= v <= hi for v in ticks), (lo, hi, ticks)
        assert np.all(np.diff(np.log(ticks)) > 0.05)
        assert (1.0 in ticks) or not (lo <= 1 <= hi)


def _map_checks(gdf, arm=None):
    from rct.reports.figures import hotspot_map

    fig = hotspot_map(gdf, arm=arm)
    fig.savefig(__import__("io").BytesIO(), format="png", dpi=110)  # as the report renders it
    ax = fig.axes[0]
    x0, y0, x1, y1 = gdf.to_crs(27700).total_bounds
    span = max(x1 - x0, y1 - y0)
    (xa, xb), (ya, yb) = ax.get_xlim(), ax.get_ylim()
    margin = 0.1 * span + 300
    assert x0 - margin <= xa <= x0 and x1 <= xb <= x1 + margin
    assert y0 - margin <= ya <= y0 and y1 <= yb <= y1 + margin
    ids = set(gdf["hotspot_id"].astype(str))
    labelled = set()
    for a in fig.axes:
        texts = [t for t in a.texts if t.get_text() in ids]
        labelled |= {t.get_text() for t in texts}
        assert all(t.get_fontsize() >= 7 for t in texts)
        assert _overlaps(_boxes(fig, texts)) == [], a.get_title()
    assert labelled == ids  # every hot spot is labelled somewhere
    return fig


def test_map_is_zoomed_to_the_hot_spots_with_readable_labels(built):
    from rct.io.hotspots import read_hotspots

    for design in DESIGNS:
        toml, _ = built[design]
        fig = _map_checks(read_hotspots(toml.parent / "hotspots.geojson"))
        assert len(fig.axes) >= 1


def test_map_of_spread_out_hot_spots_gets_zoomed_panels():
    """A force-wide selection (groups tens of km apart): lettered panels, each zoomed."""
    import geopandas as gpd
    from shapely.geometry import Point

    rng = np.random.default_rng(3)
    centres = [(440_000, 240_000), (470_000, 172_000), (497_000, 180_000), (460_000, 210_000)]
    pts = [(cx + rng.uniform(-900, 900), cy + rng.uniform(-900, 900))
           for cx, cy in centres for _ in range(4)] + [(480_000, 200_000), (450_000, 165_000)]
    gdf = gpd.GeoDataFrame({"hotspot_id": [f"H{i:03d}" for i in range(len(pts))]},
                           geometry=[Point(p).buffer(75, 6) for p in pts], crs=27700)
    fig = _map_checks(gdf)
    panels = fig.axes[1:]
    assert len(panels) == 4
    for ax in panels:
        (xa, xb), (ya, yb) = ax.get_xlim(), ax.get_ylim()
        assert xb - xa < 5_000 and yb - ya < 5_000  # zoomed: a hexagon is visible
        inside = [t for t in ax.texts if t.get_text().startswith("H")]
        assert len(inside) == 4


# ---------------------------------------------------------------------------
# monitor report: the behind rule is stated and is the library's


def test_monitor_report_states_the_behind_rule(built):
    from rct.dosage.monitor import monitor_trial

    for design in DESIGNS:
        toml, reps = built[design]
        c = monitor_trial(toml, write=False)[0].compliance
        text = visible_text(reps["monitor"].html)
        assert "a one-sided binomial test against the median hot spot's share" in text
        n = len(c.behind)
        assert (f"{n} hot spot{'s are' if n != 1 else ' is'} behind" in text)


def test_report_wording_of_the_hot_spot_area(tmp_path):
    """"0.5 % of area" says of what: the cells with any crime, not the force area."""
    import geopandas as gpd

    from rct.reports.design import _hotspots
    from rct.reports.sections import ReportBuilder, Section

    gdf = gpd.GeoDataFrame(
        {"hotspot_id": ["A", "B"], "crimes": [30, 20], "share_crimes": [0.03, 0.02],
         "area_m2": [19486.0, 19486.0], "share_area": [0.002, 0.003], "cells": [1, 1]},
        geometry=gpd.points_from_xy([470_000, 471_000], [172_000, 172_500]).buffer(80, 3),
        crs=27700)
    path = tmp_path / "h.geojson"
    gdf.to_crs(4326).to_file(path, driver="GeoJSON")

    class T:  # the few trial attributes _hotspots reads
        class files:  # noqa: N801
            hotspots = path
            allocation = None

        @staticmethod
        def hotspots_input():
            return path

    s = Section(id="hotspots", title="Hot spots")
    _hotspots(s, ReportBuilder(kind="k", title="t", subtitle="s", source="x"), T)
    text = " ".join(str(p["text"]) for p in s.text)
    assert ("0.5 % of the area of the 150 m grid cells with at least one crime in the "
            "selection data (not of the force area), holding 5.0 % of those crimes") in text


def test_an_ri_draws_override_is_not_stale_but_is_reported(stale_copy):
    """`rct evaluate --ri-draws 200` records a plan that differs from the registered one: the
    report shows it (registration differs) instead of refusing it as stale."""
    from rct.plan.evaluate import evaluate_trial_files
    from rct.reports.evaluation import evaluation_report

    evaluate_trial_files(stale_copy, ri_draws=200, force=True)
    rep = evaluation_report(stale_copy)
    text = visible_text(rep.html)
    assert "These results are stale" not in rep.html
    assert "differs from the registered plan" in text
    assert "<code>primary_test.draws</code>" in rep.html  # the key, set as code
    found = {n: re.findall(rx, text)[:3] for n, rx in INTERNALS.items() if re.search(rx, text)}
    assert found == {}, found


@pytest.mark.parametrize("design", DESIGNS)
def test_each_input_of_the_evaluation_is_listed_once(built, design):
    """A file read for two purposes (dosage for the complier effect and officer hours) is one
    row naming both purposes, not two rows with the same SHA-256."""
    toml, reps = built[design]
    inputs = _results(toml)["meta"]["inputs"]
    html = reps["evaluation"].html
    sec = html[html.index("Inputs of the evaluation"):]
    table = sec[:sec.index("</table>")]
    files = re.findall(r"<td[^>]*><code>([^<]+)</code></td>\s*<td[^>]*><code>[0-9a-f]{64}", table)
    assert sorted(files) == sorted({e["file"] for e in inputs.values()})
    assert "patrol dosage (officer hours)" in table or "patrol dosage" not in inputs


def test_manifest_design_in_words():
    from rct.reports.common import manifest_design

    assert manifest_design({"design": "crossover", "scheme": "crossover"}) == "crossover"
    assert manifest_design({"design": "parallel", "scheme": "pairs"}) == "parallel, matched pairs"
    assert manifest_design({"design": "parallel", "scheme": "spaceship"}) == "parallel, spaceship"


@pytest.mark.parametrize("design", DESIGNS)
def test_compliance_table_shows_no_measure_the_trial_did_not_ask_for(built, design):
    """Without ``[dosage] cap_per_day`` there is no over-the-cap share: no row, no bare dash."""
    from rct.config import load_trial

    toml, reps = built[design]
    html = reps["monitor"].html
    sec = html[html.index("Compliance to date"):]
    table = sec[:sec.index("</table>")]
    assert load_trial(toml).dosage.cap_per_day is None
    assert "cap" not in visible_text(table)
    assert not re.search(r"<td[^>]*>\s*[–-]\s*</td>", table)
