"""Concurrency: Python threads calling the kernels at once (they run without the GIL) on separate and on shared
read-only inputs get exactly the serial results; a failing call disturbs no other; an exception raised by a
callback inside sj.fit leaves an optimiser that can be saved and resumed to the straight run's result.
"""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import swarmjac as sj
from swarmjac.demo import make_demo_data
from swarmjac._layout import block_inputs, core as _core

from conftest import random_dataset

N_WORKERS = 8


def _frozen(array):
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _jobs(rng):
    """(name, zero-argument call) pairs: every kernel, mode and dtype, on separate and on shared inputs."""
    shared_net = sj.MLP([3, 12, 12, 2], "tanh")
    shared_params = _frozen(shared_net.init_params(9, seed=1))
    shared_X = _frozen(rng.normal(size=(130, 3)))
    shared_data = random_dataset(rng, 129, 3, 2)  # fresh: its block layout is first built by the threads
    jobs = []
    for dtype in (np.float64, np.float32):
        params, X = shared_params.astype(dtype), shared_X.astype(dtype)
        for n_threads in (1, 2):
            jobs.append((f"shared predict {dtype.__name__} t{n_threads}",
                         lambda p=params, x=X, t=n_threads: shared_net.predict(p, x, n_threads=t)))
            for mode in ("forward", "reverse"):
                jobs.append((f"shared jacobian {mode} {dtype.__name__} t{n_threads}",
                             lambda p=params, x=X, t=n_threads, m=mode:
                             shared_net.value_and_jacobian(p, x, n_threads=t, mode=m)))
            for mode in ("auto", "forward", "reverse"):
                jobs.append((f"shared fitness {mode} {dtype.__name__} t{n_threads}",
                             lambda p=params, t=n_threads, m=mode:
                             shared_net.fitness(p, shared_data, n_threads=t, mode=m)))
    for i, activation in enumerate(("sigmoid", "relu", "gelu", "elu", "sin", "softplus")):
        net = sj.MLP([2, 5 + i, 1 + i % 2], activation)
        params = net.init_params(3 + i, seed=10 + i)
        X = rng.normal(size=(60 + 3 * i, 2))
        data = random_dataset(rng, 65 + i, 2, 1 + i % 2)
        jobs.append((f"own jacobian {activation}",
                     lambda n=net, p=params, x=X: n.value_and_jacobian(p, x, n_threads=1)))
        jobs.append((f"own fitness {activation}", lambda n=net, p=params, d=data: n.fitness(p, d, n_threads=2)))
    shared_inputs = [shared_params, shared_X, shared_data.X, shared_data.y, shared_data.dydx]
    return jobs, shared_inputs


def _same(a, b):
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def test_threads_get_the_serial_results_bit_for_bit():
    """Every job five times, shuffled, on 8 Python threads: each result equals the serial one exactly, and the
    shared inputs are left as they were."""
    jobs, shared = _jobs(np.random.default_rng(2024))
    copies = [a.copy() for a in shared]
    # The serial results come from an identical, separate set of jobs, so that the threads are the first
    # to use the shared Dataset.
    serial = {name: call() for name, call in _jobs(np.random.default_rng(2024))[0]}
    schedule = [job for job in jobs for _ in range(5)]
    random.Random(0).shuffle(schedule)
    with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
        futures = [(name, pool.submit(call)) for name, call in schedule]
        for name, future in futures:
            assert _same(future.result(), serial[name]), name
    for array, copy in zip(shared, copies):
        np.testing.assert_array_equal(array, copy)


def test_first_use_of_a_shared_dataset_from_many_threads(rng):
    """Threads released together by a barrier all build and use the lazily prepared block layout of one fresh
    Dataset, in both dtypes: same fitness as serial, and a layout equal to one built alone."""
    net = sj.MLP([4, 8, 3], "softplus")
    params = net.init_params(6, seed=2)
    make = lambda: random_dataset(np.random.default_rng(7), 200, 4, 3)  # noqa: E731
    expected = {dtype: net.fitness(params.astype(dtype), make(), n_threads=1) for dtype in (np.float64, np.float32)}
    for _ in range(5):
        data = make()
        barrier = threading.Barrier(N_WORKERS)

        def work(k):
            dtype = (np.float64, np.float32)[k % 2]
            barrier.wait()
            return dtype, net.fitness(params.astype(dtype), data, n_threads=1 + k % 2)

        with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
            for dtype, result in pool.map(work, range(N_WORKERS)):
                assert _same(result, expected[dtype])
        fresh = make()
        for dtype in (np.float64, np.float32):
            built, alone = data.blocks(dtype), fresh.blocks(dtype)
            for field in ("X", "y", "y_mask", "dydx", "dydx_mask", "block_dirs", "block_n_dirs"):
                np.testing.assert_array_equal(getattr(built, field), getattr(alone, field), err_msg=field)


def test_a_failing_call_disturbs_no_other(rng):
    """Calls that raise (in Python, and in C with a status code) interleaved with good ones on the same shared
    inputs: each bad call raises its own error, each good call returns the serial result."""
    net = sj.MLP([2, 6, 1], "tanh")
    params, X = _frozen(net.init_params(5, seed=3)), _frozen(rng.normal(size=(70, 2)))
    data = random_dataset(rng, 70, 2, 1)
    good_Y, good_J = net.value_and_jacobian(params, X)
    good_f = net.fitness(params, data)
    core, blocked = _core(), block_inputs(X)
    short = np.ascontiguousarray(params[:, :-1])

    def good(k):
        if k % 2:
            return _same(net.value_and_jacobian(params, X, n_threads=1 + k % 3), (good_Y, good_J))
        return _same(net.fitness(params, data, n_threads=1 + k % 3), good_f)

    def bad(k):
        kind = k % 3
        try:
            if kind == 0:
                net.predict(params[:, :-1], X)
            elif kind == 1:
                net.fitness(params, data, n_threads=0)
            else:  # below the Python checks: the C kernel's own argument check
                core.predict(net._sizes_c, net._codes_c, short, blocked, 70, np.zeros((5, 70, 1)), 1)
        except ValueError:
            return True
        return False

    calls = [(good, k) if k % 3 else (bad, k) for k in range(120)]
    with ThreadPoolExecutor(max_workers=N_WORKERS) as pool:
        assert all(pool.map(lambda job: job[0](job[1]), calls))


def test_fits_in_threads_match_serial_fits():
    """sj.fit of several problems in parallel threads: each equals the same fit run alone."""
    data = make_demo_data(80, seed=4)
    configs = [dict(seed=s, topology=t) for s, t in ((0, "global"), (1, "ring"), (2, "random"), (3, "von_neumann"))]

    def run(config):
        result = sj.fit(sj.MLP([2, 5, 1], "tanh"), data, n_particles=12, iters=25, n_threads=1,
                        refine={"every": 10, "final_maxiter": 100}, **config)
        return result.params, result.history.best_cost

    alone = [run(config) for config in configs]
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        together = list(pool.map(run, configs * 2))
    for (params, history), (expected_params, expected_history) in zip(together, alone * 2):
        np.testing.assert_array_equal(params, expected_params)
        np.testing.assert_array_equal(history, expected_history)


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("raise_at,hybrid", [(1, False), (7, False), (12, False), (7, True), (12, True)])
def test_callback_raising_inside_fit_leaves_a_resumable_optimizer(tmp_path, raise_at, hybrid):
    """A callback raising at iteration k propagates out of sj.fit; the optimiser it was handed holds exactly
    iteration k, can be saved, and resuming (from that save, in memory, or from the last periodic checkpoint)
    ends with the straight run's result, bit for bit; for the hybrid trainer too (refinements every 5
    iterations are part of the swarm's state)."""
    net = sj.MLP([2, 4, 1], "tanh")
    data = make_demo_data(70, seed=5)
    trainer = dict(refine={"every": 5, "final_maxiter": 50}) if hybrid else dict(scale=False, refine=None)
    options = dict(n_particles=14, iters=20, seed=11, topology="random", **trainer)
    straight = sj.fit(net, data, **options)
    seen = {}

    def callback(optimizer, iteration, best_cost):
        seen["optimizer"] = optimizer
        if iteration == raise_at:
            raise Boom(f"callback failed at iteration {iteration}")

    periodic = tmp_path / "periodic.ckpt"
    with pytest.raises(Boom):
        sj.fit(net, data, callback=callback, checkpoint_path=periodic, checkpoint_every=5, **options)
    optimizer = seen["optimizer"]
    assert optimizer.iteration == raise_at
    saved = tmp_path / "after-error.ckpt"
    optimizer.save(saved)

    resumed = sj.fit(net, data, iters=20, resume=saved, **trainer)
    np.testing.assert_array_equal(resumed.params, straight.params)
    np.testing.assert_array_equal(resumed.history.best_cost, straight.history.best_cost)
    if periodic.exists():  # the periodic checkpoint of iteration 5 or 10 is still a valid point to resume from
        assert sj.PSO.load(periodic).iteration == 5 * (raise_at // 5)
        from_periodic = sj.fit(net, data, iters=20, resume=periodic, **trainer)
        np.testing.assert_array_equal(from_periodic.params, straight.params)
    else:
        assert raise_at < 5
    if not hybrid:  # plain PSO on raw data: fit is the optimiser's own run
        in_memory = optimizer.run(net.objective(data), 20 - raise_at)
        np.testing.assert_array_equal(in_memory.best_position, straight.params)
        np.testing.assert_array_equal(in_memory.history.best_cost, straight.history.best_cost)
