"""Observations for training: ``Dataset`` of value and partial-derivative targets, with NaN = not observed.

Holds the user's arrays (validated, read-only float64 copies), loads them from CSV (csvfile.py), and caches,
once per dtype, the block layout the fused fitness kernels read (built by _layout.observation_blocks).
"""
from __future__ import annotations

import math
import os
import re
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from swarmjac._layout import ObservationBlocks, observation_blocks
from swarmjac._validation import as_float_array
from swarmjac.csvfile import read_csv

__all__ = ["Dataset"]

_DERIVATIVE_COLUMN = re.compile(r"^d(?P<output>.+)/d(?P<input>.+)$")


def _as_weight(value: Any, name: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {weight}")
    return weight


class Dataset:
    """Input points with value and partial-derivative observations; NaN marks an entry not observed.

    A row may carry only a value, only one partial derivative, or any mix. Rows that observe nothing
    are kept but ignored, with a ``UserWarning``.

    Parameters
    ----------
    X : array_like, shape (N, d_in)
        Input points; must be finite.
    y : array_like, shape (N, d_out) or (N,), optional
        Value targets (a 1-D array means ``d_out = 1``). NaN = not observed.
    dydx : array_like, shape (N, d_out, d_in) or (N, d_in), optional
        Derivative targets, ``dydx[n, k, j] = dy_k/dx_j`` at ``X[n]`` (a 2-D array means ``d_out = 1``).
        NaN = not observed.
    value_weight, derivative_weight : float, default 1.0
        Weights of the two terms of the fitness.
    sample_weight : array_like, shape (N,), optional
        Non-negative weight of each row: every observation of row ``n`` counts ``sample_weight[n]`` times
        in the fitness, whose two means become weighted means. Default: all ones.
    input_names, output_names : sequence of str, optional
        Column names (default ``x1, x2, ...`` and ``y`` or ``y1, y2, ...``), used in summaries, CSV
        output and model files.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> nan = np.nan
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> y = np.array([0.0, nan, nan])
    >>> dydx = np.array([[nan, nan], [2.0, nan], [nan, 3.0]])
    >>> sj.Dataset(X, y=y, dydx=dydx)
    Dataset(n_samples=3, d_in=2, d_out=1, values: y=1, partials: dy/dx1=1, dy/dx2=1)
    """

    def __init__(self, X: Any, y: Any = None, dydx: Any = None, value_weight: float = 1.0,
                 derivative_weight: float = 1.0, *, sample_weight: Any = None,
                 input_names: Optional[Sequence[str]] = None, output_names: Optional[Sequence[str]] = None):
        float64 = np.dtype(np.float64)
        X = np.array(as_float_array(X, "X", float64, ndim=(2,)), copy=True)
        n_samples, d_in = X.shape
        if d_in < 1:
            raise ValueError(f"X must have at least one column, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"X must be finite; X[{bad[0]}, {bad[1]}] = {X[tuple(bad)]}")
        if y is None and dydx is None:
            raise ValueError("a Dataset needs y, dydx or both")
        d_out = None
        if y is not None:
            y = np.array(as_float_array(y, "y", float64, ndim=(1, 2)), copy=True)
            if y.ndim == 1:
                y = y[:, None]
            if y.shape[0] != n_samples:
                raise ValueError(f"y must have {n_samples} rows (one per row of X), got shape {y.shape}")
            d_out = y.shape[1]
        if dydx is not None:
            dydx = np.array(as_float_array(dydx, "dydx", float64, ndim=(2, 3)), copy=True)
            if dydx.ndim == 2:
                dydx = dydx[:, None, :]
            expected = (n_samples, d_out if d_out is not None else dydx.shape[1], d_in)
            if dydx.shape != expected:
                raise ValueError(f"dydx must have shape (N, d_out, d_in) = {expected}, got {dydx.shape}")
            d_out = dydx.shape[1]
        assert d_out is not None
        if d_out < 1:
            raise ValueError("the data must have at least one output")
        if y is None:
            y = np.full((n_samples, d_out), np.nan)
        if dydx is None:
            dydx = np.full((n_samples, d_out, d_in), np.nan)
        for name, values in (("y", y), ("dydx", dydx)):
            if np.any(np.isinf(values)):
                raise ValueError(f"{name} contains inf; use NaN to mark entries that are not observed")
        self._input_names = _names(input_names, "input_names", [f"x{j + 1}" for j in range(d_in)])
        self._output_names = _names(output_names, "output_names",
                                    ["y"] if d_out == 1 else [f"y{k + 1}" for k in range(d_out)])
        self._value_weight = _as_weight(value_weight, "value_weight")
        self._derivative_weight = _as_weight(derivative_weight, "derivative_weight")
        if sample_weight is not None:
            sample_weight = np.array(as_float_array(sample_weight, "sample_weight", float64, ndim=(1,)), copy=True)
            if sample_weight.shape != (n_samples,):
                raise ValueError(f"sample_weight must have shape (N,) = ({n_samples},), got {sample_weight.shape}")
            if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
                bad = int(np.flatnonzero(~(np.isfinite(sample_weight) & (sample_weight >= 0)))[0])
                raise ValueError(f"sample_weight must be finite and >= 0; sample_weight[{bad}] = "
                                 f"{sample_weight[bad]}")
            sample_weight.setflags(write=False)
        self._sample_weight = sample_weight
        for array in (X, y, dydx):
            array.setflags(write=False)
        self._X, self._y, self._dydx = X, y, dydx
        empty_rows = ~(np.any(~np.isnan(y), axis=1) | np.any(~np.isnan(dydx), axis=(1, 2)))
        if np.any(empty_rows):
            warnings.warn(f"{int(empty_rows.sum())} of {n_samples} rows observe nothing (all of y and dydx "
                          f"are NaN) and are ignored, e.g. row {int(np.argmax(empty_rows))}",
                          UserWarning, stacklevel=2)
        self._blocks_cache: dict = {}

    # ----- properties -----

    @property
    def X(self) -> np.ndarray:
        """Input points (N, d_in), read-only."""
        return self._X

    @property
    def y(self) -> np.ndarray:
        """Value targets (N, d_out), NaN where not observed; read-only."""
        return self._y

    @property
    def dydx(self) -> np.ndarray:
        """Derivative targets (N, d_out, d_in), NaN where not observed; read-only."""
        return self._dydx

    @property
    def sample_weight(self) -> np.ndarray:
        """Weight of each row, shape (N,) (all ones unless given), read-only."""
        if self._sample_weight is None:
            ones = np.ones(self.n_samples)
            ones.setflags(write=False)
            return ones
        return self._sample_weight

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the inputs."""
        return self._input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the outputs."""
        return self._output_names

    @property
    def value_weight(self) -> float:
        """Weight of the value term of the fitness."""
        return self._value_weight

    @property
    def derivative_weight(self) -> float:
        """Weight of the derivative term of the fitness."""
        return self._derivative_weight

    @property
    def n_samples(self) -> int:
        """Number of rows N."""
        return self._X.shape[0]

    @property
    def d_in(self) -> int:
        """Number of inputs."""
        return self._X.shape[1]

    @property
    def d_out(self) -> int:
        """Number of outputs."""
        return self._y.shape[1]

    @property
    def n_values(self) -> int:
        """Number of observed value entries."""
        return int(np.count_nonzero(~np.isnan(self._y)))

    @property
    def n_partials(self) -> np.ndarray:
        """Observed partial-derivative entries per (output, input), shape (d_out, d_in)."""
        return np.count_nonzero(~np.isnan(self._dydx), axis=0)

    def __len__(self) -> int:
        return self.n_samples

    def __getstate__(self) -> dict:
        # Pickling (e.g. to Dask workers) ships the observations, not the prepared kernel blocks: those
        # are a cache, 2-3 times the size of the data, rebuilt on first use, and laid out for the BLOCK
        # of the compiled core of the process that built them.
        state = self.__dict__.copy()
        state["_blocks_cache"] = {}
        return state

    def __repr__(self) -> str:
        d_out, d_in = self.d_out, self.d_in
        out_names, in_names = self._output_names, self._input_names
        values = ", ".join(f"{name}={int(c)}" for name, c in
                           zip(out_names, np.count_nonzero(~np.isnan(self._y), axis=0)))
        counts = self.n_partials
        partials = ", ".join(f"d{out_names[k]}/d{in_names[j]}={int(counts[k, j])}"
                             for k in range(d_out) for j in range(d_in))
        weights = ""
        if self._value_weight != 1.0 or self._derivative_weight != 1.0:
            weights = f", value_weight={self._value_weight}, derivative_weight={self._derivative_weight}"
        if self._sample_weight is not None:
            weights += ", sample_weight=given"
        return (f"Dataset(n_samples={self.n_samples}, d_in={d_in}, d_out={d_out}, values: {values}, "
                f"partials: {partials}{weights})")

    def subset(self, rows: Any) -> "Dataset":
        """A new Dataset of the given rows (index array, slice or boolean mask), same weights (and the
        rows' sample weights)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return Dataset(self._X[rows], y=self._y[rows], dydx=self._dydx[rows],
                           value_weight=self._value_weight, derivative_weight=self._derivative_weight,
                           sample_weight=None if self._sample_weight is None else self._sample_weight[rows],
                           input_names=self._input_names, output_names=self._output_names)

    # ----- the kernel layout -----

    def blocks(self, dtype: Any = np.float64) -> ObservationBlocks:
        """Observations in the fused fitness kernels' block layout (see swarmjac/_layout.py), prepared
        once per dtype and cached.

        Examples
        --------
        >>> Dataset([[0.0], [1.0]], y=[1.0, 2.0]).blocks().n_blocks
        1
        """
        dtype = np.dtype(dtype)
        cached = self._blocks_cache.get(dtype)
        if cached is None:
            cached = self._blocks_cache[dtype] = observation_blocks(self, dtype)
        return cached

    # ----- loaders -----

    @classmethod
    def from_csv(cls, path: Union[str, os.PathLike], inputs: Optional[Sequence[str]] = None,
                 outputs: Optional[Sequence[str]] = None, value_weight: float = 1.0,
                 derivative_weight: float = 1.0) -> "Dataset":
        """Load observations from a CSV file with a header row.

        Columns are input columns (``x1, x2, ...``), value columns (``y``) and derivative columns named
        ``d<output>/d<input>`` (``dy/dx1``). An empty cell (or ``nan``) is an entry not observed.

        Parameters
        ----------
        path : str or PathLike
            The CSV file.
        inputs : sequence of str, optional
            Input column names, in order. Default: every column that is neither an output nor a
            derivative column.
        outputs : sequence of str, optional
            Output names, in order; an output needs no value column of its own if only its derivatives
            are observed. Default: the outputs named by the derivative columns, or the last column if
            there is none.
        value_weight, derivative_weight : float

        Returns
        -------
        Dataset

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        ValueError
            For an empty file, a malformed row, a non-numeric cell (see
            :func:`swarmjac.csvfile.read_csv`), or columns that are unknown or not used (the message
            names them).
        """
        header, table = read_csv(path)
        derivative_columns = {}
        for name in header:
            match = _DERIVATIVE_COLUMN.match(name)
            if match:
                derivative_columns[name] = (match.group("output"), match.group("input"))
        plain = [name for name in header if name not in derivative_columns]
        if outputs is None:
            outputs = list(dict.fromkeys(out for out, _ in derivative_columns.values()))
            if not outputs:
                if len(plain) < 2:
                    raise ValueError(f"{path}: cannot tell inputs from outputs in columns {header}; "
                                     "pass inputs= and outputs=")
                outputs = [plain[-1]]
        outputs = list(outputs)
        if inputs is None:
            inputs = [name for name in plain if name not in outputs]
        inputs = list(inputs)
        if not inputs:
            raise ValueError(f"{path}: no input columns (columns: {header})")
        missing = [name for name in inputs if name not in header]
        if missing:
            raise ValueError(f"{path}: input columns {missing} not found; columns are {header}")
        used = set(inputs) | {name for name in outputs if name in header}
        unknown = []
        for name in header:
            if name in used:
                continue
            pair = derivative_columns.get(name)
            if pair and pair[0] in outputs and pair[1] in inputs:
                continue
            unknown.append(name)
        if unknown:
            raise ValueError(f"{path}: unknown columns {unknown}: expected inputs {inputs}, outputs {outputs} "
                             f"and derivative columns named like 'd{outputs[0]}/d{inputs[0]}'")
        value_columns = [name for name in outputs if name in header]
        if not value_columns and not derivative_columns:
            raise ValueError(f"{path}: no value or derivative columns for outputs {outputs}")
        column = {name: table[:, i] for i, name in enumerate(header)}
        X = np.stack([column[name] for name in inputs], axis=1)
        nan = np.full(len(table), np.nan)
        y = np.stack([column.get(name, nan) for name in outputs], axis=1)
        dydx = np.full((len(table), len(outputs), len(inputs)), np.nan)
        for name, (out, inp) in derivative_columns.items():
            dydx[:, outputs.index(out), inputs.index(inp)] = column[name]
        return cls(X, y=y if value_columns else None, dydx=dydx if derivative_columns else None,
                   value_weight=value_weight, derivative_weight=derivative_weight,
                   input_names=inputs, output_names=outputs)


def _names(names: Optional[Sequence[str]], argument: str, default: list[str]) -> tuple[str, ...]:
    if names is None:
        return tuple(default)
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{argument} must be a sequence of non-empty str")
    if len(names) != len(default):
        raise ValueError(f"{argument} must have {len(default)} names, got {len(names)}")
    return tuple(names)
