"""Loader for the committed R reference outputs (tests/reference/evaluate)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate"


@cache
def reference() -> dict:
    return json.loads((REF / "estimators_reference.json").read_text())


def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")
