"""One-shot comparison of swarmjac's compiled kernels with the NumPy baseline and the reference.

Runs the fixed workloads of workloads.py and prints the tables behind RESULTS.md (``--markdown`` prints
them as Markdown). Usage: ``python benchmarks/compare.py [--workloads seed,small] [--repeats R]
[--threads T] [--quick] [--markdown]``.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import swarmjac as sj  # noqa: E402
from swarmjac import reference  # noqa: E402

import baseline  # noqa: E402
import workloads as wl  # noqa: E402

#: Workloads whose float32 speed-up is reported.
FLOAT32_WORKLOADS = ("small", "medium")
#: Workload of the "only what is needed" comparison.
NEEDED_WORKLOAD = "small"
#: Matrix size of the BLAS peak measurement.
MATMUL_SIZE = 2000


# ----------------------------------------------------------------------------------------------------
# Timing


#: A measurement takes fewer than --repeats calls (but at least MIN_REPEATS) when a call is slower than
#: TIME_BUDGET / repeats seconds.
TIME_BUDGET = 8.0
MIN_REPEATS = 3
#: ... and more calls (up to MAX_CALLS) when --repeats calls would take less than MIN_TIME seconds: the
#: median of 5 sub-millisecond calls mostly measures how awake the cores and the OpenMP threads are.
MIN_TIME = 0.3
MAX_CALLS = 2000
#: Alternating rounds of compiled and baseline timings in the main table.
ROUNDS = 3
#: Turns per function in measure_interleaved.
INTERLEAVED_TURNS = 5


def _call_count(first_call: float, repeats: int, budget: float) -> int:
    """Timed calls for a function whose first call took ``first_call`` seconds."""
    if first_call * repeats <= budget:
        enough = int(MIN_TIME / max(first_call, 1e-9))
        return max(1, repeats, min(MAX_CALLS, enough))
    return max(min(repeats, MIN_REPEATS), min(repeats, int(budget / max(first_call, 1e-9))))


def settle_blas_threads(seconds: float = 0.5) -> None:
    """Wait until OpenBLAS's worker threads stop spinning after their last call (see run_workload)."""
    time.sleep(seconds)


def measure_samples(fn: Callable[[], Any], repeats: int, warmup: int = 1,
                    budget: float = TIME_BUDGET) -> list[float]:
    """Wall times of timed calls of ``fn()`` in seconds, after ``warmup`` untimed calls.

    Parameters
    ----------
    fn : callable
        Called with no arguments; its result is discarded.
    repeats : int
        Timed calls (>= 1); fewer, but at least ``MIN_REPEATS``, when that would exceed ``budget``, and more
        (up to ``MAX_CALLS``) when they would take less than ``MIN_TIME`` seconds.
    warmup : int, default 1
        Untimed calls first (the last one sizes the repeats).
    budget : float
        Seconds of timed calls to aim for.

    Returns
    -------
    list of float
    """
    first = None
    for _ in range(warmup):
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
    times: list[float] = []
    n_calls = max(1, repeats) if first is None else _call_count(first, repeats, budget)
    while len(times) < n_calls:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if first is None and len(times) == 1:
            n_calls = _call_count(times[0], repeats, budget)
    return times


def measure(fn: Callable[[], Any], repeats: int, warmup: int = 1, budget: float = TIME_BUDGET) -> float:
    """Median of :func:`measure_samples` (same parameters), in seconds."""
    return statistics.median(measure_samples(fn, repeats, warmup, budget))


def measure_interleaved(fns: Sequence[Callable[[], Any]], repeats: int, budget: float = TIME_BUDGET) -> list[float]:
    """Median wall times of several functions timed in turns (a a a, b b b, a a a, ...).

    Interleaving makes a ratio between them robust to changes of machine load during the measurement.  Each
    turn starts with one untimed call: the first call after switching, say, from 1 to 2 OpenMP threads pays
    for waking the idle worker threads (about 0.1 ms on this kind of virtual machine), which a program that
    keeps one setting never sees.

    Parameters
    ----------
    fns : sequence of callable
    repeats : int
    budget : float
        Seconds of timed calls to aim for, over all functions together.

    Returns
    -------
    list of float
    """
    firsts = []
    for fn in fns:
        start = time.perf_counter()
        fn()
        firsts.append(time.perf_counter() - start)
    n_calls = _call_count(sum(firsts), repeats, budget)
    n_turns = min(n_calls, INTERLEAVED_TURNS)
    per_turn = -(-n_calls // n_turns)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(n_turns):
        for fn, bucket in zip(fns, times):
            if per_turn > 1:
                fn()  # the switch-over call, untimed
            for _ in range(max(1, per_turn - 1)):
                start = time.perf_counter()
                fn()
                bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


class BlasThreads:
    """Set the BLAS thread count at run time (threadpoolctl if installed, else OpenBLAS via ctypes).

    The NumPy baseline spends most of its time in many small batched GEMMs, where OpenBLAS's own threads
    can help or hurt; the comparison gives the baseline whichever of 1 and T threads is faster.
    """

    _SYMBOLS = (
        ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
        ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
        ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
        ("openblas_set_num_threads", "openblas_get_num_threads"),
    )

    def __init__(self) -> None:
        self._setters: list[Callable[[int], None]] = []
        self._getter: Optional[Callable[[], int]] = None
        self.backend = "none"
        try:
            import threadpoolctl  # optional
        except ImportError:
            threadpoolctl = None
        if threadpoolctl is not None:
            self._controller = threadpoolctl.ThreadpoolController()
            self.backend = "threadpoolctl"
            return
        self._controller = None
        try:
            with open("/proc/self/maps") as handle:
                paths = sorted({line.split()[-1] for line in handle if "blas" in line.lower() and "/" in line})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for set_name, get_name in self._SYMBOLS:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    self._setters.append(setter)
                    self._getter = self._getter or getter
                    self.backend = f"ctypes ({os.path.basename(path)})"
                    break

    @property
    def available(self) -> bool:
        """Whether the thread count can be changed."""
        return self._controller is not None or bool(self._setters)

    @contextlib.contextmanager
    def limit(self, n_threads: int) -> Iterator[None]:
        """Run the body with ``n_threads`` BLAS threads (a no-op when not available)."""
        if self._controller is not None:
            with self._controller.limit(limits=n_threads, user_api="blas"):
                yield
            return
        if not self._setters or self._getter is None:
            yield
            return
        previous = self._getter()
        for setter in self._setters:
            setter(n_threads)
        try:
            yield
        finally:
            for setter in self._setters:
                setter(previous)


# ----------------------------------------------------------------------------------------------------
# Optional jitted baselines (numba, jax): never a dependency, only used when importable.


def _numba_fitness_factory() -> Optional[Callable[[Any, np.ndarray, Any], np.ndarray]]:
    """A numba-jitted forward-mode fitness (prange over particles), or None without numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False, fastmath=False)
    def _activate(code: int, z: np.ndarray, d: np.ndarray) -> None:
        # In place: z <- f(z), d <- f'(z). Codes: 0 linear, 1 sigmoid, 2 tanh (the workloads' activations).
        for i in range(z.shape[0]):
            for s in range(z.shape[1]):
                v = z[i, s]
                if code == 1:
                    if v >= 0:
                        e = np.exp(-v)
                        a = 1.0 / (1.0 + e)
                    else:
                        e = np.exp(v)
                        a = e / (1.0 + e)
                    z[i, s] = a
                    d[i, s] = a * (1.0 - a)
                elif code == 2:
                    a = np.tanh(v)
                    z[i, s] = a
                    d[i, s] = 1.0 - a * a
                else:
                    d[i, s] = 1.0

    @numba.njit(parallel=True, cache=False)
    def _fitness(sizes, codes, params, XT, directions, y_target, y_mask, d_target, d_mask,
                 value_scale, derivative_scale):
        P = params.shape[0]
        N = XT.shape[1]
        n_dir = directions.shape[0]
        n_layers = sizes.shape[0] - 1
        out = np.zeros(P)
        for p in numba.prange(P):
            theta = params[p]
            # Layer 1: values from X, tangents from the columns of W_1.
            fan_in, fan_out = sizes[0], sizes[1]
            W = theta[: fan_out * fan_in].copy().reshape(fan_out, fan_in)
            b = theta[fan_out * fan_in: fan_out * fan_in + fan_out]
            offset = fan_out * fan_in + fan_out
            Z = W @ XT
            for o in range(fan_out):
                Z[o] += b[o]
            dZ = np.empty((fan_out, N))
            _activate(codes[0], Z, dZ)
            H = np.empty((fan_out, (1 + n_dir) * N))
            H[:, :N] = Z
            for t in range(n_dir):
                for o in range(fan_out):
                    H[o, (1 + t) * N: (2 + t) * N] = W[o, directions[t]] * dZ[o]
            for l in range(1, n_layers):
                fan_in, fan_out = sizes[l], sizes[l + 1]
                W = theta[offset: offset + fan_out * fan_in].copy().reshape(fan_out, fan_in)
                b = theta[offset + fan_out * fan_in: offset + fan_out * fan_in + fan_out]
                offset += fan_out * fan_in + fan_out
                H = W @ H
                Z = H[:, :N].copy()
                for o in range(fan_out):
                    Z[o] += b[o]
                dZ = np.empty((fan_out, N))
                _activate(codes[l], Z, dZ)
                H[:, :N] = Z
                for t in range(n_dir):
                    H[:, (1 + t) * N: (2 + t) * N] *= dZ
            value_sse = 0.0
            deriv_sse = 0.0
            for k in range(H.shape[0]):
                for s in range(N):
                    if y_mask[k, s]:
                        r = H[k, s] - y_target[k, s]
                        value_sse += r * r
                    for t in range(n_dir):
                        if d_mask[k, t, s]:
                            r = H[k, (1 + t) * N + s] - d_target[k, t, s]
                            deriv_sse += r * r
            f = value_scale * value_sse + derivative_scale * deriv_sse
            out[p] = f if np.isfinite(f) else np.inf
        return out

    codes_known = {"linear": 0, "sigmoid": 1, "tanh": 2}

    def numba_fitness(net: Any, params: np.ndarray, data: Any) -> np.ndarray:
        if any(name not in codes_known for name in net.activations):
            raise ValueError("the numba baseline only knows linear, sigmoid and tanh")
        y_observed = ~np.isnan(data.y)
        d_observed = ~np.isnan(data.dydx)
        directions = np.flatnonzero(d_observed.any(axis=(0, 1))).astype(np.int64)
        n_values, n_partials = int(y_observed.sum()), int(d_observed.sum())
        return _fitness(
            np.asarray(net.layer_sizes, dtype=np.int64),
            np.asarray([codes_known[name] for name in net.activations], dtype=np.int64),
            np.ascontiguousarray(params, dtype=np.float64), np.ascontiguousarray(data.X.T),
            directions, np.where(y_observed, data.y, 0.0).T.copy(), y_observed.T.copy(),
            np.ascontiguousarray(np.where(d_observed, data.dydx, 0.0)[:, :, directions].transpose(1, 2, 0)),
            np.ascontiguousarray(d_observed[:, :, directions].transpose(1, 2, 0)),
            data.value_weight / n_values if n_values else 0.0,
            data.derivative_weight / n_partials if n_partials else 0.0,
        )

    return numba_fitness


def _jax_fitness_factory() -> Optional[Callable[[Any, np.ndarray, Any], np.ndarray]]:
    """A jax-jitted forward-mode fitness (vmap over particles), or None without jax."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    activations = {"linear": lambda z: z, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}
    cache: dict = {}

    def build(net: Any, data: Any) -> Callable:
        sizes, names = net.layer_sizes, net.activations
        y_observed = ~np.isnan(data.y)
        d_observed = ~np.isnan(data.dydx)
        directions = np.flatnonzero(d_observed.any(axis=(0, 1)))
        n_values, n_partials = int(y_observed.sum()), int(d_observed.sum())
        value_scale = data.value_weight / n_values if n_values else 0.0
        derivative_scale = data.derivative_weight / n_partials if n_partials else 0.0
        X = jnp.asarray(data.X)
        y_target = jnp.asarray(np.where(y_observed, data.y, 0.0))
        y_mask = jnp.asarray(y_observed)
        d_target = jnp.asarray(np.where(d_observed, data.dydx, 0.0)[:, :, directions])
        d_mask = jnp.asarray(d_observed[:, :, directions])
        tangents_in = jnp.asarray(np.eye(sizes[0])[directions])  # (n_dir, d_in)

        def network(theta: Any, x: Any) -> Any:
            offset = 0
            a = x
            for l, name in enumerate(names):
                fan_in, fan_out = sizes[l], sizes[l + 1]
                W = theta[offset: offset + fan_out * fan_in].reshape(fan_out, fan_in)
                b = theta[offset + fan_out * fan_in: offset + fan_out * fan_in + fan_out]
                offset += fan_out * fan_in + fan_out
                a = activations[name](W @ a + b)
            return a

        def particle(theta: Any) -> Any:
            def value_and_tangents(x: Any) -> tuple[Any, Any]:
                y, jvp = jax.linearize(lambda v: network(theta, v), x)
                return y, jax.vmap(jvp)(tangents_in)  # (d_out,), (n_dir, d_out)
            Y, T = jax.vmap(value_and_tangents)(X)  # (N, d_out), (N, n_dir, d_out)
            value_sse = jnp.sum(jnp.where(y_mask, (Y - y_target) ** 2, 0.0))
            deriv_sse = jnp.sum(jnp.where(d_mask, (T.transpose(0, 2, 1) - d_target) ** 2, 0.0))
            f = value_scale * value_sse + derivative_scale * deriv_sse
            return jnp.where(jnp.isfinite(f), f, jnp.inf)

        return jax.jit(jax.vmap(particle))

    def jax_fitness(net: Any, params: np.ndarray, data: Any) -> np.ndarray:
        if any(name not in activations for name in net.activations):
            raise ValueError("the jax baseline only knows linear, sigmoid and tanh")
        key = (id(net), id(data))
        if key not in cache:
            cache[key] = build(net, data)
        return np.asarray(cache[key](jnp.asarray(params)).block_until_ready())

    return jax_fitness


# ----------------------------------------------------------------------------------------------------
# Tables


@dataclass
class Table:
    """A titled table of already formatted cells, with numbered notes printed under it."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self, markdown: bool) -> str:
        """The table as aligned plain text or as a Markdown table."""
        if markdown:
            lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                     "|" + "|".join([":---"] + ["---:"] * (len(self.header) - 1)) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
            if self.notes:
                lines.append("")
                lines += [f"{i + 1}. {note}" for i, note in enumerate(self.notes)]
            return "\n".join(lines) + "\n"
        widths = [max(len(row[c]) for row in [self.header] + self.rows) for c in range(len(self.header))]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join([first] + [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:])]).rstrip()

        rule = "-" * len(line(self.header))
        lines = [self.title, rule, line(self.header), rule] + [line(row) for row in self.rows] + [rule]
        lines += [f"  [{i + 1}] {note}" for i, note in enumerate(self.notes)]
        return "\n".join(lines) + "\n"


def fmt_time(seconds: float) -> str:
    """A duration with three significant digits and a unit (us, ms, s)."""
    if not np.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def fmt_ratio(value: float) -> str:
    """A speed ratio like ``12.3x`` (``-`` when unknown)."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.3g}x" if value < 1000 else f"{value:,.0f}x"


def fmt_rate(value: float) -> str:
    """A large rate in engineering notation, e.g. ``12.3 M``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g}"


# ----------------------------------------------------------------------------------------------------
# Measurements


def machine_lines(command: str, threads: int, blas: BlasThreads) -> list[str]:
    """Date, command, CPU, cores, library versions and load, one item per line."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    openmp, max_threads = core_info()
    core = compiled_core()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {command}",
        f"machine: {model}, {os.cpu_count()} logical CPUs ({usable} usable), {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}, swarmjac {sj.__version__} "
        f"(OpenMP {'on' if openmp else 'off'}, max threads {max_threads}, kernels {core.isa()}, "
        f"from {os.path.dirname(core.__file__)}), compiled kernels run with n_threads={threads}",
        f"BLAS: {blas_description()}; thread control: {blas.backend}",
        load_line("start"),
    ]


def compiled_core() -> Any:
    """The compiled module swarmjac._kernels."""
    import importlib

    return importlib.import_module("swarmjac._kernels")


def core_info() -> tuple[bool, int]:
    """Whether the compiled core has OpenMP, and the thread count ``n_threads=None`` means."""
    core = compiled_core()
    return bool(core.openmp_enabled()), int(core.max_threads())


def load_line(when: str) -> str:
    """The 1-minute load average, with a warning when other work competes for the cores."""
    if not hasattr(os, "getloadavg"):
        return f"load average at {when}: n/a"
    load = os.getloadavg()[0]
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    text = f"load average at {when}: {load:.2f} on {usable} CPUs"
    if when != "start":
        text += " (includes this run's own threads)"
    elif load > 0.5 * usable + 0.5:
        text += " - the machine was busy with other work: timings, above all the thread scaling, are noisy"
    return text


def blas_description() -> str:
    """Name and version of the BLAS NumPy uses, as far as NumPy reports it."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # pragma: no cover - old NumPy or unusual builds
        return "unknown"


def matmul_gflops(repeats: int) -> float:
    """float64 GFLOP/s of an ``n x n @ n x n`` ``np.matmul`` (n = MATMUL_SIZE), median of repeats."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE))
    B = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE))
    seconds = measure(lambda: np.matmul(A, B), repeats)
    return 2.0 * MATMUL_SIZE ** 3 / seconds / 1e9


def best_blas_threads(fn: Callable[[], Any], blas: BlasThreads, threads: int) -> int:
    """The BLAS thread count, 1 or ``threads``, under which ``fn`` runs faster.

    One warm-up call, then calls alternating between the two settings (one pair, more while the pairs
    take under a second, at most five); the smaller minimum wins. The function is warm afterwards.
    """
    if not blas.available or threads <= 1:
        return threads

    def timed(n_threads: int) -> float:
        with blas.limit(n_threads):
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

    timed(threads)
    one, many = [timed(1)], [timed(threads)]
    while sum(one) + sum(many) < 1.0 and len(one) < 5:
        one.append(timed(1))
        many.append(timed(threads))
    return 1 if min(one) <= min(many) else threads


def executed_fitness_columns(net: sj.MLP, data: sj.Dataset) -> int:
    """Columns the fused fitness actually sweeps, summed over the rows (padding lanes not counted).

    Mirrors the kernel's "auto" mode as DESIGN.md describes it: rows are grouped into blocks of
    ``BLOCK`` by the directions they need (``Dataset.blocks``); a block that needs ``n_dir`` directions
    carries ``1 + n_dir`` columns forward, or, when ``d_out < n_dir``, sweeps its values forward and then
    one adjoint column per output back (``1 + d_out``).
    """
    blocks = data.blocks(np.float64)
    block = blocks.X.shape[-1]
    n_rows = int(np.count_nonzero(wl.columns_per_sample(data)))
    total = 0
    for b in range(blocks.n_blocks):
        rows = min(block, n_rows - b * block)
        n_dir = int(blocks.block_n_dirs[b])
        total += rows * (1 + (net.d_out if 0 < net.d_out < n_dir else n_dir))
    return total


def executed_vjac_columns(net: sj.MLP, n_samples: int) -> int:
    """Columns value_and_jacobian(mode="auto") sweeps: reverse (1 + d_out) if d_out < d_in, else 1 + d_in."""
    return n_samples * (1 + (net.d_out if net.d_out < net.d_in else net.d_in))


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
    # After a multi-threaded BLAS call (the peak matmul, a previous baseline) OpenBLAS's idle threads keep
    # spinning for about 2^28 cycles and take the cores from the kernel's own: let them fall asleep first.
    base_threads = best_blas_threads(lambda: baseline.numpy_fitness(net, params, data), blas, threads)
    # Compiled and baseline calls are timed in ROUNDS alternating rounds and each median is taken over all
    # rounds, so that a change of machine load during the run moves both sides of a ratio alike.
    times: dict[str, list[float]] = {"fitness": [], "vjac": [], "base_fitness": [], "base_vjac": []}
    budget = TIME_BUDGET / ROUNDS
    for _ in range(ROUNDS):
        settle_blas_threads()
        with blas.limit(1):
            times["fitness"] += measure_samples(lambda: net.fitness(params, data, n_threads=threads), repeats,
                                                budget=budget)
            times["vjac"] += measure_samples(lambda: net.value_and_jacobian(params, X, n_threads=threads),
                                             repeats, budget=budget)
        with blas.limit(base_threads):
            times["base_fitness"] += measure_samples(lambda: baseline.numpy_fitness(net, params, data), repeats,
                                                     budget=budget)
            times["base_vjac"] += measure_samples(lambda: baseline.numpy_value_and_jacobian(net, params, X),
                                                  repeats, budget=budget)
    fitness, vjac, base_fitness, base_vjac = (statistics.median(times[key]) for key in
                                              ("fitness", "vjac", "base_fitness", "base_vjac"))
    few = np.ascontiguousarray(params[:ref_particles])
    with blas.limit(1):  # one sample at a time: BLAS threads only add overhead
        ref = measure(lambda: reference.fitness(net, few, data), min(repeats, MIN_REPEATS), warmup=0)
    result = WorkloadResult(
        workload=workload, fitness=fitness, vjac=vjac, base_fitness=base_fitness, base_vjac=base_vjac,
        base_blas_threads=base_threads, ref_fitness=ref * P / ref_particles, ref_particles=ref_particles,
        fitness_flops=wl.nominal_flops(workload.layer_sizes, P, int(wl.columns_per_sample(data).sum())),
        vjac_flops=wl.nominal_flops(workload.layer_sizes, P, N * (1 + workload.d_in)),
        fitness_executed_flops=wl.nominal_flops(workload.layer_sizes, P, executed_fitness_columns(net, data)),
        vjac_executed_flops=wl.nominal_flops(workload.layer_sizes, P, executed_vjac_columns(net, N)),
    )
    for name, fn in jitted.items():
        with blas.limit(base_threads):
            result.jitted[name] = measure(lambda: fn(net, params, data), repeats)
    return result


def _gflops(flops: float, seconds: float, peak: Optional[float] = None) -> str:
    rate = flops / seconds / 1e9
    return f"{rate:.3g}" if peak is None else f"{rate:.3g} ({100 * rate / peak:.0f}%)"


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
    rows.append(["GFLOP/s nominal, compiled fitness [3]", *[_gflops(r.fitness_flops, r.fitness) for r in results]])
    rows.append(["GFLOP/s executed, compiled fitness [3]",
                 *[_gflops(r.fitness_executed_flops, r.fitness, peak) for r in results]])
    rows.append(["GFLOP/s nominal, compiled vjac [3]", *[_gflops(r.vjac_flops, r.vjac) for r in results]])
    rows.append(["GFLOP/s executed, compiled vjac [3]",
                 *[_gflops(r.vjac_executed_flops, r.vjac, peak) for r in results]])
    rows.append(["GFLOP/s nominal, baseline fitness [3]",
                 *[_gflops(r.fitness_flops, r.base_fitness) for r in results]])
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
    cases = [
        ("values only", wl.make_values_only_data(workload)),
        ("dy/dx1 only", wl.make_dx1_only_data(workload)),
        ("mixed thirds (main table)", wl.make_data(workload)),
        ("values + all partials", wl.make_all_partials_data(workload)),
    ]
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
        executed = executed_fitness_columns(net, data)
        rows.append((label, nominal / data.n_samples, executed / data.n_samples, compiled, base,
                     wl.nominal_flops(workload.layer_sizes, P, executed)))
    compiled0, base0 = rows[0][3], rows[0][4]
    for label, nominal, executed, compiled, base, flops in rows:
        table.rows.append([label, f"{nominal:.2f}", f"{executed:.2f}", fmt_time(compiled),
                           f"{compiled / compiled0:.2f}", _gflops(flops, compiled, peak), fmt_time(base),
                           f"{base / base0:.2f}", fmt_ratio(base / compiled)])
    table.notes = [
        "cols/sample: value + tangent columns per sample, as in note 3 of the main table (nominal: forward "
        "count of the directions each row observes; executed: what the kernel's auto mode sweeps). The compiled "
        "calls on the four data sets alternate. The baseline carries every direction some row observes on every "
        "row.",
    ]
    return table


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run every measurement and print the tables."""
    args = parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in
                                   ([os.path.relpath(sys.argv[0])] + list(sys.argv[1:] if argv is None else argv)))
    blas = BlasThreads()
    ref_particles = 2 if args.quick else 4
    jitted: dict[str, Callable] = {}
    if not args.quick:
        for name, factory in (("numba", _numba_fitness_factory), ("jax", _jax_fitness_factory)):
            fn = factory()
            if fn is not None:
                jitted[name] = fn
    header = machine_lines(command, args.threads, blas)
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
