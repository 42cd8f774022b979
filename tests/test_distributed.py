# Tests of swarmjac.distributed on real dask.distributed LocalClusters (worker processes, loopback):
# DaskObjective against net.fitness, island_fit reproducibility and migration, recovery from killed
# workers, and `swarmjac fit --local-cluster`. Skipped as a whole when Dask is not installed.
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed", reason="swarmjac.distributed needs dask[distributed]")

import swarmjac as sj  # noqa: E402
from swarmjac.cli import main  # noqa: E402
from swarmjac.demo import make_demo_data  # noqa: E402
from swarmjac.distributed import (  # noqa: E402
    DaskObjective,
    IslandResult,
    island_fit,
)
from swarmjac.distributed.islands import _island_epoch  # noqa: E402
from swarmjac.results import FitResult  # noqa: E402

NET = sj.MLP([2, 6, 1], activations="tanh")
# Island runs used by several tests: 3 islands, epochs of 6 iterations (the last one 2).
# Plain PSO on the data as given (scale=False, refine=None): these tests compare islands with local PSO runs.
ISLANDS = dict(n_islands=3, migrate_every=6, n_migrants=2, n_particles_per_island=10, iters=20, seed=11,
               scale=False, refine=None)


def _start_cluster(n_workers: int):
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


@pytest.fixture(scope="module")
def data() -> sj.Dataset:
    return make_demo_data(90, seed=3)


@pytest.fixture(scope="module")
def client1():
    with _start_cluster(1) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def client2():
    with _start_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def clients(client1, client2):
    return {1: client1, 2: client2}


@pytest.fixture(scope="module")
def island_reference(client2, data) -> IslandResult:
    """The undisturbed island run, on two workers."""
    return island_fit(client2, NET, data, **ISLANDS)


def _assert_same_island_run(a: IslandResult, b: IslandResult) -> None:
    assert a.cost == b.cost and a.best_island == b.best_island
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.island_best_costs, b.island_best_costs)
    for opt_a, opt_b, hist_a, hist_b in zip(a.optimizers, b.optimizers, a.histories, b.histories):
        np.testing.assert_array_equal(hist_a.best_cost, hist_b.best_cost)
        np.testing.assert_array_equal(hist_a.mean_cost, hist_b.mean_cost)
        np.testing.assert_array_equal(opt_a.positions, opt_b.positions)
        np.testing.assert_array_equal(opt_a.pbest_costs, opt_b.pbest_costs)


class _WorkerKiller(threading.Thread):
    """SIGKILLs the process of the first worker seen running a task whose key contains ``marker``."""

    def __init__(self, client, marker: str, timeout: float = 60.0):
        super().__init__(daemon=True)
        self.client, self.marker, self.timeout = client, marker, timeout
        self.pids = client.run(os.getpid)
        self.killed = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for address, keys in self.client.processing().items():
                if address in self.pids and any(self.marker in str(key) for key in keys):
                    os.kill(self.pids[address], signal.SIGKILL)
                    self.killed = address
                    return
            time.sleep(0.002)


# ----- DaskObjective -----

@pytest.mark.parametrize("n_workers", [1, 2])
@pytest.mark.parametrize("chunk_size", [None, 1, 3, 7, 41, 1000])
def test_objective_equals_local_fitness_bit_for_bit(clients, data, n_workers, chunk_size):
    swarm = NET.init_params(41, seed=0)
    swarm[5] = 1e300  # a particle whose fitness is not finite: +inf on both paths
    with DaskObjective(clients[n_workers], NET, data, chunk_size=chunk_size) as objective:
        costs = objective(swarm)
    expected = NET.fitness(swarm, data)
    assert costs.dtype == np.float64 and costs.shape == (41,)
    np.testing.assert_array_equal(costs, expected)
    assert costs[5] == np.inf


def test_objective_float32_single_particle_and_empty_swarm(client2, data):
    swarm = NET.init_params(9, seed=1, dtype=np.float32)
    with DaskObjective(client2, NET, data, chunk_size=2, n_threads=-1, mode="forward") as objective:
        costs = objective(swarm)
        assert costs.dtype == np.float32
        np.testing.assert_array_equal(costs, NET.fitness(swarm, data, mode="forward"))
        single = objective(swarm[0].astype(np.float64))
        assert single.shape == () and single == NET.fitness(swarm[0].astype(np.float64), data, mode="forward")
        assert objective(np.zeros((0, NET.n_params))).shape == (0,)


def test_objective_chunk_bounds(client2, data):
    with DaskObjective(client2, NET, data, chunk_size=4) as objective:
        assert objective.chunk_bounds(10) == [(0, 4), (4, 8), (8, 10)]
    with DaskObjective(client2, NET, data) as objective:  # 2 chunks per worker thread, 2 threads
        assert objective.chunk_bounds(10) == [(0, 2), (2, 5), (5, 8), (8, 10)]
        assert objective.chunk_bounds(3) == [(0, 1), (1, 2), (2, 3)]
        assert objective.chunk_bounds(0) == []


def test_objective_drives_pso_like_the_local_objective(client2, data):
    init = NET.init_params(16, seed=4)
    local = sj.PSO(16, NET.n_params, init_pos=init, seed=4).run(NET.objective(data), iters=8)
    with DaskObjective(client2, NET, data, chunk_size=5) as objective:
        remote = sj.PSO(16, NET.n_params, init_pos=init, seed=4).run(objective, iters=8)
    np.testing.assert_array_equal(local.best_position, remote.best_position)
    np.testing.assert_array_equal(local.history.best_cost, remote.history.best_cost)


def test_objective_validation(client1, data):
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        DaskObjective("tcp://127.0.0.1:8786", NET, data)
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP"):
        DaskObjective(client1, "net", data)
    with pytest.raises(ValueError, match="d_in=2"):
        DaskObjective(client1, sj.MLP([3, 2, 1]), data)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        DaskObjective(client1, NET, data, chunk_size=0)
    with pytest.raises(ValueError, match="n_threads"):
        DaskObjective(client1, NET, data, n_threads=0)
    with pytest.raises(ValueError, match="mode"):
        DaskObjective(client1, NET, data, mode="sideways")
    with DaskObjective(client1, NET, data) as objective:
        with pytest.raises(ValueError, match=r"n_params=25 columns .* got shape \(3, 4\)"):
            objective(np.zeros((3, 4)))
        with pytest.raises(TypeError, match="cannot be pickled"):
            import pickle

            pickle.dumps(objective)


# ----- island model -----

def test_island_runs_are_identical_on_one_and_two_workers(client1, island_reference, data):
    on_one_worker = island_fit(client1, NET, data, **ISLANDS)
    _assert_same_island_run(on_one_worker, island_reference)
    res = island_reference
    assert (res.n_islands, res.n_epochs, res.n_migrations, res.n_iterations) == (3, 4, 3, 20)
    assert res.n_evaluations == 3 * 10 * 21 and res.stopped_reason == "iters" and res.seed_entropy == 11
    assert all(len(history) == 21 for history in res.histories)
    assert res.cost == res.island_best_costs.min() == float(NET.fitness(res.params, data))
    assert res.history is res.histories[res.best_island]


def test_island_run_equals_a_sequential_run_of_the_same_epochs(island_reference, data):
    """The orchestration, replayed in this process without Dask: ring i -> i + 1, all send first."""
    children = np.random.SeedSequence(ISLANDS["seed"]).spawn(3)
    states = []
    for child in children:
        rng = np.random.default_rng(child)
        states.append(sj.PSO(10, NET.n_params, init_pos=NET.init_params(10, seed=rng), seed=rng,
                             n_iters_total=20).to_bytes())
    outputs = None
    for length in (6, 6, 6, 2):
        incoming = [None] * 3 if outputs is None else [
            (outputs[(i - 1) % 3].emigrant_positions, outputs[(i - 1) % 3].emigrant_costs) for i in range(3)]
        outputs = [_island_epoch(states[i], incoming[i], net=NET, data=data, iters=length, n_threads=1,
                                 mode="auto", n_migrants=2) for i in range(3)]
        states = [o.state for o in outputs]
    for state, remote in zip(states, island_reference.optimizers):
        local = sj.PSO.from_bytes(state)
        np.testing.assert_array_equal(local.positions, remote.positions)
        np.testing.assert_array_equal(local.history.best_cost, remote.history.best_cost)


def test_migration_moves_the_best_along_the_ring(island_reference):
    """After each migration, island i + 1 is at least as good as island i was before it."""
    histories = island_reference.histories
    for end in (6, 12, 18):  # iterations after which migrations happen
        for i in range(3):
            assert histories[(i + 1) % 3].best_cost[end + 1] <= histories[i].best_cost[end]


def test_without_migrants_islands_are_independent_local_runs(client2, data):
    res = island_fit(client2, NET, data, n_islands=2, migrate_every=4, n_migrants=0, n_particles_per_island=8,
                     iters=10, seed=7, topology="ring", scale=False, refine=None)
    assert res.n_migrations == 0
    for child, remote in zip(np.random.SeedSequence(7).spawn(2), res.optimizers):
        rng = np.random.default_rng(child)
        local = sj.PSO(8, NET.n_params, init_pos=NET.init_params(8, seed=rng), seed=rng, topology="ring",
                       n_iters_total=10)
        local.run(NET.objective(data), 10)
        np.testing.assert_array_equal(local.positions, remote.positions)
        np.testing.assert_array_equal(local.velocities, remote.velocities)
        np.testing.assert_array_equal(local.history.best_cost, remote.history.best_cost)


def test_island_result_is_a_fit_result(island_reference, data):
    """One result type for fit and island_fit: the CLI reads both the same way."""
    res = island_reference
    assert isinstance(res, FitResult) and isinstance(res, sj.FitResult)
    assert res.optimizer is res.optimizers[res.best_island] and res.islands.n_islands == 3
    assert res.pso_result.n_iterations == res.n_iterations == 20
    assert res.pso_result.n_evaluations == res.n_evaluations == sum(o.n_evaluations for o in res.optimizers)
    assert res.pso_result.best_cost == res.cost and np.array_equal(res.pso_result.best_position, res.params)
    assert res.pso_result.history is res.history and res.wall_time == res.pso_result.wall_time > 0


def test_island_epoch_uses_no_files(data, monkeypatch):
    """Migration goes through the public PSO API: no checkpoint files, no temporary directories."""
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("island_fit must not touch files to migrate")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(sj.PSO, "save", refuse)
    monkeypatch.setattr(sj.PSO, "load", refuse)
    opt = sj.PSO(6, NET.n_params, init_pos=NET.init_params(6, seed=0), seed=0)
    first = _island_epoch(opt.to_bytes(), None, net=NET, data=data, iters=3, n_threads=1, mode="auto", n_migrants=2)
    second = _island_epoch(first.state, (first.emigrant_positions, first.emigrant_costs), net=NET, data=data,
                           iters=3, n_threads=1, mode="auto", n_migrants=2)
    assert sj.PSO.from_bytes(second.state).iteration == 6
    np.testing.assert_array_equal(first.emigrant_costs, np.sort(sj.PSO.from_bytes(first.state).pbest_costs)[:2])


def test_island_fit_standardises_and_polishes_by_default(client1, data):
    """The default island run trains on standardised data, polishes the best island bests by L-BFGS and
    returns raw-unit parameters whose cost is their fitness on the raw data."""
    common = dict(n_islands=2, migrate_every=5, n_migrants=1, n_particles_per_island=6, iters=10, seed=2)
    plain = island_fit(client1, NET, data, scale=False, refine=None, **common)
    hybrid = island_fit(client1, NET, data, refine={"final_maxiter": 200}, **common)
    assert hybrid.scaler is not None and hybrid.refinements[-1].phase == "final"
    assert hybrid.cost == pytest.approx(float(NET.fitness(hybrid.params, data)), rel=1e-12)
    assert hybrid.cost < plain.cost
    np.testing.assert_array_equal(hybrid.params, hybrid.scaler.to_raw_params(NET, hybrid.scaler.to_scaled_params(
        NET, hybrid.params)))


def test_island_callback_stops_and_validation(client1, data):
    seen = []
    res = island_fit(client1, NET, data, n_islands=2, migrate_every=3, n_migrants=1, n_particles_per_island=4,
                     iters=30, seed=0, callback=lambda epoch, iteration, best: seen.append((epoch, iteration)) or
                     epoch == 2)
    assert seen == [(1, 3), (2, 6)] and res.stopped_reason == "callback" and res.n_iterations == 6
    zero = island_fit(client1, NET, data, n_islands=2, migrate_every=5, n_migrants=1, n_particles_per_island=4,
                      iters=0, seed=0)
    assert zero.n_epochs == 1 and zero.n_iterations == 0 and np.isfinite(zero.cost)
    args = dict(n_islands=2, migrate_every=5, n_migrants=1, n_particles_per_island=4, iters=5)
    with pytest.raises(TypeError, match="client must be"):
        island_fit(None, NET, data, **args)
    with pytest.raises(ValueError, match="n_migrants must be <= n_particles_per_island=4, got 5"):
        island_fit(client1, NET, data, **{**args, "n_migrants": 5})
    with pytest.raises(ValueError, match="n_islands must be >= 1"):
        island_fit(client1, NET, data, **{**args, "n_islands": 0})
    with pytest.raises(ValueError, match="migrate_every must be >= 1"):
        island_fit(client1, NET, data, **{**args, "migrate_every": 0})
    with pytest.raises(TypeError, match="seed must be None or a non-negative int"):
        island_fit(client1, NET, data, seed=np.random.default_rng(0), **args)
    for option in ("init_pos", "ftol"):
        with pytest.raises((ValueError, TypeError), match=option):
            island_fit(client1, NET, data, **args, **{option: 0})
    with pytest.raises(ValueError, match="topology"):
        island_fit(client1, NET, data, **args, topology="star")


# ----- lost workers -----
# A heavier problem, so that tasks last long enough (tens of ms) to kill a worker in the middle of one.
HEAVY_NET = sj.MLP([2, 16, 16, 1], activations="tanh")
HEAVY_ISLANDS = dict(n_islands=3, migrate_every=4, n_migrants=2, n_particles_per_island=8, iters=16, seed=5)


@pytest.fixture(scope="module")
def heavy_data() -> sj.Dataset:
    return make_demo_data(600, seed=4)


@pytest.fixture(scope="module")
def killable_client():
    """A two-worker cluster of its own, whose worker processes the tests SIGKILL (nannies restart them)."""
    with _start_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


def test_island_run_survives_a_worker_killed_mid_epoch(killable_client, client2, heavy_data):
    undisturbed = island_fit(client2, HEAVY_NET, heavy_data, **HEAVY_ISLANDS)
    killable_client.wait_for_workers(2, timeout=60)
    killer = _WorkerKiller(killable_client, marker="swarmjac-island")

    def start_killer(epoch, iteration, best):  # after the first epoch: kill a worker busy with the second
        if epoch == 1:
            killer.start()

    res = island_fit(killable_client, HEAVY_NET, heavy_data, callback=start_killer, **HEAVY_ISLANDS)
    killer.join()
    assert killer.killed is not None, "no worker was killed during the run"
    _assert_same_island_run(res, undisturbed)


def test_objective_survives_a_killed_worker_and_the_loss_of_every_copy_of_the_data(killable_client, heavy_data):
    init = HEAVY_NET.init_params(16, seed=8)
    local = sj.PSO(16, HEAVY_NET.n_params, init_pos=init, seed=8).run(HEAVY_NET.objective(heavy_data), iters=10)
    killable_client.wait_for_workers(2, timeout=60)
    killer = _WorkerKiller(killable_client, marker="swarmjac-fitness")

    def disturb(opt, iteration, best):
        if iteration == 1:  # one worker, while it evaluates
            killer.start()
        if iteration == 5:  # every worker, between two evaluations: the broadcast data set is lost
            killer.join()
            killable_client.wait_for_workers(2, timeout=60)
            for pid in killable_client.run(os.getpid).values():
                os.kill(pid, signal.SIGKILL)

    with DaskObjective(killable_client, HEAVY_NET, heavy_data, chunk_size=8) as objective:
        first_copy = objective._data.future().key
        remote = sj.PSO(16, HEAVY_NET.n_params, init_pos=init, seed=8).run(objective, iters=10, callback=disturb)
        assert objective._data.future().key != first_copy, "the data set was not broadcast again"
    assert killer.killed is not None, "no worker was killed during an evaluation"
    np.testing.assert_array_equal(local.best_position, remote.best_position)
    np.testing.assert_array_equal(local.history.mean_cost, remote.history.mean_cost)


# ----- command line -----

@pytest.fixture(scope="module")
def csv_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cli") / "demo.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "y", "dy/dx1", "dy/dx2"])
        for x, y, dydx in zip(data.X, data.y[:, 0], data.dydx[:, 0]):
            writer.writerow(["" if np.isnan(v) else repr(float(v)) for v in (*x, y, *dydx)])
    return path


def test_cli_local_cluster_fits_the_same_model_as_a_local_run(tmp_path, csv_file, capsys):
    common = ["fit", str(csv_file), "--layers", "2,6,1", "--particles", "12", "--iters", "6", "--seed", "3"]
    assert main(common + ["--out", str(tmp_path / "local.npz"), "--quiet"]) == 0
    assert main(common + ["--out", str(tmp_path / "dask.npz"), "--local-cluster", "2"]) == 0
    assert "2 workers, 2 threads" in capsys.readouterr().err
    np.testing.assert_array_equal(sj.load(tmp_path / "local.npz")[1], sj.load(tmp_path / "dask.npz")[1])


def test_cli_scheduler_checkpoint_and_resume_equal_a_straight_run(tmp_path, csv_file, client2, capsys):
    address = client2.scheduler.address
    common = ["fit", str(csv_file), "--layers", "2,6,1", "--particles", "12", "--seed", "3", "--quiet",
              "--scheduler", address]
    assert main(common + ["--iters", "8", "--out", str(tmp_path / "straight.npz")]) == 0
    checkpoint = str(tmp_path / "run.ckpt")
    assert main(common + ["--iters", "3", "--out", str(tmp_path / "first.npz"), "--checkpoint", checkpoint]) == 0
    assert main(common + ["--iters", "8", "--out", str(tmp_path / "resumed.npz"), "--resume", checkpoint]) == 0
    np.testing.assert_array_equal(sj.load(tmp_path / "straight.npz")[1], sj.load(tmp_path / "resumed.npz")[1])
    assert "done: 8 iterations" in capsys.readouterr().err


def test_cli_islands(tmp_path, csv_file, client2, capsys):
    argv = ["fit", str(csv_file), "--layers", "2,6,1", "--particles", "12", "--iters", "6", "--seed", "3",
            "--scheduler", client2.scheduler.address, "--islands", "3", "--migrate-every", "2", "--migrants", "1"]
    assert main(argv + ["--out", str(tmp_path / "islands.npz")]) == 0
    err = capsys.readouterr().err
    assert f"scheduler {client2.scheduler.address}, 2 workers" in err
    assert "islands: 3 x 4 particles, 1 migrants every 2 iterations" in err and "iteration 6/6" in err
    net, params = sj.load(tmp_path / "islands.npz")
    expected = island_fit(client2, net, sj.Dataset.from_csv(csv_file), n_islands=3, migrate_every=2, n_migrants=1,
                          n_particles_per_island=4, iters=6, seed=3)
    np.testing.assert_array_equal(params, expected.params)


@pytest.mark.parametrize("flags, message", [
    (["--islands", "2"], "--islands runs the islands on a Dask cluster"),
    (["--migrants", "2"], "--migrants only apply with --islands"),
    (["--local-cluster", "0"], "--local-cluster needs at least 1 worker"),
    (["--local-cluster", "1", "--islands", "2", "--resume", "x.ckpt"], "not supported with --islands"),
    (["--local-cluster", "1", "--islands", "20"], "no particle to each of --islands 20"),
])
def test_cli_dask_option_errors(tmp_path, csv_file, capsys, flags, message):
    argv = ["fit", str(csv_file), "--layers", "2,6,1", "--particles", "12", "--iters", "2", "--quiet",
            "--out", str(tmp_path / "m.npz")]
    assert main(argv + flags) == 1
    assert message in capsys.readouterr().err


def test_without_dask_the_core_imports_and_the_distributed_parts_say_how_to_install(tmp_path, csv_file):
    """Run in a fresh interpreter in which importing dask fails."""
    script = f"""
import sys
sys.modules["dask"] = None  # makes `import dask...` raise ImportError
import swarmjac as sj, swarmjac.distributed
assert not any(name.startswith("dask") and sys.modules[name] is not None for name in sys.modules)
try:
    swarmjac.distributed.DaskObjective(None, sj.MLP([2, 1]), None)
except ImportError as exc:
    assert "pip install 'swarmjac[dask]'" in str(exc), exc
else:
    raise AssertionError("no ImportError")
from swarmjac.cli import main
status = main(["fit", {str(csv_file)!r}, "--layers", "2,3,1", "--iters", "1", "--particles", "4", "--quiet",
               "--out", {str(tmp_path / "m.npz")!r}, "--local-cluster", "1"])
assert status == 1, status
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "swarmjac: error: swarmjac.distributed needs dask.distributed" in result.stderr
    assert "pip install 'swarmjac[dask]'" in result.stderr
