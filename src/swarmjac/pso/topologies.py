# Who informs whom in the swarm: the informant table of each topology and the neighbourhood best it
# gives. Used by optimizer.py at construction and after every iteration ("random" is redrawn).
"""Topologies of :class:`swarmjac.PSO`: informant tables ``(P, m)`` whose column 0 is the particle itself."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from swarmjac.pso.options import Options
from swarmjac.pso.state import SwarmState

__all__ = ["make_informants", "ring_informants", "von_neumann_informants", "random_informants", "local_best"]


def von_neumann_informants(n_particles: int) -> np.ndarray:
    """Self, up, down, left, right on a rows x cols torus, rows the largest divisor <= sqrt(P)."""
    rows = max(r for r in range(1, math.isqrt(n_particles) + 1) if n_particles % r == 0)
    cols = n_particles // rows
    index = np.arange(n_particles)
    row, col = np.divmod(index, cols)
    up = ((row - 1) % rows) * cols + col
    down = ((row + 1) % rows) * cols + col
    left = row * cols + (col - 1) % cols
    right = row * cols + (col + 1) % cols
    return np.stack([index, up, down, left, right], axis=1)


def ring_informants(n_particles: int, k: int) -> np.ndarray:
    """Self, then ``k/2`` neighbours on the left and ``k/2`` on the right (indices modulo P)."""
    half = k // 2
    offsets = np.array([0] + [-j for j in range(1, half + 1)] + list(range(1, half + 1)))
    return (np.arange(n_particles)[:, None] + offsets[None, :]) % n_particles


def random_informants(n_particles: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Self plus k distinct others per particle, uniformly at random (draws from ``rng``)."""
    n = n_particles
    n_others = n - 1
    index = np.arange(n)
    if k >= n_others:
        return np.concatenate([index[:, None], np.tile(index, (n, 1))[~np.eye(n, dtype=bool)].reshape(n, n_others)],
                              axis=1)
    if k * k <= 2 * n_others:
        # Rejection sampling of rows with repeats; accepts a row with probability > 1/e.
        picks = rng.integers(0, n_others, size=(n, k))
        while True:
            ordered = np.sort(picks, axis=1)
            repeated = np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
            n_repeated = int(repeated.sum())
            if n_repeated == 0:
                break
            picks[repeated] = rng.integers(0, n_others, size=(n_repeated, k))
    else:
        keys = rng.random((n, n_others))
        picks = np.argpartition(keys, k - 1, axis=1)[:, :k]
    picks = picks + (picks >= index[:, None])  # skip self: others are 0..n-1 without i
    return np.concatenate([index[:, None], picks], axis=1)


def make_informants(options: Options, rng: np.random.Generator) -> Optional[np.ndarray]:
    """The informant table of ``options.topology`` (None for "global", where everyone informs everyone)."""
    if options.topology == "global":
        return None
    if options.topology == "ring":
        return ring_informants(options.n_particles, options.k)
    if options.topology == "von_neumann":
        return von_neumann_informants(options.n_particles)
    return random_informants(options.n_particles, options.k, rng)


def local_best(s: SwarmState) -> np.ndarray:
    """Each particle's best informant's personal best, shape (P, D) (the global best for "global")."""
    if s.informants is None:
        return s.gbest_position
    choice = np.argmin(s.pbest_costs[s.informants], axis=1)
    best = s.informants[np.arange(s.informants.shape[0]), choice]
    return s.pbest_positions[best]
