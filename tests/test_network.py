"""The network spec: parameter layout, from_layers, init_params, activations, and the import boundary."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import _kernels
from swarmjac.activations import ACTIVATIONS, activation_code, evaluate


def test_n_params_and_layout():
    net = sj.MLP([2, 3, 1], "sigmoid")
    assert net.n_params == 2 * 3 + 3 + 3 * 1 + 1
    assert net.activations == ("sigmoid", "linear")
    assert net.layer_sizes == (2, 3, 1)
    theta = np.arange(net.n_params, dtype=float)
    (W1, b1), (W2, b2) = net.unpack(theta)
    # Row-major W then b, layer after layer.
    np.testing.assert_array_equal(W1, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, [[9, 10, 11]])
    np.testing.assert_array_equal(b2, [12])
    assert np.shares_memory(W1, theta)
    np.testing.assert_array_equal(net.pack(net.unpack(theta)), theta)


def test_pack_checks_shapes():
    net = sj.MLP([2, 3, 1])
    with pytest.raises(ValueError, match=r"layers\[0\] W must have shape \(3, 2\), got \(2, 3\)"):
        net.pack([(np.zeros((2, 3)), np.zeros(3)), (np.zeros((1, 3)), np.zeros(1))])
    with pytest.raises(ValueError, match="must hold 2"):
        net.pack([(np.zeros((3, 2)), np.zeros(3))])
    with pytest.raises(ValueError, match="theta must have n_params=13"):
        net.unpack(np.zeros(12))


def test_from_layers_builds_spec_and_params():
    W1, b1 = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    W2, b2 = np.ones((1, 3)), np.zeros(1)
    net, theta = sj.MLP.from_layers([(W1, b1, "tanh"), (W2, b2, "linear")])
    assert net == sj.MLP([2, 3, 1], ["tanh", "linear"])
    (V1, c1), (V2, c2) = net.unpack(theta)
    np.testing.assert_array_equal(V1, W1)
    np.testing.assert_array_equal(c2, b2)
    with pytest.raises(ValueError, match="has 2 columns but the previous layer has 3 outputs"):
        sj.MLP.from_layers([(W1, b1, "tanh"), (np.ones((1, 2)), b2, "linear")])


def test_init_params_is_seeded_and_scaled():
    net = sj.MLP([2, 16, 16, 1], "tanh")
    a = net.init_params(50, seed=0)
    b = net.init_params(50, seed=0)
    c = net.init_params(50, seed=1)
    assert a.shape == (50, net.n_params) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    (W1, _), (W2, _), _ = net.unpack(a[0])
    assert np.abs(W2).max() <= np.sqrt(6 / 32) + 1e-12
    assert net.init_params(3, seed=0, dtype=np.float32).dtype == np.float32
    assert net.init_params(0).shape == (0, net.n_params)


def test_spec_round_trip_and_repr():
    net = sj.MLP([3, 4, 2], ["relu", "sigmoid"])
    assert sj.MLP.from_dict(net.to_dict()) == net
    assert repr(net) == "MLP([3, 4, 2], activations=['relu', 'sigmoid'])"
    assert hash(net) == hash(sj.MLP([3, 4, 2], ["relu", "sigmoid"]))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_activations_match_numpy(name, dtype):
    z = np.concatenate([np.linspace(-30, 30, 2001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    a = np.empty_like(z)
    d = np.empty_like(z)
    _kernels.eval_activation(activation_code(name), z, a, d)
    ea, ed = evaluate(name, z)
    # atol on the O(1) scale of the derivatives: gelu's derivative is 1 + tanh(u) + ..., which cancels
    # towards 0 for z < -5, so both sides carry absolute errors of a few ulp of 1 there.
    tol = {"rtol": 1e-13, "atol": 2e-14} if dtype == np.float64 else {"rtol": 2e-6, "atol": 2e-6}
    np.testing.assert_allclose(a, ea, **tol)
    np.testing.assert_allclose(d, ed, **tol)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "sin", "gelu", "leaky_relu"])
def test_activation_derivatives_match_finite_differences(name):
    z = np.linspace(-5, 5, 101) + 0.013  # keep away from the kinks at 0
    h = 1e-4
    fd = (-evaluate(name, z + 2 * h)[0] + 8 * evaluate(name, z + h)[0]
          - 8 * evaluate(name, z - h)[0] + evaluate(name, z - 2 * h)[0]) / (12 * h)
    np.testing.assert_allclose(evaluate(name, z)[1], fd, rtol=1e-8, atol=1e-10)


def test_relu_derivative_at_zero_is_zero():
    assert evaluate("relu", np.array([0.0]))[1][0] == 0.0
    a, d = np.empty(1), np.empty(1)
    _kernels.eval_activation(activation_code("relu"), np.zeros(1), a, d)
    assert d[0] == 0.0


def test_reference_does_not_import_the_compiled_core():
    code = ("import sys, swarmjac.reference, swarmjac; "
            "net = swarmjac.MLP([2, 3, 1]); import numpy as np; "
            "swarmjac.reference.value_and_jacobian(net, np.zeros(net.n_params), np.zeros((1, 2))); "
            "assert 'swarmjac._kernels' not in sys.modules, 'reference imported the compiled core'")
    subprocess.run([sys.executable, "-c", code], check=True)
