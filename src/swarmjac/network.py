"""The network spec ``MLP`` and its compiled evaluation: predict, value_and_jacobian, fitness (and its
weight gradient, fitness_and_gradient), objective.

This is the Python layer of the flow in ARCHITECTURE.md: it validates and coerces user arrays, allocates
every output, and hands the buffers, in the block layout of _layout.py, to swarmjac._kernels (imported
lazily by _layout.core, so the reference and the network spec stay importable without the compiled core).
Over 500 lines because MLP's methods are the public evaluation API, each with its validation and a full
numpydoc docstring (about half the file); splitting the class would scatter one user-facing object.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Union

import numpy as np

from swarmjac import _layout
from swarmjac._layout import block_inputs, check_mode, core, mode_code
from swarmjac._threads import call_work, resolve_n_threads
from swarmjac._validation import as_float_array, check_n_threads, check_positive_int, check_size, result_dtype
from swarmjac.activations import activation_code
from swarmjac.data import Dataset
from swarmjac.loss import add_parameter_terms, check_alpha

__all__ = ["MLP", "Objective", "check_net_and_data"]

# Initialisation gains (Glorot-uniform limit times gain): sigmoid's slope at 0 is 1/4, hence 4;
# the relu family loses half its inputs, hence sqrt(2) as in He initialisation.
_INIT_GAIN = {"sigmoid": 4.0, "relu": 2.0 ** 0.5, "leaky_relu": 2.0 ** 0.5}
_BIAS_SCALE = 0.1
# Widest layer the kernels accept: they index a sample block with C ints, (1 + d_in) * BLOCK columns in
# forward mode and d_out * BLOCK in reverse mode, which must not overflow (2**24 leaves a wide margin).
_MAX_WIDTH = 2 ** 24


class MLP:
    """A multilayer perceptron spec: layer widths and one activation per weight layer.

    Layer ``l`` computes ``z = W_l @ a + b_l`` and ``a' = act_l(z)`` with ``W_l`` of shape
    ``(out, in)``. A particle is one flat parameter vector: for each layer, ``W_l`` row-major then
    ``b_l``. A swarm is a C-contiguous ``(n_particles, n_params)`` array.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(d_in, h_1, ..., h_k, d_out)``, at least two entries, each >= 1.
    activations : str or sequence of str, default "tanh"
        One name for every hidden layer (the output layer is then linear), or one name per weight layer.
        Names: ``linear, sigmoid, tanh, relu, leaky_relu, softplus, elu, sin, gelu``.

    Examples
    --------
    >>> import swarmjac as sj
    >>> net = sj.MLP([2, 16, 16, 1], activations="tanh")
    >>> net.n_params
    337
    >>> net.activations
    ('tanh', 'tanh', 'linear')
    """

    def __init__(self, layer_sizes: Sequence[int], activations: Union[str, Sequence[str]] = "tanh"):
        if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
            raise TypeError(f"layer_sizes must be a sequence of ints, got {type(layer_sizes).__name__}")
        sizes = []
        for i, width in enumerate(layer_sizes):
            if isinstance(width, bool) or not isinstance(width, numbers.Integral):
                raise TypeError(f"layer_sizes[{i}] must be an int, got {type(width).__name__}")
            if width < 1:
                raise ValueError(f"layer_sizes[{i}] must be >= 1, got {width}")
            if width > _MAX_WIDTH:
                raise ValueError(f"layer_sizes[{i}] must be <= {_MAX_WIDTH}, got {width}")
            sizes.append(int(width))
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least an input and an output width, got {list(layer_sizes)}")
        n_layers = len(sizes) - 1
        if n_layers > _layout.MAX_LAYERS:
            raise ValueError(f"layer_sizes describes {n_layers} weight layers; at most {_layout.MAX_LAYERS} "
                             "are supported")
        if isinstance(activations, str):
            names = [activations] * (n_layers - 1) + ["linear"]
        else:
            names = list(activations)
            if len(names) != n_layers:
                raise ValueError(f"activations must be one name or {n_layers} names (one per weight layer), "
                                 f"got {len(names)}")
        codes = [activation_code(name) for name in names]
        self._sizes = tuple(sizes)
        self._activations = tuple(names)
        self._n_params = sum(sizes[l + 1] * sizes[l] + sizes[l + 1] for l in range(n_layers))
        self._sizes_c = np.asarray(sizes, dtype=np.int32)
        self._codes_c = np.asarray(codes, dtype=np.int32)

    # ----- spec -----

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Widths ``(d_in, h_1, ..., d_out)``."""
        return self._sizes

    @property
    def activations(self) -> tuple[str, ...]:
        """Activation name of each weight layer."""
        return self._activations

    @property
    def n_params(self) -> int:
        """Length of one particle's parameter vector."""
        return self._n_params

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self._sizes) - 1

    @property
    def d_in(self) -> int:
        """Number of inputs."""
        return self._sizes[0]

    @property
    def d_out(self) -> int:
        """Number of outputs."""
        return self._sizes[-1]

    def __repr__(self) -> str:
        return f"MLP({list(self._sizes)}, activations={list(self._activations)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MLP):
            return NotImplemented
        return self._sizes == other._sizes and self._activations == other._activations

    def __hash__(self) -> int:
        return hash((self._sizes, self._activations))

    def to_dict(self) -> dict:
        """JSON-ready description (``layer_sizes`` and ``activations``)."""
        return {"layer_sizes": list(self._sizes), "activations": list(self._activations)}

    @classmethod
    def from_dict(cls, spec: dict) -> "MLP":
        """Inverse of :meth:`to_dict`, validating every field."""
        if not isinstance(spec, dict) or "layer_sizes" not in spec or "activations" not in spec:
            raise ValueError("network spec must be a dict with 'layer_sizes' and 'activations'")
        activations = spec["activations"]
        if isinstance(activations, str) or not all(isinstance(a, str) for a in activations):
            raise ValueError("network spec 'activations' must be a list of names")
        return cls(spec["layer_sizes"], list(activations))

    # ----- parameter layout -----

    def unpack(self, theta: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split one particle into per-layer ``(W, b)`` views.

        Parameters
        ----------
        theta : array_like, shape (n_params,)
            One particle. Views into it are returned when it is a contiguous float array.

        Returns
        -------
        list of (W, b)
            ``W`` of shape ``(out, in)``, ``b`` of shape ``(out,)``.

        Examples
        --------
        >>> net = MLP([2, 3, 1])
        >>> [(W.shape, b.shape) for W, b in net.unpack(np.arange(net.n_params, dtype=float))]
        [((3, 2), (3,)), ((1, 3), (1,))]
        """
        dtype = result_dtype(theta, names=("theta",))
        theta = as_float_array(theta, "theta", dtype, ndim=(1,))
        if theta.shape[0] != self._n_params:
            raise ValueError(f"theta must have n_params={self._n_params} entries for {self!r}, got {theta.shape[0]}")
        layers = []
        offset = 0
        for l in range(self.n_layers):
            fan_in, fan_out = self._sizes[l], self._sizes[l + 1]
            W = theta[offset: offset + fan_out * fan_in].reshape(fan_out, fan_in)
            offset += fan_out * fan_in
            b = theta[offset: offset + fan_out]
            offset += fan_out
            layers.append((W, b))
        return layers

    def pack(self, layers: Sequence[tuple[Any, Any]], dtype: Any = np.float64) -> np.ndarray:
        """Build one flat parameter vector from per-layer ``(W, b)`` pairs.

        Parameters
        ----------
        layers : sequence of (W, b)
            ``W`` of shape ``(out, in)`` and ``b`` of shape ``(out,)`` for each weight layer.
        dtype : dtype, default float64
            float64 or float32.

        Returns
        -------
        ndarray, shape (n_params,)

        Examples
        --------
        >>> net = MLP([1, 1], activations=["linear"])
        >>> net.pack([(np.array([[2.0]]), np.array([3.0]))])
        array([2., 3.])
        """
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        if len(layers) != self.n_layers:
            raise ValueError(f"layers must hold {self.n_layers} (W, b) pairs for {self!r}, got {len(layers)}")
        pieces = []
        for l, pair in enumerate(layers):
            if len(pair) != 2:
                raise ValueError(f"layers[{l}] must be a (W, b) pair, got {len(pair)} items")
            W = as_float_array(pair[0], f"layers[{l}] W", dtype, ndim=(2,))
            b = as_float_array(pair[1], f"layers[{l}] b", dtype, ndim=(1,))
            expected = (self._sizes[l + 1], self._sizes[l])
            if W.shape != expected:
                raise ValueError(f"layers[{l}] W must have shape {expected}, got {W.shape}")
            if b.shape != (expected[0],):
                raise ValueError(f"layers[{l}] b must have shape {(expected[0],)}, got {b.shape}")
            pieces += [W.ravel(), b]
        return np.concatenate(pieces)

    @classmethod
    def from_layers(cls, layers: Sequence[tuple[Any, Any, str]]) -> tuple["MLP", np.ndarray]:
        """Build a network and its parameter vector from ``(W, b, activation)`` triples.

        Parameters
        ----------
        layers : sequence of (W, b, activation)
            ``W`` of shape ``(out, in)``; consecutive layers must chain (``in`` of one is ``out`` of
            the previous).

        Returns
        -------
        net : MLP
        theta : ndarray, shape (n_params,), float64

        Examples
        --------
        >>> ones = np.ones
        >>> net, theta = MLP.from_layers([(ones((2, 2)), ones(2), "sigmoid"), (ones((1, 2)), ones(1), "linear")])
        >>> net
        MLP([2, 2, 1], activations=['sigmoid', 'linear'])
        """
        if len(layers) == 0:
            raise ValueError("from_layers needs at least one (W, b, activation) triple")
        sizes: list[int] = []
        names = []
        pairs = []
        for l, triple in enumerate(layers):
            if len(triple) != 3:
                raise ValueError(f"layers[{l}] must be a (W, b, activation) triple, got {len(triple)} items")
            W, b, name = triple
            W = as_float_array(W, f"layers[{l}] W", np.dtype(np.float64), ndim=(2,))
            if l == 0:
                sizes.append(W.shape[1])
            elif W.shape[1] != sizes[-1]:
                raise ValueError(f"layers[{l}] W has {W.shape[1]} columns but the previous layer has "
                                 f"{sizes[-1]} outputs")
            sizes.append(W.shape[0])
            names.append(name)
            pairs.append((W, b))
        net = cls(sizes, names)
        return net, net.pack(pairs)

    def init_params(self, n_particles: int, seed: Any = None, dtype: Any = np.float64) -> np.ndarray:
        """Random swarm scaled for the activations (Glorot-uniform, with gains for sigmoid and relu).

        Parameters
        ----------
        n_particles : int
            Number of particles P (>= 0).
        seed : int, numpy.random.Generator or None
            Source of randomness.
        dtype : dtype, default float64

        Returns
        -------
        ndarray, shape (n_particles, n_params)

        Examples
        --------
        >>> MLP([2, 4, 1]).init_params(3, seed=0).shape
        (3, 17)
        """
        n_particles = check_positive_int(n_particles, "n_particles", minimum=0)
        rng = np.random.default_rng(seed)
        params = np.empty((n_particles, self._n_params), dtype=np.float64)
        offset = 0
        for l in range(self.n_layers):
            fan_in, fan_out = self._sizes[l], self._sizes[l + 1]
            limit = _INIT_GAIN.get(self._activations[l], 1.0) * np.sqrt(6.0 / (fan_in + fan_out))
            n_w = fan_out * fan_in
            params[:, offset: offset + n_w] = rng.uniform(-limit, limit, size=(n_particles, n_w))
            offset += n_w
            params[:, offset: offset + fan_out] = rng.uniform(-_BIAS_SCALE, _BIAS_SCALE, size=(n_particles, fan_out))
            offset += fan_out
        return params.astype(dtype, copy=False)

    # ----- compiled evaluation -----

    def _prepare(self, params: Any, X: Any, jacobian: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
        """Validate and coerce a swarm and an input batch; returns (params 2-D, X, params_was_1d).

        Shapes and the output size are checked on the caller's arrays before anything is copied, so an
        impossible request fails fast instead of first copying a huge (e.g. broadcast) input.
        """
        dtype = result_dtype(params, X, names=("params", "X"))
        params, X = np.asarray(params), np.asarray(X)
        if params.ndim not in (1, 2):
            raise ValueError(f"params must be 1-D or 2-D, got a {params.ndim}-D array of shape {params.shape}")
        if params.shape[-1] != self._n_params:
            raise ValueError(f"params must have n_params={self._n_params} columns for {self!r}, "
                             f"got shape {params.shape}")
        if X.ndim != 2:
            hint = "; for a single point use X[None, :]" if X.ndim == 1 else ""
            raise ValueError(f"X must be 2-D (n_samples, {self.d_in}), got a {X.ndim}-D array of shape "
                             f"{X.shape}{hint}")
        if X.shape[1] != self.d_in:
            raise ValueError(f"X must have shape (n_samples, {self.d_in}) for {self!r}, got {X.shape}")
        n_particles = 1 if params.ndim == 1 else params.shape[0]
        out_shape = (n_particles, X.shape[0], self.d_out) + ((self.d_in,) if jacobian else ())
        check_size(out_shape, dtype.itemsize, "the Jacobian output" if jacobian else "the output")
        squeeze = params.ndim == 1
        params = as_float_array(params[None, :] if squeeze else params, "params", dtype)
        X = as_float_array(X, "X", dtype)
        return params, X, squeeze

    def predict(self, params: Any, X: Any, n_threads: Optional[int] = None) -> np.ndarray:
        """Network outputs of every particle at every input point.

        Parameters
        ----------
        params : array_like, shape (P, n_params) or (n_params,)
            The swarm, or one particle. float64 or float32.
        X : array_like, shape (N, d_in)
            Input points.
        n_threads : int or None
            Threads over particles; None or -1: what the process may use (see ``sj.resolve_n_threads``).

        Returns
        -------
        ndarray, shape (P, N, d_out), or (N, d_out) for 1-D ``params``
            dtype float32 when ``params`` and ``X`` are float32, else float64.

        Examples
        --------
        >>> net, theta = MLP.from_layers([(np.ones((1, 2)), np.zeros(1), "linear")])
        >>> net.predict(theta, [[1.0, 2.0]])
        array([[3.]])
        """
        params, X, squeeze = self._prepare(params, X)
        work = call_work(params.shape[0], X.shape[0], self._n_params)
        threads = resolve_n_threads(n_threads, params.shape[0], work)
        Y = np.zeros((params.shape[0], X.shape[0], self.d_out), dtype=params.dtype)
        if params.shape[0] and X.shape[0]:
            core().predict(self._sizes_c, self._codes_c, params, block_inputs(X), X.shape[0], Y, threads)
        return Y[0] if squeeze else Y

    def value_and_jacobian(self, params: Any, X: Any, n_threads: Optional[int] = None,
                           mode: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """Network outputs and their Jacobians with respect to the inputs, in one fused pass.

        Parameters
        ----------
        params : array_like, shape (P, n_params) or (n_params,)
            The swarm, or one particle.
        X : array_like, shape (N, d_in)
            Input points.
        n_threads : int or None
            Threads over particles; None or -1: what the process may use (see ``sj.resolve_n_threads``).
        mode : {"auto", "forward", "reverse"}
            Forward mode carries one tangent per input; reverse mode sweeps back once per output.
            "auto" picks reverse when there are fewer outputs than inputs.

        Returns
        -------
        Y : ndarray, shape (P, N, d_out)
        J : ndarray, shape (P, N, d_out, d_in)
            ``J[..., k, j] = dY_k / dX_j``. Both squeezed to drop P for 1-D ``params``.

        Examples
        --------
        The worked example: one sigmoid hidden layer of ones, a linear output of ones.

        >>> import swarmjac as sj
        >>> ones = np.ones
        >>> net, theta = sj.MLP.from_layers([(ones((2, 2)), ones(2), "sigmoid"), (ones((1, 2)), ones(1), "linear")])
        >>> Y, J = net.value_and_jacobian(theta, [[1.0, 1.0]])
        >>> np.round(J, 7)
        array([[[0.0903533, 0.0903533]]])
        """
        check_mode(mode)
        params, X, squeeze = self._prepare(params, X, jacobian=True)
        work = call_work(params.shape[0], X.shape[0], self._n_params)
        threads = resolve_n_threads(n_threads, params.shape[0], work)
        P, N = params.shape[0], X.shape[0]
        Y = np.zeros((P, N, self.d_out), dtype=params.dtype)
        J = np.zeros((P, N, self.d_out, self.d_in), dtype=params.dtype)
        if P and N:
            core().value_and_jacobian(self._sizes_c, self._codes_c, params, block_inputs(X), N, Y, J,
                                      mode_code(mode), threads)
        return (Y[0], J[0]) if squeeze else (Y, J)

    def fitness(self, params: Any, data: Dataset, n_threads: Optional[int] = None,
                mode: str = "auto", alpha: float = 0.0) -> np.ndarray:
        """Fused fitness of every particle on a data set of mixed value and derivative observations.

        ``value_weight * mean((Y - y)^2 over observed y)
        + derivative_weight * mean((J - dydx)^2 over observed dydx)``; a term with no observed entries
        is 0 and a particle whose fitness is not finite, or that has a NaN or inf parameter, gets ``+inf``
        (relu maps a NaN pre-activation to 0, so such a particle could otherwise score). Computed in one
        compiled pass that only carries the input directions some observation needs and stores no Jacobian.

        Parameters
        ----------
        params : array_like, shape (P, n_params) or (n_params,)
            The swarm, or one particle.
        data : Dataset
            Observations; its widths must match the network.
        n_threads : int or None
            Threads over particles; None or -1: what the process may use (see ``sj.resolve_n_threads``).
        mode : {"auto", "forward", "reverse"}
            How derivatives are accumulated; "auto" chooses per block of samples.
        alpha : float, default 0.0
            L2 weight decay: adds ``alpha * sum(W**2) / n_rows`` over the weight matrices (not the
            biases), ``n_rows`` the rows of ``data`` that observe something (scikit-learn's
            ``MLPRegressor`` meaning; see :mod:`swarmjac.loss`).

        Returns
        -------
        ndarray, shape (P,) (a 0-d array for 1-D ``params``)
            dtype of ``params`` (float32 only when params is float32).

        Examples
        --------
        >>> import swarmjac as sj
        >>> net, theta = sj.MLP.from_layers([(np.ones((1, 1)), np.zeros(1), "linear")])
        >>> data = sj.Dataset([[1.0], [2.0]], y=[[1.0], [1.0]])
        >>> float(net.fitness(theta, data))
        0.5
        """
        check_mode(mode)
        alpha = check_alpha(alpha)
        params, squeeze, blocks, threads = self._prepare_fitness(params, data, n_threads)
        out = np.zeros(params.shape[0], dtype=params.dtype)
        if params.shape[0] and blocks.n_blocks:
            core().fitness(self._sizes_c, self._codes_c, params, blocks, out, mode_code(mode), threads)
        elif params.shape[0]:
            # No observation: every fitness is 0, except that non-finite particles still score +inf (the
            # kernel does this itself when it runs).
            out[~np.isfinite(params).all(axis=1)] = np.inf
        add_parameter_terms(self._sizes, params, data, alpha, out)
        return out.reshape(()) if squeeze else out

    def fitness_and_gradient(self, params: Any, data: Dataset, n_threads: Optional[int] = None,
                             mode: str = "auto", alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Fused fitness of every particle and its exact gradient with respect to the parameters.

        The fitness is that of :meth:`fitness` in the same mode, bit for bit; the gradient includes the
        derivative terms, whose dependence on the weights goes through the network's mixed second
        derivatives. One compiled pass per particle and block of samples: a forward sweep that carries
        tangents, then one reverse sweep through values and tangents; no per-sample Jacobian or per-sample
        gradient is stored. A forward block carries one tangent per observed input direction; a reverse
        block (fewer outputs than observed directions, in auto mode) first gets its Jacobian by reverse
        sweeps, then carries one tangent per output, along the derivative residuals.

        Parameters
        ----------
        params : array_like, shape (P, n_params) or (n_params,)
            The swarm, or one particle. float64 or float32.
        data : Dataset
            Observations; its widths must match the network.
        n_threads : int or None
            Threads over particles; None or -1: what the process may use (see ``sj.resolve_n_threads``).
        mode : {"auto", "forward", "reverse"}
            As for :meth:`fitness`: how the Jacobian is accumulated, per block of samples.
        alpha : float, default 0.0
            L2 weight decay, as for :meth:`fitness`; its gradient ``2 alpha W / n_rows`` is included.

        Returns
        -------
        fitness : ndarray, shape (P,) (0-d for 1-D ``params``)
        gradient : ndarray, shape (P, n_params) ((n_params,) for 1-D ``params``)
            ``gradient[p, i] = d fitness[p] / d params[p, i]``, in the parameter layout. All NaN for a
            particle whose fitness is ``+inf`` (a non-finite parameter or result). dtype of ``params``.

        Examples
        --------
        >>> import swarmjac as sj
        >>> net, theta = sj.MLP.from_layers([(np.ones((1, 1)), np.zeros(1), "linear")])
        >>> data = sj.Dataset([[1.0], [2.0]], y=[[1.0], [1.0]])   # f = mean((w x + b - 1)^2)
        >>> f, g = net.fitness_and_gradient(theta, data)
        >>> float(f), g                                            # df/dw = 3, df/db = 1
        (0.5, array([3., 1.]))
        """
        check_mode(mode)
        alpha = check_alpha(alpha)
        params, squeeze, blocks, threads = self._prepare_fitness(params, data, n_threads)
        out = np.zeros(params.shape[0], dtype=params.dtype)
        grad = np.zeros(params.shape, dtype=params.dtype)
        if params.shape[0] and blocks.n_blocks:
            core().fitness_and_gradient(self._sizes_c, self._codes_c, params, blocks, out, grad, mode_code(mode),
                                        threads)
        elif params.shape[0]:
            bad = ~np.isfinite(params).all(axis=1)
            out[bad] = np.inf
            grad[bad] = np.nan
        add_parameter_terms(self._sizes, params, data, alpha, out, grad)
        return (out.reshape(()), grad[0]) if squeeze else (out, grad)

    def _prepare_fitness(self, params: Any, data: Dataset,
                         n_threads: Optional[int]) -> tuple[np.ndarray, bool, Any, int]:
        """Validate a swarm and a data set for the fitness kernels: (params 2-D, squeeze, blocks, threads)."""
        check_net_and_data(self, data)
        dtype = result_dtype(params, names=("params",))
        params = as_float_array(params, "params", dtype, ndim=(1, 2))
        squeeze = params.ndim == 1
        if squeeze:
            params = params[None, :]
        if params.shape[1] != self._n_params:
            raise ValueError(f"params must have n_params={self._n_params} columns for {self!r}, "
                             f"got shape {params.shape}")
        blocks = data.blocks(dtype)
        threads = resolve_n_threads(n_threads, params.shape[0],
                                    call_work(params.shape[0], blocks.n_blocks * core().BLOCK, self._n_params))
        return params, squeeze, blocks, threads

    def objective(self, data: Dataset, n_threads: Optional[int] = None, mode: str = "auto",
                  alpha: float = 0.0) -> "Objective":
        """A PySwarms-style objective ``f(positions (P, n_params)) -> (P,)`` for this network and data.

        Examples
        --------
        >>> import swarmjac as sj
        >>> net = sj.MLP([1, 1], activations=["linear"])
        >>> f = net.objective(sj.Dataset([[0.0]], y=[[1.0]]))
        >>> f(np.array([[0.0, 1.0], [0.0, 3.0]]))
        array([0., 4.])
        """
        return Objective(self, data, n_threads=n_threads, mode=mode, alpha=alpha)


class Objective:
    """Callable fitness of a fixed network and data set, ``(P, n_params) -> (P,)`` (picklable).

    Parameters
    ----------
    net : MLP
    data : Dataset
    n_threads : int or None
    mode : {"auto", "forward", "reverse"}
    alpha : float, default 0.0
        L2 weight decay (see :meth:`MLP.fitness`).
    """

    def __init__(self, net: MLP, data: Dataset, n_threads: Optional[int] = None, mode: str = "auto",
                 alpha: float = 0.0):
        if not isinstance(net, MLP):
            raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
        check_mode(mode)
        check_n_threads(n_threads)
        self.net, self.data, self.n_threads, self.mode = net, data, n_threads, mode
        self.alpha = check_alpha(alpha)

    def __call__(self, positions: Any, **kwargs: Any) -> np.ndarray:
        # **kwargs: PySwarms passes extra keyword arguments given to optimize(); they do not apply here.
        return self.net.fitness(positions, self.data, n_threads=self.n_threads, mode=self.mode, alpha=self.alpha)

    def __repr__(self) -> str:
        return f"Objective({self.net!r}, {self.data!r})"


def check_net_and_data(net: Any, data: Any) -> None:
    """Check that ``net`` is an :class:`MLP` and ``data`` a :class:`swarmjac.Dataset` of its widths.

    Raises
    ------
    TypeError
        If either has the wrong type.
    ValueError
        If their input or output widths differ.

    Examples
    --------
    >>> check_net_and_data(MLP([1, 1]), Dataset([[0.0]], y=[1.0]))
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
    if (data.d_in, data.d_out) != (net.d_in, net.d_out):
        raise ValueError(f"data has d_in={data.d_in}, d_out={data.d_out} but {net!r} has "
                         f"d_in={net.d_in}, d_out={net.d_out}")
