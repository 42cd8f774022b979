"""PSO.ask()/tell(): a manual loop equals run() bit for bit, and misuse fails clearly.

The reference for run() itself is the previous version (tests/test_formats.py); here the manual loop is
compared with run() for every topology, bound handler and coefficient form.
"""
from __future__ import annotations

import numpy as np
import pytest

from swarmjac import PSO

from format_cases import objective

CASES = {
    "global-reflect": dict(bounds=(-2.0, 2.0)),
    "ring-clip-clamp": dict(bounds=(-1.0, 1.0), topology="ring", k=4, bound_handling="clip", velocity_clamp=0.3),
    "vonneumann-periodic": dict(bounds=(-1.5, 1.0), topology="von_neumann", bound_handling="periodic"),
    "random-random-schedule": dict(bounds=(-2.0, 2.0), topology="random", bound_handling="random", w=(0.9, 0.3),
                                   n_iters_total=12),
    "unbounded-constriction": dict(coefficients="constriction", init_scale=2.0, keep_positions=True),
}
FIELDS = ("positions", "velocities", "costs", "pbest_positions", "pbest_costs", "best_position", "informants")


def assert_same_swarm(a: PSO, b: PSO) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=field)  # NaN == NaN (best_position before evaluation)
    assert a.best_cost == b.best_cost and a.iteration == b.iteration and a.n_evaluations == b.n_evaluations
    ha, hb = a.history, b.history
    assert np.array_equal(ha.best_cost, hb.best_cost) and np.array_equal(ha.mean_cost, hb.mean_cost, equal_nan=True)
    assert (ha.positions is None) == (hb.positions is None)
    if ha.positions is not None:
        assert np.array_equal(ha.positions, hb.positions)
    np.testing.assert_equal(a.rng.bit_generator.state, b.rng.bit_generator.state)  # MT19937 holds arrays


@pytest.mark.parametrize("name", sorted(CASES))
def test_manual_ask_tell_loop_equals_run(name):
    make = lambda: PSO(9, 3, seed=21, **CASES[name])  # noqa: E731
    by_run = make()
    by_run.run(objective, 12, progress=False)
    by_hand = make()
    for _ in range(13):  # the initial swarm, then 12 iterations
        positions = by_hand.ask()
        assert positions.shape == (9, 3) and not positions.flags.writeable
        by_hand.tell(objective(np.array(positions)))
    assert_same_swarm(by_hand, by_run)
    # ...and both continue identically, by either interface
    by_run.run(objective, 3, progress=False)
    for _ in range(3):
        by_hand.tell(objective(by_hand.ask()))
    assert_same_swarm(by_hand, by_run)


def test_ask_tell_and_run_can_be_mixed():
    reference = PSO(8, 2, bounds=(-1, 1), topology="random", seed=3)
    reference.run(objective, 10)
    mixed = PSO(8, 2, bounds=(-1, 1), topology="random", seed=3)
    mixed.run(objective, 4)
    for _ in range(3):
        mixed.tell(objective(mixed.ask()))
    mixed.ask()  # a pending ask is taken over by run(): the same positions are evaluated
    mixed.run(objective, 3)
    assert_same_swarm(mixed, reference)


def test_ask_is_idempotent_and_draws_nothing_more():
    opt = PSO(6, 2, bounds=(-1, 1), bound_handling="random", seed=0)
    opt.tell(objective(opt.ask()))
    first = np.array(opt.ask())
    state = opt.rng.bit_generator.state
    second = opt.ask()
    assert np.array_equal(first, second) and opt.rng.bit_generator.state == state
    assert opt.iteration == 0  # nothing is applied before tell
    opt.tell(objective(second))
    assert opt.iteration == 1 and np.array_equal(opt.positions, first)


def test_tell_without_ask_and_twice():
    opt = PSO(4, 2, seed=0)
    with pytest.raises(RuntimeError, match=r"tell\(\) without a pending ask\(\)"):
        opt.tell(np.zeros(4))
    opt.tell(objective(opt.ask()))
    with pytest.raises(RuntimeError, match="without a pending ask"):
        opt.tell(np.zeros(4))


@pytest.mark.parametrize("costs,error,message", [
    (np.zeros(3), ValueError, r"costs must be an array of shape \(4,\) .* got shape \(3,\)"),
    (np.zeros((4, 1)), ValueError, r"got shape \(4, 1\)"),
    (np.array(["a"] * 4), TypeError, "costs must be real numbers, got dtype <U1"),
    (np.zeros(4, dtype=complex), TypeError, "real numbers"),
])
def test_tell_validates_costs_and_keeps_the_swarm(costs, error, message):
    opt = PSO(4, 2, seed=0)
    opt.tell(objective(opt.ask()))
    pending = np.array(opt.ask())
    with pytest.raises(error, match=message):
        opt.tell(costs)
    assert opt.iteration == 0 and np.array_equal(opt.ask(), pending)  # still pending, unchanged


def test_tell_treats_nan_as_inf_like_run():
    opt = PSO(3, 2, seed=0)
    opt.ask()
    opt.tell([np.nan, 2, 1])  # a list of ints and NaN
    assert list(opt.costs) == [np.inf, 2.0, 1.0] and opt.best_cost == 1.0


def test_time_varying_w_needs_a_plan_for_ask():
    opt = PSO(4, 2, w=(0.9, 0.4), seed=0)
    opt.tell(objective(opt.ask()))  # the initial evaluation needs no inertia
    with pytest.raises(ValueError, match="n_iters_total"):
        opt.ask()
    planned = PSO(4, 2, w=(0.9, 0.4), n_iters_total=5, seed=0)
    planned.tell(objective(planned.ask()))
    planned.tell(objective(planned.ask()))
    assert planned.iteration == 1


def test_ask_and_tell_refused_inside_run():
    def callback(opt, iteration, best_cost):
        with pytest.raises(RuntimeError, match="while run"):
            opt.ask()
        with pytest.raises(RuntimeError, match="while run"):
            opt.tell(np.zeros(4))
        with pytest.raises(RuntimeError, match="while run"):
            opt.run(objective, 1)
        return True

    opt = PSO(4, 2, seed=0)
    assert opt.run(objective, 5, callback=callback).stopped_reason == "callback"
    opt.tell(objective(opt.ask()))  # usable again after run
    assert opt.iteration == 2


def test_save_and_bytes_during_a_pending_ask_store_the_swarm_before_it(tmp_path):
    opt = PSO(5, 3, bounds=(-1, 1), topology="random", seed=4)
    opt.run(objective, 3)
    pending = np.array(opt.ask())
    opt.save(tmp_path / "pending.ckpt")
    from_file, from_bytes = PSO.load(tmp_path / "pending.ckpt"), PSO.from_bytes(opt.to_bytes())
    for copy in (from_file, from_bytes):
        assert copy.iteration == 3 and np.array_equal(copy.ask(), pending)
        copy.tell(objective(copy.ask()))
    opt.tell(objective(opt.ask()))
    assert_same_swarm(from_file, opt)
    assert_same_swarm(from_bytes, opt)


def test_failed_evaluation_in_run_discards_the_proposal():
    reference = PSO(6, 2, bounds=(-1, 1), bound_handling="random", seed=9)
    reference.run(objective, 6)
    opt = PSO(6, 2, bounds=(-1, 1), bound_handling="random", seed=9)
    calls = []

    def flaky(x):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("worker lost")
        return objective(x)

    with pytest.raises(RuntimeError, match="worker lost"):
        opt.run(flaky, 6)
    assert opt.iteration == 2
    opt.run(objective, 4)
    assert_same_swarm(opt, reference)
