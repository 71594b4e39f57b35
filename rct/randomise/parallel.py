"""Parallel designs: complete, blocked, matched-pair and re-randomised allocations.

Every parallel scheme is a *blocked* design (complete randomisation is one
block; matched pairs are blocks of two), optionally with a Morgan-Rubin
acceptance rule on top.  One kernel (:meth:`ParallelDesign._base`) draws
assignments for all schemes, vectorised over draws; the realised allocation
is simply the first acceptable draw from ``PCG64(seed)``, so it comes from
exactly the distribution that :meth:`ParallelDesign.draw` samples.

Remainder rule (blocks whose size is not a multiple of the ratio)
-----------------------------------------------------------------
In a block of ``n`` units with integer ratio ``r_1 : ... : r_A``
(``R = sum r``), arm ``a`` is guaranteed ``floor(n r_a / R)`` units.  The
``e = n - sum floor(.)`` leftover units are given to ``e`` distinct arms chosen
by *systematic sampling* with inclusion probabilities ``frac(n r_a / R)``
(one uniform ``u``; arms in their listed order; arm ``a`` gets an extra unit
iff an integer ``j`` has ``C_{a-1}/R <= u + j < C_a/R`` with ``C`` the cumulative
remainders).  Units are then placed by a uniformly random permutation within the
block.  So arm ``a`` expects exactly ``n r_a / R`` units and **every unit's
probability of arm a is exactly r_a / R**, whatever the block sizes; the
realised totals may differ from the ratio by less than one unit per block.
(randomizr leaves this case implicit; here it is fixed and documented.)
With explicit ``counts=`` (complete scheme) the counts are fixed and
``P(arm a) = counts[a] / N``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from rct.errors import DesignError
from rct.randomise.base import (
    ALGORITHM_VERSION,
    RawStream,
    canonical_ids,
    check_seed,
    choice_error,
    stable_digest,
    validate_arms,
)
from rct.randomise.blocks import as_frame, column_blocks, matched_sets, numeric, quantile_blocks
from rct.randomise.kernel import arrangements, base_kernel, count_support, multinomial
from rct.randomise.rerandomise import MahalanobisScorer, resolve_threshold

__all__ = ["ParallelDesign", "parallel", "SCHEMES"]

Scheme = Literal["complete", "block", "pairs", "rerandomise"]
SCHEMES = ("complete", "block", "pairs", "rerandomise")
_ENUM_PROB_LIMIT = 200_000


@dataclass(frozen=True, eq=False)
class ParallelDesign:
    """A parallel-arm allocation and the randomisation distribution it came from.

    Build with :func:`parallel`.  Attributes are read-only; arrays are
    write-protected.
    """

    ids: tuple[str, ...]
    arms: tuple[str, ...]
    scheme: str
    seed: int
    block_of: np.ndarray = field(repr=False)
    block_labels: tuple[str, ...] = field(repr=False)
    base_counts: np.ndarray = field(repr=False)
    remainders: np.ndarray = field(repr=False)
    denominators: np.ndarray = field(repr=False)
    assignment: np.ndarray = field(repr=False)
    parameters: dict[str, Any] = field(repr=False)
    derived: dict[str, Any] = field(repr=False)
    scorer: MahalanobisScorer | None = field(default=None, repr=False)
    threshold: float | None = None
    algorithm_version: str = ALGORITHM_VERSION
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- contract ------------------------------------------------------------
    @property
    def units(self) -> Any:
        """The unit index: ``hotspot_id`` in canonical (code-point) order."""
        import pandas as pd

        return pd.Index(list(self.ids), name="hotspot_id")

    @property
    def allocation(self) -> Any:
        """DataFrame ``hotspot_id, arm, block``, one row per hot spot, canonical order."""
        import pandas as pd

        return pd.DataFrame(
            {
                "hotspot_id": list(self.ids),
                "arm": [self.arms[int(a)] for a in self.assignment],
                "block": [self.block_labels[int(b)] for b in self.block_of],
            }
        )

    @property
    def n_units(self) -> int:
        return len(self.ids)

    @property
    def n_blocks(self) -> int:
        return len(self.block_labels)

    def probabilities(self) -> Any:
        """Exact ``P(arm)`` per unit: DataFrame indexed like :attr:`units`, one column per arm.

        ``.attrs["method"]`` says how they were obtained: ``"exact"`` (design
        formula or enumeration), ``"symmetry"`` (two arms 1:1 with
        re-randomisation: the acceptance rule is symmetric in the arms, so 1/2),
        or ``"monte-carlo"`` (re-randomisation with unequal arms and too many
        assignments to enumerate; ``.attrs["mc_se"]`` is the largest standard
        error).
        """
        import pandas as pd

        method, mc_se = "exact", 0.0
        if self.scorer is None:
            p = self._base_probabilities()
        else:
            enum = (
                self.enumerate(_ENUM_PROB_LIMIT, with_probabilities=True)
                if self._n_base() <= _ENUM_PROB_LIMIT
                else None
            )
            if enum is not None:
                z, w = enum
                p = np.stack([(w[:, None] * (z == a)).sum(axis=0) for a in range(len(self.arms))], 1)
            elif self._arm_symmetric():
                p = np.full((self.n_units, 2), 0.5)
                method = "symmetry"
            else:
                draws = 20_000
                z = self.draw(draws, np.random.Generator(np.random.PCG64([self.seed, 0x50524F42])))
                p = np.stack([(z == a).mean(axis=0) for a in range(len(self.arms))], 1)
                mc_se = float(np.sqrt(p * (1 - p) / draws).max())
                method = "monte-carlo"
        df = pd.DataFrame(p, index=self.units, columns=list(self.arms))
        df.attrs["method"] = method
        df.attrs["mc_se"] = mc_se
        return df

    def draw(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` fresh assignments (int8, shape ``(n, N)``) from this design's distribution.

        Uses the same kernel, blocks, remainder rule and (for re-randomisation)
        the same acceptance rule as the realised allocation.  ``rng`` is a
        ``numpy.random.Generator`` (its bit generator is advanced) or a seed.
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        stream = RawStream(np.random.default_rng() if rng is None else rng)
        if self.scorer is None:
            return self._base(stream, n)
        out: list[np.ndarray] = []
        got, rate = 0, max(float(self.derived.get("acceptance_nominal", 0.5)), 1e-4)
        tried = 0
        while got < n:
            b = int(min(20_000, max(64, math.ceil((n - got) / rate * 1.2))))
            z = self._base(stream, b)
            ok = self.scorer.accept(z, self.threshold)  # type: ignore[arg-type]
            out.append(z[ok][: n - got])
            got += int(ok.sum())
            tried += b
            rate = max(got / tried, 1e-4)
            if got < n and tried >= int(self.parameters["max_candidates"]) * max(1, n - got):
                raise DesignError(
                    f"re-randomisation draws: only {got} of {tried:,} candidates accepted"
                )
        return np.concatenate(out, axis=0)[:n] if out else np.empty((0, self.n_units), np.int8)

    def enumerate(
        self, limit: int = 100_000, *, with_probabilities: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray] | None:
        """Every possible assignment (rows, int8) when there are at most ``limit``; else None.

        With ``with_probabilities=True`` returns ``(assignments, probabilities)``;
        the probabilities sum to one (they are equal unless blocks have
        remainders or counts are random).
        """
        base = self._enumerate_base(limit if self.scorer is None else _ENUM_PROB_LIMIT)
        if base is None:
            return None
        z, w = base
        if self.scorer is not None:
            ok = self.scorer.accept(z, self.threshold)  # type: ignore[arg-type]
            z, w = z[ok], w[ok]
            if len(z) > limit:
                return None
            w = w / w.sum()
        return (z, w) if with_probabilities else z

    @property
    def n_assignments(self) -> int | float:
        """Number of possible assignments (exact int; float estimate when re-randomised and huge)."""
        if "n_assignments" not in self._cache:
            nb = self._n_base()
            if self.scorer is None:
                val: int | float = nb
            elif nb <= _ENUM_PROB_LIMIT:
                z = self.enumerate(_ENUM_PROB_LIMIT)
                val = 0 if z is None else len(z)
            else:
                val = float(nb) * float(self.derived["acceptance_nominal"])
            self._cache["n_assignments"] = val
        return self._cache["n_assignments"]

    def to_dict(self) -> dict[str, Any]:
        """Scheme, call parameters, seed, algorithm version and derived facts (JSON-ready)."""
        return {
            "design": "parallel",
            "scheme": self.scheme,
            "seed": self.seed,
            "algorithm_version": self.algorithm_version,
            "parameters": dict(self.parameters),
            "derived": dict(self.derived),
        }

    def tidy(self) -> Any:
        """The allocation with each unit's assignment probabilities as ``p_<arm>`` columns."""
        df = self.allocation
        p = self.probabilities()
        for a in self.arms:
            df[f"p_{a}"] = p[a].to_numpy()
        return df

    # -- kernel ----------------------------------------------------------------
    @property
    def _width(self) -> int:
        return self.n_units + self.n_blocks

    def _base(self, stream: RawStream, n: int) -> np.ndarray:
        """``n`` draws from the blocked design (no acceptance rule); ``N + B`` words each."""
        return base_kernel(
            stream.words(n * self._width).reshape(n, self._width),
            self.block_of,
            self.base_counts,
            self.remainders,
            self.denominators,
        )

    def _base_probabilities(self) -> np.ndarray:
        size = np.bincount(self.block_of, minlength=self.n_blocks)
        num = self.base_counts * self.denominators[:, None] + self.remainders
        den = (self.denominators * size)[:, None]
        return (num / den)[self.block_of]

    def _arm_symmetric(self) -> bool:
        return (
            len(self.arms) == 2
            and bool((self.base_counts[:, 0] == self.base_counts[:, 1]).all())
            and bool((self.remainders[:, 0] == self.remainders[:, 1]).all())
        )

    def _block_options(self, b: int) -> list[tuple[tuple[int, ...], Fraction]]:
        return count_support(
            self.base_counts[b], self.remainders[b], int(self.denominators[b])
        )

    def _n_base(self) -> int:
        size = np.bincount(self.block_of, minlength=self.n_blocks)
        total = 1
        for b in range(self.n_blocks):
            total *= sum(multinomial(int(size[b]), c) for c, _ in self._block_options(b))
        return total

    def _enumerate_base(self, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
        if self._n_base() > limit:
            return None
        z = np.zeros((1, self.n_units), dtype=np.int8)
        w = np.ones(1, dtype=np.float64)
        for b in range(self.n_blocks):
            cols = np.flatnonzero(self.block_of == b)
            arrs, probs = [], []
            for counts, p in self._block_options(b):
                arr = arrangements(len(cols), counts)
                arrs.append(arr)
                probs.append(np.full(len(arr), float(p / len(arr))))
            arr = np.concatenate(arrs, axis=0)
            pb = np.concatenate(probs)
            m, prev = len(arr), len(z)
            z = np.repeat(z, m, axis=0)
            z[:, cols] = np.tile(arr, (prev, 1))
            w = np.repeat(w, m) * np.tile(pb, prev)
        return z, w / w.sum()


# -- builder ---------------------------------------------------------------------
def parallel(
    units: Any,
    *,
    scheme: Scheme = "complete",
    arms: Sequence[str] = ("control", "treatment"),
    ratio: Sequence[int] = (1, 1),
    seed: int,
    counts: Sequence[int] | None = None,
    block_column: str | None = None,
    blocks_from: str | None = None,
    n_blocks: int | None = None,
    rank_column: str | None = None,
    covariates: Sequence[str] | None = None,
    threshold: float | None = None,
    acceptance: float | None = None,
    max_candidates: int = 10_000_000,
    id_column: str = "hotspot_id",
    pairs_leftover: Literal["merge", "alone"] = "merge",
) -> ParallelDesign:
    """Randomise hot spots to arms for the whole trial.

    Parameters
    ----------
    units
        DataFrame (or GeoDataFrame) with ``id_column`` plus any block, rank or
        covariate columns; or a plain sequence of hot-spot ids (complete scheme).
        Row order does not matter: units are sorted by id first.
    scheme
        ``"complete"`` (``counts`` or the ratio over all units), ``"block"``
        (``block_column``, or ``blocks_from`` + ``n_blocks`` quantile blocks),
        ``"pairs"`` (matched sets of ``sum(ratio)`` consecutive units by
        descending ``rank_column``, within ``block_column`` if given) or
        ``"rerandomise"`` (Morgan-Rubin on ``covariates``, on top of complete or
        blocked randomisation).
    arms, ratio
        Arm names (code ``i`` = ``arms[i]``; the first is the control) and integer weights.
    seed
        Non-negative integer; the allocation is a pure function of the inputs,
        parameters, seed and :data:`ALGORITHM_VERSION`.
    counts
        Exact number of units per arm (complete scheme only), e.g. ``(38, 34)``.
    threshold, acceptance
        Re-randomisation: accept ``M <= threshold``, or give the nominal
        acceptance probability (threshold = chi-squared quantile).
    max_candidates
        Give up (DesignError) after this many rejected candidates.
    pairs_leftover
        Matched pairs with units left over (an odd number of hot spots):
        ``"merge"`` (default) joins them to the lowest-ranked full set, so a
        matched triple has both arms and every set can be analysed;
        ``"alone"`` leaves them in a set of their own (allocations made before
        this option existed; every unit still has probability ``r_a / R``).

    Returns
    -------
    ParallelDesign

    Notes
    -----
    Blocks whose size is not a multiple of ``sum(ratio)`` follow the remainder
    rule in this module's docstring: every unit keeps probability
    ``r_a / R`` exactly.  Quantile blocks rank ``blocks_from`` ascending (ties by
    id) and cut into ``n_blocks`` groups whose sizes differ by at most one.
    Matched pairs (as in the Sacramento hot-spots trial) rank
    by ``rank_column`` descending, ties by id; with an odd number of hot spots
    the lowest-ranked one joins the last pair as a matched triple (one or two
    of its three treated, by the remainder rule, so every hot spot keeps
    probability 1/2 and every set has both arms for the within-pair analysis).  Re-randomisation: Morgan & Rubin (2012);
    see :class:`~rct.randomise.rerandomise.MahalanobisScorer`.
    """
    if scheme not in SCHEMES:
        raise choice_error("scheme", scheme, SCHEMES)
    arms_t, ratio_t = validate_arms(arms, ratio)
    seed = check_seed(seed)
    df = as_frame(units, id_column)
    order = sorted(range(len(df)), key=lambda i: df["__id"].iat[i])
    df = df.iloc[order].reset_index(drop=True)
    ids = canonical_ids(df["__id"], what=id_column)
    n = len(ids)
    if n < 2:
        raise DesignError(f"need at least 2 hot spots to randomise, got {n}")
    digest: dict[str, Any] = {"ids": ids}
    n_arms = len(arms_t)
    params: dict[str, Any] = {
        "scheme": scheme,
        "arms": list(arms_t),
        "ratio": list(ratio_t),
        "counts": None if counts is None else [int(c) for c in counts],
        "block_column": block_column,
        "blocks_from": blocks_from,
        "n_blocks": n_blocks,
        "rank_column": rank_column,
        "covariates": None if covariates is None else list(covariates),
        "threshold": threshold,
        "acceptance": acceptance,
        "max_candidates": int(max_candidates),
        "id_column": id_column,
    }
    if scheme == "pairs":
        if pairs_leftover not in ("merge", "alone"):
            raise choice_error("pairs_leftover", pairs_leftover, ("merge", "alone"))
        params["pairs_leftover"] = pairs_leftover

    # -- blocks ------------------------------------------------------------------
    labels: list[str]
    if scheme == "pairs":
        if rank_column is None:
            raise DesignError("scheme 'pairs' needs rank_column= (e.g. baseline crime count)")
        rank = numeric(df, rank_column)
        digest["rank"] = [repr(float(v)) for v in rank]
        outer = column_blocks(df, block_column, digest) if block_column else np.zeros(n, int)
        block_of, labels = matched_sets(rank, outer, sum(ratio_t),
                                        merge_leftover=pairs_leftover == "merge")
    elif block_column is not None or blocks_from is not None:
        if scheme == "complete":
            raise DesignError("scheme 'complete' takes no blocks; use scheme='block'")
        if block_column is not None and blocks_from is not None:
            raise DesignError("give block_column= or blocks_from=, not both")
        if block_column is not None:
            block_of = column_blocks(df, block_column, digest)
            labels = sorted({str(v) for v in df[block_column]})
        else:
            if n_blocks is None or int(n_blocks) < 1 or int(n_blocks) > n:
                raise DesignError(f"blocks_from= needs n_blocks between 1 and {n}, got {n_blocks!r}")
            vals = numeric(df, blocks_from)  # type: ignore[arg-type]
            digest["blocks_from"] = [repr(float(v)) for v in vals]
            block_of, labels = quantile_blocks(vals, int(n_blocks))
    else:
        if scheme == "block":
            raise DesignError("scheme 'block' needs block_column= or blocks_from= with n_blocks=")
        block_of, labels = np.zeros(n, dtype=np.int64), ["all"]

    n_b = len(labels)
    size = np.bincount(block_of, minlength=n_b)
    if counts is not None:
        if scheme not in ("complete", "rerandomise") or n_b != 1:
            raise DesignError("counts= applies to complete (or unblocked re-randomised) designs")
        cnt = [int(c) for c in counts]
        if len(cnt) != n_arms or min(cnt) < 0 or sum(cnt) != n:
            raise DesignError(f"counts {cnt} must give one count per arm {arms_t} summing to {n}")
        base = np.array([cnt], dtype=np.int64)
        rem = np.zeros((1, n_arms), dtype=np.int64)
        den = np.ones(1, dtype=np.int64)
    else:
        r = np.array(ratio_t, dtype=np.int64)
        big_r = int(r.sum())
        base = (size[:, None] * r[None]) // big_r
        rem = (size[:, None] * r[None]) % big_r
        den = np.full(n_b, big_r, dtype=np.int64)

    # -- re-randomisation -----------------------------------------------------------
    scorer, thr = None, None
    derived: dict[str, Any] = {"n_units": n, "n_blocks": n_b}
    if scheme == "rerandomise":
        if not covariates:
            raise DesignError("scheme 'rerandomise' needs covariates=")
        x = np.column_stack([numeric(df, c) for c in covariates])
        digest["covariates"] = {c: [repr(float(v)) for v in x[:, j]] for j, c in enumerate(covariates)}
        scorer = MahalanobisScorer(x, n_arms)
        thr, p_nominal = resolve_threshold(threshold=threshold, acceptance=acceptance, df=scorer.df)
        derived.update(threshold=thr, acceptance_nominal=p_nominal, df=scorer.df)
    elif covariates or threshold is not None or acceptance is not None:
        raise DesignError("covariates=/threshold=/acceptance= apply only to scheme 'rerandomise'")
    derived["units_digest"] = stable_digest(digest)

    for arr in (block_of, base, rem, den):
        arr.setflags(write=False)
    proto = ParallelDesign(
        ids=tuple(ids),
        arms=arms_t,
        scheme=scheme,
        seed=seed,
        block_of=block_of,
        block_labels=tuple(labels),
        base_counts=base,
        remainders=rem,
        denominators=den,
        assignment=np.empty(0, np.int8),
        parameters=params,
        derived=derived,
        scorer=scorer,
        threshold=thr,
    )
    z, tried = _realise(proto, seed, int(max_candidates))
    z.setflags(write=False)
    derived["n_candidates"] = tried
    object.__setattr__(proto, "assignment", z)
    return proto


def _realise(d: ParallelDesign, seed: int, max_candidates: int) -> tuple[np.ndarray, int]:
    """The first acceptable candidate from ``PCG64(seed)`` and how many were drawn."""
    stream = RawStream(seed)
    if d.scorer is None:
        return d._base(stream, 1)[0].copy(), 1
    tried, batch = 0, 256
    while tried < max_candidates:
        b = min(batch, max_candidates - tried)
        z = d._base(stream, b)
        ok = d.scorer.accept(z, d.threshold)  # type: ignore[arg-type]
        if ok.any():
            i = int(np.argmax(ok))
            return z[i].copy(), tried + i + 1
        tried += b
        batch = min(batch * 2, 8192)
    raise DesignError(
        f"no allocation met the re-randomisation threshold in {max_candidates:,} candidates; "
        "raise the threshold / acceptance or max_candidates"
    )
