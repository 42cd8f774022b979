"""How the fused fitness scales with swarm size P, sample count N and layer width, and its memory.

A script (not a pytest-benchmark file): prints Markdown tables for benchmarks/RESULTS.md. Each time is the
median of timed calls of ``net.fitness`` (timing.measure: one warm-up call, at least --repeats calls and
0.3 s of them) on the "mixed" data pattern of benchmarks/workloads.py (a third values only, a third dy/dx1
only, a third every partial; rows in order). Peak memory is measured in a fresh subprocess.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import swarmjac as sj  # noqa: E402
from timing import measure  # noqa: E402
from workloads import build_data  # noqa: E402


def thirds_data(n_samples: int, d_in: int, d_out: int, seed: int = 0) -> sj.Dataset:
    """N points uniform in [-1, 1]^d_in, rows in order: a third values only, a third dy/dx1 only, a third
    every partial (workloads.DATA_PATTERNS["mixed"], unshuffled)."""
    X = np.random.default_rng(seed).uniform(-1, 1, size=(n_samples, d_in))
    return build_data(X, d_out, "mixed", shuffle_seed=None)


def time_fitness(layers, activation, n_particles, n_samples, repeats, n_threads=None) -> float:
    net = sj.MLP(layers, activation)
    params = net.init_params(n_particles, seed=1)
    data = thirds_data(n_samples, layers[0], layers[-1])
    return measure(lambda: net.fitness(params, data, n_threads=n_threads), repeats)


def peak_memory_child(layers, activation, n_particles, n_samples) -> dict:
    """Run one large fitness call in a fresh interpreter and report its peak RSS (MiB) before/after."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {HERE!r})
import numpy as np, swarmjac as sj
from scaling import thirds_data
net = sj.MLP({list(layers)!r}, {activation!r})
params = net.init_params({n_particles}, seed=1)
data = thirds_data({n_samples}, {layers[0]}, {layers[-1]})
data.blocks(np.float64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
f = net.fitness(params, data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
inputs = (params.nbytes + sum(a.nbytes for a in vars(data.blocks(np.float64)).values() if hasattr(a, 'nbytes'))) / 2**20
print(json.dumps(dict(before=before, after=after, inputs=inputs)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    r = args.repeats
    base = ([2, 16, 16, 1], "tanh")
    print("### Time vs swarm size P ([2, 16, 16, 1] tanh, N = 256, float64, all cores)\n")
    print("| P | time (ms) | µs per particle |\n|---:|---:|---:|")
    for P in (100, 300, 1000, 3000, 10000):
        t = time_fitness(*base, P, 256, r)
        print(f"| {P} | {t * 1e3:.2f} | {t / P * 1e6:.2f} |")
    print("\n### Time vs sample count N ([2, 16, 16, 1] tanh, P = 1000)\n")
    print("| N | time (ms) | ns per particle-sample |\n|---:|---:|---:|")
    for N in (64, 256, 1024, 4096):
        t = time_fitness(*base, 1000, N, r)
        print(f"| {N} | {t * 1e3:.2f} | {t / (1000 * N) * 1e9:.1f} |")
    print("\n### Time vs width ([2, H, H, 1] tanh, P = 256, N = 256)\n")
    print("| H | time (ms) | ns per particle-sample | ns per particle-sample / H^2 |\n|---:|---:|---:|---:|")
    for H in (8, 16, 32, 64, 128, 256):
        t = time_fitness([2, H, H, 1], "tanh", 256, 256, r)
        per = t / (256 * 256) * 1e9
        print(f"| {H} | {t * 1e3:.2f} | {per:.1f} | {per / H ** 2:.3f} |")
    print("\n### Peak memory of a large fitness call (fresh process, resident set, MiB)\n")
    print("| network | P x N | inputs (params + prepared data) | peak RSS before call | peak RSS after call |")
    print("|---|---|---:|---:|---:|")
    for layers, act, P, N in (([2, 16, 16, 1], "tanh", 20000, 4096), ([8, 128, 128, 128, 1], "sigmoid", 2000, 4096)):
        m = peak_memory_child(layers, act, P, N)
        print(f"| {layers} {act} | {P} x {N} | {m['inputs']:.1f} | {m['before']:.1f} | {m['after']:.1f} |")
    print("\nThe call itself adds only per-thread scratch (a few sample blocks per thread): nothing "
          "proportional to P x N is allocated.")


if __name__ == "__main__":
    main()
