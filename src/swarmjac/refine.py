"""Gradient refinement of particles: L-BFGS (SciPy) on the fused fitness and its weight gradient.

Used by the hybrid trainer (training.py): the swarm explores, and this module polishes its best personal
bests with ``net.fitness_and_gradient`` (the compiled kernel), in parallel over particles. It knows the
network and the data, never the optimiser: it takes positions and returns better positions and costs.
"""
from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, NamedTuple, Optional, Union

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["Candidates", "RefineOptions", "polish", "polish_candidates", "refine_positions"]


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
    final_top : int, default 1
        How many of the best personal bests are polished at the end.
    final_maxiter : int, default 15000
        L-BFGS iterations per particle at the end (it stops earlier when the gradient is below ``gtol``).
    gtol : float, default 1e-12
        L-BFGS stops when the largest gradient component (of the scaled problem) is below this.

    Examples
    --------
    >>> RefineOptions(every=20).every
    20
    """

    # Tuned with benchmarks/fit_quality.py on the demo, Branin, Rosenbrock and WaterFlow (see
    # benchmarks/RESULTS.md): the final polish decides the result; more swarm iterations buy little.
    every: int = 20
    top: int = 2
    maxiter: int = 100
    final_top: int = 1
    final_maxiter: int = 15000
    gtol: float = 1e-12

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


def _scipy_minimize() -> Callable:
    try:
        from scipy.optimize import minimize
    except ImportError:  # pragma: no cover - scipy is a dependency; this names the fix if it is missing
        raise ImportError("gradient refinement needs SciPy: pip install scipy, or use refine=None") from None
    return minimize


def _lbfgs(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray, maxiter: int,
           gtol: float) -> tuple[np.ndarray, float, int]:
    """L-BFGS-B from start; returns the best point evaluated (not only the last), its cost and the number
    of evaluations."""
    best = {"x": start.copy(), "f": math.inf, "n": 0}

    def tracked(theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fun(theta)
        best["n"] += 1
        if f < best["f"]:
            best["x"], best["f"] = theta.copy(), f
        if not math.isfinite(f):
            # L-BFGS-B cannot use an infinite cost; a huge finite one makes its line search back off.
            return 1e300, np.zeros_like(theta)
        return f, g

    # maxfun: SciPy's default of 15000 evaluations would otherwise end a long polish before maxiter.
    _scipy_minimize()(tracked, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": maxiter, "maxfun": 2 * maxiter + 20, "gtol": gtol, "ftol": 0.0,
                               "maxcor": 20})
    return best["x"], best["f"], best["n"]


def refine_positions(net: Any, data: Any, positions: np.ndarray, maxiter: int, gtol: float = 1e-12,
                     n_threads: Optional[int] = None, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Refine each position by L-BFGS on ``net.fitness_and_gradient(., data)``, in parallel over positions.

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
        Positions refined at once (each on one kernel thread); None: every core.
    alpha : float, default 0.0
        L2 weight decay of the loss (see :meth:`MLP.fitness`).

    Returns
    -------
    positions : ndarray, shape (k, n_params)
        The best point each run evaluated (its start if nothing was better).
    costs : ndarray, shape (k,)
    n_evaluations : int
        Fitness-and-gradient evaluations of all runs.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> data = sj.Dataset([[0.0], [1.0]], y=[1.0, 3.0])
    >>> pos, cost, _ = refine_positions(net, data, np.zeros((1, 2)), maxiter=50)
    >>> np.round(pos, 6), bool(cost[0] < 1e-12)
    (array([[2., 1.]]), True)
    """
    from swarmjac._layout import core
    from swarmjac._validation import check_n_threads

    positions = np.ascontiguousarray(positions, dtype=np.float64)
    start_costs = net.fitness(positions, data, n_threads=1, alpha=alpha)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = net.fitness_and_gradient(theta, data, n_threads=1, alpha=alpha)
        return float(f), np.asarray(g, dtype=np.float64)

    def run(i: int) -> tuple[np.ndarray, float, int]:
        x, f, n = _lbfgs(fun, positions[i], maxiter, gtol)
        return (x, f, n) if f < start_costs[i] else (positions[i].copy(), float(start_costs[i]), n)

    workers = min(len(positions), check_n_threads(n_threads, core().max_threads()))
    # L-BFGS-B's small matrix products go through BLAS; a multi-threaded BLAS makes each of them 5-30x
    # slower than one thread (measured with OpenBLAS: 76 vs 466-3049 us per iteration at 33 parameters).
    with threadpool_limits(limits=1, user_api="blas"):
        if workers <= 1:
            results = [run(i) for i in range(len(positions))]
        else:
            # The kernel releases the GIL, so the runs proceed in parallel; each is deterministic on its own.
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, range(len(positions))))
    refined = np.array([x for x, _, _ in results]).reshape(positions.shape)
    costs = np.array([f for _, f, _ in results], dtype=np.float64)
    return refined, costs, int(sum(n for _, _, n in results))


def polish(net: Any, data: Any, positions: np.ndarray, costs: np.ndarray, options: RefineOptions,
           n_threads: Optional[int] = None) -> tuple[np.ndarray, float, int, int]:
    """The final polish of a trainer: long L-BFGS runs from the ``options.final_top`` best candidates.

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
        Candidates polished at once.

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
    order = np.argsort(costs, kind="stable")[: options.final_top]
    best_index = int(order[0])
    best, best_cost = np.array(positions[best_index], dtype=np.float64), float(costs[best_index])
    if not (options.final_top and options.final_maxiter):
        return best, best_cost, 0, 0
    refined, refined_costs, n_evals = refine_positions(net, data, positions[order], options.final_maxiter,
                                                       options.gtol, n_threads)
    winner = int(np.argmin(refined_costs))
    if refined_costs[winner] < best_cost:
        best, best_cost = refined[winner], float(refined_costs[winner])
    return best, best_cost, len(order), n_evals


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
    if options.final_maxiter:
        refined, refined_costs, n_evals = refine_positions(net, data, starts, options.final_maxiter, options.gtol,
                                                           n_threads, alpha=alpha)
    else:
        refined, refined_costs, n_evals = starts, costs[order], 0
    if validation_data is None:
        return Candidates(refined, refined_costs, np.full(len(order), np.nan), n_evals)
    validation_costs = net.fitness(refined, validation_data, n_threads=n_threads)
    return Candidates(refined, refined_costs, validation_costs, n_evals)
