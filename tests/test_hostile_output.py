"""Hostile conditions for writers (issue 15, cases 3, 4, 5, 10 and 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rct.cli import main
from rct.errors import ConfigError, InconsistentOutputError, QuarantineLimitError
from rct.io.atomic import FAULT_ENV, FAULT_EXIT, manifest_path, verify_unit
from rct.io.tables import read_table
from tests.hostile_data import (
    KEY,
    crime_csv,
    crime_rows,
    hotspot_list,
    hotspots_geojson,
    patrol_csv,
    patrol_rows,
    ping_csv,
    ping_rows,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("RCT_PSEUDONYM_KEY", KEY)


def _airwave_args(tmp_path, pings, out):
    return ["ingest", "airwave", str(pings), "--hotspots",
            str(hotspots_geojson(tmp_path / "hs.geojson")), "--out", str(out)]


# --------------------------------------------------------------------------- case 3


def test_case_03_kill_during_the_quarantine_write_of_a_real_ingest(tmp_path):
    out = tmp_path / "out" / "aw.parquet"
    q = out.with_name("aw.quarantine.csv")
    rows = ping_rows()
    rows[3] = rows[3].replace("2024-06-01T10:01:00", "bad time")
    old = ping_csv(tmp_path / "old.csv", rows)
    assert main(_airwave_args(tmp_path, old, out)) == 0
    old_q = q.read_bytes()
    rows2 = ping_rows(24)
    rows2[0] = rows2[0].replace("2024-06-01T10:00:00", "")
    rows2[1] = rows2[1].replace("2024-06-01T10:00:10", "")
    new = ping_csv(tmp_path / "new.csv", rows2)
    # the crash: killed once the new table is in place, before the quarantine is
    code = subprocess.run(
        [sys.executable, "-c", "import sys; from rct.cli import main; sys.exit(main(sys.argv[1:]))",
         *_airwave_args(tmp_path, new, out), "--force"],
        env={**os.environ, FAULT_ENV: "rename:aw.parquet", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=300,
    ).returncode
    assert code == FAULT_EXIT
    assert q.read_bytes() == old_q  # on disk right now: new table, old quarantine ...
    table = read_table(out)  # ... but the reader completes the commit before reading
    man = json.loads(manifest_path(out).read_text())
    assert man["counts"] == {"read": 24, "accepted": 22, "quarantined": 2}
    assert len(pd.read_csv(q)) == 2 and table["pings"].sum() == 22
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_case_03_crimes_with_nothing_quarantined_remove_the_old_quarantine(tmp_path):
    hs = hotspots_geojson(tmp_path / "hs.geojson")
    out = tmp_path / "out" / "outcomes.parquet"
    q = out.with_name("outcomes.quarantine.csv")
    rows = crime_rows()
    rows[0] = rows[0].replace("450010", "")
    assert main(["ingest", "crimes", str(crime_csv(tmp_path / "a.csv", rows)), "--hotspots",
                 str(hs), "--out", str(out)]) == 0
    assert q.exists()
    assert main(["ingest", "crimes", str(crime_csv(tmp_path / "b.csv")), "--hotspots", str(hs),
                 "--out", str(out), "--force"]) == 0
    assert not q.exists()
    assert verify_unit(out).manifest["counts"]["quarantined"] == 0
    # monitor and evaluate read through read_table, which refuses a mix
    q.write_text("source_file,source_row,reason\nx,1,old\n")
    with pytest.raises(InconsistentOutputError, match="not part of this output"):
        read_table(out)


# --------------------------------------------------------------------------- case 4


def test_case_04_tasking_list_is_not_overwritten_without_force(tmp_path, capsys):
    hs = hotspot_list(tmp_path / "hs.csv", tuple(f"HS{i:02d}" for i in range(10)))
    tasking = tmp_path / "tasking.csv"
    tasking.write_text("the officers' current list\n")
    args = ["randomise", "crossover", str(hs), "--out", str(tmp_path / "schedule.csv"),
            "--start", "2024-06-01", "--days", "14", "--per-day", "5", "--seed", "3",
            "--tasking", str(tasking)]
    assert main(args) == 2
    assert "tasking.csv already exists" in capsys.readouterr().err
    assert tasking.read_text() == "the officers' current list\n"
    assert not (tmp_path / "schedule.csv").exists()  # refused before anything was written
    assert main([*args, "--force"]) == 0
    assert pd.read_csv(tasking)["n_tasked"].eq(5).all()


@pytest.mark.parametrize("command", ["patrols", "airwave", "crimes", "hotspots"])
def test_case_04_every_command_refuses_an_existing_output(tmp_path, command, capsys):
    hs_geo = hotspots_geojson(tmp_path / "hs.geojson")
    if command == "patrols":
        out = tmp_path / "d.parquet"
        args = ["ingest", "patrols", str(patrol_csv(tmp_path / "l.csv")), "--hotspots",
                str(hotspot_list(tmp_path / "h.csv")), "--out", str(out)]
    elif command == "airwave":
        out = tmp_path / "a.parquet"
        args = _airwave_args(tmp_path, ping_csv(tmp_path / "p.csv"), out)
    elif command == "crimes":
        out = tmp_path / "o.parquet"
        args = ["ingest", "crimes", str(crime_csv(tmp_path / "c.csv")), "--hotspots", str(hs_geo),
                "--out", str(out)]
    else:
        out = tmp_path / "built.geojson"
        args = ["hotspots", "build", str(crime_csv(tmp_path / "c.csv")), "--top", "1",
                "--out", str(out)]
    assert main(args) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert main([*args, "--force"]) == 0


# --------------------------------------------------------------------------- case 5


def _patrols_with_times(tmp_path, name, rewrite):
    """The patrol fixture with arrived_at/left_at rewritten; (out, command line)."""
    rows = [",".join(rewrite(v) if i in (3, 4) else v for i, v in enumerate(r.split(",")))
            for r in patrol_rows()]
    logs = patrol_csv(tmp_path / name, rows)
    out = tmp_path / "out" / "dosage.parquet"
    return out, ["ingest", "patrols", str(logs), "--hotspots",
                 str(hotspot_list(tmp_path / "h.csv")), "--out", str(out)]


def test_case_05_a_run_that_loses_most_rows_stops_and_writes_nothing(tmp_path, capsys):
    # an export whose times no reader can parse (month names, no year): every patrol is lost
    out, base = _patrols_with_times(tmp_path, "bad.csv", lambda v: f"{v[8:10]} May{v[10:]}")
    assert main(base) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "quarantined 20 of 20 patrol log rows (100%), more than the 50% allowed" in err
    assert "arrived_at: unparseable timestamp (20)" in err and "--max-quarantined 1" in err
    assert not out.parent.exists()
    assert main([*base, "--max-quarantined", "1"]) == 0
    assert pd.read_parquet(out)["visits"].sum() == 0


def test_case_05_uk_dates_are_read_or_refused_never_lost(tmp_path, capsys):
    # the case: an app export with UK day-first dates (dd/mm/yyyy). Every day here is
    # <= 12, so the order is ambiguous: refused up front naming file and column, nothing
    # written; with --dayfirst every patrol is read (none quarantined)
    out, base = _patrols_with_times(tmp_path, "uk.csv",
                                    lambda v: f"{v[8:10]}/{v[5:7]}/{v[:4]}{v[10:]}")
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "uk.csv" in err and "column 'arrived_at'" in err and "ambiguous" in err
    assert "--dayfirst" in err
    assert not out.parent.exists()
    assert main([*base, "--dayfirst"]) == 0
    assert pd.read_parquet(out)["visits"].sum() == 20


def test_case_05_limit_applies_to_pings_and_crimes(tmp_path):
    from rct.dosage.airwave import ingest_airwave
    from rct.ingest.outcomes import ingest_crimes

    rows = [r.replace("ISSI", "") .replace("2024-06-01T", "June ") for r in ping_rows()]
    with pytest.raises(QuarantineLimitError, match="quarantined 30 of 30 pings"):
        ingest_airwave(ping_csv(tmp_path / "p.csv", rows),
                       hotspots_geojson(tmp_path / "hs.geojson"), out=tmp_path / "a.parquet")
    crimes = [r.replace("450", "abc") for r in crime_rows()]
    with pytest.raises(QuarantineLimitError, match="unparseable coordinates"):
        ingest_crimes([crime_csv(tmp_path / "c.csv", crimes)],
                      hotspots=tmp_path / "hs.geojson", out=tmp_path / "o.parquet",
                      max_quarantined=0.3)
    assert not (tmp_path / "a.parquet").exists() and not (tmp_path / "o.parquet").exists()


# --------------------------------------------------------------------------- case 10


# (a tab or carriage return in an id is refused outright: a control character)
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@HYPERLINK(1)", "-HS07", "HS06"]


def test_case_10_formula_cells_are_neutralised_in_schedule_and_tasking(tmp_path):
    hs = tmp_path / "hs.csv"
    pd.DataFrame({"hotspot_id": FORMULAS, "baseline": [-3, 5, -1.5, 2, 0, 1]}).to_csv(
        hs, index=False)
    schedule, tasking = tmp_path / "schedule.csv", tmp_path / "tasking.csv"
    assert main(["randomise", "crossover", str(hs), "--out", str(schedule), "--start",
                 "2024-06-01", "--days", "6", "--per-day", "3", "--seed", "1",
                 "--tasking", str(tasking)]) == 0
    cells = [c for line in schedule.read_text().splitlines()[1:] for c in line.split(",")[:1]]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'=cmd|' /C calc'!A0" in schedule.read_text()
    tasked = pd.read_csv(tasking, dtype=str)["tasked"]
    assert not tasked.str.match(r"^[=+\-@\t]").any()
    # rct reads its own files back exactly, and the allocation still verifies
    back = read_table(schedule, dtype={"hotspot_id": str})
    assert set(back["hotspot_id"]) == set(FORMULAS)
    assert main(["randomise", "verify", str(schedule)]) == 0


def test_case_10_numbers_are_untouched_and_quarantine_csv_is_neutralised(tmp_path):
    from rct.io.atomic import write_table

    df = pd.DataFrame({"n": [-1, 2], "x": [-0.5, 1e3], "t": ["-12", "=1+1"]})
    p = write_table(df, tmp_path / "t.csv")
    assert p.read_text().splitlines() == ["n,x,t", "-1,-0.5,-12", "2,1000.0,'=1+1"]
    rows = patrol_rows()
    rows[0] = rows[0].replace("P000", "=HYPERLINK(1)").replace("10:00", "not a time")
    out = tmp_path / "o" / "d.csv"
    assert main(["ingest", "patrols", str(patrol_csv(tmp_path / "l.csv", rows)), "--hotspots",
                 str(hotspot_list(tmp_path / "h.csv")), "--out", str(out)]) == 0
    assert "'=HYPERLINK(1)" in out.with_name("d.quarantine.csv").read_text()


# --------------------------------------------------------------------------- case 12


def _trial(tmp_path, files: str) -> Path:
    d = tmp_path / "trial"
    d.mkdir(exist_ok=True)
    p = d / "trial.toml"
    p.write_text(f'[design]\ntype = "parallel"\n\n[files]\n{files}\n')
    return p


@pytest.mark.parametrize(("files", "key"), [
    ('out_dir = "../escaped_out"', "out_dir"),
    ('hotspots = "../../../../etc/passwd"', "hotspots"),
    ('crimes = ["/tmp/elsewhere/*.csv"]', "crimes"),
    ('outcomes = "out/../../x.parquet"', "outcomes"),
    ('harm = "../weights.csv"', "harm"),
])
def test_case_12_trial_paths_stay_in_the_trial_folder(tmp_path, files, key):
    from rct.config import load_trial

    p = _trial(tmp_path, files)
    with pytest.raises(ConfigError, match=rf"\[files\] {key} = .* is outside the trial's folder"):
        load_trial(p)
    assert load_trial(p, allow_outside=True).path == p.resolve()


def test_case_12_monitor_writes_nothing_outside_without_the_option(tmp_path, capsys):
    p = _trial(tmp_path, 'allocation = "schedule.csv"\nout_dir = "../escaped_out"')
    assert main(["monitor", str(p)]) == 2
    assert "--allow-outside" in capsys.readouterr().err
    assert not (tmp_path / "escaped_out").exists()
    # with the explicit option the path is accepted (the run then needs its files)
    assert main(["--allow-outside", "monitor", str(p)]) == 2
    assert "is outside the trial's folder" not in capsys.readouterr().err
    # and the option does not leak into the next run
    assert main(["monitor", str(p)]) == 2
    assert "is outside the trial's folder" in capsys.readouterr().err


def test_case_10_parallel_allocation_with_formula_ids_verifies_and_balances(tmp_path, capsys):
    hs = tmp_path / "hs.csv"
    pd.DataFrame({"hotspot_id": FORMULAS, "crimes": [1, 2, 3, 4, 5, 6]}).to_csv(hs, index=False)
    alloc = tmp_path / "alloc.csv"
    assert main(["randomise", "parallel", str(hs), "--out", str(alloc), "--seed", "1"]) == 0
    assert "'=cmd" in alloc.read_text()
    assert main(["randomise", "verify", str(alloc)]) == 0
    assert main(["randomise", "balance", str(alloc), "--covariates", "crimes"]) == 0
    assert "Omnibus balance" in capsys.readouterr().out
