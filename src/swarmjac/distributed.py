# Dask back end of swarmjac: the fused fitness evaluated on a Dask cluster (DaskObjective) and the
# island model of PSO (island_fit). It sits beside training.py: the optimiser still only sees an
# objective (P, D) -> (P,). Dask is optional (pip install 'swarmjac[dask]') and imported lazily here.
"""Running swarmjac on a Dask cluster: a distributed objective and an island-model PSO.

Two ways to spread a training run over the workers of a ``dask.distributed`` cluster:

- :class:`DaskObjective`, a drop-in objective ``(P, n_params) -> (P,)`` for :class:`swarmjac.PSO`:
  the data set is broadcast to every worker once, each evaluation splits the swarm into chunks of
  particles, one task per chunk, and gathers the costs in order. The values equal
  ``net.fitness`` bit for bit (every particle is computed on its own in the kernel).
- :func:`island_fit`, the island model: ``n_islands`` sub-swarms evolve independently, one Dask task
  per island and epoch of ``migrate_every`` iterations, and exchange their best particles along a
  ring between epochs. The run is reproducible from one seed whatever the cluster size.

Every task is a pure function of its inputs, so a task lost with a worker is simply recomputed:
an island restarts from the state of its last migration. Nothing here is imported by
``swarmjac/__init__.py``; the core package works without Dask.
"""
from __future__ import annotations

import numbers
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import numpy as np

from swarmjac._io import atomic_save_npz, load_npz
from swarmjac._validation import as_float_array, check_n_threads, check_positive_int, result_dtype
from swarmjac.data import Dataset
from swarmjac.network import MLP
from swarmjac.pso import CHECKPOINT_KIND, PSO, PSOHistory

if TYPE_CHECKING:  # pragma: no cover
    from dask.distributed import Client, Future

__all__ = ["DaskObjective", "IslandResult", "island_fit"]

INSTALL_HINT = "pip install 'swarmjac[dask]'"

#: Default number of chunks per worker thread of a :class:`DaskObjective` evaluation: two, so that
#: a worker that finishes early finds work left and one slow chunk does not hold up the whole swarm.
CHUNKS_PER_THREAD = 2

#: Options of :class:`swarmjac.PSO` that :func:`island_fit` sets itself (or cannot honour).
_ISLAND_RESERVED_OPTIONS = {
    "init_pos": "each island draws its own initial swarm from its seed",
    "ftol": "early stopping would end islands at different iterations and break the epochs",
}


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


def _check_net_and_data(net: Any, data: Any) -> None:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
    if (data.d_in, data.d_out) != (net.d_in, net.d_out):
        raise ValueError(f"data has d_in={data.d_in}, d_out={data.d_out} but {net!r} has "
                         f"d_in={net.d_in}, d_out={net.d_out}")


def _task_threads(n_threads: Optional[int]) -> int:
    """Kernel threads of one task: None means 1 (Dask already runs one task per worker thread).

    -1 is passed on as is, so that each worker resolves it to the cores of its own machine.
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


# ---------------------------------------------------------------------------------------------
# the distributed objective
# ---------------------------------------------------------------------------------------------
def _fitness_chunk(positions: np.ndarray, *, net: MLP, data: Dataset, n_threads: int, mode: str) -> np.ndarray:
    """Worker task: the fused fitness of one chunk of particles."""
    return net.fitness(positions, data, n_threads=n_threads, mode=mode)


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
                 n_threads: Optional[int] = None, retries: int = 2, *, mode: str = "auto"):
        _check_client(client)
        _check_net_and_data(net, data)
        if chunk_size is not None:
            chunk_size = check_positive_int(chunk_size, "chunk_size")
        self._task_threads = _task_threads(n_threads)
        self.retries = check_positive_int(retries, "retries", minimum=0)
        net._check_mode(mode)
        self.client, self.net, self.data = client, net, data
        self.chunk_size, self.n_threads, self.mode = chunk_size, n_threads, mode
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
                net=self.net, data=data_future, n_threads=self._task_threads, mode=self.mode,
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


# ---------------------------------------------------------------------------------------------
# the island model
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IslandResult:
    """Outcome of :func:`island_fit`.

    Attributes
    ----------
    net : MLP
        The trained network's spec.
    params : ndarray, shape (n_params,)
        The best particle of all islands.
    cost : float
        Its fitness.
    best_island : int
        The island that found it (the lowest index on ties).
    island_best_costs : ndarray, shape (n_islands,)
        Best cost of each island.
    island_best_params : ndarray, shape (n_islands, n_params)
        Best particle of each island.
    histories : tuple of PSOHistory
        Per-island best and mean cost per iteration (``iters + 1`` entries each).
    optimizers : tuple of PSO
        Each island's optimiser in its final state (can be inspected, saved or run further locally).
    n_iterations : int
        Iterations completed by every island.
    n_epochs : int
        Epochs completed (an epoch is ``migrate_every`` iterations, the last one possibly fewer).
    n_migrations : int
        Migrations carried out (between epochs; none with one island or ``n_migrants=0``).
    n_evaluations : int
        Particle evaluations over all islands.
    seed_entropy : int
        Entropy of the ``numpy.random.SeedSequence`` the island seeds were spawned from; passing it
        as ``seed`` repeats the run (useful when ``seed`` was None).
    wall_time : float
        Seconds spent in :func:`island_fit`.
    stopped_reason : str
        ``"iters"`` (budget used), ``"callback"`` (the callback asked to stop) or ``"interrupted"``
        (KeyboardInterrupt; the result holds the last completed epoch).
    """

    net: MLP
    params: np.ndarray
    cost: float
    best_island: int
    island_best_costs: np.ndarray
    island_best_params: np.ndarray
    histories: Tuple[PSOHistory, ...]
    optimizers: Tuple[PSO, ...]
    n_iterations: int
    n_epochs: int
    n_migrations: int
    n_evaluations: int
    seed_entropy: int
    wall_time: float
    stopped_reason: str

    @property
    def n_islands(self) -> int:
        """Number of islands."""
        return len(self.optimizers)

    @property
    def history(self) -> PSOHistory:
        """History of the best island."""
        return self.histories[self.best_island]


@dataclass(frozen=True)
class _EpochOutput:
    """What an island task sends back: its state, its emigrants for the next migration, its best."""

    state: bytes
    emigrant_positions: np.ndarray  # (n_migrants, D), best personal bests first
    emigrant_costs: np.ndarray  # (n_migrants,)
    best_cost: float


def _state_to_bytes(optimizer: PSO) -> bytes:
    """A PSO checkpoint (see :meth:`PSO.save`) as bytes: the payload an island travels as."""
    with tempfile.TemporaryDirectory(prefix="swarmjac-island-") as directory:
        path = os.path.join(directory, "island.ckpt")
        optimizer.save(path)
        with open(path, "rb") as handle:
            return handle.read()


def _state_from_bytes(state: bytes) -> PSO:
    with tempfile.TemporaryDirectory(prefix="swarmjac-island-") as directory:
        path = os.path.join(directory, "island.ckpt")
        with open(path, "wb") as handle:
            handle.write(state)
        return PSO.load(path)


def _immigrate(state: bytes, positions: np.ndarray, costs: np.ndarray) -> bytes:
    """Replace the worst particles of an island (a PSO checkpoint as bytes) by immigrants.

    ``positions (m, D)`` and ``costs (m,)`` are the immigrants, best first. The exact rule is in the
    Notes of :func:`island_fit`. Returns the new checkpoint; the input is not modified.
    """
    positions = np.asarray(positions, dtype=np.float64)
    costs = np.asarray(costs, dtype=np.float64)
    if positions.ndim != 2 or costs.shape != (positions.shape[0],):
        raise ValueError(f"immigrants need positions (m, D) and costs (m,), got shapes {positions.shape} "
                         f"and {costs.shape}")
    if positions.shape[0] == 0:
        return state
    with tempfile.TemporaryDirectory(prefix="swarmjac-island-") as directory:
        path = os.path.join(directory, "island.ckpt")
        with open(path, "wb") as handle:
            handle.write(state)
        arrays, meta = load_npz(path, kind=CHECKPOINT_KIND)
        arrays = {name: np.array(array) for name, array in arrays.items()}  # writable copies
        pbest_costs = arrays["pbest_costs"]
        if positions.shape[1] != arrays["positions"].shape[1]:
            raise ValueError(f"immigrants have {positions.shape[1]} coordinates, the island "
                             f"{arrays['positions'].shape[1]}")
        worst_first = np.argsort(-pbest_costs, kind="stable")[: positions.shape[0]]
        accepted = costs[: worst_first.size] < pbest_costs[worst_first]
        slots = worst_first[accepted]
        if slots.size == 0:
            return state
        incoming, incoming_costs = positions[: worst_first.size][accepted], costs[: worst_first.size][accepted]
        for name in ("positions", "pbest_positions"):
            arrays[name][slots] = incoming
        for name in ("costs", "pbest_costs"):
            arrays[name][slots] = incoming_costs
        arrays["velocities"][slots] = 0.0
        best = int(np.argmin(incoming_costs))
        if incoming_costs[best] < meta["state"]["gbest_cost"]:
            arrays["gbest_position"] = incoming[best].copy()
            meta["state"]["gbest_cost"] = float(incoming_costs[best])
        atomic_save_npz(path, arrays, meta, kind=CHECKPOINT_KIND)
        with open(path, "rb") as handle:
            return handle.read()


def _island_epoch(state: bytes, immigrants: Optional[Tuple[np.ndarray, np.ndarray]], *, net: MLP,
                  data: Dataset, iters: int, n_threads: int, mode: str, n_migrants: int) -> _EpochOutput:
    """Worker task: receive immigrants, run ``iters`` iterations, pick emigrants. A pure function."""
    if immigrants is not None:
        state = _immigrate(state, *immigrants)
    optimizer = _state_from_bytes(state)
    optimizer.run(net.objective(data, n_threads=n_threads, mode=mode), iters, progress=False)
    best_first = np.argsort(optimizer.pbest_costs, kind="stable")[:n_migrants]
    return _EpochOutput(
        state=_state_to_bytes(optimizer),
        emigrant_positions=np.array(optimizer.pbest_positions[best_first]),
        emigrant_costs=np.array(optimizer.pbest_costs[best_first]),
        best_cost=float(optimizer.best_cost),
    )


def _epoch_lengths(iters: int, migrate_every: int) -> List[int]:
    """Iterations of each epoch: ``migrate_every`` each, the rest in a last, shorter one."""
    lengths = [migrate_every] * (iters // migrate_every)
    if iters % migrate_every or not lengths:
        lengths.append(iters % migrate_every)
    return lengths


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be None or a non-negative int, got {type(seed).__name__} ({seed!r})")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be None or a non-negative int, got {seed}")
    return np.random.SeedSequence(None if seed is None else int(seed))


def island_fit(client: "Client", net: MLP, data: Dataset, n_islands: int, migrate_every: int,
               n_migrants: int, n_particles_per_island: int = 50, iters: int = 500, seed: Optional[int] = None,
               *, n_threads: Optional[int] = None, mode: str = "auto", retries: int = 2,
               callback: Optional[Callable[[int, int, np.ndarray], Any]] = None,
               **pso_options: Any) -> IslandResult:
    """Train ``net`` with an island-model PSO whose islands run as tasks on a Dask cluster.

    Each island is a :class:`swarmjac.PSO` of ``n_particles_per_island`` particles. The run is
    divided into epochs of ``migrate_every`` iterations (the last one shorter if ``iters`` is not a
    multiple); in an epoch every island evolves on its own, as one task on some worker. Between
    epochs the islands exchange particles along a ring: the ``n_migrants`` particles of island ``i``
    with the best personal bests move to island ``(i + 1) % n_islands``, where they replace the
    particles with the worst personal bests (each only if it is better; see Notes). All islands send
    before any receives, so the order does not matter.

    Island ``i`` draws its initial swarm (``net.init_params``) and all its randomness from the
    ``i``-th child of ``numpy.random.SeedSequence(seed)``, and its state travels between tasks as a
    PSO checkpoint; hence the whole run is reproducible bit for bit from ``seed``, regardless of the
    number of workers or of which worker runs which island when.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client.
    net : MLP
        The network to train.
    data : Dataset
        The observations (broadcast to every worker once).
    n_islands : int
        Number of islands (>= 1). More islands than worker threads is fine; they queue.
    migrate_every : int
        Iterations between migrations (>= 1).
    n_migrants : int
        Particles each island sends per migration (0 to ``n_particles_per_island``; 0 runs
        independent swarms).
    n_particles_per_island : int, default 50
        Swarm size of each island.
    iters : int, default 500
        Iterations of every island (>= 0).
    seed : int or None
        Root seed. None draws fresh entropy, recorded in ``IslandResult.seed_entropy``.
    n_threads : int, optional
        Kernel threads of each island task (default 1; -1 for every core of the worker's machine).
    mode : {"auto", "forward", "reverse"}
        Derivative accumulation of the fitness kernel.
    retries : int, default 2
        Retries of a failed island task (a worker lost mid-task is handled by Dask itself: the
        epoch is run again, from the island's last migration state).
    callback : callable, optional
        ``callback(epoch, iteration, island_best_costs)`` on the client after every epoch
        (``epoch`` counts from 1, ``iteration`` is the iterations done so far); returning True stops
        the run after that epoch.
    **pso_options
        Passed to every island's :class:`swarmjac.PSO` (``topology``, ``bounds``, ``w``, ``c1``,
        ``c2``, ``velocity_clamp``, ...). ``n_iters_total`` defaults to ``iters``. ``init_pos``
        and ``ftol`` are not accepted.

    Returns
    -------
    IslandResult

    Notes
    -----
    Migration, exactly. After each epoch but the last, island ``i`` sends its ``n_migrants``
    particles of lowest personal-best cost (ties: lower index first), as (personal-best position,
    personal-best cost) pairs, best first. Island ``i + 1`` pairs them with its particles of highest
    personal-best cost, worst first (ties: lower index first); the ``k``-th immigrant replaces the
    ``k``-th worst particle only if its cost is strictly lower than that particle's personal-best
    cost. A replaced particle's
    position and personal-best position both become the immigrant's position, its current and
    personal-best costs the immigrant's cost, and its velocity is set to 0. The island's global
    best is updated if an immigrant beats it. Nothing else changes: the other particles, the
    random generator, the topology, the history and the iteration count.

    Each epoch costs one scheduler round trip and moves each island's checkpoint (about
    ``5 * n_particles_per_island * n_params`` numbers plus the history) to and from the client, so
    ``migrate_every`` should make an epoch last well over a few milliseconds. ``keep_positions=True``
    makes the checkpoints grow with every iteration.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> from dask.distributed import Client, LocalCluster
    >>> from swarmjac.distributed import island_fit
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> data = sj.Dataset(X, y=2 * X, dydx=np.full((20, 1), 2.0))
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
    ...                   dashboard_address=None) as cluster, Client(cluster) as client:
    ...     res = island_fit(client, net, data, n_islands=3, migrate_every=10, n_migrants=2,
    ...                      n_particles_per_island=10, iters=100, seed=0)
    >>> res.n_islands, res.n_migrations, bool(res.cost < 1e-8)
    (3, 9, True)
    """
    start = time.perf_counter()
    _check_client(client)
    _check_net_and_data(net, data)
    n_islands = check_positive_int(n_islands, "n_islands")
    migrate_every = check_positive_int(migrate_every, "migrate_every")
    n_particles_per_island = check_positive_int(n_particles_per_island, "n_particles_per_island")
    n_migrants = check_positive_int(n_migrants, "n_migrants", minimum=0)
    if n_migrants > n_particles_per_island:
        raise ValueError(f"n_migrants must be <= n_particles_per_island={n_particles_per_island}, "
                         f"got {n_migrants}")
    iters = check_positive_int(iters, "iters", minimum=0)
    retries = check_positive_int(retries, "retries", minimum=0)
    task_threads = _task_threads(n_threads)
    net._check_mode(mode)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    for name, reason in _ISLAND_RESERVED_OPTIONS.items():
        if name in pso_options:
            raise ValueError(f"island_fit does not take the PSO option {name!r}: {reason}")
    pso_options.setdefault("n_iters_total", iters if iters > 0 else None)
    root = _seed_sequence(seed)

    states = []
    for child in root.spawn(n_islands):
        rng = np.random.default_rng(child)
        init = net.init_params(n_particles_per_island, seed=rng)
        states.append(_state_to_bytes(PSO(n_particles_per_island, net.n_params, init_pos=init, seed=rng,
                                          **pso_options)))

    migrating = n_islands > 1 and n_migrants > 0
    run_id = uuid.uuid4().hex[:16]
    shared_data = _BroadcastData(client, data)
    outputs: Optional[List[_EpochOutput]] = None
    n_epochs = n_migrations = iteration = 0
    reason = "iters"
    try:
        for epoch, length in enumerate(_epoch_lengths(iters, migrate_every)):
            if outputs is not None and migrating:
                immigrants = [(o.emigrant_positions, o.emigrant_costs) for o in outputs]
                incoming = [immigrants[(i - 1) % n_islands] for i in range(n_islands)]
            else:
                incoming = [None] * n_islands

            def submit(data_future: "Future", epoch: int = epoch, length: int = length,
                       incoming: list = incoming) -> List["Future"]:
                return client.map(
                    _island_epoch, states, incoming, net=net, data=data_future, iters=length,
                    n_threads=task_threads, mode=mode, n_migrants=n_migrants if migrating else 0,
                    key=[f"swarmjac-island-{run_id}-epoch{epoch}-island{i}" for i in range(n_islands)],
                    retries=retries)

            outputs = _gather_tasks(client, shared_data, submit, retries)
            states = [o.state for o in outputs]
            if epoch > 0 and migrating:
                n_migrations += 1
            n_epochs += 1
            iteration += length
            if callback is not None:
                stop = callback(n_epochs, iteration, np.array([o.best_cost for o in outputs]))
                if stop is not None and bool(stop):
                    reason = "callback"
                    break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        shared_data.release()

    optimizers = tuple(_state_from_bytes(state) for state in states)
    best_costs = np.array([opt.best_cost for opt in optimizers])
    best_params = np.stack([opt.best_position for opt in optimizers])
    best_island = int(np.argmin(best_costs))
    return IslandResult(
        net=net, params=best_params[best_island].copy(), cost=float(best_costs[best_island]),
        best_island=best_island, island_best_costs=best_costs, island_best_params=best_params,
        histories=tuple(opt.history for opt in optimizers), optimizers=optimizers,
        n_iterations=min(opt.iteration for opt in optimizers), n_epochs=n_epochs, n_migrations=n_migrations,
        n_evaluations=sum(opt.n_evaluations for opt in optimizers), seed_entropy=int(root.entropy),
        wall_time=time.perf_counter() - start, stopped_reason=reason,
    )
