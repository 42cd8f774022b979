"""Reusable cases for testing a fitness gradient: small networks with data of every mask kind.

Used by tests/test_gradient_reference.py (the NumPy reference against finite differences); the compiled
``fitness_and_gradient`` can be checked on the same cases against the reference or ``fd_gradient``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import swarmjac as sj
from swarmjac.activations import ACTIVATIONS, evaluate

nan = np.nan

#: Activations whose derivative jumps at z = 0; sample points keep |z| away from 0 for them.
KINKED = ("relu", "leaky_relu", "elu")

#: Observation patterns that :func:`make_data` understands.
PATTERNS = ("values", "one_partial", "mixed_rows", "all_partials", "random", "empty_rows")


@dataclass(frozen=True)
class GradientCase:
    """One network, a swarm of particles and a data set; ``name`` reads well as a pytest id."""

    name: str
    net: sj.MLP
    params: np.ndarray  # (P, n_params) float64, C-contiguous
    data: sj.Dataset

    def __repr__(self) -> str:
        return f"GradientCase({self.name})"


def fd_gradient(fitness_fn: Callable[[np.ndarray], np.ndarray], params: np.ndarray,
                step: float = 1e-4) -> np.ndarray:
    """Gradient of a swarm fitness by 4th-order central finite differences.

    Parameters
    ----------
    fitness_fn : callable
        ``(M, n_params) -> (M,)``, e.g. ``lambda p: reference.fitness(net, p, data)`` or
        ``lambda p: net.fitness(p, data)``. It is called once, on all the shifted particles at once.
    params : ndarray, shape (P, n_params) or (n_params,)
    step : float
        Relative step: coordinate ``i`` moves by ``step * max(1, |params[..., i]|)``.

    Returns
    -------
    ndarray, same shape as ``params``
        ``(f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)) / (12 h)`` per coordinate (error O(h^4)).
    """
    params = np.asarray(params, dtype=np.float64)
    swarm = np.atleast_2d(params)
    n_particles, n_params = swarm.shape
    h = step * np.maximum(1.0, np.abs(swarm))  # (P, n)
    offsets = np.array([-2.0, -1.0, 1.0, 2.0])
    # shifted[k, i, p] = swarm[p] + offsets[k] * h[p, i] * e_i
    shifted = np.broadcast_to(swarm, (4, n_params, n_particles, n_params)).copy()
    for i in range(n_params):
        shifted[:, i, :, i] += offsets[:, None] * h[None, :, i]
    values = np.asarray(fitness_fn(np.ascontiguousarray(shifted.reshape(-1, n_params))), dtype=np.float64)
    values = values.reshape(4, n_params, n_particles)
    gradient = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h.T)  # (n, P)
    return gradient.T.reshape(params.shape)


def assert_gradient_close(g: np.ndarray, expected: np.ndarray, rtol: float = 1e-6, what: str = "") -> None:
    """``g`` equals ``expected`` to ``rtol`` relative to the largest entry of ``expected`` per particle."""
    g, expected = np.atleast_2d(g), np.atleast_2d(expected)
    assert g.shape == expected.shape, f"{what}: shape {g.shape} != {expected.shape}"
    for p in range(g.shape[0]):
        scale = np.max(np.abs(expected[p]))
        np.testing.assert_allclose(g[p], expected[p], rtol=rtol, atol=rtol * scale,
                                   err_msg=f"{what}: particle {p}")


def preactivations(net: sj.MLP, theta: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """The pre-activations ``z_l`` of every layer of one particle at one point."""
    a, out = np.asarray(x, dtype=np.float64), []
    for (W, b), activation in zip(net.unpack(theta), net.activations):
        z = W @ a + b
        out.append(z)
        a, _ = evaluate(activation, z)
    return out


def away_from_kinks(net: sj.MLP, params: np.ndarray, X: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """The rows of ``X`` where no particle has a kinked layer with ``|z| < margin``."""
    keep = np.ones(X.shape[0], dtype=bool)
    for n, x in enumerate(X):
        for theta in np.atleast_2d(params):
            for z, activation in zip(preactivations(net, theta, x), net.activations):
                if activation in KINKED and np.min(np.abs(z)) < margin:
                    keep[n] = False
    return X[keep]


def make_data(rng: np.random.Generator, X: np.ndarray, d_out: int, pattern: str,
              value_weight: float = 1.0, derivative_weight: float = 1.0) -> sj.Dataset:
    """A data set at ``X`` with random targets observed as ``pattern`` says.

    ``values``: values only; ``one_partial``: only dy/dx1; ``mixed_rows``: a third values, a third one
    partial, a third every partial; ``all_partials``: every partial, no values; ``random``: each entry
    observed with probability 0.5 (at least one per row); ``empty_rows``: ``random`` with every third
    row observing nothing (kept, with the Dataset's warning silenced).
    """
    n, d_in = X.shape
    y = rng.normal(size=(n, d_out))
    dydx = rng.normal(size=(n, d_out, d_in))
    y_mask = np.zeros((n, d_out), dtype=bool)
    d_mask = np.zeros((n, d_out, d_in), dtype=bool)
    if pattern == "values":
        y_mask[:] = True
    elif pattern == "one_partial":
        d_mask[:, :, 0] = True
    elif pattern == "mixed_rows":
        third = max(n // 3, 1)
        y_mask[:third] = True
        d_mask[third: 2 * third, 0, d_in - 1] = True
        d_mask[2 * third:] = True
    elif pattern == "all_partials":
        d_mask[:] = True
    elif pattern in ("random", "empty_rows"):
        y_mask = rng.random((n, d_out)) < 0.5
        d_mask = rng.random((n, d_out, d_in)) < 0.5
        empty = ~y_mask.any(axis=1) & ~d_mask.any(axis=(1, 2))
        y_mask[empty, 0] = True
        if pattern == "empty_rows":
            y_mask[::3] = False
            d_mask[::3] = False
    else:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows that observe nothing are intended here
        return sj.Dataset(X, y=np.where(y_mask, y, nan), dydx=np.where(d_mask, dydx, nan),
                          value_weight=value_weight, derivative_weight=derivative_weight)


def make_case(name: str, layer_sizes: tuple, activations, pattern: str = "random", n_samples: int = 7,
              n_particles: int = 2, seed: int = 0, value_weight: float = 1.0,
              derivative_weight: float = 1.0) -> GradientCase:
    """A case with ``n_samples`` points in [-2, 2]^d_in, away from kinks where the net has any."""
    rng = np.random.default_rng(seed)
    net = sj.MLP(list(layer_sizes), activations)
    params = np.ascontiguousarray(net.init_params(n_particles, seed=seed + 1))
    X = rng.uniform(-2, 2, size=(8 * n_samples, net.d_in))
    X = away_from_kinks(net, params, X)[:n_samples]
    assert X.shape[0] == n_samples, f"{name}: too few points away from the kinks"
    data = make_data(rng, X, net.d_out, pattern, value_weight, derivative_weight)
    return GradientCase(name, net, params, data)


def gradient_cases(activations: Optional[tuple] = None) -> list[GradientCase]:
    """The standard list: every activation hidden and as output, every mask kind, multi-output nets,
    term weights, deeper nets."""
    activations = ACTIVATIONS if activations is None else activations
    cases = []
    for seed, act in enumerate(activations):
        cases.append(make_case(f"hidden-{act}", (2, 4, 1), act, seed=10 + seed))
        cases.append(make_case(f"output-{act}", (2, 3, 1), ["tanh", act], seed=30 + seed))
    for seed, pattern in enumerate(PATTERNS):
        cases.append(make_case(f"mask-{pattern}", (3, 4, 2), "tanh", pattern=pattern, n_samples=9, seed=50 + seed))
    for d_out in (2, 3):
        for d_in in (1, 2, 3):
            cases.append(make_case(f"multi-{d_in}to{d_out}", (d_in, 3, d_out), "sigmoid", seed=70 + 3 * d_out + d_in))
    for value_weight, derivative_weight in ((0.3, 2.5), (0.0, 1.7), (2.0, 0.0)):
        cases.append(make_case(f"weights-{value_weight}-{derivative_weight}", (2, 3, 1), "softplus",
                               value_weight=value_weight, derivative_weight=derivative_weight, seed=90))
    cases.append(make_case("deep-tanh-sigmoid-linear", (2, 3, 3, 1), ["tanh", "sigmoid", "linear"], seed=100))
    cases.append(make_case("deep-gelu-elu-softplus", (3, 4, 3, 2), ["gelu", "elu", "softplus"], seed=101))
    cases.append(make_case("deep-relu-leaky-sin", (2, 4, 3, 2), ["relu", "leaky_relu", "sin"], seed=102))
    cases.append(make_case("deep4-mixed-rows", (2, 3, 3, 3, 1), ["sin", "tanh", "gelu", "sigmoid"],
                           pattern="mixed_rows", n_samples=9, seed=103))
    return cases
