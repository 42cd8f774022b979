"""The built-in demo problem: a known smooth 2-D function, observed as values and single partials.

Used by ``swarmjac demo`` and the tests; it shows the main job end to end on data shaped like our users'
(a third of the rows values only, a third dy/dx1 only, a third dy/dx2 only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from swarmjac.data import Dataset
from swarmjac.network import MLP

__all__ = ["demo_function", "demo_gradient", "make_demo_data", "evaluate_fit", "FitQuality"]

DOMAIN = (-2.0, 2.0)


def demo_function(X: np.ndarray) -> np.ndarray:
    """``f(x1, x2) = sin(x1) cos(x2)``, shape (N,)."""
    return np.sin(X[:, 0]) * np.cos(X[:, 1])


def demo_gradient(X: np.ndarray) -> np.ndarray:
    """Exact ``(df/dx1, df/dx2)`` of :func:`demo_function`, shape (N, 2)."""
    return np.column_stack([np.cos(X[:, 0]) * np.cos(X[:, 1]), -np.sin(X[:, 0]) * np.sin(X[:, 1])])


def make_demo_data(n_samples: int = 300, seed: Any = 0) -> Dataset:
    """A mixed data set from :func:`demo_function` on ``[-2, 2]^2``.

    The first third of the rows observe the value only, the second third ``dy/dx1`` only, the last
    third ``dy/dx2`` only.

    Parameters
    ----------
    n_samples : int, default 300
    seed : int, Generator or None

    Returns
    -------
    Dataset

    Examples
    --------
    >>> make_demo_data(6)
    Dataset(n_samples=6, d_in=2, d_out=1, values: y=2, partials: dy/dx1=2, dy/dx2=2)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(*DOMAIN, size=(n_samples, 2))
    third = n_samples // 3
    y = np.full(n_samples, np.nan)
    dydx = np.full((n_samples, 2), np.nan)
    y[:third] = demo_function(X[:third])
    dydx[third: 2 * third, 0] = demo_gradient(X[third: 2 * third])[:, 0]
    dydx[2 * third:, 1] = demo_gradient(X[2 * third:])[:, 1]
    return Dataset(X, y=y, dydx=dydx)


@dataclass(frozen=True)
class FitQuality:
    """Held-out errors of a fit of the demo function: RMSE and RMSE relative to the truth's spread."""

    rmse_value: float
    rmse_partials: tuple[float, float]
    spread_value: float
    spread_partials: tuple[float, float]

    def relative(self) -> tuple[float, float, float]:
        """RMSE / standard deviation of the truth, for the value and each partial."""
        return (self.rmse_value / self.spread_value,
                self.rmse_partials[0] / self.spread_partials[0],
                self.rmse_partials[1] / self.spread_partials[1])


def evaluate_fit(net: MLP, params: Any, n_points: int = 2000, seed: Any = 12345) -> FitQuality:
    """Errors of a fitted network against the demo function on fresh (held-out) points.

    Parameters
    ----------
    net : MLP
        A network with 2 inputs and 1 output.
    params : array_like, shape (n_params,)
    n_points : int, default 2000
    seed : int, Generator or None

    Returns
    -------
    FitQuality
    """
    X = np.random.default_rng(seed).uniform(*DOMAIN, size=(n_points, 2))
    Y, J = net.value_and_jacobian(params, X)
    truth, gradient = demo_function(X), demo_gradient(X)
    rmse = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731
    return FitQuality(
        rmse_value=rmse(Y[:, 0], truth),
        rmse_partials=(rmse(J[:, 0, 0], gradient[:, 0]), rmse(J[:, 0, 1], gradient[:, 1])),
        spread_value=float(truth.std()),
        spread_partials=(float(gradient[:, 0].std()), float(gradient[:, 1].std())),
    )
