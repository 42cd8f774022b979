"""Tests of swarmjac.scaling.Standardizer: statistics, the chain rule (against finite differences), the folds
into a network's parameters (against the compiled network on standardised inputs), serialisation, errors."""
from __future__ import annotations

import doctest
import json
import warnings

import numpy as np
import pytest

import swarmjac as sj
import swarmjac.scaling
from swarmjac.scaling import Standardizer

nan = np.nan


def physical_dataset(rng: np.random.Generator, n: int = 60) -> tuple[sj.Dataset, callable]:
    """Mixed observations of a known 3-input, 2-output function in physical units, and the function.

    f1 = 1e4 + 50 sin(x1 / 3) x2 + 0.01 x3^2, f2 = 2e3 exp((x1 - 1000) / 4) + x2 x3 (x1 ~ 1000 +- 2).
    """
    X = np.column_stack([rng.uniform(998, 1002, n), rng.uniform(-3, 5, n), rng.uniform(100, 300, n)])

    def f(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x1, x2, x3 = X.T
        y = np.column_stack([1e4 + 50 * np.sin(x1 / 3) * x2 + 0.01 * x3 ** 2,
                             2e3 * np.exp((x1 - 1000) / 4) + x2 * x3])
        dydx = np.empty((len(X), 2, 3))
        dydx[:, 0] = np.column_stack([50 / 3 * np.cos(x1 / 3) * x2, 50 * np.sin(x1 / 3), 0.02 * x3])
        dydx[:, 1] = np.column_stack([500 * np.exp((x1 - 1000) / 4), x3, x2])
        return y, dydx

    y_true, dydx_true = f(X)
    y = np.where(rng.random(y_true.shape) < 0.5, y_true, nan)
    dydx = np.where(rng.random(dydx_true.shape) < 0.4, dydx_true, nan)
    y[:3] = y_true[:3]  # at least three values of each output
    empty = np.isnan(y).all(axis=1) & np.isnan(dydx).all(axis=(1, 2))
    y[empty, 0] = y_true[empty, 0]
    return sj.Dataset(X, y=y, dydx=dydx), f


def scaled_inputs(scaler: Standardizer, X: np.ndarray) -> np.ndarray:
    return (X - scaler.x_mean) / scaler.x_scale


# ----- statistics of from_data and of the transformed data -----

def test_from_data_statistics_match_numpy(rng):
    data, _ = physical_dataset(rng)
    scaler = Standardizer.from_data(data)
    np.testing.assert_allclose(scaler.x_mean, data.X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(scaler.x_scale, data.X.std(axis=0), rtol=1e-13)
    for k in range(2):
        observed = data.y[~np.isnan(data.y[:, k]), k]
        assert scaler.y_mean[k] == pytest.approx(observed.mean(), rel=1e-15)
        assert scaler.y_scale[k] == pytest.approx(observed.std(), rel=1e-13)


def test_transformed_data_has_mean_0_std_1_and_keeps_nan(rng):
    data, _ = physical_dataset(rng)
    scaled = Standardizer.from_data(data).transform(data)
    np.testing.assert_allclose(scaled.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.X.std(axis=0), 1, rtol=1e-12)
    for k in range(2):
        observed = scaled.y[~np.isnan(scaled.y[:, k]), k]
        assert abs(observed.mean()) < 1e-12
        assert observed.std() == pytest.approx(1, rel=1e-12)
    np.testing.assert_array_equal(np.isnan(scaled.y), np.isnan(data.y))
    np.testing.assert_array_equal(np.isnan(scaled.dydx), np.isnan(data.dydx))
    assert (scaled.n_values, scaled.n_partials.tolist()) == (data.n_values, data.n_partials.tolist())


def test_transform_keeps_weights_and_names():
    data = sj.Dataset([[1.0, 2.0], [3.0, 5.0]], y=[[1.0, 2.0], [4.0, nan]], value_weight=0.25,
                      derivative_weight=3.0, input_names=["a", "b"], output_names=["u", "v"])
    scaled = Standardizer.from_data(data).transform(data)
    assert (scaled.value_weight, scaled.derivative_weight) == (0.25, 3.0)
    assert (scaled.input_names, scaled.output_names) == (("a", "b"), ("u", "v"))


@pytest.mark.skipif(not hasattr(sj.Dataset, "sample_weight"), reason="Dataset has no sample_weight yet")
def test_transform_keeps_sample_weight():
    data = sj.Dataset([[1.0], [3.0], [4.0]], y=[1.0, 2.0, 7.0], sample_weight=[0.5, 0.0, 2.0])
    scaled = Standardizer.from_data(data).transform(data)
    np.testing.assert_array_equal(scaled.sample_weight, [0.5, 0.0, 2.0])


def test_chain_rule_against_finite_differences(rng):
    # The standardised data must be the observations of g(x') = (f(x_mean + x_scale x') - y_mean) / y_scale.
    data, f = physical_dataset(rng, n=30)
    scaler = Standardizer.from_data(data)
    scaled = scaler.transform(data)

    def g(Xs: np.ndarray) -> np.ndarray:
        return (f(scaler.x_mean + scaler.x_scale * Xs)[0] - scaler.y_mean) / scaler.y_scale

    observed = ~np.isnan(scaled.y)
    np.testing.assert_allclose(scaled.y[observed], g(scaled.X)[observed], rtol=1e-12, atol=1e-12)
    h = 1e-4
    fd = np.empty((scaled.n_samples, 2, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        # 4th-order central differences.
        fd[:, :, j] = (-g(scaled.X + 2 * step) + 8 * g(scaled.X + step) - 8 * g(scaled.X - step)
                       + g(scaled.X - 2 * step)) / (12 * h)
    observed = ~np.isnan(scaled.dydx)
    assert observed.sum() > 20
    np.testing.assert_allclose(scaled.dydx[observed], fd[observed], rtol=1e-7, atol=1e-8)


# ----- degenerate cases -----

def test_constant_column_and_single_row_get_scale_1():
    data = sj.Dataset([[5.0, 1.0], [5.0, 3.0]], y=[[7.0], [nan]], dydx=[[nan, nan], [nan, 0.0]])
    scaler = Standardizer.from_data(data)
    assert scaler.x_mean.tolist() == [5.0, 2.0] and scaler.x_scale.tolist() == [1.0, 1.0]
    assert scaler.y_mean.tolist() == [7.0] and scaler.y_scale.tolist() == [1.0]
    np.testing.assert_array_equal(scaler.transform(data).X[:, 0], 0.0)
    one_row = Standardizer.from_data(sj.Dataset([[3.0]], y=[4.0]))
    assert one_row.to_dict() == {"x_mean": [3.0], "x_scale": [1.0], "y_mean": [4.0], "y_scale": [1.0]}


def test_rounding_noise_spread_is_degenerate():
    # 0.1 * 3 is not 0.3 in floating point: a "constant" column with a std of ~1e-17, not a signal.
    column = np.array([0.1 * 3, 0.3, 0.3, 0.1 + 0.2])
    assert column.std() > 0
    scaler = Standardizer.from_data(sj.Dataset(column[:, None], y=[1.0, 2.0, 3.0, 4.0]))
    assert scaler.x_scale.tolist() == [1.0]


def test_derivative_only_output_scale_from_partials():
    # Output 0: partials only. Per direction j, rms of dy/dx_j * x_scale_j; then rms over directions.
    X = np.array([[0.0, 0.0], [2.0, 10.0], [4.0, 20.0]])  # x_scale = sqrt(8/3), sqrt(200/3)
    dydx = np.array([[[3.0, nan]], [[-3.0, 0.5]], [[nan, nan]]])  # row 2 observes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = sj.Dataset(X, dydx=dydx)
    scaler = Standardizer.from_data(data)
    sx = np.sqrt([8 / 3, 200 / 3])
    rms_0 = 3.0 * sx[0]  # |3| and |-3|
    rms_1 = 0.5 * sx[1]
    assert scaler.y_mean.tolist() == [0.0]
    assert scaler.y_scale[0] == pytest.approx(np.sqrt((rms_0 ** 2 + rms_1 ** 2) / 2), rel=1e-14)
    scaled = scaler.transform(data)
    observed = scaled.dydx[~np.isnan(scaled.dydx)]
    # Each direction's rms, averaged in squares, is 1.
    per_direction = [np.sqrt(np.nanmean(scaled.dydx[:, 0, j] ** 2)) for j in range(2)]
    assert np.mean(np.square(per_direction)) == pytest.approx(1.0, rel=1e-13)
    assert observed.size == 3


def test_linear_function_partials_give_its_spread():
    # y = 4 x observed only through its (constant) partial: std(partial) would be 0; the rms gives
    # 4 * std(x), the std of y itself.
    X = np.linspace(-1, 3, 9)[:, None]
    scaler = Standardizer.from_data(sj.Dataset(X, dydx=np.full((9, 1), 4.0)))
    assert scaler.y_scale[0] == pytest.approx(4.0 * X.std(), rel=1e-14)


def test_single_value_falls_back_to_partials_then_1():
    X = np.array([[0.0], [1.0], [2.0]])
    with_partials = Standardizer.from_data(sj.Dataset(X, y=[5.0, nan, nan], dydx=[[nan], [2.0], [-2.0]]))
    assert with_partials.y_mean.tolist() == [5.0]
    assert with_partials.y_scale[0] == pytest.approx(2.0 * X.std(), rel=1e-14)
    zero_partials = Standardizer.from_data(sj.Dataset(X, y=[5.0, nan, nan], dydx=[[nan], [0.0], [0.0]]))
    assert zero_partials.y_scale.tolist() == [1.0]


def test_output_never_observed_gets_identity():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = sj.Dataset([[0.0], [1.0]], y=[[1.0, nan], [3.0, nan]])
    scaler = Standardizer.from_data(data)
    assert scaler.y_mean.tolist() == [2.0, 0.0] and scaler.y_scale.tolist() == [1.0, 1.0]


def test_inputs_and_outputs_flags():
    data = sj.Dataset([[1.0], [3.0]], y=[10.0, 30.0], dydx=[[2.0], [2.0]])
    assert Standardizer.from_data(data, inputs=False).to_dict() == {
        "x_mean": [0.0], "x_scale": [1.0], "y_mean": [20.0], "y_scale": [10.0]}
    assert Standardizer.from_data(data, outputs=False).to_dict() == {
        "x_mean": [2.0], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0]}
    assert Standardizer.from_data(data, inputs=False, outputs=False) == Standardizer.identity(1, 1)


def test_huge_magnitudes_do_not_overflow():
    data = sj.Dataset([[1e300], [3e300]], y=[-1e305, 1e305])
    scaler = Standardizer.from_data(data)  # RuntimeWarnings are errors in this suite
    assert scaler.x_mean[0] == pytest.approx(2e300) and scaler.x_scale[0] == pytest.approx(1e300)
    assert scaler.y_mean[0] == 0.0 and scaler.y_scale[0] == pytest.approx(1e305)
    scaled = scaler.transform(data)
    np.testing.assert_allclose(scaled.X.ravel(), [-1, 1], rtol=1e-14)
    np.testing.assert_allclose(scaled.y.ravel(), [-1, 1], rtol=1e-14)


def test_transform_overflow_is_an_error():
    scaler = Standardizer([0.0], [1e-300], [0.0], [1.0])
    with pytest.raises(ValueError, match="overflows"):
        scaler.transform(sj.Dataset([[1e10]], y=[1.0]))


def test_identity_changes_nothing(rng):
    data, _ = physical_dataset(rng, n=10)
    identity = Standardizer.identity(3, 2)
    assert identity.is_identity and not identity.scales_inputs and not identity.scales_outputs
    scaled = identity.transform(data)
    for name in ("X", "y", "dydx"):
        np.testing.assert_array_equal(getattr(scaled, name), getattr(data, name))
    net = sj.MLP([3, 4, 2], activations=["tanh", "sigmoid"])  # non-linear output: fine, nothing to fold
    params = net.init_params(3, seed=1)
    np.testing.assert_array_equal(identity.to_raw_params(net, params), params)
    np.testing.assert_array_equal(identity.to_scaled_params(net, params), params)


# ----- folding into the network -----

NETWORKS = [
    ([1, 1], ["linear"]),
    ([3, 2], ["linear"]),  # the first layer is the last: both folds on one layer
    ([2, 5, 1], ["tanh", "linear"]),
    ([3, 6, 4, 2], ["sigmoid", "softplus", "linear"]),
    ([3, 4, 4, 2], ["relu", "gelu", "linear"]),
    ([2, 3, 3, 3, 1], ["sin", "elu", "leaky_relu", "linear"]),
]


def random_scaler(rng: np.random.Generator, d_in: int, d_out: int) -> Standardizer:
    return Standardizer(rng.uniform(-1e3, 1e3, d_in), np.exp(rng.uniform(-3, 3, d_in)),
                        rng.uniform(-1e4, 1e4, d_out), np.exp(rng.uniform(-3, 6, d_out)))


@pytest.mark.parametrize("sizes, activations", NETWORKS)
def test_raw_params_compute_the_unscaled_function(rng, sizes, activations):
    net = sj.MLP(sizes, activations)
    scaler = random_scaler(rng, net.d_in, net.d_out)
    params = net.init_params(4, seed=rng)
    X_raw = scaler.x_mean + scaler.x_scale * rng.normal(size=(25, net.d_in))
    raw = scaler.to_raw_params(net, params)
    Y_scaled, J_scaled = net.value_and_jacobian(params, scaled_inputs(scaler, X_raw))
    Y_raw, J_raw = net.value_and_jacobian(raw, X_raw)
    np.testing.assert_allclose(Y_raw, scaler.y_mean + scaler.y_scale * Y_scaled, rtol=1e-11,
                               atol=1e-11 * np.abs(scaler.y_mean).max())
    np.testing.assert_allclose(net.predict(raw, X_raw), Y_raw, rtol=1e-12, atol=1e-8)
    # Chain rule: dy/dx_j = y_scale_k * dy'/dx'_j / x_scale_j.
    expected_J = J_scaled * scaler.y_scale[:, None] / scaler.x_scale[None, :]
    np.testing.assert_allclose(J_raw, expected_J, rtol=1e-9, atol=1e-9 * np.abs(expected_J).max())


@pytest.mark.parametrize("sizes, activations", NETWORKS)
def test_round_trips(rng, sizes, activations):
    net = sj.MLP(sizes, activations)
    scaler = random_scaler(rng, net.d_in, net.d_out)
    params = net.init_params(5, seed=rng)
    back = scaler.to_raw_params(net, scaler.to_scaled_params(net, params))
    np.testing.assert_allclose(back, params, rtol=1e-12, atol=1e-12)
    again = scaler.to_scaled_params(net, scaler.to_raw_params(net, params))
    np.testing.assert_allclose(again, params, rtol=1e-12, atol=1e-12)


def test_first_and_last_layer_by_hand():
    # [1, 2, 1] tanh: only W_1, b_1 (input map) and W_2, b_2 (output map) change, as the docstring says.
    net = sj.MLP([1, 2, 1], "tanh")
    scaler = Standardizer([10.0], [4.0], [100.0], [3.0])
    W1, b1, W2, b2 = np.array([[2.0], [-1.0]]), np.array([0.5, 1.0]), np.array([[1.0, 2.0]]), np.array([-1.0])
    theta = net.pack([(W1, b1), (W2, b2)])
    expected = net.pack([(W1 / 4.0, b1 - W1[:, 0] * 10.0 / 4.0), (3.0 * W2, 3.0 * b2 + 100.0)])
    np.testing.assert_allclose(scaler.to_raw_params(net, theta), expected, rtol=1e-15)


def test_non_linear_output_with_scaled_outputs_is_an_error(rng):
    net = sj.MLP([2, 5, 1], activations=["tanh", "sigmoid"])
    data = sj.Dataset(rng.uniform(0, 100, (20, 2)), y=rng.uniform(0.1, 0.9, 20))
    scaler = Standardizer.from_data(data)
    assert scaler.scales_outputs
    params = net.init_params(2, seed=0)
    for method in (scaler.to_raw_params, scaler.to_scaled_params):
        with pytest.raises(ValueError, match="outputs=False"):
            method(net, params)


def test_non_linear_output_with_outputs_false(rng):
    net = sj.MLP([2, 5, 1], activations=["tanh", "sigmoid"])
    X_raw = np.column_stack([rng.uniform(500, 520, 20), rng.uniform(-0.01, 0.01, 20)])
    data = sj.Dataset(X_raw, y=rng.uniform(0.1, 0.9, 20))
    scaler = Standardizer.for_network(net, data)
    assert scaler == Standardizer.from_data(data, outputs=False) and not scaler.scales_outputs
    params = net.init_params(3, seed=2)
    raw = scaler.to_raw_params(net, params)
    Y_scaled, J_scaled = net.value_and_jacobian(params, scaled_inputs(scaler, X_raw))
    Y_raw, J_raw = net.value_and_jacobian(raw, X_raw)
    np.testing.assert_allclose(Y_raw, Y_scaled, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J_raw, J_scaled / scaler.x_scale, rtol=1e-10, atol=1e-12)
    linear = sj.MLP([2, 5, 1], "tanh")
    assert Standardizer.for_network(linear, data) == Standardizer.from_data(data)


def test_float32_keeps_dtype_and_1d_matches_2d(rng):
    net = sj.MLP([3, 4, 2], "tanh")
    scaler = random_scaler(rng, 3, 2)
    params = net.init_params(3, seed=4)
    raw64 = scaler.to_raw_params(net, params)
    raw32 = scaler.to_raw_params(net, params.astype(np.float32))
    assert raw32.dtype == np.float32 and raw32.shape == params.shape
    # Folded in float64 and rounded once: float32 of the float64 result.
    np.testing.assert_array_equal(raw32, scaler.to_raw_params(net, params.astype(np.float32).astype(np.float64))
                                  .astype(np.float32))
    np.testing.assert_allclose(raw32, raw64, rtol=1e-6, atol=1e-6 * np.abs(raw64).max())
    one = scaler.to_raw_params(net, params[1])
    assert one.shape == (net.n_params,) and one.dtype == np.float64
    np.testing.assert_array_equal(one, raw64[1])
    assert scaler.to_scaled_params(net, params[1].astype(np.float32)).dtype == np.float32
    as_list = scaler.to_raw_params(net, params[0].tolist())
    np.testing.assert_array_equal(as_list, raw64[0])
    empty = scaler.to_raw_params(net, np.zeros((0, net.n_params)))
    assert empty.shape == (0, net.n_params)


def test_params_are_not_modified(rng):
    net = sj.MLP([2, 3, 1], "tanh")
    scaler = random_scaler(rng, 2, 1)
    params = net.init_params(2, seed=5)
    original = params.copy()
    params.setflags(write=False)  # a read-only input works and is never written
    scaler.to_raw_params(net, params)
    scaler.to_scaled_params(net, params)
    np.testing.assert_array_equal(params, original)
    strided = np.asfortranarray(original)  # not C-contiguous: read, not misread
    np.testing.assert_array_equal(scaler.to_raw_params(net, strided), scaler.to_raw_params(net, original))


def test_fitness_on_scaled_data_is_a_reweighted_raw_fitness(rng):
    # Y' - y' = (Y - y) / y_scale_k and J' - dydx' = (J - dydx) x_scale_j / y_scale_k, so the fitness on the
    # scaled data is the raw fitness with per-entry weights 1 / y_scale_k^2 (values) and
    # (x_scale_j / y_scale_k)^2 (partials).
    data, _ = physical_dataset(rng, n=40)
    data = sj.Dataset(data.X, y=data.y, dydx=data.dydx, value_weight=0.7, derivative_weight=1.3)
    scaler = Standardizer.from_data(data)
    scaled = scaler.transform(data)
    net = sj.MLP([3, 5, 2], "tanh")
    params = net.init_params(4, seed=6)
    raw = scaler.to_raw_params(net, params)
    Y, J = net.value_and_jacobian(raw, data.X)
    y_obs, d_obs = ~np.isnan(data.y), ~np.isnan(data.dydx)
    value_terms = ((Y - np.nan_to_num(data.y)) / scaler.y_scale) ** 2
    partial_terms = ((J - np.nan_to_num(data.dydx)) * scaler.x_scale / scaler.y_scale[:, None]) ** 2
    expected = (0.7 * (value_terms * y_obs).sum(axis=(1, 2)) / y_obs.sum()
                + 1.3 * (partial_terms * d_obs).sum(axis=(1, 2, 3)) / d_obs.sum())
    np.testing.assert_allclose(net.fitness(params, scaled), expected, rtol=1e-9)


@pytest.mark.skipif(not hasattr(sj.Dataset, "sample_weight"), reason="Dataset has no sample_weight yet")
def test_fitness_relation_with_sample_weights(rng):
    # The same per-entry reweighting inside the weighted means: row n counts sample_weight[n] times.
    data, _ = physical_dataset(rng, n=40)
    weights = rng.uniform(0, 3, data.n_samples)
    weights[:5] = 0.0
    data = sj.Dataset(data.X, y=data.y, dydx=data.dydx, sample_weight=weights)
    scaler = Standardizer.from_data(data)
    net = sj.MLP([3, 4, 2], "tanh")
    params = net.init_params(3, seed=9)
    Y, J = net.value_and_jacobian(scaler.to_raw_params(net, params), data.X)
    y_obs = ~np.isnan(data.y) * weights[:, None]
    d_obs = ~np.isnan(data.dydx) * weights[:, None, None]
    value_terms = ((Y - np.nan_to_num(data.y)) / scaler.y_scale) ** 2
    partial_terms = ((J - np.nan_to_num(data.dydx)) * scaler.x_scale / scaler.y_scale[:, None]) ** 2
    expected = ((value_terms * y_obs).sum(axis=(1, 2)) / y_obs.sum()
                + (partial_terms * d_obs).sum(axis=(1, 2, 3)) / d_obs.sum())
    np.testing.assert_allclose(net.fitness(params, scaler.transform(data)), expected, rtol=1e-9)


def test_fitness_relation_with_dataset_weights_for_one_output_and_equal_input_scales(rng):
    # With d_out = 1 and one x_scale for every input the per-entry weights are two constants, so the
    # relation holds with plain Dataset weights.
    X = rng.uniform(0, 50, (30, 2))
    y = np.where(rng.random(30) < 0.5, rng.normal(300, 40, 30), nan)
    dydx = np.where(rng.random((30, 2)) < 0.5, rng.normal(0, 20, (30, 2)), nan)
    y[:2] = [250.0, 350.0]
    y[np.isnan(dydx).all(axis=1)] = 300.0  # every row observes something
    data = sj.Dataset(X, y=y, dydx=dydx, value_weight=2.0, derivative_weight=0.5)
    scaler = Standardizer([20.0, 30.0], [7.0, 7.0], [300.0], [40.0])
    net = sj.MLP([2, 6, 1], "softplus")
    params = net.init_params(5, seed=7)
    reweighted = sj.Dataset(X, y=y, dydx=dydx, value_weight=2.0 / 40.0 ** 2,
                            derivative_weight=0.5 * 7.0 ** 2 / 40.0 ** 2)
    np.testing.assert_allclose(net.fitness(params, scaler.transform(data)),
                               net.fitness(scaler.to_raw_params(net, params), reweighted), rtol=1e-9)


def test_physical_units_by_hand():
    # y = 1e4 + 5 (x - 1000) at x = 998..1002: x_mean 1000, x_scale sqrt(2), y_mean 1e4, y_scale 5 sqrt(2);
    # the standardised data are y' = x' with dy'/dx' = 1, and y' = x' folds back to y = 5 x + 5000.
    X = np.arange(998.0, 1003.0)[:, None]
    y = 1e4 + 5 * (X[:, 0] - 1000)
    data = sj.Dataset(X, y=y, dydx=np.full((5, 1), 5.0))
    scaler = Standardizer.from_data(data)
    assert scaler.x_mean[0] == 1000.0 and scaler.y_mean[0] == 1e4
    assert scaler.x_scale[0] == pytest.approx(np.sqrt(2.0), rel=1e-15)
    assert scaler.y_scale[0] == pytest.approx(5 * np.sqrt(2.0), rel=1e-15)
    scaled = scaler.transform(data)
    np.testing.assert_allclose(scaled.X[:, 0], np.array([-2, -1, 0, 1, 2]) / np.sqrt(2.0), rtol=1e-15)
    np.testing.assert_allclose(scaled.y[:, 0], scaled.X[:, 0], rtol=1e-15)
    np.testing.assert_allclose(scaled.dydx, 1.0, rtol=1e-15)
    net = sj.MLP([1, 1], activations=["linear"])
    raw = scaler.to_raw_params(net, [1.0, 0.0])
    np.testing.assert_allclose(raw, [5.0, 5000.0], rtol=1e-14)
    np.testing.assert_allclose(net.predict(raw, X)[:, 0], y, rtol=1e-15)
    assert float(net.fitness(raw, data)) < 1e-20
    assert float(net.fitness([1.0, 0.0], scaled)) < 1e-28


def test_physical_units_network_keeps_float64_accuracy(rng):
    data, _ = physical_dataset(rng, n=50)
    net = sj.MLP([3, 8, 8, 2], "tanh")
    scaler = Standardizer.for_network(net, data)
    params = net.init_params(3, seed=8)
    raw = scaler.to_raw_params(net, params)
    Y_scaled, J_scaled = net.value_and_jacobian(params, scaler.transform(data).X)
    Y_raw, J_raw = net.value_and_jacobian(raw, data.X)
    # Values of ~1e4 to ~1e-12 relative, partials to ~1e-10: the fold loses only the cancellation in
    # W_1 x + b_1 with x ~ 1000.
    np.testing.assert_allclose(Y_raw, scaler.y_mean + scaler.y_scale * Y_scaled, rtol=1e-12)
    expected_J = J_scaled * scaler.y_scale[:, None] / scaler.x_scale
    np.testing.assert_allclose(J_raw, expected_J, rtol=1e-9, atol=1e-10 * np.abs(expected_J).max())


# ----- serialisation, comparison, repr -----

def test_dict_round_trip_through_json(rng):
    data, _ = physical_dataset(rng, n=20)
    scaler = Standardizer.from_data(data)
    spec = json.loads(json.dumps(scaler.to_dict()))
    back = Standardizer.from_dict(spec)
    assert back == scaler and hash(back) == hash(scaler)
    assert back != Standardizer.identity(3, 2)
    assert (scaler == "not a standardizer") is False


def test_repr():
    text = repr(Standardizer([1.0, 2.5], [3.0, 4.0], [5.0], [6.0]))
    assert text == "Standardizer(x_mean=[1. , 2.5], x_scale=[3., 4.], y_mean=[5.], y_scale=[6.])"


def test_arrays_are_read_only():
    scaler = Standardizer([1.0], [2.0], [3.0], [4.0])
    with pytest.raises(ValueError):
        scaler.x_scale[0] = 5.0
    source = np.array([2.0])
    scaler = Standardizer([1.0], source, [3.0], [4.0])
    source[0] = 7.0  # the Standardizer keeps its own copy
    assert scaler.x_scale.tolist() == [2.0]


# ----- bad input -----

@pytest.mark.parametrize("spec, error, match", [
    ([1, 2], TypeError, "must be a dict"),
    ({"x_mean": [0.0], "x_scale": [1.0], "y_mean": [0.0]}, ValueError, "missing \\['y_scale'\\]"),
    ({"x_mean": [0.0], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0], "z": 1}, ValueError, "unknown"),
    ({"x_mean": [0.0], "x_scale": [0.0], "y_mean": [0.0], "y_scale": [1.0]}, ValueError, "x_scale must be > 0"),
    ({"x_mean": [0.0], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [-2.0]}, ValueError, "y_scale must be > 0"),
    ({"x_mean": [nan], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0]}, ValueError, "x_mean must be finite"),
    ({"x_mean": [0.0], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [float("inf")]}, ValueError, "finite"),
    ({"x_mean": [0.0, 1.0], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0]}, ValueError,
     "x_scale must have shape \\(2,\\)"),
    ({"x_mean": [[0.0]], "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0]}, ValueError, "x_mean must be 1-D"),
    ({"x_mean": [], "x_scale": [], "y_mean": [0.0], "y_scale": [1.0]}, ValueError, "at least one"),
    ({"x_mean": "0", "x_scale": [1.0], "y_mean": [0.0], "y_scale": [1.0]}, TypeError, "x_mean"),
    ({"x_mean": [0.0], "x_scale": [1j], "y_mean": [0.0], "y_scale": [1.0]}, TypeError, "complex"),
])
def test_from_dict_rejects(spec, error, match):
    with pytest.raises(error, match=match):
        Standardizer.from_dict(spec)


def test_from_data_rejects_bad_arguments():
    data = sj.Dataset([[1.0]], y=[1.0])
    with pytest.raises(TypeError, match="data must be a swarmjac.Dataset"):
        Standardizer.from_data(np.ones((2, 2)))
    with pytest.raises(TypeError, match="inputs must be True or False"):
        Standardizer.from_data(data, inputs=1)
    with pytest.raises(TypeError, match="outputs must be True or False"):
        Standardizer.from_data(data, outputs="yes")
    with pytest.raises(TypeError):
        Standardizer.from_data(data, True)  # keyword-only flags
    assert Standardizer.from_data(data, inputs=np.bool_(False)) == Standardizer.from_data(data, inputs=False)


def test_identity_rejects_bad_widths():
    with pytest.raises(TypeError, match="d_in must be an int"):
        Standardizer.identity(2.0, 1)
    with pytest.raises(ValueError, match="d_out must be >= 1"):
        Standardizer.identity(2, 0)


def test_width_mismatches_are_errors():
    scaler = Standardizer.identity(2, 1)
    with pytest.raises(ValueError, match="d_in=1, d_out=1 but this Standardizer has d_in=2, d_out=1"):
        scaler.transform(sj.Dataset([[1.0]], y=[1.0]))
    with pytest.raises(TypeError, match="data must be a swarmjac.Dataset"):
        scaler.transform({"X": 1})
    with pytest.raises(ValueError, match="but this Standardizer has d_in=2"):
        scaler.to_raw_params(sj.MLP([3, 1]), np.zeros(4))
    with pytest.raises(ValueError, match="data has d_in=1"):
        Standardizer.for_network(sj.MLP([2, 1]), sj.Dataset([[1.0]], y=[1.0]))
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP"):
        Standardizer.for_network("net", sj.Dataset([[1.0]], y=[1.0]))


def test_to_raw_params_rejects_bad_params():
    net = sj.MLP([2, 3, 1], "tanh")
    scaler = Standardizer.identity(2, 1)
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP"):
        scaler.to_raw_params([2, 3, 1], np.zeros(net.n_params))
    with pytest.raises(ValueError, match=f"n_params={net.n_params} columns.*got shape \\(2, 5\\)"):
        scaler.to_raw_params(net, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="1-D or 2-D.*shape \\(1, 1, 13\\)"):
        scaler.to_raw_params(net, np.zeros((1, 1, net.n_params)))
    with pytest.raises(TypeError, match="complex"):
        scaler.to_scaled_params(net, np.zeros(net.n_params, dtype=complex))
    with pytest.raises(TypeError, match="params"):
        scaler.to_raw_params(net, np.array(["a"] * net.n_params))


def test_docstring_examples_run():
    failures, attempted = doctest.testmod(swarmjac.scaling, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 10 and failures == 0
