"""Reference implementation in plain NumPy: one particle and one sample at a time, slow on purpose.

It follows the worked example literally: a layer's input Jacobian is ``diag(act'(W x + b)) @ W`` and the
network's is the product of the layer Jacobians, last layer first. ``fitness_and_gradient`` adds the exact
gradient of the fitness with respect to the weights (reverse over forward). It is the ground truth of the
tests and the baseline of the benchmarks, and it never imports the compiled core.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from swarmjac.activations import evaluate, second_derivative
from swarmjac.loss import add_parameter_terms, check_alpha

__all__ = ["layer_forward", "network_value_and_jacobian", "predict", "value_and_jacobian", "fitness",
           "fitness_and_gradient"]


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


def fitness(net: Any, params: Any, data: Any, alpha: float = 0.0) -> np.ndarray:
    """Fitness of every particle, from the reference values and Jacobians.

    ``value_weight * mean((Y - y)^2 over observed y) + derivative_weight * mean((J - dydx)^2 over
    observed dydx)``; an empty term is 0 and a non-finite fitness, or a particle with a NaN or inf
    parameter, gets ``+inf``. If ``data`` has a ``sample_weight`` (N,) attribute, the means are
    weighted by it: ``sum(w_n r^2) / sum(w_n)`` over the observed entries (a row of weight 0 is left
    out; a term of total weight 0 is 0).

    Parameters
    ----------
    net : MLP
    params : array_like, shape (P, n_params) or (n_params,)
    data : Dataset
    alpha : float, default 0.0
        L2 weight decay, added by :func:`swarmjac.loss.add_parameter_terms` (the one owner of the terms
        on the parameters).

    Returns
    -------
    ndarray, shape (P,) (0-d for 1-D params), float64
    """
    params = np.asarray(params)
    squeeze = params.ndim == 1
    swarm = np.atleast_2d(params)
    Y, J = value_and_jacobian(net, swarm, data.X)
    out = np.zeros(Y.shape[0], dtype=np.float64)
    for p in range(Y.shape[0]):
        out[p] = _particle_fitness(Y[p], J[p], data, swarm[p])
    add_parameter_terms(net.layer_sizes, swarm, data, check_alpha(alpha), out)
    return out.reshape(()) if squeeze else out


def _entry_weights(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the entries in the two means, shaped like y and dydx: 0 where not observed.

    Each observed entry weighs its row's ``data.sample_weight`` when the data set has one (weighted
    means), else 1 (plain means over the observed entries).
    """
    row_weight = getattr(data, "sample_weight", None)
    n_samples = data.y.shape[0]
    row_weight = np.ones(n_samples) if row_weight is None else np.asarray(row_weight, dtype=np.float64)
    value = np.where(np.isnan(data.y), 0.0, row_weight[:, None])
    derivative = np.where(np.isnan(data.dydx), 0.0, row_weight[:, None, None])
    return value, derivative


def _term_scale(term_weight: float, entry_weight: np.ndarray) -> float:
    """``term_weight / sum(entry weights)``, or 0 for a term that is skipped (weight 0, nothing observed)."""
    total = float(np.sum(entry_weight))
    return term_weight / total if term_weight and total > 0 else 0.0


def _particle_fitness(Y: np.ndarray, J: np.ndarray, data: Any, theta: np.ndarray) -> float:
    """The fitness of one particle from its outputs Y (N, d_out) and Jacobians J (N, d_out, d_in)."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for term_weight, weight, output, target in zip(
                (data.value_weight, data.derivative_weight), _entry_weights(data), (Y, J), (data.y, data.dydx)):
            used = weight > 0
            if term_weight and used.any():
                # sum(w r^2) / sum(w): with unit weights this is exactly np.mean(r^2) over the entries.
                residual = output.astype(np.float64)[used] - target[used]
                total += term_weight * (np.sum(weight[used] * residual ** 2) / np.sum(weight[used]))
    return total if np.isfinite(total) and np.all(np.isfinite(theta)) else np.inf


def fitness_and_gradient(net: Any, params: Any, data: Any, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Fitness of every particle and its exact gradient with respect to the flat parameter vector.

    ``f`` is :func:`fitness` (bit for bit: the same outputs, Jacobians and means). ``g[p, i]`` is
    ``d f[p] / d params[p, i]`` in the parameter layout of the network (per layer ``W`` row-major,
    then ``b``). One particle and one sample at a time, in float64, slow on purpose.

    Parameters
    ----------
    net : MLP
        Only ``layer_sizes``, ``activations``, ``n_params`` and ``unpack`` are used.
    params : array_like, shape (P, n_params) or (n_params,)
    data : Dataset
        ``X``, ``y``, ``dydx`` (NaN = not observed), ``value_weight`` and ``derivative_weight``.
    alpha : float, default 0.0
        L2 weight decay (as for :func:`fitness`); its gradient is added after the data terms'.

    Returns
    -------
    f : ndarray, shape (P,) (0-d for 1-D params), float64
        As :func:`fitness`.
    g : ndarray, shape (P, n_params) ((n_params,) for 1-D params), float64
        The gradient. A particle whose ``f`` is ``+inf`` (a non-finite parameter, or a fitness that
        overflows) has no gradient: its row is all NaN.

    Notes
    -----
    **Forward, with tangents.** At one sample ``x``, with ``a_0 = x`` and for layers ``l = 1..L``::

        z_l = W_l a_{l-1} + b_l,    a_l = f_l(z_l),    Y = a_L
        dZ_l = W_l dA_{l-1},         dA_l = diag(f_l'(z_l)) dZ_l,    dA_0 = I,   J = dA_L

    the columns of ``dA_l`` (``h_l x d_in``) are the tangents ``d a_l / d x_j``, so ``J`` is the input
    Jacobian ``diag(f_L') W_L ... diag(f_1') W_1``.

    **Loss.** With ``r = Y - y`` and ``R = J - dydx`` on the observed entries (0 elsewhere), ``n_v`` and
    ``n_d`` the numbers of observed values and partials, and ``w_v, w_d`` the term weights::

        F = w_v / n_v * sum r^2 + w_d / n_d * sum R^2
        Ybar = 2 w_v / n_v * r,     Jbar = 2 w_d / n_d * R

    (a term whose weight is 0 or that observes nothing contributes 0 to ``F`` and to the seeds). With
    a ``data.sample_weight`` ``s``, each entry of row ``n`` counts ``s_n`` times: ``n_v`` becomes the
    sum of ``s_n`` over the observed values and ``r`` is multiplied by ``s_n`` in the sum and the seed
    (likewise for the partials).

    **Reverse over both.** Starting from ``abar_L = Ybar`` and ``dAbar_L = Jbar``, for ``l = L..1``
    each forward line is differentiated in reverse order; ``dA_l`` depends on ``z_l`` through ``f'``,
    which is where the second derivative enters::

        dZbar_l  = diag(f_l'(z_l)) dAbar_l
        zbar_l   = f_l'(z_l) * abar_l + f_l''(z_l) * sum_j dZ_l[:, j] * dAbar_l[:, j]
        Wbar_l  += zbar_l a_{l-1}^T + dZbar_l dA_{l-1}^T
        bbar_l  += zbar_l
        abar_{l-1}  = W_l^T zbar_l
        dAbar_{l-1} = W_l^T dZbar_l

    summed over the samples (``dA_0 = I`` is constant, so the recursion stops there). The result is
    the same as differentiating ``J = prod diag(f'(z_l)) W_l`` by the product rule, with
    ``d f'(z_l) / d W_m = f''(z_l) d z_l / d W_m``. At a kink (relu, leaky_relu at 0; elu's ``f''``
    at 0) the one-sided values that :func:`~swarmjac.activations.evaluate` and
    :func:`~swarmjac.activations.second_derivative` return are used.

    Examples
    --------
    >>> import swarmjac as sj
    >>> net, theta = sj.MLP.from_layers([(np.array([[2.0]]), np.array([0.0]), "linear")])
    >>> data = sj.Dataset([[1.0]], y=[3.0], dydx=[[1.0]])
    >>> f, g = fitness_and_gradient(net, theta, data)  # F = (w + b - 3)^2 + (w - 1)^2 at w = 2, b = 0
    >>> float(f), g                                    # dF/dw = 2 (w + b - 3) + 2 (w - 1), dF/db = 2 (w + b - 3)
    (2.0, array([ 0., -2.]))
    """
    params = np.asarray(params)
    squeeze = params.ndim == 1
    if params.ndim not in (1, 2) or params.shape[-1] != net.n_params:
        raise ValueError(f"params must have shape (P, {net.n_params}) or ({net.n_params},) for {net!r}, "
                         f"got {params.shape}")
    swarm = np.atleast_2d(params).astype(np.float64)
    X = np.asarray(data.X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != net.layer_sizes[0]:
        raise ValueError(f"data.X must have shape (N, {net.layer_sizes[0]}) for {net!r}, got {X.shape}")
    f = np.zeros(swarm.shape[0], dtype=np.float64)
    g = np.zeros(swarm.shape, dtype=np.float64)
    for p in range(swarm.shape[0]):
        f[p], g[p] = _particle_fitness_and_gradient(net, swarm[p], data)
    add_parameter_terms(net.layer_sizes, swarm, data, check_alpha(alpha), f, g)
    return (f.reshape(()), g[0]) if squeeze else (f, g)


def _particle_fitness_and_gradient(net: Any, theta: np.ndarray, data: Any) -> tuple[float, np.ndarray]:
    """One particle: the fitness and its gradient (the maths is in fitness_and_gradient's docstring)."""
    layers = net.unpack(theta)
    gradient = np.zeros_like(theta)
    gradient_layers = net.unpack(gradient)  # views: (Wbar_l, bbar_l) write into `gradient`
    n_samples, d_out, d_in = data.dydx.shape
    # Seeds dF/dY = 2 w_v c_nk r / sum(c) and dF/dJ likewise, with c the entry weights (0 = not observed);
    # a term that fitness() skips seeds nothing.
    value_entries, derivative_entries = _entry_weights(data)
    value_seed = 2.0 * _term_scale(data.value_weight, value_entries) * value_entries
    derivative_seed = 2.0 * _term_scale(data.derivative_weight, derivative_entries) * derivative_entries
    Y = np.zeros((n_samples, d_out))
    J = np.zeros((n_samples, d_out, d_in))
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite particles propagate; f says +inf
        for n in range(n_samples):
            # Forward: store per layer a_{l-1}, z_l, f'(z_l), dA_{l-1} (the tangent columns) and dZ_l.
            a = data.X[n].astype(np.float64)
            tangents = np.eye(d_in)
            tape = []
            for (W, b), activation in zip(layers, net.activations):
                z = W @ a + b
                a_next, slope = evaluate(activation, z)
                # The same operations as network_value_and_jacobian, so that f equals fitness() exactly.
                tangents_next = (np.diag(slope) @ W) @ tangents
                tape.append((a, z, slope, tangents, W @ tangents))
                a, tangents = a_next, tangents_next
            Y[n], J[n] = a, tangents
            # Seeds: the loss's derivatives with respect to Y[n] and J[n] (0 where not observed).
            a_bar = np.where(value_seed[n] > 0, value_seed[n] * (Y[n] - data.y[n]), 0.0)
            tangents_bar = np.where(derivative_seed[n] > 0, derivative_seed[n] * (J[n] - data.dydx[n]), 0.0)
            # Reverse through the values and the tangents together, last layer first.
            for (W, _), activation, (Wbar, bbar), (a_prev, z, slope, tangents_prev, dZ) in zip(
                    reversed(layers), reversed(net.activations), reversed(gradient_layers), reversed(tape)):
                dZ_bar = slope[:, None] * tangents_bar
                z_bar = slope * a_bar + second_derivative(activation, z) * np.sum(dZ * tangents_bar, axis=1)
                Wbar += np.outer(z_bar, a_prev) + dZ_bar @ tangents_prev.T
                bbar += z_bar
                a_bar = W.T @ z_bar
                tangents_bar = W.T @ dZ_bar
    f = _particle_fitness(Y, J, data, theta)
    if not np.isfinite(f):
        gradient[:] = np.nan
    return f, gradient
