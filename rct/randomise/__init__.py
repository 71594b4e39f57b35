"""Randomisation: parallel and crossover designs, balance, allocation manifests and verify.

See :mod:`rct.randomise.base` for the determinism rules (raw PCG64 stream,
stable sorts, canonical hot-spot order, :data:`ALGORITHM_VERSION`).
"""

from rct.randomise.balance import BalanceResult, balance, balance_file
from rct.randomise.base import (
    ALGORITHM_VERSION,
    CROSSOVER_ALGORITHM_VERSION,
    AllocationExistsError,
)
from rct.randomise.crossover import CrossoverDesign, crossover, tasking_list
from rct.randomise.manifest import (
    VerificationReport,
    load_design,
    randomise_crossover_file,
    randomise_parallel_file,
    verify_allocation,
    write_allocation,
)
from rct.randomise.parallel import ParallelDesign, parallel
from rct.randomise.rerandomise import MahalanobisScorer

__all__ = [
    "ALGORITHM_VERSION",
    "CROSSOVER_ALGORITHM_VERSION",
    "AllocationExistsError",
    "BalanceResult",
    "CrossoverDesign",
    "MahalanobisScorer",
    "ParallelDesign",
    "VerificationReport",
    "balance",
    "balance_file",
    "crossover",
    "load_design",
    "parallel",
    "randomise_crossover_file",
    "randomise_parallel_file",
    "tasking_list",
    "verify_allocation",
    "write_allocation",
]
