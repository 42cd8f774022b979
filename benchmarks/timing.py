"""Timing discipline shared by the benchmark scripts: medians of timed calls, interleaved turns, BLAS threads.

compare.py, scaling.py and fused_vs_vjac.py time their calls through these helpers, so that every figure in
RESULTS.md follows the same rules (one warm-up call, enough calls for a stable median, alternation where a
ratio matters). Nothing here knows about networks or swarmjac.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import statistics
import time
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

__all__ = [
    "TIME_BUDGET",
    "MIN_REPEATS",
    "MIN_TIME",
    "MAX_CALLS",
    "ROUNDS",
    "INTERLEAVED_TURNS",
    "MATMUL_SIZE",
    "settle_blas_threads",
    "measure_samples",
    "measure",
    "measure_interleaved",
    "measure_rounds",
    "BlasThreads",
    "best_blas_threads",
    "matmul_gflops",
]

#: A measurement takes fewer than --repeats calls (but at least MIN_REPEATS) when a call is slower than
#: TIME_BUDGET / repeats seconds.
TIME_BUDGET = 8.0
MIN_REPEATS = 3
#: ... and more calls (up to MAX_CALLS) when --repeats calls would take less than MIN_TIME seconds: the
#: median of 5 sub-millisecond calls mostly measures how awake the cores and the OpenMP threads are.
MIN_TIME = 0.3
MAX_CALLS = 2000
#: Alternating rounds of compiled and baseline timings (measure_rounds).
ROUNDS = 3
#: Turns per function in measure_interleaved.
INTERLEAVED_TURNS = 5
#: Matrix size of the BLAS peak measurement.
MATMUL_SIZE = 2000


def _call_count(first_call: float, repeats: int, budget: float) -> int:
    """Timed calls for a function whose first call took ``first_call`` seconds."""
    if first_call * repeats <= budget:
        enough = int(MIN_TIME / max(first_call, 1e-9))
        return max(1, repeats, min(MAX_CALLS, enough))
    return max(min(repeats, MIN_REPEATS), min(repeats, int(budget / max(first_call, 1e-9))))


def settle_blas_threads(seconds: float = 0.5) -> None:
    """Wait until OpenBLAS's worker threads stop spinning after their last call.

    After a multi-threaded BLAS call OpenBLAS's idle threads keep spinning for about 2^28 cycles and take
    the cores from the compiled kernel's own threads; timing the kernel right after would measure that.

    Parameters
    ----------
    seconds : float, default 0.5

    Examples
    --------
    >>> settle_blas_threads(0.0)
    """
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

    Examples
    --------
    >>> len(measure_samples(lambda: None, repeats=3)) >= 3
    True
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
    """Median of :func:`measure_samples` (same parameters), in seconds.

    Examples
    --------
    >>> measure(lambda: sum(range(10)), repeats=3) > 0
    True
    """
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

    Examples
    --------
    >>> len(measure_interleaved([lambda: None, lambda: None], repeats=3))
    2
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


def measure_rounds(groups: Sequence[tuple[Callable[[], contextlib.AbstractContextManager],
                                          dict[str, Callable[[], Any]]]],
                   repeats: int, rounds: int = ROUNDS, budget: float = TIME_BUDGET) -> dict[str, float]:
    """Medians of named functions timed in ``rounds`` alternating rounds, pooled over the rounds.

    Each round settles the BLAS threads, then times every group in order, each group's functions inside
    its context (e.g. a BLAS thread limit). A change of machine load during the run thus moves both sides
    of a ratio alike; this is how the compiled and baseline rows of compare.py are timed.

    Parameters
    ----------
    groups : sequence of (context factory, {name: callable})
        The context factory is called once per round and group (``contextlib.nullcontext`` for none).
    repeats : int
        Timed calls per function and round (see :func:`measure_samples`).
    rounds : int, default ROUNDS
    budget : float
        Seconds of timed calls per function, over all rounds.

    Returns
    -------
    dict of str to float
        Median seconds per name.

    Examples
    --------
    >>> out = measure_rounds([(contextlib.nullcontext, {"a": lambda: None})], repeats=3, rounds=2)
    >>> sorted(out)
    ['a']
    """
    times: dict[str, list[float]] = {name: [] for _, fns in groups for name in fns}
    for _ in range(rounds):
        settle_blas_threads()
        for context, fns in groups:
            with context():
                for name, fn in fns.items():
                    times[name] += measure_samples(fn, repeats, budget=budget / rounds)
    return {name: statistics.median(samples) for name, samples in times.items()}


class BlasThreads:
    """Set the BLAS thread count at run time (threadpoolctl if installed, else OpenBLAS via ctypes).

    The NumPy baseline spends most of its time in many small batched GEMMs, where OpenBLAS's own threads
    can help or hurt; the comparison gives the baseline whichever of 1 and T threads is faster.

    Examples
    --------
    >>> blas = BlasThreads()
    >>> with blas.limit(1):
    ...     pass
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


def best_blas_threads(fn: Callable[[], Any], blas: BlasThreads, threads: int) -> int:
    """The BLAS thread count, 1 or ``threads``, under which ``fn`` runs faster.

    One warm-up call, then calls alternating between the two settings (one pair, more while the pairs
    take under a second, at most five); the smaller minimum wins. The function is warm afterwards.

    Parameters
    ----------
    fn : callable
    blas : BlasThreads
    threads : int

    Returns
    -------
    int

    Examples
    --------
    >>> best_blas_threads(lambda: None, BlasThreads(), 1)
    1
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


def matmul_gflops(repeats: int, size: int = MATMUL_SIZE) -> float:
    """float64 GFLOP/s of a ``size x size @ size x size`` ``np.matmul``, median of repeats.

    Parameters
    ----------
    repeats : int
    size : int, default MATMUL_SIZE

    Returns
    -------
    float

    Examples
    --------
    >>> matmul_gflops(3, size=64) > 0
    True
    """
    rng = np.random.default_rng(0)
    A = rng.standard_normal((size, size))
    B = rng.standard_normal((size, size))
    seconds = measure(lambda: np.matmul(A, B), repeats)
    return 2.0 * size ** 3 / seconds / 1e9
