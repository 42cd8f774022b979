"""The hybrid trainer (sj.fit's defaults): standardised data in physical units, L-BFGS refinement and
polish, results in the user's units, its options and what it records."""
from __future__ import annotations

import numpy as np
import pytest

import swarmjac as sj
from swarmjac.demo import demo_function, demo_gradient, make_demo_data

QUICK = dict(n_particles=30, iters=60, seed=0, refine={"every": 20, "final_maxiter": 400})


def _physical(data: sj.Dataset, x_scale: float, x_shift: float, y_scale: float) -> sj.Dataset:
    """The same observations in other units: x' = x * x_scale + x_shift, y' = y * y_scale (partials by the
    chain rule)."""
    return sj.Dataset(data.X * x_scale + x_shift, y=data.y * y_scale, dydx=data.dydx * (y_scale / x_scale))


def _held_out_errors(net, params, x_scale=1.0, x_shift=0.0, y_scale=1.0):
    """Relative RMSE of values and of each partial, on fresh demo points in the given units."""
    X = np.random.default_rng(99).uniform(-2, 2, size=(500, 2))
    Y, J = net.value_and_jacobian(params, X * x_scale + x_shift)
    truth, slope = demo_function(X) * y_scale, demo_gradient(X) * (y_scale / x_scale)
    values = np.sqrt(np.mean((Y[:, 0] - truth) ** 2)) / truth.std()
    partials = np.sqrt(np.mean((J[:, 0, :] - slope) ** 2, axis=0)) / slope.std(axis=0)
    return float(values), partials


def test_physical_units_train_as_well_as_unit_scale_data():
    """The issue's case: inputs x*500+1000, outputs y*1e4. Standardised, the fit in physical units is as good
    as the unit-scale fit, and its raw-unit parameters predict raw-unit values and partials."""
    data = make_demo_data(150, seed=3)
    net = sj.MLP([2, 8, 1], "tanh")
    unit = sj.fit(net, data, **QUICK)
    physical = sj.fit(net, _physical(data, 500.0, 1000.0, 1e4), **QUICK)
    unit_errors = _held_out_errors(net, unit.params)
    physical_errors = _held_out_errors(net, physical.params, 500.0, 1000.0, 1e4)
    assert unit_errors[0] < 0.05 and np.all(unit_errors[1] < 0.15)
    # The standardised problems agree to rounding, and L-BFGS can amplify rounding: same quality, within 2x.
    assert physical_errors[0] < 2 * unit_errors[0] and np.all(physical_errors[1] < 2 * unit_errors[1])
    assert physical.cost == pytest.approx(float(net.fitness(physical.params, _physical(data, 500.0, 1000.0, 1e4))))
    # Without scaling, the same budget fails on the physical units.
    raw = sj.fit(net, _physical(data, 500.0, 1000.0, 1e4), scale=False, **QUICK)
    assert _held_out_errors(net, raw.params, 500.0, 1000.0, 1e4)[0] > 5 * physical_errors[0]


def test_refinement_beats_plain_pso_and_is_recorded():
    data = make_demo_data(120, seed=4)
    net = sj.MLP([2, 6, 1], "tanh")
    plain = sj.fit(net, data, n_particles=30, iters=60, seed=1, refine=None)
    hybrid = sj.fit(net, data, n_particles=30, iters=60, seed=1, refine={"every": 20, "final_maxiter": 300})
    assert plain.refinements == () and plain.scaler is not None
    phases = [record.phase for record in hybrid.refinements]
    # after iterations 20 and 40, then the polish, then the refit on every row (held-out ones included)
    assert phases == ["swarm", "swarm", "final", "refit"]
    assert [record.iteration for record in hybrid.refinements] == [20, 40, 60, 60]
    for record in hybrid.refinements:
        assert record.best_after <= record.best_before and record.n_evaluations > 0 and record.wall_time >= 0
    assert hybrid.train_cost == hybrid.refinements[2].best_after
    assert hybrid.train_cost < 0.5 * plain.train_cost
    # The costs are comparable: both fitnesses of their params on the user's data.
    assert hybrid.cost < plain.cost
    assert hybrid.cost == pytest.approx(float(net.fitness(hybrid.params, data)), rel=1e-12)


def test_refined_points_are_the_swarms_personal_bests():
    """After a swarm-phase refinement the optimiser's best is the refined point (put back into the swarm)."""
    data = make_demo_data(80, seed=5)
    net = sj.MLP([2, 5, 1], "tanh")
    seen = {}

    def callback(opt, iteration, best_cost):
        seen[iteration] = (best_cost, float(opt.best_cost))

    res = sj.fit(net, data, n_particles=20, iters=10, seed=2, callback=callback,
                 refine={"every": 5, "final_top": 0})
    swarm_records = [r for r in res.refinements if r.phase == "swarm"]
    assert [r.iteration for r in swarm_records] == [5]
    assert seen[5][0] == swarm_records[0].best_after  # the callback sees the refined best
    assert res.refinements[-1].phase == "swarm"  # final_top=0: no polish
    np.testing.assert_array_equal(res.params, res.scaler.to_raw_params(net, res.optimizer.best_position))


def test_non_linear_output_standardises_inputs_only():
    """A sigmoid output cannot take the output map: only the inputs are standardised, and the raw-unit
    parameters reproduce the standardised network's outputs exactly."""
    rng = np.random.default_rng(6)
    X = rng.uniform(990, 1010, size=(120, 2))
    y = 1 / (1 + np.exp(-(X[:, 0] - 1000) / 4 + (X[:, 1] - 1000) / 8))
    data = sj.Dataset(X, y=y)
    net = sj.MLP([2, 6, 1], ["tanh", "sigmoid"])
    res = sj.fit(net, data, n_particles=20, iters=30, seed=0, refine={"every": 10, "final_maxiter": 300})
    assert res.scaler.scales_inputs and not res.scaler.scales_outputs
    scaled = res.scaler.transform(data)
    trained = res.scaler.to_scaled_params(net, res.params)
    np.testing.assert_allclose(net.predict(res.params, X), net.predict(trained, scaled.X), rtol=1e-10, atol=1e-12)
    assert np.sqrt(np.mean((net.predict(res.params, X)[:, 0] - y) ** 2)) < 0.05 * y.std()


def test_init_params_are_in_the_users_units():
    """A raw-unit initial swarm is mapped into the standardised space: an exact solution stays exact."""
    X = np.linspace(900, 1100, 30)[:, None]
    data = sj.Dataset(X, y=3e4 * X[:, 0] - 7.0, dydx=np.full((30, 1), 3e4))
    net = sj.MLP([1, 1], activations=["linear"])
    exact = np.tile([3e4, -7.0], (5, 1))
    res = sj.fit(net, data, n_particles=5, iters=0, init_params=exact, refine=None)
    np.testing.assert_allclose(res.params, [3e4, -7.0], rtol=1e-12)
    assert res.cost < 1e-12 * 3e4 ** 2


@pytest.mark.parametrize("refine, error, message", [
    ("bfgs", ValueError, "refine must be None, 'lbfgs'"),
    ({"evry": 5}, ValueError, r"unknown refine option\(s\) \['evry'\]"),
    ({"every": -1}, ValueError, "every must be an int >= 0"),
    ({"gtol": 0.0}, ValueError, "gtol must be a finite number > 0"),
    (3, TypeError, "refine must be None"),
])
def test_bad_refine_options_name_the_option(refine, error, message):
    data = sj.Dataset([[0.0], [1.0]], y=[0.0, 1.0])
    with pytest.raises(error, match=message):
        sj.fit(sj.MLP([1, 1], activations=["linear"]), data, n_particles=2, iters=1, refine=refine)


def test_objective_needs_scale_off_and_scale_must_be_a_bool():
    data = sj.Dataset([[0.0], [1.0]], y=[0.0, 1.0])
    net = sj.MLP([1, 1], activations=["linear"])
    with pytest.raises(ValueError, match="needs scale=False"):
        sj.fit(net, data, n_particles=2, iters=1, objective=net.objective(data))
    with pytest.raises(TypeError, match="scale must be True or False"):
        sj.fit(net, data, n_particles=2, iters=1, scale="yes")
    res = sj.fit(net, data, n_particles=4, iters=5, seed=0, objective=net.objective(data), scale=False)
    assert res.scaler is None and res.cost == pytest.approx(float(net.fitness(res.params, data)))


def test_interrupted_refinement_keeps_the_best(monkeypatch):
    """Ctrl-C during the final polish: the swarm's best is returned, marked interrupted."""
    import swarmjac.training as training

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "polish_candidates", interrupt)
    data = make_demo_data(60, seed=7)
    net = sj.MLP([2, 4, 1], "tanh")
    res = sj.fit(net, data, n_particles=10, iters=10, seed=0, refine={"every": 0})
    assert res.interrupted and res.stopped_reason == "interrupted"
    np.testing.assert_array_equal(res.params, res.scaler.to_raw_params(net, res.optimizer.best_position))


def test_ctrl_c_during_a_refinement_waits_for_it_and_resumes_exactly(tmp_path, monkeypatch):
    """SIGINT while a swarm-phase refinement runs: the refinement completes (it belongs to its iteration,
    whose checkpoint follows), the run ends interrupted, and resuming gives the straight run bit for bit."""
    import os
    import signal

    import swarmjac.training as training

    data = make_demo_data(60, seed=8)
    net = sj.MLP([2, 4, 1], "tanh")
    options = dict(n_particles=10, iters=30, seed=3, refine={"every": 10, "final_maxiter": 50})
    straight = sj.fit(net, data, **options)
    original = training.refine_positions
    calls = []

    def interrupted_refinement(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the refinement after iteration 20
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "refine_positions", interrupted_refinement)
    checkpoint = tmp_path / "run.ckpt"
    first = sj.fit(net, data, checkpoint_path=checkpoint, **options)
    assert first.interrupted and first.optimizer.iteration == 20
    assert [r.iteration for r in first.refinements] == [10, 20]  # the second one completed
    monkeypatch.setattr(training, "refine_positions", original)
    resumed = sj.fit(net, data, iters=30, resume=checkpoint, refine=options["refine"])
    np.testing.assert_array_equal(resumed.params, straight.params)
