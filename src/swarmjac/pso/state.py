# The swarm's state: one immutable snapshot that the optimiser replaces by a single assignment per
# iteration (so an interrupted iteration leaves nothing half-applied). Used by optimizer.py and
# checkpoint.py; knows nothing about objectives, topologies or files.
"""Immutable swarm state and the helpers that build the next one."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import numpy as np

from swarmjac.pso.options import Options

__all__ = ["SwarmState", "check_init_positions", "initial_state", "next_state", "sample_positions", "finite_mean"]


@dataclass(frozen=True)
class SwarmState:
    """Everything that changes during a run.

    Arrays held here are never modified in place once the state is committed: every change builds new
    arrays (history buffers are only written beyond ``history_len``, so a buffer can be shared by
    consecutive states). ``rng_state`` is the bit-generator state at the time of the commit.
    """

    positions: np.ndarray
    velocities: np.ndarray
    costs: np.ndarray
    pbest_positions: np.ndarray
    pbest_costs: np.ndarray
    gbest_position: np.ndarray
    gbest_cost: float
    informants: Optional[np.ndarray]
    evaluated: bool
    iteration: int
    n_evaluations: int
    history_best: np.ndarray
    history_mean: np.ndarray
    history_positions: Optional[np.ndarray]
    history_len: int
    rng_state: Dict[str, Any]


def check_init_positions(init_pos: Any, options: Options) -> np.ndarray:
    """The user's ``init_pos`` as a new float64 (P, D) array: finite and inside the bounds."""
    o = options
    try:
        init = np.array(init_pos, dtype=np.float64, order="C", copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"init_pos must be a real array of shape ({o.n_particles}, {o.dimensions}), "
                        f"got {type(init_pos).__name__}") from exc
    expected = (o.n_particles, o.dimensions)
    if init.shape != expected:
        raise ValueError(f"init_pos must have shape (n_particles, dimensions) = {expected}, got {init.shape}")
    if not np.all(np.isfinite(init)):
        raise ValueError("init_pos must be finite")
    if o.lower is not None:
        outside = (init < o.lower) | (init > o.upper)
        if outside.any():
            raise ValueError(f"init_pos has {int(outside.sum())} coordinate(s) outside bounds")
    return init


def sample_positions(options: Options, rng: np.random.Generator) -> np.ndarray:
    """Uniform in the bounds, or ``init_scale * standard_normal`` without bounds, shape (P, D)."""
    shape = (options.n_particles, options.dimensions)
    if options.lower is None:
        return options.init_scale * rng.standard_normal(shape)
    return options.lower + rng.random(shape) * (options.upper - options.lower)


def initial_state(options: Options, rng: np.random.Generator, init: Optional[np.ndarray],
                  make_informants: Callable[[Options, np.random.Generator], Optional[np.ndarray]]) -> SwarmState:
    """The unevaluated swarm: positions ``init`` (or sampled), velocities ``(u - x0) / 2`` clamped.

    The draws come in this order (part of the reproducibility contract): positions, velocities, informants.
    """
    positions = sample_positions(options, rng) if init is None else init
    velocities = (sample_positions(options, rng) - positions) / 2.0
    if options.vmin is not None:
        velocities = np.clip(velocities, options.vmin, options.vmax)
    informants = make_informants(options, rng)
    empty = np.zeros(0)
    P, D = options.n_particles, options.dimensions
    return SwarmState(
        positions=positions, velocities=velocities, costs=np.full(P, np.inf),
        pbest_positions=positions, pbest_costs=np.full(P, np.inf),
        gbest_position=np.full(D, np.nan), gbest_cost=math.inf,
        informants=informants, evaluated=False, iteration=0, n_evaluations=0,
        history_best=empty, history_mean=empty,
        history_positions=np.zeros((0, P, D)) if options.keep_positions else None,
        history_len=0, rng_state=rng.bit_generator.state,
    )


def finite_mean(costs: np.ndarray) -> float:
    """Mean of the finite entries, NaN if there are none (no overflow warning for huge costs)."""
    finite = costs[np.isfinite(costs)]
    if finite.size == 0:
        return math.nan
    with np.errstate(over="ignore"):
        return float(finite.mean())


def _grow(buffer: np.ndarray, needed: int) -> np.ndarray:
    """Return ``buffer`` if it has room for ``needed`` rows, else a larger copy."""
    if buffer.shape[0] >= needed:
        return buffer
    grown = np.empty((max(needed, 2 * buffer.shape[0], 16),) + buffer.shape[1:], dtype=buffer.dtype)
    grown[: buffer.shape[0]] = buffer
    return grown


def next_state(s: SwarmState, *, positions: np.ndarray, velocities: np.ndarray, costs: np.ndarray,
               pbest_positions: np.ndarray, pbest_costs: np.ndarray, gbest_position: np.ndarray,
               gbest_cost: float, informants: Optional[np.ndarray], iteration: int,
               rng_state: Dict[str, Any]) -> SwarmState:
    """The state after an evaluation: one more history row (written beyond the committed length)."""
    n = s.history_len
    history_best = _grow(s.history_best, n + 1)
    history_mean = _grow(s.history_mean, n + 1)
    history_best[n] = gbest_cost
    history_mean[n] = finite_mean(costs)
    history_positions = s.history_positions
    if history_positions is not None:
        history_positions = _grow(history_positions, n + 1)
        history_positions[n] = positions
    return SwarmState(
        positions=positions, velocities=velocities, costs=costs,
        pbest_positions=pbest_positions, pbest_costs=pbest_costs,
        gbest_position=gbest_position, gbest_cost=gbest_cost, informants=informants,
        evaluated=True, iteration=iteration, n_evaluations=s.n_evaluations + costs.shape[0],
        history_best=history_best, history_mean=history_mean,
        history_positions=history_positions, history_len=n + 1, rng_state=rng_state,
    )
