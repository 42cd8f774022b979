"""Held-out validation of the trainer (swarmjac/validation.py, fit(validation_fraction=)): the stratified
split, the small-data rule, the errors a fit reports, and that validation chooses the returned model."""
import warnings

import numpy as np
import pytest

import swarmjac as sj
from swarmjac.loss import fit_errors
from swarmjac.validation import MIN_VALIDATION_ROWS, observation_pattern, split_rows


def _mixed(n, rng, noise=0.0):
    """Rows that observe the value or one partial of y = sin(2 x1) + x2^2 (d_in = 2)."""
    X = rng.uniform(-1, 1, (n, 2))
    value = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    grad = np.stack([2 * np.cos(2 * X[:, 0]), 2 * X[:, 1]], axis=1)
    value = value + noise * rng.normal(size=n)
    grad = grad + noise * rng.normal(size=grad.shape)
    kind = np.arange(n) % 3
    y = np.where(kind == 0, value, np.nan)
    dydx = np.where((kind[:, None] - 1) == np.arange(2)[None, :], grad, np.nan)
    return sj.Dataset(X, y=y, dydx=dydx)


def test_split_is_stratified_by_what_rows_observe():
    data = _mixed(300, np.random.default_rng(0))
    train, held_out = split_rows(data, 0.2, np.random.default_rng(1))
    assert len(np.intersect1d(train, held_out)) == 0
    np.testing.assert_array_equal(np.sort(np.r_[train, held_out]), np.arange(300))
    labels = observation_pattern(data)
    for label in np.unique(labels):
        group = np.flatnonzero(labels == label)
        assert np.isin(group, held_out).sum() == round(0.2 * len(group))


def test_split_keeps_a_training_row_of_every_kind():
    X = np.arange(30.0)[:, None]
    y = np.full(30, np.nan)
    y[:28] = X[:28, 0]
    dydx = np.full((30, 1), np.nan)
    dydx[28:] = 1.0            # two partial rows only
    train, held_out = split_rows(sj.Dataset(X, y=y, dydx=dydx), 0.9, np.random.default_rng(0))
    assert set(train) & {28, 29}, "one of the two partial rows must stay in training"
    assert len(train) >= 2


def test_small_data_explicit_fraction_warns_and_uses_every_row():
    data = _mixed(12, np.random.default_rng(2))
    with pytest.warns(UserWarning, match="holds out only"):
        res = sj.fit(sj.MLP([2, 3, 1]), data, n_particles=5, iters=2, seed=0, validation_fraction=0.2,
                     refine={"final_maxiter": 5})
    assert len(res.validation_rows) == 0
    assert np.isnan(res.validation_error.values) and np.isnan(res.validation_error.partials)
    assert np.isfinite(res.training_error.values)


def test_small_data_default_fraction_is_quiet():
    data = _mixed(12, np.random.default_rng(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        res = sj.fit(sj.MLP([2, 3, 1]), data, n_particles=5, iters=2, seed=0, refine={"final_maxiter": 5})
    assert len(res.validation_rows) == 0


@pytest.mark.parametrize("fraction, error", [(1.0, ValueError), (-0.1, ValueError), (np.nan, ValueError),
                                             ("0.2", TypeError), (True, TypeError)])
def test_bad_validation_fraction(fraction, error):
    with pytest.raises(error, match="validation_fraction"):
        sj.fit(sj.MLP([2, 3, 1]), _mixed(30, np.random.default_rng(0)), validation_fraction=fraction)


def test_held_out_rows_depend_on_the_data_only():
    data = _mixed(90, np.random.default_rng(4))
    kwargs = dict(n_particles=6, iters=3, refine={"final_maxiter": 5}, validation_fraction=0.2)
    a = sj.fit(sj.MLP([2, 3, 1]), data, seed=0, **kwargs)
    b = sj.fit(sj.MLP([2, 3, 1]), data, seed=1, **kwargs)
    np.testing.assert_array_equal(a.validation_rows, b.validation_rows)
    assert len(a.validation_rows) == 18


def test_reported_errors_are_those_of_the_returned_model():
    data = _mixed(120, np.random.default_rng(5))
    # refit_maxiter=0: the returned model is the one the held-out rows judged (a refit moves it after)
    res = sj.fit(sj.MLP([2, 6, 1]), data, n_particles=10, iters=10, seed=0, validation_fraction=0.25,
                 refine={"final_maxiter": 200, "refit_maxiter": 0})
    train_rows = np.setdiff1d(np.arange(120), res.validation_rows)
    scales = sj.Standardizer.from_data(data.subset(train_rows))
    for rows, reported in ((train_rows, res.training_error), (res.validation_rows, res.validation_error)):
        part = data.subset(rows)
        Y, J = res.net.value_and_jacobian(res.params, part.X)
        by_hand = fit_errors(Y, J, part, scales.x_scale, scales.y_scale)
        assert reported.values == pytest.approx(by_hand.values, rel=1e-12)
        assert reported.partials == pytest.approx(by_hand.partials, rel=1e-12)
    assert res.validation_error.n_values + res.validation_error.n_partials == len(res.validation_rows)
    # With the refit on every row, the training error is that of the returned (refit) model, and the
    # validation error that of the chosen model before the refit, which the refit cannot make worse on
    # the training rows by much: the refit minimises the cost of every row.
    refit = sj.fit(sj.MLP([2, 6, 1]), data, n_particles=10, iters=10, seed=0, validation_fraction=0.25,
                   refine={"final_maxiter": 200, "refit_maxiter": 200})
    assert refit.validation_error == res.validation_error
    assert refit.refinements[-1].phase == "refit"
    Y, J = refit.net.value_and_jacobian(refit.params, data.subset(train_rows).X)
    assert refit.training_error == fit_errors(Y, J, data.subset(train_rows), scales.x_scale, scales.y_scale)
    assert refit.cost <= res.cost


def test_validation_chooses_the_candidate_with_the_lowest_held_out_error():
    """With several polished candidates, the returned model is the one with the lowest held-out cost, and
    without validation the one with the lowest training cost (scale=False, so that the ranking is in the
    units of net.fitness)."""
    data = _mixed(150, np.random.default_rng(6), noise=0.05)
    net = sj.MLP([2, 12, 12, 1])
    # deep_maxiter=0, refit_maxiter=0: the members are the candidates as the held-out rows ranked them
    common = dict(n_particles=12, iters=6, seed=0, ensemble_size=4, scale=False,
                  refine={"final_top": 4, "final_maxiter": 300, "deep_maxiter": 0, "refit_maxiter": 0})
    res = sj.fit(net, data, validation_fraction=0.3, **common)
    held_out = data.subset(res.validation_rows)
    members = res.ensemble.members
    costs = net.fitness(members, held_out)
    assert np.argmin(costs) == 0 and np.array_equal(members[0], res.params)
    assert np.all(np.diff(costs) >= 0)
    no_validation = sj.fit(net, data, validation_fraction=0.0, **common)
    train_costs = net.fitness(no_validation.ensemble.members, data)
    assert np.argmin(train_costs) == 0
    assert len(no_validation.validation_rows) == 0 and np.isnan(no_validation.validation_error.values)
