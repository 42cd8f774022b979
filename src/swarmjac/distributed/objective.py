# The distributed objective: the fused fitness of a network evaluated on a Dask cluster, chunk by chunk,
# a drop-in for net.objective(data). The optimiser still only sees an objective (P, D) -> (P,).
""":class:`DaskObjective`: ``net.fitness`` computed by the workers of a Dask cluster, bit for bit."""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

from swarmjac._layout import check_mode
from swarmjac.loss import check_alpha
from swarmjac._validation import as_float_array, check_positive_int, result_dtype
from swarmjac.data import Dataset
from swarmjac.distributed.cluster import (_BroadcastData, _check_client, _gather_tasks,
                                          _task_threads)
from swarmjac.network import MLP, check_net_and_data

if TYPE_CHECKING:  # pragma: no cover
    from dask.distributed import Client, Future

__all__ = ["DaskObjective", "CHUNKS_PER_THREAD"]

#: Default number of chunks per worker thread of a :class:`DaskObjective` evaluation: two, so that
#: a worker that finishes early finds work left and one slow chunk does not hold up the whole swarm.
CHUNKS_PER_THREAD = 2


def _fitness_chunk(positions: np.ndarray, *, net: MLP, data: Dataset, n_threads: int, mode: str,
                   alpha: float = 0.0) -> np.ndarray:
    """Worker task: the fused fitness of one chunk of particles."""
    return net.fitness(positions, data, n_threads=n_threads, mode=mode, alpha=alpha)


class DaskObjective:
    """The fused fitness of a network on a data set, evaluated on a Dask cluster.

    A drop-in replacement for ``net.objective(data)``: ``objective(positions (P, n_params)) -> (P,)``.
    The data set is broadcast to every worker once (``client.scatter(..., broadcast=True)``); each
    call splits the swarm into chunks of consecutive particles, evaluates each chunk with
    ``net.fitness`` in a task on a worker, and gathers the costs in particle order. The result is
    bit for bit that of ``net.fitness(positions, data)``, whatever the chunking: every particle is
    computed independently in the kernel.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client.
    net : MLP
        The network.
    data : Dataset
        The observations; its widths must match the network.
    chunk_size : int, optional
        Particles per task. Default: the swarm split into about ``2 * n`` equal chunks, ``n`` being
        the number of worker threads of the cluster at the time of the call.
    n_threads : int, optional
        Kernel threads of each task (-1: every core of the worker's machine). Default 1, because
        Dask already runs one task per worker thread; raise it only for workers with one thread
        and several cores.
    retries : int, default 2
        Times a failed task is retried (``client.submit(..., retries=)``), and times an evaluation
        is submitted again if the broadcast data set was lost with its workers. A worker that dies
        mid-task is handled by Dask itself: the task runs again elsewhere.
    alpha : float, default 0.0
        L2 weight decay of the fitness (see :meth:`swarmjac.MLP.fitness`).
    mode : {"auto", "forward", "reverse"}, default "auto"
        Derivative accumulation of the kernel, as in :meth:`MLP.fitness`.

    Notes
    -----
    Tasks carry their chunk of positions and the (small) network by value; only the data set is
    shared, once per worker. An evaluation therefore costs one scheduler round trip plus moving
    ``P * n_params`` numbers out and ``P`` back: it pays off when the fitness of a chunk takes much
    longer than that, i.e. for large ``P * n_samples`` (see ``benchmarks/bench_distributed.py``).

    The object holds the client and is not picklable; call :meth:`close` (or use it as a context
    manager) to release the broadcast data.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> from dask.distributed import Client, LocalCluster
    >>> from swarmjac.distributed import DaskObjective
    >>> net = sj.MLP([1, 4, 1])
    >>> data = sj.Dataset(np.linspace(-1, 1, 8)[:, None], y=np.linspace(-1, 1, 8) ** 2)
    >>> swarm = net.init_params(10, seed=0)
    >>> with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
    ...                   dashboard_address=None) as cluster, Client(cluster) as client:
    ...     with DaskObjective(client, net, data, chunk_size=3) as objective:
    ...         costs = objective(swarm)
    >>> bool(np.array_equal(costs, net.fitness(swarm, data)))
    True
    """

    def __init__(self, client: "Client", net: MLP, data: Dataset, chunk_size: Optional[int] = None,
                 n_threads: Optional[int] = None, retries: int = 2, *, mode: str = "auto", alpha: float = 0.0):
        _check_client(client)
        check_net_and_data(net, data)
        if chunk_size is not None:
            chunk_size = check_positive_int(chunk_size, "chunk_size")
        self._task_threads = _task_threads(n_threads)
        self.retries = check_positive_int(retries, "retries", minimum=0)
        check_mode(mode)
        self.client, self.net, self.data = client, net, data
        self.chunk_size, self.n_threads, self.mode = chunk_size, n_threads, mode
        self.alpha = check_alpha(alpha)
        self._data = _BroadcastData(client, data)
        self._data.future()

    def chunk_bounds(self, n_particles: int) -> List[Tuple[int, int]]:
        """``(start, stop)`` of the chunks a swarm of ``n_particles`` is split into, in order.

        With ``chunk_size`` set: consecutive runs of ``chunk_size`` particles, the last one shorter.
        Otherwise ``min(n_particles, 2 * worker threads)`` chunks of (nearly) equal size.
        """
        n_particles = check_positive_int(n_particles, "n_particles", minimum=0)
        if n_particles == 0:
            return []
        if self.chunk_size is not None:
            starts = range(0, n_particles, self.chunk_size)
            return [(start, min(start + self.chunk_size, n_particles)) for start in starts]
        n_worker_threads = sum(self.client.nthreads().values())
        n_chunks = min(n_particles, max(1, CHUNKS_PER_THREAD * n_worker_threads))
        edges = np.linspace(0, n_particles, n_chunks + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def __call__(self, positions: Any, **kwargs: Any) -> np.ndarray:
        # **kwargs: PySwarms passes extra keyword arguments given to optimize(); they do not apply here.
        dtype = result_dtype(positions, names=("positions",))
        positions = as_float_array(positions, "positions", dtype, ndim=(1, 2))
        squeeze = positions.ndim == 1
        if squeeze:
            positions = positions[None, :]
        if positions.shape[1] != self.net.n_params:
            raise ValueError(f"positions must have n_params={self.net.n_params} columns for {self.net!r}, "
                             f"got shape {positions.shape}")
        bounds = self.chunk_bounds(positions.shape[0])
        if not bounds:
            return np.zeros(0, dtype=dtype)
        call_id = uuid.uuid4().hex[:16]

        def submit(data_future: "Future") -> List["Future"]:
            # One client.map call: the whole batch reaches the scheduler in a single message.
            return self.client.map(
                _fitness_chunk, [positions[start:stop] for start, stop in bounds],
                net=self.net, data=data_future, n_threads=self._task_threads, mode=self.mode, alpha=self.alpha,
                key=[f"swarmjac-fitness-{call_id}-{i}" for i in range(len(bounds))], retries=self.retries)

        costs = np.concatenate(_gather_tasks(self.client, self._data, submit, self.retries))
        return costs.reshape(()) if squeeze else costs

    def close(self) -> None:
        """Release the copies of the data set held by the workers."""
        self._data.release()

    def __enter__(self) -> "DaskObjective":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __getstate__(self) -> None:
        raise TypeError("DaskObjective holds a Dask client and cannot be pickled; "
                        "use net.objective(data) for a picklable objective")

    def __repr__(self) -> str:
        chunks = "auto" if self.chunk_size is None else self.chunk_size
        return f"DaskObjective({self.net!r}, {self.data!r}, chunk_size={chunks})"
