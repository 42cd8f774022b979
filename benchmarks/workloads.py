"""The fixed benchmark workloads of swarmjac and their data, shared by every benchmark.

compare.py, scaling.py, test_bench_kernels.py and RESULTS.md all read the networks, swarms and data sets
from here, so that one name ("seed", "small", "medium", "wide"; "mixed", "values", ...) always means the
same computation. Two tables drive it: WORKLOADS (networks and sizes) and DATA_PATTERNS (which rows observe
what); make_network, make_params and make_data build any entry of them.
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
    "RowGroup",
    "DataPattern",
    "DATA_PATTERNS",
    "build_data",
    "make_data",
    "make_values_only_data",
    "make_dx1_only_data",
    "make_all_partials_data",
    "target_function",
    "columns_per_sample",
    "nominal_flops",
    "executed_fitness_columns",
    "executed_vjac_columns",
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


@dataclass(frozen=True)
class RowGroup:
    """What the rows of one group observe.

    Attributes
    ----------
    value : bool
        Whether the rows observe their values ``y_k`` (every output k).
    partials : str
        ``"none"``, ``"first"`` (``dy_k/dx_1`` of every output k) or ``"all"`` (every partial).
    """

    value: bool
    partials: str


@dataclass(frozen=True)
class DataPattern:
    """A benchmark data set: the rows are split into equal groups, each observing one :class:`RowGroup`.

    Attributes
    ----------
    name : str
        Key used by the fixtures and the command lines (``mixed``, ``values``, ``dx1``, ``partials``).
    label : str
        Row label in compare.py's "only what is needed" table.
    groups : tuple of RowGroup
    """

    name: str
    label: str
    groups: tuple[RowGroup, ...]


#: The data sets, in the order the "only what is needed" table lists them; "mixed" is the workloads' own.
DATA_PATTERNS: dict[str, DataPattern] = {
    p.name: p
    for p in (
        DataPattern("values", "values only", (RowGroup(True, "none"),)),
        DataPattern("dx1", "dy/dx1 only", (RowGroup(False, "first"),)),
        DataPattern("mixed", "mixed thirds (main table)",
                    (RowGroup(True, "none"), RowGroup(False, "first"), RowGroup(False, "all"))),
        DataPattern("partials", "values + all partials", (RowGroup(True, "all"),)),
    )
}


def build_data(X: np.ndarray, d_out: int, pattern: str = "mixed",
               shuffle_seed: Optional[int] = DATA_SEED + 2) -> sj.Dataset:
    """A data set of :func:`target_function` at ``X`` whose rows observe what ``DATA_PATTERNS[pattern]`` says.

    Row ``n`` belongs to group ``n * n_groups // N`` (equal groups, in order), and the group numbers are
    then permuted by ``shuffle_seed`` so that the patterns are interleaved as in real data.

    Parameters
    ----------
    X : ndarray, shape (N, d_in)
    d_out : int
    pattern : str, default "mixed"
        A key of :data:`DATA_PATTERNS`.
    shuffle_seed : int or None
        Seed of the permutation of the groups; None keeps them in order.

    Returns
    -------
    swarmjac.Dataset

    Examples
    --------
    >>> data = build_data(np.zeros((6, 2)), 1, "mixed")
    >>> data.n_values, int(data.n_partials.sum())
    (2, 6)
    """
    try:
        groups = DATA_PATTERNS[pattern].groups
    except KeyError:
        raise ValueError(f"unknown data pattern {pattern!r}; expected one of {', '.join(DATA_PATTERNS)}") from None
    y_full, dydx_full = target_function(X, d_out)
    n = X.shape[0]
    group = np.arange(n) * len(groups) // max(n, 1)
    if shuffle_seed is not None:
        group = np.random.default_rng(shuffle_seed).permutation(group)
    y = np.full_like(y_full, np.nan)
    dydx = np.full_like(dydx_full, np.nan)
    for index, spec in enumerate(groups):
        rows = group == index
        if spec.value:
            y[rows] = y_full[rows]
        if spec.partials == "first":
            dydx[rows, :, 0] = dydx_full[rows, :, 0]
        elif spec.partials == "all":
            dydx[rows] = dydx_full[rows]
    return sj.Dataset(X, y=y, dydx=dydx)


def make_data(workload: Workload, pattern: str = "mixed") -> sj.Dataset:
    """The workload's data set: its N input points (:func:`make_inputs`), rows observing ``pattern``.

    The default, "mixed", is the workloads' own: a third of the rows values only, a third dy/dx1 only, a
    third every partial derivative (no value), interleaved by a fixed random permutation. "dy/dx1" means
    ``dy_k/dx_1`` of every output k.

    Parameters
    ----------
    workload : Workload
    pattern : str, default "mixed"
        A key of :data:`DATA_PATTERNS`.

    Returns
    -------
    swarmjac.Dataset

    Examples
    --------
    >>> make_data(get_workload("seed"), "values").n_values
    64
    """
    return build_data(make_inputs(workload), workload.d_out, pattern)


def make_values_only_data(workload: Workload) -> sj.Dataset:
    """``make_data(workload, "values")``: every row observes its values and no derivative."""
    return make_data(workload, "values")


def make_dx1_only_data(workload: Workload) -> sj.Dataset:
    """``make_data(workload, "dx1")``: every row observes only ``dy_k/dx_1`` (all outputs k)."""
    return make_data(workload, "dx1")


def make_all_partials_data(workload: Workload) -> sj.Dataset:
    """``make_data(workload, "partials")``: every row observes its value and every partial derivative."""
    return make_data(workload, "partials")


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


def executed_fitness_columns(net: sj.MLP, data: sj.Dataset) -> int:
    """Columns the fused fitness actually sweeps, summed over the rows (padding lanes not counted).

    Mirrors the kernel's "auto" mode as DESIGN.md describes it: rows are grouped into blocks of
    ``BLOCK`` by the directions they need (``Dataset.blocks``); a block that needs ``n_dir`` directions
    carries ``1 + n_dir`` columns forward, or, when ``d_out < n_dir``, sweeps its values forward and then
    one adjoint column per output back (``1 + d_out``).

    Parameters
    ----------
    net : swarmjac.MLP
    data : swarmjac.Dataset

    Returns
    -------
    int

    Examples
    --------
    >>> small = get_workload("small")
    >>> executed_fitness_columns(make_network(small), make_data(small, "values"))
    256
    """
    blocks = data.blocks(np.float64)
    block = blocks.X.shape[-1]
    n_rows = int(np.count_nonzero(columns_per_sample(data)))
    total = 0
    for b in range(blocks.n_blocks):
        rows = min(block, n_rows - b * block)
        n_dir = int(blocks.block_n_dirs[b])
        total += rows * (1 + (net.d_out if 0 < net.d_out < n_dir else n_dir))
    return total


def executed_vjac_columns(net: sj.MLP, n_samples: int) -> int:
    """Columns value_and_jacobian(mode="auto") sweeps: reverse (1 + d_out) if d_out < d_in, else 1 + d_in.

    Examples
    --------
    >>> executed_vjac_columns(sj.MLP([2, 4, 1]), 10)
    20
    """
    return n_samples * (1 + (net.d_out if net.d_out < net.d_in else net.d_in))
