"""One-shot comparison of swarmjac's compiled kernels with the NumPy baseline and the reference.

Runs the fixed workloads of workloads.py and prints the tables behind RESULTS.md (``--markdown`` prints
them as Markdown); ``--gradient`` adds the fitness-gradient table (net.fitness_and_gradient against the
NumPy and JAX versions). Usage: ``python benchmarks/compare.py [--workloads seed,small] [--repeats R]
[--threads T] [--quick] [--markdown] [--gradient | --gradient-only]``. The timing rules live in timing.py,
the peers in peers.py and baseline.py, the table formatting in report.py; this file says what is measured.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import swarmjac as sj  # noqa: E402
from swarmjac import reference  # noqa: E402

import baseline  # noqa: E402
import peers  # noqa: E402
import workloads as wl  # noqa: E402
from report import Table, core_info, fmt_gflops, fmt_rate, fmt_ratio, fmt_time, load_line, machine_lines  # noqa: E402
from timing import (MATMUL_SIZE, MAX_CALLS, MIN_REPEATS, MIN_TIME, ROUNDS, TIME_BUDGET, BlasThreads,  # noqa: E402
                    best_blas_threads, matmul_gflops, measure, measure_interleaved, measure_rounds,
                    settle_blas_threads)

#: Workloads whose float32 speed-up is reported.
FLOAT32_WORKLOADS = ("small", "medium")
#: Workload of the "only what is needed" comparison.
NEEDED_WORKLOAD = "small"


# ----------------------------------------------------------------------------------------------------
# The float64 table: compiled, baseline, jitted peers and reference on each workload


@dataclass
class WorkloadResult:
    """Every float64 number of one workload in the main table."""

    workload: wl.Workload
    fitness: float
    vjac: float
    base_fitness: float
    base_vjac: float
    base_blas_threads: int
    ref_fitness: float  # scaled to the full swarm
    ref_particles: int
    fitness_flops: float  # nominal, forward-mode count of the needed directions
    vjac_flops: float
    fitness_executed_flops: float  # what the kernel's mode choice sweeps
    vjac_executed_flops: float
    jitted: dict[str, float] = field(default_factory=dict)


def run_workload(workload: wl.Workload, repeats: int, threads: int, blas: BlasThreads, ref_particles: int,
                 jitted: dict[str, Callable]) -> WorkloadResult:
    """Time the compiled, baseline and reference paths of one workload (float64)."""
    net = wl.make_network(workload)
    params = wl.make_params(workload)
    data = wl.make_data(workload)
    X = np.ascontiguousarray(data.X)
    P, N = params.shape[0], data.n_samples
    base_threads = best_blas_threads(lambda: baseline.numpy_fitness(net, params, data), blas, threads)
    # Compiled and baseline calls are timed in ROUNDS alternating rounds and each median is taken over all
    # rounds, so that a change of machine load during the run moves both sides of a ratio alike; each round
    # first lets OpenBLAS's spinning threads (the peak matmul, a previous baseline) fall asleep.
    times = measure_rounds([
        (lambda: blas.limit(1), {
            "fitness": lambda: net.fitness(params, data, n_threads=threads),
            "vjac": lambda: net.value_and_jacobian(params, X, n_threads=threads),
        }),
        (lambda: blas.limit(base_threads), {
            "base_fitness": lambda: baseline.numpy_fitness(net, params, data),
            "base_vjac": lambda: baseline.numpy_value_and_jacobian(net, params, X),
        }),
    ], repeats)
    fitness, vjac, base_fitness, base_vjac = (times[key] for key in ("fitness", "vjac", "base_fitness", "base_vjac"))
    few = np.ascontiguousarray(params[:ref_particles])
    with blas.limit(1):  # one sample at a time: BLAS threads only add overhead
        ref = measure(lambda: reference.fitness(net, few, data), min(repeats, MIN_REPEATS), warmup=0)
    result = WorkloadResult(
        workload=workload, fitness=fitness, vjac=vjac, base_fitness=base_fitness, base_vjac=base_vjac,
        base_blas_threads=base_threads, ref_fitness=ref * P / ref_particles, ref_particles=ref_particles,
        fitness_flops=wl.nominal_flops(workload.layer_sizes, P, int(wl.columns_per_sample(data).sum())),
        vjac_flops=wl.nominal_flops(workload.layer_sizes, P, N * (1 + workload.d_in)),
        fitness_executed_flops=wl.nominal_flops(workload.layer_sizes, P, wl.executed_fitness_columns(net, data)),
        vjac_executed_flops=wl.nominal_flops(workload.layer_sizes, P, wl.executed_vjac_columns(net, N)),
    )
    for name, fn in jitted.items():
        with blas.limit(base_threads):
            result.jitted[name] = measure(lambda: fn(net, params, data), repeats)
    return result


def main_table(results: list[WorkloadResult], peak: float, threads: int, jitted: Sequence[str]) -> Table:
    """The float64 table: one column per workload, one row per measurement."""
    table = Table(f"float64, one swarm evaluation (median wall time), compiled with {threads} thread(s)",
                  ["", *[r.workload.name for r in results]])
    rows = table.rows
    rows.append(["network", *[f"{list(r.workload.layer_sizes)} {r.workload.activation}" for r in results]])
    rows.append(["P x N", *[f"{r.workload.n_particles} x {r.workload.n_samples}" for r in results]])
    rows.append(["compiled fitness", *[fmt_time(r.fitness) for r in results]])
    rows.append(["compiled value_and_jacobian", *[fmt_time(r.vjac) for r in results]])
    rows.append(["NumPy baseline fitness [1]", *[fmt_time(r.base_fitness) for r in results]])
    rows.append(["NumPy baseline value_and_jacobian [1]", *[fmt_time(r.base_vjac) for r in results]])
    for name in jitted:
        rows.append([f"{name} fitness [5]", *[fmt_time(r.jitted[name]) for r in results]])
    rows.append(["reference fitness [2]", *[fmt_time(r.ref_fitness) for r in results]])
    rows.append(["fitness: compiled vs baseline", *[fmt_ratio(r.base_fitness / r.fitness) for r in results]])
    rows.append(["vjac: compiled vs baseline", *[fmt_ratio(r.base_vjac / r.vjac) for r in results]])
    for name in jitted:
        rows.append([f"fitness: compiled vs {name}", *[fmt_ratio(r.jitted[name] / r.fitness) for r in results]])
    rows.append(["fitness: compiled vs reference [2]", *[fmt_ratio(r.ref_fitness / r.fitness) for r in results]])
    rows.append(["particle-samples/s, compiled fitness",
                 *[fmt_rate(r.workload.n_particles * r.workload.n_samples / r.fitness) for r in results]])
    rows.append(["GFLOP/s nominal, compiled fitness [3]", *[fmt_gflops(r.fitness_flops, r.fitness) for r in results]])
    rows.append(["GFLOP/s executed, compiled fitness [3]",
                 *[fmt_gflops(r.fitness_executed_flops, r.fitness, peak) for r in results]])
    rows.append(["GFLOP/s nominal, compiled vjac [3]", *[fmt_gflops(r.vjac_flops, r.vjac) for r in results]])
    rows.append(["GFLOP/s executed, compiled vjac [3]",
                 *[fmt_gflops(r.vjac_executed_flops, r.vjac, peak) for r in results]])
    rows.append(["GFLOP/s nominal, baseline fitness [3]",
                 *[fmt_gflops(r.fitness_flops, r.base_fitness) for r in results]])
    rows.append(["baseline BLAS threads [1]", *[str(r.base_blas_threads) for r in results]])
    ref_particles = results[0].ref_particles if results else 0
    table.notes = [
        "NumPy baseline: benchmarks/baseline.py, forward mode with the particle axis batched in np.matmul and "
        "the value and tangent columns stacked (tangents for every input direction some row observes, on every "
        "row). It gets whichever of 1 or T OpenBLAS threads was faster in a probe (last row); its elementwise "
        "NumPy work is single-threaded.",
        f"Reference (swarmjac.reference, a Python loop per particle and per sample, 1 BLAS thread) timed on "
        f"the first {ref_particles} particles and scaled linearly to the full swarm: its cost is exactly "
        "proportional to the number of particles.",
        "flops = P * columns * sum_l 2 * out_l * in_l (a multiply-add per weight per column; activations, "
        "bias, loss and the first layer's tangent shortcut not counted). Nominal: columns = sum over samples "
        "of 1 + the input directions the sample needs (fitness: those it observes; vjac: d_in), i.e. forward "
        "mode. Executed: the columns the kernel's auto mode sweeps, 1 + n_dir forward or 1 + d_out when it "
        "goes reverse (d_out < n_dir, per block of samples), so nominal > executed where reverse mode is used. "
        f"Percentages are of the float64 np.matmul rate measured in this run: {peak:.1f} GFLOP/s "
        f"({MATMUL_SIZE}x{MATMUL_SIZE} @ {MATMUL_SIZE}x{MATMUL_SIZE}, T BLAS threads, median).",
        f"Times are wall-clock medians of --repeats timed calls after one warm-up call (at least {MIN_REPEATS}, "
        f"fewer than --repeats when they would take over {TIME_BUDGET:.0f} s, more, up to {MAX_CALLS}, when "
        f"they would take under {MIN_TIME} s), pooled over {ROUNDS} rounds that alternate the compiled and "
        "baseline timings (reference: one round); data are built before timing.",
    ]
    if jitted:
        table.notes.append("Optional jitted versions of the baseline (forward mode, same maths; numba: prange "
                           "over particles; jax: jit(vmap(linearize))), compiled during the warm-up call; "
                           "shown only because the package was importable.")
    return table


# ----------------------------------------------------------------------------------------------------
# Compiled-only tables and "only what is needed"


def float32_table(names: Sequence[str], repeats: int, threads: int) -> Table:
    """Compiled fitness and value_and_jacobian in float32 against float64 (timed in turn)."""
    table = Table(f"float32 vs float64 (compiled, {threads} thread(s))",
                  ["workload", "fitness f64", "fitness f32", "f32 speed-up", "vjac f64", "vjac f32", "f32 speed-up"])
    for name in names:
        workload = wl.get_workload(name)
        net = wl.make_network(workload)
        data = wl.make_data(workload)
        params64, params32 = wl.make_params(workload), wl.make_params(workload, dtype=np.float32)
        X64, X32 = np.ascontiguousarray(data.X), data.X.astype(np.float32)
        f64, f32 = measure_interleaved([lambda: net.fitness(params64, data, n_threads=threads),
                                        lambda: net.fitness(params32, data, n_threads=threads)], repeats)
        v64, v32 = measure_interleaved([lambda: net.value_and_jacobian(params64, X64, n_threads=threads),
                                        lambda: net.value_and_jacobian(params32, X32, n_threads=threads)], repeats)
        table.rows.append([name, fmt_time(f64), fmt_time(f32), fmt_ratio(f64 / f32),
                           fmt_time(v64), fmt_time(v32), fmt_ratio(v64 / v32)])
    table.notes = ["float64 and float32 calls alternate in turns of several calls (the first of each turn "
                   "untimed), so both see the same machine load."]
    return table


def _identical(first: Any, second: Any) -> bool:
    """Whether two results (an array or a tuple of arrays) are equal bit for bit."""
    if isinstance(first, tuple):
        return all(np.array_equal(a, b) for a, b in zip(first, second))
    return bool(np.array_equal(first, second))


def threads_table(names: Sequence[str], repeats: int) -> Table:
    """Compiled fitness and value_and_jacobian on 1 and 2 threads, with the bit-identity of the results."""
    table = Table("thread scaling (compiled, float64)",
                  ["workload", "fitness 1 thread", "fitness 2 threads", "speed-up", "bit-identical",
                   "vjac 1 thread", "vjac 2 threads", "speed-up", "bit-identical"])
    for name in names:
        workload = wl.get_workload(name)
        net = wl.make_network(workload)
        data = wl.make_data(workload)
        params = wl.make_params(workload)
        X = np.ascontiguousarray(data.X)
        row = [name]
        for compute in (lambda n: net.fitness(params, data, n_threads=n),
                        lambda n: net.value_and_jacobian(params, X, n_threads=n)):
            one, two = measure_interleaved([lambda: compute(1), lambda: compute(2)], repeats)
            same = _identical(compute(1), compute(2))
            row += [fmt_time(one), fmt_time(two), fmt_ratio(one / two), "yes" if same else "NO"]
        table.rows.append(row)
    table.notes = ["1-thread and 2-thread calls alternate in turns of several calls, the first of each turn untimed "
                   "(it pays for waking the idle OpenMP threads), so both see the same machine load; bit-identical: "
                   "the two results compared with np.array_equal."]
    return table


def needed_table(repeats: int, threads: int, blas: BlasThreads, peak: float) -> Table:
    """Fitness on data sets that need no, one, or every tangent direction ("only what is needed")."""
    workload = wl.get_workload(NEEDED_WORKLOAD)
    net = wl.make_network(workload)
    params = wl.make_params(workload)
    P = params.shape[0]
    cases = [(pattern.label, wl.make_data(workload, name)) for name, pattern in wl.DATA_PATTERNS.items()]
    for _, data in cases:
        data.blocks(np.float64)  # prepared before timing, as in the main table
    settle_blas_threads()
    with blas.limit(1):  # no spinning BLAS threads beside the kernel's (see run_workload)
        compiled_times = measure_interleaved([lambda d=data: net.fitness(params, d, n_threads=threads)
                                              for _, data in cases], repeats)
    table = Table(f"only what is needed: fitness on {workload.describe()}, float64",
                  ["data set", "nominal cols/sample [1]", "executed cols/sample [1]", "compiled", "vs values only",
                   "GFLOP/s executed [1]", "NumPy baseline", "vs values only", "compiled vs baseline"])
    rows = []
    for (label, data), compiled in zip(cases, compiled_times):
        base_threads = best_blas_threads(lambda: baseline.numpy_fitness(net, params, data), blas, threads)
        with blas.limit(base_threads):
            base = measure(lambda: baseline.numpy_fitness(net, params, data), repeats, warmup=0)
        nominal = int(wl.columns_per_sample(data).sum())
        executed = wl.executed_fitness_columns(net, data)
        rows.append((label, nominal / data.n_samples, executed / data.n_samples, compiled, base,
                     wl.nominal_flops(workload.layer_sizes, P, executed)))
    compiled0, base0 = rows[0][3], rows[0][4]
    for label, nominal, executed, compiled, base, flops in rows:
        table.rows.append([label, f"{nominal:.2f}", f"{executed:.2f}", fmt_time(compiled),
                           f"{compiled / compiled0:.2f}", fmt_gflops(flops, compiled, peak), fmt_time(base),
                           f"{base / base0:.2f}", fmt_ratio(base / compiled)])
    table.notes = [
        "cols/sample: value + tangent columns per sample, as in note 3 of the main table (nominal: forward "
        "count of the directions each row observes; executed: what the kernel's auto mode sweeps). The compiled "
        "calls on the four data sets alternate. The baseline carries every direction some row observes on every "
        "row.",
    ]
    return table



# ----------------------------------------------------------------------------------------------------
# The fitness-gradient table: net.fitness_and_gradient against the NumPy and JAX versions


#: Rows of the gradient table, in order: (key, label). Keys absent from a run (no kernel, no jax) are left out.
GRADIENT_ROWS = (
    ("kernel", "compiled fitness_and_gradient f64"),
    ("kernel32", "compiled fitness_and_gradient f32"),
    ("numpy", "NumPy fitness_and_gradient f64 [1]"),
    ("jax", "jax value_and_grad f64 [2]"),
    ("jax32", "jax value_and_grad f32 [2]"),
    ("fitness", "compiled fitness f64 (for scale)"),
)
#: Speed ratios of the gradient table: (numerator key, denominator key, label); shown when both were timed.
GRADIENT_RATIOS = (
    ("numpy", "kernel", "compiled vs NumPy (f64)"),
    ("jax", "kernel", "compiled vs jax (f64, target 10x)"),
    ("jax32", "kernel32", "compiled vs jax (f32, target 10x)"),
    ("numpy", "jax", "jax vs NumPy (f64)"),
    ("jax", "jax32", "jax f32 vs f64"),
    ("kernel", "fitness", "gradient / fitness cost, compiled"),
)


def kernel_fitness_and_gradient() -> Optional[str]:
    """Why ``net.fitness_and_gradient`` cannot be timed (a message), or None when the installed swarmjac has it."""
    if hasattr(sj.MLP, "fitness_and_gradient"):
        return None
    return (f"swarmjac {sj.__version__} (from {os.path.dirname(sj.__file__)}) has no MLP.fitness_and_gradient: "
            "the compiled rows are skipped")


@dataclass
class GradientResult:
    """Median times (seconds) of one workload's gradient paths, and their agreement with the NumPy version."""

    workload: wl.Workload
    times: dict[str, float]
    base_blas_threads: int
    # max |g - g_numpy| / max |g_numpy| over the swarm, per timed path other than NumPy.
    agreement: dict[str, float] = field(default_factory=dict)


def _gradient_difference(result: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> float:
    """Largest gradient difference relative to the largest gradient entry, over the finite particles."""
    finite = np.isfinite(expected[0])
    g, g_expected = np.asarray(result[1], dtype=np.float64)[finite], expected[1][finite]
    return float(np.abs(g - g_expected).max() / max(np.abs(g_expected).max(), np.finfo(float).tiny))


def run_gradient(workload: wl.Workload, repeats: int, threads: int, blas: BlasThreads,
                 jax_gradient: Optional[Callable]) -> GradientResult:
    """Time net.fitness_and_gradient (if it exists), the NumPy and the JAX versions on one workload.

    Same discipline as the float64 table: the BLAS threads of the NumPy version probed, then ROUNDS
    alternating rounds (compiled with 1 BLAS thread, NumPy with its best count, JAX on its own thread pool),
    pooled medians. JAX compiles in the first round's untimed warm-up call.
    """
    net = wl.make_network(workload)
    data = wl.make_data(workload)
    params64, params32 = wl.make_params(workload), wl.make_params(workload, dtype=np.float32)
    for dtype in (np.float64, np.float32):
        data.blocks(dtype)  # prepared before timing, as in the other tables
    numpy_result = baseline.numpy_fitness_and_gradient(net, params64, data)
    compiled: dict[str, Callable[[], Any]] = {"fitness": lambda: net.fitness(params64, data, n_threads=threads)}
    others: dict[str, Callable[[], Any]] = {}
    if kernel_fitness_and_gradient() is None:
        compiled["kernel"] = lambda: net.fitness_and_gradient(params64, data, n_threads=threads)
        compiled["kernel32"] = lambda: net.fitness_and_gradient(params32, data, n_threads=threads)
    if jax_gradient is not None:
        others["jax"] = lambda: jax_gradient(net, params64, data)
        others["jax32"] = lambda: jax_gradient(net, params32, data)
    agreement = {key: _gradient_difference(fn(), numpy_result) for key, fn in {**compiled, **others}.items()
                 if key != "fitness"}
    base_threads = best_blas_threads(lambda: baseline.numpy_fitness_and_gradient(net, params64, data), blas,
                                     threads)
    times = measure_rounds([
        (lambda: blas.limit(1), compiled),
        (lambda: blas.limit(base_threads), {"numpy": lambda: baseline.numpy_fitness_and_gradient(net, params64,
                                                                                                data)}),
        (contextlib.nullcontext, others),
    ], repeats)
    return GradientResult(workload, times, base_threads, agreement)


def gradient_table(results: list[GradientResult], threads: int, jax_version: Optional[str]) -> Table:
    """Fitness and weight gradient of the whole swarm: one column per workload."""
    table = Table(f"fitness and weight gradient, one swarm evaluation (median wall time), compiled with "
                  f"{threads} thread(s)", ["", *[r.workload.name for r in results]])
    rows = table.rows
    rows.append(["network", *[f"{list(r.workload.layer_sizes)} {r.workload.activation}" for r in results]])
    rows.append(["P x N", *[f"{r.workload.n_particles} x {r.workload.n_samples}" for r in results]])
    timed = set.intersection(*(set(r.times) for r in results)) if results else set()
    for key, label in GRADIENT_ROWS:
        if key in timed:
            rows.append([label, *[fmt_time(r.times[key]) for r in results]])
    for top, bottom, label in GRADIENT_RATIOS:
        if top in timed and bottom in timed:
            rows.append([label, *[fmt_ratio(r.times[top] / r.times[bottom]) for r in results]])
    for key, label in GRADIENT_ROWS:
        if key in timed and all(key in r.agreement for r in results):
            rows.append([f"max gradient difference to NumPy, {label.split(' [')[0]} [3]",
                         *[f"{r.agreement[key]:.1e}" for r in results]])
    rows.append(["NumPy BLAS threads [1]", *[str(r.base_blas_threads) for r in results]])
    table.notes = [
        "NumPy: benchmarks/baseline.py numpy_fitness_and_gradient, reverse-over-forward over the whole swarm: the "
        "forward value and tangent columns of the fitness baseline, kept per layer, then one backward sweep of "
        "their adjoints (f'(z) and f''(z) terms) with batched matmuls; it gets whichever of 1 or T OpenBLAS "
        "threads was faster (last row).",
        ("JAX " + (jax_version or "") + ": benchmarks/peers.py, jit(vmap(value_and_grad(loss))) over particles, "
         "loss = the same fitness with the partials by jax.linearize along the observed input directions; "
         "float64 via jax_enable_x64; XLA's own CPU threads; compiled in the untimed warm-up call."),
        "Largest |g - g_NumPy| over the swarm divided by the largest |g_NumPy| entry (float32 paths against the "
        "float64 NumPy gradient).",
        f"Times: medians pooled over {ROUNDS} rounds that alternate the compiled, NumPy and JAX timings, as in the "
        "float64 table (one warm-up call per round, at least 0.3 s of timed calls per measurement).",
    ]
    missing = kernel_fitness_and_gradient()
    if missing is not None:
        table.notes.append(missing + ".")
    if jax_version is None:
        table.notes.append("jax is not installed: the JAX rows are skipped (pip install jax jaxlib; never a "
                           "dependency).")
    return table


def _jax_version() -> Optional[str]:
    """The installed JAX version, or None (without importing jax when it is absent)."""
    try:
        import jax
    except ImportError:
        return None
    return jax.__version__


# ----------------------------------------------------------------------------------------------------
# Command line



def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(wl.WORKLOADS),
                        help=f"comma-separated subset of {','.join(wl.WORKLOADS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per measurement (default 5; 3 "
                        "with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of the compiled kernels and of BLAS (default: all cores)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, reference on 2 particles, no jitted columns")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for RESULTS.md)")
    gradient = parser.add_mutually_exclusive_group()
    gradient.add_argument("--gradient", action="store_true",
                          help="add the fitness_and_gradient table (compiled, NumPy, jax where installed)")
    gradient.add_argument("--gradient-only", action="store_true",
                          help="print only the machine header and the fitness_and_gradient table")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    for name in names:
        try:
            wl.get_workload(name)
        except ValueError as exc:
            parser.error(str(exc))
    args.names = names
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads is None:
        args.threads = core_info()[1]
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    return args


def fitness_tables(args: argparse.Namespace, blas: BlasThreads, ref_particles: int,
                   jitted: dict[str, Callable]) -> list[Table]:
    """The tables of the default report: float64, float32 vs float64, threads, only what is needed."""
    with blas.limit(args.threads):
        peak = matmul_gflops(max(3, args.repeats))
    results = [run_workload(wl.get_workload(name), args.repeats, args.threads, blas, ref_particles, jitted)
               for name in args.names]
    tables = [main_table(results, peak, args.threads, list(jitted))]
    f32_names = [name for name in FLOAT32_WORKLOADS if name in args.names]
    settle_blas_threads()
    with blas.limit(1):  # compiled-only tables: no spinning BLAS threads beside the kernel's
        if f32_names:
            tables.append(float32_table(f32_names, args.repeats, args.threads))
        tables.append(threads_table(args.names, args.repeats))
    if NEEDED_WORKLOAD in args.names:
        tables.append(needed_table(args.repeats, args.threads, blas, peak))
    return tables


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run every measurement and print the tables."""
    args = parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in
                                   ([os.path.relpath(sys.argv[0])] + list(sys.argv[1:] if argv is None else argv)))
    blas = BlasThreads()
    ref_particles = 2 if args.quick else 4
    jitted: dict[str, Callable] = {}
    if not args.quick and not args.gradient_only:
        for name, factory in (("numba", peers.numba_fitness_factory), ("jax", peers.jax_fitness_factory)):
            fn = factory()
            if fn is not None:
                jitted[name] = fn
    header = machine_lines(command, args.threads, blas.backend)
    tables = []
    if not args.gradient_only:
        tables += fitness_tables(args, blas, ref_particles, jitted)
    if args.gradient or args.gradient_only:
        missing = kernel_fitness_and_gradient()
        if missing is not None:
            print(missing, file=sys.stderr)
        jax_gradient = peers.jax_fitness_and_gradient_factory()
        results = [run_gradient(wl.get_workload(name), args.repeats, args.threads, blas, jax_gradient)
                   for name in args.names]
        tables.append(gradient_table(results, args.threads, _jax_version()))
    out = []
    if args.markdown:
        out.append("## swarmjac benchmark results\n")
        out += [f"- {line}" for line in header] + [""]
        for workload_name in args.names:
            out.append(f"- workload {wl.get_workload(workload_name).describe()}")
        out.append("")
    else:
        out += header + [""]
        out += [f"workload {wl.get_workload(name).describe()}" for name in args.names] + [""]
    out += [table.render(args.markdown) for table in tables]
    out.append(("- " if args.markdown else "") + load_line("end"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
