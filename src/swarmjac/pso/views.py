# Read-only views of a swarm: the properties of swarmjac.PSO (positions, personal bests, history, ...).
# A mixin of optimizer.PSO; it reads the committed state (self._state) and options (self._opt) only.
"""Read-only properties of :class:`swarmjac.PSO`."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from swarmjac.pso.results import PSOHistory

__all__ = ["SwarmViews"]


def _readonly(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if array is None:
        return None
    view = array.view()
    view.flags.writeable = False
    return view


class SwarmViews:
    """Properties of a swarm; arrays are read-only views of the committed state (or copies where noted)."""

    @property
    def n_particles(self) -> int:
        """Swarm size ``P``."""
        return self._opt.n_particles

    @property
    def dimensions(self) -> int:
        """Number of coordinates ``D``."""
        return self._opt.dimensions

    @property
    def options(self) -> Dict[str, Any]:
        """The resolved options (defaults filled in) as a new dict, plus the derived ``chi``."""
        return self._opt.public()

    @property
    def positions(self) -> np.ndarray:
        """Current positions, shape ``(P, D)`` (read-only view)."""
        return _readonly(self._state.positions)

    @property
    def velocities(self) -> np.ndarray:
        """Current velocities, shape ``(P, D)`` (read-only view)."""
        return _readonly(self._state.velocities)

    @property
    def costs(self) -> np.ndarray:
        """Costs of the current positions, shape ``(P,)`` (``inf`` before the first evaluation)."""
        return _readonly(self._state.costs)

    @property
    def pbest_positions(self) -> np.ndarray:
        """Personal best positions, shape ``(P, D)`` (read-only view)."""
        return _readonly(self._state.pbest_positions)

    @property
    def pbest_costs(self) -> np.ndarray:
        """Personal best costs, shape ``(P,)`` (read-only view)."""
        return _readonly(self._state.pbest_costs)

    @property
    def best_position(self) -> np.ndarray:
        """Global best position, shape ``(D,)`` (NaN before the first evaluation)."""
        return self._state.gbest_position.copy()

    @property
    def best_cost(self) -> float:
        """Global best cost (``inf`` before the first evaluation)."""
        return self._state.gbest_cost

    @property
    def informants(self) -> Optional[np.ndarray]:
        """Informant indices, shape ``(P, m)``, column 0 the particle itself; None for "global"."""
        return _readonly(self._state.informants)

    @property
    def iteration(self) -> int:
        """Number of iterations completed so far (over all runs)."""
        return self._state.iteration

    @property
    def n_evaluations(self) -> int:
        """Number of particle evaluations so far (over all runs)."""
        return self._state.n_evaluations

    @property
    def planned_iters(self) -> Optional[int]:
        """Length ``T`` of the time-varying inertia schedule (None until fixed)."""
        return self._planned_iters

    @property
    def history(self) -> PSOHistory:
        """Cumulative history (copies), see :class:`PSOHistory`."""
        s = self._state
        n = s.history_len
        return PSOHistory(
            best_cost=s.history_best[:n].copy(), mean_cost=s.history_mean[:n].copy(),
            positions=None if s.history_positions is None else s.history_positions[:n].copy(),
        )

    def __repr__(self) -> str:
        o = self._opt
        return (
            f"PSO(n_particles={o.n_particles}, dimensions={o.dimensions}, topology={o.topology!r}, "
            f"coefficients={o.coefficients!r}, iteration={self.iteration}, best_cost={self.best_cost:.6g})"
        )
