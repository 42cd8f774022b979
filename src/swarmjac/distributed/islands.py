# The island model of PSO on a Dask cluster: n_islands sub-swarms evolve independently, one task per
# island and epoch, and exchange their best particles along a ring between epochs. Islands travel as
# PSO.to_bytes() and migrate through the public PSO API only (best_individuals / replace_worst).
""":func:`island_fit`: an island-model PSO whose islands run as Dask tasks, reproducible from one seed."""
from __future__ import annotations

import numbers
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple, Union

import numpy as np

from swarmjac._layout import check_mode
from swarmjac._validation import check_positive_int
from swarmjac.data import Dataset
from swarmjac.distributed.cluster import (_BroadcastData, _check_client, _gather_tasks,
                                          _task_threads)
from swarmjac.network import MLP, check_net_and_data
from swarmjac.pso import PSO, PSOResult
from swarmjac.refine import RefineOptions, polish
from swarmjac.results import IslandDetails, IslandResult, RefineRecord
from swarmjac.scaling import Standardizer

if TYPE_CHECKING:  # pragma: no cover
    from dask.distributed import Client, Future

__all__ = ["island_fit", "IslandResult"]

#: Options of :class:`swarmjac.PSO` that :func:`island_fit` sets itself (or cannot honour).
_ISLAND_RESERVED_OPTIONS = {
    "init_pos": "each island draws its own initial swarm from its seed",
    "ftol": "early stopping would end islands at different iterations and break the epochs",
}


@dataclass(frozen=True)
class _EpochOutput:
    """What an island task sends back: its swarm, its emigrants for the next migration, its best."""

    state: bytes  # PSO.to_bytes()
    emigrant_positions: np.ndarray  # (n_migrants, D), best personal bests first
    emigrant_costs: np.ndarray  # (n_migrants,)
    best_cost: float


def _island_epoch(state: bytes, immigrants: Optional[Tuple[np.ndarray, np.ndarray]], *, net: MLP,
                  data: Dataset, iters: int, n_threads: int, mode: str, n_migrants: int) -> _EpochOutput:
    """Worker task: receive immigrants, run ``iters`` iterations, pick emigrants. A pure function."""
    optimizer = PSO.from_bytes(state)
    if immigrants is not None:
        optimizer.replace_worst(*immigrants)
    optimizer.run(net.objective(data, n_threads=n_threads, mode=mode), iters, progress=False)
    emigrant_positions, emigrant_costs = optimizer.best_individuals(n_migrants)
    return _EpochOutput(state=optimizer.to_bytes(), emigrant_positions=emigrant_positions,
                        emigrant_costs=emigrant_costs, best_cost=float(optimizer.best_cost))


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
               scale: bool = True, refine: Union[None, str, dict, RefineOptions] = "lbfgs",
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
    ``i``-th child of ``numpy.random.SeedSequence(seed)``, and its state travels between tasks as
    :meth:`PSO.to_bytes`; hence the whole run is reproducible bit for bit from ``seed``, regardless of the
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
    scale : bool, default True
        Standardise the data before the islands see it, as :func:`swarmjac.fit` does; the result is
        folded back into the user's units.
    refine : None, "lbfgs", dict or RefineOptions, default "lbfgs"
        After the last epoch, polish the best island bests by L-BFGS on the client (``final_top``,
        ``final_maxiter``, ``gtol`` of :class:`swarmjac.RefineOptions`; the islands themselves run plain
        PSO). None: no polish.
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
    particles of lowest personal-best cost (:meth:`PSO.best_individuals`: ties lower index first),
    as (personal-best position, personal-best cost) pairs, best first. Island ``i + 1`` takes them
    with :meth:`PSO.replace_worst`: paired with its particles of highest personal-best cost, worst
    first (ties: lower index first), the ``k``-th immigrant replaces the ``k``-th worst particle
    only if its cost is strictly lower than that particle's personal-best cost. A replaced
    particle's position and personal-best position both become the immigrant's position, its
    current and personal-best costs the immigrant's cost, and its velocity is set to 0. The
    island's global best is updated if an immigrant beats it. Nothing else changes: the other
    particles, the random generator, the topology, the history and the iteration count.

    Each epoch costs one scheduler round trip and moves each island's swarm (about
    ``5 * n_particles_per_island * n_params`` numbers plus the history) to and from the client, so
    ``migrate_every`` should make an epoch last well over a few milliseconds. ``keep_positions=True``
    makes the swarms grow with every iteration.

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
    check_net_and_data(net, data)
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
    check_mode(mode)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    for name, reason in _ISLAND_RESERVED_OPTIONS.items():
        if name in pso_options:
            raise ValueError(f"island_fit does not take the PSO option {name!r}: {reason}")
    if not isinstance(scale, (bool, np.bool_)):
        raise TypeError(f"scale must be True or False, got {type(scale).__name__}")
    refine_options = RefineOptions.from_argument(refine)
    user_data = data
    scaler = Standardizer.for_network(net, data) if scale else None
    if scaler is not None:
        data = scaler.transform(data)
    pso_options.setdefault("n_iters_total", iters if iters > 0 else None)
    root = _seed_sequence(seed)

    states = []
    for child in root.spawn(n_islands):
        rng = np.random.default_rng(child)
        init = net.init_params(n_particles_per_island, seed=rng)
        states.append(PSO(n_particles_per_island, net.n_params, init_pos=init, seed=rng, **pso_options).to_bytes())

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

    optimizers = tuple(PSO.from_bytes(state) for state in states)
    best_costs = np.array([opt.best_cost for opt in optimizers])
    best_params = np.stack([opt.best_position for opt in optimizers])
    best_island = int(np.argmin(best_costs))
    best = optimizers[best_island]
    histories = tuple(opt.history for opt in optimizers)
    history = histories[best_island]
    params, train_cost = best_params[best_island].copy(), float(best_costs[best_island])
    records = []
    if refine_options is not None and reason != "interrupted":
        polish_start = time.perf_counter()
        try:
            polished, polished_cost, n_polished, n_evals = polish(net, data, best_params, best_costs,
                                                                  refine_options)
            records.append(RefineRecord(iteration, "final", n_polished, train_cost, min(polished_cost, train_cost),
                                        n_evals, time.perf_counter() - polish_start))
            if polished_cost < train_cost:
                params, train_cost = polished, polished_cost
        except KeyboardInterrupt:
            reason = "interrupted"
    if scaler is not None:
        params = scaler.to_raw_params(net, params)
    cost = float(user_data.n_samples and net.fitness(params, user_data))
    pso_result = PSOResult(best_position=params, best_cost=cost, history=history,
                           n_evaluations=sum(opt.n_evaluations for opt in optimizers),
                           n_iterations=min(opt.iteration for opt in optimizers),
                           wall_time=time.perf_counter() - start, stopped_reason=reason)
    details = IslandDetails(best_island=best_island, island_best_costs=best_costs, island_best_params=best_params,
                            histories=histories,
                            optimizers=optimizers, n_epochs=n_epochs, n_migrations=n_migrations,
                            seed_entropy=int(root.entropy))
    return IslandResult(net=net, params=params, cost=cost, history=history, optimizer=best,
                        pso_result=pso_result, islands=details, scaler=scaler, train_cost=train_cost,
                        refinements=tuple(records))
