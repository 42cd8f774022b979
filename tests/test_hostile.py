"""Hostile inputs to the kernels and to Dataset: odd dtypes, memory layouts, empty and huge sizes, NaN and inf.

Every call either gives what the kernels give on the equivalent clean input (bit for bit) and what
swarmjac.reference gives (to the dtype's tolerance), or raises ValueError / TypeError / MemoryError naming
the argument: never a crash, never a silently wrong answer, never a NaN fitness. Also run by .ci/sanitize.sh.

NaN/inf rules checked here (the README's "NaN/inf rules"):
  * params: predict / value_and_jacobian compute with IEEE arithmetic (NaN and inf propagate, as in the
    reference; other particles are untouched); the fitness of a particle with any non-finite parameter is +inf.
  * X: predict / value_and_jacobian accept it and only the rows holding NaN/inf are affected (same values as
    the reference); Dataset refuses a non-finite X, naming the entry.
  * y, dydx: NaN means "not observed"; inf is refused. Weights must be finite and >= 0.
  * fitness is never NaN: a particle whose fitness is not finite gets +inf.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import textwrap
import time
import uuid
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmjac as sj
from swarmjac import reference
from swarmjac.activations import ACTIVATIONS

from conftest import tolerances

FLOAT_DTYPES = ("float64", "float32", ">f8", ">f4", "float16")
INT_DTYPES = ("int64", "int32", "uint8", "bool")
LAYOUTS = ("C", "F", "reversed", "strided", "readonly", "memmap", "broadcast", "list")
MODES = ("forward", "reverse", "auto")
SAMPLE_COUNTS = (0, 1, 2, 5, 63, 64, 65)
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")


def test_the_sanitized_build_is_the_one_under_test():
    """.ci/sanitize.sh sets SWARMJAC_EXPECT_KERNELS_DIR so that a stray installed copy cannot pass for it."""
    expected = os.environ.get("SWARMJAC_EXPECT_KERNELS_DIR")
    if not expected:
        pytest.skip("not running under .ci/sanitize.sh")
    import swarmjac._kernels as kernels

    assert os.path.realpath(kernels.__file__).startswith(os.path.realpath(expected) + os.sep), kernels.__file__


# ----- building hostile arrays -----

@pytest.fixture(scope="module")
def scratch_dir(tmp_path_factory):
    """Directory for memory-mapped inputs (module scope, so hypothesis can use it)."""
    return tmp_path_factory.mktemp("memmaps")


def grid_values(rng: np.random.Generator, shape: tuple, dtype: str, scale: float = 1.0) -> np.ndarray:
    """Values every dtype holds exactly: eighths in [-2, 2] (times a power of two) for floats, small ints."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, 3, size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-2, 3, size=shape).astype(dtype)
    return (rng.integers(-16, 17, size=shape) / 8.0 * scale).astype(dtype)


def arrange(values: np.ndarray, layout: str, directory) -> np.ndarray:
    """The same values (or, for "broadcast", the first row repeated) in a hostile memory layout."""
    full = (slice(None, None, -1),) * values.ndim
    every_other = (slice(None, None, 2),) * values.ndim
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "reversed":  # negative strides in every axis
        return np.ascontiguousarray(values[full])[full]
    if layout == "strided":
        big = np.zeros(tuple(2 * n for n in values.shape), dtype=values.dtype)
        big[every_other] = values
        return big[every_other]
    if layout == "readonly":
        out = values.copy()
        out.setflags(write=False)
        return out
    if layout == "memmap" and values.size:
        path = os.path.join(directory, f"{uuid.uuid4().hex}.dat")
        values.tofile(path)
        return np.memmap(path, dtype=values.dtype, mode="r", shape=values.shape)
    if layout == "broadcast" and values.ndim >= 1 and values.shape[0]:
        return np.broadcast_to(values[:1], values.shape)
    if layout == "list" and values.size:
        return values.tolist()
    return values


def kernel_dtype(params, X=None) -> np.dtype:
    """DESIGN.md: float32 only when params is float32 (either byte order) and X is float32 or integer."""
    def is_float32(dtype):
        return dtype.kind == "f" and dtype.itemsize == 4

    p = np.asarray(params).dtype
    x = np.asarray(X).dtype if X is not None else np.dtype(np.float32)
    if is_float32(p) and (is_float32(x) or x.kind in "biu"):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def clean(array, dtype) -> np.ndarray:
    """The equivalent clean input: a fresh C-contiguous native array of the kernel dtype."""
    return np.array(np.asarray(array), dtype=dtype, order="C", copy=True)


@st.composite
def networks(draw, max_hidden=2):
    d_in, d_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 5), max_size=max_hidden))
    sizes = [d_in, *hidden, d_out]
    names = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=len(sizes) - 1, max_size=len(sizes) - 1))
    return sj.MLP(sizes, names)


def assert_same_as_reference(actual, expected, dtype):
    """Finite entries within the dtype's tolerance, NaN and inf in exactly the same places."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], **tolerances(dtype))


# ----- dtypes and layouts: same answer as the clean input -----

@given(net=networks(), seed=st.integers(0, 2 ** 32 - 1),
       n_particles=st.sampled_from([None, 0, 1, 3]), n_samples=st.sampled_from(SAMPLE_COUNTS),
       params_dtype=st.sampled_from(FLOAT_DTYPES + INT_DTYPES), X_dtype=st.sampled_from(FLOAT_DTYPES + INT_DTYPES),
       params_layout=st.sampled_from(LAYOUTS), X_layout=st.sampled_from(LAYOUTS),
       mode=st.sampled_from(MODES), n_threads=st.sampled_from([1, 2]))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_any_dtype_and_layout_gives_the_clean_answer(scratch_dir, net, seed, n_particles, n_samples, params_dtype,
                                                    X_dtype, params_layout, X_layout, mode, n_threads):
    """int, bool, float16, big-endian and float32 inputs, in Fortran order, with negative or zero strides,
    read-only or memory-mapped, or as nested lists, give exactly the result of the clean array of the kernel
    dtype (None particles: a single 1-D particle)."""
    rng = np.random.default_rng(seed)
    params_shape = (net.n_params,) if n_particles is None else (n_particles, net.n_params)
    params = arrange(grid_values(rng, params_shape, params_dtype, 0.5), params_layout, scratch_dir)
    X = arrange(grid_values(rng, (n_samples, net.d_in), X_dtype), X_layout, scratch_dir)
    dtype = kernel_dtype(params, X)
    clean_params, clean_X = clean(params, dtype), clean(X, dtype)

    Y = net.predict(params, X, n_threads=n_threads)
    Yv, J = net.value_and_jacobian(params, X, n_threads=n_threads, mode=mode)
    assert Y.dtype == Yv.dtype == J.dtype == dtype
    np.testing.assert_array_equal(Y, net.predict(clean_params, clean_X, n_threads=1))
    clean_Y, clean_J = net.value_and_jacobian(clean_params, clean_X, n_threads=1, mode=mode)
    np.testing.assert_array_equal(Yv, clean_Y)
    np.testing.assert_array_equal(J, clean_J)
    # predict and value_and_jacobian are separately compiled paths (FMA contraction may differ): close, not equal.
    assert_same_as_reference(Yv, Y, dtype)

    Yr, Jr = reference.value_and_jacobian(net, clean_params, clean_X)
    assert_same_as_reference(Yv, Yr, dtype)
    assert_same_as_reference(J, Jr, dtype)


@given(net=networks(), seed=st.integers(0, 2 ** 32 - 1), n_samples=st.sampled_from(SAMPLE_COUNTS),
       params_dtype=st.sampled_from(FLOAT_DTYPES + ("int32", "bool")),
       data_dtype=st.sampled_from(FLOAT_DTYPES + ("int64", "bool")),
       params_layout=st.sampled_from(LAYOUTS), data_layout=st.sampled_from(LAYOUTS),
       squeeze_targets=st.booleans(), p_observed=st.floats(0.0, 1.0),
       mode=st.sampled_from(MODES), n_threads=st.sampled_from([1, 2]))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_fitness_of_any_dtype_and_layout_gives_the_clean_answer(scratch_dir, net, seed, n_samples, params_dtype,
                                                               data_dtype, params_layout, data_layout,
                                                               squeeze_targets, p_observed, mode, n_threads):
    """Dataset takes X, y and dydx of any real dtype and layout (1-D y and 2-D dydx when d_out = 1); the
    fitness is exactly that of clean float64 arrays, equals the reference, has the params' dtype and is
    never NaN."""
    rng = np.random.default_rng(seed)
    d_in, d_out = net.d_in, net.d_out
    params = arrange(grid_values(rng, (3, net.n_params), params_dtype, 0.5), params_layout, scratch_dir)
    X = grid_values(rng, (n_samples, d_in), data_dtype)
    y = grid_values(rng, (n_samples, d_out), data_dtype)
    dydx = grid_values(rng, (n_samples, d_out, d_in), data_dtype)
    if np.dtype(data_dtype).kind == "f":  # NaN = not observed, in a random pattern
        y[rng.random(y.shape) > p_observed] = np.nan
        dydx[rng.random(dydx.shape) > p_observed] = np.nan
    if squeeze_targets and d_out == 1:
        y, dydx = y[:, 0], dydx[:, 0, :]
    hostile = [arrange(a, data_layout, scratch_dir) for a in (X, y, dydx)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows that observe nothing
        data = sj.Dataset(*hostile, value_weight=0.75, derivative_weight=1.5)
        clean_data = sj.Dataset(*(clean(a, np.float64) for a in hostile), value_weight=0.75,
                                derivative_weight=1.5)
    dtype = kernel_dtype(params)
    f = net.fitness(params, data, n_threads=n_threads, mode=mode)
    assert f.dtype == dtype and f.shape == (3,)
    assert not np.isnan(f).any()
    clean_params = clean(params, dtype)
    np.testing.assert_array_equal(f, net.fitness(clean_params, clean_data, n_threads=1, mode=mode))
    expected = reference.fitness(net, clean_params, clean_data)
    np.testing.assert_allclose(f, expected, rtol=tolerances(dtype)["rtol"], atol=1e-300)
    # The gradient kernel: the same fitness bit for bit, a gradient of the params' dtype that is the clean
    # arrays' gradient, NaN only where the fitness is +inf.
    f_grad, g = net.fitness_and_gradient(params, data, n_threads=n_threads, mode=mode)
    np.testing.assert_array_equal(f_grad, f)
    assert g.dtype == dtype and g.shape == (3, net.n_params)
    np.testing.assert_array_equal(g, net.fitness_and_gradient(clean_params, clean_data, n_threads=1, mode=mode)[1])
    assert not np.isnan(g[np.isfinite(f)]).any()


# ----- NaN and inf -----

@given(net=networks(), seed=st.integers(0, 2 ** 32 - 1), n_particles=st.integers(1, 3),
       n_samples=st.sampled_from([1, 2, 63, 64, 65]), dtype=st.sampled_from([np.float64, np.float32]),
       in_params=st.booleans(), in_X=st.booleans(), bad_value=st.sampled_from([np.nan, np.inf, -np.inf]),
       mode=st.sampled_from(MODES), n_threads=st.sampled_from([1, 2]))
def test_nan_and_inf_propagate_only_where_they_are(net, seed, n_particles, n_samples, dtype, in_params, in_X,
                                                   bad_value, mode, n_threads):
    """NaN/inf in params or X: outputs Y have the reference's values with NaN/inf in the same places; every
    particle with finite params at every finite row of X is bit-identical to the clean run (no leak
    between lanes, blocks or particles); J of finite particles matches the reference."""
    rng = np.random.default_rng(seed)
    params = clean(grid_values(rng, (n_particles, net.n_params), "float64", 0.5), dtype)
    X = clean(grid_values(rng, (n_samples, net.d_in), "float64"), dtype)
    clean_Y, clean_J = net.value_and_jacobian(params, X, n_threads=1, mode=mode)
    bad_particles = np.zeros(n_particles, dtype=bool)
    bad_rows = np.zeros(n_samples, dtype=bool)
    if in_params:
        bad_particles[rng.integers(0, n_particles)] = True
        for p in np.flatnonzero(bad_particles):
            params[p, rng.integers(0, net.n_params, size=rng.integers(1, 3))] = bad_value
    if in_X:
        bad_rows[rng.integers(0, n_samples, size=rng.integers(1, 4))] = True
        for n in np.flatnonzero(bad_rows):
            X[n, rng.integers(0, net.d_in)] = bad_value

    Y, J = net.value_and_jacobian(params, X, n_threads=n_threads, mode=mode)
    assert_same_as_reference(net.predict(params, X, n_threads=n_threads), Y, dtype)
    good = np.ix_(~bad_particles, ~bad_rows)
    np.testing.assert_array_equal(Y[good], clean_Y[good])
    np.testing.assert_array_equal(J[good], clean_J[good])
    Yr, Jr = reference.value_and_jacobian(net, params, X)
    assert_same_as_reference(Y, Yr, dtype)
    # The reference forms diag(f') @ W, where 0 * inf = NaN spreads over whole columns for a non-finite W,
    # so Jacobians are compared for particles with finite parameters only.
    assert_same_as_reference(J[~bad_particles], Jr[~bad_particles], dtype)


@given(net=networks(), seed=st.integers(0, 2 ** 32 - 1), n_particles=st.integers(1, 4),
       n_samples=st.sampled_from([1, 64, 65]), dtype=st.sampled_from([np.float64, np.float32]),
       bad_value=st.sampled_from([np.nan, np.inf, -np.inf]), mode=st.sampled_from(MODES))
def test_non_finite_params_get_infinite_fitness(net, seed, n_particles, n_samples, dtype, bad_value, mode):
    """A particle with any NaN or inf parameter has fitness +inf, whatever the activations (relu, for one, maps
    a NaN pre-activation to 0 and could otherwise give such a particle a finite, even the best, fitness);
    the other particles keep their exact fitness."""
    rng = np.random.default_rng(seed)
    params = clean(grid_values(rng, (n_particles, net.n_params), "float64", 0.5), dtype)
    X = grid_values(rng, (n_samples, net.d_in), "float64")
    y = grid_values(rng, (n_samples, net.d_out), "float64")
    dydx = grid_values(rng, (n_samples, net.d_out, net.d_in), "float64")
    dydx[rng.random(dydx.shape) < 0.5] = np.nan
    data = sj.Dataset(X, y=y, dydx=dydx)
    before = net.fitness(params, data, mode=mode)
    bad = rng.random(n_particles) < 0.5
    for p in np.flatnonzero(bad):
        params[p, rng.integers(0, net.n_params)] = bad_value
    f = net.fitness(params, data, mode=mode)
    assert not np.isnan(f).any()
    assert np.all(f[bad] == np.inf)
    np.testing.assert_array_equal(f[~bad], before[~bad])
    f_grad, g = net.fitness_and_gradient(params, data, mode=mode)
    np.testing.assert_array_equal(f_grad, f)
    assert np.isnan(g[bad]).all() and not np.isnan(g[np.isfinite(f)]).any()
    assert np.all(reference.fitness(net, params.astype(np.float64), data)[bad] == np.inf)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_each_activation_maps_non_finite_inputs_like_the_reference(activation, dtype, bad_value):
    """The activations of the compiled core agree with the reference at NaN and +-inf, value and slope."""
    net = sj.MLP([1, 1], [activation])
    theta = np.array([1.0, 0.0], dtype=dtype)
    X = np.array([[bad_value], [1.0]], dtype=dtype)
    for mode in ("forward", "reverse"):
        Y, J = net.value_and_jacobian(theta, X, mode=mode)
        Yr, Jr = reference.value_and_jacobian(net, theta, X)
        assert_same_as_reference(Y, Yr, dtype)
        assert_same_as_reference(J, Jr, dtype)


def test_dataset_nan_and_inf_rules():
    """X must be finite; in y and dydx NaN is "not observed" and inf is refused; weights finite and >= 0."""
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"X must be finite; X\[1, 0\]"):
            sj.Dataset([[0.0, 1.0], [bad, 0.0]], y=[1.0, 2.0])
        with pytest.raises((ValueError, TypeError), match="value_weight"):
            sj.Dataset(X, y=[1.0, 2.0], value_weight=bad)
        with pytest.raises((ValueError, TypeError), match="derivative_weight"):
            sj.Dataset(X, y=[1.0, 2.0], derivative_weight=bad)
    for bad in (np.inf, -np.inf):
        with pytest.raises(ValueError, match="y contains inf"):
            sj.Dataset(X, y=[1.0, bad])
        with pytest.raises(ValueError, match="dydx contains inf"):
            sj.Dataset(X, dydx=[[1.0, np.nan], [np.nan, bad]])
    # A row whose targets are all NaN is ignored: same fitness, bit for bit, as without the row.
    net = sj.MLP([2, 3, 1], "tanh")
    params = net.init_params(5, seed=1)
    with pytest.warns(UserWarning, match="observe nothing"):
        padded = sj.Dataset(np.vstack([X, [[5.0, 5.0]]]), y=[1.0, np.nan, np.nan],
                            dydx=[[np.nan, 2.0], [0.5, np.nan], [np.nan, np.nan]])
    trimmed = sj.Dataset(X, y=[1.0, np.nan], dydx=[[np.nan, 2.0], [0.5, np.nan]])
    np.testing.assert_array_equal(net.fitness(params, padded), net.fitness(params, trimmed))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overflowing_fitness_is_inf_not_nan(dtype):
    """Finite but huge parameters whose squared error overflows give +inf, never NaN (also when both terms
    overflow with opposite-signed residuals)."""
    net = sj.MLP([1, 2, 1], ["linear", "linear"])
    huge = 1e300 if dtype == np.float64 else 1e38
    params = np.array([[huge, -huge, 0, 0, huge, huge, 0], [huge, huge, 0, 0, huge, -huge, 0]], dtype=dtype)
    data = sj.Dataset([[1.0], [-1.0]], y=[0.0, 1.0], dydx=[[1.0], [np.nan]])
    f = net.fitness(params, data)
    assert np.all(f == np.inf)


# ----- shapes: empty, one, mismatched -----

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_empty_and_single_sizes(dtype):
    """Zero particles, zero samples, one particle, one sample: empty or squeezed results of the right shape
    and dtype, never a read past the end."""
    net = sj.MLP([3, 2, 2], "tanh")
    one = np.full(net.n_params, 0.25, dtype=dtype)
    for P, N in itertools.product((0, 1, 2), (0, 1)):
        params, X = np.tile(one, (P, 1)), np.full((N, 3), 0.5, dtype=dtype)
        Y, J = net.value_and_jacobian(params, X)
        assert Y.shape == (P, N, 2) and J.shape == (P, N, 2, 3) and Y.dtype == J.dtype == dtype
        assert net.predict(one, X).shape == (N, 2)
    data = sj.Dataset(np.zeros((0, 3)), y=np.zeros((0, 2)))
    f = net.fitness(np.tile(one, (4, 1)), data)
    assert f.dtype == dtype and np.all(f == 0.0)
    assert net.fitness(np.zeros((0, net.n_params), dtype=dtype), data).shape == (0,)
    assert net.fitness(one, data).shape == ()


@pytest.mark.parametrize("call", ["predict", "value_and_jacobian", "fitness", "fitness_and_gradient"])
def test_wrong_shapes_name_the_argument(call):
    net = sj.MLP([2, 3, 1], "tanh")
    data = sj.Dataset(np.zeros((4, 2)), y=np.zeros(4))
    good_params, good_X = np.zeros((2, net.n_params)), np.zeros((4, 2))

    def run(params, X=good_X):
        if call.startswith("fitness"):
            return getattr(net, call)(params, data)
        return getattr(net, call)(params, X)

    for params in (np.zeros((2, 0)), np.zeros(0), np.zeros((2, net.n_params + 1)), np.float64(1.0),
                   np.zeros((1, 2, net.n_params))):
        with pytest.raises(ValueError, match="params"):
            run(params)
    if not call.startswith("fitness"):
        for X in (np.zeros((4, 0)), np.zeros((4, 3)), np.zeros(2), np.zeros((1, 4, 2)), np.float64(0.0)):
            with pytest.raises(ValueError, match="X"):
                run(good_params, X)


BAD_VALUES = {
    "complex": lambda shape: np.zeros(shape, dtype=complex),
    "object of floats": lambda shape: np.zeros(shape).astype(object),
    "strings": lambda shape: np.full(shape, "1.0"),
    "datetimes": lambda shape: np.zeros(shape, dtype="datetime64[s]"),
    "ragged list": lambda shape: [[0.0] * shape[-1], [0.0]],
    "None": lambda shape: None,
    "dict": lambda shape: {"a": 1},
    "list with None": lambda shape: [[None] * shape[-1]],
}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
@pytest.mark.parametrize("argument", ["params", "X", "y", "dydx", "data X"])
def test_non_numeric_inputs_raise_type_error_naming_the_argument(kind, argument):
    """Complex, object, string and datetime arrays, ragged or None-holding lists and dicts: TypeError naming
    the argument (None itself: a ValueError about its 0-D shape is as clear)."""
    net = sj.MLP([2, 3, 1], "tanh")
    params, X = np.zeros((2, net.n_params)), np.zeros((2, 2))
    make = BAD_VALUES[kind]
    errors = (TypeError, ValueError) if kind == "None" else TypeError
    if argument == "params":
        with pytest.raises(errors, match="params"):
            net.predict(make(params.shape), X)
        with pytest.raises(errors, match="params"):
            net.fitness(make(params.shape), sj.Dataset(X, y=np.zeros(2)))
    elif argument == "X":
        with pytest.raises(errors, match="X"):
            net.value_and_jacobian(params, make(X.shape))
    elif argument == "data X":
        with pytest.raises(errors, match="X"):
            sj.Dataset(make(X.shape), y=np.zeros(2))
    elif kind != "None":  # None means "no targets of this kind"
        targets = {"y": np.zeros(2), "dydx": np.zeros((2, 1, 2))}
        targets[argument] = make(targets[argument].shape)
        with pytest.raises(TypeError, match=argument):
            sj.Dataset(X, **targets)


def test_bad_options_name_the_argument():
    net = sj.MLP([2, 3, 1], "tanh")
    params, X = np.zeros((2, net.n_params)), np.zeros((2, 2))
    data = sj.Dataset(X, y=np.zeros(2))
    for threads in (0, -2, -(2 ** 40)):
        with pytest.raises(ValueError, match="n_threads"):
            net.predict(params, X, n_threads=threads)
    for threads in (True, 1.0, "2", [1]):
        with pytest.raises(TypeError, match="n_threads"):
            net.fitness(params, data, n_threads=threads)
    for mode in (None, "AUTO", 1, "sideways"):
        with pytest.raises(ValueError, match="mode"):
            net.value_and_jacobian(params, X, mode=mode)
        with pytest.raises(ValueError, match="mode"):
            net.fitness(params, data, mode=mode)
    with pytest.raises(TypeError, match="data"):
        net.fitness(params, {"X": X, "y": np.zeros(2)})
    with pytest.raises(ValueError, match="d_in=3"):
        net.fitness(params, sj.Dataset(np.zeros((2, 3)), y=np.zeros(2)))
    assert net.predict(params, X, n_threads=np.int64(2)).shape == (2, 2, 1)


# ----- sizes: refused by arithmetic, before anything is allocated -----

@contextlib.contextmanager
def address_space_cap(extra_bytes: int = 8 * 2 ** 30):
    """Cap this process's address space for the block, so that a refused-too-late size fails with MemoryError
    instead of letting the kernel's OOM killer end the test run (skipped under ASan, which reserves terabytes
    of shadow memory)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    if UNDER_ASAN or not os.path.exists("/proc/self/status"):
        yield
        return
    with open("/proc/self/status") as handle:
        vm_kb = next(int(line.split()[1]) for line in handle if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kb * 1024 + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _huge_cases():
    small = sj.MLP([2, 1], ["linear"])
    wide_in = sj.MLP([2 ** 18, 1], ["linear"])
    wide_hidden = sj.MLP([1, 2 ** 20, 1], "tanh")
    one_row = sj.Dataset(np.zeros((1, 2)), y=[0.0])

    def swarm(net, n_particles, dtype=np.float64):
        return np.broadcast_to(np.zeros(net.n_params, dtype=dtype), (n_particles, net.n_params))

    def points(n_samples, d_in, dtype=np.float64):
        return np.broadcast_to(np.zeros(d_in, dtype=dtype), (n_samples, d_in))

    yield ("predict: 2**40 outputs", "output", lambda: small.predict(swarm(small, 2 ** 20), points(2 ** 20, 2)))
    yield ("predict: 2**42 float32 outputs", "output",
           lambda: small.predict(swarm(small, 2 ** 21, np.float32), points(2 ** 21, 2, np.float32)))
    yield ("value_and_jacobian: 2**45 Jacobian entries", "Jacobian",
           lambda: small.value_and_jacobian(swarm(small, 2 ** 24), points(2 ** 20, 2)))
    yield ("predict: copy of 2**41 params", "params",
           lambda: wide_hidden.predict(swarm(wide_hidden, 2 ** 19), np.zeros((1, 1))))
    yield ("predict: copy of 2**42 X entries", "X",
           lambda: wide_in.predict(np.zeros(wide_in.n_params), points(2 ** 24, 2 ** 18)))
    yield ("fitness: copy of 2**41 params", "params", lambda: small.fitness(swarm(small, 2 ** 40), one_row))
    yield ("Dataset: copy of 2**41 X entries", "X",
           lambda: sj.Dataset(points(2 ** 40, 2), y=points(2 ** 40, 1)))
    yield ("Dataset: copy of 2**43 dydx entries", "dydx",
           lambda: sj.Dataset(np.zeros((4, 2)), dydx=np.broadcast_to(np.zeros(1), (4, 2 ** 40, 2))))


@pytest.mark.parametrize("case", list(_huge_cases()), ids=lambda case: case[0])
def test_sizes_beyond_memory_are_refused_by_arithmetic(case):
    """Broadcast views make arrays of any shape for free; an output or a coerced copy of 2**40 elements and more
    is refused with MemoryError naming it, by arithmetic on the shapes, without trying to allocate it."""
    _, message, call = case
    start = time.perf_counter()
    with address_space_cap(), pytest.raises((MemoryError, ValueError), match=rf"\b{message}\b") as info:
        call()
    assert "Unable to allocate" not in str(info.value), "numpy tried to allocate it: no arithmetic check"
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("sizes", [[2 ** 31, 1], [2, 2 ** 31, 1], [1, 2 ** 40], [2, 2 ** 25, 1]])
def test_layer_widths_beyond_the_kernels_int_range_are_refused(sizes):
    """The kernels index a sample block with C ints ((1 + d_in) * 64 columns); wider layers are refused when
    the network is made, with ValueError naming layer_sizes (not OverflowError from numpy)."""
    with pytest.raises(ValueError, match=r"layer_sizes\[\d\]"):
        sj.MLP(sizes)


def test_absurd_thread_counts_do_not_crash():
    """n_threads far above the core count used to make libgomp segfault or abort the interpreter; it is capped.
    Run in a child process, so that a crash fails this test instead of killing the test run."""
    script = textwrap.dedent("""
        import numpy as np, swarmjac as sj
        net = sj.MLP([2, 4, 1], "tanh")
        params = net.init_params(3, seed=0)
        X = np.linspace(-1, 1, 10).reshape(5, 2)
        data = sj.Dataset(X, y=np.zeros(5), dydx=np.ones((5, 2)))
        Y1, J1 = net.value_and_jacobian(params, X, n_threads=1)
        f1 = net.fitness(params, data, n_threads=1)
        for threads in (100_000, 2 ** 31 - 1, 2 ** 40):
            Y, J = net.value_and_jacobian(params, X, n_threads=threads)
            assert np.array_equal(Y, Y1) and np.array_equal(J, J1)
            assert np.array_equal(net.predict(params, X, n_threads=threads), Y1)
            assert np.array_equal(net.fitness(params, data, n_threads=threads), f1)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", (result.returncode, result.stderr[-2000:])
