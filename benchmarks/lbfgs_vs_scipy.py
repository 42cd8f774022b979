"""Batched L-BFGS (swarmjac.lbfgs) against SciPy's L-BFGS-B per particle, refining K networks at once.

The problem of ``swarmjac demo``: a [2, 16, 16, 1] tanh net on 300 mixed rows (values, dy/dx1, dy/dx2).
Usage: python benchmarks/lbfgs_vs_scipy.py [--iters 200] [--sizes 1 4 16 50] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

import swarmjac as sj
from swarmjac._layout import core
from swarmjac.demo import make_demo_data
from swarmjac.lbfgs import minimize_batched

# The settings of refine.py: no ftol, a tiny gtol, 20 correction pairs, SciPy's evaluation cap.
GTOL, MEMORY = 1e-12, 20


def batched(net, data, starts: np.ndarray, iters: int,
            max_threads: int) -> tuple[float, int, int, np.ndarray, float]:
    """One net.fitness_and_gradient call per iteration for all running particles, on up to max_threads
    threads but never more threads than particles (an idle OpenMP thread costs a barrier wait)."""
    oracle_time = [0.0]

    def fun(X):
        start = time.perf_counter()
        out = net.fitness_and_gradient(X, data, n_threads=min(len(X), max_threads))
        oracle_time[0] += time.perf_counter() - start
        return out

    start = time.perf_counter()
    res = minimize_batched(fun, starts, maxiter=iters, max_evals=2 * iters + 20, memory=MEMORY, gtol=GTOL,
                           ftol=0.0)
    return time.perf_counter() - start, res.n_calls, int(res.nfev.sum()), res.f, oracle_time[0]


def scipy_sequential(net, data, starts: np.ndarray, iters: int) -> tuple[float, int, int, np.ndarray, float]:
    """SciPy's L-BFGS-B per particle, one after the other, on one-thread kernel calls."""
    oracle_time = [0.0]
    calls = [0]

    def fun(theta):
        start = time.perf_counter()
        f, g = net.fitness_and_gradient(theta, data, n_threads=1)
        oracle_time[0] += time.perf_counter() - start
        calls[0] += 1
        return float(f), g

    costs = []
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        for theta in starts:
            best = [np.inf]

            def tracked(x):
                f, g = fun(x)
                best[0] = min(best[0], f)
                return f, g

            minimize(tracked, theta, jac=True, method="L-BFGS-B",
                     options={"maxiter": iters, "maxfun": 2 * iters + 20, "gtol": GTOL, "ftol": 0.0,
                              "maxcor": MEMORY})
            costs.append(best[0])
    return time.perf_counter() - start, calls[0], calls[0], np.array(costs), oracle_time[0]


def scipy_pool(net, data, starts: np.ndarray, iters: int) -> tuple[float, int, int, np.ndarray, float]:
    """SciPy's L-BFGS-B per particle in a thread pool of every core (refine.py before the batched L-BFGS)."""
    def run(theta):
        return scipy_sequential(net, data, theta[None, :], iters)

    start = time.perf_counter()
    # One BLAS thread for the whole pool, so no run restores a multi-threaded BLAS under another.
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=min(len(starts), core().max_threads())) as pool:
        results = list(pool.map(run, starts))
    calls = sum(r[1] for r in results)
    return (time.perf_counter() - start, calls, calls, np.array([r[3][0] for r in results]),
            sum(r[4] for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 50])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    net = sj.MLP([2, 16, 16, 1], "tanh")
    data = make_demo_data(300, seed=args.seed)
    print(f"net {net.layer_sizes} tanh, {net.n_params} parameters, {data.n_samples} mixed rows, "
          f"{args.iters} iterations, batched kernel threads (default): {core().max_threads()}, "
          f"cores: {os.cpu_count()}")
    print("| K | method | wall s | CPU s | oracle wall s | oracle calls | evaluations | median loss | worst loss |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for K in args.sizes:
        starts = net.init_params(K, seed=args.seed + K)
        methods = (("batched, default threads", lambda *a: batched(*a, core().max_threads())),
                   ("batched, 1 thread", lambda *a: batched(*a, 1)),
                   ("SciPy sequential, 1 thread", scipy_sequential), ("SciPy thread pool", scipy_pool))
        for name, method in methods:
            cpu = time.process_time()
            wall, calls, evals, costs, oracle = method(net, data, starts, args.iters)
            cpu = time.process_time() - cpu
            print(f"| {K} | {name} | {wall:.3f} | {cpu:.3f} | {oracle:.3f} | {calls} | {evals} | "
                  f"{np.median(costs):.3e} | {np.max(costs):.3e} |", flush=True)


if __name__ == "__main__":
    main()
