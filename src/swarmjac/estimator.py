"""``Regressor``: swarmjac as a scikit-learn estimator (pipelines, cross-validation, grid search, clone).

A thin adapter: validates with scikit-learn, builds ``sj.MLP`` and ``sj.Dataset``, calls ``sj.fit``. Only this
module imports scikit-learn (``swarmjac`` loads it on first use of ``sj.Regressor``), never the core.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import (_check_sample_weight, check_array, check_is_fitted,
                                          validate_data)
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("swarmjac.Regressor needs scikit-learn >= 1.6: pip install 'swarmjac[sklearn]' "
                      f"({exc})") from None

from swarmjac.data import Dataset
from swarmjac.network import MLP
from swarmjac.training import fit as sj_fit, fit_defaults

__all__ = ["Regressor"]

# The message scikit-learn's check_requires_y_none looks for.
_Y_REQUIRED = "requires y to be passed, but the target y is None"

# sj.fit's defaults, the estimator's defaults for the same settings (read, never repeated).
_FIT_DEFAULTS = fit_defaults()


def _as_seed(random_state: Any) -> Any:
    """``random_state`` in a form ``sj.fit(seed=...)`` takes: an int or a Generator as is, a RandomState drawn
    from (so that it advances, as scikit-learn estimators do), None for fresh entropy."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class Regressor(RegressorMixin, BaseEstimator):
    """A multilayer perceptron trained by particle swarm (and gradient refinement) on values and partials.

    A scikit-learn regressor: it works in pipelines, ``cross_val_score``, ``GridSearchCV`` and ``clone``,
    and pickles (model files written by :func:`swarmjac.save` stay pickle-free). Beyond the usual
    ``fit(X, y)``, it takes observed partial derivatives ``dydx``, and ``NaN`` marks an entry that is not
    observed, in ``y`` as in ``dydx``: a row may carry only a value, only one partial, or any mix.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (16, 16)
        Widths of the hidden layers; ``()`` is a linear model.
    activation : str or sequence of str, default "tanh"
        One activation for every hidden layer (the output layer is linear), or one name per weight layer;
        see :class:`swarmjac.MLP`. A smooth activation (``tanh``, ``softplus``, ``gelu``, ``sin``) gives
        smooth partial derivatives.
    n_particles : int, default 8
        Starting points / swarm size (``sj.fit``'s default).
    max_iter : int, default 0
        PSO iterations before the polish (``sj.fit(iters=...)``, whose default it is: multi-start, no
        swarm phase).
    refine : str or None, default "lbfgs"
        Gradient refinement of the best particles (``sj.fit(refine=...)``); None is plain PSO.
    scale : bool, default True
        Standardise inputs and outputs while training (``sj.fit(scale=...)``); the fitted network works
        on raw-unit ``X`` either way. ``refine`` and ``scale`` are passed on where the installed
        ``sj.fit`` takes them (a version without them trains by plain PSO on unscaled data).
    value_weight, derivative_weight : float, default 1.0
        Weights of the value and the derivative term of the fitness (see :class:`swarmjac.Dataset`).
    alpha : float or None, default None
        L2 weight decay in the standardised space, as scikit-learn's ``MLPRegressor(alpha=...)``
        (``sj.fit(alpha=...)``; None: its default, ``swarmjac.training.DEFAULT_ALPHA``).
    validation_fraction : float or None, default None
        Share of the observations held out (stratified by what a row observes) to select the model, as
        ``MLPRegressor(validation_fraction=...)``; 0 trains on every row (``sj.fit(validation_fraction=...)``;
        None: its default, ``swarmjac.training.DEFAULT_VALIDATION_FRACTION`` when the data are large enough).
    ensemble_size : int, default 1
        K > 1 keeps the best K candidates, selected on the held-out data, as an ensemble
        (``sj.fit(ensemble_size=...)``): ``predict`` and ``predict_jacobian`` then return the members' mean,
        and with ``return_std=True`` their spread.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default None
        Seed of the initial swarm and the optimiser: the same int gives the same fit (and the same as
        ``sj.fit(..., seed=random_state)``).
    n_threads : int or None, default None
        Threads of the kernels in ``fit`` and ``predict`` (None: what the process may use, see
        ``sj.resolve_n_threads``; under ``GridSearchCV(n_jobs=...)`` that honours its thread limits).
    pso_options : dict or None, default None
        Further keyword arguments of ``sj.fit`` / :class:`swarmjac.PSO` (``topology``, ``w``, ``c1``,
        ``c2``, ``ftol``, ...).
    verbose : bool, default False
        Show a progress bar while fitting (needs tqdm).

    Attributes
    ----------
    net_ : swarmjac.MLP
        The network, ``[n_features_in_, *hidden_layer_sizes, n_outputs_]``.
    params_ : ndarray of shape (net_.n_params,)
        Its fitted weights (layout in :class:`swarmjac.MLP`); ``net_.predict(params_, X)`` works on raw X.
        With ``ensemble_size > 1``, the best single member.
    ensemble_ : swarmjac.Ensemble or None
        The K members when ``ensemble_size > 1`` (what ``predict`` averages), else None.
    training_error_, validation_error_ : FitErrors
        Errors of ``params_`` on the training and on the held-out rows, ``values`` and ``partials``: RMSE
        relative to the spread of the training data (see ``sj.FitResult``); NaN where nothing of that kind
        was observed or held out.
    cost_ : float
        Training fitness of ``params_``.
    history_ : swarmjac.PSOHistory
        Best and mean cost per iteration.
    n_iter_ : int
        Iterations done.
    n_outputs_ : int
        Number of outputs.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` has string column names (a pandas DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> from swarmjac.estimator import Regressor
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> reg = Regressor(hidden_layer_sizes=(), n_particles=20, max_iter=200, random_state=0)
    >>> reg = reg.fit(X, 3 * X[:, 0] + 1, dydx=np.full((40, 1), 3.0))
    >>> bool(reg.score(X, 3 * X[:, 0] + 1) > 0.999)
    True
    >>> reg.predict_jacobian(X[:2]).round(3)
    array([[3.],
           [3.]])

    An ensemble says where its members disagree:

    >>> X = np.linspace(0, 1, 30)[:, None]
    >>> ens = Regressor((4,), n_particles=20, max_iter=20, ensemble_size=3, random_state=0).fit(X, np.sin(3 * X[:, 0]))
    >>> mean, spread = ens.predict([[0.5], [3.0]], return_std=True)   # 3.0 is far outside the data
    >>> bool(spread[1] > spread[0])
    True
    """

    def __init__(self, hidden_layer_sizes: Any = (16, 16), activation: Any = "tanh", *,
                 n_particles: int = _FIT_DEFAULTS["n_particles"], max_iter: int = _FIT_DEFAULTS["iters"],
                 refine: Any = "lbfgs",
                 scale: bool = True, value_weight: float = 1.0, derivative_weight: float = 1.0,
                 alpha: Any = _FIT_DEFAULTS["alpha"],
                 validation_fraction: float = _FIT_DEFAULTS["validation_fraction"],
                 ensemble_size: int = _FIT_DEFAULTS["ensemble_size"],
                 random_state: Any = None, n_threads: Optional[int] = None,
                 pso_options: Optional[dict] = None, verbose: bool = False):
        # scikit-learn's rule: store the arguments as given; fit validates them.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.n_particles = n_particles
        self.max_iter = max_iter
        self.refine = refine
        self.scale = scale
        self.value_weight = value_weight
        self.derivative_weight = derivative_weight
        self.alpha = alpha
        self.validation_fraction = validation_fraction
        self.ensemble_size = ensemble_size
        self.random_state = random_state
        self.n_threads = n_threads
        self.pso_options = pso_options
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        return tags

    # ----- fit -----

    def fit(self, X: Any, y: Any, dydx: Any = None, sample_weight: Any = None) -> "Regressor":
        """Train the network on value observations ``y`` and/or partial-derivative observations ``dydx``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs; must be finite.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs), or None
            Value targets, NaN where not observed. 1-D ``y`` makes ``predict`` return 1-D. None only with
            ``dydx`` (derivative-only data; the network's constant is then free).
        dydx : array_like of shape (n_samples, n_outputs, n_features), optional
            Partial-derivative targets, ``dydx[i, k, j] = dy_k/dx_j`` at ``X[i]``, NaN where not observed.
            For 1-D ``y``, shape (n_samples, n_features) is accepted too.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each row, in both terms of the fitness. Rows of weight 0 are left out
            and equal weights are no weights.

        Returns
        -------
        self : Regressor

        Raises
        ------
        ValueError
            For inputs of the wrong shape (the message names the argument), non-finite ``X``, infinite
            targets, targets that observe nothing, or invalid settings (from ``sj.MLP`` / ``sj.fit``).
        TypeError
            For settings of the wrong type (``hidden_layer_sizes``, ``pso_options``, ...).
        NotImplementedError
            For unequal ``sample_weight`` with a ``sj.Dataset`` that does not take ``sample_weight``.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac.estimator import Regressor
        >>> X = np.linspace(0, 1, 30)[:, None]
        >>> y = np.where(np.arange(30) % 2 == 0, 2 * X[:, 0], np.nan)   # values on every other row
        >>> dydx = np.where(np.arange(30)[:, None] % 2 == 1, 2.0, np.nan)  # slopes on the others
        >>> reg = Regressor(hidden_layer_sizes=(), n_particles=20, max_iter=200, random_state=0)
        >>> np.round(reg.fit(X, y, dydx=dydx).predict([[0.5]]), 3)
        array([1.])
        """
        X = validate_data(self, X, reset=True, dtype=np.float64)
        n_samples, n_features = X.shape
        values, derivatives, n_outputs, one_d = self._check_targets(y, dydx, n_samples, n_features)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            # Exact equivalences, kept exact: a row of weight 0 contributes nothing (so it is left out), and
            # weighted means with equal weights are plain means.
            keep = weights > 0
            if not keep.any():
                raise ValueError("sample_weight must not be all zero: at least one row needs a positive weight")
            if not keep.all():
                X = X[keep]
                values = None if values is None else values[keep]
                derivatives = None if derivatives is None else derivatives[keep]
                weights = weights[keep]
            if np.all(weights == weights[0]):
                weights = None

        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        elif isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, "
                            f"got {type(hidden).__name__}")
        net = MLP([n_features, *hidden, n_outputs], activations=self.activation)
        dataset_options = {} if weights is None else {"sample_weight": weights}
        data = Dataset(X, y=values, dydx=derivatives, value_weight=self.value_weight,
                          derivative_weight=self.derivative_weight, **dataset_options)
        if self.pso_options is not None and not isinstance(self.pso_options, dict):
            raise TypeError(f"pso_options must be a dict or None, got {type(self.pso_options).__name__}")
        options = dict(self.pso_options or {})
        result = sj_fit(net, data, scale=self.scale, refine=self.refine, n_particles=self.n_particles,
                        iters=self.max_iter, alpha=self.alpha, validation_fraction=self.validation_fraction,
                        ensemble_size=self.ensemble_size,
                        seed=_as_seed(self.random_state), n_threads=self.n_threads,
                        progress=bool(self.verbose), **options)
        self.net_ = net
        self.params_ = np.asarray(result.params, dtype=np.float64)
        self.ensemble_ = result.ensemble
        self.training_error_ = result.training_error
        self.validation_error_ = result.validation_error
        self.cost_ = float(result.cost)
        self.history_ = result.history
        self.n_iter_ = int(result.pso_result.n_iterations)
        self.n_outputs_ = n_outputs
        self._one_d_output = one_d
        return self

    def _check_targets(self, y: Any, dydx: Any, n_samples: int,
                       n_features: int) -> tuple[Optional[np.ndarray], Optional[np.ndarray], int, bool]:
        """Validated ``(y, dydx, n_outputs, 1-D output?)``, y as (n, n_outputs), dydx as (n, n_outputs, d)."""
        if y is None and dydx is None:
            raise ValueError(f"{type(self).__name__} {_Y_REQUIRED} (pass y, dydx or both)")
        values = None
        one_d = False
        if y is not None:
            values = check_array(y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan",
                                 input_name="y")
            if values.ndim not in (1, 2):
                raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), "
                                 f"got shape {values.shape}")
            if values.shape[0] != n_samples:
                raise ValueError(f"y must have one row per row of X ({n_samples}), got shape {values.shape}")
            one_d = values.ndim == 1
            values = values.reshape(n_samples, -1)
            if values.shape[1] < 1:
                raise ValueError(f"y must have at least one output column, got shape {values.shape}")
        derivatives = None
        if dydx is not None:
            derivatives = check_array(dydx, ensure_2d=False, allow_nd=True, dtype=np.float64,
                                      ensure_all_finite="allow-nan", input_name="dydx")
            if values is None:
                one_d = derivatives.ndim == 2
                n_out = 1 if one_d else (derivatives.shape[1] if derivatives.ndim == 3 else 0)
            else:
                n_out = values.shape[1]
            expected = [(n_samples, n_out, n_features)]
            if one_d:
                expected.insert(0, (n_samples, n_features))
            if derivatives.shape not in expected or n_out < 1:
                shapes = " or ".join(str(shape) for shape in expected)
                raise ValueError(f"dydx must have shape (n_samples, n_outputs, n_features) = {shapes}, "
                                 f"got {derivatives.shape}")
            derivatives = derivatives.reshape(n_samples, n_out, n_features)
        n_outputs = values.shape[1] if values is not None else derivatives.shape[1]
        observed = 0
        for array in (values, derivatives):
            if array is not None:
                observed += int(np.count_nonzero(~np.isnan(array)))
        if observed == 0:
            raise ValueError("y and dydx observe nothing: every entry is NaN (NaN marks an entry not observed)")
        return values, derivatives, n_outputs, one_d

    # ----- predictions -----

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Predicted values: the fitted network's, or the ensemble members' mean.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        return_std : bool, default False
            Also return the spread of the ensemble members (standard deviation, ``ddof=0``; see
            :class:`swarmjac.Ensemble`), as ``GaussianProcessRegressor.predict(return_std=True)``. Needs a
            model fitted with ``ensemble_size > 1``: a single network has no spread to report, and zeros would
            read as certainty, so a ValueError says so.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``fit`` got 1-D ``y``.
        y_std : ndarray of the same shape
            Only with ``return_std=True``.

        Raises
        ------
        ValueError
            For ``return_std=True`` on a model fitted with ``ensemble_size=1``.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac.estimator import Regressor
        >>> X = np.linspace(-1, 1, 20)[:, None]
        >>> reg = Regressor((), n_particles=20, max_iter=200, random_state=0).fit(X, 2 * X[:, 0])
        >>> np.round(reg.predict([[0.25]]), 3)
        array([0.5])
        """
        check_is_fitted(self)
        self._check_return_std(return_std)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.ensemble_ is None:
            outputs = (self.net_.predict(self.params_, X, n_threads=self.n_threads),)
        elif return_std:
            outputs = self.ensemble_.predict(X, return_std=True, n_threads=self.n_threads)
        else:
            outputs = (self.ensemble_.predict(X, n_threads=self.n_threads),)
        outputs = tuple(values[:, 0] if self._one_d_output else values for values in outputs)
        return outputs if return_std else outputs[0]

    def predict_jacobian(self, X: Any, return_std: bool = False) -> Any:
        """Predicted partial derivatives ``d prediction_k / d x_j`` (for an ensemble, the members' mean).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        return_std : bool, default False
            Also return the members' spread of each partial (as in :meth:`predict`; needs
            ``ensemble_size > 1``).

        Returns
        -------
        jacobian : ndarray of shape (n_samples, n_features) or (n_samples, n_outputs, n_features)
            The first when ``fit`` got 1-D ``y``.
        jacobian_std : ndarray of the same shape
            Only with ``return_std=True``.

        Raises
        ------
        ValueError
            For ``return_std=True`` on a model fitted with ``ensemble_size=1``.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac.estimator import Regressor
        >>> X = np.random.default_rng(0).uniform(-1, 1, size=(30, 2))
        >>> y = X @ [1.0, -2.0]
        >>> reg = Regressor((), n_particles=20, max_iter=300, random_state=0).fit(X, y)
        >>> np.round(reg.predict_jacobian(X[:1]), 3)
        array([[ 1., -2.]])
        """
        check_is_fitted(self)
        self._check_return_std(return_std)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.ensemble_ is None:
            outputs = self.net_.value_and_jacobian(self.params_, X, n_threads=self.n_threads)[1:]
        else:
            # (Y, J) or (Y, J, Y_std, J_std): the Jacobian and its spread are the odd entries.
            outputs = self.ensemble_.value_and_jacobian(X, return_std=return_std, n_threads=self.n_threads)[1::2]
        outputs = tuple(jacobian[:, 0, :] if self._one_d_output else jacobian for jacobian in outputs)
        return outputs if return_std else outputs[0]

    def _check_return_std(self, return_std: Any) -> None:
        if not isinstance(return_std, (bool, np.bool_)):
            raise TypeError(f"return_std must be True or False, got {type(return_std).__name__}")
        if return_std and self.ensemble_ is None:
            raise ValueError("return_std=True needs an ensemble: this model is one network (fitted with "
                             f"ensemble_size={self.ensemble_size}); fit with ensemble_size > 1 for a spread")
