"""The fused fitness against value_and_jacobian followed by the masked loss in NumPy (same numbers).

Shows what fusing buys: the fused kernel carries only the directions each block observes and stores no
Jacobian. Usage: python benchmarks/fused_vs_vjac.py [--repeats R]; prints interleaved medians.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as wl  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("| workload | fused fitness | value_and_jacobian + NumPy loss | ratio |\n|---|---:|---:|---:|")
    for name in wl.WORKLOADS:
        workload = wl.get_workload(name)
        net, params, data = wl.make_network(workload), wl.make_params(workload), wl.make_data(workload)
        y_seen, d_seen = ~np.isnan(data.y), ~np.isnan(data.dydx)

        def unfused() -> np.ndarray:
            Y, J = net.value_and_jacobian(params, data.X)
            return (((Y[:, y_seen] - data.y[y_seen]) ** 2).mean(axis=1)
                    + ((J[:, d_seen] - data.dydx[d_seen]) ** 2).mean(axis=1))

        np.testing.assert_allclose(unfused(), net.fitness(params, data), rtol=1e-9)
        fused_times, unfused_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            net.fitness(params, data)
            fused_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            unfused()
            unfused_times.append(time.perf_counter() - start)
        fused, plain = np.median(fused_times), np.median(unfused_times)
        print(f"| {name} | {fused * 1e3:.2f} ms | {plain * 1e3:.2f} ms | {plain / fused:.2f}x |")


if __name__ == "__main__":
    main()
