"""The fixed benchmark workloads of swarmjac and their data, shared by every benchmark.

compare.py, test_bench_kernels.py and RESULTS.md all read the networks, swarms and data sets from here,
so that one name ("seed", "small", "medium", "wide") always means the same computation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

import swarmjac as sj

__all__ = [
    "Workload",
    "WORKLOADS",
    "DATA_SEED",
    "PARAMS_SEED",
    "get_workload",
    "make_network",
    "make_params",
    "make_inputs",
    "make_data",
    "make_values_only_data",
    "make_dx1_only_data",
    "make_all_partials_data",
    "target_function",
    "columns_per_sample",
    "nominal_flops",
]

#: Seed of the input points and targets.
DATA_SEED = 20240611
#: Seed of the swarm (``MLP.init_params``).
PARAMS_SEED = 12345


@dataclass(frozen=True)
class Workload:
    """One benchmark case: a network shape, its hidden activation, a swarm size and a sample count.

    Attributes
    ----------
    name : str
        Short name used in group names and tables.
    layer_sizes : tuple of int
        ``(d_in, h_1, ..., d_out)``.
    activation : str
        Activation of every hidden layer; the output layer is linear.
    n_particles : int
        Swarm size P.
    n_samples : int
        Number of observation rows N.
    """

    name: str
    layer_sizes: tuple[int, ...]
    activation: str
    n_particles: int
    n_samples: int

    @property
    def d_in(self) -> int:
        """Number of inputs."""
        return self.layer_sizes[0]

    @property
    def d_out(self) -> int:
        """Number of outputs."""
        return self.layer_sizes[-1]

    def describe(self) -> str:
        """One-line description, e.g. ``small: [2, 16, 16, 1] tanh, P=1000, N=256``."""
        return (f"{self.name}: {list(self.layer_sizes)} {self.activation}, "
                f"P={self.n_particles}, N={self.n_samples}")


#: The four workloads, in the order tables list them.
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("seed", (2, 2, 2, 1), "sigmoid", 1000, 64),
        Workload("small", (2, 16, 16, 1), "tanh", 1000, 256),
        Workload("medium", (4, 64, 64, 2), "tanh", 256, 256),
        Workload("wide", (8, 128, 128, 128, 1), "sigmoid", 64, 512),
    )
}


def get_workload(name: str) -> Workload:
    """Look a workload up by name.

    Parameters
    ----------
    name : str
        One of ``WORKLOADS``.

    Returns
    -------
    Workload

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    try:
        return WORKLOADS[name]
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}") from None


def make_network(workload: Workload) -> sj.MLP:
    """The workload's network: hidden layers use ``workload.activation``, the output layer is linear.

    Parameters
    ----------
    workload : Workload

    Returns
    -------
    swarmjac.MLP
    """
    return sj.MLP(list(workload.layer_sizes), activations=workload.activation)


def make_params(workload: Workload, n_particles: Optional[int] = None, dtype: Any = np.float64) -> np.ndarray:
    """The workload's swarm, from a fixed seed.

    Parameters
    ----------
    workload : Workload
    n_particles : int, optional
        Swarm size; defaults to ``workload.n_particles``. A smaller swarm is the first rows of the full
        one (the reference benchmarks use that).
    dtype : dtype, default float64

    Returns
    -------
    ndarray, shape (n_particles, n_params), C-contiguous
    """
    net = make_network(workload)
    params = net.init_params(workload.n_particles, seed=PARAMS_SEED)
    if n_particles is not None:
        params = params[:n_particles]
    return np.ascontiguousarray(params, dtype=dtype)


def make_inputs(workload: Workload, dtype: Any = np.float64) -> np.ndarray:
    """The workload's N input points, uniform in ``[-1, 1]^d_in`` from a fixed seed.

    Parameters
    ----------
    workload : Workload
    dtype : dtype, default float64

    Returns
    -------
    ndarray, shape (n_samples, d_in)
    """
    rng = np.random.default_rng(DATA_SEED)
    return rng.uniform(-1.0, 1.0, size=(workload.n_samples, workload.d_in)).astype(dtype)


def target_function(X: np.ndarray, d_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth targets with exact derivatives: ``y_k = sin(A_k . x + c_k)``, fixed ``A`` and ``c``.

    Parameters
    ----------
    X : ndarray, shape (N, d_in)
    d_out : int

    Returns
    -------
    y : ndarray, shape (N, d_out)
    dydx : ndarray, shape (N, d_out, d_in)
        ``dy_k/dx_j = A_kj cos(A_k . x + c_k)``.
    """
    d_in = X.shape[1]
    rng = np.random.default_rng(DATA_SEED + 1)
    A = rng.normal(scale=1.5 / np.sqrt(d_in), size=(d_out, d_in))
    c = rng.uniform(-np.pi, np.pi, size=d_out)
    phase = X @ A.T + c  # (N, d_out)
    return np.sin(phase), np.cos(phase)[:, :, None] * A[None, :, :]


def make_data(workload: Workload) -> sj.Dataset:
    """The workload's mixed data set: a third of the rows values only, a third dy/dx1 only, a third
    every partial derivative (no value).

    "dy/dx1" means ``dy_k/dx_1`` of every output k. Which row gets which pattern is a fixed random
    permutation, so the patterns are interleaved as in real data.

    Parameters
    ----------
    workload : Workload

    Returns
    -------
    swarmjac.Dataset
    """
    X = make_inputs(workload)
    y_full, dydx_full = target_function(X, workload.d_out)
    n = workload.n_samples
    pattern = np.random.default_rng(DATA_SEED + 2).permutation(np.arange(n) * 3 // n)  # 0, 1, 2 by thirds
    y = np.where((pattern == 0)[:, None], y_full, np.nan)
    dydx = np.full_like(dydx_full, np.nan)
    dx1_rows = pattern == 1
    dydx[dx1_rows, :, 0] = dydx_full[dx1_rows, :, 0]
    all_rows = pattern == 2
    dydx[all_rows] = dydx_full[all_rows]
    return sj.Dataset(X, y=y, dydx=dydx)


def make_values_only_data(workload: Workload) -> sj.Dataset:
    """Every row observes its values and no derivative ("only what is needed": no tangents at all).

    Parameters
    ----------
    workload : Workload

    Returns
    -------
    swarmjac.Dataset
    """
    X = make_inputs(workload)
    y, _ = target_function(X, workload.d_out)
    return sj.Dataset(X, y=y)


def make_dx1_only_data(workload: Workload) -> sj.Dataset:
    """Every row observes only ``dy_k/dx_1`` (all outputs k): one tangent direction is needed.

    Parameters
    ----------
    workload : Workload

    Returns
    -------
    swarmjac.Dataset
    """
    X = make_inputs(workload)
    y, dydx_full = target_function(X, workload.d_out)
    dydx = np.full_like(dydx_full, np.nan)
    dydx[:, :, 0] = dydx_full[:, :, 0]
    return sj.Dataset(X, y=np.full_like(y, np.nan), dydx=dydx)


def make_all_partials_data(workload: Workload) -> sj.Dataset:
    """Every row observes its value and every partial derivative: the full Jacobian is needed.

    Parameters
    ----------
    workload : Workload

    Returns
    -------
    swarmjac.Dataset
    """
    X = make_inputs(workload)
    y, dydx = target_function(X, workload.d_out)
    return sj.Dataset(X, y=y, dydx=dydx)


def columns_per_sample(data: sj.Dataset) -> np.ndarray:
    """Forward-mode columns each row needs: 1 (value) + the number of input directions it observes.

    Parameters
    ----------
    data : swarmjac.Dataset

    Returns
    -------
    ndarray of int, shape (N,)
        0 for rows that observe nothing (they are skipped).
    """
    y_observed = ~np.isnan(data.y)
    directions = (~np.isnan(data.dydx)).any(axis=1)  # (N, d_in)
    used = y_observed.any(axis=1) | directions.any(axis=1)
    return np.where(used, 1 + directions.sum(axis=1), 0)


def nominal_flops(layer_sizes: Any, n_particles: int, total_columns: int) -> float:
    """Nominal flop count of one swarm evaluation.

    ``n_particles * total_columns * sum_l 2 * out_l * in_l``: a multiply-add per weight per column,
    where a column is one sample's value or one of its carried tangent directions. Activations, bias,
    the loss and the shortcut for the first layer's tangents (which need no product) are not counted.

    Parameters
    ----------
    layer_sizes : sequence of int
    n_particles : int
    total_columns : int
        Sum over samples of (1 + carried tangent directions); see :func:`columns_per_sample`.

    Returns
    -------
    float
    """
    sizes = list(layer_sizes)
    per_column = sum(2 * sizes[l + 1] * sizes[l] for l in range(len(sizes) - 1))
    return float(n_particles) * float(total_columns) * float(per_column)
