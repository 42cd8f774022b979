"""Fixtures of the pytest-benchmark suite (benchmarks/test_bench_kernels.py): workload cases built once.

Not part of the normal test suite (pyproject's testpaths is ["tests"]); run with
``python -m pytest benchmarks/ --benchmark-only``.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl  # noqa: E402


@dataclass(frozen=True)
class Case:
    """Everything one benchmark call needs, built before timing.

    Attributes
    ----------
    workload : workloads.Workload
    net : swarmjac.MLP
    params : ndarray, shape (P, n_params)
    data : swarmjac.Dataset
    X : ndarray, shape (N, d_in)
        ``data.X`` in the dtype of ``params``.
    """

    workload: wl.Workload
    net: Any
    params: np.ndarray
    data: Any
    X: np.ndarray


@pytest.fixture(scope="session")
def make_case() -> Callable[..., Case]:
    """Factory ``make_case(name, dtype=float64, n_particles=None, data="mixed")`` with a session cache.

    ``data`` is a key of ``workloads.DATA_PATTERNS`` (``mixed``, the workload's thirds, ``values``, ``dx1``,
    ``partials``); the compiled fitness's block layout is prepared here too, so that no call being timed
    pays for it.
    """
    cache: dict[tuple, Case] = {}

    def get(name: str, dtype: Any = np.float64, n_particles: Optional[int] = None, data: str = "mixed") -> Case:
        key = (name, np.dtype(dtype).name, n_particles, data)
        if key not in cache:
            workload = wl.get_workload(name)
            net = wl.make_network(workload)
            params = wl.make_params(workload, n_particles=n_particles, dtype=dtype)
            dataset = wl.make_data(workload, data)
            dataset.blocks(dtype)
            X = np.ascontiguousarray(dataset.X, dtype=dtype)
            cache[key] = Case(workload, net, params, dataset, X)
        return cache[key]

    return get
