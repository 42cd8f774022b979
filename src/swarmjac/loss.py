"""The terms of the training loss, in one place, and the errors a fit reports.

The data terms (values and partial derivatives, weighted by the Dataset) are computed by the fused C
kernels (network.py) or by reference.py; the terms on the parameters alone (the L2 weight decay) live
here and are added by both, so a new term is one change in this file. ``fit_errors`` gives the errors in
the units the trainer and benchmarks/fit_quality.py report. Imports nothing from swarmjac.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["FitErrors", "add_parameter_terms", "check_alpha", "decay_rows", "fit_errors", "weight_mask"]

#: The loss, term by term (documentation and the order in which they are added):
#: - values:       value_weight * weighted mean of (Y - y)^2 over observed y           (C kernels)
#: - partials:     derivative_weight * weighted mean of (J - dydx)^2 over observed dydx  (C kernels)
#: - weight decay: alpha * sum of squared weights (not biases) / n_rows                 (add_parameter_terms)
#: With value rows only this is twice scikit-learn's MLPRegressor loss (0.5 * MSE + 0.5 * alpha * ||W||^2
#: / n_samples), so ``alpha`` means what it means there and the minimiser is the same.
LOSS_TERMS = ("values", "partials", "weight_decay")


def check_alpha(alpha: Any) -> float:
    """Validate a weight-decay coefficient: a finite float >= 0.

    Examples
    --------
    >>> check_alpha(1e-4)
    0.0001
    """
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a float >= 0, got {type(alpha).__name__}")
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha >= 0.0):
        raise ValueError(f"alpha must be a finite float >= 0, got {alpha}")
    return alpha


def weight_mask(layer_sizes: Sequence[int]) -> np.ndarray:
    """Boolean mask over the flat parameter layout: True for weight-matrix entries, False for biases.

    Examples
    --------
    >>> weight_mask([2, 1]).tolist()                      # W (1 x 2), then b (1)
    [True, True, False]
    """
    return _weight_mask(tuple(int(width) for width in layer_sizes))


@functools.lru_cache(maxsize=64)
def _weight_mask(layer_sizes: tuple) -> np.ndarray:
    mask = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        mask += [True] * (n_in * n_out) + [False] * n_out
    mask = np.array(mask, dtype=bool)
    mask.setflags(write=False)  # shared by every call through the cache
    return mask


def decay_rows(data: Any) -> int:
    """The ``n_rows`` of the weight-decay term: rows of ``data`` that observe something (at least 1)."""
    observed = np.any(~np.isnan(data.y), axis=1) | np.any(~np.isnan(data.dydx), axis=(1, 2))
    return max(int(np.count_nonzero(observed)), 1)


def add_parameter_terms(layer_sizes: Sequence[int], params: np.ndarray, data: Any, alpha: float,
                        fitness: np.ndarray, gradient: Optional[np.ndarray] = None) -> None:
    """Add the terms that depend on the parameters alone (the weight decay) to a fitness, in place.

    Parameters
    ----------
    layer_sizes : sequence of int
    params : ndarray, shape (P, n_params)
    data : Dataset
        Gives ``n_rows`` (:func:`decay_rows`).
    alpha : float
        Weight-decay coefficient (0: nothing is added).
    fitness : ndarray, shape (P,)
        The data terms; ``+inf`` stays ``+inf``.
    gradient : ndarray, shape (P, n_params), optional
        Their gradient; rows of NaN (particles without a gradient) stay NaN.

    Examples
    --------
    >>> import numpy as np
    >>> f, g = np.zeros(1), np.zeros((1, 3))
    >>> class Rows: y = np.ones((2, 1)); dydx = np.full((2, 1, 2), np.nan)
    >>> add_parameter_terms([2, 1], np.array([[1.0, 2.0, 5.0]]), Rows, 0.5, f, g)
    >>> f, g                                  # 0.5 * (1 + 4) / 2 rows; the bias is not decayed
    (array([1.25]), array([[0.5, 1. , 0. ]]))
    """
    if not alpha or params.shape[0] == 0:
        return
    mask = weight_mask(layer_sizes)
    scale = alpha / decay_rows(data)
    weights = params[:, mask].astype(np.float64)
    # Particles without a finite fitness (a NaN or inf parameter) keep +inf and their NaN gradient.
    finite = np.isfinite(fitness)
    fitness[finite] += (scale * np.einsum("pi,pi->p", weights[finite], weights[finite])).astype(fitness.dtype)
    if gradient is not None:
        gradient[np.ix_(finite, mask)] += (2.0 * scale * weights[finite]).astype(gradient.dtype)


@dataclass(frozen=True)
class FitErrors:
    """Errors of a model on a set of observations, relative to the data's spread (the units of
    benchmarks/fit_quality.py).

    Attributes
    ----------
    values : float
        RMSE of the values divided by the standard deviation of the outputs (mean over outputs); NaN when
        no value is observed.
    partials : float
        ``mean over observed (k, j) of RMSE(dy_k/dx_j) * std(x_j) / std(y_k)``: the partials' error in
        the same relative units; NaN when no partial is observed.
    n_values, n_partials : int
        Observations the errors are computed from.

    Examples
    --------
    >>> FitErrors(0.01, 0.02, 10, 20)
    FitErrors(values=0.01, partials=0.02, n_values=10, n_partials=20)
    """

    values: float
    partials: float
    n_values: int
    n_partials: int

    def __repr__(self) -> str:
        return (f"FitErrors(values={self.values:.4g}, partials={self.partials:.4g}, n_values={self.n_values}, "
                f"n_partials={self.n_partials})")

    def __str__(self) -> str:
        return f"values {self.values:.3g}, partials {self.partials:.3g}"

    def to_dict(self) -> dict:
        """The errors as a JSON-friendly dict (NaN stays NaN)."""
        return {"values": self.values, "partials": self.partials, "n_values": self.n_values,
                "n_partials": self.n_partials}

    @classmethod
    def nan(cls) -> "FitErrors":
        """Errors of an empty set of observations (all NaN, counts 0)."""
        return cls(math.nan, math.nan, 0, 0)


def fit_errors(Y: np.ndarray, J: np.ndarray, data: Any, x_scale: np.ndarray, y_scale: np.ndarray) -> FitErrors:
    """Relative errors of predictions ``Y (N, d_out)`` and Jacobians ``J (N, d_out, d_in)`` on ``data``.

    ``x_scale`` (d_in,) and ``y_scale`` (d_out,) are the spreads the errors are relative to (the
    standardiser's scales of the training data).

    Examples
    --------
    >>> import numpy as np
    >>> class Data: y = np.array([[1.0], [np.nan]]); dydx = np.array([[[np.nan]], [[2.0]]])
    >>> fit_errors(np.array([[1.5], [0.0]]), np.array([[[0.0]], [[1.0]]]), Data, np.ones(1), np.full(1, 2.0))
    FitErrors(values=0.25, partials=0.5, n_values=1, n_partials=1)
    """
    y, dydx = np.asarray(data.y), np.asarray(data.dydx)
    x_scale, y_scale = np.asarray(x_scale, dtype=np.float64), np.asarray(y_scale, dtype=np.float64)
    value_terms, partial_terms = [], []
    for k in range(y.shape[1]):
        seen = ~np.isnan(y[:, k])
        if seen.any():
            value_terms.append(math.sqrt(np.mean((Y[seen, k] - y[seen, k]) ** 2)) / y_scale[k])
        for j in range(dydx.shape[2]):
            seen = ~np.isnan(dydx[:, k, j])
            if seen.any():
                rmse = math.sqrt(np.mean((J[seen, k, j] - dydx[seen, k, j]) ** 2))
                partial_terms.append(rmse * x_scale[j] / y_scale[k])
    return FitErrors(float(np.mean(value_terms)) if value_terms else math.nan,
                     float(np.mean(partial_terms)) if partial_terms else math.nan,
                     int(np.count_nonzero(~np.isnan(y))), int(np.count_nonzero(~np.isnan(dydx))))
