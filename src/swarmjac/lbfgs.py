"""Batched L-BFGS: one quasi-Newton run per particle, all of them advanced by one oracle call per iteration.

Used for gradient refinement (refine.py): ``fun(X) -> (f, G)`` evaluates a trial point of every running
particle at once (e.g. ``net.fitness_and_gradient``, OpenMP over particles). Plain NumPy; no swarmjac imports.
"""
from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["BatchedLBFGSResult", "LBFGSStatus", "minimize_batched"]

# Strong Wolfe constants (sufficient decrease, curvature) and the line-search budget, as is usual for L-BFGS.
_C1, _C2 = 1e-4, 0.9
_MAX_TRIALS = 20
_EPS = np.finfo(np.float64).eps


class LBFGSStatus(enum.IntEnum):
    """Why a particle stopped."""

    GTOL = 0            # max |g| <= gtol
    FTOL = 1            # relative decrease of f <= ftol
    MAXITER = 2
    MAX_EVALS = 3
    LINE_SEARCH_FAILED = 4
    NON_FINITE_START = 5
    CALLBACK = 6

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    LBFGSStatus.GTOL: "converged: max |gradient| <= gtol",
    LBFGSStatus.FTOL: "converged: relative decrease of f <= ftol",
    LBFGSStatus.MAXITER: "stopped: maxiter iterations",
    LBFGSStatus.MAX_EVALS: "stopped: max_evals evaluations",
    LBFGSStatus.LINE_SEARCH_FAILED: "stopped: line search failed (no decrease along steepest descent)",
    LBFGSStatus.NON_FINITE_START: "stopped: f or gradient not finite at the start",
    LBFGSStatus.CALLBACK: "stopped by the callback",
}


@dataclass(frozen=True)
class BatchedLBFGSResult:
    """The outcome of :func:`minimize_batched`, one row per particle.

    Attributes
    ----------
    x : ndarray, shape (K, D)
        The best point each particle evaluated (its start if nothing was lower).
    f : ndarray, shape (K,)
        ``fun`` at ``x``; a non-finite value is reported as ``+inf``.
    nit : ndarray of int, shape (K,)
        Accepted steps.
    nfev : ndarray of int, shape (K,)
        Evaluations of the particle, its start included.
    status : ndarray of int, shape (K,)
        :class:`LBFGSStatus` codes.
    message : tuple of str
        ``status`` in words.
    n_calls : int
        Calls of ``fun`` (each evaluates one point of every particle still running).
    """

    x: np.ndarray
    f: np.ndarray
    nit: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    message: tuple
    n_calls: int

    @property
    def converged(self) -> np.ndarray:
        """Mask of the particles that met ``gtol`` or ``ftol``."""
        return (self.status == LBFGSStatus.GTOL) | (self.status == LBFGSStatus.FTOL)


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product per row. Each row is reduced on its own (no BLAS), so a particle's result does not
    depend on the other rows of the batch."""
    return (a * b).sum(axis=1)


def _cubic_minimizer(ta, fa, da, tb, fb, db) -> np.ndarray:
    """Minimiser of the cubic through (ta, fa, da) and (tb, fb, db), per entry; NaN where it has none."""
    with np.errstate(all="ignore"):
        d1 = da + db - 3.0 * (fa - fb) / (ta - tb)
        d2 = np.sign(tb - ta) * np.sqrt(d1 * d1 - da * db)
        return tb - (tb - ta) * (db + d2 - d1) / (db - da + 2.0 * d2)


def _quadratic_minimizer(ta, fa, da, tb, fb) -> np.ndarray:
    """Minimiser of the parabola through (ta, fa) with slope da and through (tb, fb); NaN or inf if none."""
    with np.errstate(all="ignore"):
        w = tb - ta
        curvature = fb - fa - da * w
        return np.where(curvature > 0, ta - da * w * w / (2.0 * curvature), np.nan)


def _zoom_step(t_lo, f_lo, d_lo, t_hi, f_hi, d_hi) -> np.ndarray:
    """Next trial inside a bracket: cubic, else quadratic, else bisection interpolation, kept 10% away
    from both ends. An end with a non-finite cost is approached by shrinking the step tenfold."""
    step = _cubic_minimizer(t_lo, f_lo, d_lo, t_hi, f_hi, d_hi)
    step = np.where(np.isfinite(step), step, _quadratic_minimizer(t_lo, f_lo, d_lo, t_hi, f_hi))
    step = np.where(np.isfinite(step), step, 0.5 * (t_lo + t_hi))
    step = np.where(np.isfinite(f_hi), step, t_lo + 0.1 * (t_hi - t_lo))
    low, high = np.minimum(t_lo, t_hi), np.maximum(t_lo, t_hi)
    with np.errstate(invalid="ignore"):   # an open bracket (t_hi = inf) gives NaN here; its step is unused
        margin = 0.1 * (high - low)
        return np.clip(step, low + margin, high - margin)


class _PairMemory:
    """The last ``memory`` correction pairs (s, y) of every particle, in a ring per particle, with their
    inner products ``SY[k, u, v] = s_u . y_v`` and ``YY[k, u, v] = y_u . y_v`` kept up to date.

    The direction is the two-loop recursion's ``-H g`` written with these inner products: each loop is a
    triangular system over the pairs in age order, so a direction costs two passes over the pairs for
    ``S g`` and ``Y g``, one small solve per loop and two passes to combine, for all particles at once and
    with no Python loop over pairs. Empty slots hold zero pairs with ``rho = 0``: they add nothing.
    """

    def __init__(self, n_particles: int, memory: int, dim: int) -> None:
        self.S, self.Y = np.zeros((n_particles, memory, dim)), np.zeros((n_particles, memory, dim))
        self.SY, self.YY = np.zeros((n_particles, memory, memory)), np.zeros((n_particles, memory, memory))
        self.rho = np.zeros((n_particles, memory))
        self.newest = np.full(n_particles, memory - 1, dtype=np.int64)
        self.count = np.zeros(n_particles, dtype=np.int64)

    @staticmethod
    def _dots(pairs: np.ndarray, rows: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``pairs[rows] @ v`` per particle, shape (len(rows), memory)."""
        # A pass over every particle's pairs is cheaper than copying the rows' pairs unless few run.
        if 4 * rows.size >= len(pairs):
            full = np.zeros(pairs.shape[::2])
            full[rows] = v
            return np.einsum("kmd,kd->km", pairs, full)[rows]
        return np.einsum("kmd,kd->km", pairs[rows], v)

    @staticmethod
    def _combination(pairs: np.ndarray, rows: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """``sum_m coefficients[:, m] pairs[rows, m]`` per particle, shape (len(rows), D)."""
        if 4 * rows.size >= len(pairs):
            full = np.zeros(pairs.shape[:2])
            full[rows] = coefficients
            return np.einsum("km,kmd->kd", full, pairs)[rows]
        return np.einsum("km,kmd->kd", coefficients, pairs[rows])

    def direction(self, rows: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``-H g`` for the particles ``rows`` (ascending) with gradients ``g`` (len(rows), D)."""
        memory = self.rho.shape[1]
        SY, YY, rho = self.SY[rows], self.YY[rows], self.rho[rows]
        Sg, Yg = self._dots(self.S, rows, g), self._dots(self.Y, rows, g)
        age = (self.newest[rows, None] - np.arange(memory)) % memory          # 0: the newest pair
        newer = age[:, None, :] < age[:, :, None]                             # newer[k, i, j]: j after i
        eye = np.eye(memory)
        # First loop, newest to oldest: a_i = rho_i (s_i . g - sum_{j newer} a_j s_i . y_j).
        a = np.linalg.solve(eye + rho[:, :, None] * np.where(newer, SY, 0.0), (rho * Sg)[..., None])[..., 0]
        last, n = self.newest[rows], np.arange(rows.size)
        sy_last, yy_last = SY[n, last, last], YY[n, last, last]
        gamma = np.where(yy_last > 0, sy_last / np.where(yy_last > 0, yy_last, 1.0), 1.0)  # H0 = gamma I
        # Second loop, oldest to newest: b_i = rho_i y_i . (gamma q + sum_{j older} (a_j - b_j) s_j),
        # with q = g - sum_j a_j y_j.
        older_sy = np.where(np.swapaxes(newer, 1, 2), np.swapaxes(SY, 1, 2), 0.0)  # [i, j] = s_j . y_i
        yq = Yg - np.einsum("kij,kj->ki", YY, a)
        rhs = rho * (gamma[:, None] * yq + np.einsum("kij,kj->ki", older_sy, a))
        b = np.linalg.solve(eye + rho[:, :, None] * older_sy, rhs[..., None])[..., 0]
        r = gamma[:, None] * (g - self._combination(self.Y, rows, a)) + self._combination(self.S, rows, a - b)
        return -r

    def add(self, rows: np.ndarray, s: np.ndarray, y: np.ndarray, sy: np.ndarray) -> None:
        """Store the pair (s, y) with ``s . y = sy > 0`` as the newest of each particle in ``rows``."""
        slot = (self.newest[rows] + 1) % self.rho.shape[1]
        self.S[rows, slot], self.Y[rows, slot], self.rho[rows, slot] = s, y, 1.0 / sy
        self.newest[rows] = slot
        self.count[rows] = np.minimum(self.count[rows] + 1, self.rho.shape[1])
        Ys, Sy, Yy = self._dots(self.Y, rows, s), self._dots(self.S, rows, y), self._dots(self.Y, rows, y)
        self.SY[rows, slot, :], self.SY[rows, :, slot] = Ys, Sy
        self.YY[rows, slot, :], self.YY[rows, :, slot] = Yy, Yy

    def reset(self, rows: np.ndarray) -> None:
        """Forget every pair of the particles ``rows``."""
        for array in (self.S, self.Y, self.SY, self.YY, self.rho):
            array[rows] = 0.0
        self.count[rows] = 0


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_tolerance(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _call(fun: Callable, X: np.ndarray, rows: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """fun(X) (or fun(X, rows)) with its outputs checked and coerced to float64; NaN costs become +inf."""
    out = fun(X) if rows is None else fun(X, rows)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"fun(X) must return a tuple (f, G), got {type(out).__name__}")
    f = np.array(out[0], dtype=np.float64)
    G = np.array(out[1], dtype=np.float64)
    if f.shape != (X.shape[0],):
        raise ValueError(f"fun(X) returned f of shape {f.shape}; expected ({X.shape[0]},) for X of shape {X.shape}")
    if G.shape != X.shape:
        raise ValueError(f"fun(X) returned G of shape {G.shape}; expected {X.shape} (the shape of X)")
    f[np.isnan(f)] = np.inf
    return f, G


def minimize_batched(fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], x0, *, maxiter: int = 1000,
                     max_evals: Optional[int] = None, memory: int = 10, gtol: float = 1e-5,
                     ftol: float = 2.220446049250313e-09, pass_rows: bool = False,
                     callback: Optional[Callable[[np.ndarray, np.ndarray, np.ndarray], Optional[bool]]] = None,
                     ) -> BatchedLBFGSResult:
    """Minimise K functions at once by L-BFGS, with one batched oracle call per iteration.

    Each call ``fun(X)`` gets one trial point of every particle still running (rows of ``X``, in the
    order of ``x0``) and returns its cost and gradient. A particle either starts a step (two-loop
    recursion over its last ``memory`` pairs, trial step 1; on its first step ``1 / ||g||``) or continues
    its line search (bracketing, then zoom with cubic interpolation) until the strong Wolfe conditions
    hold, so every stored pair has ``s.y > 0``. No computation mixes particles: a particle's run is
    bit-identical alone or in any batch.

    Parameters
    ----------
    fun : callable
        ``fun(X) -> (f, G)`` with ``X`` of shape (k, D) float64, ``f`` of shape (k,) and ``G`` of shape
        (k, D). A non-finite ``f`` or ``G`` at a trial point shortens the step; at the start it stops that
        particle at once.
    x0 : array_like, shape (K, D)
        Starting points, finite.
    maxiter : int, default 1000
        Accepted steps per particle.
    max_evals : int or None, default None
        Evaluations per particle (its start included); None: no limit.
    memory : int, default 10
        Correction pairs kept per particle.
    gtol : float, default 1e-5
        A particle stops when ``max |g| <= gtol``.
    ftol : float, default 2.22e-9
        A particle stops when a step decreases f by at most ``ftol * max(|f_k|, |f_k+1|, 1)``; 0 disables.
    pass_rows : bool, default False
        Call ``fun(X, rows)`` instead, with ``rows`` (int array, shape (k,)) the indices in ``x0`` of the
        particles in ``X``: for a different function per particle.
    callback : callable or None
        ``callback(x_best, f_best, running)`` after each call of ``fun``, with copies of the best points
        and costs so far and the mask of running particles; returning True stops every particle, a
        boolean mask of shape (K,) stops the particles it marks (e.g. early stopping on held-out data).

    Returns
    -------
    BatchedLBFGSResult
        The best point each particle evaluated (never worse than its start), its cost, counts and status.

    Examples
    --------
    >>> import numpy as np
    >>> centres = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 0.0]])
    >>> scales = np.array([[1.0, 10.0], [1.0, 1.0], [5.0, 0.1]])
    >>> def fun(X, rows):   # a shifted quadratic per particle; X holds the running ones, named by rows
    ...     a, c = scales[rows], centres[rows]
    ...     return (a * (X - c) ** 2).sum(axis=1), 2 * a * (X - c)
    >>> res = minimize_batched(fun, np.zeros((3, 2)), gtol=1e-10, ftol=0, pass_rows=True)
    >>> np.round(res.x, 8)
    array([[ 1. ,  2. ],
           [-3. ,  0.5],
           [ 0. ,  0. ]])
    >>> res.status.tolist(), res.nfev.tolist(), res.message[2]   # particle 2 starts at its minimum
    ([0, 0, 0], [8, 3, 1], 'converged: max |gradient| <= gtol')
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0 = np.asarray(x0)
    if x0.ndim != 2 or x0.shape[0] < 1 or x0.shape[1] < 1 or not np.issubdtype(x0.dtype, np.number):
        raise ValueError(f"x0 must be a numeric 2-D array (K particles, D parameters) with K, D >= 1, "
                         f"got shape {x0.shape} and dtype {x0.dtype}")
    x = np.array(x0, dtype=np.float64, order="C")
    if not np.isfinite(x).all():
        raise ValueError("x0 must be finite; got non-finite entries in rows "
                         f"{np.flatnonzero(~np.isfinite(x).all(axis=1)).tolist()}")
    maxiter = _check_int(maxiter, "maxiter", 0)
    max_evals = None if max_evals is None else _check_int(max_evals, "max_evals", 1)
    memory = _check_int(memory, "memory", 1)
    gtol, ftol = _check_tolerance(gtol, "gtol"), _check_tolerance(ftol, "ftol")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")

    K, D = x.shape
    f, g = _call(fun, x, np.arange(K) if pass_rows else None)
    n_calls = 1
    nfev = np.ones(K, dtype=np.int64)
    nit = np.zeros(K, dtype=np.int64)
    status = np.full(K, -1, dtype=np.int64)
    best_x, best_f = x.copy(), f.copy()

    pairs = _PairMemory(K, memory, D)
    # Line search per particle along p from x: trial t; lo = best step meeting sufficient decrease,
    # hi = the other end of the bracket (+inf until one is found). d = slope along p.
    p = np.zeros((K, D))
    d0 = np.zeros(K)
    t = np.zeros(K)
    t_lo, f_lo, d_lo, g_lo = np.zeros(K), np.zeros(K), np.zeros(K), np.zeros((K, D))
    t_hi, f_hi, d_hi = np.zeros(K), np.zeros(K), np.zeros(K)
    n_trials = np.zeros(K, dtype=np.int64)
    new_step = np.ones(K, dtype=bool)

    start_ok = np.isfinite(f) & np.isfinite(g).all(axis=1)
    status[~start_ok] = LBFGSStatus.NON_FINITE_START
    status[start_ok & (np.abs(g).max(axis=1) <= gtol)] = LBFGSStatus.GTOL
    status[(status < 0) & (maxiter == 0)] = LBFGSStatus.MAXITER
    if max_evals == 1:
        status[status < 0] = LBFGSStatus.MAX_EVALS

    while (status < 0).any():
        run = np.flatnonzero(status < 0)

        # 1. Particles starting a step: direction by the two-loop recursion, vectorised over particles.
        idx = run[new_step[run]]
        if idx.size:
            direction = pairs.direction(idx, g[idx])
            slope = _rowdot(direction, g[idx])
            # Not a descent direction (rounding): forget the pairs and go down the gradient.
            bad = ~(slope < 0)
            if bad.any():
                pairs.reset(idx[bad])
                direction[bad] = -g[idx[bad]]
                slope[bad] = -_rowdot(g[idx[bad]], g[idx[bad]])
            p[idx], d0[idx] = direction, slope
            first = pairs.count[idx] == 0
            t[idx] = np.where(first, 1.0 / np.sqrt(_rowdot(direction, direction)), 1.0)
            t_lo[idx], f_lo[idx], d_lo[idx] = 0.0, f[idx], slope
            t_hi[idx], f_hi[idx], d_hi[idx] = np.inf, np.nan, np.nan
            n_trials[idx] = 0
            new_step[idx] = False

        # 2. One oracle call: a trial point of every running particle.
        X = x[run] + t[run, None] * p[run]
        ft, Gt = _call(fun, X, run if pass_rows else None)
        n_calls += 1
        nfev[run] += 1
        n_trials[run] += 1
        lower = ft < best_f[run]
        best_x[run[lower]], best_f[run[lower]] = X[lower], ft[lower]

        # 3. Line search update (strong Wolfe), vectorised over the running particles.
        tt, dt = t[run], _rowdot(Gt, p[run])
        ok = np.isfinite(ft) & np.isfinite(Gt).all(axis=1)
        too_high = ~ok | ~(ft <= f[run] + _C1 * tt * d0[run]) | (ft >= f_lo[run])
        wolfe = ~too_high & (np.abs(dt) <= -_C2 * d0[run])
        lower_end = ~too_high & ~wolfe                       # t becomes lo
        with np.errstate(invalid="ignore"):
            flip = lower_end & (dt * (t_hi[run] - t_lo[run]) >= 0)  # the minimum lies behind t: hi = lo
        extrapolate = lower_end & ~flip & np.isinf(t_hi[run])
        # Extrapolation uses the old lo and t: a cubic step kept within [1.1, 4] times the last gain.
        gap = tt - t_lo[run]
        t_ext = _cubic_minimizer(t_lo[run], f_lo[run], d_lo[run], tt, ft, dt)
        t_ext = np.where(np.isfinite(t_ext), t_ext, tt + 4.0 * gap)
        t_ext = np.clip(t_ext, tt + 1.1 * gap, tt + 4.0 * gap)

        i = run[flip]
        t_hi[i], f_hi[i], d_hi[i] = t_lo[i], f_lo[i], d_lo[i]
        i = run[too_high]
        t_hi[i], f_hi[i], d_hi[i] = tt[too_high], np.where(ok[too_high], ft[too_high], np.inf), dt[too_high]
        i = run[lower_end]
        t_lo[i], f_lo[i], d_lo[i], g_lo[i] = tt[lower_end], ft[lower_end], dt[lower_end], Gt[lower_end]

        t_next = _zoom_step(t_lo[run], f_lo[run], d_lo[run], t_hi[run], f_hi[run], d_hi[run])
        t_next = np.where(extrapolate, t_ext, t_next)
        # Give up after _MAX_TRIALS trials or when the bracket has shrunk to rounding.
        width, end = np.abs(t_hi[run] - t_lo[run]), np.maximum(t_lo[run], t_hi[run])
        collapsed = np.isfinite(t_hi[run]) & (width <= _EPS * end)
        failed = ~wolfe & ((n_trials[run] >= _MAX_TRIALS) | collapsed | ~np.isfinite(t_next))
        t[run] = np.where(wolfe | failed, t[run], t_next)

        # 4. Steps: Wolfe points, or on failure the lowest point that met sufficient decrease.
        take_lo = failed & (t_lo[run] > 0)
        step = wolfe | take_lo
        i, w = run[step], wolfe[step]
        if i.size:
            t_step = np.where(w, tt[step], t_lo[i])
            x_new = x[i] + t_step[:, None] * p[i]
            f_new = np.where(w, ft[step], f_lo[i])
            g_new = np.where(w[:, None], Gt[step], g_lo[i])
            s, y = x_new - x[i], g_new - g[i]
            sy, yy = _rowdot(s, y), _rowdot(y, y)
            keep = sy > _EPS * yy                           # curvature pair usable: store it
            pairs.add(i[keep], s[keep], y[keep], sy[keep])
            f_old = f[i]
            x[i], f[i], g[i] = x_new, f_new, g_new
            nit[i] += 1
            new_step[i] = True
            scale = np.maximum(np.maximum(np.abs(f_old), np.abs(f_new)), 1.0)
            decrease_small = (f_old - f_new) <= ftol * scale
            status[i[(nit[i] >= maxiter)]] = LBFGSStatus.MAXITER
            status[i[(ftol > 0) & decrease_small]] = LBFGSStatus.FTOL
            status[i[np.abs(g_new).max(axis=1) <= gtol]] = LBFGSStatus.GTOL

        # Failure at the current point: retry once along the gradient with an empty memory, else stop.
        stuck = run[failed & ~take_lo]
        retry, give_up = stuck[pairs.count[stuck] > 0], stuck[pairs.count[stuck] == 0]
        pairs.reset(retry)
        new_step[retry] = True
        status[give_up] = LBFGSStatus.LINE_SEARCH_FAILED

        if max_evals is not None:
            status[run[(status[run] < 0) & (nfev[run] >= max_evals)]] = LBFGSStatus.MAX_EVALS
        if callback is not None:
            stop = callback(best_x.copy(), best_f.copy(), status < 0)
            if stop is not None and np.ndim(stop) == 1:   # a mask: stop those particles
                stop = np.asarray(stop, dtype=bool)
                if stop.shape != (K,):
                    raise ValueError(f"callback must return None, a bool or a bool mask of shape ({K},), "
                                     f"got shape {stop.shape}")
                status[stop & (status < 0)] = LBFGSStatus.CALLBACK
            elif stop:
                status[status < 0] = LBFGSStatus.CALLBACK

    return BatchedLBFGSResult(x=best_x, f=best_f, nit=nit, nfev=nfev, status=status,
                              message=tuple(LBFGSStatus(s).message for s in status), n_calls=n_calls)
