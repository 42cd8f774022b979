"""Memory leaks of the compiled path: thousands of kernel calls, good ones and failing ones, leave memory flat.

After a warm-up, resident memory (/proc/self/statm, after malloc_trim) and the malloc heap in use (glibc
mallinfo2, which counts the OpenMP threads' arenas too) are compared before and after; the C per-thread scratch,
the Cython buffer acquisitions and every error return are exercised. Linux only.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import swarmjac as sj
from swarmjac._layout import block_inputs, core as _core

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RESIDENT_SLACK = 6 * 2 ** 20  # allocator and interpreter noise; a leaked scratch costs >= 40 kB per call
HEAP_SLACK = 256 * 2 ** 10  # malloc'ed bytes in use; a leaked 12-byte malloc per call shows from 8000 calls


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE_SIZE


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def _mallinfo2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = libc.mallinfo2  # glibc >= 2.33
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda pad: 0


_MALLOC_TRIM = _malloc_trim()


def settle() -> None:
    """Collect garbage and hand free heap pages back to the system, so that resident memory counts live data
    only (otherwise memory freed by earlier tests silently absorbs a leak)."""
    gc.collect()
    _MALLOC_TRIM(0)


def heap_in_use():
    """Bytes handed out by malloc (all arenas, plus mmap'ed chunks), or None without glibc's mallinfo2."""
    if _MALLINFO2 is None or "asan" in os.environ.get("LD_PRELOAD", ""):
        return None
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd


def growth(round_, rounds: int, warmup: int = 30) -> tuple[int, int]:
    """(resident growth, heap growth) over ``rounds`` calls of ``round_`` after ``warmup`` calls."""
    for _ in range(warmup):
        round_()
    settle()
    rss0, heap0 = resident_bytes(), heap_in_use()
    for _ in range(rounds):
        round_()
    settle()
    rss1, heap1 = resident_bytes(), heap_in_use()
    return rss1 - rss0, (heap1 - heap0) if heap0 is not None else 0


def raises(error, call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except error:
        return
    raise AssertionError(f"{call} did not raise {error}")


def make_round(dtype, n_threads: int):
    """One round: every kernel in every mode, then one call of each way a call can fail."""
    net = sj.MLP([3, 16, 16, 2], "tanh")
    rng = np.random.default_rng(0)
    params = net.init_params(2, seed=1).astype(dtype)
    X = rng.normal(size=(65, 3)).astype(dtype)  # two sample blocks, the second one padded
    dydx = rng.normal(size=(65, 2, 3))
    dydx[rng.random(dydx.shape) < 0.5] = np.nan
    data = sj.Dataset(X.astype(np.float64), y=rng.normal(size=(65, 2)), dydx=dydx)
    core = _core()
    blocked = block_inputs(X)
    Y = np.zeros((2, 65, 2), dtype=dtype)
    short_params = np.ascontiguousarray(params[:, :-1])  # n_params disagrees with the network: C says EINVAL
    other_X = block_inputs(X.astype(np.float32 if dtype == np.float64 else np.float64))
    strided_Y = np.zeros((2, 65, 4), dtype=dtype)[:, :, ::2]

    def round_():
        net.predict(params, X, n_threads=n_threads)
        for mode in ("forward", "reverse"):
            net.value_and_jacobian(params, X, n_threads=n_threads, mode=mode)
        for mode in ("forward", "reverse", "auto"):
            net.fitness(params, data, n_threads=n_threads, mode=mode)
        # Failures in the Python layer ...
        raises(ValueError, net.predict, params[:, :-1], X)
        raises(ValueError, net.value_and_jacobian, params, X[:, :2])
        raises(ValueError, net.fitness, params, data, n_threads=0)
        raises(ValueError, net.value_and_jacobian, params, X, mode="sideways")
        raises(TypeError, net.predict, params.astype(complex), X)
        raises(ValueError, net.fitness, params, sj.Dataset(X[:, :2].astype(np.float64), y=np.zeros(65)))
        # ... and below it: the C status code, a fused-type mismatch, a non-contiguous output buffer.
        raises(ValueError, core.predict, net._sizes_c, net._codes_c, short_params, blocked, 65, Y, 1)
        raises((TypeError, ValueError), core.predict, net._sizes_c, net._codes_c, params, other_X, 65, Y, 1)
        raises(ValueError, core.predict, net._sizes_c, net._codes_c, params, blocked, 65, strided_Y, 1)

    return round_


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_do_not_leak(dtype):
    """About 2,000 successful kernel calls and 3,000 failing ones per dtype, with one thread then two."""
    rss, heap = growth(make_round(dtype, n_threads=1), rounds=300)
    assert rss < RESIDENT_SLACK, f"resident memory grew by {rss / 2 ** 20:.1f} MiB"
    assert heap < HEAP_SLACK, f"malloc heap grew by {heap / 2 ** 10:.0f} kiB"
    rss, heap = growth(make_round(dtype, n_threads=2), rounds=40, warmup=10)
    assert rss < RESIDENT_SLACK, f"resident memory grew by {rss / 2 ** 20:.1f} MiB with 2 threads"
    assert heap < HEAP_SLACK, f"malloc heap grew by {heap / 2 ** 10:.0f} kiB with 2 threads"


def test_the_probe_sees_a_leak():
    """The same measurement catches a leak the size of one scratch buffer per round (40 kB)."""
    kept = []
    round_ = make_round(np.float64, n_threads=1)

    def leaky_round():
        round_()
        kept.append(np.ones(5000))

    rss, heap = growth(leaky_round, rounds=300)
    assert rss > RESIDENT_SLACK
    assert heap_in_use() is None or heap > HEAP_SLACK


def test_inputs_are_not_kept_alive():
    """Reference counts of the caller's arrays and of the network's spec are unchanged by successful and
    failing calls (a leaked Cython memoryview would hold one)."""
    net = sj.MLP([2, 5, 1], "sigmoid")
    params, X = net.init_params(3, seed=0), np.linspace(-1, 1, 40).reshape(20, 2)
    data = sj.Dataset(X, y=np.zeros(20), dydx=np.ones((20, 2)))
    blocks = data.blocks(np.float64)
    watched = [params, X, net._sizes_c, net._codes_c, blocks.X, blocks.dydx, blocks.block_dirs]
    before = [sys.getrefcount(a) for a in watched]
    for _ in range(300):
        net.predict(params, X, n_threads=1)
        net.value_and_jacobian(params, X, n_threads=1, mode="reverse")
        net.fitness(params, data, n_threads=1)
        raises(ValueError, net.predict, params, X, n_threads=0)
        raises(ValueError, _core().predict, net._sizes_c, net._codes_c, params[:, :-1].copy(),
               block_inputs(X), 20, np.zeros((3, 20, 1)), 1)
    gc.collect()
    assert [sys.getrefcount(a) for a in watched] == before


def test_out_of_memory_in_the_kernel_is_clean():
    """When the per-thread scratch cannot be allocated (here: an address-space cap below one buffer pair), the
    kernel frees what it got and MemoryError is raised; 40 such calls leave the address space as it was.
    In a child process, because the cap is per process."""
    script = textwrap.dedent("""
        import resource, gc, numpy as np, swarmjac as sj

        def vm_size():
            with open("/proc/self/status") as handle:
                return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))

        net = sj.MLP([2048, 2048, 1], "tanh")  # forward mode: two scratch buffers of 2048 x 2049 x 64 doubles
        params = np.zeros((2, net.n_params))
        X = np.zeros((1, 2048))
        net.value_and_jacobian(params[:0], X)  # imports the kernels before the cap

        def failing_calls(count):
            for _ in range(count):
                try:
                    net.value_and_jacobian(params, X, mode="forward", n_threads=1)
                except MemoryError as exc:
                    assert "scratch" in str(exc), exc
                else:
                    raise AssertionError("the scratch allocation did not fail")

        before = vm_size()
        # Room for the first buffer (2.1 GB) but not for the second: the first must be given back.
        resource.setrlimit(resource.RLIMIT_AS, (before + 3 * 2 ** 30, resource.RLIM_INFINITY))
        failing_calls(40)
        gc.collect()
        grown = vm_size() - before  # glibc may keep a new 64 MB arena; one leaked buffer is 2.1 GB
        assert grown < 256 * 2 ** 20, f"address space grew by {grown} bytes over 40 failed calls"
        Y, J = sj.MLP([2, 3, 1]).value_and_jacobian(np.zeros(13), np.zeros((4, 2)))  # still works
        print("ok")
    """)
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("an address-space cap cannot be combined with AddressSanitizer")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", (result.returncode, result.stderr[-3000:])
