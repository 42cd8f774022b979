"""Accuracy of the compiled activations built on csrc/sj_fastmath.h (vectorised exp, expm1, log1p, tanh,
sin, cos), through ``swarmjac._kernels.eval_activation``, against high-precision references.

References: float64 evaluations for the float32 path, ``np.longdouble`` (x87 extended, 64-bit
significand) for the float64 path, and ``math.sin``/``math.cos`` (correctly reduced libm) for
|z| > 2^20, where sj_fastmath.h itself hands over to libm.  mpmath, when installed, adds a 50-digit check.

Tolerances.  Every activation is a short formula over one or two elementary functions, so a correct
implementation errs by the elementary functions' own errors plus a few IEEE roundings, propagated
through the formula.  Each check bounds |got - ref| by that first-order propagation: E = 2 ulp for
every elementary function (the worst measured: tanh 1.46 ulp, exp for x <= 0 1.02 ulp, on 2e7 random
float64 points against long double libm and float32 ones against double; log1p, sin and cos below 0.9
on ~10^8 float64 points and exhaustively in float32) and R = 1/2 ulp for every rounding, each
times |d result / d intermediate|, with a 25% margin for second-order terms and the references' own
precision.  ulps are those of the working dtype at the rounded intermediate.
Away from cancellations this is a few ulp of the result; where a formula cancels (1 - s in the sigmoid
derivative near s = 1, 1 + t in gelu for z << 0, 1 - t^2) the bound grows exactly as the working
precision forces.  A wrong polynomial coefficient, split constant or range reduction gives errors of
many ulp (typically thousands or more) and fails.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from swarmjac.activations import ACTIVATIONS

kernels = pytest.importorskip("swarmjac._kernels")

CODE = {name: i for i, name in enumerate(ACTIVATIONS)}
E = 2.0  # ulp allowed per elementary function (measured maxima: exp 1.02, expm1 1.1, log1p 0.9, tanh 1.46, sin/cos 0.9)
R = 0.5  # ulp per IEEE rounding
SAFETY = 1.25  # second-order terms and the references' own precision
TRIG_BIG = 2.0 ** 20  # above this sj_fastmath.h uses libm's sin/cos
GELU_K0 = 0.7978845608028654
GELU_K1 = 0.044715
GELU_CLAMP = 20.0

EXTENDED = np.finfo(np.longdouble).nmant >= 63
DTYPES = [np.float32, pytest.param(np.float64, marks=pytest.mark.skipif(
    not EXTENDED, reason="np.longdouble is not an extended type here; the mpmath check covers float64"))]


def _inputs(dtype) -> np.ndarray:
    """Log-spaced magnitudes over the whole finite range (both signs), a dense grid and random points where
    the activations are not saturated, random bit patterns, and the special values."""
    rng = np.random.default_rng(20240607)
    fi = np.finfo(dtype)
    lo = math.log10(float(fi.smallest_subnormal))
    hi = math.log10(float(fi.max))
    with np.errstate(over="ignore"):
        mags = np.logspace(lo, hi, 4001)
    mags = np.minimum(mags, float(fi.max))
    grid = np.linspace(-40.0, 40.0, 16001)
    near = rng.uniform(-3.0, 3.0, 20000)
    wide = rng.uniform(-800.0, 800.0, 20000)
    if dtype == np.float64:
        bits = rng.integers(0, 2 ** 63, 20000, dtype=np.uint64).view(np.float64)
    else:
        bits = rng.integers(0, 2 ** 31, 20000, dtype=np.uint32).view(np.float32)
    bits = bits[np.isfinite(bits)].astype(np.float64)  # (no signalling NaN reaches a cast)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, float(fi.max), -float(fi.max), float(fi.tiny),
                         -float(fi.tiny), float(fi.smallest_subnormal), -float(fi.smallest_subnormal),
                         0.55, -0.55, 0.5493061443340549, 20.0, -20.0, 22.0, 709.78, 710.0, -745.0, -746.0,
                         88.7, 89.0, -103.9, -104.0, math.pi, math.pi / 2, 2 * math.pi, TRIG_BIG, -TRIG_BIG,
                         TRIG_BIG * 1.0000001, 1e22, 6381956970095103.0 * 2.0 ** 797])
    with np.errstate(over="ignore"):
        z = np.concatenate([mags, -mags, grid, near, wide, bits, -bits, specials]).astype(dtype)
    return np.ascontiguousarray(z)


def _evaluate(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.empty_like(z)
    d = np.empty_like(z)
    kernels.eval_activation(CODE[name], z, a, d)
    return a, d


def _ulp(v: np.ndarray, dtype) -> np.ndarray:
    """ulp in ``dtype`` at the (high-precision) values v; the smallest subnormal at 0."""
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.abs(np.asarray(v, dtype=np.float64)).astype(dtype)
        return np.spacing(w).astype(np.longdouble)


def _trig(fn, zh: np.ndarray) -> np.ndarray:
    """sin/cos in high precision; libm's double functions beyond TRIG_BIG (long double reductions of huge
    arguments are less accurate than glibc's double ones)."""
    out = fn(zh)
    big = np.isfinite(zh) & (np.abs(zh) > TRIG_BIG)
    scalar = math.sin if fn is np.sin else math.cos
    out[big] = [scalar(float(v)) for v in zh[big]]
    return out


def _reference(name: str, z: np.ndarray):
    """Exact value a and derivative d of one activation, and the error bounds for both (module docstring):
    E ulp per elementary function and R ulp per arithmetic rounding, propagated to first order."""
    dt = z.dtype.type
    hp = np.longdouble if z.dtype == np.float64 else np.float64
    zh = z.astype(hp)
    one = hp(1)
    u = lambda v: _ulp(v, dt)  # noqa: E731
    with np.errstate(all="ignore"):
        if name in ("sigmoid", "softplus"):
            # kernel: e = exp(-|z|), q = 1 + e, r = 1 / q, s = r (z >= 0) or e r (z < 0)
            e = np.exp(-np.abs(zh))
            q = one + e
            r = one / q
            pos = zh >= 0
            s = np.where(pos, r, e * r)
            b_s = (np.where(pos, r * r, r) * E * u(e) + s * R * u(q) / q + np.where(pos, one, e) * R * u(r)
                   + np.where(pos, 0, R * u(s)))
            if name == "sigmoid":
                d = s * (one - s)
                return s, d, b_s, R * u(d) + np.abs(one - 2 * s) * b_s + s * R * u(one - s)
            lg = np.log1p(e)
            a = np.maximum(zh, 0) + lg
            return a, s, R * u(a) + E * u(lg) + E * u(e) / q, b_s
        if name == "tanh":
            t = np.tanh(zh)
            d = one - t * t
            return t, d, E * u(t), R * u(d) + R * u(t * t) + 2 * np.abs(t) * E * u(t)
        if name == "elu":
            em1 = np.expm1(np.minimum(zh, 0))
            a = np.where(zh > 0, zh, em1)
            d = np.where(zh > 0, one, em1 + one)
            return a, d, E * u(a), R * u(d) + E * u(em1)
        if name == "sin":
            s, c = _trig(np.sin, zh), _trig(np.cos, zh)
            return s, c, E * u(s), E * u(c)
        if name == "gelu":
            # the kernel's constants are rounded to the working dtype; use exactly those
            k0, k1 = hp(dt(GELU_K0)), hp(dt(GELU_K1))
            xc = np.clip(zh, -GELU_CLAMP, GELU_CLAMP)
            x2, x3 = xc * xc, xc * xc * xc
            inner = xc + k1 * x3
            arg = k0 * inner
            b_arg = R * (u(arg) + k0 * (u(inner) + u(k1 * x3) + k1 * (u(x3) + np.abs(xc) * u(x2))))
            t = np.tanh(arg)
            b_t = E * u(t) + (one - t * t) * b_arg
            half_x = 0.5 * zh
            a = half_x * (one + t)
            b_a = R * u(a) + np.abs(half_x) * (b_t + R * u(one + t)) + np.abs(one + t) * R * u(half_x)
            g = 0.5 * xc * k0 * (one + 3 * k1 * x2)
            t2 = g * (one - t * t)
            d = 0.5 * (one + t) + t2
            b_d = (R * u(d) + 0.5 * (b_t + R * u(one + t)) + np.abs(g) * (2 * np.abs(t) * b_t + R * u(t * t) + R * u(one - t * t))
                   + 8 * R * u(t2))
            return a, d, b_a, b_d
    raise ValueError(name)


def _check(got: np.ndarray, ref: np.ndarray, bound: np.ndarray, what: str) -> None:
    with np.errstate(all="ignore"):
        _check_quiet(got, ref, bound, what)


def _check_quiet(got: np.ndarray, ref: np.ndarray, bound: np.ndarray, what: str) -> None:
    ref64 = ref.astype(np.float64)
    got64 = got.astype(np.float64)
    nan_ref = np.isnan(ref64)
    assert np.array_equal(np.isnan(got64), nan_ref), f"{what}: NaN pattern differs"
    inf_ref = np.isinf(ref.astype(got.dtype))    # the exact value rounds to +-inf in the working dtype
    assert np.array_equal(got64[inf_ref], ref.astype(got.dtype)[inf_ref].astype(np.float64)), f"{what}: inf differs"
    fin = ~nan_ref & ~inf_ref
    assert np.all(np.isfinite(got64[fin])), f"{what}: non-finite result for a finite reference"
    err = np.abs(got[fin].astype(ref.dtype) - ref[fin])
    bound = SAFETY * bound[fin]
    bad = err > bound
    if np.any(bad):
        i = np.argmax(np.where(bad, err / bound, 0))
        raise AssertionError(f"{what}: {bad.sum()} of {fin.sum()} values beyond the error bound; worst "
                             f"got={got[fin][i]!r} ref={float(ref[fin][i])!r} error/bound={float(err[i] / bound[i]):.3g}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "sin", "gelu"])
def test_activation_accuracy(name, dtype):
    z = _inputs(dtype)
    a, d = _evaluate(name, z)
    ref_a, ref_d, bound_a, bound_d = _reference(name, z)
    ok = ~np.isnan(z)
    if name == "gelu":  # the clamp makes 0.5 z (1 + t) an (inf * 0) at z = -inf; its limit is not the formula's
        ok &= z != -np.inf
    _check(a[ok], ref_a[ok], bound_a[ok], f"{name} value ({np.dtype(dtype).name})")
    _check(d[ok], ref_d[ok], bound_d[ok], f"{name} derivative ({np.dtype(dtype).name})")


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "sin", "gelu"])
def test_network_kernels_accuracy(name, dtype, mode):
    """The network kernels run the ISA level chosen at the first call (on most x86-64 machines AVX-512 or
    AVX2 with FMA contraction; see _kernels.isa_levels()) instead of eval_activation's baseline code; a one-unit layer z = 1 * x + 0 exposes
    a = f(z) as the output and f'(z) as the Jacobian.  Same bounds."""
    import swarmjac as sj

    net, theta = sj.MLP.from_layers([(np.ones((1, 1)), np.zeros(1), name)])
    z = _inputs(dtype)
    z = z[np.isfinite(z) & (z != 0)]      # keep z exactly reproducible by the dense layer
    Y, J = net.value_and_jacobian(theta.astype(dtype), z[:, None], mode=mode)
    ref_a, ref_d, bound_a, bound_d = _reference(name, z)
    _check(Y[:, 0], ref_a, bound_a, f"{name} value ({np.dtype(dtype).name}, network, {mode})")
    _check(J[:, 0, 0], ref_d, bound_d, f"{name} derivative ({np.dtype(dtype).name}, network, {mode})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "sin", "gelu"])
def test_nan_propagates(name, dtype):
    z = np.array([np.nan, -np.nan, 1.0], dtype=dtype)
    a, d = _evaluate(name, z)
    assert np.all(np.isnan(a[:2])) and np.all(np.isnan(d[:2]))
    assert np.all(np.isfinite(a[2:])) and np.all(np.isfinite(d[2:]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    z = np.array([np.inf, -np.inf, 0.0, -0.0], dtype=dtype)
    expect = {  # (a, d) at +inf, -inf, +0, -0
        "sigmoid": ([1, 0, 0.5, 0.5], [0, 0, 0.25, 0.25]),
        "tanh": ([1, -1, 0, 0], [0, 0, 1, 1]),
        "softplus": ([np.inf, 0, math.log(2), math.log(2)], [1, 0, 0.5, 0.5]),
        "elu": ([np.inf, -1, 0, 0], [1, 0, 1, 1]),
    }
    for name, (ea, ed) in expect.items():
        a, d = _evaluate(name, z)
        np.testing.assert_allclose(a, np.array(ea, dtype=dtype), rtol=2 * np.finfo(dtype).eps, err_msg=name)
        np.testing.assert_allclose(d, np.array(ed, dtype=dtype), rtol=2 * np.finfo(dtype).eps, err_msg=name)
    a, d = _evaluate("gelu", z[[0, 2, 3]])
    np.testing.assert_array_equal(a, np.array([np.inf, 0, 0], dtype=dtype))
    np.testing.assert_array_equal(d, np.array([1, 0.5, 0.5], dtype=dtype))
    # odd functions keep the sign of zero
    for name in ("tanh", "sin", "gelu"):
        a, _ = _evaluate(name, z)
        assert not np.signbit(a[2]) and np.signbit(a[3]), name
    # sin / cos of +-inf is NaN; of huge finite arguments a finite value in [-1, 1]
    big = np.array([np.inf, -np.inf, np.finfo(dtype).max, -np.finfo(dtype).max, 1e30, 2.0 ** 20 + 0.5], dtype=dtype)
    a, d = _evaluate("sin", big)
    assert np.all(np.isnan(a[:2])) and np.all(np.isnan(d[:2]))
    assert np.all(np.abs(a[2:]) <= 1) and np.all(np.abs(d[2:]) <= 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subnormal_inputs_are_exact(dtype):
    """For tiny z, tanh z = sin z = z exactly, sigmoid = 1/2, softplus = log 2 and elu = z to the last bit."""
    fi = np.finfo(dtype)
    z = np.array([fi.smallest_subnormal, -fi.smallest_subnormal, 3 * fi.smallest_subnormal, -fi.tiny, fi.tiny / 2],
                 dtype=dtype)
    for name in ("tanh", "sin"):
        a, d = _evaluate(name, z)
        np.testing.assert_array_equal(a, z, err_msg=name)
        np.testing.assert_array_equal(d, np.ones_like(z), err_msg=name)
    a, d = _evaluate("sigmoid", z)
    np.testing.assert_array_equal(a, np.full_like(z, 0.5))
    a, _ = _evaluate("softplus", z)
    np.testing.assert_array_equal(a, np.full_like(z, math.log(2)))
    a, _ = _evaluate("elu", z)
    np.testing.assert_array_equal(a[z > 0], z[z > 0])


def test_mpmath_reference_float64():
    """An independent 50-digit check of the float64 path on a few hundred points of the whole range."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    rng = np.random.default_rng(7)
    z = np.concatenate([np.logspace(-300, 300, 121), -np.logspace(-300, 300, 121), rng.uniform(-30, 30, 200)])
    k0, k1 = mp.mpf(GELU_K0), mp.mpf(GELU_K1)

    def exact(name, x):
        x = mp.mpf(float(x))
        if name == "sigmoid":
            s = 1 / (1 + mp.exp(-x))
            return s, s * (1 - s)
        if name == "tanh":
            t = mp.tanh(x)
            return t, 1 - t * t
        if name == "softplus":
            return mp.log1p(mp.exp(-abs(x))) + max(x, 0), 1 / (1 + mp.exp(-x))
        if name == "elu":
            return (x, mp.mpf(1)) if x > 0 else (mp.expm1(x), mp.exp(x))
        if name == "sin":
            return mp.sin(x), mp.cos(x)
        xc = min(max(x, -GELU_CLAMP), GELU_CLAMP)
        t = mp.tanh(k0 * (xc + k1 * xc ** 3))
        return x * (1 + t) / 2, (1 + t) / 2 + xc * (1 - t * t) * k0 * (1 + 3 * k1 * xc * xc) / 2

    for name in ("sigmoid", "tanh", "softplus", "elu", "sin", "gelu"):
        a, d = _evaluate(name, z)
        _, _, bound_a, bound_d = _reference(name, z)  # the bounds only: long double precision not needed
        for i, x in enumerate(z):
            ea, ed = exact(name, x)
            for got, ref, which, b in ((a[i], ea, "value", bound_a), (d[i], ed, "derivative", bound_d)):
                assert abs(mp.mpf(float(got)) - ref) <= SAFETY * float(b[i]), (name, which, float(x), float(got), float(ref))
