"""Pseudonyms: keyed hash, key handling, and no raw officer ID in any output."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pandas as pd
import pytest

from rct.dosage.patrols import ingest_patrols
from rct.dosage.pseudonym import KEY_ENV, Pseudonymiser, default_key_file, load_or_create_key
from rct.errors import DataError
from rct.io.quarantine import quarantine_path

HOTSPOTS = tuple(f"HS{i:02d}" for i in range(1, 7))


def test_pseudonym_is_truncated_hmac_sha256():
    key = b"k" * 32
    p = Pseudonymiser(key, prefix="officer-", length=12)
    want = "officer-" + hmac.new(key, b"PC 1234", hashlib.sha256).hexdigest()[:12]
    assert p("PC 1234") == want
    s = p.apply(pd.Series(["PC 1234", None, " PC 1234 ", "PC 9"]))
    assert s[0] == want and s[2] == want and pd.isna(s[1]) and s[3] != want


def test_different_keys_different_pseudonyms():
    a = Pseudonymiser(b"a" * 16)("PC1")
    b = Pseudonymiser(b"b" * 16)("PC1")
    assert a != b and a.startswith("officer-") and b.startswith("officer-")


def test_short_key_rejected():
    with pytest.raises(ValueError, match="at least 16"):
        Pseudonymiser(b"short")


def test_generated_key_is_saved_outside_outputs_and_reused(tmp_path):
    out = tmp_path / "outputs" / "dosage.parquet"
    key1, src1 = load_or_create_key(outputs=[out])
    assert src1.kind == "generated" and src1.path == default_key_file()
    assert str(src1.path) in src1.describe()
    assert not src1.path.resolve().is_relative_to(out.parent.resolve())
    assert stat.S_IMODE(os.stat(src1.path).st_mode) == 0o600
    key2, src2 = load_or_create_key(outputs=[out])
    assert key1 == key2 and src2.kind == "file"


def test_key_from_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "an environment key, long enough")
    key, src = load_or_create_key()
    assert key == b"an environment key, long enough" and src.kind == "env"


def test_key_file_inside_outputs_is_refused(tmp_path):
    out = tmp_path / "outputs" / "dosage.parquet"
    with pytest.raises(DataError, match="outside the outputs"):
        load_or_create_key(tmp_path / "outputs" / "sub" / "key", outputs=[out])
    with pytest.raises(DataError, match="not found"):
        load_or_create_key(tmp_path / "nokey", create=False)


@pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")
def test_no_raw_officer_id_or_notes_in_any_output(simulated, officers, tmp_path):
    bad = simulated.logs.iloc[:3].copy()
    bad["left_at"] = "garbage"  # quarantined rows carry officer IDs and notes too
    logs = pd.concat([simulated.logs, bad], ignore_index=True)
    out = tmp_path / "out" / "dosage.csv"
    r = ingest_patrols(logs, hotspots=list(HOTSPOTS), out=out, key_file=tmp_path / "k" / "key")
    assert r.read.n_quarantined == 3
    texts = [out.read_text(), quarantine_path(out).read_text()]
    texts.append(r.read.data.to_csv())
    texts.append(r.read.quarantine.to_csv())
    for text in texts:
        for officer in officers:
            assert officer not in text
        assert "saw " not in text  # the notes
    assert r.read.quarantine["officer"].str.startswith("officer-").all()
    # pseudonyms are consistent between accepted and quarantined rows
    assert set(r.read.quarantine["officer"]) <= set(r.read.data["officer"])


def test_notes_copied_only_when_asked(simulated, key):
    r = ingest_patrols(simulated.logs, hotspots=list(HOTSPOTS), key=key, include_notes=True)
    assert "notes" in r.read.data.columns
    assert r.read.data["notes"].str.startswith("saw ").all()
    r = ingest_patrols(simulated.logs, hotspots=list(HOTSPOTS), key=key)
    assert "notes" not in r.read.data.columns
