"""The Dask adapter: a sweep's chunks as tasks on a Dask cluster (``--dask ADDRESS|local``).

Only what differs from the process pool lives here: connecting (one clear error line when the
scheduler cannot be reached), submitting a round of chunks, and which exception means a lost
worker. The rounds, retries and store writes are the runner's. Dask exchanges pickles with its
scheduler and workers: use only a scheduler you trust (docs/errors.md).
"""

from __future__ import annotations

from accelsim.common.errors import InputError, require
from accelsim.explore.sweep.evaluators import evaluate_chunk

DASK_CONNECT_TIMEOUT_S = 10


def connect(address: str, workers: int):
    """(client, cluster or None): a LocalCluster of ``workers`` processes for 'local', else a
    client of the scheduler at ``address``."""
    require(isinstance(address, str) and address.strip() != "",
            "a scheduler address (tcp://host:port) or 'local'", field="--dask", value=address)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError(f"Dask is not installed ({exc}); pip install distributed",
                         field="--dask", value=address) from None
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            return Client(cluster), cluster
        return Client(address, timeout=DASK_CONNECT_TIMEOUT_S), None
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        if cluster is not None:
            cluster.close()
        raise InputError(f"cannot reach the Dask scheduler within {DASK_CONNECT_TIMEOUT_S} s "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                         field="--dask", value=address) from None


def close(client, cluster) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


def lost_worker():
    """The exception of a task whose workers died too often (the runner retries its chunk)."""
    from distributed import KilledWorker

    return KilledWorker


def round_of(client, evaluator: str):
    """The runner's round: every chunk a task; yields (points, result getter) as tasks finish."""
    from distributed import as_completed

    def round_(chunks):
        futs = [client.submit(evaluate_chunk, c, evaluator, pure=False) for c in chunks]
        sizes = {f.key: len(c) for f, c in zip(futs, chunks)}
        for f in as_completed(futs):
            yield sizes[f.key], f.result
    return round_
