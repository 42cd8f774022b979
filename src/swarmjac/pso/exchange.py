# Exchange of individuals between a swarm and the outside: export the best personal bests, let immigrants
# replace the worst, and take better personal bests found by someone else (e.g. a gradient refiner).
# A mixin of optimizer.PSO; each method commits one new state and never draws random numbers.
"""Public exchange of individuals of :class:`swarmjac.PSO` (used by the island model and hybrid trainers)."""
from __future__ import annotations

import dataclasses
from typing import Any, Tuple

import numpy as np

from swarmjac._validation import check_positive_int

__all__ = ["ExchangeMixin"]


class ExchangeMixin:
    """``best_individuals``, ``replace_worst`` and ``update_personal_bests`` of :class:`swarmjac.PSO`."""

    # ----- checks shared by the methods that change the swarm
    def _check_changeable(self, name: str) -> None:
        if self._pending is not None:
            raise RuntimeError(f"{name}() between ask() and tell(): tell() the costs of the pending positions first")
        if not self._state.evaluated:
            raise RuntimeError(f"{name}() needs an evaluated swarm: run() it, or ask()/tell() once, first")

    def _individuals(self, positions: Any, costs: Any, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """Positions (m, D) finite, inside the bounds, and costs (m,) as float64 with NaN -> +inf."""
        D = self._opt.dimensions
        positions, costs = np.asarray(positions), np.asarray(costs)
        for label, array in (("positions", positions), ("costs", costs)):
            if array.dtype.kind not in "biuf":
                raise TypeError(f"{name}: {label} must be real numbers, got dtype {array.dtype}")
        if positions.ndim != 2 or positions.shape[1] != D or costs.shape != (positions.shape[0],):
            raise ValueError(f"{name}: positions must have shape (m, {D}) and costs shape (m,), got "
                             f"{positions.shape} and {costs.shape}")
        positions = np.array(positions, dtype=np.float64)
        costs = np.array(costs, dtype=np.float64)
        if not np.all(np.isfinite(positions)):
            raise ValueError(f"{name}: positions must be finite")
        if self._opt.lower is not None:
            outside = (positions < self._opt.lower) | (positions > self._opt.upper)
            if outside.any():
                raise ValueError(f"{name}: {int(outside.sum())} coordinate(s) of positions outside bounds")
        costs[np.isnan(costs)] = np.inf
        return positions, costs

    # ----- public methods
    def best_individuals(self, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` best personal bests, best first (ties: lower particle index first).

        Parameters
        ----------
        k : int
            How many, 0 to ``n_particles``.

        Returns
        -------
        positions : numpy.ndarray, shape (k, D)
            Copies of the personal-best positions.
        costs : numpy.ndarray, shape (k,)
            Their costs (``inf`` before the first evaluation).

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(6, 2, bounds=(-1, 1), seed=0)
        >>> _ = opt.run(lambda x: np.sum(x**2, axis=1), 5)
        >>> positions, costs = opt.best_individuals(2)
        >>> positions.shape, bool(costs[0] == opt.best_cost)
        ((2, 2), True)
        """
        k = check_positive_int(k, "k", 0)
        if k > self._opt.n_particles:
            raise ValueError(f"k must be <= n_particles={self._opt.n_particles}, got {k}")
        s = self._state
        best_first = np.argsort(s.pbest_costs, kind="stable")[:k]
        return np.array(s.pbest_positions[best_first]), np.array(s.pbest_costs[best_first])

    def replace_worst(self, positions: Any, costs: Any) -> np.ndarray:
        """Let immigrants replace the particles with the worst personal bests, where they are better.

        The immigrants are sorted best first (stable) and paired with the particles of highest
        personal-best cost, worst first (ties: lower index first); the ``j``-th immigrant replaces the
        ``j``-th worst particle only if its cost is strictly lower than that particle's personal-best cost.
        A replaced particle's position and personal-best position both become the immigrant's position,
        its current and personal-best costs the immigrant's cost, and its velocity 0. The global best
        follows if an immigrant beats it. Nothing else changes: the other particles, the random generator,
        the topology, the history (its next entry shows the effect), the iteration and evaluation counts.

        Parameters
        ----------
        positions : array_like, shape (m, D)
            Immigrant positions (finite, inside the bounds if any); ``m`` may exceed ``n_particles``
            (only the best ``n_particles`` can enter).
        costs : array_like, shape (m,)
            Their costs (NaN counts as ``+inf``, which never enters).

        Returns
        -------
        numpy.ndarray of int
            Indices of the particles replaced, in immigrant order.

        Raises
        ------
        RuntimeError
            Before the first evaluation, or between :meth:`ask` and :meth:`tell`.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(5, 2, bounds=(-1, 1), seed=0)
        >>> _ = opt.run(lambda x: np.sum(x**2, axis=1), 3)
        >>> slots = opt.replace_worst(np.zeros((1, 2)), np.zeros(1))
        >>> opt.best_cost, bool(opt.pbest_costs[slots[0]] == 0.0)
        (0.0, True)
        """
        self._check_changeable("replace_worst")
        positions, costs = self._individuals(positions, costs, "replace_worst")
        s = self._state
        order = np.argsort(costs, kind="stable")
        positions, costs = positions[order], costs[order]
        worst_first = np.argsort(-s.pbest_costs, kind="stable")[: positions.shape[0]]
        m = worst_first.size
        accepted = costs[:m] < s.pbest_costs[worst_first]
        slots = worst_first[accepted]
        if slots.size == 0:
            return slots
        incoming, incoming_costs = positions[:m][accepted], costs[:m][accepted]
        replaced = {}
        for name, values in (("positions", incoming), ("pbest_positions", incoming),
                             ("costs", incoming_costs), ("pbest_costs", incoming_costs)):
            array = np.array(getattr(s, name))
            array[slots] = values
            replaced[name] = array
        replaced["velocities"] = np.array(s.velocities)
        replaced["velocities"][slots] = 0.0
        best = int(np.argmin(incoming_costs))
        if incoming_costs[best] < s.gbest_cost:
            replaced["gbest_position"] = incoming[best].copy()
            replaced["gbest_cost"] = float(incoming_costs[best])
        self._state = dataclasses.replace(s, **replaced)
        return slots

    def update_personal_bests(self, indices: Any, positions: Any, costs: Any) -> np.ndarray:
        """Offer better personal bests for some particles, e.g. points refined by a gradient method.

        For each ``j``, particle ``indices[j]`` takes ``positions[j]`` as its personal best if ``costs[j]``
        is strictly lower than its personal-best cost. The particle itself is **not moved**: its current
        position, velocity and cost stay as they are (they describe its trajectory, and the velocity update
        pulls it towards the new personal best from the next iteration on). The global best, and through
        the personal bests every neighbourhood best, follow at once. The random generator, the history
        (its next entry shows the effect), the topology and the iteration and evaluation counts are
        unchanged: the caller did the evaluations. Allowed inside a :meth:`run` callback; a checkpoint
        written after it (run's periodic checkpoint is) includes the change.

        Parameters
        ----------
        indices : array_like of int, shape (m,)
            Distinct particle indices in ``[0, n_particles)``.
        positions : array_like, shape (m, D)
            Candidate positions (finite, inside the bounds if any).
        costs : array_like, shape (m,)
            Their costs by the swarm's objective (NaN counts as ``+inf``, never accepted).

        Returns
        -------
        numpy.ndarray of bool, shape (m,)
            Which candidates were accepted.

        Raises
        ------
        RuntimeError
            Before the first evaluation, or between :meth:`ask` and :meth:`tell`.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(4, 2, seed=0)
        >>> _ = opt.run(lambda x: np.sum(x**2, axis=1), 2)
        >>> opt.update_personal_bests([3], np.zeros((1, 2)), [0.0])
        array([ True])
        >>> opt.best_cost, opt.best_position
        (0.0, array([0., 0.]))
        """
        self._check_changeable("update_personal_bests")
        P = self._opt.n_particles
        index_array = np.asarray(indices)
        if index_array.dtype.kind not in "iu" or index_array.ndim != 1:
            raise TypeError(f"indices must be a 1-D array of ints, got dtype {index_array.dtype} and shape "
                            f"{index_array.shape}")
        if index_array.size and (index_array.min() < 0 or index_array.max() >= P):
            raise ValueError(f"indices must be in [0, {P}), got values from {index_array.min()} to "
                             f"{index_array.max()}")
        if np.unique(index_array).size != index_array.size:
            raise ValueError("indices must be distinct")
        positions, costs = self._individuals(positions, costs, "update_personal_bests")
        if costs.shape[0] != index_array.size:
            raise ValueError(f"update_personal_bests: {index_array.size} indices but {costs.shape[0]} positions")
        s = self._state
        index_array = index_array.astype(np.intp)
        accepted = costs < s.pbest_costs[index_array]
        if not accepted.any():
            return accepted
        pbest_positions, pbest_costs = np.array(s.pbest_positions), np.array(s.pbest_costs)
        pbest_positions[index_array[accepted]] = positions[accepted]
        pbest_costs[index_array[accepted]] = costs[accepted]
        best = int(np.argmin(pbest_costs))
        gbest_position, gbest_cost = s.gbest_position, s.gbest_cost
        if pbest_costs[best] < gbest_cost:
            gbest_position, gbest_cost = pbest_positions[best].copy(), float(pbest_costs[best])
        self._state = dataclasses.replace(s, pbest_positions=pbest_positions, pbest_costs=pbest_costs,
                                          gbest_position=gbest_position, gbest_cost=gbest_cost)
        return accepted
