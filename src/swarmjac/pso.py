# Particle swarm optimiser: minimises any vectorised objective f(positions (P, D)) -> costs (P,).
# It knows nothing about neural networks (DESIGN.md: "pso.py only sees an objective"); it imports
# only numpy, the standard library, _io.py for checkpoints and, lazily, tqdm for a progress bar.
"""Particle swarm optimisation (PSO) with resumable, bit-for-bit reproducible runs.

The swarm update is synchronous and fully vectorised over particles. Per iteration ``t``::

    inertia form:      v <- w_t v + c1 r1 (pbest - x) + c2 r2 (lbest - x)
    constriction form: v <- chi (v + c1 r1 (pbest - x) + c2 r2 (lbest - x))
    v <- clip(v, vmin, vmax)                    (if velocity_clamp)
    x <- x + v, then confined to the bounds     (if bounds)
    cost <- f(x) (NaN -> +inf); pbest, lbest and gbest updated

``r1, r2`` are uniform on [0, 1), drawn per particle and per coordinate from the optimiser's single
``numpy.random.Generator``. ``lbest`` is the best personal best among a particle's informants (the
topology).
"""
from __future__ import annotations

import math
import numbers
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ._io import atomic_save_npz, load_npz

__all__ = ["PSO", "PSOResult", "PSOHistory", "CHECKPOINT_KIND"]

#: ``kind`` of PSO checkpoint files (see :mod:`swarmjac._io`).
CHECKPOINT_KIND = "swarmjac-pso-checkpoint"

TOPOLOGIES = ("global", "ring", "von_neumann", "random")
BOUND_HANDLERS = ("reflect", "clip", "random", "periodic")
COEFFICIENT_FORMS = ("inertia", "constriction")
STOP_REASONS = ("iters", "ftol", "callback", "interrupted")

_DEFAULT_W = 0.7298
_DEFAULT_C_INERTIA = 1.49618
_DEFAULT_C_CONSTRICTION = 2.05
_DEFAULT_K = {"ring": 2, "random": 3}

Objective = Callable[[np.ndarray], Any]
Callback = Callable[["PSO", int, float], Any]


# ---------------------------------------------------------------------------------------------
# result types
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# internal state: one immutable snapshot, replaced by a single assignment per iteration
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    n_particles: int
    dimensions: int
    topology: str
    k: Optional[int]
    coefficients: str
    w: Union[float, Tuple[float, float], None]
    c1: float
    c2: float
    chi: Optional[float]
    lower: Optional[np.ndarray]
    upper: Optional[np.ndarray]
    bound_handling: str
    vmin: Optional[np.ndarray]
    vmax: Optional[np.ndarray]
    init_scale: float
    ftol: Optional[float]
    ftol_iter: int
    n_iters_total: Optional[int]
    keep_positions: bool


@dataclass(frozen=True)
class _State:
    # Arrays held here are never modified in place once the state is committed: every iteration
    # builds new arrays (history buffers are only written beyond ``history_len``).
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


# ---------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_int(value: Any, name: str, minimum: Optional[int] = None) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_float(value: Any, name: str, minimum: Optional[float] = None,
                 strictly_positive: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {list(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _per_dimension(value: Any, name: str, dimensions: int) -> np.ndarray:
    """A scalar or a length-D vector of finite reals, as a float64 array of shape (D,)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real scalar or an array of shape ({dimensions},), got {value!r}") from exc
    if array.ndim == 0:
        array = np.full(dimensions, float(array))
    elif array.shape != (dimensions,):
        raise ValueError(f"{name} must be a scalar or have shape ({dimensions},), got shape {array.shape}")
    else:
        array = array.copy()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def _constriction_chi(phi: float) -> float:
    """Clerc-Kennedy constriction factor for phi = c1 + c2 > 4 (phi = 4.1 gives 0.72984)."""
    return 2.0 / abs(2.0 - phi - math.sqrt(phi * phi - 4.0 * phi))


def _make_rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or _is_int(seed) or isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator)):
        try:
            return np.random.default_rng(seed)
        except ValueError as exc:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}") from exc
    raise TypeError(
        "seed must be None, an int or a numpy.random.Generator, "
        f"got {type(seed).__name__} ({seed!r})"
    )


def _rng_state_to_json(state: Any) -> Any:
    """Bit-generator state -> JSON value (ndarrays, e.g. MT19937's key, become tagged lists)."""
    if isinstance(state, dict):
        return {str(key): _rng_state_to_json(value) for key, value in state.items()}
    if isinstance(state, np.ndarray):
        return {"__ndarray__": state.tolist(), "dtype": state.dtype.str}
    if isinstance(state, np.generic):
        return state.item()
    return state


def _rng_state_from_json(state: Any) -> Any:
    if isinstance(state, dict):
        if "__ndarray__" in state:
            return np.asarray(state["__ndarray__"], dtype=np.dtype(state["dtype"]))
        return {key: _rng_state_from_json(value) for key, value in state.items()}
    return state


def _von_neumann_informants(n_particles: int) -> np.ndarray:
    rows = max(r for r in range(1, math.isqrt(n_particles) + 1) if n_particles % r == 0)
    cols = n_particles // rows
    index = np.arange(n_particles)
    row, col = np.divmod(index, cols)
    up = ((row - 1) % rows) * cols + col
    down = ((row + 1) % rows) * cols + col
    left = row * cols + (col - 1) % cols
    right = row * cols + (col + 1) % cols
    return np.stack([index, up, down, left, right], axis=1)


def _ring_informants(n_particles: int, k: int) -> np.ndarray:
    half = k // 2
    offsets = np.array([0] + [-j for j in range(1, half + 1)] + list(range(1, half + 1)))
    return (np.arange(n_particles)[:, None] + offsets[None, :]) % n_particles


# ---------------------------------------------------------------------------------------------
# the optimiser
# ---------------------------------------------------------------------------------------------
class PSO:
    """Particle swarm optimiser for a vectorised objective ``f(positions (P, D)) -> costs (P,)``.

    The swarm lives on the object: :meth:`run` may be called repeatedly and continues the same
    swarm, and :meth:`save` / :meth:`load` checkpoint it completely (including the random
    generator), so that ``run(10); save; load; run(10)`` equals ``run(20)`` bit for bit.

    Parameters
    ----------
    n_particles : int
        Swarm size ``P`` (>= 1).
    dimensions : int
        Number of coordinates ``D`` of a position (>= 1).
    bounds : (lower, upper), optional
        Box constraints; each a scalar or an array of shape ``(D,)``, finite, ``lower < upper``.
        Without bounds the search space is unbounded and ``bound_handling`` is unused.
    topology : {"global", "ring", "von_neumann", "random"}, default "global"
        Who informs whom (``lbest`` is the best personal best among a particle's informants,
        which always include the particle itself):

        - ``"global"``: everyone (gbest PSO).
        - ``"ring"``: particle ``i`` is informed by ``i-k/2, ..., i-1, i, i+1, ..., i+k/2``
          (indices modulo ``P``): ``k`` neighbours in total, ``k/2`` on each side, ``k`` even.
        - ``"von_neumann"``: a ``rows x cols`` torus with ``rows`` the largest divisor of ``P``
          not above ``sqrt(P)``; informants are self plus up, down, left and right. (A prime
          ``P`` gives a 1 x P grid, i.e. a ring with ``k = 2``.)
        - ``"random"``: each particle is informed by itself plus ``k`` distinct others drawn
          uniformly; the whole graph is redrawn after every iteration in which the global best
          did not improve (the adaptive random topology of SPSO-2011; there each particle
          *informs* K others, here each is *informed by* k others). With ``k >= P - 1``
          everyone informs everyone.
    k : int, optional
        Neighbourhood size for ``"ring"`` (even, default 2) and ``"random"`` (default 3).
        Must be omitted for other topologies.
    coefficients : {"inertia", "constriction"}, default "inertia"
        Velocity update form, see the module docstring.
    w : float or (float, float), optional
        Inertia weight (inertia form only; default 0.7298). A pair ``(w_start, w_end)`` makes it
        decrease (or increase) linearly: iteration ``i`` (1-based) uses
        ``w_start + (w_end - w_start) * (i - 1) / max(T - 1, 1)`` for ``i <= T`` and ``w_end``
        after that, where
        ``T`` is :attr:`planned_iters`: ``n_iters_total`` if given, otherwise fixed by the first
        :meth:`run` call as ``iteration + iters``. The schedule is saved with the swarm, so
        splitting a run into several calls does not change it *once it is fixed*; pass
        ``n_iters_total`` when the first call is not the whole planned run.
    c1, c2 : float, optional
        Cognitive and social coefficients (>= 0). Defaults: 1.49618 (inertia form, the
        Clerc-Kennedy equivalent of ``chi = 0.7298, c = 2.05``) or 2.05 (constriction form,
        which needs ``c1 + c2 > 4`` and uses ``chi = 2 / |2 - phi - sqrt(phi^2 - 4 phi)|``,
        ``phi = c1 + c2``; 0.72984 for the defaults).
    velocity_clamp : float or (vmin, vmax), optional
        Clip velocities per coordinate to ``[vmin, vmax]`` (scalars or arrays of shape ``(D,)``,
        ``vmin < vmax``), or, as a single float ``f`` in (0, 1], to
        ``[-f (upper - lower), f (upper - lower)]`` (needs bounds). Applied to the initial
        velocities too.
    bound_handling : {"reflect", "clip", "random", "periodic"}, default "reflect"
        What happens to a coordinate that leaves ``[lower, upper]`` after a move:

        - ``"reflect"``: it bounces off the walls (folded back as often as needed); its velocity
          changes sign if it bounced an odd number of times.
        - ``"clip"``: it is set to the nearest bound and its velocity to 0.
        - ``"random"``: it is redrawn uniformly in ``[lower, upper]`` and its velocity set to 0.
        - ``"periodic"``: it wraps around (the box is a torus); velocity unchanged.

        Coordinates inside the bounds are never touched, and positions always end in
        ``[lower, upper]``.
    init_pos : array of shape (n_particles, dimensions), optional
        Initial positions (finite and, with bounds, inside them). Default: uniform in the bounds,
        or ``init_scale * standard_normal`` without bounds.
    init_scale : float, default 1.0
        Scale of the initial positions and velocities when there are no bounds.
    seed : None, int or numpy.random.Generator, optional
        Source of all randomness (one ``Generator``, held as :attr:`rng`; a Generator passed in is
        used, not copied). The same seed gives bit-for-bit the same run.
    ftol : float, optional
        Early stopping: stop when the best cost improved by no more than ``ftol * |best cost|``
        over the last ``ftol_iter`` iterations. ``None`` (default) disables it; ``0`` stops on a
        window without any improvement.
    ftol_iter : int, default 10
        Length of the ``ftol`` window in iterations (>= 1).
    n_iters_total : int, optional
        Planned total number of iterations, used only by a time-varying ``w``.
    keep_positions : bool, default False
        Record the swarm positions of every iteration in the history.

    Attributes
    ----------
    rng : numpy.random.Generator
        The optimiser's random generator; callbacks must not draw from it if runs are to stay
        reproducible.

    Notes
    -----
    Initial velocities are ``(u - x0) / 2`` with ``u`` drawn like the initial positions
    (SPSO-2007), then clamped. The swarm is evaluated once at the start of the first run (entry 0
    of the history; counts as ``P`` evaluations but not as an iteration).

    An iteration is applied all at once: if it is interrupted (KeyboardInterrupt) or the
    objective raises, the optimiser keeps the state from before that iteration, including the
    random generator, so resuming repeats the iteration exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from swarmjac import PSO
    >>> def sphere(x):
    ...     return np.sum(x**2, axis=1)
    >>> opt = PSO(n_particles=20, dimensions=5, bounds=(-5.0, 5.0), seed=42)
    >>> res = opt.run(sphere, iters=300)
    >>> bool(res.best_cost < 1e-10), res.stopped_reason
    (True, 'iters')
    >>> res2 = opt.run(sphere, iters=10)   # continues the same swarm
    >>> res2.n_iterations
    310
    """

    def __init__(
        self,
        n_particles: int,
        dimensions: int,
        *,
        bounds: Optional[Tuple[Any, Any]] = None,
        topology: str = "global",
        k: Optional[int] = None,
        coefficients: str = "inertia",
        w: Union[float, Tuple[float, float], None] = None,
        c1: Optional[float] = None,
        c2: Optional[float] = None,
        velocity_clamp: Union[float, Tuple[Any, Any], None] = None,
        bound_handling: str = "reflect",
        init_pos: Optional[np.ndarray] = None,
        init_scale: float = 1.0,
        seed: Union[None, int, np.random.Generator] = None,
        ftol: Optional[float] = None,
        ftol_iter: int = 10,
        n_iters_total: Optional[int] = None,
        keep_positions: bool = False,
    ) -> None:
        self._opt = self._validate_options(
            n_particles=n_particles, dimensions=dimensions, bounds=bounds, topology=topology, k=k,
            coefficients=coefficients, w=w, c1=c1, c2=c2, velocity_clamp=velocity_clamp,
            bound_handling=bound_handling, init_scale=init_scale, ftol=ftol, ftol_iter=ftol_iter,
            n_iters_total=n_iters_total, keep_positions=keep_positions,
        )
        init = None if init_pos is None else self._validate_init_pos(init_pos)
        self.rng = _make_rng(seed)
        self._planned_iters: Optional[int] = self._opt.n_iters_total
        self._state = self._initial_state(init)

    # ---------------------------------------------------------------- options and validation
    @staticmethod
    def _validate_options(*, n_particles, dimensions, bounds, topology, k, coefficients, w, c1, c2,
                          velocity_clamp, bound_handling, init_scale, ftol, ftol_iter,
                          n_iters_total, keep_positions) -> _Options:
        n_particles = _check_int(n_particles, "n_particles", 1)
        dimensions = _check_int(dimensions, "dimensions", 1)
        topology = _check_choice(topology, "topology", TOPOLOGIES)
        coefficients = _check_choice(coefficients, "coefficients", COEFFICIENT_FORMS)
        bound_handling = _check_choice(bound_handling, "bound_handling", BOUND_HANDLERS)

        if topology in _DEFAULT_K:
            k = _DEFAULT_K[topology] if k is None else _check_int(k, "k", 1)
            if topology == "ring" and k % 2:
                raise ValueError(f"k must be even for the ring topology (k/2 neighbours on each side), got {k}")
        elif k is not None:
            raise ValueError(f"k applies only to the 'ring' and 'random' topologies, got k={k!r} with topology={topology!r}")

        chi = None
        if coefficients == "inertia":
            if w is None:
                w = _DEFAULT_W
            elif isinstance(w, (tuple, list)):
                if len(w) != 2:
                    raise ValueError(f"w must be a float or a pair (w_start, w_end), got a sequence of length {len(w)}")
                w = (_check_float(w[0], "w[0] (w_start)"), _check_float(w[1], "w[1] (w_end)"))
            else:
                w = _check_float(w, "w")
            default_c = _DEFAULT_C_INERTIA
        else:
            if w is not None:
                raise ValueError(f"w must be omitted with coefficients='constriction' (chi replaces it), got w={w!r}")
            default_c = _DEFAULT_C_CONSTRICTION
        c1 = default_c if c1 is None else _check_float(c1, "c1", minimum=0.0)
        c2 = default_c if c2 is None else _check_float(c2, "c2", minimum=0.0)
        if coefficients == "constriction":
            if c1 + c2 <= 4.0:
                raise ValueError(f"constriction needs c1 + c2 > 4, got c1 + c2 = {c1 + c2}")
            chi = _constriction_chi(c1 + c2)

        lower = upper = None
        if bounds is not None:
            if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
                raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}")
            lower = _per_dimension(bounds[0], "bounds[0] (lower)", dimensions)
            upper = _per_dimension(bounds[1], "bounds[1] (upper)", dimensions)
            bad = np.flatnonzero(lower >= upper)
            if bad.size:
                raise ValueError(
                    f"bounds need lower < upper in every dimension; violated at index {int(bad[0])}: "
                    f"lower={lower[bad[0]]}, upper={upper[bad[0]]}"
                )
            if not np.all(np.isfinite(upper - lower)):
                raise ValueError("bounds: upper - lower overflows; use a smaller box")

        vmin = vmax = None
        if velocity_clamp is not None:
            if isinstance(velocity_clamp, (tuple, list)):
                if len(velocity_clamp) != 2:
                    raise ValueError(f"velocity_clamp must be a fraction or a pair (vmin, vmax), got {velocity_clamp!r}")
                vmin = _per_dimension(velocity_clamp[0], "velocity_clamp[0] (vmin)", dimensions)
                vmax = _per_dimension(velocity_clamp[1], "velocity_clamp[1] (vmax)", dimensions)
                bad = np.flatnonzero(vmin >= vmax)
                if bad.size:
                    raise ValueError(
                        f"velocity_clamp needs vmin < vmax; violated at index {int(bad[0])}: "
                        f"vmin={vmin[bad[0]]}, vmax={vmax[bad[0]]}"
                    )
            else:
                fraction = _check_float(velocity_clamp, "velocity_clamp", strictly_positive=True)
                if fraction > 1.0:
                    raise ValueError(f"velocity_clamp as a fraction of the bounds range must be in (0, 1], got {fraction}")
                if lower is None:
                    raise ValueError("velocity_clamp as a fraction of the bounds range needs bounds; pass (vmin, vmax) instead")
                vmax = fraction * (upper - lower)
                vmin = -vmax

        init_scale = _check_float(init_scale, "init_scale", strictly_positive=True)
        if ftol is not None:
            ftol = _check_float(ftol, "ftol", minimum=0.0)
        ftol_iter = _check_int(ftol_iter, "ftol_iter", 1)
        if n_iters_total is not None:
            n_iters_total = _check_int(n_iters_total, "n_iters_total", 1)
        if not isinstance(keep_positions, (bool, np.bool_)):
            raise TypeError(f"keep_positions must be a bool, got {type(keep_positions).__name__}")
        return _Options(
            n_particles=n_particles, dimensions=dimensions, topology=topology, k=k,
            coefficients=coefficients, w=w, c1=c1, c2=c2, chi=chi, lower=lower, upper=upper,
            bound_handling=bound_handling, vmin=vmin, vmax=vmax, init_scale=init_scale, ftol=ftol,
            ftol_iter=ftol_iter, n_iters_total=n_iters_total, keep_positions=bool(keep_positions),
        )

    def _validate_init_pos(self, init_pos: Any) -> np.ndarray:
        o = self._opt
        try:
            init = np.array(init_pos, dtype=np.float64, order="C", copy=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"init_pos must be a real array of shape ({o.n_particles}, {o.dimensions}), got {type(init_pos).__name__}") from exc
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

    # ---------------------------------------------------------------- state construction
    def _sample_positions(self) -> np.ndarray:
        o = self._opt
        shape = (o.n_particles, o.dimensions)
        if o.lower is None:
            return o.init_scale * self.rng.standard_normal(shape)
        return o.lower + self.rng.random(shape) * (o.upper - o.lower)

    def _initial_state(self, init: Optional[np.ndarray]) -> _State:
        o = self._opt
        positions = self._sample_positions() if init is None else init
        velocities = (self._sample_positions() - positions) / 2.0
        if o.vmin is not None:
            velocities = np.clip(velocities, o.vmin, o.vmax)
        informants = self._make_informants()
        empty = np.zeros(0)
        return _State(
            positions=positions, velocities=velocities,
            costs=np.full(o.n_particles, np.inf),
            pbest_positions=positions, pbest_costs=np.full(o.n_particles, np.inf),
            gbest_position=np.full(o.dimensions, np.nan), gbest_cost=math.inf,
            informants=informants, evaluated=False, iteration=0, n_evaluations=0,
            history_best=empty, history_mean=empty,
            history_positions=np.zeros((0, o.n_particles, o.dimensions)) if o.keep_positions else None,
            history_len=0, rng_state=self.rng.bit_generator.state,
        )

    def _make_informants(self) -> Optional[np.ndarray]:
        o = self._opt
        if o.topology == "global":
            return None
        if o.topology == "ring":
            return _ring_informants(o.n_particles, o.k)
        if o.topology == "von_neumann":
            return _von_neumann_informants(o.n_particles)
        return self._draw_random_informants()

    def _draw_random_informants(self) -> np.ndarray:
        """Self plus k distinct others per particle, uniformly at random (uses self.rng)."""
        n, k = self._opt.n_particles, self._opt.k
        n_others = n - 1
        index = np.arange(n)
        if k >= n_others:
            return np.concatenate([index[:, None], np.tile(index, (n, 1))[~np.eye(n, dtype=bool)].reshape(n, n_others)], axis=1)
        if k * k <= 2 * n_others:
            # Rejection sampling of rows with repeats; accepts a row with probability > 1/e.
            picks = self.rng.integers(0, n_others, size=(n, k))
            while True:
                ordered = np.sort(picks, axis=1)
                repeated = np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
                n_repeated = int(repeated.sum())
                if n_repeated == 0:
                    break
                picks[repeated] = self.rng.integers(0, n_others, size=(n_repeated, k))
        else:
            keys = self.rng.random((n, n_others))
            picks = np.argpartition(keys, k - 1, axis=1)[:, :k]
        picks = picks + (picks >= index[:, None])  # skip self: others are 0..n-1 without i
        return np.concatenate([index[:, None], picks], axis=1)

    # ---------------------------------------------------------------- public read-only views
    @staticmethod
    def _readonly(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
        if array is None:
            return None
        view = array.view()
        view.flags.writeable = False
        return view

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
        """The resolved options (defaults filled in) as a new dict."""
        o = self._opt
        return {
            "n_particles": o.n_particles, "dimensions": o.dimensions,
            "bounds": None if o.lower is None else (o.lower.copy(), o.upper.copy()),
            "topology": o.topology, "k": o.k, "coefficients": o.coefficients, "w": o.w,
            "c1": o.c1, "c2": o.c2, "chi": o.chi,
            "velocity_clamp": None if o.vmin is None else (o.vmin.copy(), o.vmax.copy()),
            "bound_handling": o.bound_handling, "init_scale": o.init_scale, "ftol": o.ftol,
            "ftol_iter": o.ftol_iter, "n_iters_total": o.n_iters_total,
            "keep_positions": o.keep_positions,
        }

    @property
    def positions(self) -> np.ndarray:
        """Current positions, shape ``(P, D)`` (read-only view)."""
        return self._readonly(self._state.positions)

    @property
    def velocities(self) -> np.ndarray:
        """Current velocities, shape ``(P, D)`` (read-only view)."""
        return self._readonly(self._state.velocities)

    @property
    def costs(self) -> np.ndarray:
        """Costs of the current positions, shape ``(P,)`` (``inf`` before the first evaluation)."""
        return self._readonly(self._state.costs)

    @property
    def pbest_positions(self) -> np.ndarray:
        """Personal best positions, shape ``(P, D)`` (read-only view)."""
        return self._readonly(self._state.pbest_positions)

    @property
    def pbest_costs(self) -> np.ndarray:
        """Personal best costs, shape ``(P,)`` (read-only view)."""
        return self._readonly(self._state.pbest_costs)

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
        return self._readonly(self._state.informants)

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

    # ---------------------------------------------------------------- one iteration
    def _inertia(self, iteration: int) -> float:
        """Inertia weight used by (1-based) ``iteration``."""
        w = self._opt.w
        if not isinstance(w, tuple):
            return w
        w_start, w_end = w
        total = self._planned_iters
        if total is None:  # only reachable through private use; run() fixes the plan first
            return w_start
        if iteration > total:
            return w_end
        return w_start + (w_end - w_start) * (iteration - 1) / max(total - 1, 1)

    def _evaluate(self, objective: Objective, positions: np.ndarray) -> np.ndarray:
        raw = objective(positions)
        costs = np.asarray(raw)
        expected = (self._opt.n_particles,)
        if costs.shape != expected:
            raise ValueError(
                f"objective must return an array of shape {expected} (one cost per particle) for "
                f"positions of shape {positions.shape}, got shape {costs.shape}"
            )
        if costs.dtype.kind not in "biuf":
            raise TypeError(f"objective must return real numbers, got dtype {costs.dtype}")
        costs = costs.astype(np.float64, copy=True)
        costs[np.isnan(costs)] = np.inf
        return costs

    @staticmethod
    def _finite_mean(costs: np.ndarray) -> float:
        finite = costs[np.isfinite(costs)]
        if finite.size == 0:
            return math.nan
        with np.errstate(over="ignore"):
            return float(finite.mean())

    def _confine(self, positions: np.ndarray, velocities: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        o = self._opt
        lower, upper = o.lower, o.upper
        outside = (positions < lower) | (positions > upper)
        if not outside.any():
            return positions, velocities
        width = upper - lower
        mode = o.bound_handling
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
            fresh = lower[cols] + self.rng.random(cols.size) * width[cols]
            positions[rows, cols] = np.clip(fresh, lower[cols], upper[cols])
            velocities[rows, cols] = 0.0
        return positions, velocities

    def _local_best(self, s: _State) -> np.ndarray:
        if s.informants is None:
            return s.gbest_position
        choice = np.argmin(s.pbest_costs[s.informants], axis=1)
        best = s.informants[np.arange(s.informants.shape[0]), choice]
        return s.pbest_positions[best]

    @staticmethod
    def _grow(buffer: np.ndarray, needed: int) -> np.ndarray:
        """Return ``buffer`` if it has room for ``needed`` rows, else a larger copy."""
        if buffer.shape[0] >= needed:
            return buffer
        grown = np.empty((max(needed, 2 * buffer.shape[0], 16),) + buffer.shape[1:], dtype=buffer.dtype)
        grown[: buffer.shape[0]] = buffer
        return grown

    def _commit(self, s: _State, *, positions, velocities, costs, pbest_positions, pbest_costs,
                gbest_position, gbest_cost, informants, iteration) -> None:
        """Build the next state (history rows written beyond the committed length) and swap it in."""
        n = s.history_len
        history_best = self._grow(s.history_best, n + 1)
        history_mean = self._grow(s.history_mean, n + 1)
        history_best[n] = gbest_cost
        history_mean[n] = self._finite_mean(costs)
        history_positions = s.history_positions
        if history_positions is not None:
            history_positions = self._grow(history_positions, n + 1)
            history_positions[n] = positions
        new_state = _State(
            positions=positions, velocities=velocities, costs=costs,
            pbest_positions=pbest_positions, pbest_costs=pbest_costs,
            gbest_position=gbest_position, gbest_cost=gbest_cost, informants=informants,
            evaluated=True, iteration=iteration, n_evaluations=s.n_evaluations + costs.shape[0],
            history_best=history_best, history_mean=history_mean,
            history_positions=history_positions, history_len=n + 1,
            rng_state=self.rng.bit_generator.state,
        )
        self._state = new_state  # the single point where an iteration takes effect

    def _evaluate_initial(self, objective: Objective) -> None:
        s = self._state
        costs = self._evaluate(objective, s.positions)
        best = int(np.argmin(costs))
        self._commit(
            s, positions=s.positions, velocities=s.velocities, costs=costs,
            pbest_positions=s.positions, pbest_costs=costs,
            gbest_position=s.positions[best].copy(), gbest_cost=float(costs[best]),
            informants=s.informants, iteration=0,
        )

    def _step(self, objective: Objective) -> None:
        s = self._state
        o = self._opt
        shape = (o.n_particles, o.dimensions)
        iteration = s.iteration + 1
        x = s.positions
        lbest = self._local_best(s)
        r1 = self.rng.random(shape)
        r2 = self.rng.random(shape)
        pull = o.c1 * r1 * (s.pbest_positions - x) + o.c2 * r2 * (lbest - x)
        if o.coefficients == "constriction":
            velocities = o.chi * (s.velocities + pull)
        else:
            velocities = self._inertia(iteration) * s.velocities + pull
        if o.vmin is not None:
            velocities = np.clip(velocities, o.vmin, o.vmax)
        positions = x + velocities
        if o.lower is not None:
            positions, velocities = self._confine(positions, velocities)

        costs = self._evaluate(objective, positions)

        improved = costs < s.pbest_costs
        pbest_positions = np.where(improved[:, None], positions, s.pbest_positions)
        pbest_costs = np.where(improved, costs, s.pbest_costs)
        best = int(np.argmin(pbest_costs))
        if pbest_costs[best] < s.gbest_cost:
            gbest_position, gbest_cost = pbest_positions[best].copy(), float(pbest_costs[best])
            global_improved = True
        else:
            gbest_position, gbest_cost = s.gbest_position, s.gbest_cost
            global_improved = False
        informants = s.informants
        if o.topology == "random" and not global_improved:
            informants = self._draw_random_informants()
        self._commit(
            s, positions=positions, velocities=velocities, costs=costs,
            pbest_positions=pbest_positions, pbest_costs=pbest_costs,
            gbest_position=gbest_position, gbest_cost=gbest_cost, informants=informants,
            iteration=iteration,
        )

    def _restore_rng(self) -> None:
        """Put the generator back to where the committed state left it."""
        self.rng.bit_generator.state = self._state.rng_state

    def _ftol_reached(self) -> bool:
        o = self._opt
        s = self._state
        if o.ftol is None or s.history_len <= o.ftol_iter:
            return False
        current = float(s.history_best[s.history_len - 1])
        previous = float(s.history_best[s.history_len - 1 - o.ftol_iter])
        improvement = previous - current
        return improvement <= o.ftol * abs(current)

    # ---------------------------------------------------------------- running
    def run(
        self,
        objective: Objective,
        iters: int,
        callback: Optional[Callback] = None,
        progress: Optional[bool] = None,
        *,
        checkpoint_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        checkpoint_every: Optional[int] = None,
    ) -> PSOResult:
        """Run up to ``iters`` more iterations on the swarm and return the best so far.

        Parameters
        ----------
        objective : callable
            ``objective(positions)`` with ``positions`` of shape ``(P, D)`` (float64, C-contiguous;
            do not modify it) returns ``P`` real costs. NaN counts as ``+inf``.
        iters : int
            Maximum number of iterations for this call (>= 0). The first call also evaluates
            the initial swarm.
        callback : callable, optional
            ``callback(opt, iteration, best_cost)`` after every iteration (the iteration is fully
            applied, so ``opt.save`` works there). Returning True, or raising StopIteration,
            stops the run (``stopped_reason="callback"``). Any other exception propagates and
            leaves the optimiser consistent and resumable.
        progress : bool, optional
            Show a tqdm progress bar: True (warns if tqdm is missing), False, or None (default)
            for "only if stderr is a terminal and tqdm is installed".
        checkpoint_path : str or os.PathLike, optional
            Save the optimiser (atomically, see :meth:`save`) every ``checkpoint_every``
            iterations of this call and once more when the call returns normally or is
            interrupted.
        checkpoint_every : int, optional
            Checkpoint period in iterations (>= 1); needs ``checkpoint_path``. Default: only
            at the end.

        Returns
        -------
        PSOResult
            ``n_iterations``, ``n_evaluations`` and ``history`` are cumulative over all calls;
            ``wall_time`` covers this call.

        Raises
        ------
        TypeError, ValueError
            For invalid arguments, or an objective returning the wrong shape or type.

        Notes
        -----
        A KeyboardInterrupt (Ctrl-C) ends the call with ``stopped_reason="interrupted"``; the
        iteration in flight is either discarded entirely (the state and the random generator
        are as before it) or, if it had already been applied, kept entirely.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> def rosenbrock(x):
        ...     return np.sum(100 * (x[:, 1:] - x[:, :-1]**2)**2 + (1 - x[:, :-1])**2, axis=1)
        >>> opt = PSO(30, 2, bounds=(-2, 2), topology="ring", seed=3, ftol=0.0, ftol_iter=50)
        >>> res = opt.run(rosenbrock, iters=2000)
        >>> res.stopped_reason, bool(res.best_cost < 1e-8)
        ('ftol', True)
        """
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        iters = _check_int(iters, "iters", 0)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        if checkpoint_every is not None:
            checkpoint_every = _check_int(checkpoint_every, "checkpoint_every", 1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_every needs checkpoint_path")
        if checkpoint_path is not None and not isinstance(checkpoint_path, (str, os.PathLike)):
            raise TypeError(f"checkpoint_path must be a str or os.PathLike, got {type(checkpoint_path).__name__}")

        if self._planned_iters is None and isinstance(self._opt.w, tuple) and iters > 0:
            self._planned_iters = self._state.iteration + iters

        start = time.perf_counter()
        reason = "iters"
        saved_at = None  # iteration of the last checkpoint written by this call
        bar = _progress_bar(progress, iters)
        try:
            if not self._state.evaluated:
                self._evaluate_initial(objective)
            for done in range(1, iters + 1):
                self._step(objective)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f"{self._state.gbest_cost:.6g}", refresh=False)
                if checkpoint_every is not None and done % checkpoint_every == 0:
                    self.save(checkpoint_path)
                    saved_at = self._state.iteration
                if callback is not None:
                    try:
                        stop = callback(self, self._state.iteration, self._state.gbest_cost)
                    except StopIteration:
                        stop = True
                    if stop is not None and bool(stop):
                        reason = "callback"
                        break
                if self._ftol_reached():
                    reason = "ftol"
                    break
        except KeyboardInterrupt:
            self._restore_rng()
            reason = "interrupted"
        except BaseException:
            self._restore_rng()
            raise
        finally:
            if bar is not None:
                bar.close()
        if checkpoint_path is not None and saved_at != self._state.iteration:
            self.save(checkpoint_path)
        return self._result(reason, time.perf_counter() - start)

    def _result(self, reason: str, wall_time: float) -> PSOResult:
        s = self._state
        return PSOResult(
            best_position=s.gbest_position.copy(), best_cost=s.gbest_cost, history=self.history,
            n_evaluations=s.n_evaluations, n_iterations=s.iteration, wall_time=wall_time,
            stopped_reason=reason,
        )

    # ---------------------------------------------------------------- checkpoints
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the complete optimiser (options, swarm, history, RNG state) to ``path``.

        The file is an uncompressed ``.npz`` of kind ``"swarmjac-pso-checkpoint"`` written
        atomically with a checksum (see :mod:`swarmjac._io`); the name is used as given.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> sphere = lambda x: np.sum(x**2, axis=1)
        >>> path = os.path.join(tempfile.mkdtemp(), "swarm.ckpt")
        >>> a = PSO(10, 3, bounds=(-1, 1), seed=0)
        >>> _ = a.run(sphere, 10); a.save(path)
        >>> b = PSO.load(path)
        >>> ra, rb = a.run(sphere, 10), b.run(sphere, 10)
        >>> bool(np.array_equal(ra.best_position, rb.best_position))
        True
        """
        o = self._opt
        s = self._state
        n = s.history_len
        arrays: Dict[str, np.ndarray] = {
            "positions": s.positions, "velocities": s.velocities, "costs": s.costs,
            "pbest_positions": s.pbest_positions, "pbest_costs": s.pbest_costs,
            "gbest_position": s.gbest_position,
            "history_best_cost": s.history_best[:n], "history_mean_cost": s.history_mean[:n],
        }
        if s.history_positions is not None:
            arrays["history_positions"] = s.history_positions[:n]
        if s.informants is not None:
            arrays["informants"] = s.informants
        if o.lower is not None:
            arrays["bounds_lower"], arrays["bounds_upper"] = o.lower, o.upper
        if o.vmin is not None:
            arrays["velocity_clamp_min"], arrays["velocity_clamp_max"] = o.vmin, o.vmax
        meta = {
            "options": {
                "n_particles": o.n_particles, "dimensions": o.dimensions, "topology": o.topology,
                "k": o.k, "coefficients": o.coefficients,
                "w": list(o.w) if isinstance(o.w, tuple) else o.w,
                "c1": o.c1, "c2": o.c2, "bound_handling": o.bound_handling,
                "init_scale": o.init_scale, "ftol": o.ftol, "ftol_iter": o.ftol_iter,
                "n_iters_total": o.n_iters_total, "keep_positions": o.keep_positions,
            },
            "state": {
                "evaluated": s.evaluated, "iteration": s.iteration,
                "n_evaluations": s.n_evaluations, "gbest_cost": s.gbest_cost,
                "planned_iters": self._planned_iters,
            },
            "rng": {
                "bit_generator": type(self.rng.bit_generator).__name__,
                "state": _rng_state_to_json(s.rng_state),
            },
        }
        atomic_save_npz(path, arrays, meta, kind=CHECKPOINT_KIND)

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "PSO":
        """Recreate an optimiser saved with :meth:`save`; it continues exactly where it was.

        Parameters
        ----------
        path : str or os.PathLike
            A checkpoint written by :meth:`save` (or by ``run(checkpoint_path=...)``).

        Returns
        -------
        PSO

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is not a valid, intact PSO checkpoint (see :func:`swarmjac._io.load_npz`).

        Examples
        --------
        >>> import os, tempfile
        >>> from swarmjac import PSO
        >>> path = os.path.join(tempfile.mkdtemp(), "swarm.ckpt")
        >>> PSO(4, 2, seed=0).save(path)
        >>> PSO.load(path).n_particles
        4
        """
        arrays, meta = load_npz(path, kind=CHECKPOINT_KIND)
        try:
            options = dict(meta["options"])
            state_meta = meta["state"]
            rng_meta = meta["rng"]
            w = options.pop("w")
            bounds = None
            if "bounds_lower" in arrays:
                bounds = (arrays["bounds_lower"], arrays["bounds_upper"])
            clamp = None
            if "velocity_clamp_min" in arrays:
                clamp = (arrays["velocity_clamp_min"], arrays["velocity_clamp_max"])
            opt_values = cls._validate_options(
                bounds=bounds, velocity_clamp=clamp, w=tuple(w) if isinstance(w, list) else w,
                **options,
            )
            bit_generator_cls = getattr(np.random, rng_meta["bit_generator"], None)
            if not (isinstance(bit_generator_cls, type) and issubclass(bit_generator_cls, np.random.BitGenerator)
                    and bit_generator_cls is not np.random.BitGenerator):
                raise ValueError(f"unknown bit generator {rng_meta['bit_generator']!r}")
            bit_generator = bit_generator_cls()
            rng_state = _rng_state_from_json(rng_meta["state"])
            bit_generator.state = rng_state

            P, D = opt_values.n_particles, opt_values.dimensions
            history_best = arrays["history_best_cost"]
            if history_best.ndim != 1 or history_best.dtype != np.float64:
                raise ValueError(f"array 'history_best_cost' has shape {history_best.shape} and dtype "
                                 f"{history_best.dtype}, expected 1-D float64")
            n = int(history_best.shape[0])
            expected_shapes = {
                "positions": (P, D), "velocities": (P, D), "costs": (P,),
                "pbest_positions": (P, D), "pbest_costs": (P,), "gbest_position": (D,),
                "history_mean_cost": (n,),
            }
            if opt_values.keep_positions:
                expected_shapes["history_positions"] = (n, P, D)
            for name, shape in expected_shapes.items():
                if arrays[name].shape != shape or arrays[name].dtype != np.float64:
                    raise ValueError(f"array {name!r} has shape {arrays[name].shape} and dtype "
                                     f"{arrays[name].dtype}, expected {shape} float64")
            state = {key: state_meta[key] for key in ("evaluated", "iteration", "n_evaluations", "gbest_cost",
                                                     "planned_iters")}
            if not isinstance(state["evaluated"], bool):
                raise ValueError(f"state 'evaluated' must be true or false, got {state['evaluated']!r}")
            for key in ("iteration", "n_evaluations", "planned_iters"):
                if not (state[key] is None and key == "planned_iters"):
                    state[key] = _check_int(state[key], f"state {key!r}", 0)
            gbest_cost = state["gbest_cost"]
            if isinstance(gbest_cost, bool) or not isinstance(gbest_cost, (int, float)) or math.isnan(gbest_cost):
                raise ValueError(f"state 'gbest_cost' must be a number or inf, got {gbest_cost!r}")
            if n != (state["iteration"] + 1 if state["evaluated"] else 0):
                raise ValueError("history length does not match the iteration count")
            # A cost is never NaN (the optimiser stores +inf for it), and the global best is the best personal best.
            for name in ("costs", "pbest_costs", "history_best_cost"):
                if np.isnan(arrays[name]).any():
                    raise ValueError(f"array {name!r} holds NaN")
            if P and float(gbest_cost) != float(arrays["pbest_costs"].min()):
                raise ValueError(f"state 'gbest_cost' {gbest_cost!r} is not the best personal best cost "
                                 f"{float(arrays['pbest_costs'].min())!r}")
            informants = arrays.get("informants")
            if opt_values.topology == "global":
                if informants is not None:
                    raise ValueError("array 'informants' present for the global topology")
            else:
                if informants is None:
                    raise ValueError(f"array 'informants' missing for the {opt_values.topology!r} topology")
                if informants.dtype.kind not in "iu" or informants.ndim != 2 or informants.shape[0] != P:
                    raise ValueError(f"array 'informants' has shape {informants.shape} and dtype {informants.dtype}, "
                                     f"expected ({P}, k) integers")
                if informants.size and (informants.min() < 0 or informants.max() >= P
                                        or np.any(informants[:, 0] != np.arange(P))):
                    raise ValueError("array 'informants' holds indices that are not particles, or a row that "
                                     "does not start with the particle itself")
                informants = informants.astype(np.intp)
        except (KeyError, TypeError, ValueError, NotImplementedError) as exc:
            raise ValueError(f"{path}: not a valid PSO checkpoint ({type(exc).__name__}: {exc})") from exc

        opt = cls.__new__(cls)
        opt._opt = opt_values
        opt.rng = np.random.Generator(bit_generator)
        opt._planned_iters = state["planned_iters"]
        contiguous = np.ascontiguousarray
        opt._state = _State(
            positions=contiguous(arrays["positions"]), velocities=contiguous(arrays["velocities"]),
            costs=arrays["costs"], pbest_positions=contiguous(arrays["pbest_positions"]),
            pbest_costs=arrays["pbest_costs"], gbest_position=arrays["gbest_position"],
            gbest_cost=float(gbest_cost), informants=informants, evaluated=state["evaluated"],
            iteration=state["iteration"], n_evaluations=state["n_evaluations"],
            history_best=arrays["history_best_cost"], history_mean=arrays["history_mean_cost"],
            history_positions=arrays.get("history_positions") if opt_values.keep_positions else None,
            history_len=n, rng_state=opt.rng.bit_generator.state,
        )
        return opt


def _progress_bar(progress: Optional[bool], total: int):
    """A tqdm bar, or None: tqdm is optional and only used when asked for (or on a TTY)."""
    if progress is None:
        stream = sys.stderr
        try:
            wanted = stream is not None and stream.isatty()
        except (AttributeError, ValueError):
            wanted = False
        if not wanted:
            return None
    elif not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            warnings.warn("progress=True needs tqdm (pip install tqdm); running without a progress bar",
                          UserWarning, stacklevel=3)
        return None
    return tqdm(total=total, desc="PSO", unit="it", leave=False)
