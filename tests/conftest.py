"""Shared helpers of the test suite: random networks and data sets, and tolerances per dtype."""
from __future__ import annotations

import os

# scikit-learn's check_array_api_input runs only when SciPy's array API support is switched on before SciPy
# is first imported (tests/test_estimator.py); for NumPy arrays SciPy behaves the same either way.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import swarmjac as sj  # noqa: E402

settings.register_profile("default", deadline=None, max_examples=40, derandomize=True)
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True)
settings.load_profile("default")

SMOOTH_ACTIVATIONS = ("linear", "sigmoid", "tanh", "softplus", "sin", "gelu")


def tolerances(dtype) -> dict:
    """rtol/atol for comparing a compiled result of ``dtype`` with the float64 reference."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 2e-3, "atol": 2e-4}
    return {"rtol": 1e-10, "atol": 1e-11}


def random_dataset(rng: np.random.Generator, n: int, d_in: int, d_out: int, p_value: float = 0.5,
                   p_partial: float = 0.4, **weights) -> sj.Dataset:
    """A data set where each entry is observed with the given probability (at least one per row)."""
    X = rng.uniform(-2, 2, size=(n, d_in))
    y = np.where(rng.random((n, d_out)) < p_value, rng.normal(size=(n, d_out)), np.nan)
    dydx = np.where(rng.random((n, d_out, d_in)) < p_partial, rng.normal(size=(n, d_out, d_in)), np.nan)
    empty = np.isnan(y).all(axis=1) & np.isnan(dydx).all(axis=(1, 2))
    y[empty, 0] = 0.5
    return sj.Dataset(X, y=y, dydx=dydx, **weights)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
