"""The NumPy reference fitness gradient and the activations' second derivatives, against finite differences
of reference.fitness / activations.evaluate and against formulas written by hand."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import reference
from swarmjac.activations import ACTIVATIONS, evaluate, second_derivative

from gradient_cases import KINKED, assert_gradient_close, fd_gradient, gradient_cases, make_case

nan = np.nan
CASES = gradient_cases()


def _fd4(fn, z, h):
    return (fn(z - 2 * h) - 8 * fn(z - h) + 8 * fn(z + h) - fn(z + 2 * h)) / (12 * h)


# ----- second derivatives of the activations -----

@pytest.mark.parametrize("name", ACTIVATIONS)
def test_second_derivative_matches_fd_of_first_derivative(name):
    z = np.linspace(-6, 6, 481)
    z = z[np.abs(z) > 0.01] if name in KINKED else z  # the FD stencil must not straddle a kink
    expected = _fd4(lambda x: evaluate(name, x)[1], z, 1e-3)
    got = second_derivative(name, z)
    assert got.shape == z.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_second_derivative_is_stable_and_keeps_dtype(name):
    huge = np.array([-1e300, -1e10, -50.0, -20.5, 20.5, 50.0, 1e10, 1e300, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = second_derivative(name, huge)
        got32 = second_derivative(name, np.array([-3e38, -30.0, 0.5, 30.0, 3e38], dtype=np.float32))
    assert np.all(np.isfinite(got)) and np.all(np.isfinite(got32))
    assert got32.dtype == np.float32
    if name != "sin":  # every other activation is linear or flat far out
        np.testing.assert_array_equal(got[[0, 1, 6, 7]], 0.0)
    np.testing.assert_allclose(got32[2], second_derivative(name, np.array([0.5]))[0], rtol=1e-6)


def test_second_derivative_by_hand():
    z = np.array([-1.3, 0.4, 2.0])
    s = 1 / (1 + np.exp(-z))
    t = np.tanh(z)
    np.testing.assert_allclose(second_derivative("sigmoid", z), s * (1 - s) * (1 - 2 * s), rtol=1e-13)
    np.testing.assert_allclose(second_derivative("softplus", z), s * (1 - s), rtol=1e-13)
    np.testing.assert_allclose(second_derivative("tanh", z), -2 * t * (1 - t ** 2), rtol=1e-13)
    np.testing.assert_allclose(second_derivative("elu", z), [np.exp(-1.3), 0, 0], rtol=1e-13)
    np.testing.assert_allclose(second_derivative("sin", z), -np.sin(z), rtol=1e-13)
    for name in ("linear", "relu", "leaky_relu"):
        np.testing.assert_array_equal(second_derivative(name, np.array([-1.0, 0.0, 1.0])), 0.0)
    with pytest.raises(ValueError, match="unknown activation"):
        second_derivative("swish", z)


# ----- the fitness gradient against finite differences -----

@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_gradient_matches_finite_differences(case):
    f, g = reference.fitness_and_gradient(case.net, case.params, case.data)
    assert f.shape == (case.params.shape[0],) and g.shape == case.params.shape
    assert f.dtype == np.float64 and g.dtype == np.float64
    expected = fd_gradient(lambda p: reference.fitness(case.net, p, case.data), case.params)
    assert np.max(np.abs(expected)) > 1e-3  # the case has a gradient to get wrong
    assert_gradient_close(g, expected, rtol=1e-6, what=case.name)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_value_equals_reference_fitness_exactly(case):
    f, _ = reference.fitness_and_gradient(case.net, case.params, case.data)
    np.testing.assert_array_equal(f, reference.fitness(case.net, case.params, case.data))


def test_gradient_of_a_one_one_one_net_by_hand():
    # y = w2 tanh(w1 x + b1) + b2, J = dy/dx = w2 (1 - t^2) w1 with t = tanh(z), z = w1 x + b1.
    w1, b1, w2, b2 = 0.7, -0.2, 1.3, 0.4
    net, theta = sj.MLP.from_layers([(np.array([[w1]]), np.array([b1]), "tanh"),
                                     (np.array([[w2]]), np.array([b2]), "linear")])
    X = np.array([[0.5], [-1.1], [2.0]])
    y = np.array([0.3, nan, -0.8])
    dydx = np.array([[0.9], [0.2], [nan]])
    value_weight, derivative_weight = 1.5, 0.6
    data = sj.Dataset(X, y=y, dydx=dydx, value_weight=value_weight, derivative_weight=derivative_weight)
    x = X[:, 0]
    t = np.tanh(w1 * x + b1)
    d1 = 1 - t ** 2  # tanh'
    d2 = -2 * t * d1  # tanh''
    Y = w2 * t + b2
    J = w2 * d1 * w1
    rv = np.where(np.isnan(y), 0.0, Y - y) * 2 * value_weight / 2  # two observed values
    rd = np.where(np.isnan(dydx[:, 0]), 0.0, J - dydx[:, 0]) * 2 * derivative_weight / 2  # two partials
    expected = np.array([
        np.sum(rv * w2 * d1 * x + rd * w2 * (d2 * x * w1 + d1)),  # dF/dw1
        np.sum(rv * w2 * d1 + rd * w2 * d2 * w1),  # dF/db1
        np.sum(rv * t + rd * d1 * w1),  # dF/dw2
        np.sum(rv),  # dF/db2
    ])
    expected_f = (value_weight * np.nanmean((Y - y) ** 2) + derivative_weight * np.nanmean((J - dydx[:, 0]) ** 2))
    f, g = reference.fitness_and_gradient(net, theta, data)
    assert f.shape == () and g.shape == (4,)
    np.testing.assert_allclose(f, expected_f, rtol=1e-14)
    np.testing.assert_allclose(g, expected, rtol=1e-13)


# ----- shapes, weights, non-finite particles, bad input -----

def test_one_dimensional_params_give_scalar_and_vector():
    case = CASES[0]
    f, g = reference.fitness_and_gradient(case.net, case.params[1], case.data)
    f2, g2 = reference.fitness_and_gradient(case.net, case.params, case.data)
    assert f.shape == () and g.shape == (case.net.n_params,)
    assert f == f2[1]
    np.testing.assert_array_equal(g, g2[1])
    f32, g32 = reference.fitness_and_gradient(case.net, case.params.astype(np.float32), case.data)
    assert f32.dtype == np.float64 and g32.dtype == np.float64


def test_zero_weights_give_zero_fitness_and_gradient():
    case = make_case("zero", (2, 3, 1), "tanh", value_weight=0.0, derivative_weight=0.0)
    f, g = reference.fitness_and_gradient(case.net, case.params, case.data)
    np.testing.assert_array_equal(f, 0.0)
    np.testing.assert_array_equal(g, 0.0)


def test_non_finite_particle_gets_inf_and_nan_gradient():
    case = make_case("nonfinite", (2, 3, 1), "tanh", n_particles=3)
    params = case.params.copy()
    params[0, 2] = nan  # a NaN weight
    params[1, -4:] = 1e200  # the output layer overflows the squared residual
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f, g = reference.fitness_and_gradient(case.net, params, case.data)
    np.testing.assert_array_equal(f[:2], np.inf)
    assert np.all(np.isnan(g[:2]))
    f_ok, g_ok = reference.fitness_and_gradient(case.net, params[2], case.data)
    assert f[2] == f_ok and np.isfinite(f_ok)
    np.testing.assert_array_equal(g[2], g_ok)


def test_bad_params_shape_is_a_value_error():
    case = CASES[0]
    with pytest.raises(ValueError, match="params must have shape"):
        reference.fitness_and_gradient(case.net, case.params[:, :-1], case.data)
    with pytest.raises(ValueError, match="params must have shape"):
        reference.fitness_and_gradient(case.net, case.params[None], case.data)


class _Weighted:
    """A data set with a ``sample_weight``, as the planned Dataset will carry."""

    def __init__(self, data, sample_weight):
        self.X, self.y, self.dydx = data.X, data.y, data.dydx
        self.value_weight, self.derivative_weight = data.value_weight, data.derivative_weight
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)


def test_sample_weights_count_rows_that_many_times():
    case = make_case("weighted", (2, 3, 1), "sin", pattern="random", n_samples=6, value_weight=0.8,
                     derivative_weight=1.4)
    counts = np.array([2, 0, 1, 3, 1, 0])
    weighted = _Weighted(case.data, counts)
    repeated = sj.Dataset(np.repeat(case.data.X, counts, axis=0), y=np.repeat(case.data.y, counts, axis=0),
                          dydx=np.repeat(case.data.dydx, counts, axis=0), value_weight=0.8, derivative_weight=1.4)
    f, g = reference.fitness_and_gradient(case.net, case.params, weighted)
    f_rep, g_rep = reference.fitness_and_gradient(case.net, case.params, repeated)
    np.testing.assert_allclose(f, f_rep, rtol=1e-13)
    np.testing.assert_allclose(f, reference.fitness(case.net, case.params, weighted), rtol=0)
    np.testing.assert_allclose(g, g_rep, rtol=1e-12, atol=1e-14)
    fractional = _Weighted(case.data, [0.5, 2.0, 0.0, 1.5, 0.25, 1.0])
    _, g_frac = reference.fitness_and_gradient(case.net, case.params, fractional)
    expected = fd_gradient(lambda p: reference.fitness(case.net, p, fractional), case.params)
    assert_gradient_close(g_frac, expected, rtol=1e-6, what="fractional sample weights")


def test_reference_never_imports_the_compiled_core():
    code = ("import sys, numpy as np, swarmjac as sj\n"
            "from swarmjac import reference\n"
            "net = sj.MLP([1, 2, 1], 'tanh')\n"
            "data = sj.Dataset([[0.5]], y=[1.0], dydx=[[0.3]])\n"
            "reference.fitness_and_gradient(net, np.linspace(-1, 1, net.n_params), data)\n"
            "assert 'swarmjac._kernels' not in sys.modules, 'compiled core imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
