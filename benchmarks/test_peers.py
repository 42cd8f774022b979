"""Checks of the benchmark peers: the NumPy and JAX fitness gradients against finite differences.

The gradient peers (baseline.numpy_fitness_and_gradient, peers.jax_fitness_and_gradient_factory) are what
net.fitness_and_gradient is timed against in compare.py --gradient, so they must compute the same gradient:
here against 4th-order central differences of the compiled net.fitness, for every activation and mask
kind, and against swarmjac.reference.fitness_and_gradient and net.fitness_and_gradient where they exist.
Run with ``PYTHONPATH=src python -m pytest benchmarks/test_peers.py`` (JAX cases skip without jax).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import reference
from swarmjac.activations import ACTIVATIONS

import baseline
import peers

DATA_KINDS = ["mixed", "values", "partials"]
#: Step of the finite differences: small enough for the 4th-order error, large enough for the rounding.
STEP = 1e-4
JAX_FITNESS_AND_GRADIENT = peers.jax_fitness_and_gradient_factory()
needs_jax = pytest.mark.skipif(JAX_FITNESS_AND_GRADIENT is None, reason="jax is not installed")


def _data(kind: str, d_in: int = 3, d_out: int = 2, n: int = 12, seed: int = 0, **weights: Any) -> sj.Dataset:
    """Observations of a smooth function with a chosen mask pattern (NaN = not observed)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.5, 1.5, size=(n, d_in))
    y = np.sin(X @ rng.normal(size=(d_in, d_out)))
    dydx = rng.normal(size=(n, d_out, d_in))
    if kind == "values":
        dydx[:] = np.nan
    elif kind == "partials":
        y[:] = np.nan
        dydx[rng.random(dydx.shape) < 0.5] = np.nan  # a random half of the partials
        dydx[:, :, -1] = np.nan  # and one direction that no row observes
    else:  # a mix of value-only, single-partial and everything rows
        pattern = np.arange(n) % 3
        y[pattern == 1] = np.nan
        dydx[pattern == 0] = np.nan
        dydx[pattern == 1, :, 1:] = np.nan
        y[rng.random(y.shape) < 0.2] = np.nan
    return sj.Dataset(X, y=y, dydx=dydx, **weights)


def _net(activation: str, d_in: int = 3, d_out: int = 2) -> sj.MLP:
    """Two hidden layers of ``activation`` and a smooth non-linear output layer, so that its f'' counts
    (a relu output layer could be dead for every sample, with a zero gradient that proves nothing)."""
    output = "tanh" if activation in ("linear", "relu", "leaky_relu") else activation
    return sj.MLP([d_in, 4, 3, d_out], activations=[activation, activation, output])


def _params(net: sj.MLP, n_particles: int = 3, seed: int = 1) -> np.ndarray:
    # Scaled up so that the activations work in their non-linear range.
    return 1.5 * net.init_params(n_particles, seed=seed)


def finite_difference_gradient(net: sj.MLP, params: np.ndarray, data: sj.Dataset) -> np.ndarray:
    """4th-order central differences of the compiled ``net.fitness``, one parameter (of every particle) at a time."""
    g = np.empty_like(params)
    for i in range(params.shape[1]):
        def at(shift: float) -> np.ndarray:
            moved = params.copy()
            moved[:, i] += shift
            return net.fitness(moved, data)
        g[:, i] = (-at(2 * STEP) + 8 * at(STEP) - 8 * at(-STEP) + at(-2 * STEP)) / (12 * STEP)
    return g


def _assert_gradient(got: np.ndarray, expected: np.ndarray, rtol: float) -> None:
    """Entry-wise to ``rtol``, with an absolute floor of ``rtol`` times the largest entry of the particle."""
    assert got.shape == expected.shape
    for p in range(expected.shape[0]):
        scale = float(np.abs(expected[p]).max())
        np.testing.assert_allclose(got[p], expected[p], rtol=rtol, atol=rtol * scale, err_msg=f"particle {p}")


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_gradient_matches_finite_differences(activation: str, kind: str) -> None:
    net, data = _net(activation), _data(kind, value_weight=0.7, derivative_weight=1.3)
    params = _params(net)
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    np.testing.assert_allclose(f, net.fitness(params, data), rtol=1e-12)
    _assert_gradient(g, finite_difference_gradient(net, params, data), rtol=1e-6)


def _weighted_data() -> sj.Dataset:
    """Mixed data with uneven row weights, or a skip where the Dataset has no sample_weight yet."""
    plain = _data("mixed")
    weights = np.random.default_rng(5).uniform(0.0, 3.0, size=plain.n_samples)
    try:
        return sj.Dataset(plain.X, y=plain.y, dydx=plain.dydx, sample_weight=weights)
    except TypeError:
        pytest.skip("this swarmjac's Dataset has no sample_weight")


def test_numpy_gradient_with_sample_weights() -> None:
    # The peers read data.sample_weight as weighted means; finite differences of net.fitness say whether
    # that is the fitness the package defines.
    net, data = _net("tanh"), _weighted_data()
    params = _params(net)
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    np.testing.assert_allclose(f, net.fitness(params, data), rtol=1e-12)
    _assert_gradient(g, finite_difference_gradient(net, params, data), rtol=1e-6)
    if JAX_FITNESS_AND_GRADIENT is not None:
        f_jax, g_jax = JAX_FITNESS_AND_GRADIENT(net, params, data)
        np.testing.assert_allclose(f_jax, f, rtol=1e-12)
        _assert_gradient(g_jax, g, rtol=1e-11)


def test_numpy_gradient_chunks_and_dtypes() -> None:
    net, data = _net("tanh"), _data("mixed")
    params = _params(net, n_particles=5)
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    f1, g1 = baseline.numpy_fitness_and_gradient(net, params, data, chunk_bytes=1)  # one particle per chunk
    np.testing.assert_allclose(f1, f, rtol=1e-14)
    np.testing.assert_allclose(g1, g, rtol=1e-12, atol=1e-14)
    f32, g32 = baseline.numpy_fitness_and_gradient(net, params.astype(np.float32), data)
    assert f32.dtype == g32.dtype == np.float32
    np.testing.assert_allclose(f32, f, rtol=1e-4)
    _assert_gradient(g32, g, rtol=1e-3)


def test_numpy_gradient_of_a_non_finite_particle() -> None:
    net, data = _net("sigmoid"), _data("mixed")
    params = _params(net)
    params[1, 0] = np.nan
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    assert f[1] == np.inf and np.isnan(g[1]).all()
    assert np.isfinite(f[[0, 2]]).all() and np.isfinite(g[[0, 2]]).all()


def test_numpy_gradient_of_a_single_layer_without_partials() -> None:
    # Hand-computed: f = mean((w x + b - y)^2) over two rows, df/dw = mean(2 r x), df/db = mean(2 r).
    net, theta = sj.MLP.from_layers([(np.full((1, 1), 2.0), np.array([0.5]), "linear")])
    data = sj.Dataset([[1.0], [-1.0]], y=[[1.0], [0.0]])
    f, g = baseline.numpy_fitness_and_gradient(net, theta[None, :], data)
    r = np.array([2.5 - 1.0, -1.5 - 0.0])
    np.testing.assert_allclose(f, [np.mean(r ** 2)])
    np.testing.assert_allclose(g, [[np.mean(2 * r * np.array([1.0, -1.0])), np.mean(2 * r)]])


@pytest.mark.skipif(not hasattr(reference, "fitness_and_gradient"),
                    reason="no swarmjac.reference.fitness_and_gradient yet")
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_gradient_matches_the_reference(activation: str) -> None:
    net, data = _net(activation), _data("mixed", derivative_weight=2.0)
    params = _params(net)
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    f_ref, g_ref = reference.fitness_and_gradient(net, params, data)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    _assert_gradient(g, g_ref, rtol=1e-10)


@pytest.mark.skipif(not hasattr(sj.MLP, "fitness_and_gradient"), reason="no MLP.fitness_and_gradient yet")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_gradient_matches_the_kernel(activation: str, dtype: str) -> None:
    net, data = _net(activation), _data("mixed")
    params = _params(net).astype(dtype)
    f, g = baseline.numpy_fitness_and_gradient(net, params, data)
    f_kernel, g_kernel = net.fitness_and_gradient(params, data)
    rtol = 1e-10 if dtype == "float64" else 1e-3
    np.testing.assert_allclose(f_kernel, f, rtol=rtol)
    _assert_gradient(g_kernel, g, rtol=rtol)


@needs_jax
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_jax_gradient_matches_finite_differences(activation: str) -> None:
    net, data = _net(activation), _data("mixed", value_weight=0.7, derivative_weight=1.3)
    params = _params(net)
    f, g = JAX_FITNESS_AND_GRADIENT(net, params, data)
    assert f.dtype == g.dtype == np.float64
    np.testing.assert_allclose(f, net.fitness(params, data), rtol=1e-12)
    expected = finite_difference_gradient(net, params, data)
    _assert_gradient(g, expected, rtol=1e-6)
    # And the NumPy version to rounding: the two are independent derivations of one gradient.
    _assert_gradient(baseline.numpy_fitness_and_gradient(net, params, data)[1], g, rtol=1e-11)


@needs_jax
@pytest.mark.parametrize("kind", ["values", "partials"])
def test_jax_gradient_other_masks_and_float32(kind: str) -> None:
    net, data = _net("tanh"), _data(kind)
    params = _params(net)
    f, g = JAX_FITNESS_AND_GRADIENT(net, params, data)
    _assert_gradient(g, finite_difference_gradient(net, params, data), rtol=1e-6)
    f32, g32 = JAX_FITNESS_AND_GRADIENT(net, params.astype(np.float32), data)
    assert f32.dtype == g32.dtype == np.float32
    np.testing.assert_allclose(f32, f, rtol=1e-4)
    _assert_gradient(g32, g, rtol=1e-3)


@needs_jax
def test_jax_fitness_peer_matches_the_kernel() -> None:
    net = sj.MLP([3, 4, 3, 2], activations="sigmoid")  # the fitness peer knows linear, sigmoid, tanh
    data = _data("mixed")
    params = _params(net)
    np.testing.assert_allclose(peers.jax_fitness_factory()(net, params, data), net.fitness(params, data),
                               rtol=1e-12)
