"""Peer implementations the compiled kernels are compared with: numba and JAX versions of the baseline.

Optional by design: each factory imports its package only when called and returns None when it is not
installed (numba and jax are never dependencies of swarmjac or of its tests). compare.py adds a column or a
row for each peer that is importable; benchmarks/test_peers.py checks them against finite differences.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

__all__ = ["numba_fitness_factory", "jax_fitness_factory", "jax_fitness_and_gradient_factory"]

#: The tanh form of gelu, as in swarmjac.activations: constants and the clamp of z inside the tanh.
_GELU_K0 = 0.7978845608028654
_GELU_K1 = 0.044715
_GELU_CLAMP = 20.0
_LEAKY_SLOPE = 0.01


def numba_fitness_factory() -> Optional[Callable[[Any, np.ndarray, Any], np.ndarray]]:
    """A numba-jitted forward-mode fitness (prange over particles), or None without numba.

    Returns
    -------
    callable or None
        ``fitness(net, params, data) -> (P,)`` float64, for linear, sigmoid and tanh layers; compiled on
        the first call (about 20 s).

    Examples
    --------
    >>> fitness = numba_fitness_factory()  # None where numba is not installed
    >>> fitness is None or callable(fitness)
    True
    """
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False, fastmath=False)
    def _activate(code: int, z: np.ndarray, d: np.ndarray) -> None:
        # In place: z <- f(z), d <- f'(z). Codes: 0 linear, 1 sigmoid, 2 tanh (the workloads' activations).
        for i in range(z.shape[0]):
            for s in range(z.shape[1]):
                v = z[i, s]
                if code == 1:
                    if v >= 0:
                        e = np.exp(-v)
                        a = 1.0 / (1.0 + e)
                    else:
                        e = np.exp(v)
                        a = e / (1.0 + e)
                    z[i, s] = a
                    d[i, s] = a * (1.0 - a)
                elif code == 2:
                    a = np.tanh(v)
                    z[i, s] = a
                    d[i, s] = 1.0 - a * a
                else:
                    d[i, s] = 1.0

    @numba.njit(parallel=True, cache=False)
    def _fitness(sizes, codes, params, XT, directions, y_target, y_mask, d_target, d_mask,
                 value_scale, derivative_scale):
        P = params.shape[0]
        N = XT.shape[1]
        n_dir = directions.shape[0]
        n_layers = sizes.shape[0] - 1
        out = np.zeros(P)
        for p in numba.prange(P):
            theta = params[p]
            # Layer 1: values from X, tangents from the columns of W_1.
            fan_in, fan_out = sizes[0], sizes[1]
            W = theta[: fan_out * fan_in].copy().reshape(fan_out, fan_in)
            b = theta[fan_out * fan_in: fan_out * fan_in + fan_out]
            offset = fan_out * fan_in + fan_out
            Z = W @ XT
            for o in range(fan_out):
                Z[o] += b[o]
            dZ = np.empty((fan_out, N))
            _activate(codes[0], Z, dZ)
            H = np.empty((fan_out, (1 + n_dir) * N))
            H[:, :N] = Z
            for t in range(n_dir):
                for o in range(fan_out):
                    H[o, (1 + t) * N: (2 + t) * N] = W[o, directions[t]] * dZ[o]
            for l in range(1, n_layers):
                fan_in, fan_out = sizes[l], sizes[l + 1]
                W = theta[offset: offset + fan_out * fan_in].copy().reshape(fan_out, fan_in)
                b = theta[offset + fan_out * fan_in: offset + fan_out * fan_in + fan_out]
                offset += fan_out * fan_in + fan_out
                H = W @ H
                Z = H[:, :N].copy()
                for o in range(fan_out):
                    Z[o] += b[o]
                dZ = np.empty((fan_out, N))
                _activate(codes[l], Z, dZ)
                H[:, :N] = Z
                for t in range(n_dir):
                    H[:, (1 + t) * N: (2 + t) * N] *= dZ
            value_sse = 0.0
            deriv_sse = 0.0
            for k in range(H.shape[0]):
                for s in range(N):
                    if y_mask[k, s]:
                        r = H[k, s] - y_target[k, s]
                        value_sse += r * r
                    for t in range(n_dir):
                        if d_mask[k, t, s]:
                            r = H[k, (1 + t) * N + s] - d_target[k, t, s]
                            deriv_sse += r * r
            f = value_scale * value_sse + derivative_scale * deriv_sse
            out[p] = f if np.isfinite(f) else np.inf
        return out

    codes_known = {"linear": 0, "sigmoid": 1, "tanh": 2}

    def numba_fitness(net: Any, params: np.ndarray, data: Any) -> np.ndarray:
        if any(name not in codes_known for name in net.activations):
            raise ValueError("the numba baseline only knows linear, sigmoid and tanh")
        y_observed = ~np.isnan(data.y)
        d_observed = ~np.isnan(data.dydx)
        directions = np.flatnonzero(d_observed.any(axis=(0, 1))).astype(np.int64)
        n_values, n_partials = int(y_observed.sum()), int(d_observed.sum())
        return _fitness(
            np.asarray(net.layer_sizes, dtype=np.int64),
            np.asarray([codes_known[name] for name in net.activations], dtype=np.int64),
            np.ascontiguousarray(params, dtype=np.float64), np.ascontiguousarray(data.X.T),
            directions, np.where(y_observed, data.y, 0.0).T.copy(), y_observed.T.copy(),
            np.ascontiguousarray(np.where(d_observed, data.dydx, 0.0)[:, :, directions].transpose(1, 2, 0)),
            np.ascontiguousarray(d_observed[:, :, directions].transpose(1, 2, 0)),
            data.value_weight / n_values if n_values else 0.0,
            data.derivative_weight / n_partials if n_partials else 0.0,
        )

    return numba_fitness


def _import_jax() -> Optional[tuple[Any, Any]]:
    """``(jax, jax.numpy)`` with float64 enabled, or None without jax."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    # float64 must be switched on before the first array is made; float32 inputs stay float32.
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def _cached(cache: dict, owners: tuple, build: Callable[[], Callable]) -> Callable:
    """A jitted function per (net, data, ...) tuple, keyed by identity; the owners are kept alive with it
    so that their ids cannot be reused by other objects while the entry exists."""
    key = tuple(id(owner) for owner in owners)
    entry = cache.get(key)
    if entry is None or any(a is not b for a, b in zip(entry[0], owners)):
        entry = cache[key] = (owners, build())
    return entry[1]


def _jax_activations(jax: Any, jnp: Any) -> dict[str, Callable[[Any], Any]]:
    """The activations of swarmjac.activations written in jax.numpy (same formulas, relu'(0) = 0)."""

    def gelu(z: Any) -> Any:
        zc = jnp.clip(z, -_GELU_CLAMP, _GELU_CLAMP)
        return 0.5 * z * (1.0 + jnp.tanh(_GELU_K0 * (zc + _GELU_K1 * zc * zc * zc)))

    return {
        "linear": lambda z: z,
        "sigmoid": jax.nn.sigmoid,
        "tanh": jnp.tanh,
        "relu": lambda z: jnp.where(z > 0, z, 0.0),
        "leaky_relu": lambda z: jnp.where(z > 0, z, _LEAKY_SLOPE * z),
        "softplus": jax.nn.softplus,
        "elu": lambda z: jnp.where(z > 0, z, jnp.expm1(jnp.minimum(z, 0.0))),
        "sin": jnp.sin,
        "gelu": gelu,
    }


def _jax_network(net: Any, activations: dict[str, Callable[[Any], Any]]) -> Callable[[Any, Any], Any]:
    """``network(theta, x)``: one particle's outputs (d_out,) at one point x (d_in,), in jax.numpy."""
    sizes, names = net.layer_sizes, net.activations
    unknown = [name for name in names if name not in activations]
    if unknown:
        raise ValueError(f"the jax peer does not know the activations {unknown}")

    def network(theta: Any, x: Any) -> Any:
        offset = 0
        a = x
        for l, name in enumerate(names):
            fan_in, fan_out = sizes[l], sizes[l + 1]
            W = theta[offset: offset + fan_out * fan_in].reshape(fan_out, fan_in)
            b = theta[offset + fan_out * fan_in: offset + fan_out * fan_in + fan_out]
            offset += fan_out * fan_in + fan_out
            a = activations[name](W @ a + b)
        return a

    return network


def _loss_terms(data: Any, dtype: Any) -> dict[str, Any]:
    """The fitness's targets, masks and entry weights as NumPy arrays of ``dtype``.

    The coefficient of an observed entry is ``weight / (sum of the row weights of the observed entries of
    its term)``, the row weights being ``data.sample_weight`` where the Dataset has them, else 1: this is
    ``value_weight * mean(...)`` and ``derivative_weight * mean(...)`` of DESIGN.md, as weighted means.
    Directions that no row observes get no tangent.
    """
    y_observed = ~np.isnan(data.y)  # (N, d_out)
    d_observed = ~np.isnan(data.dydx)  # (N, d_out, d_in)
    directions = np.flatnonzero(d_observed.any(axis=(0, 1)))
    rows = np.asarray(getattr(data, "sample_weight", np.ones(data.n_samples)), dtype=np.float64)
    value_entries = y_observed * rows[:, None]
    partial_entries = d_observed[:, :, directions] * rows[:, None, None]
    value_total, partial_total = value_entries.sum(), partial_entries.sum()
    return {
        "directions": directions,
        "X": np.asarray(data.X, dtype=dtype),
        "y": np.where(y_observed, data.y, 0.0).astype(dtype),  # (N, d_out)
        "y_coef": (data.value_weight / value_total * value_entries if value_total else
                   np.zeros_like(value_entries)).astype(dtype),
        "dydx": np.where(d_observed, data.dydx, 0.0)[:, :, directions].astype(dtype),  # (N, d_out, n_dir)
        "dydx_coef": (data.derivative_weight / partial_total * partial_entries if partial_total else
                      np.zeros_like(partial_entries)).astype(dtype),
    }


def jax_fitness_factory() -> Optional[Callable[[Any, np.ndarray, Any], np.ndarray]]:
    """A jax-jitted forward-mode fitness (vmap over particles), or None without jax.

    Returns
    -------
    callable or None
        ``fitness(net, params, data) -> (P,)`` float64; jitted once per (net, data) on the first call.

    Examples
    --------
    >>> fitness = jax_fitness_factory()  # None where jax is not installed
    >>> fitness is None or callable(fitness)
    True
    """
    imported = _import_jax()
    if imported is None:
        return None
    jax, jnp = imported
    activations = _jax_activations(jax, jnp)
    cache: dict = {}

    def build(net: Any, data: Any) -> Callable:
        network = _jax_network(net, activations)
        y_observed = ~np.isnan(data.y)
        d_observed = ~np.isnan(data.dydx)
        directions = np.flatnonzero(d_observed.any(axis=(0, 1)))
        n_values, n_partials = int(y_observed.sum()), int(d_observed.sum())
        value_scale = data.value_weight / n_values if n_values else 0.0
        derivative_scale = data.derivative_weight / n_partials if n_partials else 0.0
        X = jnp.asarray(data.X)
        y_target = jnp.asarray(np.where(y_observed, data.y, 0.0))
        y_mask = jnp.asarray(y_observed)
        d_target = jnp.asarray(np.where(d_observed, data.dydx, 0.0)[:, :, directions])
        d_mask = jnp.asarray(d_observed[:, :, directions])
        tangents_in = jnp.asarray(np.eye(net.layer_sizes[0])[directions])  # (n_dir, d_in)

        def particle(theta: Any) -> Any:
            def value_and_tangents(x: Any) -> tuple[Any, Any]:
                y, jvp = jax.linearize(lambda v: network(theta, v), x)
                return y, jax.vmap(jvp)(tangents_in)  # (d_out,), (n_dir, d_out)
            Y, T = jax.vmap(value_and_tangents)(X)  # (N, d_out), (N, n_dir, d_out)
            value_sse = jnp.sum(jnp.where(y_mask, (Y - y_target) ** 2, 0.0))
            deriv_sse = jnp.sum(jnp.where(d_mask, (T.transpose(0, 2, 1) - d_target) ** 2, 0.0))
            f = value_scale * value_sse + derivative_scale * deriv_sse
            return jnp.where(jnp.isfinite(f), f, jnp.inf)

        return jax.jit(jax.vmap(particle))

    def jax_fitness(net: Any, params: np.ndarray, data: Any) -> np.ndarray:
        if any(name not in ("linear", "sigmoid", "tanh") for name in net.activations):
            raise ValueError("the jax baseline only knows linear, sigmoid and tanh")
        fn = _cached(cache, (net, data), lambda: build(net, data))
        return np.asarray(fn(jnp.asarray(params)).block_until_ready())

    return jax_fitness


def jax_fitness_and_gradient_factory() -> Optional[Callable[[Any, np.ndarray, Any], tuple[np.ndarray, np.ndarray]]]:
    """``jax.jit(jax.vmap(jax.value_and_grad(loss)))`` of the fitness, or None without jax.

    ``loss(theta)`` is one particle's fitness exactly as ``net.fitness`` defines it: the outputs at every
    point, the input tangents along every direction some row observes by ``jax.linearize`` (forward mode,
    as the kernel carries them), and the masked, weighted mean squared errors of both terms. ``value_and_grad``
    then differentiates that by reverse mode, i.e. reverse-over-forward, the mixed second derivatives
    included.

    Returns
    -------
    callable or None
        ``fitness_and_gradient(net, params, data) -> (f (P,), g (P, n_params))`` in the dtype of ``params``
        (float32 or float64; the data are cast to it); jitted once per (net, data, dtype) on the first
        call. A particle whose fitness is not finite gets ``f = +inf``.

    Examples
    --------
    >>> fitness_and_gradient = jax_fitness_and_gradient_factory()  # None where jax is not installed
    >>> fitness_and_gradient is None or callable(fitness_and_gradient)
    True
    """
    imported = _import_jax()
    if imported is None:
        return None
    jax, jnp = imported
    activations = _jax_activations(jax, jnp)
    cache: dict = {}

    def build(net: Any, data: Any, dtype: np.dtype) -> Callable:
        network = _jax_network(net, activations)
        terms = _loss_terms(data, dtype)
        X, y, y_coef = (jnp.asarray(terms[key]) for key in ("X", "y", "y_coef"))
        dydx, dydx_coef = jnp.asarray(terms["dydx"]), jnp.asarray(terms["dydx_coef"])
        tangents_in = jnp.asarray(np.eye(net.layer_sizes[0], dtype=dtype)[terms["directions"]])  # (n_dir, d_in)

        def loss(theta: Any) -> Any:
            def value_and_tangents(x: Any) -> tuple[Any, Any]:
                # linearize: one forward pass, then its linear map along each direction (measured faster
                # than vmapping jax.jvp, which recomputes the primal, and than jax.jacfwd).
                y, along = jax.linearize(lambda v: network(theta, v), x)
                return y, jax.vmap(along)(tangents_in).T  # (d_out,), (d_out, n_dir)
            Y, T = jax.vmap(value_and_tangents)(X)  # (N, d_out), (N, d_out, n_dir)
            f = jnp.sum(y_coef * (Y - y) ** 2) + jnp.sum(dydx_coef * (T - dydx) ** 2)
            return jnp.where(jnp.isfinite(f), f, jnp.inf)

        return jax.jit(jax.vmap(jax.value_and_grad(loss)))

    def fitness_and_gradient(net: Any, params: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
        params = np.asarray(params)
        dtype = np.dtype(np.float32) if params.dtype == np.float32 else np.dtype(np.float64)
        fn = _cached(cache, (net, data, dtype), lambda: build(net, data, dtype))
        f, g = fn(jnp.asarray(params, dtype=dtype))
        return np.asarray(f.block_until_ready()), np.asarray(g)

    return fitness_and_gradient
