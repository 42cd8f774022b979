"""The compiled fitness gradient, net.fitness_and_gradient: against finite differences of the compiled
fitness, against the NumPy reference, across dtypes, thread counts, masks and hostile input."""
from __future__ import annotations

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import ACTIVATIONS, reference

from conftest import random_dataset
from gradient_cases import assert_gradient_close, gradient_cases

CASES = gradient_cases()

KINKED = ("relu", "leaky_relu", "elu")


def _fd_gradient(net, params, data, step=1e-5):
    """Central differences of the compiled fitness (float64), one parameter at a time."""
    grad = np.zeros_like(params)
    for i in range(params.shape[1]):
        shift = np.zeros(params.shape[1])
        shift[i] = step
        grad[:, i] = (net.fitness(params + shift, data) - net.fitness(params - shift, data)) / (2 * step)
    return grad


NETS = [([2, 5, 1], "linear"), ([3, 4, 3, 2], "tanh"), ([1, 6, 3], "sigmoid")]


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("sizes,output", NETS)
def test_gradient_matches_finite_differences(hidden, sizes, output, mode, rng):
    net = sj.MLP(sizes, activations=[hidden] * (len(sizes) - 2) + [output])
    data = random_dataset(rng, 150, sizes[0], sizes[-1], value_weight=0.7, derivative_weight=1.3)
    params = net.init_params(3, seed=1)
    f, g = net.fitness_and_gradient(params, data, n_threads=1, mode=mode)
    # Kinks of relu/leaky_relu/elu are hit with probability 0 by random data; central differences across
    # one would show up as a large error here.
    np.testing.assert_allclose(g, _fd_gradient(net, params, data), rtol=2e-6, atol=2e-7 * np.abs(g).max())
    # The fitness is that of the fitness kernel in the same mode, bit for bit.
    np.testing.assert_array_equal(f, net.fitness(params, data, mode=mode))


@pytest.mark.parametrize("d_in,d_out,p_partial", [(8, 1, 0.9), (5, 2, 0.7), (3, 3, 0.9), (6, 1, 0.2)])
def test_modes_agree_where_reverse_blocks_carry_fewer_tangents(d_in, d_out, p_partial, rng):
    """Many observed partials per row and few outputs: auto mode sweeps reverse and carries one tangent per
    output along the residuals; its gradient equals the forward mode's (which carries one per direction)."""
    net = sj.MLP([d_in, 7, 5, d_out], ["tanh", "softplus", "sigmoid"])
    data = random_dataset(rng, 200, d_in, d_out, p_partial=p_partial)
    params = net.init_params(4, seed=9)
    f_fwd, g_fwd = net.fitness_and_gradient(params, data, mode="forward")
    for mode in ("auto", "reverse"):  # (3, 3): auto is forward everywhere, reverse is forced
        f, g = net.fitness_and_gradient(params, data, mode=mode)
        np.testing.assert_allclose(f, f_fwd, rtol=1e-13)
        assert_gradient_close(g, g_fwd, rtol=1e-11, what=mode)
    if d_out < d_in:
        assert data.blocks().block_n_dirs.max() > d_out  # some blocks do go reverse in auto mode


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_every_reference_case(case, dtype, mode):
    """Every activation as hidden and output layer, every mask kind, weights, depths, modes: kernel ==
    reference."""
    f_ref, g_ref = reference.fitness_and_gradient(case.net, case.params, case.data)
    f, g = case.net.fitness_and_gradient(case.params.astype(dtype), case.data, mode=mode)
    if dtype == np.float64:
        np.testing.assert_allclose(f, f_ref, rtol=1e-12, atol=1e-300)
        assert_gradient_close(g, g_ref, rtol=1e-9, what=case.name)
    else:
        # float32 kernel against the float64 reference of the float32-rounded particles.
        f_ref, g_ref = reference.fitness_and_gradient(case.net, case.params.astype(dtype).astype(np.float64),
                                                      case.data)
        np.testing.assert_allclose(f, f_ref, rtol=2e-4, atol=1e-6)
        assert_gradient_close(g, g_ref, rtol=3e-3, what=case.name)


@pytest.mark.parametrize("output", ["linear", "sigmoid", "tanh", "sin", "gelu", "softplus"])
def test_gradient_matches_the_reference(output, rng):
    net = sj.MLP([2, 4, 3, 2], activations=["tanh", "gelu", output])
    data = random_dataset(rng, 70, 2, 2)
    params = net.init_params(4, seed=2)
    f, g = net.fitness_and_gradient(params, data)
    f_ref, g_ref = reference.fitness_and_gradient(net, params, data)
    np.testing.assert_allclose(f, f_ref, rtol=1e-11)
    assert_gradient_close(net.fitness_and_gradient(params, data, mode="reverse")[1], g_ref, rtol=1e-9)
    np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-11 * np.abs(g_ref).max())


@pytest.mark.parametrize("kind", ["values", "one_partial", "all_partials", "mixed", "partials_only"])
def test_gradient_for_each_mask_kind(kind, rng):
    n, d_in, d_out = 90, 3, 2
    X = rng.uniform(-1, 1, (n, d_in))
    y = rng.normal(size=(n, d_out))
    dydx = rng.normal(size=(n, d_out, d_in))
    if kind == "values":
        dydx[:] = np.nan
    elif kind == "one_partial":
        y[:] = np.nan
        dydx[:, :, [0, 2]] = np.nan
    elif kind == "all_partials":
        y[:] = np.nan
    elif kind == "mixed":
        y[n // 3:] = np.nan
        dydx[: n // 3] = np.nan
        dydx[n // 3: 2 * n // 3, :, 1:] = np.nan
        dydx[2 * n // 3:, 1, :] = np.nan
    else:
        y[:] = np.nan
        dydx[::2, 0, :] = np.nan
    data = sj.Dataset(X, y=y, dydx=dydx)
    net = sj.MLP([d_in, 6, d_out], "sigmoid")
    params = net.init_params(2, seed=3)
    _, g = net.fitness_and_gradient(params, data)
    np.testing.assert_allclose(g, _fd_gradient(net, params, data), rtol=2e-6, atol=1e-8)


def test_the_worked_example_by_hand():
    """1-1-1 net, sigmoid hidden, linear output, one row observing y and dy/dx: gradient written out."""
    w1, b1, w2, b2, x, t, s = 0.7, -0.2, 1.3, 0.1, 0.4, 0.5, 0.3
    net, theta = sj.MLP.from_layers([(np.array([[w1]]), np.array([b1]), "sigmoid"),
                                     (np.array([[w2]]), np.array([b2]), "linear")])
    data = sj.Dataset([[x]], y=[[t]], dydx=[[s]])
    sig = 1 / (1 + np.exp(-(w1 * x + b1)))
    d1, d2 = sig * (1 - sig), sig * (1 - sig) * (1 - 2 * sig)
    y, dy = w2 * sig + b2, w2 * d1 * w1
    ey, ed = 2 * (y - t), 2 * (dy - s)
    expected = np.array([
        ey * w2 * d1 * x + ed * w2 * (d2 * x * w1 + d1),  # d/dw1
        ey * w2 * d1 + ed * w2 * d2 * w1,                  # d/db1
        ey * sig + ed * d1 * w1,                           # d/dw2
        ey,                                                # d/db2
    ])
    f, g = net.fitness_and_gradient(theta, data)
    assert float(f) == pytest.approx((y - t) ** 2 + (dy - s) ** 2, rel=1e-14)
    np.testing.assert_allclose(g, expected, rtol=1e-13)


def test_float32_follows_float64(rng):
    net = sj.MLP([2, 16, 16, 1], "tanh")
    data = random_dataset(rng, 200, 2, 1)
    params = net.init_params(5, seed=4)
    f64, g64 = net.fitness_and_gradient(params, data)
    f32, g32 = net.fitness_and_gradient(params.astype(np.float32), data)
    assert f32.dtype == g32.dtype == np.float32
    np.testing.assert_allclose(f32, f64, rtol=1e-4)
    np.testing.assert_allclose(g32, g64, rtol=2e-3, atol=2e-4 * np.abs(g64).max())


def test_threads_and_isa_give_identical_bits(rng):
    net = sj.MLP([3, 9, 7, 2], "softplus")
    data = random_dataset(rng, 333, 3, 2)
    params = net.init_params(13, seed=5)
    f1, g1 = net.fitness_and_gradient(params, data, n_threads=1)
    f2, g2 = net.fitness_and_gradient(params, data, n_threads=2)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(g1, g2)
    # One particle alone gives the bits it gets inside the swarm.
    f_one, g_one = net.fitness_and_gradient(params[7], data)
    assert f_one.shape == () and g_one.shape == (net.n_params,)
    np.testing.assert_array_equal(g_one, g1[7])


def test_sample_weight_equals_repeated_rows(rng):
    """A row of weight 2 counts as the row twice (weights 0 drop it)."""
    X = rng.uniform(-1, 1, (40, 2))
    y = rng.normal(size=40)
    dydx = np.where(rng.random((40, 2)) < 0.5, rng.normal(size=(40, 2)), np.nan)
    weights = rng.integers(0, 3, 40).astype(float)
    weights[0] = 1.0
    weighted = sj.Dataset(X, y=y, dydx=dydx, sample_weight=weights)
    rows = np.repeat(np.arange(40), weights.astype(int))
    repeated = sj.Dataset(X[rows], y=y[rows], dydx=dydx[rows])
    net = sj.MLP([2, 5, 1], "tanh")
    params = net.init_params(6, seed=6)
    f_w, g_w = net.fitness_and_gradient(params, weighted)
    f_r, g_r = net.fitness_and_gradient(params, repeated)
    np.testing.assert_allclose(f_w, f_r, rtol=1e-12)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(net.fitness(params, weighted), net.fitness(params, repeated), rtol=1e-12)


def test_non_finite_particles_get_inf_and_nan(rng):
    net = sj.MLP([2, 4, 1], "relu")
    data = random_dataset(rng, 30, 2, 1)
    params = net.init_params(4, seed=7)
    params[1, 3] = np.nan
    params[2, 0] = np.inf
    params[3, -1] = 1e200  # finite parameter, overflowing fitness
    f, g = net.fitness_and_gradient(params, data)
    assert np.isfinite(f[0]) and np.all(np.isfinite(g[0]))
    assert np.all(f[1:] == np.inf)
    assert np.all(np.isnan(g[1:]))


def test_empty_swarm_and_no_observation():
    net = sj.MLP([2, 3, 1])
    with pytest.warns(UserWarning, match="observe nothing"):
        data = sj.Dataset(np.zeros((3, 2)), y=np.full(3, np.nan))
    f, g = net.fitness_and_gradient(net.init_params(2, seed=0), data)
    np.testing.assert_array_equal(f, [0.0, 0.0])
    np.testing.assert_array_equal(g, np.zeros((2, net.n_params)))
    f, g = net.fitness_and_gradient(np.zeros((0, net.n_params)), sj.Dataset(np.zeros((3, 2)), y=np.ones(3)))
    assert f.shape == (0,) and g.shape == (0, net.n_params)


def test_bad_input_is_refused_with_a_clear_message():
    net = sj.MLP([2, 3, 1])
    data = sj.Dataset(np.zeros((3, 2)), y=np.ones(3))
    with pytest.raises(TypeError, match="data must be a swarmjac.Dataset"):
        net.fitness_and_gradient(net.init_params(1), "data")
    with pytest.raises(ValueError, match=r"n_params=13 columns .* got shape \(2, 12\)"):
        net.fitness_and_gradient(np.zeros((2, 12)), data)
    with pytest.raises(ValueError, match="d_in=3"):
        net.fitness_and_gradient(np.zeros(13), sj.Dataset(np.zeros((3, 3)), y=np.ones(3)))
    with pytest.raises(TypeError, match="params"):
        net.fitness_and_gradient(np.zeros(13, dtype=complex), data)
    with pytest.raises(ValueError, match="n_threads"):
        net.fitness_and_gradient(np.zeros(13), data, n_threads=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        net.fitness_and_gradient(np.zeros(13), data, mode="sideways")


def test_non_contiguous_params_are_copied_not_misread(rng):
    net = sj.MLP([2, 4, 1], "tanh")
    data = random_dataset(rng, 50, 2, 1)
    params = net.init_params(6, seed=8)
    strided = np.asfortranarray(params)
    f, g = net.fitness_and_gradient(strided[::2], data)
    f_ref, g_ref = net.fitness_and_gradient(np.ascontiguousarray(params[::2]), data)
    np.testing.assert_array_equal(g, g_ref)
    np.testing.assert_array_equal(f, f_ref)
