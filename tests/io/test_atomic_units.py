"""An output, its quarantine file and its manifest are one unit (issue 15, case 3).

A child process commits a new unit and is killed (``os._exit``, as abrupt as
``kill -9``) at each point of the commit; the reader then sees the old unit
or the new one, never a mix, and a mix made by hand is detected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rct.errors import InconsistentOutputError, OutputExistsError
from rct.io import atomic
from rct.io.atomic import (
    FAULT_ENV,
    FAULT_EXIT,
    OutputUnit,
    manifest_path,
    recover,
    verify_unit,
)

ROOT = Path(__file__).resolve().parents[2]

OLD = {"output": b"v1 table\n", "quarantine": b"source_file,source_row,reason\nx,1,old\n"}
NEW = {"output": b"v2 table, longer\n", "quarantine": b"source_file,source_row,reason\ny,2,new\n"}

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rct.io.atomic import OutputUnit
    out, with_q = Path(sys.argv[1]), sys.argv[2] == "1"
    unit = OutputUnit(out, companions={"quarantine": out.with_name("out.quarantine.csv")},
                      force=True)
    unit.check()
    unit.add_bytes("output", b"v2 table, longer\\n", rows=1)
    if with_q:
        unit.add_bytes("quarantine", b"source_file,source_row,reason\\ny,2,new\\n", rows=1)
    unit.commit(counts={"read": 3, "accepted": 2 if with_q else 3,
                        "quarantined": 1 if with_q else 0})
    """
)


def _commit(out: Path, files: dict[str, bytes], *, force: bool = True) -> None:
    unit = OutputUnit(out, companions={"quarantine": out.with_name("out.quarantine.csv")},
                      force=force)
    unit.check()
    unit.add_bytes("output", files["output"], rows=1)
    if "quarantine" in files:
        unit.add_bytes("quarantine", files["quarantine"], rows=1)
    q = 1 if "quarantine" in files else 0
    unit.commit(counts={"read": 3, "accepted": 3 - q, "quarantined": q})


def _state(out: Path) -> dict[str, bytes]:
    q = out.with_name("out.quarantine.csv")
    got = {"output": out.read_bytes()}
    if q.exists():
        got["quarantine"] = q.read_bytes()
    return got


def _child(out: Path, point: str, with_q: bool) -> int:
    env = {**os.environ, FAULT_ENV: point, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", CHILD, str(out), "1" if with_q else "0"],
                         env=env, capture_output=True, text=True, timeout=60)
    return run.returncode


POINTS_WITH_Q = [
    "temp:out.csv",
    "temp:out.quarantine.csv",
    "temp:out.csv.manifest.json",
    "commit-record",
    "rename:out.csv",
    "rename:out.quarantine.csv",
    "rename:out.csv.manifest.json",
    "done",
]
POINTS_WITHOUT_Q = [
    "temp:out.csv",
    "temp:out.csv.manifest.json",
    "commit-record",
    "rename:out.csv",
    "rename:out.csv.manifest.json",
    "remove:out.quarantine.csv",
    "done",
]


@pytest.mark.parametrize(
    ("point", "with_q"),
    [(p, True) for p in POINTS_WITH_Q] + [(p, False) for p in POINTS_WITHOUT_Q],
)
def test_case_03_kill_at_each_commit_point_leaves_old_or_new_unit(tmp_path, point, with_q):
    out = tmp_path / "out.csv"
    _commit(out, OLD)
    new = dict(NEW) if with_q else {"output": NEW["output"]}
    assert _child(out, point, with_q) == FAULT_EXIT  # killed at that point
    status = verify_unit(out)  # completes an interrupted commit, then checks every SHA-256
    assert status.ok and status.manifest is not None
    state = _state(out)
    assert state in (OLD, new), f"a mix after a kill at {point}: {state}"
    before_record = point.startswith("temp:")
    assert state == (OLD if before_record else new)
    # counts in the manifest match the quarantine that is there
    counts = status.manifest["counts"]
    assert counts["quarantined"] == (1 if "quarantine" in state else 0)
    # no temporaries and no commit record are left behind
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_case_03_a_hand_made_mix_is_detected(tmp_path):
    out = tmp_path / "out.csv"
    _commit(out, OLD)
    out.write_bytes(NEW["output"])  # a new table beside the old quarantine and manifest
    with pytest.raises(InconsistentOutputError, match=r"out\.csv.*does not match its SHA-256"):
        verify_unit(out)
    from rct.io.tables import read_table

    with pytest.raises(InconsistentOutputError, match="do not belong together"):
        read_table(out)


def test_case_03_stale_quarantine_from_another_run_is_detected_and_removed(tmp_path):
    out = tmp_path / "out.csv"
    _commit(out, {"output": OLD["output"]})  # a run with nothing quarantined
    q = tmp_path / "out.quarantine.csv"
    q.write_bytes(OLD["quarantine"])  # copied in from another run
    with pytest.raises(InconsistentOutputError, match="not part of this output"):
        verify_unit(out)
    _commit(out, {"output": NEW["output"]})  # the next run (0 quarantined) removes it
    assert not q.exists() and verify_unit(out).ok


def test_case_03_stale_temporaries_are_cleaned(tmp_path):
    out = tmp_path / "out.csv"
    _commit(out, OLD)
    stale = [tmp_path / ".out.csv.abc123.tmp", tmp_path / ".out.quarantine.csv.x.tmp"]
    for p in stale:
        p.write_bytes(b"half written")
    other = tmp_path / ".someone-else.tmp"
    other.write_bytes(b"not ours")
    recover(out)
    assert not any(p.exists() for p in stale) and other.exists()


@pytest.mark.parametrize("point", ["temp:out.quarantine.csv", "commit-record",
                                   "rename:out.csv", "rename:out.quarantine.csv"])
def test_case_03_an_error_during_commit_leaves_old_or_new_unit(tmp_path, point, monkeypatch):
    # a disk-full style error raised in the process (not a kill): cleaned up or rolled forward
    out = tmp_path / "out.csv"
    _commit(out, OLD)

    def hook(p: str) -> None:
        if p == point:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "fault_hook", hook)
    with pytest.raises(OSError, match="No space"):
        _commit(out, NEW)
    monkeypatch.setattr(atomic, "fault_hook", None)
    assert verify_unit(out).ok
    assert _state(out) == (OLD if point.startswith("temp:") else NEW)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_case_04_a_unit_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "out.csv"
    _commit(out, OLD)
    with pytest.raises(OutputExistsError, match=r"out\.csv already exists.*--force"):
        _commit(out, NEW, force=False)
    assert _state(out) == OLD
    # any member counts: a quarantine or manifest alone is an existing output
    out2 = tmp_path / "b" / "out.csv"
    out2.parent.mkdir()
    (out2.parent / "out.quarantine.csv").write_text("x")
    with pytest.raises(OutputExistsError, match="out.quarantine.csv"):
        OutputUnit(out2, companions={"quarantine": out2.parent / "out.quarantine.csv"}).check()


def test_case_11_manifest_records_sha256_of_inputs_and_outputs(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_bytes(b"a,b\n1,2\n")
    out = tmp_path / "out.csv"
    unit = OutputUnit(out)
    unit.check()
    unit.add_bytes("output", b"x\n", rows=1)
    man = unit.commit(counts={"read": 1, "accepted": 1, "quarantined": 0}, inputs=[inp])
    on_disk = json.loads(manifest_path(out).read_text())
    assert on_disk == man
    import hashlib

    assert man["inputs"] == [{"path": "in.csv", "sha256": hashlib.sha256(inp.read_bytes())
                              .hexdigest(), "bytes": 8}]
    assert man["files"][0]["sha256"] == hashlib.sha256(b"x\n").hexdigest()

