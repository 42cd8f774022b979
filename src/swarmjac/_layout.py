"""How the compiled kernels want their data: the one owner of the kernel-side layout.

Sits between the Python API (network.py, data.py, which validate user arrays) and the Cython wrapper
(_kernels.pyx): the lazy import of the compiled module, the sample-block layout of inputs, the observation
blocks of a Dataset, the deepest network the kernels accept and the derivative-mode names. It imports no
other swarmjac module (the compiled one only lazily, on use), so nothing here can form an import circle.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["MAX_LAYERS", "MODES", "ObservationBlocks", "block_inputs", "check_mode", "core", "mode_code",
           "observation_blocks"]

#: Deepest network (weight layers) the kernels accept: SJ_MAX_LAYERS in csrc/sj_kernels.h. Kept here so
#: that a network spec can be checked without loading the compiled core; a test checks the two agree.
MAX_LAYERS = 64

#: Derivative accumulation modes. "auto" is resolved by the kernels, per block of samples, with one rule
#: for every entry point (sj_block_reverse in csrc/sj_kernels.c): reverse when the outputs are fewer than
#: the input directions the block needs.
MODES = ("auto", "forward", "reverse")


def core() -> ModuleType:
    """The compiled extension ``swarmjac._kernels``, imported on first use.

    Examples
    --------
    >>> core().BLOCK
    64
    """
    return importlib.import_module("swarmjac._kernels")


def check_mode(mode: Any) -> str:
    """Validate a derivative-mode name (one of :data:`MODES`) and return it.

    Examples
    --------
    >>> check_mode("auto")
    'auto'
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def mode_code(mode: str) -> int:
    """The kernels' integer code of a (validated) mode name.

    Examples
    --------
    >>> mode_code("reverse") == core().MODE_REVERSE
    True
    """
    kernels = core()
    return {"auto": kernels.MODE_AUTO, "forward": kernels.MODE_FORWARD,
            "reverse": kernels.MODE_REVERSE}[check_mode(mode)]


def _to_blocks(values: np.ndarray, n_blocks: int, block: int, dtype: np.dtype) -> np.ndarray:
    """(n, *rest) -> (n_blocks, *rest, block), samples innermost, padded lanes 0."""
    n = values.shape[0]
    out = np.zeros((n_blocks * block,) + values.shape[1:], dtype=dtype)
    out[:n] = values
    out = out.reshape((n_blocks, block) + values.shape[1:])
    return np.ascontiguousarray(np.moveaxis(out, 1, -1))


def block_inputs(X: np.ndarray) -> np.ndarray:
    """Input points (N, d_in) in the kernels' block layout (n_blocks, d_in, BLOCK), zero padded.

    Parameters
    ----------
    X : ndarray, shape (N, d_in)
        Validated input points of the dtype of the call.

    Returns
    -------
    ndarray, shape (ceil(N / BLOCK), d_in, BLOCK)

    Examples
    --------
    >>> block_inputs(np.ones((3, 2))).shape
    (1, 2, 64)
    """
    block = core().BLOCK
    return _to_blocks(X, -(-X.shape[0] // block), block, X.dtype)


@dataclass(frozen=True)
class ObservationBlocks:
    """Observations in the fitness kernels' layout: the fields of ``sj_data`` in csrc/sj_kernels.h.

    Rows that observe nothing are dropped and the rest sorted by the input directions they need, so that
    a block of value-only rows carries no tangent work and every other block only the directions its rows
    observe. A mask entry is the weight of an observation (0 where not observed, the row's sample weight
    where observed).
    """

    n_blocks: int
    X: np.ndarray  # (n_blocks, d_in, BLOCK)
    y: np.ndarray  # (n_blocks, d_out, BLOCK)
    y_mask: np.ndarray  # (n_blocks, d_out, BLOCK)
    dydx: np.ndarray  # (n_blocks, d_in, d_out, BLOCK), direction-major
    dydx_mask: np.ndarray  # (n_blocks, d_in, d_out, BLOCK)
    block_dirs: np.ndarray  # (n_blocks, d_in) int32: the directions of block b first
    block_n_dirs: np.ndarray  # (n_blocks,) int32
    value_scale: float  # value_weight / total weight of the observed values (0 if none)
    derivative_scale: float  # derivative_weight / total weight of the observed partials (0 if none)


def observation_blocks(data: Any, dtype: Any = np.float64) -> ObservationBlocks:
    """Build the kernel layout of a :class:`swarmjac.Dataset` for one dtype (use ``Dataset.blocks``,
    which caches it).

    Parameters
    ----------
    data : Dataset
    dtype : float64 or float32

    Returns
    -------
    ObservationBlocks
        Read-only arrays.

    Examples
    --------
    >>> import swarmjac as sj
    >>> observation_blocks(sj.Dataset([[0.0], [1.0]], y=[1.0, 2.0])).value_scale
    0.5
    """
    dtype = np.dtype(dtype)
    block = core().BLOCK
    d_in = data.d_in
    y_all, dydx_all, weight = data.y, data.dydx, data.sample_weight
    y_observed = ~np.isnan(y_all)
    d_observed = ~np.isnan(dydx_all)  # (N, d_out, d_in)
    needs_direction = d_observed.any(axis=1)  # (N, d_in)
    keep = y_observed.any(axis=1) | needs_direction.any(axis=1)
    rows = np.flatnonzero(keep)
    # Sort key: the bit pattern of needed directions (value-only rows, key 0, come first).
    key = (needs_direction[rows].astype(np.int64) << np.arange(d_in, dtype=np.int64) % 62).sum(axis=1)
    rows = rows[np.argsort(key, kind="stable")]
    n_blocks = -(-rows.size // block)

    def blocked(values: np.ndarray) -> np.ndarray:
        return _to_blocks(values, n_blocks, block, dtype)

    w_rows = weight[rows]
    y_mask = np.where(y_observed[rows], w_rows[:, None], 0.0)
    d_mask = np.where(d_observed[rows], w_rows[:, None, None], 0.0)
    # dydx is (n, d_out, d_in); the kernel wants it direction-major, (n_blocks, d_in, d_out, block).
    arrays = {
        "X": blocked(data.X[rows]),
        "y": blocked(np.where(y_observed[rows], y_all[rows], 0.0)),
        "y_mask": blocked(y_mask),
        "dydx": blocked(np.where(d_observed[rows], dydx_all[rows], 0.0).transpose(0, 2, 1)),
        "dydx_mask": blocked(d_mask.transpose(0, 2, 1)),
    }
    padded_needs = np.zeros((n_blocks * block, d_in), dtype=bool)
    padded_needs[: rows.size] = needs_direction[rows]
    block_needs = padded_needs.reshape(n_blocks, block, d_in).any(axis=1)
    block_n_dirs = block_needs.sum(axis=1).astype(np.int32)
    # Directions of each block first, in increasing order (a stable sort puts the needed ones first).
    block_dirs = np.argsort(~block_needs, axis=1, kind="stable").astype(np.int32)
    block_dirs[np.arange(d_in)[None, :] >= block_n_dirs[:, None]] = 0
    value_total, partial_total = float(y_mask.sum()), float(d_mask.sum())
    result = ObservationBlocks(
        n_blocks=n_blocks, block_dirs=np.ascontiguousarray(block_dirs), block_n_dirs=block_n_dirs,
        value_scale=data.value_weight / value_total if value_total > 0 else 0.0,
        derivative_scale=data.derivative_weight / partial_total if partial_total > 0 else 0.0,
        **arrays,
    )
    for name in ("X", "y", "y_mask", "dydx", "dydx_mask", "block_dirs", "block_n_dirs"):
        getattr(result, name).setflags(write=False)
    return result
