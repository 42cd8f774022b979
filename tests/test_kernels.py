"""Compiled predict / value_and_jacobian against the worked example, the reference, finite differences,
and every kind of bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import swarmjac as sj
from swarmjac import reference
from swarmjac.activations import ACTIVATIONS

from conftest import SMOOTH_ACTIVATIONS, tolerances


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ----- the worked example -----

def worked_example_one_hidden():
    ones = np.ones
    return sj.MLP.from_layers([(ones((2, 2)), ones(2), "sigmoid"), (ones((1, 2)), ones(1), "linear")])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_worked_example_one_hidden_layer(mode, dtype):
    net, theta = worked_example_one_hidden()
    Y, J = net.value_and_jacobian(theta.astype(dtype), np.ones((1, 2), dtype=dtype), mode=mode)
    # By hand: z = 1 + 1 + 1 = 3 in each hidden unit; J_j = 2 * sigmoid'(3).
    s = _sigmoid(3.0)
    assert J.shape == (1, 1, 2) and Y.shape == (1, 1)
    np.testing.assert_allclose(J, [[[2 * s * (1 - s)] * 2]], rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(J[0, 0], [0.0903533, 0.0903533], atol=5e-8)
    np.testing.assert_allclose(Y, [[2 * s + 1]], rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("hidden_bias", [0.0, 1.0])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_worked_example_two_hidden_layers(hidden_bias, mode):
    ones = np.ones
    net, theta = sj.MLP.from_layers([
        (ones((2, 2)), hidden_bias * ones(2), "sigmoid"),
        (ones((2, 2)), hidden_bias * ones(2), "sigmoid"),
        (ones((1, 2)), np.zeros(1), "linear"),
    ])
    Y, J = net.value_and_jacobian(theta, [[1.0, 1.0]], mode=mode)
    # By hand: layer 1 z1 = 2 + b, a1 = s(z1); layer 2 z2 = 2 a1 + b, a2 = s(z2); y = 2 a2.
    # dy/dx_j = sum over the two paths = 2 * s'(z2) * 2 * s'(z1).
    z1 = 2.0 + hidden_bias
    a1 = _sigmoid(z1)
    z2 = 2 * a1 + hidden_bias
    a2 = _sigmoid(z2)
    expected_j = 4 * a2 * (1 - a2) * a1 * (1 - a1)
    np.testing.assert_allclose(Y, [[2 * a2]], rtol=1e-14)
    np.testing.assert_allclose(J, [[[expected_j, expected_j]]], rtol=1e-13)
    Yr, Jr = reference.value_and_jacobian(net, theta, [[1.0, 1.0]])
    np.testing.assert_allclose(Jr, J, rtol=1e-13)


def test_reference_layer_jacobian_is_diag_times_w():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    b = np.array([0.1, -0.2])
    x = np.array([0.3, 0.7])
    a, jac = reference.layer_forward(W, b, "tanh", x)
    z = W @ x + b
    np.testing.assert_allclose(a, np.tanh(z), rtol=1e-15)
    np.testing.assert_allclose(jac, np.diag(1 - np.tanh(z) ** 2) @ W, rtol=1e-15)


# ----- against the reference -----

@st.composite
def network_cases(draw):
    n_layers = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 9)) for _ in range(n_layers + 1)]
    acts = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(n_layers)]
    n_particles = draw(st.integers(0, 4))
    n_samples = draw(st.sampled_from([0, 1, 5, 63, 64, 65, 130]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n_threads = draw(st.sampled_from([None, 1, 2, 3]))
    mode = draw(st.sampled_from(["auto", "forward", "reverse"]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return sizes, acts, n_particles, n_samples, dtype, n_threads, mode, seed


@given(network_cases())
def test_value_and_jacobian_matches_reference(case):
    sizes, acts, n_particles, n_samples, dtype, n_threads, mode, seed = case
    rng = np.random.default_rng(seed)
    net = sj.MLP(sizes, acts)
    params = net.init_params(n_particles, seed=rng).astype(dtype)
    X = rng.uniform(-2, 2, size=(n_samples, sizes[0])).astype(dtype)
    Y, J = net.value_and_jacobian(params, X, n_threads=n_threads, mode=mode)
    assert Y.dtype == dtype and J.dtype == dtype
    assert Y.shape == (n_particles, n_samples, sizes[-1])
    assert J.shape == (n_particles, n_samples, sizes[-1], sizes[0])
    Yr, Jr = reference.value_and_jacobian(net, params.astype(np.float64), X.astype(np.float64))
    np.testing.assert_allclose(Y, Yr, **tolerances(dtype))
    np.testing.assert_allclose(J, Jr, **tolerances(dtype))
    # Same values up to rounding: the compiler may fuse multiply-adds differently in the two kernels.
    np.testing.assert_allclose(net.predict(params, X, n_threads=n_threads), Y, rtol=1e-14 if dtype == np.float64
                               else 1e-6, atol=1e-14 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_against_reference(activation, rng):
    net = sj.MLP([3, 6, 5, 2], activation)
    params = net.init_params(5, seed=1)
    X = rng.normal(size=(100, 3))
    for mode in ("forward", "reverse"):
        Y, J = net.value_and_jacobian(params, X, mode=mode)
        Yr, Jr = reference.value_and_jacobian(net, params, X)
        np.testing.assert_allclose(Y, Yr, **tolerances(np.float64))
        np.testing.assert_allclose(J, Jr, **tolerances(np.float64))


def test_forward_and_reverse_agree_on_wide_network(rng):
    net = sj.MLP([8, 32, 32, 1], "sigmoid")
    params = net.init_params(3, seed=2)
    X = rng.normal(size=(77, 8))
    _, Jf = net.value_and_jacobian(params, X, mode="forward")
    _, Jr = net.value_and_jacobian(params, X, mode="reverse")
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-14)


# ----- finite differences -----

@pytest.mark.parametrize("activation", SMOOTH_ACTIVATIONS)
def test_jacobian_matches_fourth_order_finite_differences(activation, rng):
    net = sj.MLP([3, 7, 4, 2], activation)
    theta = net.init_params(1, seed=3)[0]
    X = rng.uniform(-1, 1, size=(20, 3))
    _, J = net.value_and_jacobian(theta, X)
    h = 1e-3
    fd = np.empty_like(J)
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        f = lambda shift: net.predict(theta, X + shift * e)  # noqa: E731
        fd[:, :, j] = (-f(2) + 8 * f(1) - 8 * f(-1) + f(-2)) / (12 * h)
    np.testing.assert_allclose(J, fd, rtol=1e-7, atol=1e-9)


# ----- threads, layout, dtypes -----

@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_results_bit_identical_for_any_thread_count(mode, rng):
    net = sj.MLP([4, 16, 16, 2], "tanh")
    params = net.init_params(37, seed=4)
    X = rng.normal(size=(150, 4))
    Y1, J1 = net.value_and_jacobian(params, X, n_threads=1, mode=mode)
    for threads in (2, 3, 8, None, -1):
        Y, J = net.value_and_jacobian(params, X, n_threads=threads, mode=mode)
        assert np.array_equal(Y, Y1) and np.array_equal(J, J1)


def test_non_contiguous_inputs_are_copied_not_misread(rng):
    net = sj.MLP([3, 5, 1], "tanh")
    params = net.init_params(6, seed=5)
    X = rng.normal(size=(40, 3))
    expected = net.value_and_jacobian(params, X)
    variants = [
        (np.asfortranarray(params), np.asfortranarray(X)),
        (np.repeat(params, 2, axis=0)[::2], X[::-1][::-1]),
        (params[::-1][::-1], np.hstack([X, X])[:, :3]),
    ]
    big = np.zeros((40, 6))
    big[:, ::2] = X
    variants.append((params, big[:, ::2]))
    for p, x in variants:
        Y, J = net.value_and_jacobian(p, x)
        np.testing.assert_array_equal(Y, expected[0])
        np.testing.assert_array_equal(J, expected[1])
    swapped = X.astype(X.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(net.predict(params, swapped), expected[0])


def test_dtype_rules(rng):
    net = sj.MLP([2, 4, 1], "tanh")
    p64 = net.init_params(2, seed=6)
    p32 = p64.astype(np.float32)
    X64 = rng.normal(size=(5, 2))
    X32 = X64.astype(np.float32)
    assert net.predict(p32, X32).dtype == np.float32
    assert net.predict(p32, X64).dtype == np.float64
    assert net.predict(p64, X32).dtype == np.float64
    assert net.predict(p32, X64.round().astype(np.int64)).dtype == np.float32
    assert net.predict(p64.tolist(), X64.tolist()).dtype == np.float64


def test_one_dimensional_params_give_squeezed_results(rng):
    net = sj.MLP([2, 4, 3], "tanh")
    params = net.init_params(2, seed=7)
    X = rng.normal(size=(9, 2))
    Y, J = net.value_and_jacobian(params[1], X)
    assert Y.shape == (9, 3) and J.shape == (9, 3, 2)
    Y2, J2 = net.value_and_jacobian(params, X)
    np.testing.assert_array_equal(Y, Y2[1])
    np.testing.assert_array_equal(J, J2[1])
    assert net.predict(params[0], X).shape == (9, 3)


@pytest.mark.parametrize("n_particles, n_samples", [(0, 5), (3, 0), (0, 0)])
def test_empty_swarm_or_batch(n_particles, n_samples):
    net = sj.MLP([2, 3, 4], "tanh")
    params = np.zeros((n_particles, net.n_params))
    X = np.zeros((n_samples, 2))
    Y, J = net.value_and_jacobian(params, X)
    assert Y.shape == (n_particles, n_samples, 4) and J.shape == (n_particles, n_samples, 4, 2)
    assert net.predict(params, X).shape == (n_particles, n_samples, 4)
    assert net.predict(np.zeros(net.n_params), X).shape == (n_samples, 4)


# ----- huge pre-activations -----

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_preactivations_give_no_nan_and_no_warning(activation, sign, dtype):
    big = sign * (1e300 if dtype == np.float64 else 1e38)
    ones = np.ones
    net, theta = sj.MLP.from_layers([(ones((2, 2)), big * ones(2), activation), (ones((1, 2)), ones(1), "linear")])
    theta = theta.astype(dtype)
    X = np.array([[1.0, 1.0], [-3.0, 2.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y, J = net.value_and_jacobian(theta, X)
        Yr, Jr = reference.value_and_jacobian(net, theta, X)
    assert not np.isnan(Y).any() and not np.isnan(J).any()
    assert not np.isnan(Yr).any() and not np.isnan(Jr).any()
    if activation in ("sigmoid", "tanh", "softplus", "elu", "sin", "gelu", "relu", "leaky_relu"):
        assert np.isfinite(J).all()


# ----- bad input -----

def test_validation_errors_name_the_argument():
    net = sj.MLP([2, 3, 1], "tanh")
    good_params = np.zeros((4, net.n_params))
    good_X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\).*\(5, 3\)"):
        net.predict(good_params, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"params must have n_params=13 columns.*\(4, 12\)"):
        net.predict(np.zeros((4, 12)), good_X)
    with pytest.raises(ValueError, match=r"X must be 2-D.*1-D"):
        net.predict(good_params, np.zeros(2))
    with pytest.raises(ValueError, match=r"params must be 1-D or 2-D.*3-D"):
        net.predict(np.zeros((1, 4, net.n_params)), good_X)
    with pytest.raises(TypeError, match=r"params must be real-valued.*complex"):
        net.predict(good_params.astype(complex), good_X)
    with pytest.raises(TypeError, match=r"X must be a numeric array"):
        net.predict(good_params, np.array([["a", "b"]]))
    with pytest.raises(TypeError, match=r"X must be a numeric array"):
        net.predict(good_params, np.zeros((5, 2), dtype=object))
    with pytest.raises(ValueError, match=r"n_threads must be a positive int.*got 0"):
        net.predict(good_params, good_X, n_threads=0)
    with pytest.raises(ValueError, match=r"n_threads.*got -3"):
        net.value_and_jacobian(good_params, good_X, n_threads=-3)
    with pytest.raises(TypeError, match=r"n_threads must be an int"):
        net.predict(good_params, good_X, n_threads=1.5)
    with pytest.raises(ValueError, match=r"mode must be one of"):
        net.value_and_jacobian(good_params, good_X, mode="sideways")


def test_spec_validation_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        sj.MLP([2, 3, 1], "swish")
    with pytest.raises(ValueError, match="layer_sizes\\[1\\] must be >= 1"):
        sj.MLP([2, 0, 1])
    with pytest.raises(TypeError, match="layer_sizes\\[0\\] must be an int"):
        sj.MLP([2.5, 3])
    with pytest.raises(ValueError, match="at least an input and an output"):
        sj.MLP([2])
    with pytest.raises(ValueError, match="one name or 2 names"):
        sj.MLP([2, 3, 1], ["tanh"])


def test_huge_outputs_refused_before_allocation():
    net = sj.MLP([2, 1], ["linear"])
    # Broadcast views take no memory; the outputs they ask for could never be addressed.
    params = np.broadcast_to(np.zeros(net.n_params), (2 ** 33, net.n_params))
    X = np.broadcast_to(np.zeros(2), (2 ** 31, 2))
    with pytest.raises(MemoryError, match="the output would have shape .* more than this platform can address"):
        net.predict(params, X)
    with pytest.raises(MemoryError, match="the Jacobian output would have shape"):
        net.value_and_jacobian(params, X)
