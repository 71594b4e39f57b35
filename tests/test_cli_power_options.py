"""`rct power`: every numeric option checks its range before any work, and --out/--plot
follow the one overwrite rule (issue 15)."""

from __future__ import annotations

import contextlib
import io

import pytest

from rct.cli import main

BASE = ["power", "analytic", "--hotspots", "45", "--per-day", "22", "--rate", "0.2",
        "--reduction", "0.15"]


class _R:
    def __init__(self, code, output):
        self.exit_code, self.output = code, output


def _run(args):
    """The CLI as a user runs it (exit code and everything printed)."""
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(buf):
        code = main(args)
    return _R(code, buf.getvalue())


@pytest.mark.parametrize(
    "args, message",
    [
        (["power", "analytic", "--hotspots", "45", "--per-day", "22", "--rate", "-1",
          "--reduction", "0.15"], "--rate = -1 is out of range"),
        ([*BASE, "--days", "nan"], "--days = nan is not a finite number"),
        ([*BASE[:-2], "--days", "90", "--reduction", "1.5"], "--reduction = 1.5 is out of range"),
        ([*BASE, "--alpha", "0"], "--alpha = 0 is out of range"),
        ([*BASE, "--power", "1.2"], "--power = 1.2 is out of range"),
        ([*BASE, "--dispersion", "-0.1"], "--dispersion = -0.1 is out of range"),
        ([*BASE, "--share", "0"], "--share = 0 is out of range"),
        (["power", "analytic", "--hotspots", "4.5", "--per-day", "2", "--rate", "0.2",
          "--reduction", "0.15"], "--hotspots = 4.5 must be a whole number"),
        (["power", "simulate", "--hotspots", "45,1", "--days", "30", "--rate", "0.2",
          "--reduction", "0.15", "--seed", "1"], "--hotspots = 1 is out of range"),
        (["power", "simulate", "--hotspots", "45", "--days", "30,inf", "--rate", "0.2",
          "--reduction", "0.15", "--seed", "1"], "--days = inf is not a finite number"),
        (["power", "simulate", "--hotspots", "45", "--days", "30", "--rate", "0.2",
          "--reduction", "0.15", "--seed", "1", "--n-sims", "0"], "--n-sims = 0 is out of range"),
        (["power", "empirical", "counts.csv", "--reduction", "0.15", "--seed", "-3"],
         "--seed = -3 is out of range"),
    ],
)
def test_out_of_range_options_are_refused_naming_the_option(args, message):
    r = _run(args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_power_outputs_follow_the_overwrite_rule(tmp_path):
    out = tmp_path / "power.json"
    out.write_text("keep me")
    r = _run([*BASE, "--out", str(out)])
    assert r.exit_code != 0 and "already exists" in r.output and "--force" in r.output
    assert out.read_text() == "keep me"  # refused before any work, nothing replaced
    r = _run([*BASE, "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert '"power"' in out.read_text()


def test_simulate_plot_is_refused_before_the_simulation(tmp_path):
    plot = tmp_path / "curve.png"
    plot.write_bytes(b"old")
    r = _run(["power", "simulate", "--hotspots", "12", "--days", "20,30", "--rate", "0.2",
              "--reduction", "0.15", "--seed", "1", "--n-sims", "20", "--plot", str(plot)])
    assert r.exit_code != 0 and "already exists" in r.output
    assert plot.read_bytes() == b"old"
    assert "hotspots" not in r.output  # no grid printed: refused before the simulation
