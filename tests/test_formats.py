"""Files and runs of the version before the pso/ package split: checkpoints still load and continue bit for
bit, fresh runs from a seed are unchanged, and model files still load.

The fixtures in tests/fixtures/ and the expected numbers in ``pso_expected_v0_1_0.npz`` were written by
``tests/fixtures/make_fixtures.py`` with commit e5d8de7 (the old single-file ``pso.py``); the cases are in
``tests/format_cases.py``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import swarmjac as sj
from swarmjac.pso import PSO

from format_cases import CHECKPOINT_CASES, RUN_CASES, model_params, objective

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
STATE_FIELDS = ("positions", "velocities", "costs", "pbest_positions", "pbest_costs")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(FIXTURES, "pso_expected_v0_1_0.npz")) as stored:
        return {name: stored[name] for name in stored.files}


@pytest.mark.parametrize("name", sorted(CHECKPOINT_CASES))
def test_old_checkpoint_loads_and_continues_bit_for_bit(name, expected):
    options, before, after = CHECKPOINT_CASES[name]
    opt = PSO.load(os.path.join(FIXTURES, f"pso_checkpoint_{name}.npz"))
    assert opt.iteration == before and opt.n_particles == options["n_particles"]
    res = opt.run(objective, after, progress=False)
    for field in STATE_FIELDS:
        np.testing.assert_array_equal(getattr(opt, field), expected[f"{name}/{field}"], err_msg=field)
    np.testing.assert_array_equal(res.best_position, expected[f"{name}/best_position"])
    assert res.best_cost == float(expected[f"{name}/best_cost"])
    np.testing.assert_array_equal(res.history.best_cost, expected[f"{name}/history_best_cost"])
    np.testing.assert_array_equal(res.history.mean_cost, expected[f"{name}/history_mean_cost"])
    assert res.n_evaluations == int(expected[f"{name}/n_evaluations"])


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_runs_from_a_seed_equal_the_old_version(name, expected):
    options, iters = RUN_CASES[name]
    opt = PSO(**options)
    res = opt.run(objective, iters, progress=False)
    for field in STATE_FIELDS:
        np.testing.assert_array_equal(getattr(opt, field), expected[f"run-{name}/{field}"], err_msg=field)
    np.testing.assert_array_equal(res.history.best_cost, expected[f"run-{name}/history_best_cost"])
    np.testing.assert_array_equal(res.history.mean_cost, expected[f"run-{name}/history_mean_cost"])
    # the generator is left where the old version left it
    np.testing.assert_array_equal(opt.rng.random(3), expected[f"run-{name}/rng_next"])


def test_old_model_file_loads():
    net, params = sj.load(os.path.join(FIXTURES, "model_v0_1_0.npz"))
    assert net.layer_sizes == (2, 3, 1) and list(net.activations) == ["tanh", "linear"]
    np.testing.assert_array_equal(params, model_params(net.n_params))
    assert params.dtype == np.float64
