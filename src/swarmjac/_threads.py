"""Thread policy of the compiled kernels: how many OpenMP threads one kernel call opens.

Every kernel call in network.py (and the callers that run kernels in parallel: refine.py, distributed/,
estimator.py) turns its ``n_threads`` argument into a count here, through :func:`resolve_n_threads`,
before it reaches swarmjac._kernels; the C side then never opens more threads than particles.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Optional

from swarmjac._validation import check_n_threads

__all__ = ["resolve_n_threads", "available_threads", "call_work", "cgroup_cpu_limit", "MIN_WORK_PER_THREAD"]

# Smallest share of work worth a thread of its own, in units of particles x samples x parameters (samples
# rounded up to the kernels' block of 64). Measured on the 2-core development machine (x86-64, gcc/libgomp,
# Python 3.11) with benchmarks/threads.py --threshold: the best of 300 interleaved calls of net.fitness and
# net.fitness_and_gradient with n_threads=1 and n_threads=2, networks [2,4,1], [2,16,16,1], [4,32,32,2],
# 64 samples, 1 to 32 particles. Two threads first beat one at about 4e4 units of total work for fitness
# (opening a parallel region and waking a second thread costs ~5-10 us, a [2,16,16,1] particle-block of
# fitness ~10 us); below that one thread is as fast or faster, and on a busy machine much faster (a woken
# thread that has to wait for a core costs a scheduler time slice). Hence a thread per 2e4 units.
MIN_WORK_PER_THREAD = 20_000

_UNSET = object()
_cgroup_cache: object = _UNSET
# Read once: os.cpu_count() reads a sysfs file (~15 us on a busy machine), importlib.import_module costs
# about 1 us; the policy runs before every kernel call and must cost a few microseconds at most.
_machine_cpus: Optional[int] = None
_kernels: Any = None


def _core() -> Any:
    global _kernels
    if _kernels is None:
        from swarmjac._layout import core

        _kernels = core()
    return _kernels


def _cpu_count() -> int:
    global _machine_cpus
    if _machine_cpus is None:
        _machine_cpus = os.cpu_count() or 1
    return _machine_cpus


def _read_first_line(path: str) -> Optional[str]:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _quota_v2(directory: str) -> Optional[float]:
    """CPUs allowed by ``cpu.max`` ("quota period" or "max period") in one cgroup v2 directory."""
    line = _read_first_line(os.path.join(directory, "cpu.max"))
    if not line:
        return None
    fields = line.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _quota_v1(directory: str) -> Optional[float]:
    """CPUs allowed by ``cpu.cfs_quota_us / cpu.cfs_period_us`` in one cgroup v1 directory (-1: none)."""
    quota, period = (_read_first_line(os.path.join(directory, name))
                     for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))
    try:
        quota_us, period_us = int(quota or ""), int(period or "")
    except ValueError:
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def _ancestors(root: str, path: str) -> list[str]:
    """``root/path`` and each parent directory up to ``root``, those that exist.

    Inside a container /proc/self/cgroup may name the host's path while the container sees its own
    cgroup at the mount root, so the root itself is always a candidate.
    """
    parts = [part for part in path.strip().split("/") if part and part not in (".", "..")]
    found = []
    for depth in range(len(parts), -1, -1):
        directory = os.path.join(root, *parts[:depth])
        if os.path.isdir(directory):
            found.append(directory)
    return found


def cgroup_cpu_limit(cgroup_root: str = "/sys/fs/cgroup", self_cgroup: str = "/proc/self/cgroup") -> Optional[float]:
    """CPU quota of this process's control group in CPUs (e.g. 1.5), or None when there is none.

    Reads cgroup v2 ``cpu.max`` and cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` of the
    process's cgroup and of every parent (the tightest applies). Not cached: :func:`available_threads`
    caches its result.

    Parameters
    ----------
    cgroup_root : str
        Where the cgroup file systems are mounted (v1 controllers in sub-folders ``cpu,cpuacct`` or ``cpu``).
    self_cgroup : str
        The process's cgroup membership file (lines ``id:controllers:path``).

    Returns
    -------
    float or None
    """
    limits: list[float] = []
    try:
        with open(self_cgroup, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        hierarchy, controllers, path = fields
        if hierarchy == "0" and controllers == "":
            directories = _ancestors(cgroup_root, path)
            limits += [limit for limit in map(_quota_v2, directories) if limit is not None]
        elif "cpu" in controllers.split(","):
            for mount in (os.path.join(cgroup_root, controllers), os.path.join(cgroup_root, "cpu,cpuacct"),
                          os.path.join(cgroup_root, "cpu")):
                if os.path.isdir(mount):
                    directories = _ancestors(mount, path)
                    limits += [limit for limit in map(_quota_v1, directories) if limit is not None]
                    break
    return min(limits) if limits else None


def _quota_threads() -> Optional[int]:
    """Whole CPUs of the cgroup quota (rounded up, at least 1), read once per process."""
    global _cgroup_cache
    if _cgroup_cache is _UNSET:
        limit = cgroup_cpu_limit()
        _cgroup_cache = None if limit is None else max(1, math.ceil(limit))
    return _cgroup_cache  # type: ignore[return-value]


def _affinity_threads() -> Optional[int]:
    # Read on every call (a system call, ~1 us): a process may change its own mask at any time.
    try:
        return len(os.sched_getaffinity(0)) or None
    except (AttributeError, OSError):
        return None


def available_threads() -> int:
    """Threads this process may use: OpenMP's default for the calling thread, the CPU affinity mask and
    the cgroup CPU quota, whichever is smallest (1 for a build without OpenMP)."""
    # omp_get_max_threads: OMP_NUM_THREADS, omp_set_num_threads (threadpoolctl's OpenMP limit).
    count = _core().max_threads()
    for limit in (_affinity_threads(), _quota_threads()):
        if limit is not None and limit < count:
            count = limit
    return max(1, count)


def call_work(n_particles: int, n_samples: int, n_params: int) -> int:
    """Size of a kernel call in the units of :func:`resolve_n_threads`'s ``work``: particles x samples
    (rounded up to the kernels' sample block) x parameters."""
    block = _core().BLOCK
    return int(n_particles) * (-(-int(n_samples) // block) * block) * int(n_params)


def _is_minus_one(n_threads: object) -> bool:
    return (not isinstance(n_threads, bool) and isinstance(n_threads, numbers.Integral)
            and int(n_threads) == -1)


def resolve_n_threads(n_threads: Optional[int] = None, n_particles: Optional[int] = None,
                      work: Optional[int] = None) -> int:
    """The number of threads a swarmjac kernel call uses for ``n_threads``.

    ``None`` (and ``-1``) mean what the process may use: OpenMP's default for the calling thread (which
    honours ``OMP_NUM_THREADS`` and threadpoolctl's ``threadpool_limits(..., user_api="openmp")``), the
    CPU affinity mask and the cgroup CPU quota (containers), whichever is smallest; then never more
    threads than particles, and one thread per ``MIN_WORK_PER_THREAD`` (20 000) units of ``work`` at most,
    so that small calls run on one thread. An explicit positive count is honoured, capped at the particles
    and at the machine's CPU count. ``0``, other negatives, bools and floats are errors.

    Parameters
    ----------
    n_threads : int or None, default None
        The ``n_threads`` argument of a kernel call.
    n_particles : int, optional
        Particles of the call (the kernels parallelise over particles); None: no cap.
    work : int, optional
        Size of the call in particles x samples x parameters, samples rounded up to the kernels' blocks of
        64 (``net.fitness`` on ``P`` particles and ``N`` rows: ``P * 64 * ceil(N / 64) * net.n_params``);
        None: no cap. Used only when ``n_threads`` is None or -1.

    Returns
    -------
    int
        At least 1. A build without OpenMP runs every kernel on one thread; there None resolves to 1.

    Raises
    ------
    TypeError
        If ``n_threads`` is not an int or None (bools and floats included).
    ValueError
        If ``n_threads`` is 0 or negative other than -1.

    Examples
    --------
    >>> import swarmjac as sj
    >>> sj.resolve_n_threads(1, n_particles=64)
    1
    >>> sj.resolve_n_threads(None, n_particles=1)      # one particle: one thread, whatever the machine
    1
    >>> 1 <= sj.resolve_n_threads() <= (os.cpu_count() or 1)
    True
    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1, user_api="openmp"):
    ...     sj.resolve_n_threads(None, n_particles=1000)
    1
    """
    # Plain ints and None take the fast path (type checks against numbers.Integral cost ~1 us each).
    if n_threads is None or (n_threads == -1 if type(n_threads) is int else _is_minus_one(n_threads)):
        count = available_threads()
        if work is not None and work < count * MIN_WORK_PER_THREAD:
            count = int(work) // MIN_WORK_PER_THREAD or 1
    elif type(n_threads) is int and n_threads > 0:
        count = n_threads if n_threads <= _cpu_count() else _cpu_count()
    else:
        # Validation (errors name n_threads); the cap at the CPUs keeps libgomp from being asked for
        # absurd team sizes (it aborts the interpreter at hundreds of thousands).
        count = check_n_threads(n_threads, _cpu_count())
    if n_particles is not None:
        if type(n_particles) is not int and (isinstance(n_particles, bool)
                                             or not isinstance(n_particles, numbers.Integral)):
            raise TypeError(f"n_particles must be an int or None, got {type(n_particles).__name__}")
        if n_particles < count:
            count = int(n_particles) if n_particles > 1 else 1
    return count
