"""Exchange of individuals and serialisation of a PSO: best_individuals, replace_worst,
update_personal_bests (also from a run() callback, with bit-identical resume), to_bytes/from_bytes and
set_status. Expected values are worked out by hand from the documented rules."""
from __future__ import annotations

import numpy as np
import pytest

from swarmjac import PSO

from format_cases import objective
from test_pso_ask_tell import CASES, assert_same_swarm


def sphere(x):
    return np.sum(x ** 2, axis=1)


def evaluated(**kwargs) -> PSO:
    opt = PSO(6, 3, bounds=(-5, 5), seed=2, **kwargs)
    opt.run(sphere, 3)
    return opt


# ----- best_individuals
def test_best_individuals_are_the_lowest_personal_bests_as_copies():
    opt = evaluated()
    order = sorted(range(6), key=lambda i: (opt.pbest_costs[i], i))
    positions, costs = opt.best_individuals(4)
    np.testing.assert_array_equal(costs, opt.pbest_costs[order[:4]])
    np.testing.assert_array_equal(positions, opt.pbest_positions[order[:4]])
    positions[:] = 99.0  # copies: the swarm is not affected
    assert not np.any(opt.pbest_positions == 99.0)
    assert opt.best_individuals(0)[0].shape == (0, 3)
    with pytest.raises(ValueError, match="k must be <= n_particles=6, got 7"):
        opt.best_individuals(7)
    with pytest.raises(TypeError, match="k must be an int"):
        opt.best_individuals(1.0)


def test_best_individuals_ties_lower_index_first():
    opt = PSO(4, 1, seed=0)
    opt.ask()
    opt.tell([3.0, 1.0, 1.0, 0.5])
    _, costs = opt.best_individuals(3)
    np.testing.assert_array_equal(costs, [0.5, 1.0, 1.0])
    np.testing.assert_array_equal(opt.best_individuals(3)[0][:, 0], opt.positions[[3, 1, 2], 0])


# ----- replace_worst (the island model's migration rule)
def test_replace_worst_replaces_exactly_the_worst_personal_bests():
    opt = evaluated()
    before = {name: np.array(getattr(opt, name)) for name in ("positions", "velocities", "pbest_positions",
                                                              "pbest_costs", "costs")}
    rng_state, history = opt.rng.bit_generator.state, opt.history
    worst_first = sorted(range(6), key=lambda i: (-before["pbest_costs"][i], i))
    # three immigrants, given worst first: sorted best first, the third (75) is no better than the
    # third-worst personal best and is refused
    immigrants = np.array([[5.0, 5.0, 5.0], [0.1, 0.0, 0.0], [0.0, 0.0, 0.0]])
    costs = np.array([75.0, 0.01, 0.0])
    assert costs[0] >= before["pbest_costs"][worst_first[2]]
    slots = opt.replace_worst(immigrants, costs)
    np.testing.assert_array_equal(slots, worst_first[:2])
    np.testing.assert_array_equal(opt.positions[slots], immigrants[[2, 1]])
    np.testing.assert_array_equal(opt.pbest_positions[slots], immigrants[[2, 1]])
    np.testing.assert_array_equal(opt.pbest_costs[slots], [0.0, 0.01])
    np.testing.assert_array_equal(opt.costs[slots], [0.0, 0.01])
    np.testing.assert_array_equal(opt.velocities[slots], 0.0)
    kept = np.setdiff1d(np.arange(6), slots)
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(opt, name)[kept], array[kept])
    assert opt.best_cost == 0.0 and np.array_equal(opt.best_position, immigrants[2])
    assert opt.rng.bit_generator.state == rng_state and opt.iteration == 3
    np.testing.assert_array_equal(opt.history.best_cost, history.best_cost)
    # nobody better: nothing changes
    assert opt.replace_worst(np.full((2, 3), 1.0), [np.nan, 1e9]).size == 0
    np.testing.assert_array_equal(opt.pbest_costs[kept], before["pbest_costs"][kept])


def test_replace_worst_validation():
    opt = PSO(4, 2, bounds=(-1, 1), seed=0)
    with pytest.raises(RuntimeError, match="needs an evaluated swarm"):
        opt.replace_worst(np.zeros((1, 2)), [0.0])
    opt.run(sphere, 1)
    with pytest.raises(ValueError, match=r"positions must have shape \(m, 2\) and costs shape \(m,\), got \(1, 3\)"):
        opt.replace_worst(np.zeros((1, 3)), [0.0])
    with pytest.raises(ValueError, match="outside bounds"):
        opt.replace_worst(np.full((1, 2), 2.0), [0.0])
    with pytest.raises(ValueError, match="finite"):
        opt.replace_worst(np.full((1, 2), np.nan), [0.0])
    with pytest.raises(TypeError, match="costs must be real"):
        opt.replace_worst(np.zeros((1, 2)), ["a"])
    opt.ask()
    with pytest.raises(RuntimeError, match=r"between ask\(\) and tell\(\)"):
        opt.replace_worst(np.zeros((1, 2)), [0.0])


# ----- update_personal_bests
def test_update_personal_bests_takes_only_better_points_and_does_not_move_particles():
    opt = evaluated()
    before = {name: np.array(getattr(opt, name)) for name in ("positions", "velocities", "costs", "pbest_positions",
                                                              "pbest_costs")}
    n_evaluations, history = opt.n_evaluations, opt.history
    candidates = np.array([[0.0, 0.0, 0.1], [4.0, 4.0, 4.0]])
    costs = sphere(candidates)
    accepted = opt.update_personal_bests([1, 4], candidates, costs)
    expected = costs < before["pbest_costs"][[1, 4]]
    np.testing.assert_array_equal(accepted, expected)
    assert accepted[0] and not accepted[1]
    np.testing.assert_array_equal(opt.pbest_positions[1], candidates[0])
    assert opt.pbest_costs[1] == costs[0]
    np.testing.assert_array_equal(opt.pbest_positions[4], before["pbest_positions"][4])
    for name in ("positions", "velocities", "costs"):  # the particles are not moved
        np.testing.assert_array_equal(getattr(opt, name), before[name])
    assert opt.best_cost == min(costs[0], before["pbest_costs"].min())
    assert opt.n_evaluations == n_evaluations
    np.testing.assert_array_equal(opt.history.best_cost, history.best_cost)


def test_update_personal_bests_moves_the_neighbourhood_best():
    """The next iteration pulls each ring neighbour of the updated particle towards its new personal best."""
    opt = PSO(8, 2, topology="ring", k=2, w=0.6, c1=1.1, c2=1.3, seed=5)
    opt.run(sphere, 4)
    opt.update_personal_bests([3], np.zeros((1, 2)), [0.0])
    x, v = np.array(opt.positions), np.array(opt.velocities)
    pbest, pbest_cost = np.array(opt.pbest_positions), np.array(opt.pbest_costs)
    generator = np.random.Generator(type(opt.rng.bit_generator)())
    generator.bit_generator.state = opt.rng.bit_generator.state
    r1, r2 = generator.random((8, 2)), generator.random((8, 2))
    expected = np.empty_like(x)
    for i in range(8):
        informants = [(i - 1) % 8, i, (i + 1) % 8]
        lbest = pbest[min(informants, key=lambda j: (pbest_cost[j], j))]
        expected[i] = x[i] + 0.6 * v[i] + 1.1 * r1[i] * (pbest[i] - x[i]) + 1.3 * r2[i] * (lbest - x[i])
    np.testing.assert_allclose(opt.ask(), expected, rtol=1e-13, atol=1e-13)
    for i in (2, 3, 4):  # their neighbourhood best is the new point (0, 0)
        assert min([(i - 1) % 8, i, (i + 1) % 8], key=lambda j: pbest_cost[j]) == 3


def test_update_personal_bests_validation():
    opt = PSO(4, 2, bounds=(-1, 1), seed=0)
    with pytest.raises(RuntimeError, match="needs an evaluated swarm"):
        opt.update_personal_bests([0], np.zeros((1, 2)), [0.0])
    opt.run(sphere, 1)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 4\)"):
        opt.update_personal_bests([4], np.zeros((1, 2)), [0.0])
    with pytest.raises(ValueError, match="distinct"):
        opt.update_personal_bests([1, 1], np.zeros((2, 2)), [0.0, 0.0])
    with pytest.raises(TypeError, match="indices must be a 1-D array of ints"):
        opt.update_personal_bests([0.5], np.zeros((1, 2)), [0.0])
    with pytest.raises(ValueError, match="2 indices but 1 positions"):
        opt.update_personal_bests([0, 1], np.zeros((1, 2)), [0.0])
    with pytest.raises(ValueError, match="outside bounds"):
        opt.update_personal_bests([0], np.full((1, 2), 3.0), [0.0])
    assert not opt.update_personal_bests([0], np.zeros((1, 2)), [np.nan])[0]  # NaN is +inf: never better


def refine_callback(log=None):
    """A deterministic 'refiner': every 5th iteration, halve one particle's personal best."""
    def callback(opt, iteration, best_cost):
        if iteration % 5 == 0:
            i = iteration % opt.n_particles
            candidate = np.array(opt.pbest_positions[i:i + 1]) * 0.5
            accepted = opt.update_personal_bests([i], candidate, objective(candidate))
            opt.set_status(f"refined {i}")
            if log is not None:
                log.append((iteration, bool(accepted[0])))
    return callback


@pytest.mark.parametrize("topology", ["global", "ring", "random"])
def test_callback_updates_are_in_the_checkpoint_and_resume_is_bit_for_bit(topology, tmp_path):
    make = lambda: PSO(7, 3, bounds=(-2, 2), topology=topology, seed=13)  # noqa: E731
    log = []
    straight = make()
    straight.run(objective, 20, callback=refine_callback(log), checkpoint_path=tmp_path / "a", checkpoint_every=10)
    assert any(accepted for _, accepted in log)  # the refiner changed the swarm

    crashing = make()

    def crash_after_the_checkpoint(opt, iteration, best_cost):
        refine_callback()(opt, iteration, best_cost)
        if iteration == 13:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        crashing.run(objective, 20, callback=crash_after_the_checkpoint, checkpoint_path=tmp_path / "b",
                     checkpoint_every=10)
    resumed = PSO.load(tmp_path / "b")
    assert resumed.iteration == 10
    resumed.run(objective, 10, callback=refine_callback())
    assert_same_swarm(resumed, straight)


def test_keyboard_interrupt_in_a_refining_callback_keeps_the_best(tmp_path):
    opt = PSO(7, 3, bounds=(-2, 2), seed=13)

    def callback(o, iteration, best_cost):
        if iteration == 5:
            o.update_personal_bests([0], np.zeros((1, 3)), objective(np.zeros((1, 3))))
            raise KeyboardInterrupt

    res = opt.run(objective, 20, callback=callback, checkpoint_path=tmp_path / "c")
    assert res.stopped_reason == "interrupted" and res.n_iterations == 5
    assert res.best_cost == opt.best_cost == min(float(objective(np.zeros((1, 3)))[0]), opt.history.best_cost[-1])
    assert PSO.load(tmp_path / "c").best_cost == res.best_cost  # the checkpoint written on interrupt has it


# ----- set_status
def test_set_status_shows_in_the_progress_bar(capsys):
    pytest.importorskip("tqdm")
    PSO(5, 3, bounds=(-2, 2), seed=0).run(objective, 6, callback=refine_callback(), progress=True)
    assert "status=refined 0" in capsys.readouterr().err


def test_set_status_without_a_bar_is_a_no_op_and_checks_its_argument(capsys):
    opt = PSO(5, 2, seed=0)
    opt.set_status("outside run")
    opt.run(sphere, 6, callback=refine_callback(), progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="text must be a str or None, got int"):
        opt.set_status(3)
    opt.set_status(None)


# ----- bytes
@pytest.mark.parametrize("name", sorted(CASES))
def test_to_bytes_round_trip_is_exact(name):
    opt = PSO(9, 3, seed=21, **CASES[name])
    opt.run(objective, 5)
    data = opt.to_bytes()
    assert isinstance(data, bytes)
    copy = PSO.from_bytes(data)
    assert_same_swarm(copy, opt)
    assert copy.options.keys() == opt.options.keys() and copy.planned_iters == opt.planned_iters
    opt.run(objective, 5)
    copy.run(objective, 5)
    assert_same_swarm(copy, opt)
    assert PSO.from_bytes(copy.to_bytes()).to_bytes() == copy.to_bytes()


def test_to_bytes_other_bit_generator_and_fresh_swarm():
    opt = PSO(4, 2, seed=np.random.Generator(np.random.MT19937(3)))
    copy = PSO.from_bytes(bytearray(opt.to_bytes()))
    assert isinstance(copy.rng.bit_generator, np.random.MT19937) and copy.iteration == 0
    assert_same_swarm(copy, opt)
    copy.run(sphere, 3)
    opt.run(sphere, 3)
    assert_same_swarm(copy, opt)


def test_from_bytes_rejects_other_data():
    with pytest.raises(TypeError, match="data must be bytes"):
        PSO.from_bytes("text")
    with pytest.raises(ValueError, match="wrong header"):
        PSO.from_bytes(b"PK\x03\x04 something else")
    data = PSO(4, 2, seed=0).to_bytes()
    with pytest.raises(ValueError, match="not a valid PSO swarm"):
        PSO.from_bytes(data[: len(data) // 2])
