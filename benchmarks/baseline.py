"""The vectorised-NumPy baseline the compiled kernels are measured against: whole swarm at once.

What a competent NumPy user would write without swarmjac: forward-mode value + input-Jacobian with the
particle axis batched in ``np.matmul`` and the value and tangent columns of every sample stacked side by
side, no Python loop over particles or samples. It never imports the compiled core (swarmjac._kernels).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from swarmjac.activations import evaluate

__all__ = ["forward_columns", "numpy_value_and_jacobian", "numpy_fitness"]


def _working_dtype(params: np.ndarray, X: np.ndarray) -> np.dtype:
    """float32 only if both are float32 (the compiled path's rule), else float64."""
    if params.dtype == np.float32 and X.dtype == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _layers(net: Any, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-layer batched views ``W (P, out, in)`` and ``b (P, out, 1)`` into a swarm (no copies)."""
    sizes = net.layer_sizes
    P = params.shape[0]
    layers = []
    offset = 0
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        W = params[:, offset: offset + fan_out * fan_in].reshape(P, fan_out, fan_in)
        offset += fan_out * fan_in
        b = params[:, offset: offset + fan_out].reshape(P, fan_out, 1)
        offset += fan_out
        layers.append((W, b))
    return layers


def forward_columns(net: Any, params: np.ndarray, X: np.ndarray,
                    directions: Optional[Sequence[int]] = None) -> np.ndarray:
    """Forward mode over the whole swarm: values and the tangents of the chosen input directions.

    The state of a layer is one array ``H (P, width, (1 + n_dir) * N)``: the first N columns hold the
    values of the N samples, then N columns per carried direction hold their tangents. Each layer is
    ``Z = W @ H`` (one batched matmul over particles), the bias added to the value columns only, then
    ``A = f(Z_value)`` and ``dA = f'(Z_value) * dZ``. The first layer's tangents need no product: the tangent
    of input direction j is ``e_j``, so ``dZ_1 = W_1[:, j]`` for every sample.

    Parameters
    ----------
    net : swarmjac.MLP
        Only ``layer_sizes`` and ``activations`` are read.
    params : ndarray, shape (P, n_params)
    X : ndarray, shape (N, d_in)
    directions : sequence of int, optional
        Input directions to carry tangents for; default every input.

    Returns
    -------
    ndarray, shape (P, d_out, (1 + n_dir) * N)
        ``[..., :N]`` the outputs, ``[..., (1 + t) * N: (2 + t) * N]`` the derivatives of the outputs along
        ``directions[t]``.
    """
    sizes = net.layer_sizes
    if directions is None:
        directions = range(sizes[0])
    directions = np.asarray(list(directions), dtype=np.intp)
    n_dir = directions.size
    P, N = params.shape[0], X.shape[0]
    layers = _layers(net, params)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite particles propagate to +inf fitness
        # Layer 1: values by one matmul (the inputs are shared by all particles), tangents are columns of W_1.
        W, b = layers[0]
        Z = np.matmul(W, X.T)  # (P, h_1, N)
        Z += b
        H4 = np.empty((P, sizes[1], 1 + n_dir, N), dtype=Z.dtype)  # (P, width, value + directions, N)
        if net.activations[0] == "linear":
            H4[:, :, 0] = Z
            H4[:, :, 1:] = W[:, :, directions, None]
        else:
            A, dA = evaluate(net.activations[0], Z)
            H4[:, :, 0] = A
            np.multiply(W[:, :, directions, None], dA[:, :, None, :], out=H4[:, :, 1:])
        H = H4.reshape(P, sizes[1], (1 + n_dir) * N)  # contiguous, so a view
        # Later layers: one batched matmul over every value and tangent column.
        for (W, b), activation in zip(layers[1:], net.activations[1:]):
            H = np.matmul(W, H)  # (P, out, (1 + n_dir) * N), C-contiguous
            H4 = H.reshape(P, H.shape[1], 1 + n_dir, N)
            values = H4[:, :, 0]
            values += b
            if activation != "linear":
                A, dA = evaluate(activation, values)
                values[...] = A
                if n_dir:
                    H4[:, :, 1:] *= dA[:, :, None, :]
    return H


def numpy_value_and_jacobian(net: Any, params: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and input Jacobians of every particle at every point, in vectorised NumPy.

    Parameters
    ----------
    net : swarmjac.MLP
    params : array_like, shape (P, n_params)
        float32 or float64; the result is float32 only when ``params`` and ``X`` both are.
    X : array_like, shape (N, d_in)

    Returns
    -------
    Y : ndarray, shape (P, N, d_out)
    J : ndarray, shape (P, N, d_out, d_in)
        ``J[..., k, j] = dY_k/dX_j``. Both are strided views into one buffer (no copy was made).

    Examples
    --------
    >>> import swarmjac as sj
    >>> ones = np.ones
    >>> net, theta = sj.MLP.from_layers([(ones((2, 2)), ones(2), "sigmoid"), (ones((1, 2)), ones(1), "linear")])
    >>> Y, J = numpy_value_and_jacobian(net, theta[None, :], [[1.0, 1.0]])
    >>> np.round(J, 7)
    array([[[[0.0903533, 0.0903533]]]])
    """
    params, X = np.asarray(params), np.asarray(X)
    dtype = _working_dtype(params, X)
    params = np.ascontiguousarray(params, dtype=dtype)
    X = np.ascontiguousarray(X, dtype=dtype)
    P, N = params.shape[0], X.shape[0]
    d_in, d_out = net.layer_sizes[0], net.layer_sizes[-1]
    H = forward_columns(net, params, X)  # (P, d_out, (1 + d_in) * N)
    Y = H[:, :, :N].transpose(0, 2, 1)
    J = H[:, :, N:].reshape(P, d_out, d_in, N).transpose(0, 3, 1, 2)
    return Y, J


def numpy_fitness(net: Any, params: Any, data: Any) -> np.ndarray:
    """Fitness of every particle on a ``swarmjac.Dataset``, in vectorised NumPy.

    ``value_weight * mean((Y - y)^2 over observed y) + derivative_weight * mean((J - dydx)^2 over observed
    dydx)``; an empty term is 0 and a non-finite fitness becomes ``+inf``. Tangents are carried only for
    the input directions some row observes (a whole-data-set choice: every row carries them), and the
    squared errors are summed over the observed entries only.

    Parameters
    ----------
    net : swarmjac.MLP
    params : array_like, shape (P, n_params)
        float32 or float64.
    data : swarmjac.Dataset

    Returns
    -------
    ndarray, shape (P,)
        dtype of ``params`` (float32 or float64), like the compiled fitness.

    Examples
    --------
    >>> import swarmjac as sj
    >>> net, theta = sj.MLP.from_layers([(np.ones((1, 1)), np.zeros(1), "linear")])
    >>> data = sj.Dataset([[1.0], [2.0]], y=[[1.0], [1.0]])
    >>> numpy_fitness(net, theta[None, :], data)
    array([0.5])
    """
    params = np.asarray(params)
    dtype = np.dtype(np.float32) if params.dtype == np.float32 else np.dtype(np.float64)
    params = np.ascontiguousarray(params, dtype=dtype)
    X = np.ascontiguousarray(data.X, dtype=dtype)
    N = X.shape[0]
    y_observed = ~np.isnan(data.y)  # (N, d_out)
    d_observed = ~np.isnan(data.dydx)  # (N, d_out, d_in)
    directions = np.flatnonzero(d_observed.any(axis=(0, 1)))
    n_dir = directions.size
    H = forward_columns(net, params, X, directions)  # (P, d_out, (1 + n_dir) * N)
    P, d_out = H.shape[0], H.shape[1]
    total = np.zeros(P, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        n_values = int(y_observed.sum())
        if n_values and data.value_weight:
            value_mask = y_observed.T  # (d_out, N), the layout of H[:, :, :N]
            residual = H[:, :, :N][:, value_mask] - data.y.T[value_mask].astype(dtype)  # (P, n_values)
            total += data.value_weight / n_values * np.einsum("pi,pi->p", residual, residual)
        n_partials = int(d_observed.sum())
        if n_partials and data.derivative_weight:
            # Targets in the layout of the tangent columns: (d_out, n_dir, N).
            mask = d_observed[:, :, directions].transpose(1, 2, 0)
            target = data.dydx[:, :, directions].transpose(1, 2, 0)[mask].astype(dtype)
            tangents = H[:, :, N:].reshape(P, d_out, n_dir, N)
            residual = tangents[:, mask] - target  # (P, n_partials)
            total += data.derivative_weight / n_partials * np.einsum("pi,pi->p", residual, residual)
    total[~np.isfinite(total)] = np.inf
    return total.astype(dtype)
