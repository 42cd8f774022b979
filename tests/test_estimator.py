"""Tests of swarmjac.estimator.Regressor: scikit-learn's estimator checks, pipelines and model selection,
clone and pickle, DataFrames, the Jacobian against finite differences, partial observations, sample weights
and bad input. The module is skipped without scikit-learn (a test/extra dependency, never the core's).
"""
from __future__ import annotations

import doctest
import inspect
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import swarmjac as sj  # noqa: E402
import swarmjac.estimator  # noqa: E402
from swarmjac.estimator import Regressor  # noqa: E402

# Small enough that the whole check run takes a few seconds, accurate enough for check_regressors_train
# (R^2 > 0.5 on its data; this configuration reaches about 0.9 with plain PSO).
FAST = dict(hidden_layer_sizes=(8,), n_particles=20, max_iter=100, n_threads=1, refine={"final_maxiter": 300})


def smooth(X: np.ndarray) -> np.ndarray:
    """A smooth test function of two inputs and its gradient (n, 2)."""
    return np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2


def smooth_gradient(X: np.ndarray) -> np.ndarray:
    return np.stack([2 * np.cos(2 * X[:, 0]), X[:, 1]], axis=1)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def expected_failed_checks(estimator: Regressor) -> dict[str, str]:
    """Checks that cannot pass, with the reason (parametrize_with_checks marks them xfail)."""
    failed = {
        "check_sample_weight_equivalence_on_dense_data":
            "weights and repeated rows give the same fitness only up to rounding (sums in another order), and "
            "a swarm search amplifies such differences into another path: the two fits agree to the fit's "
            "accuracy, not to the check's 1e-7",
    }
    return failed


@parametrize_with_checks([Regressor(**FAST)], expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ----- scikit-learn workflow -----

@pytest.fixture(scope="module")
def physical_data():
    """Inputs far from unit scale (x * 500 + 1000), y = smooth(standardised x)."""
    rng = np.random.default_rng(3)
    unit = rng.uniform(-1, 1, size=(240, 2))
    return unit * 500 + 1000, smooth(unit)


def test_pipeline_with_standard_scaler(physical_data):
    X, y = physical_data
    model = make_pipeline(StandardScaler(), Regressor((8,), n_particles=30, max_iter=200, random_state=0,
                                                      n_threads=1))
    model.fit(X[:160], y[:160])
    assert model.score(X[160:], y[160:]) > 0.9
    # The pipeline's prediction is the regressor's on the scaled inputs.
    scaler, regressor = model[0], model[-1]
    np.testing.assert_array_equal(model.predict(X[160:]), regressor.predict(scaler.transform(X[160:])))


def test_pipeline_routes_dydx(physical_data):
    # dydx reaches the regressor as a step parameter; after a StandardScaler the partials it needs are with
    # respect to the scaled inputs, dy/dx' = dy/dx * sigma_x (sigma_x as StandardScaler computes it).
    X, y = physical_data
    unit = (X - 1000) / 500
    gradient = smooth_gradient(unit) / 500  # raw units: X = 500 * unit + 1000
    observe_value = np.arange(len(X)) % 2 == 0
    y_mixed = np.where(observe_value, y, np.nan)
    dydx_mixed = np.where(observe_value[:, None], np.nan, gradient)
    sigma = X[:160].std(axis=0)
    model = make_pipeline(StandardScaler(), Regressor((8,), n_particles=30, max_iter=200, random_state=0,
                                                      n_threads=1))
    model.fit(X[:160], y_mixed[:160], regressor__dydx=dydx_mixed[:160] * sigma)
    np.testing.assert_array_equal(model[0].scale_, sigma)
    assert model.score(X[160:], y[160:]) > 0.9
    raw_partials = model[-1].predict_jacobian(model[0].transform(X[160:])) / sigma
    spread = gradient.max(axis=0) - gradient.min(axis=0)
    # About 0.1 of the spread here; partials passed unscaled (without * sigma) give 0.22 and R^2 0.88.
    assert np.all(np.sqrt(np.mean((raw_partials - gradient[160:]) ** 2, axis=0)) < 0.15 * spread)


def test_column_transformer_pipeline(physical_data):
    X, y = physical_data
    # A third column that the ColumnTransformer drops: the regressor sees two features.
    X3 = np.column_stack([X, np.random.default_rng(0).normal(size=len(X))])
    model = make_pipeline(ColumnTransformer([("scale", StandardScaler(), [0, 1])], remainder="drop"),
                          Regressor((8,), n_particles=30, max_iter=200, random_state=0, n_threads=1))
    model.fit(X3[:160], y[:160])
    assert model[-1].n_features_in_ == 2
    assert model.score(X3[160:], y[160:]) > 0.9


def test_cross_val_score(physical_data):
    X, y = physical_data
    model = make_pipeline(StandardScaler(), Regressor((8,), n_particles=30, max_iter=200, random_state=0,
                                                      n_threads=1))
    scores = cross_val_score(model, X, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert np.all(scores > 0.9), scores


def test_grid_search_picks_the_hidden_layer():
    # On a saddle a hidden layer beats the linear model (hidden_layer_sizes=()), which explains nothing.
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, size=(150, 2))
    y = X[:, 0] * X[:, 1]
    search = GridSearchCV(Regressor(n_particles=30, max_iter=200, random_state=0, n_threads=1),
                          {"hidden_layer_sizes": [(), (8,)]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"hidden_layer_sizes": (8,)}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > 0.9 and scores[0] < 0.2, scores
    assert search.best_estimator_.net_.layer_sizes == (2, 8, 1)


def test_clone_and_params():
    reg = Regressor((4, 4), "softplus", n_particles=12, max_iter=7, refine=None, random_state=3,
                    pso_options={"w": 0.6})
    params = reg.get_params()
    assert params["hidden_layer_sizes"] == (4, 4) and params["activation"] == "softplus"
    assert params["refine"] is None and params["pso_options"] == {"w": 0.6}
    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    reg.fit(X, X[:, 0])
    copy = clone(reg)
    assert copy.get_params() == params
    assert copy.pso_options is not reg.pso_options  # clone copies, it does not share
    assert not hasattr(copy, "net_")
    copy.set_params(max_iter=9, hidden_layer_sizes=(3,))
    assert copy.max_iter == 9 and reg.max_iter == 7
    assert copy.fit(X, X[:, 0]).net_.layer_sizes == (2, 3, 1)


def test_defaults_are_sj_fit_defaults():
    # The estimator's training defaults are the core's: a default Regressor trains as a default sj.fit.
    defaults = {name: parameter.default for name, parameter in inspect.signature(sj.fit).parameters.items()}
    reg = Regressor()
    assert (reg.n_particles, reg.max_iter) == (defaults["n_particles"], defaults["iters"])
    for name in ("scale", "refine"):
        if name in defaults:
            assert getattr(reg, name) == defaults[name], name
    assert reg.hidden_layer_sizes == (16, 16) and reg.activation == "tanh"


def test_same_seed_is_sj_fit_with_that_seed():
    # The estimator is an adapter: its fit is sj.fit on the same network, data and seed.
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(30, 2))
    y = smooth(X)
    reg = Regressor((5,), n_particles=15, max_iter=40, random_state=11, n_threads=1).fit(X, y)
    net = sj.MLP([2, 5, 1], activations="tanh")
    res = sj.fit(net, sj.Dataset(X, y), n_particles=15, iters=40, seed=11, n_threads=1, scale=reg.scale,
                 refine=reg.refine)
    assert reg.net_ == net
    np.testing.assert_array_equal(reg.params_, res.params)
    assert reg.cost_ == res.cost
    assert reg.n_iter_ == 40
    np.testing.assert_array_equal(reg.predict(X), net.predict(res.params, X)[:, 0])


def test_random_state_forms():
    X = np.random.default_rng(6).uniform(-1, 1, size=(20, 1))
    fits = [Regressor((3,), n_particles=10, max_iter=10, random_state=state, n_threads=1).fit(X, X[:, 0]).params_
            for state in (np.random.RandomState(0), np.random.RandomState(0), np.random.default_rng(0), 0)]
    np.testing.assert_array_equal(fits[0], fits[1])  # the same RandomState draws the same seed
    np.testing.assert_array_equal(fits[2], fits[3])  # a Generator or an int is passed on as sj.fit's seed


def test_pickle_round_trip():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(40, 3))
    y = np.column_stack([smooth(X), X[:, 2]])
    reg = Regressor((6,), n_particles=15, max_iter=30, random_state=0, n_threads=1).fit(X, y)
    loaded = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    np.testing.assert_array_equal(loaded.predict_jacobian(X), reg.predict_jacobian(X))
    assert loaded.get_params() == reg.get_params()
    assert loaded.net_ == reg.net_ and loaded.n_outputs_ == 2


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    X = rng.uniform(-1, 1, size=(40, 2))
    frame = pd.DataFrame(X, columns=["pressure", "temperature"])
    y = pd.Series(smooth(X), name="yield")
    reg = Regressor((6,), n_particles=15, max_iter=30, random_state=0, n_threads=1).fit(frame, y)
    assert list(reg.feature_names_in_) == ["pressure", "temperature"]
    assert reg.n_features_in_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same columns: no feature-name warning
        from_frame = reg.predict(frame)
    with pytest.warns(UserWarning, match="feature names"):
        from_array = reg.predict(X)
    np.testing.assert_array_equal(from_frame, from_array)
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(frame[["temperature", "pressure"]])
    # Without string column names there is no feature_names_in_.
    assert not hasattr(clone(reg).fit(X, smooth(X)), "feature_names_in_")


# ----- derivatives -----

def test_predict_jacobian_matches_finite_differences():
    rng = np.random.default_rng(9)
    X = rng.uniform(-1, 1, size=(50, 3))
    y = np.column_stack([smooth(X), X[:, 1] * X[:, 2]])
    # Two outputs, with a few partials of the second one observed (the 3-D dydx path).
    dydx = np.full((50, 2, 3), np.nan)
    dydx[::5, 1, 1], dydx[::5, 1, 2] = X[::5, 2], X[::5, 1]
    reg = Regressor((6,), "tanh", n_particles=15, max_iter=30, random_state=0, n_threads=1)
    reg.fit(X, y, dydx=dydx)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (50, 2)
    J = reg.predict_jacobian(X[:10])
    assert J.shape == (10, 2, 3)
    # 4th-order central differences of predict along each input (h small: a polished network is sharp, and
    # the truncation error grows with its curvature).
    h = 1e-4
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        f = {k: reg.predict(X[:10] + k * step) for k in (-2, -1, 1, 2)}
        fd = (f[-2] - 8 * f[-1] + 8 * f[1] - f[2]) / (12 * h)
        np.testing.assert_allclose(J[:, :, j], fd, rtol=1e-7, atol=1e-9)
    # 1-D y: (n_samples, n_features), the same as the 2-D case's single output.
    single = Regressor((6,), n_particles=15, max_iter=30, random_state=0, n_threads=1).fit(X, y[:, 0])
    column = Regressor((6,), n_particles=15, max_iter=30, random_state=0, n_threads=1).fit(X, y[:, :1])
    assert single.predict(X).shape == (50,) and column.predict(X).shape == (50, 1)
    assert single.predict_jacobian(X).shape == (50, 3)
    np.testing.assert_array_equal(single.predict_jacobian(X), column.predict_jacobian(X)[:, 0, :])


def test_partial_observations_improve_the_fit():
    # 12 rows observe the value; 30 more observe only dy/dx1 (y and dy/dx2 NaN). The partial-only rows must
    # cut the held-out error of dy/dx1 against a fit on the 12 values alone.
    rng = np.random.default_rng(1)
    X_values = rng.uniform(-1, 1, size=(12, 2))
    X_partials = rng.uniform(-1, 1, size=(30, 2))
    X_test = rng.uniform(-1, 1, size=(500, 2))
    X = np.vstack([X_values, X_partials])
    y = np.concatenate([smooth(X_values), np.full(30, np.nan)])
    dydx = np.full((42, 2), np.nan)
    dydx[12:, 0] = smooth_gradient(X_partials)[:, 0]
    settings = dict(hidden_layer_sizes=(8,), n_particles=40, max_iter=300, random_state=0, n_threads=1)
    values_only = Regressor(**settings).fit(X_values, smooth(X_values))
    mixed = Regressor(**settings).fit(X, y, dydx=dydx)
    truth = smooth_gradient(X_test)[:, 0]
    error_values_only = rmse(values_only.predict_jacobian(X_test)[:, 0], truth)
    error_mixed = rmse(mixed.predict_jacobian(X_test)[:, 0], truth)
    assert error_mixed < 0.5 * error_values_only, (error_mixed, error_values_only)
    # The same partials as (n, 1, n_features) give the same fit as (n, n_features) for 1-D y.
    same = Regressor(**settings).fit(X, y, dydx=dydx[:, None, :])
    np.testing.assert_array_equal(same.params_, mixed.params_)


def test_derivative_only_data():
    # y=None with dydx: the slope is learned, the constant is free (compare differences of predictions).
    X = np.linspace(-1, 1, 30)[:, None]
    reg = Regressor((), n_particles=20, max_iter=200, random_state=0, n_threads=1)
    reg.fit(X, None, dydx=np.full((30, 1), 2.5))
    assert reg.predict(X).shape == (30,)
    np.testing.assert_allclose(reg.predict_jacobian(X), 2.5, rtol=1e-6)
    np.testing.assert_allclose(reg.predict(X) - reg.predict(X[:1]), 2.5 * (X[:, 0] - X[0, 0]), atol=1e-6)


# ----- sample weights -----

def test_sample_weight_is_weighted_least_squares():
    # A linear model (no hidden layer) on two inconsistent lines: the fit must be the weighted least-squares
    # line, computed here by NumPy.
    rng = np.random.default_rng(10)
    x = rng.uniform(-1, 1, size=60)
    y = np.where(np.arange(60) < 30, 2 * x + 1, -x)
    weights = np.where(np.arange(60) < 30, 5.0, 1.0)
    reg = Regressor((), n_particles=30, max_iter=300, random_state=0, n_threads=1)
    reg.fit(x[:, None], y, sample_weight=weights)
    design = np.column_stack([x, np.ones_like(x)]) * np.sqrt(weights)[:, None]
    slope, intercept = np.linalg.lstsq(design, y * np.sqrt(weights), rcond=None)[0]
    np.testing.assert_allclose(reg.predict([[0.0], [1.0]]), [intercept, slope + intercept], atol=1e-4)
    unweighted = clone(reg).fit(x[:, None], y)
    assert abs(unweighted.predict_jacobian([[0.0]])[0, 0] - slope) > 0.3  # the weights mattered


def test_zero_and_equal_weights_are_exact():
    # Rows of weight 0 are left out and equal weights are no weights: bit-identical fits, with or without
    # Dataset support for sample_weight.
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = smooth(X)
    settings = dict(hidden_layer_sizes=(5,), n_particles=15, max_iter=30, random_state=0, n_threads=1)
    plain = Regressor(**settings).fit(X[:30], y[:30])
    garbage = np.vstack([X[:30], rng.uniform(-1, 1, size=(10, 2))])
    zero = Regressor(**settings).fit(garbage, np.concatenate([y[:30], np.full(10, 99.0)]),
                                     sample_weight=np.r_[np.full(30, 3.0), np.zeros(10)])
    np.testing.assert_array_equal(zero.params_, plain.params_)
    assert zero.n_features_in_ == 2


# ----- bad input -----

def test_bad_input_names_the_argument():
    rng = np.random.default_rng(12)
    X = rng.uniform(-1, 1, size=(20, 3))
    y = X[:, 0]
    reg = Regressor(**FAST)
    with pytest.raises(ValueError, match=r"dydx must have shape .*\(20, 3\).*\(20, 1, 3\).*got \(20, 2\)"):
        reg.fit(X, y, dydx=np.zeros((20, 2)))
    with pytest.raises(ValueError, match=r"dydx .*\(20, 2, 3\).*got \(20, 3\)"):
        reg.fit(X, np.column_stack([y, y]), dydx=np.zeros((20, 3)))  # 2-D y needs 3-D dydx
    with pytest.raises(ValueError, match=r"dydx .*got \(19, 1, 3\)"):
        reg.fit(X, y, dydx=np.zeros((19, 1, 3)))
    with pytest.raises(ValueError, match="dydx"):
        reg.fit(X, y, dydx=np.full((20, 3), np.inf))
    with pytest.raises(ValueError, match="y"):
        reg.fit(X, y[:-1])
    with pytest.raises(ValueError, match="y"):
        reg.fit(X, np.zeros((20, 1, 1)))
    with pytest.raises(ValueError, match="observe nothing"):
        reg.fit(X, np.full(20, np.nan), dydx=np.full((20, 3), np.nan))
    with pytest.raises(ValueError, match="requires y"):
        reg.fit(X, None)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        reg.fit(X_nan, y)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        Regressor(hidden_layer_sizes="8").fit(X, y)
    with pytest.raises(ValueError, match="n_particles"):
        Regressor(n_particles=0).fit(X, y)
    with pytest.raises(TypeError, match="pso_options"):
        Regressor(pso_options=[("w", 0.5)]).fit(X, y)
    fitted = clone(reg).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        fitted.predict_jacobian(X[:, :2])


# ----- packaging -----

def test_docstring_examples():
    result = doctest.testmod(swarmjac.estimator, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


def test_core_does_not_import_sklearn():
    code = ("import sys, swarmjac; net = swarmjac.MLP([1, 1]); "
            "assert not any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules), 'sklearn loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_sklearn_the_core_works_and_the_estimator_says_what_to_install():
    code = """
import sys
sys.modules["sklearn"] = None  # from here on, importing scikit-learn raises ImportError
import swarmjac
from swarmjac import *
MLP([1, 1])
for attempt in ("import swarmjac.estimator", "swarmjac.Regressor"):
    try:
        exec(attempt)
    except ImportError as exc:
        assert "pip install 'swarmjac[sklearn]'" in str(exc), exc
    except AttributeError:
        assert attempt == "swarmjac.Regressor"  # not exported (yet): nothing to check
    else:
        raise AssertionError(attempt + " did not raise ImportError")
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exported_lazily():
    assert sj.Regressor is Regressor


# ----- held-out selection, weight decay and ensembles -----

def test_selection_defaults_are_sj_fit_defaults():
    defaults = {name: parameter.default for name, parameter in inspect.signature(sj.fit).parameters.items()}
    reg = Regressor()
    for name in ("alpha", "validation_fraction", "ensemble_size"):
        assert getattr(reg, name) == defaults[name], name
    assert defaults["ensemble_size"] == 1


@pytest.fixture(scope="module")
def ensemble_fit():
    rng = np.random.default_rng(8)
    X = rng.uniform(-1, 1, size=(60, 2))
    settings = dict(n_particles=16, max_iter=15, random_state=2, n_threads=1, ensemble_size=3,
                    validation_fraction=0.25, alpha=1e-4)
    reg = Regressor((5,), **settings).fit(X, smooth(X), dydx=smooth_gradient(X))
    return reg, X


def test_ensemble_settings_are_passed_to_sj_fit(ensemble_fit):
    reg, X = ensemble_fit
    data = sj.Dataset(X, smooth(X)[:, None], dydx=smooth_gradient(X)[:, None, :])
    res = sj.fit(sj.MLP([2, 5, 1]), data, n_particles=16, iters=15, seed=2, n_threads=1, ensemble_size=3,
                 validation_fraction=0.25, alpha=1e-4, scale=reg.scale, refine=reg.refine)
    assert isinstance(reg.ensemble_, sj.Ensemble) and reg.ensemble_.size == 3
    assert reg.ensemble_ == res.ensemble
    np.testing.assert_array_equal(reg.params_, res.params)
    for attribute in ("values", "partials"):  # (assert_equal: NaN equals NaN)
        np.testing.assert_equal(getattr(reg.training_error_, attribute), getattr(res.training_error, attribute))
        np.testing.assert_equal(getattr(reg.validation_error_, attribute),
                                getattr(res.validation_error, attribute))


def test_predict_return_std_is_the_members_mean_and_spread(ensemble_fit):
    reg, X = ensemble_fit
    members = reg.ensemble_.members
    Y = np.stack([reg.net_.predict(theta, X)[:, 0] for theta in members])
    J = np.stack([reg.net_.value_and_jacobian(theta, X)[1][:, 0, :] for theta in members])
    mean, spread = reg.predict(X, return_std=True)
    assert mean.shape == spread.shape == (60,)  # 1-D y: 1-D outputs, as predict
    np.testing.assert_allclose(mean, Y.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(spread, Y.std(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(reg.predict(X), mean)
    jacobian, jacobian_spread = reg.predict_jacobian(X, return_std=True)
    assert jacobian.shape == jacobian_spread.shape == (60, 2)
    np.testing.assert_allclose(jacobian, J.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jacobian_spread, J.std(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(reg.predict_jacobian(X), jacobian)
    assert np.all(spread >= 0) and np.any(spread > 0)
    assert reg.score(X, smooth(X)) == pytest.approx(1 - np.sum((smooth(X) - mean) ** 2)
                                                    / np.sum((smooth(X) - smooth(X).mean()) ** 2))


def test_return_std_of_one_network_is_an_error_and_errors_are_reported():
    X = np.random.default_rng(9).uniform(-1, 1, size=(30, 2))
    y = np.column_stack([smooth(X), X[:, 0]])
    reg = Regressor((4,), n_particles=10, max_iter=5, random_state=0, n_threads=1).fit(X, y)
    assert reg.ensemble_ is None
    for method in (reg.predict, reg.predict_jacobian):
        with pytest.raises(ValueError, match="return_std=True needs an ensemble: this model is one network "
                                             r"\(fitted with ensemble_size=1\)"):
            method(X, return_std=True)
        with pytest.raises(TypeError, match="return_std must be True or False, got int"):
            method(X, return_std=1)
    assert reg.predict(X).shape == (30, 2) and reg.predict_jacobian(X).shape == (30, 2, 2)
    assert np.isfinite(reg.training_error_.values)
    assert np.isnan(reg.training_error_.partials)  # no partial observed


def test_ensemble_multi_output_shapes_and_pickle():
    X = np.random.default_rng(10).uniform(-1, 1, size=(40, 3))
    y = np.column_stack([smooth(X), X[:, 2]])
    reg = Regressor((4,), n_particles=10, max_iter=5, random_state=0, n_threads=1, ensemble_size=2).fit(X, y)
    mean, spread = reg.predict(X, return_std=True)
    jacobian, jacobian_spread = reg.predict_jacobian(X, return_std=True)
    assert mean.shape == spread.shape == (40, 2) and jacobian.shape == jacobian_spread.shape == (40, 2, 3)
    loaded = pickle.loads(pickle.dumps(reg))
    assert loaded.ensemble_ == reg.ensemble_
    np.testing.assert_array_equal(loaded.predict(X, return_std=True)[1], spread)
