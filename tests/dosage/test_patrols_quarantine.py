"""Bad patrol rows are quarantined with reasons; counts reconcile; nothing leaks."""

from __future__ import annotations

import pandas as pd
import pytest

from rct.cli import main
from rct.dosage.patrols import ingest_patrols
from rct.errors import QuarantineWarning
from rct.io.quarantine import quarantine_path

HOTSPOTS = tuple(f"HS{i:02d}" for i in range(1, 7))


def _bad_rows(good: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Bad rows built from good ones, and how many of each reason to expect."""
    base = good.iloc[0].to_dict()

    def row(**kw):
        r = dict(base)
        r.update(kw)
        return r

    n = len(good)
    bad = [
        row(patrol_id="X1", arrived_at="2024-03-28 10:00", left_at="2024-03-28 09:00"),
        row(patrol_id="X2", arrived_at="2024-03-28 10:00", left_at="2024-03-28 14:01"),
        row(patrol_id="X3", hotspot_id="HS99"),
        good.iloc[3].to_dict(),  # exact duplicate of a good row
        good.iloc[5].to_dict(),  # and another
        row(patrol_id="X4", arrived_at="2023-01-05 10:00", left_at="2023-01-05 10:20"),
        row(patrol_id="X5", arrived_at="not a time"),
        row(patrol_id="X6", left_at="2024-13-45 99:99"),
        row(patrol_id="X7", arrived_at=""),
        row(patrol_id=None),
        row(patrol_id="X8", officer_id=""),
        row(patrol_id="X9", hotspot_id=None),
        row(patrol_id="X10", stopped="maybe"),
        # the same patrol_id twice with different content: neither can be trusted
        row(patrol_id="X11", arrived_at="2024-03-28 11:00", left_at="2024-03-28 11:10"),
        row(patrol_id="X11", arrived_at="2024-03-28 12:00", left_at="2024-03-28 12:10"),
    ]
    expected = {
        "left before arrived": 1,
        "visit longer than 4 h": 1,
        "unknown hot spot": 1,
        "exact duplicate": 2,
        "outside the trial window": 1,
        "arrived_at: unparseable timestamp": 1,
        "left_at: unparseable timestamp": 1,
        "arrived_at: missing timestamp": 1,
        "missing patrol_id": 1,
        "missing officer_id": 1,
        "missing hotspot_id": 1,
        "unparseable stopped": 1,
        "conflicting duplicate patrol_id": 2,
    }
    assert n > 10
    return pd.DataFrame(bad), expected


def test_bad_rows_quarantined_with_reasons(simulated, key, tmp_path):
    bad, expected = _bad_rows(simulated.logs)
    logs = pd.concat([simulated.logs, bad], ignore_index=True)
    out = tmp_path / "out" / "patrol_dosage.parquet"
    with pytest.warns(QuarantineWarning, match=f"quarantined {sum(expected.values())}"):
        r = ingest_patrols(
            logs,
            hotspots=list(HOTSPOTS),
            key=key,
            out=out,
            trial_start=min(simulated.dates),
            trial_end=max(simulated.dates),
        )
    assert r.read.n_read == len(logs) == r.read.n_accepted + r.read.n_quarantined
    assert r.read.n_quarantined == sum(expected.values())
    assert r.read.reasons().to_dict() == expected
    # the good rows still give exactly the truth
    got = r.dosage[r.dosage["trial_date"].isin(simulated.dates)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, simulated.truth, check_exact=True)
    # the quarantine file sits beside the output and reconciles
    q = pd.read_csv(quarantine_path(out))
    assert quarantine_path(out).parent == out.parent
    assert len(q) == r.read.n_quarantined
    assert q["reason"].value_counts().to_dict() == expected
    assert {"source_file", "source_row", "reason"} <= set(q.columns)
    assert f"quarantined {sum(expected.values())}" in r.summary()


@pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")
def test_max_visit_hours_is_configurable(simulated, key):
    logs = simulated.logs.copy()
    logs["left_at"] = pd.to_datetime(logs["arrived_at"]) + pd.Timedelta(minutes=31)
    logs["left_at"] = logs["left_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    r = ingest_patrols(
        logs, hotspots=list(HOTSPOTS), key=key, max_visit_hours=0.5, max_quarantined=1
    )
    assert r.read.n_accepted == 0
    assert r.read.reasons().to_dict() == {"visit longer than 0.5 h": len(logs)}


def test_missing_column_is_a_clear_error(simulated, key):
    from rct.errors import DataError

    with pytest.raises(DataError, match="left_at"):
        ingest_patrols(simulated.logs.drop(columns=["left_at"]), hotspots=list(HOTSPOTS), key=key)


def test_cli_ingest_patrols(simulated, tmp_path, capsys):
    logs = tmp_path / "logs.csv"
    bad, expected = _bad_rows(simulated.logs)
    pd.concat([simulated.logs, bad]).to_csv(logs, index=False)
    hot = tmp_path / "hotspots.csv"
    pd.DataFrame({"hotspot_id": HOTSPOTS}).to_csv(hot, index=False)
    out = tmp_path / "out" / "dosage.csv"
    keyfile = tmp_path / "secret" / "key.txt"
    code = main(
        [
            "ingest", "patrols", str(logs), "--hotspots", str(hot), "--out", str(out),
            "--trial-start", str(min(simulated.dates)), "--trial-end", str(max(simulated.dates)),
            "--key-file", str(keyfile),
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "generated a new pseudonym key" in text and str(keyfile) in text
    assert keyfile.exists()
    d = pd.read_csv(out, dtype={"hotspot_id": str})
    d = d[d["trial_date"].isin([str(x) for x in simulated.dates])].reset_index(drop=True)
    assert d["presence_minutes"].tolist() == simulated.truth["presence_minutes"].tolist()
    q = pd.read_csv(quarantine_path(out))
    assert q["reason"].value_counts().to_dict() == expected


def test_cli_rejects_key_file_in_outputs(simulated, tmp_path, capsys):
    logs = tmp_path / "logs.csv"
    simulated.logs.to_csv(logs, index=False)
    hot = tmp_path / "hotspots.csv"
    pd.DataFrame({"hotspot_id": HOTSPOTS}).to_csv(hot, index=False)
    out = tmp_path / "out" / "dosage.parquet"
    code = main(
        ["ingest", "patrols", str(logs), "--hotspots", str(hot), "--out", str(out),
         "--key-file", str(tmp_path / "out" / "key.txt")]
    )  # fmt: skip
    assert code == 2
    assert "outside the outputs directory" in capsys.readouterr().err
    assert not out.exists()


def test_patrol_partly_inside_the_window_is_clipped(key):
    logs = pd.DataFrame(
        {
            "patrol_id": ["a", "b"],
            "officer_id": ["PC1", "PC2"],
            "hotspot_id": ["HS01", "HS01"],
            # a: begins on trial day 30 April (before the window), ends inside it
            # b: begins on the last trial day, ends the day after
            "arrived_at": ["2024-05-01 05:30", "2024-05-03 05:50"],
            "left_at": ["2024-05-01 06:20", "2024-05-03 06:30"],
        }
    )
    r = ingest_patrols(
        logs, hotspots=["HS01"], key=key, trial_start="2024-05-01", trial_end="2024-05-02"
    )
    assert r.read.n_quarantined == 0
    d = r.dosage.set_index("trial_date")
    assert d["presence_minutes"].to_dict() == {
        pd.Timestamp("2024-05-01").date(): 20.0,
        pd.Timestamp("2024-05-02").date(): 10.0,
    }
    # visits are counted on the day a patrol began: a began before the window
    assert d["visits"].tolist() == [0, 1]
