"""Checks the vectorised-NumPy benchmark baseline (benchmarks/baseline.py) against swarmjac.reference.

The baseline is what the compiled kernels are timed against, so it must compute the same values,
Jacobians and fitness as the reference; it is loaded from its file since benchmarks/ is not a package.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys
import warnings
from types import ModuleType

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import reference

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` under a private module name."""
    spec = importlib.util.spec_from_file_location(f"_swarmjac_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"cannot load {BENCHMARKS / name}.py"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


baseline = _load("baseline")

CASES = [
    ([2, 3, 1], "sigmoid"),
    ([2, 4, 3, 1], "tanh"),
    ([3, 5, 2], "softplus"),
    ([1, 4, 4, 3], "gelu"),
    ([3, 4, 2], "relu"),
    ([2, 3, 3, 2], ["sin", "elu", "linear"]),
    ([4, 2], ["linear"]),
    ([2, 3, 2], ["tanh", "sigmoid"]),  # nonlinear output layer
]

PATTERNS = ("mixed", "values", "dx1", "partials", "random")


def _dataset(rng: np.random.Generator, n: int, d_in: int, d_out: int, pattern: str,
             value_weight: float = 1.0, derivative_weight: float = 1.0) -> sj.Dataset:
    """Observations of a given mask pattern (targets are random normal numbers)."""
    X = rng.uniform(-1.5, 1.5, size=(n, d_in))
    y = rng.normal(size=(n, d_out))
    dydx = rng.normal(size=(n, d_out, d_in))
    if pattern == "values":
        return sj.Dataset(X, y=y, value_weight=value_weight, derivative_weight=derivative_weight)
    if pattern == "dx1":
        dydx[:, :, 1:] = np.nan
        return sj.Dataset(X, dydx=dydx, value_weight=value_weight, derivative_weight=derivative_weight)
    if pattern == "partials":
        return sj.Dataset(X, y=y, dydx=dydx, value_weight=value_weight, derivative_weight=derivative_weight)
    if pattern == "mixed":  # thirds, as in benchmarks/workloads.py
        third = np.arange(n) % 3
        y[third != 0] = np.nan
        dydx[third == 0] = np.nan
        dydx[third == 1, :, 1:] = np.nan
    else:  # every entry observed with probability 1/2, at least one per row
        y[rng.random(y.shape) < 0.5] = np.nan
        dydx[rng.random(dydx.shape) < 0.5] = np.nan
        empty = np.isnan(y).all(axis=1) & np.isnan(dydx).all(axis=(1, 2))
        y[empty, 0] = 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sj.Dataset(X, y=y, dydx=dydx, value_weight=value_weight, derivative_weight=derivative_weight)


@pytest.mark.parametrize("sizes, activations", CASES)
def test_value_and_jacobian_matches_reference(sizes, activations):
    rng = np.random.default_rng(1)
    net = sj.MLP(sizes, activations)
    params = net.init_params(3, seed=2)
    X = rng.uniform(-1.5, 1.5, size=(7, sizes[0]))
    Y_ref, J_ref = reference.value_and_jacobian(net, params, X)
    Y, J = baseline.numpy_value_and_jacobian(net, params, X)
    assert Y.shape == Y_ref.shape and J.shape == J_ref.shape
    assert Y.dtype == np.float64 and J.dtype == np.float64
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J, J_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("sizes, activations", CASES)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_fitness_matches_reference(sizes, activations, pattern):
    rng = np.random.default_rng(3)
    net = sj.MLP(sizes, activations)
    params = net.init_params(4, seed=4)
    data = _dataset(rng, 11, sizes[0], sizes[-1], pattern, value_weight=0.7, derivative_weight=1.9)
    expected = reference.fitness(net, params, data)
    got = baseline.numpy_fitness(net, params, data)
    assert got.shape == (4,) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)


def test_only_the_needed_directions_are_carried():
    # dy/dx1-only data must give the same fitness whether or not the other direction is carried.
    rng = np.random.default_rng(5)
    net = sj.MLP([3, 6, 2], "tanh")
    params = net.init_params(2, seed=6)
    data = _dataset(rng, 9, 3, 2, "dx1")
    H = baseline.forward_columns(net, params, data.X, directions=[0])
    assert H.shape == (2, 2, 2 * 9)
    np.testing.assert_allclose(baseline.numpy_fitness(net, params, data), reference.fitness(net, params, data),
                               rtol=1e-11, atol=1e-13)


def test_zero_weights_drop_their_term():
    rng = np.random.default_rng(7)
    net = sj.MLP([2, 4, 1], "sigmoid")
    params = net.init_params(3, seed=8)
    data = _dataset(rng, 10, 2, 1, "mixed", value_weight=0.0, derivative_weight=1.0)
    np.testing.assert_allclose(baseline.numpy_fitness(net, params, data), reference.fitness(net, params, data),
                               rtol=1e-11, atol=1e-13)


def test_float32_follows_reference_loosely():
    rng = np.random.default_rng(9)
    net = sj.MLP([2, 8, 8, 1], "tanh")
    params = net.init_params(3, seed=10)
    data = _dataset(rng, 12, 2, 1, "mixed")
    got = baseline.numpy_fitness(net, params.astype(np.float32), data)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference.fitness(net, params, data), rtol=2e-4)
    Y, J = baseline.numpy_value_and_jacobian(net, params.astype(np.float32), data.X.astype(np.float32))
    assert Y.dtype == np.float32 and J.dtype == np.float32
    Y_ref, J_ref = reference.value_and_jacobian(net, params, data.X)
    np.testing.assert_allclose(J, J_ref, rtol=2e-4, atol=1e-5)


def test_non_finite_particle_gets_inf():
    rng = np.random.default_rng(11)
    net = sj.MLP([2, 3, 1], "tanh")
    params = net.init_params(3, seed=12)
    params[1, 0] = np.nan
    params[2, -1] = 1e300  # output bias: the squared error overflows
    data = _dataset(rng, 6, 2, 1, "partials")
    got = baseline.numpy_fitness(net, params, data)
    assert np.isfinite(got[0])
    assert got[1] == np.inf and got[2] == np.inf
    np.testing.assert_allclose(got, reference.fitness(net, params, data), rtol=1e-11)


def test_workload_data_have_the_documented_patterns():
    workloads = _load("workloads")
    for workload in workloads.WORKLOADS.values():
        data = workloads.make_data(workload)
        assert data.n_samples == workload.n_samples
        assert (data.d_in, data.d_out) == (workload.d_in, workload.d_out)
        values = ~np.isnan(data.y).any(axis=1)
        partials = ~np.isnan(data.dydx)
        dx1_only = partials[:, :, 0].all(axis=1) & ~partials[:, :, 1:].any(axis=(1, 2))
        every = partials.all(axis=(1, 2))
        if workload.d_in == 1:
            dx1_only = np.zeros_like(dx1_only)
        # Three disjoint patterns in (nearly) equal thirds.
        assert not np.any(values & partials.any(axis=(1, 2)))
        counts = [values.sum(), dx1_only.sum(), (every & ~dx1_only).sum()]
        assert sum(counts) == workload.n_samples
        assert max(counts) - min(counts) <= 1
    small = workloads.get_workload("small")
    assert np.isnan(workloads.make_values_only_data(small).dydx).all()
    assert (workloads.columns_per_sample(workloads.make_dx1_only_data(small)) == 2).all()
    assert (workloads.columns_per_sample(workloads.make_all_partials_data(small)) == 1 + small.d_in).all()
