"""pytest-benchmark suite of swarmjac's compiled kernels against the NumPy baseline and the reference.

Each group holds the paths to compare, so ratios are read from one run; data are built in fixtures and
only the call is timed. Run with ``python -m pytest benchmarks/ --benchmark-only`` (see README.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from swarmjac import reference

import baseline
import peers
import swarmjac as sj
import workloads as wl

WORKLOAD_NAMES = list(wl.WORKLOADS)
#: Particles the reference is timed on; its cost is exactly per particle, so scale by P / REFERENCE_P.
REFERENCE_P = 4
#: The issue-2 seed benchmark: the worked example's network and the small tanh network.
ISSUE2_NAMES = ["seed", "small"]
DTYPE_NAMES = ["small", "medium"]
NEEDED_DATA = list(wl.DATA_PATTERNS)  # values, dx1, mixed, partials


def _note_scale(benchmark: Any, case: Any) -> None:
    """Record how a reduced-swarm timing scales to the full workload (in the JSON's extra_info)."""
    full = case.workload.n_particles
    benchmark.extra_info["particles_timed"] = int(case.params.shape[0])
    benchmark.extra_info["particles_full"] = full
    benchmark.extra_info["scale_to_full_swarm"] = full / case.params.shape[0]


# ----- fitness-<name>: compiled, NumPy baseline, reference on a reduced swarm -----

@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_fitness_compiled(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"fitness-{name}"
    result = benchmark(case.net.fitness, case.params, case.data)
    assert result.shape == (case.workload.n_particles,)


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_fitness_numpy_baseline(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"fitness-{name}"
    result = benchmark(baseline.numpy_fitness, case.net, case.params, case.data)
    assert result.shape == (case.workload.n_particles,)


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_fitness_reference_P4_scale_per_particle(benchmark: Any, make_case: Any, name: str) -> None:
    """Reference on the first REFERENCE_P particles only: multiply by P / REFERENCE_P to compare."""
    case = make_case(name, n_particles=REFERENCE_P)
    benchmark.group = f"fitness-{name}"
    _note_scale(benchmark, case)
    result = benchmark.pedantic(reference.fitness, args=(case.net, case.params, case.data), rounds=3,
                                iterations=1)
    assert result.shape == (REFERENCE_P,)


# ----- vjac-<name>: compiled value_and_jacobian against the NumPy baseline -----

@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_vjac_compiled(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"vjac-{name}"
    Y, J = benchmark(case.net.value_and_jacobian, case.params, case.X)
    assert J.shape == (case.workload.n_particles, case.workload.n_samples, case.workload.d_out, case.workload.d_in)


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_vjac_numpy_baseline(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"vjac-{name}"
    Y, J = benchmark(baseline.numpy_value_and_jacobian, case.net, case.params, case.X)
    assert J.shape == (case.workload.n_particles, case.workload.n_samples, case.workload.d_out, case.workload.d_in)


# ----- issue-2 seed benchmark: compiled against the reference on the two small networks -----

@pytest.mark.parametrize("name", ISSUE2_NAMES)
def test_issue2_compiled_fitness(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = "issue2-seed"
    benchmark(case.net.fitness, case.params, case.data)


@pytest.mark.parametrize("name", ISSUE2_NAMES)
def test_issue2_compiled_vjac(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = "issue2-seed"
    benchmark(case.net.value_and_jacobian, case.params, case.X)


@pytest.mark.parametrize("name", ISSUE2_NAMES)
def test_issue2_reference_P4_fitness_scale_per_particle(benchmark: Any, make_case: Any, name: str) -> None:
    """Reference fitness on REFERENCE_P particles: multiply by P / REFERENCE_P (= 250) to compare."""
    case = make_case(name, n_particles=REFERENCE_P)
    benchmark.group = "issue2-seed"
    _note_scale(benchmark, case)
    benchmark.pedantic(reference.fitness, args=(case.net, case.params, case.data), rounds=3, iterations=1)


@pytest.mark.parametrize("name", ISSUE2_NAMES)
def test_issue2_reference_P4_vjac_scale_per_particle(benchmark: Any, make_case: Any, name: str) -> None:
    """Reference value_and_jacobian on REFERENCE_P particles: multiply by P / REFERENCE_P to compare."""
    case = make_case(name, n_particles=REFERENCE_P)
    benchmark.group = "issue2-seed"
    _note_scale(benchmark, case)
    benchmark.pedantic(reference.value_and_jacobian, args=(case.net, case.params, case.X), rounds=3,
                       iterations=1)


# ----- only what is needed: compiled fitness on data sets needing 0, 1 or all tangent directions -----

@pytest.mark.parametrize("data", NEEDED_DATA)
def test_needed_compiled(benchmark: Any, make_case: Any, data: str) -> None:
    case = make_case("small", data=data)
    benchmark.group = "needed-small"
    benchmark.extra_info["columns_per_sample"] = float(wl.columns_per_sample(case.data).mean())
    benchmark(case.net.fitness, case.params, case.data)


@pytest.mark.parametrize("data", NEEDED_DATA)
def test_needed_numpy_baseline(benchmark: Any, make_case: Any, data: str) -> None:
    case = make_case("small", data=data)
    benchmark.group = "needed-small"
    benchmark(baseline.numpy_fitness, case.net, case.params, case.data)


# ----- gradient-<name>: fitness and weight gradient, compiled (once it exists), NumPy, JAX (if installed) -----

JAX_FITNESS_AND_GRADIENT = peers.jax_fitness_and_gradient_factory()


@pytest.mark.skipif(not hasattr(sj.MLP, "fitness_and_gradient"), reason="no MLP.fitness_and_gradient yet")
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_gradient_compiled(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"gradient-{name}"
    f, g = benchmark(case.net.fitness_and_gradient, case.params, case.data)
    assert g.shape == case.params.shape


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_gradient_numpy_baseline(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"gradient-{name}"
    f, g = benchmark(baseline.numpy_fitness_and_gradient, case.net, case.params, case.data)
    assert g.shape == case.params.shape


@pytest.mark.skipif(JAX_FITNESS_AND_GRADIENT is None, reason="jax is not installed")
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_gradient_jax(benchmark: Any, make_case: Any, name: str) -> None:
    case = make_case(name)
    benchmark.group = f"gradient-{name}"
    JAX_FITNESS_AND_GRADIENT(case.net, case.params, case.data)  # compile outside the timing
    f, g = benchmark(JAX_FITNESS_AND_GRADIENT, case.net, case.params, case.data)
    assert g.shape == case.params.shape


# ----- float32 against float64, compiled -----

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_fitness(benchmark: Any, make_case: Any, name: str, dtype: str) -> None:
    case = make_case(name, dtype=np.dtype(dtype))
    benchmark.group = f"dtype-{name}"
    result = benchmark(case.net.fitness, case.params, case.data)
    assert result.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_vjac(benchmark: Any, make_case: Any, name: str, dtype: str) -> None:
    case = make_case(name, dtype=np.dtype(dtype))
    benchmark.group = f"dtype-{name}"
    Y, J = benchmark(case.net.value_and_jacobian, case.params, case.X)
    assert J.dtype == np.dtype(dtype)
