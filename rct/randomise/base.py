"""Shared machinery of the randomisation designs: the random stream, canonical order, versions.

Determinism
-----------
An allocation must be a pure function of (inputs, parameters, seed,
:data:`ALGORITHM_VERSION`), on any machine and after package upgrades
(randomizr issue #73 is the failure to avoid).  Three rules make that so:

1. **Only the raw bit stream.**  Every random number is taken from
   ``numpy.random.PCG64(seed).random_raw`` -- the bit generator's raw 64-bit
   output.  numpy guarantees that a BitGenerator's stream never changes
   (NEP 19); it does *not* make that promise for ``Generator`` methods such as
   ``permutation``, ``choice`` or ``shuffle``, whose algorithms may be improved
   in any release.  We turn raw words into sort keys and uniforms ourselves
   (:func:`uniform`), using only IEEE-754 arithmetic, which is correctly
   rounded everywhere.
2. **Stable sorts of random keys.**  A random permutation is the stable
   ``argsort`` of random keys; a stable sort's output is fully determined by its
   input, whatever algorithm numpy uses inside.  (Equal keys, probability about
   ``N**2 / 2**49`` per draw, fall back to the canonical order -- still
   deterministic.)
3. **Canonical unit order.**  Units are sorted by ``hotspot_id`` (Python string
   order, i.e. Unicode code points, independent of locale) before any random
   number is used, so the row order of the input file does not matter: the
   same hot spots and covariates always give the same allocation.

Each candidate allocation consumes a fixed number of raw words, so the i-th
candidate is the same whatever batch size the code uses.  Changing any of
this means a new algorithm version, never a silent change.

Versions
--------
Every manifest records the version of the algorithm that made it, and
``rct randomise verify`` re-derives an allocation with that version.
Parallel designs are at :data:`ALGORITHM_VERSION` (``rct-randomise/1``);
crossover designs are at :data:`CROSSOVER_ALGORITHM_VERSION`
(``rct-randomise/3``: schedules drawn uniformly from the design by exact
curveball trades, :mod:`rct.randomise.crossover_v3`), and ``rct-randomise/2``
(the same target by masked trades, :mod:`rct.randomise.crossover_mcmc`) and
``rct-randomise/1`` crossover schedules (the earlier priority sampler) still
re-derive: :data:`SUPPORTED_VERSIONS` lists what this rct can rebuild.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rct.errors import DataError, DesignError

__all__ = [
    "ALGORITHM_VERSION",
    "CROSSOVER_ALGORITHM_VERSION",
    "CROSSOVER_ALGORITHM_VERSIONS",
    "SUPPORTED_VERSIONS",
    "AllocationExistsError",
    "RawStream",
    "canonical_ids",
    "uniform",
    "key48",
    "validate_arms",
    "stable_digest",
]

#: Version of the parallel designs' algorithms in :mod:`rct.randomise` that turn
#: (inputs, parameters, seed) into an allocation.  Bumped whenever any output could change.
ALGORITHM_VERSION = "rct-randomise/1"

#: Version of the crossover sampler new schedules are made with.
CROSSOVER_ALGORITHM_VERSION = "rct-randomise/3"

#: Crossover algorithms this rct can run (old manifests re-derive with theirs).
CROSSOVER_ALGORITHM_VERSIONS = ("rct-randomise/1", "rct-randomise/2", "rct-randomise/3")

#: Versions this rct can re-derive, by design kind (manifest ``design.design``).
SUPPORTED_VERSIONS = {"parallel": (ALGORITHM_VERSION,), "crossover": CROSSOVER_ALGORITHM_VERSIONS}

_TWO_M53 = 2.0**-53


class AllocationExistsError(DesignError):
    """Refusal to overwrite an existing allocation without ``force``."""


class RawStream:
    """The raw 64-bit output of ``PCG64(seed)``, read sequentially.

    Parameters
    ----------
    seed
        A non-negative integer, or a ``numpy.random.Generator`` (its bit
        generator's raw stream is then used; for ``.draw``).
    """

    def __init__(self, seed: int | np.random.Generator | np.random.BitGenerator) -> None:
        if isinstance(seed, np.random.Generator):
            self._bg = seed.bit_generator
        elif isinstance(seed, np.random.BitGenerator):
            self._bg = seed
        else:
            self._bg = np.random.PCG64(check_seed(seed))

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` raw 64-bit words (uint64)."""
        if n <= 0:
            return np.empty(0, dtype=np.uint64)
        return np.asarray(self._bg.random_raw(int(n)), dtype=np.uint64)


def check_seed(seed: Any) -> int:
    """Validate a seed: a non-negative integer (bools and floats are refused)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise DesignError(f"seed must be a non-negative integer, got {seed!r}")
    if int(seed) < 0:
        raise DesignError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def uniform(words: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) doubles from raw words: the top 53 bits times ``2**-53`` (exact)."""
    return (words >> np.uint64(11)).astype(np.float64) * _TWO_M53


def key48(words: np.ndarray) -> np.ndarray:
    """48-bit sort keys (uint64) from raw words, leaving 16 high bits for a group index."""
    return words >> np.uint64(16)


def canonical_ids(ids: Iterable[Any], *, what: str = "hotspot_id") -> list[str]:
    """Hot-spot ids as strings in canonical (code-point) order; duplicates/blanks refused."""
    out = [str(i) for i in ids]
    seen: set[str] = set()
    for i, s in enumerate(out):
        if s.strip() == "" or s.lower() in {"nan", "none", "<na>"}:
            raise DataError("blank identifier", row=i + 1, column=what, value=s)
        if s in seen:
            raise DataError("duplicate identifier", row=i + 1, column=what, value=s)
        seen.add(s)
    return sorted(out)


def validate_arms(arms: Sequence[str], ratio: Sequence[int]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Check arm names (>= 2, distinct) and integer ratio weights (>= 1, one per arm)."""
    arms_t = tuple(str(a) for a in arms)
    if len(arms_t) < 2:
        raise DesignError(f"a design needs at least two arms, got {arms_t!r}")
    if len(set(arms_t)) != len(arms_t):
        raise DesignError(f"arm names must be distinct, got {arms_t!r}")
    ratio_t = tuple(ratio)
    if len(ratio_t) != len(arms_t):
        raise DesignError(f"ratio {ratio_t!r} needs one weight per arm {arms_t!r}")
    out = []
    for r in ratio_t:
        if isinstance(r, bool) or not isinstance(r, int | np.integer) or int(r) < 1:
            raise DesignError(f"ratio weights must be positive integers, got {ratio_t!r}")
        out.append(int(r))
    return arms_t, tuple(out)


def stable_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys, floats by ``repr``)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def choice_error(name: str, value: Any, valid: Iterable[str]) -> ValueError:
    """The error for an unknown choice, listing the valid ones (a ValueError subclass)."""
    return DesignError(f"unknown {name} {value!r}; valid: {', '.join(sorted(valid))}")
