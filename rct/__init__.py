"""hotspot-rct: randomised controlled trials of hot-spot policing.

Importing :mod:`rct` is cheap: the public names below are loaded on first
use, so ``rct --help`` stays fast.  See ``README.md`` for a tour.
"""

from __future__ import annotations

import importlib
from typing import Any

from rct._version import __version__
from rct.errors import (
    ConfigError,
    DataError,
    DesignError,
    RCTError,
    RCTWarning,
    VerificationError,
)

# public name -> module that defines it (imported lazily on first access)
_LAZY: dict[str, str] = {}

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "DesignError",
    "RCTError",
    "RCTWarning",
    "VerificationError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rct' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
