# What both Dask back ends share: the lazy import of dask.distributed, argument checks, and a data set
# broadcast to every worker once (broadcast again if the cluster lost every copy). Used by objective.py
# and islands.py; imports Dask only when called.
"""Shared helpers of :mod:`swarmjac.distributed`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional

from swarmjac._validation import check_n_threads
from swarmjac.data import Dataset
from swarmjac.network import MLP

if TYPE_CHECKING:  # pragma: no cover
    from dask.distributed import Client, Future

__all__ = ["INSTALL_HINT", "_import_distributed"]

INSTALL_HINT = "pip install 'swarmjac[dask]'"


def _import_distributed() -> Any:
    """The ``dask.distributed`` module, or an ImportError that says how to install it."""
    try:
        import dask.distributed as distributed
    except ImportError as exc:
        raise ImportError(f"swarmjac.distributed needs dask.distributed, which is not installed: "
                          f"{INSTALL_HINT}") from exc
    return distributed


def _check_client(client: Any) -> None:
    distributed = _import_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")




def _task_threads(n_threads: Optional[int]) -> int:
    """Kernel threads of one task: None means 1 (Dask already runs one task per worker thread).

    -1 is passed on as is, so that each worker resolves it (``sj.resolve_n_threads``) to what its own
    process may use.
    """
    if n_threads is None:
        return 1
    check_n_threads(n_threads)
    return int(n_threads)


class _BroadcastData:
    """A data set broadcast to every worker once, broadcast again if the cluster lost every copy.

    Scattered data cannot be recomputed by the scheduler: when the last worker holding it dies it is
    gone, and the tasks that need it are cancelled. :func:`_gather_tasks` then asks for a new copy.
    """

    def __init__(self, client: "Client", data: Dataset):
        self.client, self.data = client, data
        self._future: Optional["Future"] = None

    def future(self) -> "Future":
        if self.lost():
            self._future = self.client.scatter(self.data, broadcast=True, hash=False)
        return self._future

    def lost(self) -> bool:
        return self._future is None or self._future.status != "finished"

    def release(self) -> None:
        if self._future is not None:
            self._future.release()
            self._future = None


def _gather_tasks(client: "Client", data: _BroadcastData, submit: Callable[["Future"], List["Future"]],
                  attempts: int) -> list:
    """Submit tasks that read ``data`` and gather their results in order.

    A worker lost mid-task is handled by Dask itself (the task runs again elsewhere, from the same
    inputs); what Dask cannot recover is the broadcast data set if every copy of it was lost. Then
    the tasks are cancelled, and they are submitted again (at most ``attempts`` more times) with a
    freshly broadcast copy.
    """
    for attempt in range(attempts + 1):
        futures = submit(data.future())
        try:
            return client.gather(futures)
        except Exception:
            if attempt == attempts or not data.lost():
                raise
        finally:
            for future in futures:
                future.release()
    raise AssertionError("unreachable")  # pragma: no cover
