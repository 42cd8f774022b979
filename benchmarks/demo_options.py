"""Trainer options on the demo problem, over seeds: a quick way to compare sj.fit settings side by side.

Fits the demo function ([2, 16, 16, 1] tanh, 300 mixed rows) for 3 data draws and seeds with each named
setting, clean or with Gaussian noise (sd = NOISE * spread of each quantity), and prints the held-out
relative errors (value, mean of the partials) on 2000 fresh points: per seed, then median and worst.
Usage: ``python benchmarks/demo_options.py [NAMES] [NOISE]``, e.g. ``python benchmarks/demo_options.py
default,no-validation,alpha-1e-3 0.02``. The table of benchmarks/RESULTS.md on weight decay and
validation came from these settings.
"""
from __future__ import annotations

import sys
import time

import numpy as np

import swarmjac as sj
from swarmjac.demo import evaluate_fit, make_demo_data

SETTINGS = {
    "default": {},
    "no-validation": {"validation_fraction": 0.0},
    "no-early-stopping": {"refine": {"patience": 0, "deep_patience": 0}},
    "alpha-1e-4": {"alpha": 1e-4},
    "alpha-1e-3": {"alpha": 1e-3},
    "alpha-1e-2": {"alpha": 1e-2},
    "no-refit": {"refine": {"refit_maxiter": 0}},
    "no-deep-polish": {"refine": {"deep_maxiter": 0}},
    "multistart-16": {"n_particles": 16, "refine": {"final_top": 16}},
    "hybrid-0.1": {"n_particles": 50, "iters": 200, "refine": {"every": 20, "top": 2, "maxiter": 100, "final_top": 1,
                                                             "final_maxiter": 15000, "deep_maxiter": 0}},
}


def noisy(data: sj.Dataset, noise: float, rng: np.random.Generator) -> sj.Dataset:
    """The data with Gaussian noise of ``noise`` times each quantity's spread on every observation."""
    y = data.y + noise * np.nanstd(data.y) * rng.normal(size=data.y.shape)
    dydx = data.dydx + noise * np.nanstd(data.dydx, axis=0) * rng.normal(size=data.dydx.shape)
    return sj.Dataset(data.X, y=y, dydx=dydx)


def main(argv: list[str]) -> None:
    names = argv[0].split(",") if argv else list(SETTINGS)
    noise = float(argv[1]) if len(argv) > 1 else 0.0
    unknown = sorted(set(names) - set(SETTINGS))
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; known: {sorted(SETTINGS)}")
    results: dict[str, list] = {}
    for seed in range(3):
        data = make_demo_data(300, seed=100 + seed)
        if noise:
            data = noisy(data, noise, np.random.default_rng(seed))
        for name in names:
            net = sj.MLP([2, 16, 16, 1], "tanh")
            start = time.perf_counter()
            res = sj.fit(net, data, seed=seed, n_threads=1, **SETTINGS[name])
            elapsed = time.perf_counter() - start
            relative = evaluate_fit(net, res.params).relative()
            row = (relative[0], float(np.mean(relative[1:])), elapsed)
            results.setdefault(name, []).append(row)
            print(f"{name} seed {seed}: value {row[0]:.3g}, partials {row[1]:.3g}, {elapsed:.1f} s, "
                  f"validation error {res.validation_error}", flush=True)
    print(f"noise {noise}: median (worst) of 3 seeds")
    for name, rows in results.items():
        table = np.array(rows)
        print(f"  {name:20s} value {np.median(table[:, 0]):.3g} ({table[:, 0].max():.3g})  partials "
              f"{np.median(table[:, 1]):.3g} ({table[:, 1].max():.3g})  time {np.median(table[:, 2]):.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
