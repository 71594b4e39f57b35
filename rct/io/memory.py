"""Handing freed memory back to the operating system between stages.

After a reader has streamed a file, the memory of its chunks is free but
often still held by the allocators (pyarrow's pool, glibc's heap), so the
next stage's peak adds to it.  :func:`release` returns it: pyarrow's
``release_unused`` and, on Linux with glibc, ``malloc_trim(0)``.  It never
changes a result; elsewhere it does what it can and nothing more.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release"]


@functools.lru_cache(maxsize=1)
def _malloc_trim():  # -> callable or None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release() -> None:
    """Return memory freed by the previous stage to the operating system."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - an old pyarrow without the call
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
