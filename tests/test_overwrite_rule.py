"""One overwrite rule for every output: evaluate, monitor and report refuse to replace
existing files unless --force, before doing the work (issue 15, case 4)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from pathlib import Path

import pytest

from rct.cli import main
from tests.reports.conftest import build_trial


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> Path:
    return build_trial(tmp_path_factory.mktemp("overwrite") / "trial", n_hotspots=10, days=21,
                       seed=5, plant=False)


def _run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_evaluate_refuses_existing_results_unless_force(trial, tmp_path):
    root = tmp_path / "t"
    shutil.copytree(trial.parent, root)
    res = root / "out" / "results.json"
    before = _sha(res)
    code, err = _run(["evaluate", str(root / "trial.toml")])
    assert code == 2 and "results.json" in err and "--force" in err
    assert _sha(res) == before  # untouched
    assert _run(["evaluate", str(root / "trial.toml"), "--force"])[0] == 0
    # results.json and its CSV are one unit with a manifest naming both
    import json

    man = json.loads((root / "out" / "results.json.manifest.json").read_text())
    assert {f["name"] for f in man["files"]} == {"results.json", "results.csv"}


def test_monitor_outputs_are_one_unit_and_refused_unless_force(trial, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(trial.parent, root)
    code, err = _run(["monitor", str(root / "trial.toml")])
    assert code == 2 and "monitor" in err and "--force" in err
    assert _run(["monitor", str(root / "trial.toml"), "--force"])[0] == 0
    import json

    man = json.loads((root / "out" / "monitor.json.manifest.json").read_text())
    names = {f["name"] for f in man["files"]}
    assert {"monitor.json", "monitor_weekly.csv", "monitor_sequential.csv"} <= names


@pytest.mark.parametrize("kind", ["design", "monitor", "evaluation"])
def test_report_refuses_an_existing_file_unless_force(trial, tmp_path, kind):
    out = tmp_path / f"{kind}.html"
    out.write_text("previous report")
    code, err = _run(["report", kind, str(trial), "--out", str(out)])
    assert code == 2 and out.name in err
    assert out.read_text() == "previous report"
    assert _run(["report", kind, str(trial), "--out", str(out), "--force"])[0] == 0
    assert out.read_text().lower().startswith("<!doctype html>")
