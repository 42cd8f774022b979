# When does Dask pay? Times one swarm evaluation locally and through swarmjac.distributed.DaskObjective
# on a local cluster for growing swarm x data sizes, and island PSO against one big swarm (cost reached
# per wall-second). A script, not a pytest-benchmark file: it starts its own cluster and prints Markdown.
"""Benchmark of swarmjac.distributed against local evaluation.

Usage (from the repository root, with swarmjac built and dask[distributed] installed)::

    python benchmarks/bench_distributed.py                # full grid, 5-10 minutes on 2 cores
    python benchmarks/bench_distributed.py --quick        # smaller grid, about 2 minutes
    python benchmarks/bench_distributed.py --workers 4 --out results.md

Part 1 times ``net.fitness`` on one core and on every core against ``DaskObjective`` on a
``LocalCluster`` of ``--workers`` single-threaded worker processes (default chunking: 2 chunks per worker
thread), for P particles x N samples of a [2, 16, 16, 1] tanh network, and reports the fixed cost of a
distributed evaluation (the median time of a near-empty one) and the break-even size (sizes up to
2M particle-samples, 600k with --quick).

Part 2 trains the same network on the demo problem with the same total number of particles and
iterations as one swarm (locally on every core, and through DaskObjective) and as K islands
(``island_fit``), and reports wall time, final cost and the time each needed to reach the cost that
the local single swarm ends with.

Every time is the minimum over ``--repeat`` runs (Part 1) or the median over ``--seeds`` seeds (Part 2),
to stay readable on a machine that is busy with other work.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable, List, Optional

import numpy as np

import swarmjac as sj
from swarmjac.demo import make_demo_data
from swarmjac.distributed import DaskObjective, _import_distributed, island_fit

NET = sj.MLP([2, 16, 16, 1], activations="tanh")


def best_time(function: Callable[[], object], repeat: int) -> float:
    """Minimum wall time of ``repeat`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_evaluation(client, n_workers: int, swarm_sizes: List[int], sample_counts: List[int],
                     repeat: int, max_size: int) -> tuple[list[dict], float]:
    """Part 1: one swarm evaluation, local vs DaskObjective. Returns rows and the fixed overhead (s)."""
    rows = []
    rng = np.random.default_rng(0)
    for n_samples in sample_counts:
        data = make_demo_data(n_samples, seed=1)
        with DaskObjective(client, NET, data) as objective:
            for n_particles in swarm_sizes:
                if n_particles * n_samples > max_size:
                    continue
                swarm = NET.init_params(n_particles, seed=rng)
                local_1 = best_time(lambda: NET.fitness(swarm, data, n_threads=1), repeat)
                local_all = best_time(lambda: NET.fitness(swarm, data), repeat)
                remote = best_time(lambda: objective(swarm), repeat)
                assert np.array_equal(objective(swarm), NET.fitness(swarm, data))
                rows.append(dict(P=n_particles, N=n_samples, local_1=local_1, local_all=local_all, dask=remote))
                print(f"  P={n_particles:5d} N={n_samples:6d}: local 1 thread {local_1 * 1e3:9.2f} ms, all cores "
                      f"{local_all * 1e3:9.2f} ms, dask x{n_workers} {remote * 1e3:9.2f} ms", file=sys.stderr)
    tiny = make_demo_data(3, seed=1)
    with DaskObjective(client, NET, tiny) as objective:
        swarm = NET.init_params(2 * n_workers, seed=rng)
        objective(swarm)
        times = []
        for _ in range(max(20, repeat)):
            start = time.perf_counter()
            objective(swarm)
            times.append(time.perf_counter() - start)
    return rows, statistics.median(times)


def _time_to_reach(history: sj.PSOHistory, wall_time: float, target: float) -> Optional[float]:
    """Wall time at which the best cost first reached ``target`` (iterations assumed equally long)."""
    reached = np.flatnonzero(history.best_cost <= target)
    if reached.size == 0:
        return None
    return wall_time * reached[0] / max(len(history) - 1, 1)


def bench_islands(client, n_particles: int, iters: int, n_samples: int, island_counts: List[int],
                  migrate_every: int, n_migrants: int, seeds: List[int]) -> list[dict]:
    """Part 2: one big swarm (local, DaskObjective) vs islands, same particles and iterations in total."""
    data = make_demo_data(n_samples, seed=0)
    runs: dict[str, list] = {}

    def record(name: str, seed: int, cost: float, history: sj.PSOHistory, wall: float) -> None:
        runs.setdefault(name, []).append((seed, cost, history, wall))
        print(f"  {name:28s} seed {seed}: cost {cost:.4g} in {wall:.1f} s", file=sys.stderr)

    for seed in seeds:
        start = time.perf_counter()
        res = sj.fit(NET, data, n_particles=n_particles, iters=iters, seed=seed)
        record("one swarm, local (all cores)", seed, res.cost, res.history, time.perf_counter() - start)

        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        opt = sj.PSO(n_particles, NET.n_params, init_pos=NET.init_params(n_particles, seed=rng), seed=rng,
                     n_iters_total=iters)
        with DaskObjective(client, NET, data) as objective:
            out = opt.run(objective, iters)
        record("one swarm, DaskObjective", seed, out.best_cost, out.history, time.perf_counter() - start)

        for k in island_counts:
            res = island_fit(client, NET, data, n_islands=k, migrate_every=migrate_every, n_migrants=n_migrants,
                             n_particles_per_island=n_particles // k, iters=iters, seed=seed)
            # the best island's history is the run's best-so-far only at the end; combine all islands
            combined = sj.PSOHistory(best_cost=np.min([h.best_cost for h in res.histories], axis=0),
                                     mean_cost=np.mean([h.mean_cost for h in res.histories], axis=0))
            record(f"{k} islands x {n_particles // k}", seed, res.cost, combined, res.wall_time)

    targets = {seed: cost for seed, cost, _, _ in runs["one swarm, local (all cores)"]}
    rows = []
    for name, results in runs.items():
        reach = [_time_to_reach(history, wall, targets[seed]) for seed, _, history, wall in results]
        rows.append(dict(
            name=name, wall=statistics.median(r[3] for r in results), cost=statistics.median(r[1] for r in results),
            reached=sum(t is not None for t in reach), n=len(results),
            reach=statistics.median(t for t in reach if t is not None) if any(t is not None for t in reach) else None,
        ))
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def markdown(rows: list[dict], overhead: float, island_rows: list[dict], args: argparse.Namespace,
             command: str) -> str:
    lines = [f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f}; "
             f"cluster: LocalCluster, {args.workers} worker processes x 1 thread, loopback.", "",
             f"### One swarm evaluation, network {list(NET.layer_sizes)} ({NET.n_params} parameters)", "",
             "| P | N | local, 1 thread (ms) | local, all cores (ms) | DaskObjective (ms) | "
             "Dask vs 1 thread | Dask vs all cores |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['P']} | {row['N']} | {_ms(row['local_1'])} | {_ms(row['local_all'])} | "
                     f"{_ms(row['dask'])} | {row['local_1'] / row['dask']:.2f}x | {row['local_all'] / row['dask']:.2f}x |")
    beats_one = [r for r in rows if r["dask"] < r["local_1"]]
    beats_all = [r for r in rows if r["dask"] < r["local_all"]]

    def smallest(candidates: list[dict]) -> str:
        if not candidates:
            return "never in this grid"
        row = min(candidates, key=lambda r: r["P"] * r["N"])
        return f"P x N = {row['P']} x {row['N']} = {row['P'] * row['N']:,} particle-samples"

    lines += ["",
              f"Fixed cost of one distributed evaluation (median, near-empty swarm): {_ms(overhead)} ms.",
              f"Smallest size where DaskObjective beats one local thread: {smallest(beats_one)}.",
              f"Smallest size where it beats local evaluation on every core: {smallest(beats_all)}.", "",
              f"### Island PSO vs one big swarm: {args.particles} particles in total, {args.iters} iterations, "
              f"demo problem with {args.samples} samples, migration every {args.migrate_every} iterations "
              f"({args.migrants} migrants); medians over seeds {args.seeds}", "",
              "| run | wall time (s) | final cost | reached the local swarm's final cost | time to reach it (s) |",
              "|---|---:|---:|---:|---:|"]
    for row in island_rows:
        reach = "-" if row["reach"] is None else f"{row['reach']:.1f}"
        lines.append(f"| {row['name']} | {row['wall']:.1f} | {row['cost']:.4g} | {row['reached']}/{row['n']} | "
                     f"{reach} |")
    walls = {row["name"]: row["wall"] for row in island_rows}
    per_iteration = (walls["one swarm, DaskObjective"] - walls["one swarm, local (all cores)"]) / args.iters
    lines += ["", f"Per-iteration cost of DaskObjective over local evaluation in this run: "
                  f"{per_iteration * 1e3:.1f} ms ({args.particles} particles x {args.samples} samples)."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per evaluation size (min is kept)")
    parser.add_argument("--quick", action="store_true", help="a smaller grid and shorter training runs")
    parser.add_argument("--particles", type=int, default=None, help="total particles of Part 2")
    parser.add_argument("--iters", type=int, default=None, help="iterations of Part 2")
    parser.add_argument("--samples", type=int, default=300, help="data rows of Part 2 (default %(default)s)")
    parser.add_argument("--islands", type=int, nargs="+", default=[2, 4, 8], help="island counts of Part 2")
    parser.add_argument("--migrate-every", type=int, default=25)
    parser.add_argument("--migrants", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    swarm_sizes = [8, 64, 512] if args.quick else [8, 32, 128, 512, 2048]
    sample_counts = [30, 300, 3000] if args.quick else [30, 300, 3000, 10000]
    args.particles = args.particles or (64 if args.quick else 128)
    args.iters = args.iters or (100 if args.quick else 200)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    command = "python benchmarks/bench_distributed.py " + " ".join(argv if argv is not None else sys.argv[1:])

    distributed = _import_distributed()
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                  ) as cluster, distributed.Client(cluster) as client:
        print("Part 1: one swarm evaluation", file=sys.stderr)
        rows, overhead = bench_evaluation(client, args.workers, swarm_sizes, sample_counts, args.repeat,
                                          max_size=600_000 if args.quick else 2_000_000)
        print("Part 2: island PSO vs one swarm", file=sys.stderr)
        island_rows = bench_islands(client, args.particles, args.iters, args.samples, args.islands,
                                    args.migrate_every, args.migrants, args.seeds)
    text = markdown(rows, overhead, island_rows, args, command.strip())
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
