# Dask back end of swarmjac: the fused fitness evaluated on a Dask cluster (objective.py) and the island
# model of PSO (islands.py), over the shared helpers of cluster.py. It sits beside training.py: the
# optimiser still only sees an objective (P, D) -> (P,). Dask is optional and imported lazily.
"""Running swarmjac on a Dask cluster: a distributed objective and an island-model PSO.

Two ways to spread a training run over the workers of a ``dask.distributed`` cluster:

- :class:`DaskObjective`, a drop-in objective ``(P, n_params) -> (P,)`` for :class:`swarmjac.PSO`:
  the data set is broadcast to every worker once, each evaluation splits the swarm into chunks of
  particles, one task per chunk, and gathers the costs in order. The values equal
  ``net.fitness`` bit for bit (every particle is computed on its own in the kernel).
- :func:`island_fit`, the island model: ``n_islands`` sub-swarms evolve independently, one Dask task
  per island and epoch of ``migrate_every`` iterations, and exchange their best particles along a
  ring between epochs. The run is reproducible from one seed whatever the cluster size. It returns
  a :class:`swarmjac.FitResult` (an :class:`IslandResult`), like :func:`swarmjac.fit`.

Every task is a pure function of its inputs, so a task lost with a worker is simply recomputed:
an island restarts from the state of its last migration. Nothing here is imported by
``swarmjac/__init__.py``; the core package works without Dask (``pip install 'swarmjac[dask]'``).
"""
from swarmjac.distributed.cluster import INSTALL_HINT, _import_distributed  # noqa: F401 (public hint; the lazy import for benchmarks)
from swarmjac.distributed.islands import island_fit
from swarmjac.distributed.objective import CHUNKS_PER_THREAD, DaskObjective  # noqa: F401
from swarmjac.results import IslandResult

__all__ = ["DaskObjective", "IslandResult", "island_fit"]
