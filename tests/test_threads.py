"""Tests of the kernels' thread policy (swarmjac/_threads.py, sj.resolve_n_threads): each limit it must
honour (OMP_NUM_THREADS, threadpoolctl, CPU affinity, cgroup quota, particles, small work), argument errors,
and results that do not depend on the thread count. No timing: speed is in benchmarks/threads.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import _threads
from swarmjac._layout import core
from swarmjac._threads import MIN_WORK_PER_THREAD, available_threads, cgroup_cpu_limit, resolve_n_threads

BIG = 10 ** 12  # work large enough never to cap the count


def _run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (OpenMP reads its environment once, at start) and return stdout."""
    package_root = os.path.dirname(os.path.dirname(sj.__file__))
    environment = dict(os.environ, **env)
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _outside_limits() -> int:
    """The limits other than OpenMP's own, as the policy reads them (affinity and quota)."""
    limit = _threads._quota_threads() or BIG
    if hasattr(os, "sched_getaffinity"):
        limit = min(limit, len(os.sched_getaffinity(0)))
    return limit


needs_openmp = pytest.mark.skipif(not core().openmp_enabled(), reason="build without OpenMP: always 1 thread")


# ----- the limits None honours -----

@pytest.mark.parametrize("omp", [1, 2, 3])
def test_omp_num_threads_is_honoured(omp):
    code = """
        import swarmjac as sj
        print(sj.resolve_n_threads(None, n_particles=1000, work=10 ** 12), sj.resolve_n_threads(-1))
    """
    got = _run_python(code, OMP_NUM_THREADS=str(omp)).split()
    expected = min(omp, _outside_limits()) if core().openmp_enabled() else 1
    assert got == [str(expected), str(expected)]


@needs_openmp
def test_threadpoolctl_openmp_limit_is_honoured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = resolve_n_threads(None, 1000, BIG)
    # threadpoolctl must see the OpenMP runtime our extension loaded (else its limit could not reach us).
    libraries = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "openmp"]
    assert libraries, "threadpoolctl finds no OpenMP runtime although the core is built with OpenMP"
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert resolve_n_threads(None, 1000, BIG) == 1
        assert resolve_n_threads(-1, 1000, BIG) == 1
        assert resolve_n_threads(2, 1000) == min(2, os.cpu_count() or 1)  # an explicit count is honoured
    assert resolve_n_threads(None, 1000, BIG) == before


@needs_openmp
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_cpu_affinity_is_honoured():
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs at least 2 CPUs in the affinity mask")
    code = f"""
        import os, swarmjac as sj
        from swarmjac._layout import core
        full = sj.resolve_n_threads(None, n_particles=1000, work=10 ** 12)
        os.sched_setaffinity(0, {{{cpus[0]}}})
        print(full, sj.resolve_n_threads(None, n_particles=1000, work=10 ** 12), core().max_threads())
    """
    # OpenMP's default is read in the child: this process's may have been lowered by an earlier test
    # (omp_set_num_threads through threadpoolctl or joblib applies to the calling thread).
    full, pinned, openmp_default = map(int, _run_python(code).split())
    assert pinned == 1
    assert full == min(openmp_default, _outside_limits())


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_read_from_the_process_cgroup_and_its_parents(tmp_path):
    _write(tmp_path / "proc", "0::/slice/job\n")
    _write(tmp_path / "cg" / "cpu.max", "max 100000\n")
    _write(tmp_path / "cg" / "slice" / "cpu.max", "300000 100000\n")
    _write(tmp_path / "cg" / "slice" / "job" / "cpu.max", "150000 100000\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) == pytest.approx(1.5)
    # A parent tighter than the leaf wins.
    _write(tmp_path / "cg" / "slice" / "cpu.max", "50000 100000\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) == pytest.approx(0.5)


def test_cgroup_v2_without_quota_or_files_means_no_limit(tmp_path):
    _write(tmp_path / "proc", "0::/\n")
    _write(tmp_path / "cg" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) is None
    _write(tmp_path / "cg" / "cpu.max", "garbage\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) is None
    assert cgroup_cpu_limit(str(tmp_path / "nothing"), str(tmp_path / "proc")) is None
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "no-such-file")) is None


def test_cgroup_v2_in_a_container_reads_the_mount_root(tmp_path):
    # The membership file names the host's path, which the container does not see: the root applies.
    _write(tmp_path / "proc", "0::/docker/0123abcd\n")
    _write(tmp_path / "cg" / "cpu.max", "200000 100000\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) == pytest.approx(2.0)


def test_cgroup_v1_cfs_quota(tmp_path):
    _write(tmp_path / "proc", "4:memory:/job\n2:cpu,cpuacct:/job\n1:name=systemd:/job\n")
    base = tmp_path / "cg" / "cpu,cpuacct"
    _write(base / "cpu.cfs_quota_us", "-1\n")
    _write(base / "cpu.cfs_period_us", "100000\n")
    _write(base / "job" / "cpu.cfs_quota_us", "250000\n")
    _write(base / "job" / "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) == pytest.approx(2.5)
    _write(base / "job" / "cpu.cfs_quota_us", "-1\n")
    assert cgroup_cpu_limit(str(tmp_path / "cg"), str(tmp_path / "proc")) is None


@pytest.mark.parametrize("quota, threads", [(0.2, 1), (1.0, 1), (1.5, 2), (2.0, 2)])
def test_quota_rounds_up_to_whole_cpus_and_caps_none(monkeypatch, quota, threads):
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: quota)
    monkeypatch.setattr(_threads, "_cgroup_cache", _threads._UNSET)
    assert _threads._quota_threads() == threads
    assert available_threads() <= threads
    assert resolve_n_threads(None, 1000, BIG) <= threads
    monkeypatch.setattr(_threads, "_cgroup_cache", _threads._UNSET)  # the real value for later tests


def test_the_quota_is_read_once(monkeypatch):
    calls = []
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: calls.append(1) or None)
    monkeypatch.setattr(_threads, "_cgroup_cache", _threads._UNSET)
    for _ in range(3):
        resolve_n_threads()
    assert calls == [1]
    monkeypatch.setattr(_threads, "_cgroup_cache", _threads._UNSET)


# ----- particles, small work, explicit counts -----

def test_none_is_what_openmp_allows_within_affinity_and_quota():
    expected = min(core().max_threads(), _outside_limits()) if core().openmp_enabled() else 1
    assert available_threads() == expected
    assert resolve_n_threads() == resolve_n_threads(-1) == resolve_n_threads(None, None, None) == expected


def test_never_more_threads_than_particles():
    for n_particles in (1, 2, 3):
        assert resolve_n_threads(None, n_particles, BIG) <= n_particles
        assert resolve_n_threads(64, n_particles) <= n_particles
    assert resolve_n_threads(None, 1, BIG) == 1
    assert resolve_n_threads(None, 0, BIG) == 1  # an empty swarm still resolves to a valid count


def test_small_work_runs_on_one_thread():
    assert resolve_n_threads(None, 1000, work=2 * MIN_WORK_PER_THREAD - 1) == 1
    assert resolve_n_threads(None, 1000, work=0) == 1
    assert resolve_n_threads(None, 1000, work=2 * MIN_WORK_PER_THREAD) == min(2, available_threads())
    # The work cap applies to None and -1 only: an explicit count is the caller's choice.
    assert resolve_n_threads(2, 1000, work=1) == min(2, os.cpu_count() or 1)


def test_the_kernels_work_is_particles_times_padded_samples_times_params():
    block = core().BLOCK
    assert _threads.call_work(3, 1, 10) == 3 * block * 10
    assert _threads.call_work(3, block + 1, 10) == 3 * 2 * block * 10


def test_explicit_counts_are_honoured_up_to_particles_and_cpus():
    cpus = os.cpu_count() or 1
    assert resolve_n_threads(1, 64) == 1
    assert resolve_n_threads(2, 64) == min(2, cpus)
    assert resolve_n_threads(np.int64(2), 64) == min(2, cpus)
    assert resolve_n_threads(10 ** 6) == cpus
    assert resolve_n_threads(np.int32(-1), 1000, BIG) == resolve_n_threads(None, 1000, BIG)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (-100, ValueError), (True, TypeError),
                                        (False, TypeError), (1.0, TypeError), (2.5, TypeError), ("2", TypeError),
                                        (np.bool_(True), TypeError)])
def test_bad_counts_are_errors_naming_n_threads(bad, error):
    with pytest.raises(error, match="n_threads"):
        resolve_n_threads(bad)
    net = sj.MLP([1, 2, 1])
    data = sj.Dataset([[0.0]], y=[[1.0]])
    with pytest.raises(error, match="n_threads"):
        net.fitness(net.init_params(2, seed=0), data, n_threads=bad)


def test_bad_particle_count_is_an_error():
    with pytest.raises(TypeError, match="n_particles"):
        resolve_n_threads(None, n_particles=2.0)


# ----- results do not depend on the thread count -----

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_are_bit_identical_whatever_the_thread_count(dtype):
    rng = np.random.default_rng(3)
    net = sj.MLP([2, 8, 8, 2], activations="tanh")
    X = rng.normal(size=(130, 2))
    dydx = rng.normal(size=(130, 2, 2))
    dydx[rng.random(dydx.shape) < 0.3] = np.nan
    data = sj.Dataset(X, y=rng.normal(size=(130, 2)), dydx=dydx)
    params = net.init_params(37, seed=1).astype(dtype)
    reference_f = net.fitness(params, data, n_threads=1)
    reference_fg = net.fitness_and_gradient(params, data, n_threads=1)
    reference_y = net.predict(params, X, n_threads=1)
    for n_threads in (2, 3, 5, 37, 64, None, -1):
        np.testing.assert_array_equal(net.fitness(params, data, n_threads=n_threads), reference_f)
        f, g = net.fitness_and_gradient(params, data, n_threads=n_threads)
        np.testing.assert_array_equal(f, reference_fg[0])
        np.testing.assert_array_equal(g, reference_fg[1])
        np.testing.assert_array_equal(net.predict(params, X, n_threads=n_threads), reference_y)


@needs_openmp
def test_results_are_bit_identical_under_a_threadpoolctl_limit():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(4)
    net = sj.MLP([3, 16, 1], activations="sigmoid")
    data = sj.Dataset(rng.normal(size=(70, 3)), y=rng.normal(size=(70, 1)), dydx=rng.normal(size=(70, 1, 3)))
    params = net.init_params(50, seed=2)
    free = net.fitness_and_gradient(params, data)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        limited = net.fitness_and_gradient(params, data)
    np.testing.assert_array_equal(free[0], limited[0])
    np.testing.assert_array_equal(free[1], limited[1])
