# Bound handling: what happens to coordinates that leave the box [lower, upper] after a move.
# Called by optimizer.py once per iteration when the swarm has bounds; "random" draws from the swarm's rng.
"""Bound handlers of :class:`swarmjac.PSO`: ``"reflect"``, ``"clip"``, ``"random"``, ``"periodic"``."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from swarmjac.pso.options import Options

__all__ = ["confine"]


def confine(positions: np.ndarray, velocities: np.ndarray, options: Options,
            rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Bring every coordinate outside the bounds back in (new arrays; coordinates inside are untouched).

    Parameters
    ----------
    positions, velocities : numpy.ndarray, shape (P, D)
        After the move.
    options : Options
        ``lower``, ``upper`` and ``bound_handling`` are used.
    rng : numpy.random.Generator
        Source of the fresh coordinates of ``"random"``.

    Returns
    -------
    positions, velocities : numpy.ndarray
        The inputs themselves if nothing was outside.

    Examples
    --------
    >>> import numpy as np
    >>> from swarmjac.pso.options import resolve_options
    >>> o = resolve_options(n_particles=1, dimensions=1, bounds=(0.0, 1.0), bound_handling="reflect")
    >>> confine(np.array([[1.25]]), np.array([[0.5]]), o, np.random.default_rng(0))
    (array([[0.75]]), array([[-0.5]]))
    """
    lower, upper = options.lower, options.upper
    outside = (positions < lower) | (positions > upper)
    if not outside.any():
        return positions, velocities
    width = upper - lower
    mode = options.bound_handling
    if mode == "clip":
        positions = np.where(outside, np.clip(positions, lower, upper), positions)
        velocities = np.where(outside, 0.0, velocities)
    elif mode == "reflect":
        period = 2.0 * width
        folded = np.mod(positions - lower, period)
        flipped = outside & (folded > width)
        folded = np.where(folded > width, period - folded, folded)
        positions = np.where(outside, np.clip(lower + folded, lower, upper), positions)
        velocities = np.where(flipped, -velocities, velocities)
    elif mode == "periodic":
        wrapped = np.clip(lower + np.mod(positions - lower, width), lower, upper)
        positions = np.where(outside, wrapped, positions)
    else:  # "random"
        rows, cols = np.nonzero(outside)
        positions = positions.copy()
        velocities = velocities.copy()
        fresh = lower[cols] + rng.random(cols.size) * width[cols]
        positions[rows, cols] = np.clip(fresh, lower[cols], upper[cols])
        velocities[rows, cols] = 0.0
    return positions, velocities
