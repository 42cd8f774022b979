"""Gradient-enhanced Gaussian process (GEK): the small-data surrogate that fit_quality.py compares sj.fit with.

An exact GP in NumPy/SciPy on the benchmark's mixed observations (value rows and partial rows, NaN = not
observed): squared-exponential ARD kernel on standardised inputs, joint covariance of values and partials
through the kernel's derivatives, constant mean, hyperparameters by maximum marginal likelihood.
Benchmark-only code (not part of the package); tested by benchmarks/test_gek.py.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

__all__ = ["GEK"]

# Bounds of the log-parametrised hyperparameters, in standardised units (inputs and values have unit spread).
_LOG_LENGTH_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_SIGNAL_BOUNDS = (math.log(1e-3), math.log(1e3))
_LOG_NOISE_BOUNDS = (math.log(1e-10), math.log(1.0))


@dataclass
class _Observations:
    """Observations flattened to one list: point ``U[i]`` (standardised) observes ``kind[i]`` (0 = value,
    j = partial along input j - 1) with value ``target[i]`` (standardised)."""

    U: np.ndarray
    kind: np.ndarray
    target: np.ndarray


def _covariance(Ua: np.ndarray, kind_a: np.ndarray, Ub: np.ndarray, kind_b: np.ndarray, inv_l2: np.ndarray,
                signal: float) -> tuple[np.ndarray, ...]:
    """Covariance between observation lists a and b of f and its partials under the SE-ARD kernel.

    With ``r = u_a - u_b``, ``w_j = 1 / l_j^2`` and ``k = signal * exp(-sum_j w_j r_j^2 / 2)``:
    cov(f, f) = k; cov(d_i f, f) = -w_i r_i k; cov(f, d_j f') = w_j r_j k; cov(d_i f, d_j f') =
    (delta_ij w_i - w_i r_i w_j r_j) k. So cov = k (A B + D) with A = -w_i r_i (1 for a value), B = w_j r_j
    (1 for a value) and D = delta_ij w_i (0 unless both are the same partial). Returns cov, k, A, B, D.
    """
    sq = np.zeros((len(Ua), len(Ub)))
    for j in range(Ua.shape[1]):
        sq += inv_l2[j] * np.subtract.outer(Ua[:, j], Ub[:, j]) ** 2
    k = signal * np.exp(-0.5 * sq)
    A = np.ones_like(k)
    rows = np.flatnonzero(kind_a > 0)
    if rows.size:
        j = kind_a[rows] - 1
        A[rows] = -(Ua[rows, j][:, None] - Ub[:, j].T) * inv_l2[j][:, None]
    B = np.ones_like(k)
    cols = np.flatnonzero(kind_b > 0)
    if cols.size:
        j = kind_b[cols] - 1
        B[:, cols] = (Ua[:, j] - Ub[cols, j][None, :]) * inv_l2[j][None, :]
    same = (kind_a[:, None] == kind_b[None, :]) & (kind_a[:, None] > 0)
    D = np.where(same, inv_l2[np.maximum(kind_a, 1) - 1][:, None], 0.0)
    return k * (A * B + D), k, A, B, D


class GEK:
    """Gradient-enhanced Gaussian process regression on value and single-partial observations.

    Parameters
    ----------
    n_restarts : int, default 3
        Optimisations of the marginal likelihood (the first from unit length scales, the others from random
        ones); the best is kept.
    seed : int or None
        Seed of the random restarts.
    max_observations : int, default 4000
        Refuse larger problems (the dense covariance costs O(n^3)); full-gradient rows count d + 1 each.

    Attributes (after fit)
    ----------------------
    length_scales_ : ndarray, shape (d,)
        In standardised input units.
    signal_variance_, value_noise_variance_, partial_noise_variance_ : float
        In standardised units (values have unit spread).
    mean_ : float
        The constant mean (GLS estimate), standardised.
    nlml_ : float
        Negative log marginal likelihood at the optimum.
    fit_time_ : float
        Seconds spent in fit.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(0, 3, 8)[:, None]
    >>> model = GEK(seed=0).fit(X, np.sin(X[:, 0]), np.cos(X))
    >>> y, dydx = model.predict(np.array([[1.5]]))
    >>> bool(abs(y[0] - np.sin(1.5)) < 1e-3 and abs(dydx[0, 0] - np.cos(1.5)) < 1e-2)
    True
    """

    def __init__(self, n_restarts: int = 3, seed: Optional[int] = None, max_observations: int = 4000):
        if not isinstance(n_restarts, int) or n_restarts < 1:
            raise ValueError(f"n_restarts must be an int >= 1, got {n_restarts!r}")
        self.n_restarts = n_restarts
        self.seed = seed
        self.max_observations = max_observations

    # ------------------------------------------------------------------------------------------------
    # Data

    def _observations(self, X: np.ndarray, y: np.ndarray, dydx: np.ndarray) -> _Observations:
        n, d = X.shape
        if y.shape != (n,) or dydx.shape != (n, d):
            raise ValueError(f"y must have shape {(n,)} and dydx {(n, d)}, got {y.shape} and {dydx.shape}")
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        observed_y = ~np.isnan(y)
        if observed_y.sum() >= 2 and np.std(y[observed_y]) > 0:
            self.y_mean_, self.y_scale_ = float(np.mean(y[observed_y])), float(np.std(y[observed_y]))
        else:  # no spread of values to go by: the partials set the scale (as swarmjac's Standardizer does)
            self.y_mean_ = float(np.mean(y[observed_y])) if observed_y.any() else 0.0
            partials = dydx * self.x_scale_
            rms = float(np.sqrt(np.nanmean(partials ** 2))) if np.isfinite(partials).any() else 0.0
            self.y_scale_ = rms if rms > 0 else 1.0
        U = (X - self.x_mean_) / self.x_scale_
        points, kinds, targets = [], [], []
        points.append(np.flatnonzero(observed_y))
        kinds.append(np.zeros(observed_y.sum(), dtype=np.intp))
        targets.append((y[observed_y] - self.y_mean_) / self.y_scale_)
        for j in range(d):
            rows = np.flatnonzero(~np.isnan(dydx[:, j]))
            points.append(rows)
            kinds.append(np.full(rows.size, j + 1, dtype=np.intp))
            targets.append(dydx[rows, j] * self.x_scale_[j] / self.y_scale_)
        index = np.concatenate(points)
        if index.size == 0:
            raise ValueError("GEK needs at least one observed value or partial; every entry is NaN")
        if index.size > self.max_observations:
            raise ValueError(f"{index.size} observations exceed max_observations={self.max_observations} "
                             f"(the dense covariance costs O(n^3))")
        return _Observations(U[index], np.concatenate(kinds), np.concatenate(targets))

    # ------------------------------------------------------------------------------------------------
    # Marginal likelihood

    def _unpack(self, theta: np.ndarray, d: int) -> tuple[np.ndarray, float, float, float]:
        return np.exp(-2.0 * theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1]), math.exp(theta[d + 2])

    def _nlml(self, theta: np.ndarray, obs: _Observations, gradient: bool = True) -> Any:
        """Negative log marginal likelihood (constant mean profiled out by GLS) and its gradient in theta =
        (log l_1..d, log signal variance, log value-noise variance, log partial-noise variance)."""
        d = obs.U.shape[1]
        inv_l2, signal, noise_value, noise_partial = self._unpack(theta, d)
        C, k, A, B, D = _covariance(obs.U, obs.kind, obs.U, obs.kind, inv_l2, signal)
        is_value = obs.kind == 0
        noise = np.where(is_value, noise_value, noise_partial)
        K = C + np.diag(noise + 1e-10 * signal)
        try:
            factor = cho_factor(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return (1e25, np.zeros_like(theta)) if gradient else 1e25
        h = is_value.astype(np.float64)
        mean = 0.0
        if is_value.any():
            Kinv_h = cho_solve(factor, h, check_finite=False)
            mean = float(h @ cho_solve(factor, obs.target, check_finite=False) / (h @ Kinv_h))
        alpha = cho_solve(factor, obs.target - mean * h, check_finite=False)
        value = (0.5 * float((obs.target - mean * h) @ alpha) + float(np.sum(np.log(np.diag(factor[0]))))
                 + 0.5 * len(alpha) * math.log(2 * math.pi))
        if not gradient:
            return value
        # d NLML / d theta = 0.5 tr(W dK/dtheta) with W = K^-1 - alpha alpha^T (the mean's own derivative
        # drops out: it is the likelihood's optimum in the mean).
        W = cho_solve(factor, np.eye(len(alpha)), check_finite=False) - np.outer(alpha, alpha)
        grad = np.empty_like(theta)
        WkAB = W * k * A * B
        WkD_rows = (W * k * D).sum(axis=1)
        row_sums, col_sums = WkAB.sum(axis=1), WkAB.sum(axis=0)
        WC = W * C
        for j in range(d):
            r2 = np.subtract.outer(obs.U[:, j], obs.U[:, j]) ** 2
            own = obs.kind == j + 1
            # dC/dlog l_j = w_j r_j^2 C - 2 k A B ([a is partial j] + [b is partial j]) - 2 k D [a is partial j]
            grad[j] = 0.5 * (inv_l2[j] * float(np.sum(WC * r2))
                             - 2.0 * (row_sums[own].sum() + col_sums[own].sum()) - 2.0 * WkD_rows[own].sum())
        diag_W = np.diag(W)
        grad[d] = 0.5 * (float(np.sum(WC)) + 1e-10 * signal * diag_W.sum())
        grad[d + 1] = 0.5 * noise_value * diag_W[is_value].sum()
        grad[d + 2] = 0.5 * noise_partial * diag_W[~is_value].sum()
        return value, grad

    # ------------------------------------------------------------------------------------------------
    # Public API

    def fit(self, X: Any, y: Any, dydx: Any) -> "GEK":
        """Learn the hyperparameters by maximum marginal likelihood (L-BFGS-B, analytic gradient).

        Parameters
        ----------
        X : array_like, shape (n, d)
            Inputs, in physical units.
        y : array_like, shape (n,)
            Observed values, NaN where a row does not observe the value.
        dydx : array_like, shape (n, d)
            Observed partials, NaN where not observed.

        Returns
        -------
        GEK
            self.
        """
        start = time.perf_counter()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, d), got {X.shape}")
        obs = self._observations(X, np.asarray(y, dtype=np.float64).reshape(-1),
                                 np.asarray(dydx, dtype=np.float64))
        d = X.shape[1]
        bounds = [_LOG_LENGTH_BOUNDS] * d + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS, _LOG_NOISE_BOUNDS]
        rng = np.random.default_rng(self.seed)
        best: Optional[Any] = None
        for restart in range(self.n_restarts):
            log_lengths = np.zeros(d) if restart == 0 else rng.uniform(math.log(0.3), math.log(3.0), d)
            theta0 = np.concatenate([log_lengths, [0.0, math.log(1e-4), math.log(1e-4)]])
            result = minimize(self._nlml, theta0, args=(obs,), jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 200})
            if best is None or result.fun < best.fun:
                best = result
        self.theta_ = best.x
        self.nlml_ = float(best.fun)
        inv_l2, self.signal_variance_, self.value_noise_variance_, self.partial_noise_variance_ = \
            self._unpack(self.theta_, d)
        self.length_scales_ = 1.0 / np.sqrt(inv_l2)
        C, *_ = _covariance(obs.U, obs.kind, obs.U, obs.kind, inv_l2, self.signal_variance_)
        noise = np.where(obs.kind == 0, self.value_noise_variance_, self.partial_noise_variance_)
        factor = cho_factor(C + np.diag(noise + 1e-10 * self.signal_variance_), lower=True)
        h = (obs.kind == 0).astype(np.float64)
        self.mean_ = (float(h @ cho_solve(factor, obs.target) / (h @ cho_solve(factor, h))) if h.any() else 0.0)
        self.alpha_ = cho_solve(factor, obs.target - self.mean_ * h)
        self.observations_ = obs
        self.fit_time_ = time.perf_counter() - start
        return self

    def predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean of the values and of every partial at ``X`` (physical units).

        Parameters
        ----------
        X : array_like, shape (m, d)

        Returns
        -------
        y : ndarray, shape (m,)
        dydx : ndarray, shape (m, d)
        """
        X = np.asarray(X, dtype=np.float64)
        obs = self.observations_
        d = obs.U.shape[1]
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (m, {d}), got {X.shape}")
        U = (X - self.x_mean_) / self.x_scale_
        inv_l2 = 1.0 / self.length_scales_ ** 2
        m = len(U)
        outputs = np.empty((m, d + 1))
        for kind in range(d + 1):
            cross, *_ = _covariance(U, np.full(m, kind, dtype=np.intp), obs.U, obs.kind, inv_l2,
                                    self.signal_variance_)
            outputs[:, kind] = cross @ self.alpha_ + (self.mean_ if kind == 0 else 0.0)
        y = self.y_mean_ + self.y_scale_ * outputs[:, 0]
        dydx = outputs[:, 1:] * self.y_scale_ / self.x_scale_
        return y, dydx
