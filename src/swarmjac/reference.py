"""Reference implementation in plain NumPy: one particle and one sample at a time, slow on purpose.

It follows the worked example literally: a layer's input Jacobian is ``diag(act'(W x + b)) @ W`` and the
network's is the product of the layer Jacobians, last layer first. It is the ground truth of the tests and
the baseline of the benchmarks, and it never imports the compiled core.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from swarmjac.activations import evaluate

__all__ = ["layer_forward", "network_value_and_jacobian", "predict", "value_and_jacobian", "fitness"]


def layer_forward(W: np.ndarray, b: np.ndarray, activation: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layer at one point: its output and its Jacobian with respect to its input.

    Parameters
    ----------
    W : ndarray, shape (out, in)
    b : ndarray, shape (out,)
    activation : str
    x : ndarray, shape (in,)

    Returns
    -------
    a : ndarray, shape (out,)
        ``act(W x + b)``.
    jacobian : ndarray, shape (out, in)
        ``diag(act'(W x + b)) @ W``.

    Examples
    --------
    >>> a, J = layer_forward(np.eye(2), np.zeros(2), "linear", np.array([1.0, 2.0]))
    >>> a, J
    (array([1., 2.]), array([[1., 0.],
           [0., 1.]]))
    """
    z = W @ x + b
    a, slope = evaluate(activation, z)
    return a, np.diag(slope) @ W


def network_value_and_jacobian(layers: Sequence[tuple[np.ndarray, np.ndarray]], activations: Sequence[str],
                               x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output and input Jacobian of a network at one point, as the product of layer Jacobians.

    Parameters
    ----------
    layers : sequence of (W, b)
    activations : sequence of str
    x : ndarray, shape (d_in,)

    Returns
    -------
    y : ndarray, shape (d_out,)
    jacobian : ndarray, shape (d_out, d_in)
        ``J_L @ ... @ J_2 @ J_1``.
    """
    a = x
    jacobian = np.eye(x.shape[0], dtype=x.dtype)
    for (W, b), activation in zip(layers, activations):
        a, layer_jacobian = layer_forward(W, b, activation, a)
        jacobian = layer_jacobian @ jacobian
    return a, jacobian


def _swarm(net: Any, params: Any, X: Any) -> tuple[np.ndarray, np.ndarray, bool, np.dtype]:
    params = np.asarray(params)
    dtype = np.dtype(np.float32) if params.dtype == np.float32 and np.asarray(X).dtype in (np.float32,) \
        else np.dtype(np.float64)
    squeeze = params.ndim == 1
    params = np.atleast_2d(params).astype(dtype)
    X = np.asarray(X, dtype=dtype)
    if params.shape[1] != net.n_params or X.ndim != 2 or X.shape[1] != net.layer_sizes[0]:
        raise ValueError(f"reference: params {params.shape} / X {X.shape} do not fit {net!r}")
    return params, X, squeeze, dtype


def predict(net: Any, params: Any, X: Any) -> np.ndarray:
    """Outputs of every particle at every point, by double loop.

    Parameters
    ----------
    net : MLP
        Only ``layer_sizes``, ``activations``, ``n_params`` and ``unpack`` are used.
    params : array_like, shape (P, n_params) or (n_params,)
    X : array_like, shape (N, d_in)

    Returns
    -------
    ndarray, shape (P, N, d_out) (or (N, d_out) for 1-D params)
    """
    Y, _ = value_and_jacobian(net, params, X)
    return Y


def value_and_jacobian(net: Any, params: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and input Jacobians of every particle at every point, by double loop.

    Parameters
    ----------
    net : MLP
    params : array_like, shape (P, n_params) or (n_params,)
    X : array_like, shape (N, d_in)

    Returns
    -------
    Y : ndarray, shape (P, N, d_out)
    J : ndarray, shape (P, N, d_out, d_in)
        Squeezed to drop P for 1-D params. Same dtype rules as the compiled path.

    Examples
    --------
    >>> import swarmjac as sj
    >>> ones = np.ones
    >>> net, theta = sj.MLP.from_layers([(ones((2, 2)), ones(2), "sigmoid"), (ones((1, 2)), ones(1), "linear")])
    >>> Y, J = value_and_jacobian(net, theta, [[1.0, 1.0]])
    >>> np.round(J, 7)
    array([[[0.0903533, 0.0903533]]])
    """
    params, X, squeeze, dtype = _swarm(net, params, X)
    d_out, d_in = net.layer_sizes[-1], net.layer_sizes[0]
    Y = np.zeros((params.shape[0], X.shape[0], d_out), dtype=dtype)
    J = np.zeros((params.shape[0], X.shape[0], d_out, d_in), dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite particles propagate, as in C
        for p in range(params.shape[0]):
            layers = net.unpack(params[p])
            for n in range(X.shape[0]):
                Y[p, n], J[p, n] = network_value_and_jacobian(layers, net.activations, X[n])
    return (Y[0], J[0]) if squeeze else (Y, J)


def fitness(net: Any, params: Any, data: Any) -> np.ndarray:
    """Fitness of every particle, from the reference values and Jacobians.

    ``value_weight * mean((Y - y)^2 over observed y) + derivative_weight * mean((J - dydx)^2 over
    observed dydx)``; an empty term is 0 and a non-finite fitness, or a particle with a NaN or inf
    parameter, gets ``+inf``.

    Parameters
    ----------
    net : MLP
    params : array_like, shape (P, n_params) or (n_params,)
    data : Dataset

    Returns
    -------
    ndarray, shape (P,) (0-d for 1-D params), float64
    """
    params = np.asarray(params)
    squeeze = params.ndim == 1
    swarm = np.atleast_2d(params)
    Y, J = value_and_jacobian(net, swarm, data.X)
    y_observed = ~np.isnan(data.y)
    d_observed = ~np.isnan(data.dydx)
    out = np.zeros(Y.shape[0], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        for p in range(Y.shape[0]):
            total = 0.0
            if data.value_weight and y_observed.any():
                residual = Y[p].astype(np.float64)[y_observed] - data.y[y_observed]
                total += data.value_weight * np.mean(residual ** 2)
            if data.derivative_weight and d_observed.any():
                residual = J[p].astype(np.float64)[d_observed] - data.dydx[d_observed]
                total += data.derivative_weight * np.mean(residual ** 2)
            out[p] = total if np.isfinite(total) and np.all(np.isfinite(swarm[p])) else np.inf
    return out.reshape(()) if squeeze else out
