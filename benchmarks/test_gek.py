"""Tests of the gradient-enhanced GP baseline of the fit-quality benchmark (benchmarks/gek.py).

Fast (a few seconds): the marginal likelihood's analytic gradient, the predicted partials against finite
differences of the predicted values, interpolation, and the value of derivative rows over value rows.
Run with ``python -m pytest -q benchmarks/test_gek.py``.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gek import GEK  # noqa: E402


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small dense algebra: a multi-threaded BLAS on a shared machine is many times slower, not faster."""
    with threadpool_limits(limits=1):
        yield


def _mixed_rows(X: np.ndarray, y: np.ndarray, dydx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row i observes the value when i % (d + 1) == 0, else the partial along x_{i % (d + 1)}."""
    d = X.shape[1]
    observed = np.arange(len(X)) % (d + 1)
    return (np.where(observed == 0, y, np.nan),
            np.where(observed[:, None] == np.arange(1, d + 1)[None, :], dydx, np.nan))


def _smooth(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 2-D function in physical-looking units and its gradient."""
    x, z = X[:, 0], X[:, 1] / 100.0
    y = 50.0 * np.sin(x) * np.cos(2.0 * z) + 20.0 * x * z
    dydx = np.column_stack([50.0 * np.cos(x) * np.cos(2.0 * z) + 20.0 * z,
                            (-100.0 * np.sin(x) * np.sin(2.0 * z) + 20.0 * x) / 100.0])
    return y, dydx


def test_marginal_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2.0, 2.0, (24, 3))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 * X[:, 2]
    dydx = np.column_stack([np.cos(X[:, 0]), 2 * X[:, 1] * X[:, 2], X[:, 1] ** 2])
    model = GEK()
    observations = model._observations(X, *_mixed_rows(X, y, dydx))
    theta = np.array([0.3, -0.2, 0.1, 0.4, -4.0, -3.0])
    _, analytic = model._nlml(theta, observations)
    numeric = approx_fprime(theta, lambda t: model._nlml(t, observations, gradient=False), 1e-6)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_predicted_partials_are_the_derivative_of_predicted_values():
    rng = np.random.default_rng(2)
    X = rng.uniform([0.0, 0.0], [3.0, 300.0], (30, 2))
    model = GEK(seed=0).fit(X, *_mixed_rows(X, *_smooth(X)))
    X_test = rng.uniform([0.5, 50.0], [2.5, 250.0], (5, 2))
    _, dydx = model.predict(X_test)
    steps = np.array([1e-4, 1e-2])  # ~1e-4 of each input's range
    for j in range(2):
        shift = np.zeros(2)
        shift[j] = steps[j]
        numeric = (model.predict(X_test + shift)[0] - model.predict(X_test - shift)[0]) / (2 * steps[j])
        np.testing.assert_allclose(dydx[:, j], numeric, rtol=1e-5, atol=1e-6 * np.abs(dydx[:, j]).max())


def test_interpolates_noise_free_values_and_slopes_in_1d():
    X = np.linspace(0.0, 4.0, 9)[:, None]
    y, slope = np.sin(2 * X[:, 0]) + X[:, 0], 2 * np.cos(2 * X) + 1
    model = GEK(seed=0).fit(X, y, slope)
    y_fit, slope_fit = model.predict(X)
    np.testing.assert_allclose(y_fit, y, atol=1e-4 * np.std(y))
    np.testing.assert_allclose(slope_fit, slope, atol=1e-3 * np.std(slope))
    assert model.value_noise_variance_ < 1e-6 and model.partial_noise_variance_ < 1e-6


def test_derivative_rows_beat_value_rows_on_a_smooth_function():
    # Same 25 points: GEK observing value + gradient per row against a value-only GP (the same class fitted
    # on the values alone); both tuned by the marginal likelihood.
    rng = np.random.default_rng(3)
    X = rng.uniform([0.0, 0.0], [3.0, 300.0], (25, 2))
    y, dydx = _smooth(X)
    X_test = rng.uniform([0.0, 0.0], [3.0, 300.0], (500, 2))
    y_test, _ = _smooth(X_test)
    with_gradient = GEK(seed=0).fit(X, y, dydx).predict(X_test)[0]
    values_only = GEK(seed=0).fit(X, y, np.full_like(dydx, np.nan)).predict(X_test)[0]
    error_gradient = np.sqrt(np.mean((with_gradient - y_test) ** 2))
    error_values = np.sqrt(np.mean((values_only - y_test) ** 2))
    assert error_gradient < 0.3 * error_values, (error_gradient, error_values)


def test_learns_the_noise_level():
    rng = np.random.default_rng(4)
    X = rng.uniform(0.0, 3.0, (60, 1))
    y = np.sin(2 * X[:, 0]) + rng.normal(0.0, 0.05, 60)
    model = GEK(seed=0).fit(X, y, np.full((60, 1), np.nan))
    noise_sd = np.sqrt(model.value_noise_variance_) * model.y_scale_
    assert 0.025 < noise_sd < 0.1, noise_sd


def test_bad_input():
    with pytest.raises(ValueError, match="dydx"):
        GEK().fit(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="NaN"):
        GEK().fit(np.zeros((3, 1)), np.full(3, np.nan), np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="max_observations"):
        GEK(max_observations=5).fit(np.random.rand(4, 1), np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="n_restarts"):
        GEK(n_restarts=0)
