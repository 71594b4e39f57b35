"""Lazy public names for a package: imported on first access (PEP 562).

Keeps ``import rct`` and ``rct --help`` free of pandas, statsmodels and
matplotlib until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``names[name]`` on demand.

    Parameters
    ----------
    package
        The package's ``__name__`` (for the error message).
    names
        Public name -> module that defines it.
    namespace
        The package's ``globals()``: a loaded name is cached there, so the
        import happens once.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace.get("__all__", ())) | set(names))

    return __getattr__, __dir__
