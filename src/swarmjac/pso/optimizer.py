# The particle swarm optimiser: the PSO class, driven by ask()/tell() or by run(), which is a loop over
# them. It only sees costs of positions (ARCHITECTURE.md: the optimiser never knows about networks). Options,
# state, topologies, bound handling, the checkpoint format and the exchange of individuals live in the
# sibling modules; tqdm is imported lazily (progress.py).
"""The :class:`PSO` optimiser (see the package docstring of :mod:`swarmjac.pso` for the update rule)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

import numpy as np

from swarmjac.pso import checkpoint
from swarmjac.pso.bounds import confine
from swarmjac.pso.exchange import ExchangeMixin
from swarmjac.pso.options import Options, constructor_signature, resolve_options
from swarmjac.pso.runner import RunMixin
from swarmjac.pso.state import SwarmState, check_init_positions, initial_state, next_state
from swarmjac.pso.topologies import local_best, make_informants, random_informants
from swarmjac.pso.views import SwarmViews

__all__ = ["PSO"]


@dataclass(frozen=True)
class _Proposal:
    """Positions handed out by ask() and not yet told: the next iteration, computed but not applied."""

    positions: np.ndarray
    velocities: np.ndarray
    initial: bool


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _make_rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or _is_int(seed) or isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator)):
        try:
            return np.random.default_rng(seed)
        except ValueError as exc:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}") from exc
    raise TypeError("seed must be None, an int or a numpy.random.Generator, "
                    f"got {type(seed).__name__} ({seed!r})")


class PSO(SwarmViews, RunMixin, ExchangeMixin):
    """Particle swarm optimiser for a vectorised objective ``f(positions (P, D)) -> costs (P,)``.

    The swarm lives on the object: :meth:`run` may be called repeatedly and continues the same
    swarm, and :meth:`save` / :meth:`load` (or :meth:`to_bytes` / :meth:`from_bytes`) checkpoint it
    completely (including the random generator), so that ``run(10); save; load; run(10)`` equals
    ``run(20)`` bit for bit. :meth:`run` is a loop over :meth:`ask` / :meth:`tell`, which users may
    drive themselves with their own evaluator; :meth:`best_individuals`, :meth:`replace_worst` and
    :meth:`update_personal_bests` exchange individuals with other swarms or a local optimiser.

    All options (everything but ``n_particles``, ``dimensions``, ``init_pos`` and ``seed``) are
    keyword-only and declared once in :data:`swarmjac.pso.options.OPTION_SPECS`.

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

    An iteration is applied all at once (by :meth:`tell`): if it is interrupted (KeyboardInterrupt)
    or the objective raises, the optimiser keeps the state from before that iteration, including
    the random generator, so resuming repeats the iteration exactly.

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

    def __init__(self, n_particles: int, dimensions: int, *, init_pos: Optional[np.ndarray] = None,
                 seed: Union[None, int, np.random.Generator] = None, **options: Any) -> None:
        self._opt: Options = resolve_options(n_particles=n_particles, dimensions=dimensions, **options)
        init = None if init_pos is None else check_init_positions(init_pos, self._opt)
        self.rng = _make_rng(seed)
        self._planned_iters: Optional[int] = self._opt.n_iters_total
        self._state: SwarmState = initial_state(self._opt, self.rng, init, make_informants)
        self._reset_transient()

    def _reset_transient(self) -> None:
        """What lives only in memory: the pending ask(), the progress bar and its status text."""
        self._pending: Optional[_Proposal] = None
        self._bar: Any = None
        self._status: Optional[str] = None
        self._in_run = False

    @classmethod
    def _from_parts(cls, parts: checkpoint.Parts) -> "PSO":
        opt = cls.__new__(cls)
        opt._opt, opt._state, opt._planned_iters, opt.rng = parts
        opt._reset_transient()
        return opt

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_bar"] = None  # a tqdm bar belongs to the run() in flight, not to the swarm
        return state

    # ---------------------------------------------------------------- one iteration
    def _inertia(self, iteration: int) -> float:
        """Inertia weight used by (1-based) ``iteration``."""
        w = self._opt.w
        if not isinstance(w, tuple):
            return w
        w_start, w_end = w
        total = self._planned_iters
        if total is None:  # unreachable: run() fixes the plan first and ask() refuses without one
            return w_start
        if iteration > total:
            return w_end
        return w_start + (w_end - w_start) * (iteration - 1) / max(total - 1, 1)

    def _ask(self) -> np.ndarray:
        """The positions to evaluate next (the pending proposal, made on the first call)."""
        if self._pending is None:
            s, o = self._state, self._opt
            if not s.evaluated:
                self._pending = _Proposal(s.positions, s.velocities, initial=True)
            else:
                shape = (o.n_particles, o.dimensions)
                x = s.positions
                lbest = local_best(s)
                r1 = self.rng.random(shape)
                r2 = self.rng.random(shape)
                pull = o.c1 * r1 * (s.pbest_positions - x) + o.c2 * r2 * (lbest - x)
                if o.coefficients == "constriction":
                    velocities = o.chi * (s.velocities + pull)
                else:
                    velocities = self._inertia(s.iteration + 1) * s.velocities + pull
                if o.vmin is not None:
                    velocities = np.clip(velocities, o.vmin, o.vmax)
                positions = x + velocities
                if o.lower is not None:
                    positions, velocities = confine(positions, velocities, o, self.rng)
                self._pending = _Proposal(positions, velocities, initial=False)
        return self._pending.positions

    def _tell(self, costs: np.ndarray) -> None:
        """Apply the pending proposal with its costs (float64, no NaN): the single commit of an iteration."""
        s, o, p = self._state, self._opt, self._pending
        if p.initial:
            best = int(np.argmin(costs))
            new_state = next_state(
                s, positions=s.positions, velocities=s.velocities, costs=costs,
                pbest_positions=s.positions, pbest_costs=costs,
                gbest_position=s.positions[best].copy(), gbest_cost=float(costs[best]),
                informants=s.informants, iteration=0, rng_state=self.rng.bit_generator.state)
        else:
            improved = costs < s.pbest_costs
            pbest_positions = np.where(improved[:, None], p.positions, s.pbest_positions)
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
                informants = random_informants(o.n_particles, o.k, self.rng)
            new_state = next_state(
                s, positions=p.positions, velocities=p.velocities, costs=costs,
                pbest_positions=pbest_positions, pbest_costs=pbest_costs,
                gbest_position=gbest_position, gbest_cost=gbest_cost, informants=informants,
                iteration=s.iteration + 1, rng_state=self.rng.bit_generator.state)
        self._state = new_state  # the single point where an iteration takes effect
        self._pending = None

    def _discard_pending(self) -> None:
        """Forget an unanswered ask() and put the generator back to where the committed state left it."""
        self._pending = None
        self.rng.bit_generator.state = self._state.rng_state

    def _as_costs(self, raw: Any, what: str, positions_shape: tuple) -> np.ndarray:
        """Costs (P,) as a new float64 array with NaN replaced by +inf; ``what`` opens the error messages."""
        costs = np.asarray(raw)
        expected = (self._opt.n_particles,)
        if costs.shape != expected:
            raise ValueError(f"{what} an array of shape {expected} (one cost per particle) for "
                             f"positions of shape {positions_shape}, got shape {costs.shape}")
        if costs.dtype.kind not in "biuf":
            raise TypeError(f"{what} real numbers, got dtype {costs.dtype}")
        costs = costs.astype(np.float64, copy=True)
        costs[np.isnan(costs)] = np.inf
        return costs

    def _check_not_in_run(self, name: str) -> None:
        if self._in_run:
            raise RuntimeError(f"{name}() cannot be called while run() drives the swarm (e.g. from its callback)")

    # ---------------------------------------------------------------- ask / tell
    def ask(self) -> np.ndarray:
        """The positions whose costs the swarm needs next, shape ``(P, D)`` (a read-only view).

        The first call returns the initial swarm; after that, each call returns the positions of the next
        iteration (the velocity update, clamping and bound handling are applied, drawing from :attr:`rng`).
        ``ask`` is idempotent: until :meth:`tell` is called, it returns the same positions again without
        drawing new random numbers, so a failed evaluation can simply be retried. Nothing changes in the
        swarm until :meth:`tell`; :meth:`save` and :meth:`to_bytes` store the swarm as before the ``ask``
        (the proposal is recomputed identically after loading).

        Returns
        -------
        numpy.ndarray, shape (n_particles, dimensions), float64, read-only

        Raises
        ------
        RuntimeError
            When called from inside :meth:`run` (its callback).
        ValueError
            With a time-varying ``w`` whose length is not fixed (pass ``n_iters_total``, or call
            :meth:`run` once).

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(10, 2, bounds=(-1, 1), seed=0)
        >>> for _ in range(51):                    # the initial swarm, then 50 iterations
        ...     x = opt.ask()
        ...     opt.tell(np.sum(x**2, axis=1))
        >>> opt.iteration, bool(opt.best_cost < 1e-6)
        (50, True)
        """
        self._check_not_in_run("ask")
        if (self._pending is None and self._state.evaluated and isinstance(self._opt.w, tuple)
                and self._planned_iters is None):
            raise ValueError("a time-varying w needs the planned number of iterations: pass n_iters_total "
                             "to PSO() when driving the swarm by ask()/tell()")
        view = self._ask().view()
        view.flags.writeable = False
        return view

    def tell(self, costs: Any) -> None:
        """Give the costs of the positions of the last :meth:`ask` and advance the swarm by one step.

        The first ``tell`` evaluates the initial swarm (history entry 0, not an iteration); every later
        one completes an iteration: personal, neighbourhood and global bests are updated and the random
        topology is redrawn if the global best did not improve. ``tell`` followed by ``ask`` gives bit
        for bit the same swarm as :meth:`run` with the same costs.

        Parameters
        ----------
        costs : array_like, shape (n_particles,)
            Real costs (ints and bools are converted); NaN counts as ``+inf``.

        Raises
        ------
        RuntimeError
            Without a pending :meth:`ask` (each ``ask`` is answered by exactly one ``tell``), or from
            inside :meth:`run`.
        ValueError, TypeError
            For costs of the wrong shape or a non-real dtype; the swarm is then unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(4, 3, seed=1)
        >>> opt.tell(np.zeros(4))
        Traceback (most recent call last):
        ...
        RuntimeError: tell() without a pending ask(): call ask(), evaluate its positions, then tell() their costs
        """
        self._check_not_in_run("tell")
        if self._pending is None:
            raise RuntimeError("tell() without a pending ask(): call ask(), evaluate its positions, "
                               "then tell() their costs")
        self._tell(self._as_costs(costs, "costs must be", self._pending.positions.shape))

    # ---------------------------------------------------------------- checkpoints and bytes
    def _record(self) -> checkpoint.Record:
        return checkpoint.to_record(self._opt, self._state, self._planned_iters,
                                    type(self.rng.bit_generator).__name__)

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
        checkpoint.save_file(path, self._record())

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
        return cls._from_parts(checkpoint.load_file(path))

    def to_bytes(self) -> bytes:
        """The complete optimiser (options, swarm, history, RNG state) as bytes; see :meth:`from_bytes`.

        The same content as :meth:`save`, kept in memory (no file, no pickle): what the island model ships
        between workers. A pending :meth:`ask` is not stored (it is recomputed identically).

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> sphere = lambda x: np.sum(x**2, axis=1)
        >>> a = PSO(6, 2, bounds=(-1, 1), seed=0)
        >>> _ = a.run(sphere, 5)
        >>> b = PSO.from_bytes(a.to_bytes())
        >>> bool(np.array_equal(a.run(sphere, 5).best_position, b.run(sphere, 5).best_position))
        True
        """
        return checkpoint.to_bytes(self._record())

    @classmethod
    def from_bytes(cls, data: bytes) -> "PSO":
        """Recreate an optimiser from :meth:`to_bytes`; it continues exactly where it was.

        Parameters
        ----------
        data : bytes

        Returns
        -------
        PSO

        Raises
        ------
        TypeError
            If ``data`` is not bytes.
        ValueError
            If ``data`` is not an intact swarm from :meth:`to_bytes`.

        Examples
        --------
        >>> from swarmjac import PSO
        >>> PSO.from_bytes(PSO(3, 2, seed=0).to_bytes()).n_particles
        3
        """
        return cls._from_parts(checkpoint.from_bytes(data))


PSO.__signature__ = constructor_signature()  # for help() and IDEs: every option of OPTION_SPECS
