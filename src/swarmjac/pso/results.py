# What the optimiser hands back: the per-iteration history of a swarm and the outcome of one run() call.
# Plain frozen dataclasses; built by optimizer.py, read by training.py, distributed/ and the CLI.
"""Result types of :class:`swarmjac.PSO`: :class:`PSOHistory` and :class:`PSOResult`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["PSOHistory", "PSOResult", "STOP_REASONS"]

#: Values of :attr:`PSOResult.stopped_reason`.
STOP_REASONS = ("iters", "ftol", "callback", "interrupted")


@dataclass(frozen=True)
class PSOHistory:
    """Per-iteration record of a swarm, cumulative over all ``run`` calls.

    Entry 0 describes the initial swarm (after its first evaluation) and entry ``t`` the swarm
    after iteration ``t``, so each array has ``n_iterations + 1`` rows once the swarm has been
    evaluated (and none before).

    Attributes
    ----------
    best_cost : numpy.ndarray, shape (n_iterations + 1,)
        Global best cost so far (non-increasing).
    mean_cost : numpy.ndarray, shape (n_iterations + 1,)
        Mean of the finite current costs of the swarm (NaN if none is finite).
    positions : numpy.ndarray of shape (n_iterations + 1, n_particles, dimensions), or None
        Swarm positions, kept only with ``keep_positions=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from swarmjac import PSO
    >>> res = PSO(8, 2, bounds=(-1, 1), seed=0).run(lambda x: (x**2).sum(axis=1), iters=5)
    >>> res.history.best_cost.shape
    (6,)
    """

    best_cost: np.ndarray
    mean_cost: np.ndarray
    positions: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.best_cost.shape[0])


@dataclass(frozen=True)
class PSOResult:
    """Outcome of :meth:`PSO.run`.

    Attributes
    ----------
    best_position : numpy.ndarray, shape (dimensions,)
        Best position found so far by the swarm (NaN if the swarm was never evaluated).
    best_cost : float
        Its cost (``inf`` if never evaluated, or if no particle ever had a finite cost).
    history : PSOHistory
        Cumulative history of the swarm, see :class:`PSOHistory`.
    n_evaluations : int
        Objective evaluations (particles evaluated) by this optimiser so far, over all runs.
    n_iterations : int
        Swarm iterations completed by this optimiser so far, over all runs.
    wall_time : float
        Seconds spent in this ``run`` call.
    stopped_reason : str
        ``"iters"`` (budget used), ``"ftol"`` (early stopping), ``"callback"`` (the callback asked
        to stop) or ``"interrupted"`` (KeyboardInterrupt).

    Examples
    --------
    >>> from swarmjac import PSO
    >>> res = PSO(10, 3, bounds=(-5, 5), seed=1).run(lambda x: (x**2).sum(axis=1), iters=50)
    >>> res.stopped_reason, res.n_iterations, res.best_cost < 1e-3
    ('iters', 50, True)
    """

    best_position: np.ndarray
    best_cost: float
    history: PSOHistory
    n_evaluations: int
    n_iterations: int
    wall_time: float
    stopped_reason: str
