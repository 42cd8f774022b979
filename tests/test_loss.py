"""The loss terms (swarmjac/loss.py): weight decay in the kernels' fitness and gradient against the
reference, finite differences, a hand computation and ridge regression; the relative errors a fit reports."""
import numpy as np
import pytest

import swarmjac as sj
from swarmjac import reference
from swarmjac.loss import FitErrors, decay_rows, fit_errors, weight_mask


def _data(rng, n=40, d_in=2):
    X = rng.uniform(-1, 1, (n, d_in))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    dydx = np.stack([np.cos(X[:, 0]), 2 * X[:, 1]], axis=1)
    # mixed rows: each row observes the value or one partial
    kind = np.arange(n) % 3
    y = np.where(kind == 0, y, np.nan)
    dydx = np.where((kind[:, None] - 1) == np.arange(d_in)[None, :], dydx, np.nan)
    return sj.Dataset(X, y=y, dydx=dydx)


def test_weight_mask_matches_unpack():
    net = sj.MLP([3, 4, 2, 1])
    theta = np.arange(net.n_params, dtype=np.float64)
    weights = np.concatenate([W.ravel() for W, _ in net.unpack(theta)])
    np.testing.assert_array_equal(theta[weight_mask(net.layer_sizes)], weights)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fitness_adds_alpha_times_squared_weights_over_rows(dtype):
    rng = np.random.default_rng(0)
    net, data = sj.MLP([2, 5, 1]), _data(rng)
    params = net.init_params(4, seed=1).astype(dtype)
    alpha = 0.3
    plain = net.fitness(params, data)
    decayed = net.fitness(params, data, alpha=alpha)
    by_hand = np.array([sum(float(np.sum(W.astype(np.float64) ** 2)) for W, _ in net.unpack(p)) for p in params])
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(decayed, plain + alpha * by_hand / data.n_samples, rtol=tol)
    assert decayed.dtype == dtype


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_kernel_matches_reference_with_alpha(mode):
    rng = np.random.default_rng(2)
    net, data = sj.MLP([2, 6, 3, 1], activations="tanh"), _data(rng, n=30)
    params = net.init_params(3, seed=3)
    f, g = net.fitness_and_gradient(params, data, mode=mode, alpha=0.05)
    f_ref, g_ref = reference.fitness_and_gradient(net, params, data, alpha=0.05)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(net.fitness(params, data, mode=mode, alpha=0.05), f, rtol=0, atol=0)
    np.testing.assert_allclose(reference.fitness(net, params, data, alpha=0.05), f_ref, rtol=1e-12)


def test_gradient_with_alpha_matches_finite_differences():
    rng = np.random.default_rng(4)
    net, data = sj.MLP([2, 4, 1], activations="sigmoid"), _data(rng, n=25)
    theta = net.init_params(1, seed=5)[0]
    alpha = 0.7
    _, g = net.fitness_and_gradient(theta, data, alpha=alpha)
    h = 1e-5
    fd = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        # 4th-order central differences
        fd[i] = (-net.fitness(theta + 2 * step, data, alpha=alpha) + 8 * net.fitness(theta + step, data, alpha=alpha)
                 - 8 * net.fitness(theta - step, data, alpha=alpha)
                 + net.fitness(theta - 2 * step, data, alpha=alpha)) / (12 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_non_finite_particle_stays_inf_with_alpha():
    net, data = sj.MLP([2, 3, 1]), _data(np.random.default_rng(6))
    params = net.init_params(2, seed=0)
    params[1, 0] = np.nan
    f, g = net.fitness_and_gradient(params, data, alpha=1.0)
    assert np.isfinite(f[0]) and f[1] == np.inf
    assert np.all(np.isnan(g[1])) and np.all(np.isfinite(g[0]))


@pytest.mark.parametrize("alpha, error", [(-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                                          ("big", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_alpha_is_rejected_by_name(alpha, error):
    net, data = sj.MLP([2, 3, 1]), _data(np.random.default_rng(7))
    with pytest.raises(error, match="alpha"):
        net.fitness(net.init_params(1, seed=0), data, alpha=alpha)
    with pytest.raises(error, match="alpha"):
        net.objective(data, alpha=alpha)


def test_decay_rows_counts_rows_that_observe_something():
    X = np.zeros((4, 1))
    with pytest.warns(UserWarning, match="observe nothing"):
        data = sj.Dataset(X, y=[1.0, np.nan, np.nan, 2.0], dydx=[[np.nan], [3.0], [np.nan], [np.nan]])
    assert decay_rows(data) == 3


def test_fit_with_alpha_on_a_linear_network_is_ridge_regression():
    """f = mean((w.x + b - y)^2) + alpha |w|^2 / n has the minimiser of ||Xw + b - y||^2 + alpha |w|^2: ridge
    regression with an unpenalised intercept, solved here in closed form."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=30)
    alpha = 5.0
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(3), Xc.T @ yc)
    b = y.mean() - X.mean(axis=0) @ w
    net = sj.MLP([3, 1], activations=["linear"])
    res = sj.fit(net, sj.Dataset(X, y=y), n_particles=10, iters=10, seed=0, scale=False,
                 validation_fraction=0.0, alpha=alpha)
    np.testing.assert_allclose(res.params, np.r_[w, b], rtol=1e-6, atol=1e-8)
    # and the decay does what it should: the weights shrink against the unpenalised least squares fit
    plain = sj.fit(net, sj.Dataset(X, y=y), n_particles=10, iters=10, seed=0, scale=False, validation_fraction=0.0)
    assert np.linalg.norm(res.params[:3]) < np.linalg.norm(plain.params[:3])


def test_fit_errors_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0], [np.nan], [np.nan], [3.0]])
    dydx = np.full((4, 1, 2), np.nan)
    dydx[1, 0, 0], dydx[2, 0, 1] = 2.0, -1.0
    data = sj.Dataset(X, y=y, dydx=dydx)
    Y = np.array([[1.5], [0.0], [0.0], [2.0]])
    J = np.zeros((4, 1, 2))
    J[1, 0, 0], J[2, 0, 1] = 1.0, 1.0
    errors = fit_errors(Y, J, data, x_scale=np.array([2.0, 4.0]), y_scale=np.array([0.5]))
    assert errors.values == pytest.approx(np.sqrt((0.25 + 1.0) / 2) / 0.5)
    assert errors.partials == pytest.approx(np.mean([1.0 * 2.0 / 0.5, 2.0 * 4.0 / 0.5]))
    assert (errors.n_values, errors.n_partials) == (2, 2)
    assert np.isnan(FitErrors.nan().values)
