"""The vectorised-NumPy baseline the compiled kernels are measured against: whole swarm at once.

What a competent NumPy user would write without swarmjac: forward-mode value + input-Jacobian with the
particle axis batched in ``np.matmul`` and the value and tangent columns of every sample stacked side by
side, no Python loop over particles or samples; and for the weight gradient of the fitness, reverse mode
over those columns (reverse-over-forward). It never imports the compiled core (swarmjac._kernels).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from swarmjac.activations import evaluate

__all__ = ["forward_columns", "numpy_value_and_jacobian", "numpy_fitness", "second_derivative",
           "numpy_fitness_and_gradient"]


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


# ----------------------------------------------------------------------------------------------------
# Weight gradient of the fitness: reverse mode over the forward columns

#: The tanh form of gelu, as in swarmjac.activations.
_GELU_K0 = 0.7978845608028654
_GELU_K1 = 0.044715
_GELU_CLAMP = 20.0
#: Memory the stored forward columns of one chunk of particles may take (the gradient keeps every
#: layer's input and pre-activation tangents for the backward sweep).
CHUNK_BYTES = 256 * 2 ** 20


def second_derivative(name: str, z: np.ndarray, a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``f''(z)`` of an activation, from ``z``, ``a = f(z)`` and ``d = f'(z)`` (as ``evaluate`` returns them).

    The tangents carry ``f'(z) dz``; differentiating them with respect to the weights needs ``f''``.
    Piecewise-linear activations (linear, relu, leaky_relu) have ``f'' = 0``, elu's is taken on the branch
    ``evaluate`` takes its ``f'`` from (``z <= 0`` is the exponential branch).

    Parameters
    ----------
    name : str
    z, a, d : ndarray
        Same shape and dtype.

    Returns
    -------
    ndarray
        Same shape and dtype as ``z``.

    Examples
    --------
    >>> z = np.array([0.0])
    >>> a, d = evaluate("sigmoid", z)
    >>> second_derivative("sigmoid", z, a, d)
    array([0.])
    >>> a, d = evaluate("sin", np.array([np.pi / 2]))
    >>> second_derivative("sin", np.array([np.pi / 2]), a, d)
    array([-1.])
    """
    if name in ("linear", "relu", "leaky_relu"):
        return np.zeros_like(z)
    if name == "sigmoid":  # s' = s (1 - s), s'' = s' (1 - 2 s)
        return d * (1 - 2 * a)
    if name == "tanh":  # t' = 1 - t^2, t'' = -2 t t'
        return -2 * a * d
    if name == "softplus":  # f' = s, f'' = s (1 - s)
        return d * (1 - d)
    if name == "elu":
        return np.where(z > 0, 0, d).astype(z.dtype)
    if name == "sin":
        return -a
    if name == "gelu":
        # f = z (1 + t) / 2 with t = tanh(u), u = k0 (z + k1 z^3) (z clamped inside the tanh, where t = +-1
        # beyond the clamp anyway): f'' = (1 - t^2) (u' + z (u'' - 2 t u'^2) / 2).
        k0, k1 = _GELU_K0, _GELU_K1
        zc = np.clip(z, -_GELU_CLAMP, _GELU_CLAMP)
        t = np.tanh(k0 * (zc + k1 * zc ** 3))
        du = k0 * (1 + 3 * k1 * zc ** 2)
        ddu = 6 * k0 * k1 * zc
        return ((1 - t * t) * (du + 0.5 * zc * (ddu - 2 * t * du * du))).astype(z.dtype)
    evaluate(name, z)  # raises the standard message for unknown names
    raise AssertionError("unreachable")


def _gradient_chunk(net: Any, params: np.ndarray, X: np.ndarray, directions: np.ndarray, y: np.ndarray,
                    y_coef: np.ndarray, dydx: np.ndarray, dydx_coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitness and weight gradient of a chunk of particles (see numpy_fitness_and_gradient).

    ``y``, ``y_coef`` are (d_out, N) and ``dydx``, ``dydx_coef`` (d_out, n_dir, N): the layouts of the
    value and tangent columns of the output layer.
    """
    sizes, names = net.layer_sizes, net.activations
    P, N, n_dir = params.shape[0], X.shape[0], directions.size
    layers = _layers(net, params)
    # Forward, keeping for every layer its input columns H (P, in, 1 + n_dir, N), f'(z), f''(z) and the
    # pre-activation tangents dZ (P, out, n_dir, N) of non-linear layers.
    saved: list[tuple[Any, ...]] = []
    H = None
    for l, ((W, b), name) in enumerate(zip(layers, names)):
        if l == 0:
            z = np.matmul(W, X.T) + b  # (P, h_1, N)
            dZ = np.broadcast_to(W[:, :, directions, None], (P, sizes[1], n_dir, N))
        else:
            Zs = np.matmul(W, H.reshape(P, sizes[l], (1 + n_dir) * N)).reshape(P, sizes[l + 1], 1 + n_dir, N)
            z = Zs[:, :, 0] + b
            dZ = Zs[:, :, 1:]
        out = np.empty((P, sizes[l + 1], 1 + n_dir, N), dtype=params.dtype)
        if name == "linear":
            out[:, :, 0], out[:, :, 1:] = z, dZ
            saved.append((H, None, None, None))
        else:
            a, d = evaluate(name, z)
            out[:, :, 0] = a
            np.multiply(d[:, :, None, :], dZ, out=out[:, :, 1:])
            saved.append((H, d, second_derivative(name, z, a, d), dZ))
        H = out
    # The loss and its adjoints with respect to the output columns.
    value_residual = H[:, :, 0] - y
    tangent_residual = H[:, :, 1:] - dydx
    f = (np.einsum("pkn,kn,pkn->p", value_residual, y_coef, value_residual, dtype=np.float64)
         + np.einsum("pktn,ktn,pktn->p", tangent_residual, dydx_coef, tangent_residual, dtype=np.float64))
    bar = np.empty_like(H)
    np.multiply(2 * y_coef, value_residual, out=bar[:, :, 0])
    np.multiply(2 * dydx_coef, tangent_residual, out=bar[:, :, 1:])
    # Backward, last layer first: through the activation (values and tangents), then the product.
    grads: list[tuple[np.ndarray, np.ndarray]] = []
    for l in range(len(layers) - 1, -1, -1):
        W, _ = layers[l]
        H_in, d, d2, dZ = saved[l]
        if d is not None:
            # a = f(z): bar_z = f'(z) bar_a; t = f'(z) dz: bar_dz = f'(z) bar_t and bar_z += f''(z) sum_t dz bar_t.
            bar_t = bar[:, :, 1:]
            bar_z = d * bar[:, :, 0] + d2 * np.einsum("potn,potn->pon", dZ, bar_t)
            bar[:, :, 0] = bar_z
            bar_t *= d[:, :, None, :]
        bar_b = bar[:, :, 0].sum(axis=-1)
        if l == 0:
            # Inputs: the values are X, the tangent of direction j is e_j for every sample.
            bar_W = np.matmul(bar[:, :, 0], X)  # (P, h_1, d_in)
            bar_W[:, :, directions] += bar[:, :, 1:].sum(axis=-1)
        else:
            flat = bar.reshape(P, sizes[l + 1], (1 + n_dir) * N)
            H_flat = H_in.reshape(P, sizes[l], (1 + n_dir) * N)
            bar_W = np.matmul(flat, H_flat.transpose(0, 2, 1))
            bar = np.matmul(W.transpose(0, 2, 1), flat).reshape(P, sizes[l], 1 + n_dir, N)
        grads.append((bar_W, bar_b))
    g = np.concatenate([part.reshape(P, -1) for bar_W, bar_b in reversed(grads) for part in (bar_W, bar_b)],
                       axis=1)
    return f, g


def numpy_fitness_and_gradient(net: Any, params: Any, data: Any,
                               chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Fitness of every particle and its exact gradient with respect to the weights, in vectorised NumPy.

    Forward as :func:`forward_columns` (value and tangent columns of every direction some row observes),
    keeping each layer's input columns, ``f'(z)``, ``f''(z)`` and pre-activation tangents; then one reverse
    sweep over the same columns: the adjoints of the values and of the tangents go back through each layer
    together (``bar_z = f'(z) bar_a + f''(z) sum_j dz_j bar_t_j``, ``bar_dz_j = f'(z) bar_t_j``), and
    ``bar_W = bar_Z @ H^T`` is one batched product over all columns. Particles are processed in chunks so
    that the saved columns take at most about ``chunk_bytes``.

    With ``data.sample_weight`` (where the Dataset has it) both means are weighted means over the observed
    entries, each entry weighted by its row.

    Parameters
    ----------
    net : swarmjac.MLP
    params : array_like, shape (P, n_params)
        float32 or float64; the computation and the results use that dtype (the fitness is summed in
        float64).
    data : swarmjac.Dataset
    chunk_bytes : int, default CHUNK_BYTES

    Returns
    -------
    f : ndarray, shape (P,)
        As :func:`numpy_fitness`: ``+inf`` where not finite.
    g : ndarray, shape (P, n_params)
        ``df/dparams`` in the parameter layout of DESIGN.md; NaN rows where ``f`` is not finite.

    Examples
    --------
    >>> import swarmjac as sj
    >>> net, theta = sj.MLP.from_layers([(np.full((1, 1), 2.0), np.zeros(1), "linear")])
    >>> data = sj.Dataset([[1.0], [2.0]], y=[[1.0], [1.0]])
    >>> f, g = numpy_fitness_and_gradient(net, theta[None, :], data)
    >>> f, g   # f = ((2 - 1)^2 + (4 - 1)^2) / 2; df/dW = (1 * 1 + 3 * 2), df/db = 1 + 3
    (array([5.]), array([[7., 4.]]))
    """
    params = np.asarray(params)
    dtype = np.dtype(np.float32) if params.dtype == np.float32 else np.dtype(np.float64)
    params = np.ascontiguousarray(params, dtype=dtype)
    if params.ndim != 2 or params.shape[1] != net.n_params:
        raise ValueError(f"params must have shape (P, {net.n_params}), got {params.shape}")
    X = np.ascontiguousarray(data.X, dtype=dtype)
    N = X.shape[0]
    y_observed = ~np.isnan(data.y)  # (N, d_out)
    d_observed = ~np.isnan(data.dydx)  # (N, d_out, d_in)
    directions = np.flatnonzero(d_observed.any(axis=(0, 1)))
    rows = np.asarray(getattr(data, "sample_weight", np.ones(N)), dtype=np.float64)
    value_entries = (y_observed * rows[:, None]).T  # (d_out, N)
    partial_entries = (d_observed[:, :, directions] * rows[:, None, None]).transpose(1, 2, 0)  # (d_out, n_dir, N)
    value_total, partial_total = value_entries.sum(), partial_entries.sum()
    y_coef = (data.value_weight / value_total * value_entries if value_total else 0 * value_entries).astype(dtype)
    dydx_coef = (data.derivative_weight / partial_total * partial_entries if partial_total
                 else 0 * partial_entries).astype(dtype)
    y = np.where(y_observed, data.y, 0.0).T.astype(dtype)
    dydx = np.where(d_observed, data.dydx, 0.0)[:, :, directions].transpose(1, 2, 0).astype(dtype)
    # Saved per particle: two (width, 1 + n_dir, N) arrays per layer, plus f', f'' and the adjoints.
    per_particle = 4 * dtype.itemsize * (1 + directions.size) * N * sum(net.layer_sizes)
    chunk = max(1, int(chunk_bytes // max(per_particle, 1)))
    P = params.shape[0]
    f = np.empty(P, dtype=np.float64)
    g = np.empty((P, net.n_params), dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite particles end as +inf
        for start in range(0, P, chunk):
            stop = min(P, start + chunk)
            f[start:stop], g[start:stop] = _gradient_chunk(net, params[start:stop], X, directions, y, y_coef,
                                                           dydx, dydx_coef)
    bad = ~np.isfinite(f)
    f[bad] = np.inf
    g[bad] = np.nan
    return f.astype(dtype), g
