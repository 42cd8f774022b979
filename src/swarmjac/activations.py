"""Activation functions and their derivatives in plain NumPy, with the codes the C kernels use.

Used by the reference implementation (swarmjac.reference) and by the network spec (swarmjac.network);
csrc/sj_activations.h implements the same formulas for the compiled path. Keep the two in step.
``second_derivative`` serves the weight gradient of the derivative term (reference.fitness_and_gradient).
"""
from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATIONS", "activation_code", "evaluate", "second_derivative"]

#: Activation names in the order of the C enum ``sj_activation`` (the index is the code).
ACTIVATIONS: tuple[str, ...] = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "elu",
    "sin",
    "gelu",
)

LEAKY_SLOPE = 0.01
_GELU_K0 = 0.7978845608028654  # sqrt(2 / pi)
_GELU_K1 = 0.044715
# Beyond |z| = 20 the tanh in gelu is exactly +-1 in float64 and float32, so clamping z before cubing
# it changes nothing but keeps z**3 from overflowing.
_GELU_CLAMP = 20.0


def activation_code(name: str) -> int:
    """Return the kernel code of an activation name.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.

    Returns
    -------
    int
        Index of ``name`` in :data:`ACTIVATIONS`.

    Raises
    ------
    ValueError
        If the name is unknown.

    Examples
    --------
    >>> activation_code("tanh")
    2
    """
    if not isinstance(name, str):
        raise TypeError(f"activation must be a str, got {type(name).__name__}")
    try:
        return ACTIVATIONS.index(name)
    except ValueError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}") from None


def _sigmoid_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Only exp(-|z|) is evaluated, which never overflows.
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)
    return np.where(z >= 0, r, e * r), e


def evaluate(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate an activation and its derivative elementwise.

    Parameters
    ----------
    name : str
        Activation name, one of :data:`ACTIVATIONS`.
    z : ndarray
        Pre-activations (float32 or float64).

    Returns
    -------
    a : ndarray
        ``f(z)``, same shape and dtype as ``z``.
    d : ndarray
        ``f'(z)``, same shape and dtype as ``z``. The derivative of relu at 0 is 0.

    Notes
    -----
    sigmoid and softplus are stable for any finite input (no overflow, no NaN, no warnings).

    Examples
    --------
    >>> a, d = evaluate("sigmoid", np.array([0.0]))
    >>> float(a[0]), float(d[0])
    (0.5, 0.25)
    """
    z = np.asarray(z)
    one = z.dtype.type(1) if z.dtype.kind == "f" else 1.0
    if name == "linear":
        return z.copy(), np.ones_like(z)
    if name == "sigmoid":
        s, _ = _sigmoid_parts(z)
        return s, s * (one - s)
    if name == "tanh":
        t = np.tanh(z)
        return t, one - t * t
    if name == "relu":
        return np.where(z > 0, z, 0).astype(z.dtype), np.where(z > 0, 1, 0).astype(z.dtype)
    if name == "leaky_relu":
        slope = z.dtype.type(LEAKY_SLOPE)
        return np.where(z > 0, z, slope * z), np.where(z > 0, one, slope).astype(z.dtype)
    if name == "softplus":
        s, e = _sigmoid_parts(z)
        return np.maximum(z, 0) + np.log1p(e), s
    if name == "elu":
        em1 = np.expm1(np.minimum(z, 0))
        return np.where(z > 0, z, em1), np.where(z > 0, one, em1 + one)
    if name == "sin":
        return np.sin(z), np.cos(z)
    if name == "gelu":
        k0, k1 = z.dtype.type(_GELU_K0), z.dtype.type(_GELU_K1)
        zc = np.clip(z, -_GELU_CLAMP, _GELU_CLAMP)
        t = np.tanh(k0 * (zc + k1 * zc * zc * zc))
        half = z.dtype.type(0.5)
        value = half * z * (one + t)
        deriv = half * (one + t) + half * zc * (one - t * t) * k0 * (one + 3 * k1 * zc * zc)
        return value, deriv
    activation_code(name)  # raises the standard message for unknown names
    raise AssertionError("unreachable")


def _sigmoid_curvature(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # With e = exp(-|z|): sigmoid'(z) = e / (1 + e)^2 on both sides, and
    # sigmoid''(z) = sigmoid'(z) (1 - 2 sigmoid(z)) = -sign(z) e (1 - e) / (1 + e)^3, where
    # 1 - e = -expm1(-|z|) keeps its digits near 0. Only exp(-|z|) is evaluated: no overflow.
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    slope = e * r * r
    return slope, -np.sign(z) * slope * -np.expm1(-np.abs(z)) * r


def second_derivative(name: str, z: np.ndarray) -> np.ndarray:
    """Second derivative ``f''(z)`` of an activation, elementwise.

    The weight gradient of a fitness with derivative observations needs it: an input Jacobian holds
    ``f'(z)``, and ``d f'(z) / d theta = f''(z) dz / d theta``.

    Parameters
    ----------
    name : str
        Activation name, one of :data:`ACTIVATIONS`.
    z : ndarray
        Pre-activations (float32 or float64).

    Returns
    -------
    ndarray
        ``f''(z)``, same shape and dtype as ``z``.

    Notes
    -----
    The formulas, with ``s`` the sigmoid and ``t = tanh``:

    ============  ======================================================================
    linear        0
    sigmoid       ``s (1 - s) (1 - 2 s)``
    tanh          ``-2 t (1 - t^2)``
    relu          0 (also at 0, where ``f'`` jumps; 0 is the one-sided value)
    leaky_relu    0 (likewise)
    softplus      ``s (1 - s)`` (``softplus' = s``)
    elu           0 for ``z > 0``, ``exp(z)`` otherwise
    sin           ``-sin(z)``
    gelu          ``(1 - t^2) (u' - z t u'^2 + z u'' / 2)`` with ``t = tanh(u)``,
                  ``u = k0 (z + k1 z^3)``, ``u' = k0 (1 + 3 k1 z^2)``, ``u'' = 6 k0 k1 z``
    ============  ======================================================================

    gelu is the tanh form exactly as :func:`evaluate` computes it, clamp included: beyond
    ``|z| = 20`` its tanh is exactly +-1, so the value is linear there and ``f''`` is 0. Every
    formula is stable for any finite input (no overflow, no NaN, no warnings).

    Examples
    --------
    >>> float(second_derivative("tanh", np.array([1.0]))[0])  # -2 tanh(1) (1 - tanh(1)^2)
    -0.6397000084492246
    >>> float(second_derivative("sin", np.array([np.pi / 2]))[0])
    -1.0
    """
    z = np.asarray(z)
    dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
    z = z.astype(dtype, copy=False)
    one = dtype.type(1)
    if name in ("linear", "relu", "leaky_relu"):
        return np.zeros_like(z)
    if name == "sigmoid":
        return _sigmoid_curvature(z)[1].astype(dtype, copy=False)
    if name == "tanh":
        t = np.tanh(z)
        return dtype.type(-2) * t * (one - t * t)
    if name == "softplus":
        return _sigmoid_curvature(z)[0].astype(dtype, copy=False)
    if name == "elu":
        return np.where(z > 0, dtype.type(0), np.exp(np.minimum(z, 0))).astype(dtype, copy=False)
    if name == "sin":
        return -np.sin(z)
    if name == "gelu":
        k0, k1 = dtype.type(_GELU_K0), dtype.type(_GELU_K1)
        zc = np.clip(z, -_GELU_CLAMP, _GELU_CLAMP)
        t = np.tanh(k0 * (zc + k1 * zc * zc * zc))
        du = k0 * (one + 3 * k1 * zc * zc)
        d2u = 6 * k0 * k1 * zc
        half = dtype.type(0.5)
        return (one - t * t) * (du - zc * t * du * du + half * zc * d2u)
    activation_code(name)  # raises the standard message for unknown names
    raise AssertionError("unreachable")
