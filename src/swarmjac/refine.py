"""Gradient refinement of particles: batched L-BFGS (swarmjac.lbfgs) on the fused fitness and its weight
gradient, with early stopping on held-out data for the final polish.

Used by the hybrid trainer (training.py): the swarm explores, and this module polishes its best personal
bests with ``net.fitness_and_gradient`` (the compiled kernel), one kernel call over all of them per
iteration. It knows the network and the data, never the optimiser: it takes positions and returns better
positions and costs.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, NamedTuple, Optional, Union

import numpy as np
from threadpoolctl import threadpool_limits

from swarmjac.lbfgs import BatchedLBFGSResult, minimize_batched

__all__ = ["Candidates", "RefineOptions", "deepen", "polish", "polish_candidates", "refine_positions"]


@dataclass(frozen=True)
class RefineOptions:
    """How the hybrid trainer refines particles by gradient.

    Parameters
    ----------
    every : int, default 20
        Refine during the swarm phase every ``every`` iterations (0: only at the end).
    top : int, default 2
        How many of the best personal bests are refined each time.
    maxiter : int, default 100
        L-BFGS iterations per particle during the swarm phase.
    final_top : int, default 8
        How many of the best personal bests are polished at the end, all at once (the candidates).
    final_maxiter : int, default 2000
        L-BFGS iterations per candidate at the end (it stops earlier when the gradient is below ``gtol``).
    gtol : float, default 1e-12
        L-BFGS stops when the largest gradient component (of the scaled problem) is below this.
    patience : int, default 1000
        With held-out data (``fit(validation_fraction=...)``), a candidate's final polish stops once this
        many L-BFGS evaluations, and at least as many as it took to reach its lowest held-out cost so far,
        went by without a lower one; it returns its point of lowest held-out cost (0: polish to
        ``final_maxiter`` and still return that point).
    deep_maxiter : int, default 10000
        After the candidates' polish chose the model(s), polish them further, one at a time, for up to
        this many L-BFGS iterations, and at most 5 x ``final_maxiter`` (SciPy's L-BFGS-B, whose cost per
        iteration is lowest for one point), on the training rows, keeping the point of lowest held-out
        cost (0: no deeper polish).
    deep_patience : int, default 3000
        The ``patience`` of that deeper polish: longer than the candidates', because on clean data the
        held-out cost of a long run improves again after long plateaus (0: never stop early).
    refit_maxiter : int, default 500
        With held-out data: after the held-out rows chose the model(s), polish them for up to this many
        L-BFGS iterations, and at most ``final_maxiter``, on every row (the held-out ones included), so
        that no observation is wasted; 0 returns the chosen model as trained on the training rows.

    Examples
    --------
    >>> RefineOptions(every=20).every
    20
    """

    # Tuned with benchmarks/fit_quality.py (demo, Branin, Rosenbrock, WaterFlow, WingWeight; clean and
    # noisy; see benchmarks/RESULTS.md): breadth (8 candidates polished at once, chosen on held-out rows),
    # then depth (the chosen one polished long), then a short refit on every row.
    every: int = 20
    top: int = 2
    maxiter: int = 100
    final_top: int = 8
    final_maxiter: int = 2000
    gtol: float = 1e-12
    patience: int = 1000
    deep_maxiter: int = 10000
    deep_patience: int = 3000
    refit_maxiter: int = 500

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                    raise ValueError(f"refine option {field.name} must be an int >= 0, got {value!r}")
                object.__setattr__(self, field.name, int(value))
            else:
                if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
                        or not math.isfinite(value):
                    raise ValueError(f"refine option {field.name} must be a finite number > 0, got {value!r}")
                object.__setattr__(self, field.name, float(value))

    @classmethod
    def from_argument(cls, refine: Union[None, str, dict, "RefineOptions"]) -> Optional["RefineOptions"]:
        """The options for ``fit(refine=...)``: None or "none" (no refinement), "lbfgs" (the defaults), a
        dict of option overrides, or a RefineOptions.

        Examples
        --------
        >>> RefineOptions.from_argument({"top": 2}).top
        2
        >>> RefineOptions.from_argument(None) is None
        True
        """
        if refine is None or (isinstance(refine, str) and refine.lower() == "none"):
            return None
        if isinstance(refine, RefineOptions):
            return refine
        if isinstance(refine, str):
            if refine.lower() in ("lbfgs", "l-bfgs", "l-bfgs-b"):
                return cls()
            raise ValueError(f"refine must be None, 'lbfgs', a dict of refine options or a RefineOptions, "
                             f"got {refine!r}")
        if isinstance(refine, dict):
            known = {field.name for field in fields(cls)}
            unknown = sorted(set(refine) - known)
            if unknown:
                raise ValueError(f"unknown refine option(s) {unknown}; known: {sorted(known)}")
            return cls(**refine)
        raise TypeError(f"refine must be None, 'lbfgs', a dict or a RefineOptions, got {type(refine).__name__}")

    def to_dict(self) -> dict:
        """The options as a JSON-friendly dict."""
        return asdict(self)


def refine_positions(net: Any, data: Any, positions: np.ndarray, maxiter: int, gtol: float = 1e-12,
                     n_threads: Optional[int] = None, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Refine each position by L-BFGS on ``net.fitness_and_gradient(., data)``, all positions at once.

    The batched L-BFGS of :mod:`swarmjac.lbfgs` advances every position by one kernel call per iteration
    (OpenMP over the positions); each run is bit for bit the same alone or in any batch, and for any
    ``n_threads``.

    Parameters
    ----------
    net : MLP
    data : Dataset
    positions : ndarray, shape (k, n_params)
        Starting points (float64).
    maxiter : int
        L-BFGS iterations per position.
    gtol : float
        Gradient tolerance of L-BFGS.
    n_threads : int or None
        Threads of the kernel (see :func:`swarmjac.MLP.fitness`).
    alpha : float, default 0.0
        L2 weight decay of the loss (see :meth:`MLP.fitness`).

    Returns
    -------
    positions : ndarray, shape (k, n_params)
        The best point each run evaluated (its start if nothing was better).
    costs : ndarray, shape (k,)
    n_evaluations : int
        Fitness-and-gradient evaluations of all runs (a kernel call over m positions counts m).

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> data = sj.Dataset([[0.0], [1.0]], y=[1.0, 3.0])
    >>> pos, cost, _ = refine_positions(net, data, np.zeros((1, 2)), maxiter=50)
    >>> np.round(pos, 6), bool(cost[0] < 1e-12)
    (array([[2., 1.]]), True)
    """
    result = _minimize(net, data, positions, maxiter, gtol, n_threads, alpha)
    return result.x, result.f, int(result.nfev.sum())


def _minimize(net: Any, data: Any, positions: np.ndarray, maxiter: int, gtol: float, n_threads: Optional[int],
              alpha: float, callback: Optional[Callable] = None) -> BatchedLBFGSResult:
    """Batched L-BFGS on the network's training loss (ftol off: the runs stop on gtol or maxiter)."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)

    def fun(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return net.fitness_and_gradient(X, data, n_threads=n_threads, alpha=alpha)

    # 20 correction pairs: on these small dense networks a longer memory buys better steps for little. BLAS
    # on one thread: a threaded BLAS makes the optimiser's small products many times slower (measured
    # 5-30x with OpenBLAS for SciPy's L-BFGS-B at 33 parameters).
    with threadpool_limits(limits=1, user_api="blas"):
        return minimize_batched(fun, positions, maxiter=maxiter, memory=20, gtol=gtol, ftol=0.0,
                                callback=callback)


def polish(net: Any, data: Any, positions: np.ndarray, costs: np.ndarray, options: RefineOptions,
           n_threads: Optional[int] = None) -> tuple[np.ndarray, float, int, int]:
    """The final polish without validation: long L-BFGS runs from the ``options.final_top`` best candidates.

    Parameters
    ----------
    net : MLP
    data : Dataset
        The training data (standardised, when the trainer scales).
    positions : ndarray, shape (k, n_params)
        Candidates, e.g. a swarm's personal bests.
    costs : ndarray, shape (k,)
        Their costs on ``data``.
    options : RefineOptions
    n_threads : int or None

    Returns
    -------
    best : ndarray, shape (n_params,)
        The best point: a polished one, or the best candidate if no polish improved on it.
    cost : float
    n_polished : int
    n_evaluations : int

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> data = sj.Dataset([[0.0], [1.0]], y=[1.0, 3.0])
    >>> start = np.zeros((2, 2))
    >>> best, cost, n, _ = polish(net, data, start, net.fitness(start, data), RefineOptions(final_top=1))
    >>> np.round(best, 6), n
    (array([2., 1.]), 1)
    """
    costs = np.asarray(costs, dtype=np.float64)
    best_index = int(np.argmin(costs))
    best, best_cost = np.array(positions[best_index], dtype=np.float64), float(costs[best_index])
    if not (options.final_top and options.final_maxiter):
        return best, best_cost, 0, 0
    polished = polish_candidates(net, data, positions, costs, options, n_threads)
    winner = int(np.argmin(polished.costs))
    if polished.costs[winner] < best_cost:
        best, best_cost = polished.positions[winner], float(polished.costs[winner])
    return best, best_cost, len(polished.costs), polished.n_evaluations


class Candidates(NamedTuple):
    """Polished candidates of :func:`polish_candidates`.

    Attributes
    ----------
    positions : ndarray, shape (k, n_params)
        Each candidate's polished point: with validation data the evaluated point with the lowest
        held-out cost, else the one with the lowest training cost.
    costs : ndarray, shape (k,)
        Their training costs (with the weight decay).
    validation_costs : ndarray, shape (k,)
        Their fitness on the validation data (no weight decay); NaN without validation data.
    n_evaluations : int
        Fitness-and-gradient evaluations of all candidates.
    """

    positions: np.ndarray
    costs: np.ndarray
    validation_costs: np.ndarray
    n_evaluations: int


def polish_candidates(net: Any, data: Any, positions: np.ndarray, costs: np.ndarray, options: RefineOptions,
                      n_threads: Optional[int] = None, *, alpha: float = 0.0, validation_data: Any = None,
                      n_candidates: Optional[int] = None) -> Candidates:
    """The final polish of a trainer: long L-BFGS runs from the best ``n_candidates`` positions.

    Parameters
    ----------
    net : MLP
    data : Dataset
        The training data (standardised, when the trainer scales).
    positions : ndarray, shape (k, n_params)
        Candidates, e.g. a swarm's personal bests.
    costs : ndarray, shape (k,)
        Their training costs; the ``n_candidates`` lowest are polished.
    options : RefineOptions
        ``final_maxiter`` and ``gtol``.
    n_threads : int or None
    alpha : float, default 0.0
        Weight decay of the training loss.
    validation_data : Dataset, optional
        Held-out observations: each candidate returns its evaluated point of lowest held-out cost.
    n_candidates : int, optional
        Default ``options.final_top``.

    Returns
    -------
    Candidates
        In the order of ``costs`` (best first).
    """
    costs = np.asarray(costs, dtype=np.float64)
    n_candidates = options.final_top if n_candidates is None else n_candidates
    order = np.argsort(costs, kind="stable")[: max(n_candidates, 1)]
    starts = np.array(positions[order], dtype=np.float64)
    if validation_data is None:
        result = _minimize(net, data, starts, options.final_maxiter, options.gtol, n_threads, alpha)
        return Candidates(result.x, result.f, np.full(len(order), np.nan), int(result.nfev.sum()))
    stopper = _EarlyStopping(net, validation_data, starts, n_threads, options.patience)
    result = _minimize(net, data, starts, options.final_maxiter, options.gtol, n_threads, alpha,
                       callback=stopper if options.patience else None)
    stopper.check(result.x, result.f, np.ones(len(order), dtype=bool))
    # The training cost of each returned point (the start's is not tracked by the L-BFGS result).
    train_costs = np.where(stopper.moved, stopper.train_costs,
                           net.fitness(stopper.positions, data, n_threads=n_threads, alpha=alpha))
    return Candidates(stopper.positions, train_costs, stopper.validation_costs, int(result.nfev.sum()))


#: How often (in kernel calls of the batched L-BFGS) the polish evaluates the held-out cost.
VALIDATE_EVERY = 10


class _EarlyStopping:
    """Callback of the batched L-BFGS that keeps, per candidate, the point with the lowest held-out cost
    (checked every VALIDATE_EVERY calls) and stops a candidate once ``patience`` calls, and as many calls
    as it took to reach that point, went by without a lower one. A candidate's decisions depend on its own
    run only, so results do not depend on the batch."""

    def __init__(self, net: Any, validation_data: Any, starts: np.ndarray, n_threads: Optional[int],
                 patience: int):
        self.net, self.data, self.n_threads, self.patience = net, validation_data, n_threads, patience
        self.positions = starts.copy()
        self.validation_costs = np.asarray(net.fitness(starts, validation_data, n_threads=n_threads),
                                           dtype=np.float64)
        self.train_costs = np.full(len(starts), np.nan)
        self.moved = np.zeros(len(starts), dtype=bool)
        self.since_better = np.zeros(len(starts), dtype=np.int64)
        self.best_at = np.zeros(len(starts), dtype=np.int64)
        self.calls = 0

    def check(self, x_best: np.ndarray, f_best: np.ndarray, running: np.ndarray) -> None:
        """Evaluate the held-out cost of the running candidates' current best points; keep improvements."""
        rows = np.flatnonzero(running)
        if rows.size == 0:
            return
        costs = np.asarray(self.net.fitness(x_best[rows], self.data, n_threads=self.n_threads), dtype=np.float64)
        better = costs < self.validation_costs[rows]
        kept = rows[better]
        self.positions[kept], self.validation_costs[kept] = x_best[kept], costs[better]
        self.train_costs[kept], self.moved[kept] = f_best[kept], True
        self.since_better[kept] = 0
        self.best_at[kept] = self.calls
        self.since_better[rows[~better]] += VALIDATE_EVERY

    def __call__(self, x_best: np.ndarray, f_best: np.ndarray, running: np.ndarray) -> Optional[np.ndarray]:
        self.calls += 1
        if self.calls % VALIDATE_EVERY:
            return None
        self.check(x_best, f_best, running)
        # Held-out costs of L-BFGS runs improve in bursts after long plateaus (clean data): stop only after
        # `patience` calls without improvement AND as many as it took to reach the best so far.
        return running & (self.since_better >= np.maximum(self.patience, self.best_at))


class _Stop(Exception):
    """Raised inside SciPy's objective to end a deep polish early."""


def deepen(net: Any, data: Any, positions: np.ndarray, maxiter: int, gtol: float = 1e-12,
           n_threads: Optional[int] = None, *, alpha: float = 0.0, validation_data: Any = None,
           patience: int = 0) -> Candidates:
    """Long L-BFGS runs (SciPy's L-BFGS-B) from a few chosen points, one after the other.

    For one or two points SciPy's loop costs less per iteration than the batched one. With
    ``validation_data``, each run keeps its evaluated point of lowest held-out cost (checked every
    :data:`VALIDATE_EVERY` evaluations) and stops once ``patience`` evaluations, and as many as it took
    to reach that point, went by without a lower one (``patience=0``: never stops early).

    Parameters
    ----------
    net : MLP
    data : Dataset
        Training data (standardised, when the trainer scales).
    positions : ndarray, shape (k, n_params)
    maxiter : int
        L-BFGS iterations per run.
    gtol : float
    n_threads : int or None
    alpha : float, default 0.0
    validation_data : Dataset, optional
    patience : int, default 0

    Returns
    -------
    Candidates
        One per position, in order; never worse than its start (on the held-out cost with validation
        data, else on the training cost).

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> data = sj.Dataset([[0.0], [1.0]], y=[1.0, 3.0])
    >>> out = deepen(net, data, np.zeros((1, 2)), maxiter=50)
    >>> np.round(out.positions, 6), bool(out.costs[0] < 1e-12)
    (array([[2., 1.]]), True)
    """
    from scipy.optimize import minimize

    positions = np.ascontiguousarray(positions, dtype=np.float64)
    results, n_total = [], 0
    for start in positions:
        track = {"x": start.copy(), "f": float(net.fitness(start, data, n_threads=n_threads, alpha=alpha)),
                 "n": 0, "vx": start.copy(), "vf": np.inf, "vf_train": np.nan, "best_at": 0}
        if validation_data is not None:
            track["vf"] = float(net.fitness(start, validation_data, n_threads=n_threads))
            track["vf_train"] = track["f"]

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = net.fitness_and_gradient(theta, data, n_threads=n_threads, alpha=alpha)
            f = float(f)
            track["n"] += 1
            if f < track["f"]:
                track["x"], track["f"] = theta.copy(), f
            if validation_data is not None and track["n"] % VALIDATE_EVERY == 0:
                held_out = float(net.fitness(track["x"], validation_data, n_threads=n_threads))
                if held_out < track["vf"]:
                    track["vx"], track["vf"], track["vf_train"] = track["x"].copy(), held_out, track["f"]
                    track["best_at"] = track["n"]
                elif patience and track["n"] - track["best_at"] >= max(patience, track["best_at"]):
                    raise _Stop
            if not math.isfinite(f):
                # L-BFGS-B cannot use an infinite cost; a huge finite one makes its line search back off.
                return 1e300, np.zeros_like(theta)
            return f, np.asarray(g, dtype=np.float64)

        try:
            # maxfun: SciPy's default of 15000 evaluations would otherwise end a long run before maxiter.
            # BLAS on one thread, as in _minimize.
            with threadpool_limits(limits=1, user_api="blas"):
                minimize(fun, start, jac=True, method="L-BFGS-B",
                         options={"maxiter": maxiter, "maxfun": 2 * maxiter + 20, "gtol": gtol, "ftol": 0.0,
                                  "maxcor": 20})
        except _Stop:
            pass
        n_total += track["n"]
        if validation_data is None:
            results.append((track["x"], track["f"], np.nan))
        else:
            held_out = float(net.fitness(track["x"], validation_data, n_threads=n_threads))
            if held_out < track["vf"]:
                track["vx"], track["vf"], track["vf_train"] = track["x"], held_out, track["f"]
            results.append((track["vx"], track["vf_train"], track["vf"]))
    return Candidates(np.array([r[0] for r in results]).reshape(positions.shape),
                      np.array([r[1] for r in results], dtype=np.float64),
                      np.array([r[2] for r in results], dtype=np.float64), n_total)
