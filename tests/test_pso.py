# Tests of the particle swarm optimiser (src/swarmjac/pso/): convergence on standard test
# functions, the update equation against a per-particle reference, topologies, bound handling,
# reproducibility, checkpoint/resume equivalence, stopping rules, interrupts and validation.
import math
import os
import sys

import numpy as np
import pytest

from swarmjac import pso as pso_module
from swarmjac._io import atomic_save_npz, load_npz
from swarmjac.pso import PSO, PSOHistory, PSOResult

TOPOLOGIES = ["global", "ring", "von_neumann", "random"]
HANDLERS = ["reflect", "clip", "random", "periodic"]


def sphere(x):
    return np.sum(x**2, axis=1)


def rosenbrock(x):
    return np.sum(100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2, axis=1)


def rastrigin(x):
    return 10.0 * x.shape[1] + np.sum(x**2 - 10.0 * np.cos(2.0 * np.pi * x), axis=1)


def assert_same_run(a, b):
    """Two results (or optimisers) are bit-for-bit identical."""
    assert a.best_cost == b.best_cost
    np.testing.assert_array_equal(a.best_position, b.best_position)
    np.testing.assert_array_equal(a.history.best_cost, b.history.best_cost)
    np.testing.assert_array_equal(a.history.mean_cost, b.history.mean_cost)
    if a.history.positions is not None or b.history.positions is not None:
        np.testing.assert_array_equal(a.history.positions, b.history.positions)


def assert_same_swarm(a: PSO, b: PSO):
    assert a.iteration == b.iteration
    assert a.n_evaluations == b.n_evaluations
    for name in ("positions", "velocities", "costs", "pbest_positions", "pbest_costs", "best_position"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.best_cost == b.best_cost
    if a.informants is None:
        assert b.informants is None
    else:
        np.testing.assert_array_equal(a.informants, b.informants)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert_same_run(a, b)


def clone_rng(rng):
    clone = np.random.Generator(type(rng.bit_generator)())
    clone.bit_generator.state = rng.bit_generator.state
    return clone


# ------------------------------------------------------------------------------------------
# convergence
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_sphere_10d_converges(topology):
    res = PSO(20, 10, bounds=(-5.0, 5.0), topology=topology, seed=11).run(sphere, iters=1000)
    assert res.best_cost < 1e-8
    assert np.all(np.abs(res.best_position) < 1e-4)
    assert res.stopped_reason == "iters"


def test_sphere_constriction_converges():
    opt = PSO(20, 10, bounds=(-5.0, 5.0), coefficients="constriction", seed=5)
    assert opt.options["chi"] == pytest.approx(0.7298437881, abs=1e-9)
    assert opt.options["c1"] == opt.options["c2"] == 2.05
    assert opt.run(sphere, iters=1000).best_cost < 1e-8


@pytest.mark.parametrize("dimensions,tolerance", [(2, 1e-12), (3, 1e-4), (4, 5e-2), (5, 5e-2)])
def test_rosenbrock(dimensions, tolerance):
    res = PSO(40, dimensions, bounds=(-5.0, 10.0), topology="von_neumann", seed=dimensions).run(rosenbrock, iters=2000)
    assert res.best_cost < tolerance
    # Rosenbrock's only global minimum is at (1, ..., 1); a near-zero cost must be near it.
    assert np.allclose(res.best_position, 1.0, atol=0.3)


@pytest.mark.parametrize("dimensions", [2, 3, 4, 5])
def test_rastrigin(dimensions):
    res = PSO(50, dimensions, bounds=(-5.12, 5.12), topology="von_neumann", seed=100 + dimensions).run(rastrigin, iters=1000)
    assert res.best_cost < 1e-8
    assert np.all(np.abs(res.best_position) < 1e-4)


# ------------------------------------------------------------------------------------------
# the update equation, against a per-particle loop written from the documented definitions
# ------------------------------------------------------------------------------------------
def reference_informants(topology, n_particles, k):
    """Sets of informants per particle, from the docstring's definitions."""
    if topology == "ring":
        return [sorted({(i + j) % n_particles for j in range(-(k // 2), k // 2 + 1)}) for i in range(n_particles)]
    if topology == "von_neumann":
        rows = max(r for r in range(1, n_particles + 1) if n_particles % r == 0 and r * r <= n_particles)
        cols = n_particles // rows
        sets = []
        for i in range(n_particles):
            r, c = divmod(i, cols)
            sets.append(sorted({i, ((r - 1) % rows) * cols + c, ((r + 1) % rows) * cols + c,
                                r * cols + (c - 1) % cols, r * cols + (c + 1) % cols}))
        return sets
    raise AssertionError(topology)


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("form", ["inertia", "schedule", "constriction"])
def test_update_matches_per_particle_reference(topology, form):
    n_particles, dimensions = 12, 3
    kwargs = {"inertia": {"w": 0.6, "c1": 1.2, "c2": 1.7},
              "schedule": {"w": (0.9, 0.4), "n_iters_total": 10},
              "constriction": {"coefficients": "constriction", "c1": 2.1, "c2": 2.2}}[form]
    opt = PSO(n_particles, dimensions, topology=topology, seed=7, **kwargs)
    o = opt.options
    for step in range(1, 14):
        x, v = opt.positions.copy(), opt.velocities.copy()
        pbest, pbest_cost = opt.pbest_positions.copy(), opt.pbest_costs.copy()
        gbest = opt.best_position
        if topology == "random":
            informants = opt.informants.copy()
            assert informants.shape == (n_particles, o["k"] + 1)
            for i, row in enumerate(informants):
                assert row[0] == i and i not in row[1:] and len(set(row[1:])) == o["k"]
            informant_sets = [list(row) for row in informants]
        elif topology != "global":
            informant_sets = reference_informants(topology, n_particles, o["k"])
            assert [sorted(set(row)) for row in opt.informants] == informant_sets
        g = clone_rng(opt.rng)
        opt.run(rastrigin, iters=1)
        if step == 1:  # the first call also evaluated the initial swarm; pbest was unset before
            continue
        r1, r2 = g.random((n_particles, dimensions)), g.random((n_particles, dimensions))
        iteration = opt.iteration
        if form == "schedule":
            w = 0.9 + (0.4 - 0.9) * (iteration - 1) / 9 if iteration <= 10 else 0.4
        expected_x = np.empty_like(x)
        for i in range(n_particles):
            if topology == "global":
                lbest = gbest
            else:
                best_j = min(informant_sets[i], key=lambda j: pbest_cost[j])
                lbest = pbest[best_j]
            pull = o["c1"] * r1[i] * (pbest[i] - x[i]) + o["c2"] * r2[i] * (lbest - x[i])
            if form == "constriction":
                new_v = o["chi"] * (v[i] + pull)
            else:
                new_v = (o["w"] if form == "inertia" else w) * v[i] + pull
            expected_x[i] = x[i] + new_v
        np.testing.assert_allclose(opt.positions, expected_x, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(opt.velocities, expected_x - x, rtol=1e-9, atol=1e-12)


def test_inertia_schedule_planned_by_first_run():
    straight = PSO(10, 2, w=(0.9, 0.4), n_iters_total=30, seed=1)
    implicit = PSO(10, 2, w=(0.9, 0.4), seed=1)
    assert implicit.planned_iters is None
    assert_same_run(straight.run(sphere, 30), implicit.run(sphere, 30))
    assert implicit.planned_iters == 30
    implicit.run(sphere, 5)  # past the plan: w stays at w_end, the plan does not move
    assert implicit.planned_iters == 30


def test_implicit_inertia_plan_survives_checkpoint(tmp_path):
    straight = PSO(10, 2, w=(0.9, 0.4), seed=1)
    straight.run(sphere, 10)  # fixes planned_iters = 10
    split = PSO(10, 2, w=(0.9, 0.4), seed=1)
    split.run(sphere, 10)
    split.save(tmp_path / "c")
    loaded = PSO.load(tmp_path / "c")
    assert loaded.planned_iters == 10
    assert_same_run(loaded.run(sphere, 5), straight.run(sphere, 5))


def test_random_topology_redrawn_only_when_global_best_stalls():
    opt = PSO(30, 4, bounds=(-5.0, 5.0), topology="random", k=4, seed=3)
    opt.run(rastrigin, iters=0)
    redraws = stalls = 0
    for _ in range(60):
        before_graph, before_cost = opt.informants.copy(), opt.best_cost
        opt.run(rastrigin, iters=1)
        stalled = not opt.best_cost < before_cost
        changed = not np.array_equal(before_graph, opt.informants)
        assert changed == stalled
        stalls += stalled
        redraws += changed
    assert stalls > 0 and redraws == stalls


@pytest.mark.parametrize("n_particles,k", [(2, 3), (5, 4), (40, 30), (100, 3)])
def test_random_informants_are_distinct_others(n_particles, k):
    opt = PSO(n_particles, 2, topology="random", k=k, seed=0)
    informants = opt.informants
    others = min(k, n_particles - 1)
    assert informants.shape == (n_particles, others + 1)
    for i, row in enumerate(informants):
        assert row[0] == i and i not in row[1:] and len(set(row[1:].tolist())) == others


def test_von_neumann_grid_prime_size_is_a_ring():
    informants = PSO(7, 2, topology="von_neumann", seed=0).informants
    assert [sorted(set(row)) for row in informants] == reference_informants("ring", 7, 2)


# ------------------------------------------------------------------------------------------
# bounds and velocity clamp
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_positions_stay_within_bounds(handler, topology):
    lower = np.array([-1.0, 0.0, -3.0, 2.0])
    upper = np.array([1.0, 0.5, 3.0, 2.5])
    target = np.array([5.0, -4.0, 10.0, 0.0])  # optimum outside the box: the walls get hit
    evaluated = []

    def objective(x):
        assert np.all(x >= lower) and np.all(x <= upper), "objective saw a position outside bounds"
        evaluated.append(x.copy())
        return np.sum((x - target) ** 2, axis=1)

    def callback(opt, iteration, best_cost):
        assert np.all(opt.positions >= lower) and np.all(opt.positions <= upper)

    opt = PSO(15, 4, bounds=(lower, upper), bound_handling=handler, topology=topology, seed=2)
    res = opt.run(objective, iters=60, callback=callback)
    assert len(evaluated) == 61
    if handler == "clip":
        # The best point of the box is its corner nearest the target, reachable exactly by clipping.
        np.testing.assert_array_equal(res.best_position, np.clip(target, lower, upper))
    elif handler == "reflect":
        np.testing.assert_allclose(res.best_position, np.clip(target, lower, upper), atol=0.2)
    else:  # redrawing or wrapping wall-crossers makes a corner optimum slow to reach
        assert res.best_cost < res.history.best_cost[0]


def straight_line(handler, n_steps=40):
    """One particle, c1 = c2 = 0, w = 1: it moves with constant velocity until a wall acts."""
    lower, upper = np.array([0.0, -2.0]), np.array([1.0, 2.0])
    opt = PSO(1, 2, bounds=(lower, upper), bound_handling=handler, w=1.0, c1=0.0, c2=0.0,
              init_pos=[[0.5, 1.5]], seed=4, keep_positions=True)
    v0 = opt.velocities[0].copy()
    velocities = []
    res = opt.run(sphere, n_steps, callback=lambda o, i, c: velocities.append(o.velocities[0].copy()))
    return lower, upper, v0, res.history.positions[:, 0, :], np.array(velocities)


def test_periodic_wraps_around():
    lower, upper, v0, path, velocities = straight_line("periodic")
    steps = np.arange(path.shape[0])[:, None]
    unwrapped = np.array([0.5, 1.5]) + steps * v0
    expected = lower + np.mod(unwrapped - lower, upper - lower)
    np.testing.assert_allclose(path, expected, atol=1e-9)
    np.testing.assert_array_equal(velocities, np.tile(v0, (len(velocities), 1)))
    assert np.any((unwrapped < lower) | (unwrapped > upper)), "the test never crossed a wall"


def test_reflect_bounces():
    lower, upper, v0, path, velocities = straight_line("reflect")
    steps = np.arange(path.shape[0])[:, None]
    unwrapped = np.array([0.5, 1.5]) + steps * v0
    width = upper - lower
    folded = np.mod(unwrapped - lower, 2 * width)
    expected = lower + np.where(folded > width, 2 * width - folded, folded)  # triangle wave
    np.testing.assert_allclose(path, expected, atol=1e-9)
    direction = np.where(folded[1:] > width, -1.0, 1.0)
    np.testing.assert_allclose(velocities, direction * v0, atol=1e-12)
    assert np.any(direction < 0), "the test never bounced"


def test_clip_stops_at_the_wall():
    lower, upper, v0, path, velocities = straight_line("clip")
    unwrapped = np.array([0.5, 1.5]) + np.arange(path.shape[0])[:, None] * v0
    expected = np.clip(unwrapped, lower, upper)
    np.testing.assert_allclose(path, expected, atol=1e-12)
    hit = (unwrapped[1:] < lower) | (unwrapped[1:] > upper)
    assert hit.any()
    np.testing.assert_array_equal(velocities[hit], 0.0)


def test_random_reinitialises_offending_coordinates():
    lower, upper, v0, path, velocities = straight_line("random")
    first_hit = None
    for t in range(1, path.shape[0]):
        moved = path[t - 1] + (velocities[t - 2] if t > 1 else v0)
        for d in range(2):
            if lower[d] <= moved[d] <= upper[d]:
                assert path[t, d] == pytest.approx(moved[d], abs=1e-12)
            else:  # redrawn inside the box, velocity zeroed: it stays there afterwards
                first_hit = t if first_hit is None else first_hit
                assert lower[d] <= path[t, d] <= upper[d] and path[t, d] != pytest.approx(moved[d])
                assert velocities[t - 1, d] == 0.0
    assert first_hit is not None


def test_velocity_clamp_absolute_and_fraction():
    opt = PSO(20, 3, bounds=(-10.0, 10.0), velocity_clamp=(-0.5, 0.25), seed=1)
    opt.run(rastrigin, 20, callback=lambda o, i, c: _check_velocity(o, -0.5, 0.25))
    opt = PSO(20, 3, bounds=([-10.0, 0.0, 0.0], [10.0, 1.0, 2.0]), velocity_clamp=0.1, seed=1)
    vmax = 0.1 * np.array([20.0, 1.0, 2.0])
    assert np.all(np.abs(opt.velocities) <= vmax)
    opt.run(rastrigin, 20, callback=lambda o, i, c: _check_velocity(o, -vmax, vmax))


def _check_velocity(opt, vmin, vmax):
    # Clip handling may zero a velocity, reflection may flip it: both stay within a symmetric clamp.
    assert np.all(opt.velocities >= np.minimum(vmin, -vmax) - 1e-15)
    assert np.all(opt.velocities <= np.maximum(vmax, -vmin) + 1e-15)


# ------------------------------------------------------------------------------------------
# initialisation and reproducibility
# ------------------------------------------------------------------------------------------
def test_init_pos_is_used():
    init = np.linspace(-1, 1, 15).reshape(5, 3)
    opt = PSO(5, 3, bounds=(-1, 1), init_pos=init, seed=0, keep_positions=True)
    np.testing.assert_array_equal(opt.positions, init)
    res = opt.run(sphere, 3)
    np.testing.assert_array_equal(res.history.positions[0], init)
    assert res.history.positions.shape == (4, 5, 3)


def test_default_initialisation():
    opt = PSO(2000, 2, bounds=([0.0, -3.0], [1.0, -2.0]), seed=0)
    assert np.all(opt.positions >= [0.0, -3.0]) and np.all(opt.positions <= [1.0, -2.0])
    assert np.all(opt.velocities >= [-0.5, -0.5]) and np.all(opt.velocities <= [0.5, 0.5])
    unbounded = PSO(4000, 2, init_scale=3.0, seed=0)
    assert np.std(unbounded.positions) == pytest.approx(3.0, rel=0.05)
    assert abs(np.mean(unbounded.positions)) < 0.15


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_seed_reproducibility(topology):
    def run(seed):
        return PSO(15, 4, bounds=(-5, 5), topology=topology, bound_handling="random", seed=seed,
                   keep_positions=True).run(rastrigin, 40)

    assert_same_run(run(123), run(123))
    different = run(124)
    assert not np.array_equal(run(123).history.positions, different.history.positions)
    gen_a = PSO(15, 4, topology=topology, seed=np.random.default_rng(5)).run(rastrigin, 10)
    gen_b = PSO(15, 4, topology=topology, seed=np.random.default_rng(5)).run(rastrigin, 10)
    assert_same_run(gen_a, gen_b)


def test_generator_is_held_not_copied():
    rng = np.random.default_rng(0)
    opt = PSO(5, 2, seed=rng)
    assert opt.rng is rng


def test_no_global_random_state_used():
    state = np.random.get_state()
    PSO(10, 3, bounds=(-1, 1), topology="random", bound_handling="random", seed=0).run(rastrigin, 20)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


# ------------------------------------------------------------------------------------------
# repeated runs, checkpoints
# ------------------------------------------------------------------------------------------
CHECKPOINT_CASES = [
    dict(topology="global"),
    dict(topology="ring", k=4, bound_handling="random"),
    dict(topology="von_neumann", bound_handling="periodic", velocity_clamp=0.2),
    dict(topology="random", k=2),
    dict(topology="random", w=(0.9, 0.4), n_iters_total=20, bound_handling="clip"),
    dict(topology="ring", w=(0.9, 0.4), n_iters_total=20, keep_positions=True),
    dict(topology="global", coefficients="constriction", ftol=1e-12, ftol_iter=30),
]


@pytest.mark.parametrize("kwargs", CHECKPOINT_CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_checkpoint_resume_is_bit_for_bit(kwargs, tmp_path):
    make = lambda: PSO(12, 5, bounds=(-5.12, 5.12), seed=2024, **kwargs)
    straight = make()
    res20 = straight.run(rastrigin, 20)
    first = make()
    first.run(rastrigin, 10)
    path = tmp_path / "swarm.ckpt"
    first.save(path)
    resumed = PSO.load(path)
    assert_same_swarm(first, resumed)
    res10 = resumed.run(rastrigin, 10)
    assert res10.n_iterations == res20.n_iterations == 20
    assert res10.n_evaluations == res20.n_evaluations == 21 * 12
    assert_same_run(res10, res20)
    assert_same_swarm(resumed, straight)
    # Without save/load, two calls equal one too.
    again = make()
    again.run(rastrigin, 10)
    assert_same_run(again.run(rastrigin, 10), res20)
    assert resumed.options.keys() == straight.options.keys()
    for key, value in straight.options.items():
        if isinstance(value, tuple) and isinstance(value[0], np.ndarray):
            np.testing.assert_array_equal(value, resumed.options[key])
        else:
            assert resumed.options[key] == value, key


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64, np.random.PCG64DXSM])
def test_checkpoint_other_bit_generators(bit_generator, tmp_path):
    make = lambda: PSO(8, 3, bounds=(-1, 1), topology="random", seed=np.random.Generator(bit_generator(9)))
    straight = make()
    res = straight.run(sphere, 10)
    split = make()
    split.run(sphere, 4)
    split.save(tmp_path / "c")
    loaded = PSO.load(tmp_path / "c")
    assert type(loaded.rng.bit_generator) is bit_generator
    assert_same_run(loaded.run(sphere, 6), res)


def test_save_before_first_run(tmp_path):
    opt = PSO(6, 2, bounds=(-1, 1), seed=1)
    opt.save(tmp_path / "fresh")
    loaded = PSO.load(tmp_path / "fresh")
    assert loaded.iteration == 0 and loaded.best_cost == math.inf and len(loaded.history) == 0
    assert_same_run(loaded.run(sphere, 5), PSO(6, 2, bounds=(-1, 1), seed=1).run(sphere, 5))


def test_load_rejects_other_files(tmp_path):
    atomic_save_npz(tmp_path / "model", {"x": np.zeros(2)}, {}, kind="swarmjac-model")
    with pytest.raises(ValueError, match="swarmjac-pso-checkpoint"):
        PSO.load(tmp_path / "model")
    with pytest.raises(FileNotFoundError):
        PSO.load(tmp_path / "missing")
    # A file of the right kind but with inconsistent content is refused with a clear message.
    PSO(4, 2, seed=0).save(tmp_path / "ok")
    arrays, meta = load_npz(tmp_path / "ok", kind="swarmjac-pso-checkpoint")
    arrays["positions"] = np.zeros((3, 2))
    atomic_save_npz(tmp_path / "bad", arrays, meta, kind="swarmjac-pso-checkpoint")
    with pytest.raises(ValueError, match="not a valid PSO checkpoint.*positions"):
        PSO.load(tmp_path / "bad")


def test_periodic_checkpoints(tmp_path, monkeypatch):
    path = tmp_path / "run.ckpt"
    saved_at = []
    original_save = PSO.save

    def recording_save(self, target):
        saved_at.append(self.iteration)
        original_save(self, target)

    monkeypatch.setattr(PSO, "save", recording_save)
    seen = {}

    def callback(opt, iteration, best_cost):
        if iteration == 10:  # the checkpoint of this iteration is written after its callback
            seen["iteration"] = PSO.load(path).iteration

    opt = PSO(8, 3, bounds=(-1, 1), seed=0)
    opt.run(sphere, 12, callback=callback, checkpoint_path=path, checkpoint_every=5)
    assert saved_at == [5, 10, 12]
    assert seen["iteration"] == 5
    assert_same_swarm(PSO.load(path), opt)
    saved_at.clear()
    opt.run(sphere, 10, checkpoint_path=path, checkpoint_every=5)
    assert saved_at == [17, 22]  # final save skipped: the last periodic one is current
    assert sorted(os.listdir(tmp_path)) == ["run.ckpt"]  # no temporary files left


# ------------------------------------------------------------------------------------------
# stopping: ftol, callback, interrupts, exceptions
# ------------------------------------------------------------------------------------------
def first_ftol_stop(history, ftol, window):
    """Index of the first iteration at which the documented ftol rule holds, or None."""
    for n in range(window, len(history)):
        if history[n - window] - history[n] <= ftol * abs(history[n]):
            return n
    return None


def test_ftol_stops_on_a_plateau():
    floor = lambda x: np.maximum(np.sum(x**2, axis=1), 0.5)
    res = PSO(10, 2, bounds=(-5, 5), seed=0, ftol=0.0, ftol_iter=15).run(floor, 500)
    assert res.stopped_reason == "ftol"
    assert res.best_cost == 0.5
    assert first_ftol_stop(res.history.best_cost, 0.0, 15) == res.n_iterations < 100
    constant = PSO(10, 2, seed=0, ftol=0.0, ftol_iter=5).run(lambda x: np.ones(len(x)), 100)
    assert (constant.stopped_reason, constant.n_iterations) == ("ftol", 5)


def test_ftol_relative():
    shifted = lambda x: 1.0 + np.sum(x**2, axis=1)
    opt = PSO(10, 3, bounds=(-5, 5), seed=1, ftol=1e-4, ftol_iter=10)
    res = opt.run(shifted, 1000)
    assert res.stopped_reason == "ftol" and 10 <= res.n_iterations < 1000
    assert first_ftol_stop(res.history.best_cost, 1e-4, 10) == res.n_iterations
    assert res.best_cost < 1.1
    # Unsplit and split runs stop at the same iteration: the window spans run() calls.
    split = PSO(10, 3, bounds=(-5, 5), seed=1, ftol=1e-4, ftol_iter=10)
    first = split.run(shifted, res.n_iterations - 2)
    assert first.stopped_reason == "iters"
    assert_same_run(split.run(shifted, 1000), res)


def test_ftol_not_triggered_while_improving():
    res = PSO(20, 5, bounds=(-5, 5), seed=0, ftol=1e-3, ftol_iter=30).run(sphere, 100)
    assert res.stopped_reason == "iters" and res.n_iterations == 100
    never = PSO(10, 2, seed=0).run(lambda x: np.ones(len(x)), 50)  # ftol=None: disabled
    assert never.stopped_reason == "iters"


@pytest.mark.parametrize("how", ["return", "raise"])
def test_callback_stops(how):
    calls = []

    def callback(opt, iteration, best_cost):
        calls.append((iteration, best_cost))
        assert best_cost == opt.best_cost and iteration == opt.iteration
        if iteration == 7:
            if how == "raise":
                raise StopIteration
            return True
        return None

    opt = PSO(10, 3, bounds=(-1, 1), seed=0)
    res = opt.run(sphere, 50, callback=callback)
    assert res.stopped_reason == "callback" and res.n_iterations == 7
    assert [i for i, _ in calls] == list(range(1, 8))
    assert [c for _, c in calls] == list(res.history.best_cost[1:])
    assert opt.run(sphere, 3).n_iterations == 10  # can continue afterwards


def make_interrupting(objective, at_call):
    calls = {"n": 0}

    def wrapped(x):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise KeyboardInterrupt
        return objective(x)

    return wrapped


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_keyboard_interrupt_in_objective_is_resumable(topology, tmp_path):
    make = lambda: PSO(10, 4, bounds=(-5.12, 5.12), topology=topology, bound_handling="random",
                       w=(0.9, 0.4), n_iters_total=20, seed=8, keep_positions=True)
    straight = make()
    reference = straight.run(rastrigin, 20)
    k = 6  # interrupt inside iteration 6 (call 1 is the initial evaluation)
    opt = make()
    res = opt.run(make_interrupting(rastrigin, at_call=k + 1), 20, checkpoint_path=tmp_path / "c")
    assert res.stopped_reason == "interrupted"
    assert res.n_iterations == opt.iteration == k - 1  # the interrupted iteration was discarded
    assert res.best_cost == reference.history.best_cost[k - 1]
    np.testing.assert_array_equal(res.history.best_cost, reference.history.best_cost[:k])
    # Resumable both in memory and from the checkpoint written on interrupt.
    loaded = PSO.load(tmp_path / "c")
    assert_same_swarm(loaded, opt)
    assert_same_run(opt.run(rastrigin, 20 - (k - 1)), reference)
    assert_same_run(loaded.run(rastrigin, 20 - (k - 1)), reference)
    assert_same_swarm(opt, straight)


def test_keyboard_interrupt_during_initial_evaluation():
    opt = PSO(5, 2, bounds=(-1, 1), seed=0)
    res = opt.run(make_interrupting(sphere, at_call=1), 10)
    assert res.stopped_reason == "interrupted" and res.n_iterations == 0 and res.n_evaluations == 0
    assert res.best_cost == math.inf and np.all(np.isnan(res.best_position))
    assert len(res.history) == 0
    assert_same_run(opt.run(sphere, 10), PSO(5, 2, bounds=(-1, 1), seed=0).run(sphere, 10))


def test_keyboard_interrupt_after_an_iteration_is_applied():
    straight = PSO(8, 3, topology="random", seed=1)
    reference = straight.run(rastrigin, 12)

    def callback(opt, iteration, best_cost):
        if iteration == 4:
            raise KeyboardInterrupt

    opt = PSO(8, 3, topology="random", seed=1)
    res = opt.run(rastrigin, 12, callback=callback)
    assert res.stopped_reason == "interrupted" and res.n_iterations == 4  # iteration 4 kept whole
    assert_same_run(opt.run(rastrigin, 8), reference)


@pytest.mark.parametrize("where", ["callback", "objective"])
def test_other_exceptions_propagate_and_leave_state_consistent(where, tmp_path):
    reference = PSO(8, 3, bounds=(-2, 2), topology="random", bound_handling="random", seed=4).run(rastrigin, 15)
    opt = PSO(8, 3, bounds=(-2, 2), topology="random", bound_handling="random", seed=4)

    class Boom(RuntimeError):
        pass

    def callback(o, iteration, best_cost):
        if iteration == 5:
            raise Boom("from callback")

    def objective(x):
        if opt.iteration == 5:  # raising while iteration 6 is being evaluated
            raise Boom("from objective")
        return rastrigin(x)

    with pytest.raises(Boom):
        if where == "callback":
            opt.run(rastrigin, 15, callback=callback)
        else:
            opt.run(objective, 15)
    assert opt.iteration == 5
    opt.save(tmp_path / "after-error")
    loaded = PSO.load(tmp_path / "after-error")
    assert_same_run(opt.run(rastrigin, 10), reference)
    assert_same_run(loaded.run(rastrigin, 10), reference)


# ------------------------------------------------------------------------------------------
# objective values, history, result
# ------------------------------------------------------------------------------------------
def test_nan_costs_are_treated_as_inf():
    def objective(x):
        costs = np.sum(x**2, axis=1)
        costs[::2] = np.nan
        return costs

    opt = PSO(10, 2, bounds=(-1, 1), seed=0)
    res = opt.run(objective, 5)
    assert np.all(np.isposinf(opt.costs[::2])) and np.all(np.isfinite(opt.costs[1::2]))
    assert np.isfinite(res.best_cost)
    assert np.all(np.isfinite(res.history.mean_cost))


def test_all_nan_objective_gives_inf_without_warnings():
    res = PSO(6, 2, bounds=(-1, 1), seed=0).run(lambda x: np.full(len(x), np.nan), 5)
    assert res.best_cost == math.inf
    assert np.all(np.isnan(res.history.mean_cost))
    assert res.best_position.shape == (2,)


@pytest.mark.parametrize("bad", [lambda x: np.ones((len(x), 1)), lambda x: np.ones(len(x) + 1),
                                 lambda x: 1.0, lambda x: np.ones((2, len(x)))])
def test_objective_wrong_shape(bad):
    opt = PSO(5, 2, seed=0)
    with pytest.raises(ValueError, match=r"objective must return an array of shape \(5,\)"):
        opt.run(bad, 3)
    assert opt.iteration == 0 and len(opt.history) == 0


def test_objective_wrong_type():
    with pytest.raises(TypeError, match="real numbers"):
        PSO(3, 2, seed=0).run(lambda x: np.array(["a", "b", "c"]), 1)


def test_result_and_history():
    opt = PSO(10, 3, bounds=(-2, 2), seed=0)
    res = opt.run(sphere, 25)
    assert isinstance(res, PSOResult) and isinstance(res.history, PSOHistory)
    assert res.n_iterations == 25 and res.n_evaluations == 26 * 10 and res.wall_time > 0
    assert res.history.best_cost.shape == res.history.mean_cost.shape == (26,)
    assert res.history.positions is None
    assert np.all(np.diff(res.history.best_cost) <= 0)
    assert res.best_cost == res.history.best_cost[-1] == sphere(res.best_position[None])[0]
    assert res.history.mean_cost[-1] == pytest.approx(np.mean(opt.costs))
    assert opt.best_cost == opt.pbest_costs.min()
    with pytest.raises(ValueError):
        opt.positions[0, 0] = 1.0  # read-only views
    res.best_position[0] = 99.0  # the result holds copies
    assert opt.best_position[0] != 99.0
    assert opt.run(sphere, 0).n_iterations == 25
    assert "PSO(n_particles=10" in repr(opt)


# ------------------------------------------------------------------------------------------
# progress bar
# ------------------------------------------------------------------------------------------
def test_progress_silent_unless_asked(capsys):
    PSO(5, 2, seed=0).run(sphere, 5, progress=False)
    PSO(5, 2, seed=0).run(sphere, 5)  # stderr is captured, not a TTY
    assert capsys.readouterr().err == ""


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    PSO(5, 2, seed=0).run(sphere, 5, progress=True)
    assert "PSO" in capsys.readouterr().err


def test_progress_without_tqdm_warns(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.warns(UserWarning, match="tqdm"):
        res = PSO(5, 2, seed=0).run(sphere, 5, progress=True)
    assert res.n_iterations == 5
    assert capsys.readouterr().err == ""


def test_pso_module_does_not_import_tqdm_eagerly():
    assert "tqdm" not in pso_module.__dict__


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,error,message", [
    (dict(n_particles=0), ValueError, "n_particles must be >= 1, got 0"),
    (dict(n_particles=2.5), TypeError, "n_particles must be an int, got float"),
    (dict(n_particles=True), TypeError, "n_particles must be an int"),
    (dict(dimensions=0), ValueError, "dimensions must be >= 1"),
    (dict(topology="star"), ValueError, r"topology must be one of \['global', 'ring', 'von_neumann', 'random'\], got 'star'"),
    (dict(topology=3), TypeError, "topology must be a str"),
    (dict(bound_handling="bounce"), ValueError, "bound_handling must be one of .*got 'bounce'"),
    (dict(coefficients="chi"), ValueError, "coefficients must be one of"),
    (dict(bounds=(0, 1, 2)), ValueError, r"bounds must be a pair \(lower, upper\)"),
    (dict(bounds=(np.zeros(3), 1.0)), ValueError, r"bounds\[0\] \(lower\) must be a scalar or have shape \(4,\), got shape \(3,\)"),
    (dict(bounds=(1.0, 1.0)), ValueError, "lower < upper.*index 0: lower=1.0, upper=1.0"),
    (dict(bounds=([0, 0, 2, 0], 1.0)), ValueError, "violated at index 2"),
    (dict(bounds=(-np.inf, 1.0)), ValueError, "must be finite"),
    (dict(bounds=("a", 1.0)), TypeError, r"bounds\[0\] \(lower\) must be a real"),
    (dict(init_pos=np.zeros((3, 4))), ValueError, r"init_pos must have shape \(n_particles, dimensions\) = \(5, 4\), got \(3, 4\)"),
    (dict(init_pos=np.full((5, 4), np.nan)), ValueError, "init_pos must be finite"),
    (dict(init_pos=np.full((5, 4), 2.0), bounds=(-1, 1)), ValueError, "outside bounds"),
    (dict(k=3, topology="ring"), ValueError, "k must be even"),
    (dict(k=0, topology="random"), ValueError, "k must be >= 1"),
    (dict(k=2), ValueError, "k applies only to"),
    (dict(w=(0.9, 0.4, 0.1)), ValueError, "pair"),
    (dict(w="big"), TypeError, "w must be a real number"),
    (dict(w=0.5, coefficients="constriction"), ValueError, "w must be omitted"),
    (dict(coefficients="constriction", c1=1.0, c2=2.0), ValueError, "c1 \\+ c2 > 4"),
    (dict(c1=-1.0), ValueError, "c1 must be >= 0"),
    (dict(velocity_clamp=0.5), ValueError, "needs bounds"),
    (dict(velocity_clamp=1.5, bounds=(0, 1)), ValueError, r"in \(0, 1\]"),
    (dict(velocity_clamp=(1.0, -1.0)), ValueError, "vmin < vmax"),
    (dict(init_scale=0.0), ValueError, "init_scale must be > 0"),
    (dict(seed="abc"), TypeError, "seed must be None, an int or a numpy.random.Generator"),
    (dict(seed=-1), ValueError, "seed must be a non-negative int"),
    (dict(ftol=-1.0), ValueError, "ftol must be >= 0"),
    (dict(ftol_iter=0), ValueError, "ftol_iter must be >= 1"),
    (dict(n_iters_total=0), ValueError, "n_iters_total must be >= 1"),
    (dict(keep_positions="yes"), TypeError, "keep_positions must be a bool"),
])
def test_constructor_validation(kwargs, error, message):
    arguments = dict(n_particles=5, dimensions=4)
    arguments.update(kwargs)
    n_particles, dimensions = arguments.pop("n_particles"), arguments.pop("dimensions")
    with pytest.raises(error, match=message):
        PSO(n_particles, dimensions, **arguments)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(objective=None), TypeError, "objective must be callable"),
    (dict(iters=-1), ValueError, "iters must be >= 0"),
    (dict(iters=1.5), TypeError, "iters must be an int"),
    (dict(callback=3), TypeError, "callback must be callable"),
    (dict(progress="yes"), TypeError, "progress must be"),
    (dict(checkpoint_every=5), ValueError, "checkpoint_every needs checkpoint_path"),
    (dict(checkpoint_every=0, checkpoint_path="x"), ValueError, "checkpoint_every must be >= 1"),
    (dict(checkpoint_path=3), TypeError, "checkpoint_path must be"),
])
def test_run_validation(kwargs, error, message):
    arguments = dict(objective=sphere, iters=5)
    arguments.update(kwargs)
    opt = PSO(5, 2, seed=0)
    with pytest.raises(error, match=message):
        opt.run(**arguments)
    assert opt.iteration == 0
