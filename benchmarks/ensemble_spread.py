"""Does an ensemble's spread flag its errors? ``sj.fit(..., ensemble_size=K)`` on a few problems, scored on fresh
points.

For each problem (the demo, and SMT's Branin and Rosenbrock 4-D from fit_quality.py), clean and noisy training
data (every row observes the value and every partial; noisy: Gaussian noise of ``--noise`` times the spread of
each quantity, 2% by default) and each seed, it fits an ensemble and measures on fresh test points, for the
value and for each partial:

- Spearman's rank correlation (scipy.stats.spearmanr) between the spread (std over the members) and the absolute
  error of the mean: does a larger spread mark a larger error?
- the coverage of mean +- 2 spread: the share of test points whose truth lies inside;
- spread / RMSE: the root-mean-square spread over the RMSE of the mean (1 = the right size on average).

Usage: ``python benchmarks/ensemble_spread.py [--problems demo,branin,rosenbrock] [--seeds 5] [--ensemble-size 5]
[--noise 0.02] [--threads 1] [--quick]``. SMT is a benchmark-only dependency (``pip install smt``).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import zlib
from typing import Any, Optional, Sequence

import numpy as np
from scipy.stats import qmc, spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import swarmjac as sj  # noqa: E402
from fit_quality import get_problem  # noqa: E402  (the problems, with their exact gradients)

PROBLEMS = ("demo", "branin", "rosenbrock")
#: Fresh points of the test set.
N_TEST = 2000
#: One network for every problem (the size fit_quality.py trains on each of them).
HIDDEN = (16, 16)
#: What --quick changes.
QUICK = {"n_train": 40, "iters": 20, "n_particles": 20, "n_test": 300, "hidden": (8,)}


def _seed(*parts: Any) -> int:
    """A seed that depends only on its arguments (not on Python's per-process hash salt)."""
    return zlib.crc32(repr(parts).encode())


def training_data(problem, n_train: int, noise: float, seed: int) -> sj.Dataset:
    """Latin-hypercube rows observing the value and every partial, with relative Gaussian noise."""
    sampler = qmc.LatinHypercube(d=problem.d, rng=_seed(problem.name, "train", seed))
    X = qmc.scale(sampler.random(n_train), problem.domain[:, 0], problem.domain[:, 1])
    y, dydx = problem.function(X), problem.gradient(X)
    if noise:
        rng = np.random.default_rng(_seed(problem.name, "noise", seed))
        y = y + noise * np.std(y) * rng.standard_normal(y.shape)
        dydx = dydx + noise * np.std(dydx, axis=0) * rng.standard_normal(dydx.shape)
    return sj.Dataset(X, y[:, None], dydx=dydx[:, None, :])


def test_points(problem, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh uniform points and their true [value, partials...] (n_test, 1 + d)."""
    rng = np.random.default_rng(_seed(problem.name, "test", seed))
    X = rng.uniform(problem.domain[:, 0], problem.domain[:, 1], size=(n_test, problem.d))
    return X, np.column_stack([problem.function(X), problem.gradient(X)])


def score(truth: np.ndarray, mean: np.ndarray, spread: np.ndarray) -> dict[str, float]:
    """Spearman(spread, |error|), coverage of mean +- 2 spread and spread / RMSE of one quantity."""
    error = np.abs(mean - truth)
    rho = spearmanr(spread, error).statistic if np.ptp(spread) > 0 else float("nan")
    rmse = float(np.sqrt(np.mean(error ** 2)))
    return {"spearman": float(rho), "coverage": float(np.mean(error <= 2 * spread)),
            "spread_over_rmse": float(np.sqrt(np.mean(spread ** 2)) / rmse), "rmse": rmse}


def run(problem_names: Sequence[str], seeds: int, ensemble_size: int, noise: float, threads: Optional[int],
        quick: bool) -> list[dict[str, Any]]:
    rows = []
    for name in problem_names:
        problem = get_problem(name)
        hidden = QUICK["hidden"] if quick else HIDDEN
        n_train = QUICK["n_train"] if quick else problem.n_train
        net = sj.MLP([problem.d, *hidden, 1], "tanh")
        X_test, truth = test_points(problem, QUICK["n_test"] if quick else N_TEST, 0)
        labels = ["y"] + [f"dy/dx{j + 1}" for j in range(problem.d)]
        for level in (0.0, noise):
            for seed in range(seeds):
                data = training_data(problem, n_train, level, seed)
                options = dict(n_particles=QUICK["n_particles"], iters=QUICK["iters"]) if quick else {}
                start = time.perf_counter()
                res = sj.fit(net, data, seed=seed, ensemble_size=ensemble_size, n_threads=threads, **options)
                elapsed = time.perf_counter() - start
                Y, J, Y_std, J_std = res.ensemble.value_and_jacobian(X_test, return_std=True, n_threads=threads)
                mean = np.column_stack([Y[:, 0], J[:, 0, :]])
                spread = np.column_stack([Y_std[:, 0], J_std[:, 0, :]])
                for k, label in enumerate(labels):
                    rows.append({"problem": name, "network": str(list(net.layer_sizes)), "noise": level,
                                 "seed": seed, "quantity": label, "fit_s": elapsed,
                                 **score(truth[:, k], mean[:, k], spread[:, k])})
                print(f"  {name} noise {level:g} seed {seed}: {elapsed:.1f} s, members {res.ensemble.size}",
                      file=sys.stderr, flush=True)
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """One line per problem, noise level and quantity: medians over the seeds (min..max of Spearman)."""
    lines = ["| problem | network | noise | quantity | Spearman(spread, abs err) median [min, max] | "
             "coverage of mean +- 2 spread | spread / RMSE | RMSE of the mean |",
             "|---|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["problem"], r["network"], r["noise"], r["quantity"]) for r in rows))
    for problem, network, noise, quantity in keys:
        group = [r for r in rows if (r["problem"], r["network"], r["noise"], r["quantity"])
                 == (problem, network, noise, quantity)]
        rho = np.array([r["spearman"] for r in group])

        def median(key: str) -> float:
            return float(np.median([r[key] for r in group]))

        lines.append(f"| {problem} | {network} | {100 * noise:g}% | {quantity} | {np.nanmedian(rho):.2f} "
                     f"[{np.nanmin(rho):.2f}, {np.nanmax(rho):.2f}] | {100 * median('coverage'):.0f}% | "
                     f"{median('spread_over_rmse'):.2f} | {median('rmse'):.3g} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated subset of %(default)s")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per problem and noise level (default 5)")
    parser.add_argument("--ensemble-size", type=int, default=5, help="members (default 5)")
    parser.add_argument("--noise", type=float, default=0.02,
                        help="relative noise of the noisy runs (default 0.02: 2%% of each quantity's spread)")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: every core)")
    parser.add_argument("--quick", action="store_true", help="tiny data and fits (smoke test)")
    args = parser.parse_args(argv)
    names = [n for n in args.problems.split(",") if n]
    unknown = [n for n in names if n not in PROBLEMS]
    if unknown:
        raise SystemExit(f"unknown problems {unknown}; expected a subset of {', '.join(PROBLEMS)}")
    command = "python " + " ".join(shlex.quote(part) for part in [sys.argv[0], *(argv or sys.argv[1:])])
    print(f"# ensemble spread as an error flag\n\ncommand: `{command}`\n")
    print(f"- swarmjac {sj.__version__}, sj.fit defaults except ensemble_size={args.ensemble_size}, "
          f"{args.seeds} seeds, test points {QUICK['n_test'] if args.quick else N_TEST} (fresh, uniform)\n")
    rows = run(names, args.seeds, args.ensemble_size, args.noise, args.threads, args.quick)
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    main()
