"""The Dask engine for :func:`rct.dosage.airwave.airwave_presence`.

The map step (:func:`rct.dosage.airwave.run_unit`) runs once per partition
(a Parquet file's batch of row groups, or a CSV file) on the workers; the
small results (keys and in-hot-spot pings) come back in partition order and
the reduce step runs in the client, exactly as with the default engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DaskRunner"]


class DaskRunner:
    """Context manager: a ``distributed.Client`` on ``scheduler`` or on a new LocalCluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); ``None`` starts
        a ``distributed.LocalCluster`` with ``n_workers`` workers.
    n_workers
        Workers of the local cluster.
    processes
        Local cluster workers as processes (default) or threads.
    """

    def __init__(
        self, *, scheduler: str | None = None, n_workers: int = 2, processes: bool = True
    ) -> None:
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.processes = processes
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskRunner:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is an optional extra
            raise ImportError(
                "engine='dask' needs dask and distributed: pip install 'hotspot-rct[dask]'"
            ) from exc
        if self.scheduler:
            self._client = Client(self.scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=self.processes,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(self, fn: Any, units: list[Any], *args: Any) -> list[Any]:
        """``[fn(u, *args) for u in units]`` on the cluster, results in ``units`` order."""
        client = self._client
        shared = [client.scatter(a, broadcast=True, hash=False) for a in args]
        futures = [client.submit(fn, u, *shared, pure=False) for u in units]
        return client.gather(futures)
