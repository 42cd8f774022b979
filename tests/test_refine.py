"""Refinement and polish (swarmjac/refine.py) on the batched L-BFGS: against SciPy's L-BFGS-B through the
trainer's own entry points, early stopping on held-out data, and the per-particle stop of the callback."""
import numpy as np
import pytest
from scipy.optimize import minimize

import swarmjac as sj
from swarmjac.demo import make_demo_data
from swarmjac.lbfgs import LBFGSStatus, minimize_batched
from swarmjac.refine import RefineOptions, VALIDATE_EVERY, polish_candidates, refine_positions


def _problem(n=120, seed=0, noise=0.0):
    data = make_demo_data(n, seed=seed)
    rng = np.random.default_rng(seed)
    if noise:
        y = data.y + noise * np.nanstd(data.y) * rng.normal(size=data.y.shape)
        dydx = data.dydx + noise * np.nanstd(data.dydx) * rng.normal(size=data.dydx.shape)
        data = sj.Dataset(data.X, y=y, dydx=dydx)
    net = sj.MLP([2, 8, 8, 1], "tanh")
    return net, sj.Standardizer.for_network(net, data).transform(data)


def test_refine_positions_is_at_least_as_good_as_scipy_for_the_same_iterations():
    """Median over starts: the batched L-BFGS reaches a loss no worse than SciPy's L-BFGS-B (same memory,
    same iteration budget) on the network's own loss."""
    net, data = _problem()
    starts = net.init_params(6, seed=1)
    ours, ours_costs, _ = refine_positions(net, data, starts, maxiter=150, alpha=1e-3)
    scipy_costs = []
    for start in starts:
        result = minimize(lambda t: net.fitness_and_gradient(t, data, alpha=1e-3), start, jac=True,
                          method="L-BFGS-B", options={"maxiter": 150, "maxcor": 20, "gtol": 1e-12, "ftol": 0.0})
        scipy_costs.append(result.fun)
    np.testing.assert_allclose(net.fitness(ours, data, alpha=1e-3), ours_costs, rtol=1e-12)
    assert np.median(ours_costs) <= 1.1 * np.median(scipy_costs)
    assert np.all(ours_costs <= net.fitness(starts, data, alpha=1e-3))


def test_refinement_does_not_depend_on_the_batch_or_the_threads():
    net, data = _problem(seed=2)
    starts = net.init_params(5, seed=3)
    together, costs, _ = refine_positions(net, data, starts, maxiter=40, n_threads=2)
    for i in (0, 3):
        alone, cost, _ = refine_positions(net, data, starts[i:i + 1], maxiter=40, n_threads=1)
        np.testing.assert_array_equal(alone[0], together[i])
        assert cost[0] == costs[i]


def test_polish_returns_each_candidates_point_of_lowest_held_out_cost():
    net, train = _problem(n=150, seed=4, noise=0.05)
    _, held_out = _problem(n=60, seed=5, noise=0.05)
    starts = net.init_params(4, seed=6)
    costs = net.fitness(starts, train)
    options = RefineOptions(final_top=4, final_maxiter=400, patience=0)
    polished = polish_candidates(net, train, starts, costs, options, validation_data=held_out)
    # The point kept is never worse on the held-out rows than the start, nor than the end of the run
    order = np.argsort(costs, kind="stable")
    end, _, _ = refine_positions(net, train, starts[order], maxiter=400)
    assert np.all(polished.validation_costs <= net.fitness(starts[order], held_out))
    assert np.all(polished.validation_costs <= net.fitness(end, held_out) + 1e-15)
    np.testing.assert_allclose(polished.validation_costs, net.fitness(polished.positions, held_out), rtol=1e-12)
    np.testing.assert_allclose(polished.costs, net.fitness(polished.positions, train), rtol=1e-12)


def test_patience_stops_a_polish_that_no_longer_improves_the_held_out_cost():
    """Held-out rows that contradict the training rows: the held-out cost rises as the training cost falls,
    so the polish stops after `patience` evaluations instead of running to final_maxiter."""
    net, train = _problem(n=100, seed=7)
    contradicting = sj.Dataset(train.X, y=-train.y, dydx=-train.dydx)
    start = net.init_params(1, seed=8)
    options = RefineOptions(final_top=1, final_maxiter=5000, patience=50)
    polished = polish_candidates(net, train, start, net.fitness(start, train), options,
                                 validation_data=contradicting)
    assert polished.n_evaluations < 50 + 5 * VALIDATE_EVERY + 20
    unstopped = polish_candidates(net, train, start, net.fitness(start, train),
                                  RefineOptions(final_top=1, final_maxiter=300, patience=0))
    assert unstopped.n_evaluations > polished.n_evaluations


def test_callback_mask_stops_single_particles():
    centres = np.arange(6.0).reshape(3, 2)

    def fun(X, rows):
        return ((X - centres[rows]) ** 2).sum(axis=1), 2 * (X - centres[rows])

    def stop_the_middle_one(x_best, f_best, running):
        return np.array([False, True, False])

    result = minimize_batched(fun, np.zeros((3, 2)) + 10.0, gtol=1e-10, pass_rows=True, callback=stop_the_middle_one)
    assert result.status[1] == LBFGSStatus.CALLBACK and result.nfev[1] == 2
    np.testing.assert_allclose(result.x[[0, 2]], centres[[0, 2]], atol=1e-8)
    with pytest.raises(ValueError, match="callback"):
        minimize_batched(fun, np.zeros((3, 2)), pass_rows=True, callback=lambda *a: np.zeros(2, dtype=bool))
