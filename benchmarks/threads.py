"""The thread policy of n_threads=None measured: oversubscription, GridSearchCV, and the small-work threshold.

A script, not a timed test. Needs scikit-learn (the ``test`` extra) for the GridSearchCV part.
  python benchmarks/threads.py              # oversubscribed case + GridSearchCV (about 1-2 minutes)
  python benchmarks/threads.py --threshold  # 1 against 2 threads over work sizes (MIN_WORK_PER_THREAD)
Oversubscribed case: OMP_NUM_THREADS=1 and two busy background processes (started and stopped here);
net.fitness_and_gradient of a [2, 16, 16, 1] network on 300 rows, P=1 and P=64, medians of many calls;
"before" passes n_threads=os.cpu_count() (what None meant before the policy), "after" n_threads=None.
Run it once against an older checkout (PYTHONPATH=<old>/src) to see the old behaviour of both columns.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def _median_ms(function, calls: int) -> float:
    function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _problem(n_rows: int = 300):
    import swarmjac as sj

    rng = np.random.default_rng(0)
    net = sj.MLP([2, 16, 16, 1], activations="tanh")
    X = rng.uniform(-1, 1, size=(n_rows, 2))
    y = np.sin(X[:, :1]) * X[:, 1:]
    dydx = np.stack([np.cos(X[:, 0]) * X[:, 1], np.sin(X[:, 0])], axis=1)[:, None, :]
    return net, sj.Dataset(X, y=y, dydx=dydx)


def oversubscribed_child() -> None:
    """Runs in a child started with OMP_NUM_THREADS=1 (OpenMP reads it once, at start)."""
    import swarmjac as sj

    net, data = _problem()
    cpus = os.cpu_count() or 1
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, os.cpu_count()={cpus}, swarmjac from "
          f"{os.path.dirname(sj.__file__)}")
    print("| particles | before: n_threads=os.cpu_count() | after: n_threads=None (resolves to) | speed-up |")
    print("|---:|---:|---:|---:|")
    for n_particles, calls in ((1, 300), (64, 150)):
        params = net.init_params(n_particles, seed=1)
        before = _median_ms(lambda: net.fitness_and_gradient(params, data, n_threads=cpus), calls)
        after = _median_ms(lambda: net.fitness_and_gradient(params, data), calls)
        try:
            from swarmjac._threads import call_work
        except ImportError:  # a checkout before the policy: None meant os.cpu_count()
            resolved = cpus
        else:
            resolved = sj.resolve_n_threads(None, n_particles, call_work(n_particles, len(data.X), net.n_params))
        print(f"| {n_particles} | {before:.3f} ms | {after:.3f} ms ({resolved}) | {before / after:.1f}x |",
              flush=True)


def oversubscribed() -> None:
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        environment = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], env=environment, check=True)
    finally:
        for process in busy:
            process.terminate()
        for process in busy:
            process.wait()


def _threads_in_a_worker(_: int) -> tuple[str, int]:
    import swarmjac as sj

    return os.environ.get("OMP_NUM_THREADS", "unset"), sj.resolve_n_threads(None, 1000, 10 ** 12)


def grid_search() -> None:
    from sklearn.model_selection import GridSearchCV

    import swarmjac as sj

    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = np.sin(2 * X[:, 0]) * X[:, 1]
    grid = {"hidden_layer_sizes": [(4,), (8,)]}
    print("\nGridSearchCV over sj.Regressor(n_particles=20, max_iter=15): 2 candidates x 2 folds, 200 rows, wall time")
    if hasattr(sj, "resolve_n_threads"):
        from joblib import Parallel, delayed

        seen = Parallel(n_jobs=2)(delayed(_threads_in_a_worker)(i) for i in range(2))
        print(f"inside a joblib (loky) worker with n_jobs=2: OMP_NUM_THREADS={seen[0][0]}, None resolves to "
              f"{seen[0][1]}")
    print("| n_jobs | Regressor n_threads | wall time |\n|---:|---|---:|")
    cpus = os.cpu_count() or 1
    for n_jobs, n_threads in ((1, None), (2, cpus), (2, None)):
        regressor = sj.Regressor(n_particles=20, max_iter=15, random_state=0, n_threads=n_threads)
        search = GridSearchCV(regressor, grid, cv=2, n_jobs=n_jobs)
        start = time.perf_counter()
        search.fit(X, y)
        best = time.perf_counter() - start
        label = "None" if n_threads is None else f"{n_threads} (os.cpu_count(), the old None)"
        print(f"| {n_jobs} | {label} | {best:.2f} s |", flush=True)


def threshold() -> None:
    """Best of 300 interleaved calls with 1 and 2 threads (an idle-machine estimate on a shared machine)."""
    import swarmjac as sj
    from swarmjac._threads import call_work

    rng = np.random.default_rng(0)
    print("| call | network | P | work (P x 64 x n_params) | 1 thread | 2 threads | 1 / 2 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for sizes in ([2, 4, 1], [2, 16, 16, 1], [4, 32, 32, 2]):
        net = sj.MLP(sizes)
        X = rng.normal(size=(64, sizes[0]))
        data = sj.Dataset(X, y=rng.normal(size=(64, sizes[-1])), dydx=rng.normal(size=(64, sizes[-1], sizes[0])))
        for n_particles in (1, 2, 4, 8, 16, 32):
            params = net.init_params(n_particles, seed=1)
            calls = {"fitness": lambda t: net.fitness(params, data, n_threads=t),
                     "fitness_and_gradient": lambda t: net.fitness_and_gradient(params, data, n_threads=t)}
            for name, call in calls.items():
                best = [np.inf, np.inf]
                for _ in range(300):
                    for index, n_threads in enumerate((1, 2)):
                        start = time.perf_counter()
                        call(n_threads)
                        best[index] = min(best[index], time.perf_counter() - start)
                work = call_work(n_particles, 64, net.n_params)
                print(f"| {name} | {sizes} | {n_particles} | {work} | {1e6 * best[0]:.1f} us | "
                      f"{1e6 * best[1]:.1f} us | {best[0] / best[1]:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", action="store_true", help="measure 1 against 2 threads over work sizes")
    parser.add_argument("--no-grid-search", action="store_true", help="only the oversubscribed case")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        oversubscribed_child()
    elif args.threshold:
        threshold()
    else:
        oversubscribed()
        if not args.no_grid_search:
            grid_search()


if __name__ == "__main__":
    main()
