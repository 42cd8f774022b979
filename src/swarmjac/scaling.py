"""Standardisation of a Dataset (inputs, outputs, and the partials by the chain rule) for training.

Sits between the user's data and the optimiser: ``sj.fit`` trains on ``Standardizer.transform(data)`` and
folds the affine maps back into the network's first and last layer with ``to_raw_params``, so the result
works on raw-unit X and gives raw-unit values and partials. Plain NumPy; never touches the compiled core.
A little over 500 lines because about half are the docstrings of one class with one job.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional

import numpy as np

from swarmjac._validation import as_float_array, result_dtype
from swarmjac.data import Dataset
from swarmjac.network import MLP, check_net_and_data

__all__ = ["Standardizer"]

# A spread at or below this fraction of the column's largest magnitude is rounding noise of the mean (a
# constant column rarely has a std of exactly 0 in floating point), not information: such a column gets
# scale 1.
_DEGENERATE_RELATIVE_SPREAD = 1e3 * np.finfo(np.float64).eps
_FIELDS = ("x_mean", "x_scale", "y_mean", "y_scale")


def _mean_and_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and population std (ddof=0) of a non-empty 1-D float64 array, with no overflow for huge magnitudes.

    Returns std 0.0 when the spread is degenerate (one value, all equal, or rounding noise).
    """
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        return 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(np.mean(values)), float(np.std(values))
    if not (math.isfinite(mean) and math.isfinite(std)):
        # Magnitudes near 1e154 and beyond overflow the sums: work on values / peak (all in [-1, 1]),
        # which costs a rounding per value and so only where it is needed.
        unit = values / peak
        mean, std = float(np.mean(unit)) * peak, float(np.std(unit)) * peak
    if values.size < 2 or std <= _DEGENERATE_RELATIVE_SPREAD * peak:
        std = 0.0
    return mean, std


def _rms(values: np.ndarray) -> float:
    """Root mean square of a non-empty 1-D float64 array, with no overflow for huge magnitudes."""
    peak = float(np.max(np.abs(values)))
    if peak == 0.0 or not math.isfinite(peak):
        return peak
    return peak * math.sqrt(float(np.mean((values / peak) ** 2)))


def _check_vector(value: Any, name: str, length: Optional[int] = None, positive: bool = False) -> np.ndarray:
    """A read-only float64 copy of a finite 1-D vector (of ``length`` entries, > 0 if ``positive``)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array of numbers, got {type(value).__name__}")
    array = np.array(as_float_array(value, name, np.dtype(np.float64), ndim=(1,)), copy=True)
    if array.size == 0:
        raise ValueError(f"{name} must have at least one entry, got shape {array.shape}")
    if length is not None and array.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array.tolist()}")
    if positive and not np.all(array > 0):
        raise ValueError(f"{name} must be > 0 everywhere, got {array.tolist()}")
    array.setflags(write=False)
    return array


def _view(columns: np.ndarray, matrix_shape: tuple[int, int]) -> np.ndarray:
    """The (P, out, in) weight matrices inside a (P, out * in) column slice, as a view (written in place)."""
    view = columns.view()
    view.shape = (columns.shape[0],) + matrix_shape  # raises instead of silently copying
    return view


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


class Standardizer:
    """Affine maps that standardise a Dataset, and fold back into a network's parameters.

    Inputs map as ``x' = (x - x_mean) / x_scale`` and outputs as ``y' = (y - y_mean) / y_scale``, per
    column; the partials follow by the chain rule, ``dy_k'/dx_j' = dy_k/dx_j * x_scale_j / y_scale_k``.
    A network trained on the standardised data is turned into one that works in the user's units with
    :meth:`to_raw_params`.

    Parameters
    ----------
    x_mean, x_scale : array_like, shape (d_in,)
        Input offsets and (positive) scales.
    y_mean, y_scale : array_like, shape (d_out,)
        Output offsets and (positive) scales.

    See Also
    --------
    Standardizer.from_data : the statistics of a data set.
    Standardizer.for_network : the maps a given network can fold back exactly.
    Standardizer.identity : no scaling at all.

    Notes
    -----
    How :meth:`from_data` chooses the numbers:

    * an input's mean and population std (``ddof=0``) over all rows; an output's over its observed
      (non-NaN) values. Statistics are unweighted.
    * a degenerate spread (a single row or observed value, a constant column, or a std at most
      ``1e3 * eps`` of the column's largest magnitude, i.e. rounding noise) gives scale 1 for an input.
      For an output, the scale then falls back to the one derived from its partials (below), and to 1
      if it has none or they are all 0; the mean is kept.
    * an output with no observed value (derivative-only data) gets mean 0 (its offset cannot be seen in
      the data, and the fitness does not depend on it) and the scale derived from its partials:
      ``sqrt(mean_j(rms_n(dy_k/dx_j * x_scale_j)^2))`` over the input directions ``j`` it has observed
      partials in (each direction counts once, however many rows observe it). The standardised partials
      then have a root mean square of 1, as standardised values have a std of 1. The root mean square
      is used rather than the std of the partials, which is 0 for a linear function. An output with no
      observation at all gets mean 0 and scale 1.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> from swarmjac.scaling import Standardizer
    >>> X = np.array([[998.0], [1000.0], [1002.0]])
    >>> data = sj.Dataset(X, y=2e4 * X - 2e7, dydx=np.full((3, 1), 2e4))
    >>> scaler = Standardizer.from_data(data)
    >>> scaled = scaler.transform(data)
    >>> np.round(scaled.X.ravel(), 6), np.round(scaled.y.ravel(), 6), np.round(scaled.dydx.ravel(), 6)
    (array([-1.224745,  0.      ,  1.224745]), array([-1.224745,  0.      ,  1.224745]), array([1., 1., 1.]))
    """

    def __init__(self, x_mean: Any, x_scale: Any, y_mean: Any, y_scale: Any):
        self._x_mean = _check_vector(x_mean, "x_mean")
        self._x_scale = _check_vector(x_scale, "x_scale", length=self._x_mean.size, positive=True)
        self._y_mean = _check_vector(y_mean, "y_mean")
        self._y_scale = _check_vector(y_scale, "y_scale", length=self._y_mean.size, positive=True)

    # ----- construction -----

    @classmethod
    def identity(cls, d_in: int, d_out: int) -> "Standardizer":
        """The Standardizer that changes nothing (means 0, scales 1), for unscaled training.

        Parameters
        ----------
        d_in, d_out : int
            Numbers of inputs and outputs (>= 1).

        Returns
        -------
        Standardizer

        Examples
        --------
        >>> Standardizer.identity(2, 1).is_identity
        True
        """
        for name, value in (("d_in", d_in), ("d_out", d_out)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        return cls(np.zeros(d_in), np.ones(d_in), np.zeros(d_out), np.ones(d_out))

    @classmethod
    def from_data(cls, data: Dataset, *, inputs: bool = True, outputs: bool = True) -> "Standardizer":
        """The standardising maps of a data set (see the class Notes for the degenerate cases).

        Parameters
        ----------
        data : Dataset
            The observations.
        inputs : bool, default True
            Standardise the inputs; False keeps them (mean 0, scale 1).
        outputs : bool, default True
            Standardise the outputs; False keeps them. Use False for a network whose output layer is not
            linear (see :meth:`for_network`).

        Returns
        -------
        Standardizer

        Examples
        --------
        >>> import numpy as np, swarmjac as sj
        >>> data = sj.Dataset([[1.0], [3.0]], y=[10.0, np.nan], dydx=[[np.nan], [5.0]])
        >>> Standardizer.from_data(data)
        Standardizer(x_mean=[2.], x_scale=[1.], y_mean=[10.], y_scale=[5.])
        """
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
        inputs = _check_flag(inputs, "inputs")
        outputs = _check_flag(outputs, "outputs")
        d_in, d_out = data.d_in, data.d_out
        x_mean, x_scale = np.zeros(d_in), np.ones(d_in)
        if inputs:
            for j in range(d_in):
                mean, std = _mean_and_std(data.X[:, j])
                x_mean[j], x_scale[j] = mean, (std if std > 0 else 1.0)
        y_mean, y_scale = np.zeros(d_out), np.ones(d_out)
        if outputs:
            for k in range(d_out):
                values = data.y[:, k]
                values = values[~np.isnan(values)]
                std = 0.0
                if values.size:
                    y_mean[k], std = _mean_and_std(values)
                if std == 0.0:
                    std = cls._scale_from_partials(data.dydx[:, k, :], x_scale)
                y_scale[k] = std if std > 0 else 1.0
        for name, array in (("x_mean", x_mean), ("x_scale", x_scale), ("y_mean", y_mean), ("y_scale", y_scale)):
            if not np.all(np.isfinite(array)):
                raise ValueError(f"the data are too large to standardise: {name} = {array.tolist()} is not finite")
        return cls(x_mean, x_scale, y_mean, y_scale)

    @staticmethod
    def _scale_from_partials(partials: np.ndarray, x_scale: np.ndarray) -> float:
        """``sqrt(mean_j rms_n(partials[:, j] * x_scale[j])^2)`` over the observed directions j, or 0."""
        per_direction = []
        for j in range(partials.shape[1]):
            column = partials[:, j]
            column = column[~np.isnan(column)]
            if column.size:
                per_direction.append(_rms(column * x_scale[j]))
        if not per_direction:
            return 0.0
        return _rms(np.asarray(per_direction))

    @classmethod
    def for_network(cls, net: MLP, data: Dataset) -> "Standardizer":
        """The maps that can be folded back exactly into ``net``: inputs always, outputs only when the
        output layer is linear.

        Parameters
        ----------
        net : MLP
            The network to train; its widths must match the data.
        data : Dataset

        Returns
        -------
        Standardizer
            ``from_data(data, inputs=True, outputs=(net.activations[-1] == "linear"))``.

        Examples
        --------
        >>> import swarmjac as sj
        >>> net = sj.MLP([1, 4, 1], activations=["tanh", "sigmoid"])
        >>> data = sj.Dataset([[0.0], [10.0]], y=[0.2, 0.9])
        >>> Standardizer.for_network(net, data).scales_outputs
        False
        """
        check_net_and_data(net, data)
        return cls.from_data(data, inputs=True, outputs=net.activations[-1] == "linear")

    # ----- properties -----

    @property
    def x_mean(self) -> np.ndarray:
        """Input offsets (d_in,), read-only."""
        return self._x_mean

    @property
    def x_scale(self) -> np.ndarray:
        """Input scales (d_in,), positive, read-only."""
        return self._x_scale

    @property
    def y_mean(self) -> np.ndarray:
        """Output offsets (d_out,), read-only."""
        return self._y_mean

    @property
    def y_scale(self) -> np.ndarray:
        """Output scales (d_out,), positive, read-only."""
        return self._y_scale

    @property
    def d_in(self) -> int:
        """Number of inputs."""
        return self._x_mean.size

    @property
    def d_out(self) -> int:
        """Number of outputs."""
        return self._y_mean.size

    @property
    def scales_inputs(self) -> bool:
        """Whether the input map is not the identity."""
        return bool(np.any(self._x_mean != 0) or np.any(self._x_scale != 1))

    @property
    def scales_outputs(self) -> bool:
        """Whether the output map is not the identity (then only a linear output layer can fold it)."""
        return bool(np.any(self._y_mean != 0) or np.any(self._y_scale != 1))

    @property
    def is_identity(self) -> bool:
        """Whether both maps are the identity."""
        return not (self.scales_inputs or self.scales_outputs)

    # ----- data -----

    def transform(self, data: Dataset) -> Dataset:
        """The standardised copy of a data set: X, y and the partials (chain rule), NaN kept.

        Parameters
        ----------
        data : Dataset
            Observations with ``d_in`` inputs and ``d_out`` outputs.

        Returns
        -------
        Dataset
            ``X' = (X - x_mean) / x_scale``, ``y' = (y - y_mean) / y_scale``,
            ``dydx'[n, k, j] = dydx[n, k, j] * x_scale[j] / y_scale[k]``; the same weights (value, derivative
            and per-row sample weights) and names.

        Examples
        --------
        >>> import swarmjac as sj
        >>> scaler = Standardizer([10.0], [2.0], [0.0], [4.0])
        >>> scaled = scaler.transform(sj.Dataset([[12.0]], y=[8.0], dydx=[[6.0]]))
        >>> scaled.X, scaled.y, scaled.dydx
        (array([[1.]]), array([[2.]]), array([[[3.]]]))
        """
        self._check_data(data)
        with np.errstate(over="ignore"):  # overflow is reported below, naming the array
            X = (data.X - self._x_mean) / self._x_scale
            y = (data.y - self._y_mean) / self._y_scale
            dydx = data.dydx * (self._x_scale[None, None, :] / self._y_scale[None, :, None])
        for name, array in (("X", X), ("y", y), ("dydx", dydx)):
            if np.any(np.isinf(array)):
                raise ValueError(f"the standardised {name} overflows (an entry is inf): the data and this "
                                 f"Standardizer's scales differ by more than float64 can hold")
        extra = {}
        # Per-row weights exist once the Dataset has them; older Datasets have none to carry over.
        sample_weight = getattr(data, "sample_weight", None)
        if sample_weight is not None:
            extra["sample_weight"] = sample_weight
        with warnings.catch_warnings():
            # Rows that observe nothing were reported when `data` was built.
            warnings.simplefilter("ignore", UserWarning)
            return Dataset(X, y=y, dydx=dydx, value_weight=data.value_weight,
                           derivative_weight=data.derivative_weight, input_names=data.input_names,
                           output_names=data.output_names, **extra)

    def _check_data(self, data: Any) -> None:
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
        if (data.d_in, data.d_out) != (self.d_in, self.d_out):
            raise ValueError(f"data has d_in={data.d_in}, d_out={data.d_out} but this Standardizer has "
                             f"d_in={self.d_in}, d_out={self.d_out}")

    # ----- parameters -----

    def to_raw_params(self, net: MLP, params: Any) -> np.ndarray:
        """Parameters that compute in raw units what ``params`` computes in standardised units.

        With ``g`` the network with ``params``, the result computes
        ``f(X) = y_mean + y_scale * g((X - x_mean) / x_scale)``. The input map folds into the first
        layer, ``W_1 / x_scale`` (per column) and ``b_1 - W_1 @ (x_mean / x_scale)``, exactly for any
        activation; the output map into the last layer, ``y_scale * W_L`` (per row) and
        ``y_scale * b_L + y_mean``, exactly only when that layer is linear.

        Parameters
        ----------
        net : MLP
            The network; its widths must match this Standardizer.
        params : array_like, shape (n_params,) or (P, n_params)
            One particle or a swarm, trained on standardised data; float64 or float32.

        Returns
        -------
        ndarray
            A new array of the shape and dtype of ``params`` (ints become float64); ``params`` is not
            modified. Computed in float64.

        Raises
        ------
        ValueError
            If the output map is not the identity and the network's output layer is not linear: no
            parameters of that network compute ``y_mean + y_scale * g``; standardise with
            ``outputs=False`` (or :meth:`for_network`) instead.

        Examples
        --------
        >>> import swarmjac as sj
        >>> net = sj.MLP([1, 1], activations=["linear"])
        >>> scaler = Standardizer([1000.0], [2.0], [5.0], [10.0])
        >>> theta = scaler.to_raw_params(net, [3.0, 0.5])   # y' = 3 x' + 0.5
        >>> theta                                           # y = 5 + 10 (3 (x - 1000) / 2 + 0.5)
        array([    15., -14990.])
        >>> net.predict(theta, [[1002.0]])
        array([[40.]])
        """
        return self._fold(net, params, to_raw=True)

    def to_scaled_params(self, net: MLP, params: Any) -> np.ndarray:
        """The exact inverse of :meth:`to_raw_params`: raw-unit parameters to standardised-unit ones.

        Use it to start (or resume) training in standardised units from a raw-unit particle or swarm.

        Parameters
        ----------
        net : MLP
        params : array_like, shape (n_params,) or (P, n_params)
            Parameters that work on raw-unit data; float64 or float32.

        Returns
        -------
        ndarray
            A new array of the shape and dtype of ``params``; ``params`` is not modified.

        Raises
        ------
        ValueError
            As :meth:`to_raw_params`, for a non-linear output layer with a non-identity output map.

        Examples
        --------
        >>> import swarmjac as sj
        >>> net = sj.MLP([1, 1], activations=["linear"])
        >>> scaler = Standardizer([1000.0], [2.0], [5.0], [10.0])
        >>> scaler.to_scaled_params(net, [15.0, -14990.0])
        array([3. , 0.5])
        """
        return self._fold(net, params, to_raw=False)

    def _fold(self, net: MLP, params: Any, to_raw: bool) -> np.ndarray:
        if not isinstance(net, MLP):
            raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
        if (net.d_in, net.d_out) != (self.d_in, self.d_out):
            raise ValueError(f"{net!r} has d_in={net.d_in}, d_out={net.d_out} but this Standardizer has "
                             f"d_in={self.d_in}, d_out={self.d_out}")
        if self.scales_outputs and net.activations[-1] != "linear":
            raise ValueError(f"this Standardizer scales the outputs, which folds exactly only into a linear "
                             f"output layer, but {net!r} has a {net.activations[-1]!r} output layer; "
                             f"build it with Standardizer.from_data(data, outputs=False) or "
                             f"Standardizer.for_network(net, data)")
        dtype = result_dtype(params, names=("params",))
        params_in = np.asarray(params)
        if params_in.ndim not in (1, 2):
            raise ValueError(f"params must be 1-D or 2-D, got a {params_in.ndim}-D array of shape {params_in.shape}")
        if params_in.shape[-1] != net.n_params:
            raise ValueError(f"params must have n_params={net.n_params} columns for {net!r}, "
                             f"got shape {params_in.shape}")
        # A fresh float64 (P, n_params) copy: the folds run in float64 whatever the dtype, and the caller's
        # array is never written.
        work = np.array(as_float_array(params_in, "params", dtype), dtype=np.float64, copy=True, ndmin=2)
        sizes = net.layer_sizes
        n_first_w, n_last_w = sizes[1] * sizes[0], sizes[-1] * sizes[-2]
        last_start = net.n_params - n_last_w - sizes[-1]
        first_w = _view(work[:, :n_first_w], (sizes[1], sizes[0]))
        first_b = work[:, n_first_w: n_first_w + sizes[1]]
        last_w = _view(work[:, last_start: last_start + n_last_w], (sizes[-1], sizes[-2]))
        last_b = work[:, last_start + n_last_w:]
        # The two maps act on the columns (input) and on the rows and bias (output) of W, so they commute
        # and apply in either order, even when the first layer is the last.
        if to_raw:
            first_w /= self._x_scale
            first_b -= first_w @ self._x_mean  # = b - W (x_mean / x_scale) with the new W
            last_w *= self._y_scale[:, None]
            last_b *= self._y_scale
            last_b += self._y_mean
        else:
            first_b += first_w @ self._x_mean  # the raw W: b' = b + W_raw x_mean
            first_w *= self._x_scale
            last_b -= self._y_mean
            last_b /= self._y_scale
            last_w /= self._y_scale[:, None]
        out = work.astype(dtype, copy=False)
        return out[0] if params_in.ndim == 1 else out

    # ----- serialisation and comparison -----

    def to_dict(self) -> dict:
        """A JSON-ready description: lists of floats under ``x_mean``, ``x_scale``, ``y_mean``, ``y_scale``.

        Examples
        --------
        >>> Standardizer.identity(1, 1).to_dict()
        {'x_mean': [0.0], 'x_scale': [1.0], 'y_mean': [0.0], 'y_scale': [1.0]}
        """
        return {name: getattr(self, name).tolist() for name in _FIELDS}

    @classmethod
    def from_dict(cls, spec: dict) -> "Standardizer":
        """Inverse of :meth:`to_dict`, validating every field (shapes, finiteness, positive scales).

        Examples
        --------
        >>> s = Standardizer([1.0, 2.0], [3.0, 4.0], [5.0], [6.0])
        >>> Standardizer.from_dict(s.to_dict()) == s
        True
        """
        if not isinstance(spec, dict):
            raise TypeError(f"a Standardizer spec must be a dict, got {type(spec).__name__}")
        missing = [name for name in _FIELDS if name not in spec]
        unknown = sorted(str(name) for name in spec if name not in _FIELDS)
        if missing or unknown:
            raise ValueError(f"a Standardizer spec must have exactly the keys {list(_FIELDS)}; "
                             f"missing {missing}, unknown {unknown}")
        return cls(*(spec[name] for name in _FIELDS))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Standardizer):
            return NotImplemented
        return all(np.array_equal(getattr(self, name), getattr(other, name)) for name in _FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name).tobytes() for name in _FIELDS))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={np.array2string(getattr(self, name), separator=', ', threshold=20)}"
                           for name in _FIELDS)
        return f"Standardizer({fields})"
