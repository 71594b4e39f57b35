"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "rct" / "data"


@pytest.fixture(scope="session")
def police_uk_dir() -> Path:
    return DATA / "police_uk"


@pytest.fixture(scope="session")
def harm_dir() -> Path:
    return DATA / "harm"
