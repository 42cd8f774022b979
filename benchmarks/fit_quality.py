"""Fit-quality benchmark: how good the models are that ``sj.fit`` hands a user, and at what wall time.

Where compare.py measures kernels, this script measures what a user takes home. Problems with exact
derivatives in physical units (swarmjac's demo; SMT's Branin, Rosenbrock 4-D, WaterFlow 8-D, WingWeight
10-D), mixed rows (each observes the value or one partial), clean and with noise; every row over several
seeds (a fresh data draw and a fresh fit seed each), reported as median and worst held-out error against
the noise-free truth. Columns: ``default`` (sj.fit as installed), ``multistart`` (L-BFGS restarts without a
swarm at the default's wall time), ``plainpso``, ``jenn`` (time-matched JENN), ``gek`` (gradient-enhanced
GP, gek.py) and named sj.fit variants (``--variant NAME:JSON``). SMT and JENN are benchmark-only
dependencies (``pip install smt jenn``). Usage: ``python benchmarks/fit_quality.py --help``.

Time matching. Every column of one (row, seed) runs in the same process, one after the other, on the same
data, with one kernel / BLAS thread (``--threads``). ``multistart`` gets exactly the default's wall time on
that seed: batches of 4 starts from ``net.init_params`` in the standardised space, each run by swarmjac's
batched L-BFGS (SciPy's L-BFGS-B one start at a time where swarmjac.lbfgs is missing) with sj.fit's polish
settings and at most ``--multistart-maxiter`` steps, batch after batch; when the budget is spent, the
L-BFGS callback stops the running batch at its next evaluation. The problem is the default fit's: the very
rows it held out (``res.validation_rows``) and its weight decay (``res.alpha``); each start keeps its point
of lowest held-out cost and the best start by held-out cost wins (by training cost without validation).
``jenn`` gets ``max_iter`` from two
short calibration fits (time per iteration and start-up cost) so that its wall time is the default's;
``plainpso`` gets its iterations from one calibration fit. ``gek`` and the variants are not matched: their
own times are reported.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import inspect
import json
import math
import os
import platform
import shlex
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc, spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import swarmjac as sj  # noqa: E402
from swarmjac.demo import DOMAIN as DEMO_DOMAIN, demo_function, demo_gradient  # noqa: E402
from swarmjac.scaling import Standardizer  # noqa: E402

#: Fresh held-out points per seed.
N_TEST = 2000
#: Seeds per row (each: a fresh training draw, noise draw, test draw and fit seed).
N_SEEDS = 5
#: Default noise level: sd = NOISE_LEVEL * std of the quantity over the training draw.
NOISE_LEVEL = 0.02
#: JENN's iterations of the shorter calibration fit (the longer: 4x).
JENN_CALIBRATION_ITERS = 50
#: Plain PSO: the swarm of the pre-hybrid trainer; iterations matched from a calibration run of this length.
PSO_ONLY = {"n_particles": 200, "refine": None}
PSO_CALIBRATION_ITERS = 50
#: L-BFGS iterations per start of the multistart column (a start may also stop at sj.fit's gtol).
MULTISTART_MAXITER = 2000
#: Starts per batched L-BFGS call of the multistart column.
MULTISTART_BATCH = 4
#: Larger GP problems are skipped (full-gradient rows of WaterFlow and WingWeight): O(n^3) per likelihood.
GEK_MAX_OBSERVATIONS = 2500
#: Columns run unless --columns says otherwise, and every column known.
DEFAULT_COLUMNS = ("default", "multistart", "jenn", "gek")
COLUMNS = ("default", "multistart", "plainpso", "jenn", "gek")
#: The quick (smoke) setting: tiny data, short fits (applied to every sj.fit column), two seeds.
QUICK = {"n_train": 30, "n_test": 300, "n_seeds": 2, "hidden": (8,),
         "fit": {"n_particles": 20, "iters": 10, "refine": {"final_maxiter": 200}}}

Truth = Callable[[np.ndarray], np.ndarray]
Predictor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Problem:
    """A test function with its exact gradient, its domain and the benchmark's settings for it.

    Attributes
    ----------
    name : str
    domain : ndarray, shape (d, 2)
        Lower and upper bound of each input, in physical units.
    function, gradient : callable
        ``function(X (N, d)) -> (N,)`` and ``gradient(X) -> (N, d)``, exact.
    n_train : int
        Training rows.
    hidden : tuple of int
        Hidden layers of the network every method trains (tanh, linear output).
    """

    name: str
    domain: np.ndarray
    function: Truth
    gradient: Truth
    n_train: int
    hidden: tuple = (16, 16)

    @property
    def d(self) -> int:
        """Number of inputs."""
        return self.domain.shape[0]


def _smt_problem(name: str, smt_name: str, n_train: int, **smt_options: Any) -> Problem:
    """An SMT problem as a Problem; SMT gives the partial along ``x_k`` as ``problem(x, k)``."""
    try:
        from smt import problems as smt_problems
    except ImportError:
        raise SystemExit(f"problem {name!r} needs SMT, a benchmark-only dependency: pip install smt "
                         f"(or run with --problems demo)") from None
    problem = getattr(smt_problems, smt_name)(**smt_options)
    domain = np.asarray(problem.xlimits, dtype=np.float64)

    def function(X: np.ndarray) -> np.ndarray:
        return problem(X)[:, 0]

    def gradient(X: np.ndarray) -> np.ndarray:
        return np.column_stack([problem(X, k)[:, 0] for k in range(domain.shape[0])])

    return Problem(name, domain, function, gradient, n_train)


def get_problem(name: str) -> Problem:
    """The benchmark problem called ``name`` (one of PROBLEMS).

    One network for every problem, [16, 16] (what a user would start with); rows: about 40 per input
    dimension for the 8-10-D engineering formulas, more per dimension for the wiggly 2-D demo.
    """
    if name == "demo":
        return Problem("demo", np.array([DEMO_DOMAIN, DEMO_DOMAIN]), demo_function, demo_gradient, n_train=300)
    if name == "branin":
        return _smt_problem(name, "Branin", n_train=100)
    if name == "rosenbrock":
        return _smt_problem(name, "Rosenbrock", n_train=200, ndim=4)
    if name == "waterflow":
        return _smt_problem(name, "WaterFlow", n_train=400)
    if name == "wingweight":
        return _smt_problem(name, "WingWeight", n_train=440)
    raise ValueError(f"unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}")


PROBLEMS = ("demo", "branin", "rosenbrock", "waterflow", "wingweight")
DATA_KINDS = ("mixed", "full")
NOISE_KINDS = ("clean", "noisy")


# ----------------------------------------------------------------------------------------------------
# Data and metrics


@dataclass(frozen=True)
class TrainingSet:
    """Training rows as observed (noise included); NaN marks what a row does not observe."""

    kind: str
    noise: float
    X: np.ndarray
    y: np.ndarray
    dydx: np.ndarray


def _stable_seed(*parts: Any) -> int:
    """A seed that depends only on its arguments (not on Python's per-process hash salt)."""
    return zlib.crc32(repr(parts).encode())


def make_training_set(problem: Problem, n_train: int, seed: int, kind: str = "mixed",
                      noise: float = 0.0) -> TrainingSet:
    """Latin-hypercube training rows of one seed, full-gradient or mixed, optionally noisy.

    Mixed: row ``i`` observes only the value when ``i % (d + 1) == 0``, else only the partial along
    ``x_{i % (d + 1)}``. Noise: Gaussian, sd = ``noise`` x the std of that quantity (the value, or partial
    j) over the training draw, on every observed entry. The points do not depend on ``kind`` or ``noise``.
    """
    sampler = qmc.LatinHypercube(d=problem.d, rng=_stable_seed(problem.name, "train", seed))
    X = qmc.scale(sampler.random(n_train), problem.domain[:, 0], problem.domain[:, 1])
    y, dydx = problem.function(X), problem.gradient(X)
    if noise > 0:
        rng = np.random.default_rng(_stable_seed(problem.name, "noise", seed))
        y = y + rng.normal(0.0, noise * np.std(y), y.shape)
        dydx = dydx + rng.normal(0.0, 1.0, dydx.shape) * (noise * np.std(dydx, axis=0))
    if kind == "mixed":
        observed = np.arange(n_train) % (problem.d + 1)
        y = np.where(observed == 0, y, np.nan)
        dydx = np.where(observed[:, None] == np.arange(1, problem.d + 1)[None, :], dydx, np.nan)
    elif kind != "full":
        raise ValueError(f"kind must be one of {DATA_KINDS}, got {kind!r}")
    return TrainingSet(kind, noise, X, y, dydx)


def make_test_set(problem: Problem, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_test`` fresh points uniform in the domain with their noise-free values and partials."""
    rng = np.random.default_rng(_stable_seed(problem.name, "test", seed))
    X = rng.uniform(problem.domain[:, 0], problem.domain[:, 1], size=(n_test, problem.d))
    return X, problem.function(X), problem.gradient(X)


def relative_errors(X: np.ndarray, y: np.ndarray, dydx: np.ndarray, y_pred: np.ndarray,
                    dydx_pred: np.ndarray) -> dict[str, Any]:
    """Held-out errors relative to the spread of the truth.

    Values: ``RMSE / std(y)``. Partial ``j``: ``RMSE_j * std(x_j) / std(y)``, in units of spread(y) /
    spread(x_j), so that a partial near zero everywhere does not dominate; ``partials`` is their mean.
    """
    spread_y = float(np.std(y))
    value = float(np.sqrt(np.mean((y_pred - y) ** 2))) / spread_y
    partials = np.sqrt(np.mean((dydx_pred - dydx) ** 2, axis=0)) * np.std(X, axis=0) / spread_y
    return {"values": value, "partials": float(np.mean(partials)), "partials_each": [float(p) for p in partials]}


def ensemble_calibration(mean: np.ndarray, spread: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Spearman correlation of the ensemble spread with the absolute error of its mean, and the share of
    test points whose truth lies within mean +- 2 spread (values)."""
    error = np.abs(mean - truth)
    rho = spearmanr(spread, error).statistic if np.ptp(spread) > 0 else math.nan
    return {"spearman": float(rho), "coverage_2sd": float(np.mean(error <= 2 * spread))}


# ----------------------------------------------------------------------------------------------------
# sj.fit options and their compatibility with the installed version


def fit_parameter(name: str, default: Any = None) -> Any:
    """The installed ``sj.fit``'s default for ``name`` (``default`` if it has no such argument)."""
    parameter = inspect.signature(sj.fit).parameters.get(name)
    return default if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


def unsupported_options(options: dict[str, Any]) -> Optional[str]:
    """Why the installed ``sj.fit`` cannot take ``options`` (None if it can): names that are neither fit's
    nor PSO's, or refine fields RefineOptions does not know."""
    known = set(inspect.signature(sj.fit).parameters) | set(inspect.signature(sj.PSO).parameters)
    unknown = sorted(set(options) - known)
    if unknown:
        return f"the installed sj.fit has no option(s) {unknown}"
    if isinstance(options.get("refine"), dict):
        try:
            sj.RefineOptions.from_argument(options["refine"])
        except (ValueError, TypeError) as error:
            return str(error)
    return None


def merge_options(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``{**base, **extra}`` where a ``refine`` dict in both is merged field by field."""
    merged = {**base, **extra}
    if isinstance(base.get("refine"), dict) and isinstance(extra.get("refine"), dict):
        merged["refine"] = {**base["refine"], **extra["refine"]}
    return merged


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``'NAME:{"alpha": "auto"}'`` -> ``("NAME", {"alpha": "auto"})`` (the options are JSON)."""
    name, sep, options = text.partition(":")
    if not sep or not name.strip():
        raise SystemExit(f"--variant takes NAME:JSON-DICT, got {text!r}")
    try:
        parsed = json.loads(options)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--variant {name}: the options are not JSON ({error}): {options!r}") from None
    if not isinstance(parsed, dict):
        raise SystemExit(f"--variant {name}: the options must be a JSON object, got {options!r}")
    if name in COLUMNS:
        raise SystemExit(f"--variant name {name!r} is a built-in column; pick another name")
    return name.strip(), parsed


# ----------------------------------------------------------------------------------------------------
# Columns


@dataclass
class Outcome:
    """What one column produced on one (row, seed)."""

    predict: Optional[Predictor] = None
    wall_s: float = math.nan
    info: dict = field(default_factory=dict)
    skipped: Optional[str] = None


def _network_predictor(net: Any, params: np.ndarray) -> Predictor:
    def predict(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y, J = net.value_and_jacobian(params, X, n_threads=1)
        return Y[:, 0], J[:, 0, :]
    return predict


def _value_error(result_errors: Any) -> Optional[float]:
    """``res.validation_error.values`` (or a dict's "values"), None where absent or NaN."""
    if result_errors is None:
        return None
    value = result_errors.get("values") if isinstance(result_errors, dict) else getattr(result_errors, "values", None)
    # NaN: nothing of that kind held out (too few rows to validate on)
    return None if value is None or callable(value) or not math.isfinite(float(value)) else float(value)


def run_sj_fit(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any], seed: int,
               threads: int) -> tuple[Outcome, Any]:
    """``sj.fit(net, data, seed=seed, n_threads=threads, **options)`` as one column; returns the outcome
    and the FitResult (None when skipped)."""
    reason = unsupported_options(options)
    if reason is not None:
        return Outcome(skipped=reason), None
    net = sj.MLP(layer_sizes, activations="tanh")
    start = time.perf_counter()
    try:
        result = sj.fit(net, sj.Dataset(data.X, y=data.y, dydx=data.dydx), seed=seed,
                        **merge_options({"n_threads": threads}, options))
    except Exception as error:  # noqa: BLE001 - one failing column must not end a long run; say why
        return Outcome(skipped=f"sj.fit raised {type(error).__name__}: {error}"), None
    wall = time.perf_counter() - start
    records = getattr(result, "refinements", ())
    info = {"refine_s": sum(r.wall_time for r in records if r.phase == "swarm"),
            "polish_s": sum(r.wall_time for r in records if r.phase == "final"),
            "validation_values": _value_error(getattr(result, "validation_error", None)),
            "training_values": _value_error(getattr(result, "training_error", None))}
    return Outcome(_network_predictor(net, result.params), wall, info), result


class _OutOfTime(Exception):
    """Raised inside SciPy's objective when the multistart budget is spent."""


class _StartTracker:
    """Callback of the batched L-BFGS for the multistart column: every VALIDATE_EVERY calls it keeps each
    start's point of lowest held-out cost and stops a start after ``patience`` calls without a lower one
    (what sj.fit's polish does), and it stops every start once the deadline has passed."""

    VALIDATE_EVERY = 10

    def __init__(self, net: Any, validation: Any, starts: np.ndarray, threads: int, patience: int,
                 deadline: float):
        self.net, self.validation, self.threads, self.patience = net, validation, threads, patience
        self.deadline, self.calls = deadline, 0
        self.positions = starts.copy()
        self.costs = (np.asarray(net.fitness(starts, validation, n_threads=threads), dtype=np.float64)
                      if validation is not None else np.full(len(starts), np.inf))
        self.since_better = np.zeros(len(starts), dtype=np.int64)

    def check(self, x_best: np.ndarray, running: np.ndarray) -> None:
        rows = np.flatnonzero(running)
        if self.validation is None or rows.size == 0:
            return
        costs = np.asarray(self.net.fitness(x_best[rows], self.validation, n_threads=self.threads))
        better = costs < self.costs[rows]
        self.positions[rows[better]], self.costs[rows[better]] = x_best[rows[better]], costs[better]
        self.since_better[rows[better]] = 0
        self.since_better[rows[~better]] += self.VALIDATE_EVERY

    def __call__(self, x_best: np.ndarray, f_best: np.ndarray, running: np.ndarray) -> Any:
        self.calls += 1
        if time.perf_counter() >= self.deadline:
            return True
        if self.validation is None or self.calls % self.VALIDATE_EVERY:
            return None
        self.check(x_best, running)
        return running & (self.since_better >= self.patience) if self.patience else None


def run_multistart(layer_sizes: list[int], data: TrainingSet, budget_s: float, seed: int, threads: int,
                   maxiter: int = MULTISTART_MAXITER, default_result: Any = None,
                   batch: int = MULTISTART_BATCH) -> Outcome:
    """Multi-start L-BFGS without a swarm, for ``budget_s`` seconds of wall time (see the module notes).

    The problem is the default fit's (``default_result``): the same held-out rows
    (``res.validation_rows``), the same weight decay (``res.alpha``), the data standardised on the training
    rows. Starts are ``net.init_params`` in the standardised space (what sj.fit's swarm starts from), in
    batches of ``batch`` through ``swarmjac.lbfgs.minimize_batched`` with sj.fit's polish settings (20
    pairs, ``ftol=0``, sj.RefineOptions' ``gtol`` and ``patience``; at most ``maxiter`` steps); each start
    keeps its point of lowest held-out cost, and the best start by held-out cost wins (by training cost
    without validation). An sj without swarmjac.lbfgs gets SciPy's L-BFGS-B, one start at a time.
    """
    start = time.perf_counter()
    deadline = start + budget_s
    net = sj.MLP(layer_sizes, activations="tanh")
    held = np.zeros(len(data.X), dtype=bool)
    validation_rows = getattr(default_result, "validation_rows", None)  # None: an sj.fit without validation
    if validation_rows is not None:
        held[np.asarray(validation_rows, dtype=np.intp)] = True
    alpha = float(getattr(default_result, "alpha", 0.0) or 0.0)
    decay = {"alpha": alpha} if alpha else {}
    train = sj.Dataset(data.X[~held], y=data.y[~held], dydx=data.dydx[~held])
    scaler = Standardizer.for_network(net, train)
    scaled_train = scaler.transform(train)
    scaled_valid = scaler.transform(sj.Dataset(data.X[held], y=data.y[held], dydx=data.dydx[held])) \
        if held.any() else None
    refine_defaults = sj.RefineOptions()
    try:
        from swarmjac.lbfgs import minimize_batched
    except ImportError:
        minimize_batched = None
    rng = np.random.default_rng(seed)
    best_theta, best_score, n_starts = None, math.inf, 0

    def fun(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return net.fitness_and_gradient(X, scaled_train, n_threads=threads, **decay)

    while True:
        if minimize_batched is not None:
            starts = net.init_params(batch, seed=rng)
            tracker = _StartTracker(net, scaled_valid, starts, threads, getattr(refine_defaults, "patience", 0),
                                    deadline)
            result = minimize_batched(fun, starts, maxiter=maxiter, memory=20, gtol=refine_defaults.gtol,
                                      ftol=0.0, callback=tracker)
            tracker.check(result.x, np.ones(batch, dtype=bool))
            thetas, scores = ((tracker.positions, tracker.costs) if scaled_valid is not None
                              else (result.x, result.f))
        else:
            run_best = {"theta": None, "f": math.inf}

            def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
                if time.perf_counter() >= deadline and run_best["theta"] is not None:
                    raise _OutOfTime
                f, g = fun(theta[None, :])
                f = float(np.asarray(f).reshape(-1)[0])
                if f < run_best["f"]:
                    run_best["theta"], run_best["f"] = theta.copy(), f
                if not math.isfinite(f):
                    return 1e300, np.zeros_like(theta)
                return f, np.asarray(g, dtype=np.float64).reshape(-1)

            with contextlib.suppress(_OutOfTime):
                minimize(objective, net.init_params(1, seed=rng)[0], jac=True, method="L-BFGS-B",
                         options={"maxiter": maxiter, "maxfun": 2 * maxiter + 20, "gtol": refine_defaults.gtol,
                                  "ftol": 0.0, "maxcor": 20})
            theta = run_best["theta"]
            score = (float(net.fitness(theta, scaled_valid, n_threads=threads)) if scaled_valid is not None
                     else run_best["f"])
            thetas, scores = theta[None, :], np.array([score])
        n_starts += len(thetas)
        winner = int(np.argmin(scores))
        if best_theta is None or scores[winner] < best_score:
            best_theta, best_score = np.array(thetas[winner]), float(scores[winner])
        if time.perf_counter() >= deadline:
            break
    wall = time.perf_counter() - start
    params = scaler.to_raw_params(net, best_theta)
    return Outcome(_network_predictor(net, params), wall,
                   {"n_starts": n_starts, "budget_s": budget_s, "alpha": alpha,
                    "selected_by": "validation cost" if scaled_valid is not None else "training cost"})


def _jenn_arrays(data: TrainingSet, seed: int) -> tuple[np.ndarray, ...]:
    """JENN's (features, samples) arrays and per-observation weights (0 = not observed).

    JENN normalises by the mean and std of every y column, weighted or not, so an unobserved value is
    filled with a draw from the observed ones (keeping mu_y and sigma_y those of the observed values);
    its weight 0 removes it from the cost. Unobserved partials are 0 with weight 0.
    """
    y_observed = ~np.isnan(data.y)
    y = data.y.copy()
    draws = np.random.default_rng(_stable_seed("jenn-fill", seed)).choice(y[y_observed], (~y_observed).sum())
    y[~y_observed] = draws
    dydx_observed = ~np.isnan(data.dydx)
    dydx = np.where(dydx_observed, data.dydx, 0.0)
    return (data.X.T.copy(), y[None, :], dydx.T[None, :, :].copy(),
            y_observed[None, :].astype(np.float64), dydx_observed.T[None, :, :].astype(np.float64))


def fit_jenn(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any]) -> Outcome:
    """Train ``jenn.NeuralNet(layer_sizes).fit(..., **options)`` (tanh, linear output)."""
    import jenn
    start = time.perf_counter()
    x, y, dydx, beta, gamma = _jenn_arrays(data, options.get("random_state", 0))
    model = jenn.NeuralNet(layer_sizes, hidden_activation="tanh", output_activation="linear")
    model.fit(x, y, dydx, beta=beta, gamma=gamma, **options)
    wall = time.perf_counter() - start

    def predict(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y, J = model(X.T)
        return Y[0], J[0].T

    return Outcome(predict, wall, {"max_iter": options.get("max_iter")})


def run_jenn(layer_sizes: list[int], data: TrainingSet, budget_s: float, seed: int,
             options: dict[str, Any]) -> Outcome:
    """JENN with ``max_iter`` such that its wall time is about ``budget_s`` (unless ``options`` fixes it).

    Two calibration lengths give the time per iteration apart from JENN's start-up cost.
    """
    try:
        import jenn  # noqa: F401
    except ImportError:
        return Outcome(skipped="jenn is not installed (pip install jenn)")
    options = {"is_normalize": True, "random_state": seed % 2**31, **options}
    if "max_iter" not in options:
        short, long = JENN_CALIBRATION_ITERS, 4 * JENN_CALIBRATION_ITERS
        wall_short = fit_jenn(layer_sizes, data, {**options, "max_iter": short}).wall_s
        wall_long = fit_jenn(layer_sizes, data, {**options, "max_iter": long}).wall_s
        per_iter = (wall_long - wall_short) / (long - short)
        if per_iter <= 0:  # timer noise: the long fit's average
            options["max_iter"] = max(1, round(budget_s * long / max(wall_long, 1e-9)))
        else:
            overhead = max(wall_short - short * per_iter, 0.0)
            options["max_iter"] = max(1, round((budget_s - overhead) / per_iter))
    return fit_jenn(layer_sizes, data, options)


def run_plainpso(layer_sizes: list[int], data: TrainingSet, budget_s: float, seed: int, threads: int,
                 base_options: dict[str, Any]) -> Outcome:
    """Plain PSO (PSO_ONLY: 200 particles, no refinement), iterations matched to ``budget_s`` from a
    calibration run of PSO_CALIBRATION_ITERS iterations."""
    options = {key: value for key, value in base_options.items() if key != "refine"} | PSO_ONLY
    calibration, _ = run_sj_fit(layer_sizes, data, {**options, "iters": PSO_CALIBRATION_ITERS}, seed, threads)
    if calibration.skipped:
        return calibration
    iters = max(1, round(budget_s * PSO_CALIBRATION_ITERS / max(calibration.wall_s, 1e-9)))
    outcome, _ = run_sj_fit(layer_sizes, data, {**options, "iters": iters}, seed, threads)
    outcome.info["iters"] = iters
    return outcome


def run_gek(data: TrainingSet, seed: int) -> Outcome:
    """The gradient-enhanced GP of gek.py on the same rows (no validation hold-out: the marginal
    likelihood picks its hyperparameters)."""
    from gek import GEK
    model = GEK(seed=seed % 2**31, max_observations=GEK_MAX_OBSERVATIONS)
    start = time.perf_counter()
    try:
        model.fit(data.X, data.y, data.dydx)
    except ValueError as error:  # too many observations for a dense GP
        return Outcome(skipped=str(error))
    wall = time.perf_counter() - start
    return Outcome(model.predict, wall, {"length_scales": model.length_scales_.tolist(),
                                         "value_noise_sd": math.sqrt(model.value_noise_variance_),
                                         "partial_noise_sd": math.sqrt(model.partial_noise_variance_)})


# ----------------------------------------------------------------------------------------------------
# One task: every column of one (problem, data kind, noise, seed), side by side in one process


@dataclass(frozen=True)
class Task:
    """One (problem, data kind, noise, seed) with the settings every column needs."""

    problem: str
    kind: str
    noise: float
    seed: int
    columns: tuple
    variants: tuple  # of (name, options)
    quick: bool = False
    threads: int = 1
    hidden: Optional[tuple] = None
    multistart_maxiter: int = MULTISTART_MAXITER
    jenn_options: tuple = ()  # of (key, value)


@contextlib.contextmanager
def blas_threads(threads: Optional[int]) -> Iterator[None]:
    """Limit the BLAS threads NumPy (JENN, the GP, L-BFGS-B) uses to ``threads`` (None: leave them)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=threads):
        yield


def run_task(task: Task) -> dict[str, Any]:
    """Train every column of ``task`` and score it on fresh noise-free test points."""
    with blas_threads(task.threads):
        return _run_task(task)


def _run_task(task: Task) -> dict[str, Any]:
    problem = get_problem(task.problem)
    n_train = QUICK["n_train"] if task.quick else problem.n_train
    n_test = QUICK["n_test"] if task.quick else N_TEST
    hidden = task.hidden or (QUICK["hidden"] if task.quick else problem.hidden)
    layer_sizes = [problem.d, *hidden, 1]
    data = make_training_set(problem, n_train, task.seed, task.kind, task.noise)
    X_test, y_test, dydx_test = make_test_set(problem, n_test, task.seed)
    fit_seed = _stable_seed(problem.name, "fit", task.seed)
    base = QUICK["fit"] if task.quick else {}
    record: dict[str, Any] = {"problem": task.problem, "d": problem.d, "data": task.kind,
                              "noise": task.noise, "seed": task.seed, "n_rows": n_train,
                              "layer_sizes": layer_sizes, "n_test": n_test, "columns": {}}
    outcomes: dict[str, Outcome] = {}
    default_wall: Optional[float] = None
    default_result = None
    if "default" in task.columns or any(c in task.columns for c in ("multistart", "plainpso", "jenn")):
        outcomes["default"], default_result = run_sj_fit(layer_sizes, data, dict(base), fit_seed, task.threads)
        default_wall = outcomes["default"].wall_s
    for column in task.columns:
        if column == "default":
            continue
        if column in ("multistart", "plainpso", "jenn") and not math.isfinite(default_wall or math.nan):
            outcomes[column] = Outcome(skipped="needs the default column's wall time")
        elif column == "multistart":
            outcomes[column] = run_multistart(layer_sizes, data, default_wall, fit_seed, task.threads,
                                              task.multistart_maxiter, default_result)
        elif column == "plainpso":
            outcomes[column] = run_plainpso(layer_sizes, data, default_wall, fit_seed, task.threads, base)
        elif column == "jenn":
            outcomes[column] = run_jenn(layer_sizes, data, default_wall, task.seed, dict(task.jenn_options))
        elif column == "gek":
            outcomes[column] = run_gek(data, fit_seed)
    results = {"default": default_result}  # the FitResults of the sj.fit columns
    for name, options in task.variants:
        outcomes[name], results[name] = run_sj_fit(layer_sizes, data, merge_options(base, options), fit_seed,
                                                   task.threads)
    for name, outcome in outcomes.items():
        if name == "default" and "default" not in task.columns:
            continue
        entry: dict[str, Any] = {"skipped": outcome.skipped}
        if outcome.skipped is None:
            y_pred, dydx_pred = outcome.predict(X_test)
            entry.update(relative_errors(X_test, y_test, dydx_test, y_pred, dydx_pred))
            entry["wall_s"] = outcome.wall_s
            entry.update(outcome.info)
        record["columns"][name] = entry
    for name, result in results.items():
        ensemble = getattr(result, "ensemble", None)
        if ensemble is None or name not in record["columns"]:
            continue
        with contextlib.suppress(Exception):  # an ensemble API this script does not know: no figures
            mean, spread = ensemble.predict(X_test, return_std=True)
            record["columns"][name]["ensemble"] = ensemble_calibration(
                np.asarray(mean).reshape(-1), np.asarray(spread).reshape(-1), y_test)
    return record


# ----------------------------------------------------------------------------------------------------
# Aggregation and tables


def _row_key(record: dict[str, Any]) -> tuple:
    return (record["problem"], tuple(record["layer_sizes"]), record["data"], record["noise"])


def aggregate(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row (problem, network, data kind, noise) and column: median and worst (max over seeds) of the
    value and partial errors, median wall time, and for sj.fit columns that report it the median and worst
    of validation_error.values / held-out value error; ensemble figures (medians) where present."""
    rows: dict[tuple, dict[str, Any]] = {}
    for record in records:
        row = rows.setdefault(_row_key(record), {
            "problem": record["problem"], "d": record["d"], "layer_sizes": record["layer_sizes"],
            "data": record["data"], "noise": record["noise"], "n_rows": record["n_rows"], "seeds": [],
            "per_seed": {}})
        row["seeds"].append(record["seed"])
        for column, entry in record["columns"].items():
            row["per_seed"].setdefault(column, []).append(entry)
    out = []
    for row in rows.values():
        summary = {}
        for column, entries in row.pop("per_seed").items():
            ran = [e for e in entries if e.get("skipped") is None]
            if not ran:
                summary[column] = {"skipped": entries[0]["skipped"]}
                continue
            stats: dict[str, Any] = {"n_seeds": len(ran)}
            for key in ("values", "partials"):
                values = np.array([e[key] for e in ran])
                stats[f"{key}_median"], stats[f"{key}_worst"] = float(np.median(values)), float(values.max())
            stats["wall_s_median"] = float(np.median([e["wall_s"] for e in ran]))
            ratios = [e["validation_values"] / e["values"] for e in ran if e.get("validation_values") is not None]
            if ratios:
                stats["validation_ratio_median"] = float(np.median(ratios))
                stats["validation_ratio_min"], stats["validation_ratio_max"] = float(min(ratios)), float(max(ratios))
            ensembles = [e["ensemble"] for e in ran if "ensemble" in e]
            if ensembles:
                stats["ensemble_spearman_median"] = float(np.nanmedian([e["spearman"] for e in ensembles]))
                stats["ensemble_coverage_median"] = float(np.median([e["coverage_2sd"] for e in ensembles]))
            if any("n_starts" in e for e in ran):
                stats["n_starts_median"] = float(np.median([e["n_starts"] for e in ran]))
            summary[column] = stats
        row["columns"] = summary
        out.append(row)
    return out


def _g(value: Optional[float]) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2g}"


def _noise_label(noise: float) -> str:
    return "clean" if noise == 0 else f"noise {noise:g}"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The aggregated rows as a Markdown table, one line per (row, column)."""
    lines = ["| problem | network | data | noise | column | values median | worst | partials median | worst "
             "| time s | val/held-out median | range |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        for column, s in row["columns"].items():
            head = (f"| {row['problem']} ({row['d']}-D, {row['n_rows']} rows) | {row['layer_sizes']} "
                    f"| {row['data']} | {_noise_label(row['noise'])} | {column}")
            if "skipped" in s:
                lines.append(f"{head} | skipped: {s['skipped']} | | | | | | |")
                continue
            ratio = (f"{_g(s['validation_ratio_median'])} | {_g(s['validation_ratio_min'])}-"
                     f"{_g(s['validation_ratio_max'])}" if "validation_ratio_median" in s else "- | -")
            lines.append(f"{head} | {_g(s['values_median'])} | {_g(s['values_worst'])} "
                         f"| {_g(s['partials_median'])} | {_g(s['partials_worst'])} | {s['wall_s_median']:.3g} "
                         f"| {ratio} |")
    return "\n".join(lines)


def _yes(flag: Optional[bool]) -> str:
    return "-" if flag is None else ("yes" if flag else "**no**")


def compute_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets per row, on values and partials:

    (a) default median <= multistart median; (b) default worst <= 2 x default median; (c) (noisy rows)
    default median <= 1.5 x the clean row's default median + the noise level; (d) every seed's
    validation_error.values / held-out value error within [0.5, 2]. None where a column is missing.
    """
    clean = {(r["problem"], tuple(r["layer_sizes"]), r["data"]): r for r in rows if r["noise"] == 0}
    targets = []
    for row in rows:
        default = row["columns"].get("default", {})
        if "values_median" not in default:
            continue
        multi = row["columns"].get("multistart", {})
        entry: dict[str, Any] = {"problem": row["problem"], "layer_sizes": row["layer_sizes"],
                                 "data": row["data"], "noise": row["noise"]}
        for key in ("values", "partials"):
            med, worst = default[f"{key}_median"], default[f"{key}_worst"]
            other = multi.get(f"{key}_median")
            entry[f"a_{key}"] = (med, other, None if other is None else med <= other)
            entry[f"b_{key}"] = (worst, 2 * med, worst <= 2 * med)
            reference = clean.get((row["problem"], tuple(row["layer_sizes"]), row["data"]), {})
            clean_default = reference.get("columns", {}).get("default", {})
            if row["noise"] > 0 and "values_median" in clean_default:
                bound = 1.5 * clean_default[f"{key}_median"] + row["noise"]
                entry[f"c_{key}"] = (med, bound, med <= bound)
            else:
                entry[f"c_{key}"] = (None, None, None)
        if "validation_ratio_median" in default:
            low, high = default["validation_ratio_min"], default["validation_ratio_max"]
            entry["d"] = (low, high, 0.5 <= low and high <= 2.0)
        else:
            entry["d"] = (None, None, None)
        targets.append(entry)
    return targets


def format_targets(targets: Sequence[dict[str, Any]]) -> str:
    """The targets as a Markdown table: the numbers compared and yes/no."""
    def cell(triple: tuple, sep: str) -> str:
        left, right, flag = triple
        return "-" if flag is None else f"{_g(left)} {sep} {_g(right)} {_yes(flag)}"

    lines = ["| problem | data | noise | (a) default <= multistart: values | partials "
             "| (b) worst <= 2 x median: values | partials | (c) noisy <= 1.5 x clean + noise: values "
             "| partials | (d) val/held-out in [0.5, 2] |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in targets:
        d_low, d_high, d_flag = t["d"]
        d_cell = "-" if d_flag is None else f"{_g(d_low)}-{_g(d_high)} {_yes(d_flag)}"
        lines.append(f"| {t['problem']} {t['layer_sizes']} | {t['data']} | {_noise_label(t['noise'])} "
                     f"| {cell(t['a_values'], 'vs')} | {cell(t['a_partials'], 'vs')} "
                     f"| {cell(t['b_values'], 'vs')} | {cell(t['b_partials'], 'vs')} "
                     f"| {cell(t['c_values'], 'vs')} | {cell(t['c_partials'], 'vs')} | {d_cell} |")
    return "\n".join(lines)


def format_ensemble(rows: Sequence[dict[str, Any]]) -> str:
    """Ensemble spread against error (medians over seeds) of every sj.fit column that returned an ensemble."""
    lines = ["| problem | data | noise | column | Spearman(spread, abs error) | coverage of mean +- 2 spread |",
             "|---|---|---|---|---:|---:|"]
    for row in rows:
        for column, s in row["columns"].items():
            if "ensemble_spearman_median" in s:
                lines.append(f"| {row['problem']} | {row['data']} | {_noise_label(row['noise'])} | {column} "
                             f"| {_g(s['ensemble_spearman_median'])} | {_g(s['ensemble_coverage_median'])} |")
    return "\n".join(lines) if len(lines) > 2 else ""


# ----------------------------------------------------------------------------------------------------
# Command line


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def environment() -> dict[str, Any]:
    """Versions of swarmjac, JENN, SMT, NumPy, SciPy and Python, the CPU, the load average and the date."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    import scipy
    return {"swarmjac": f"{_version('swarmjac')} ({os.path.dirname(sj.__file__)})", "jenn": _version("jenn"),
            "smt": _version("smt"), "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version(), "cpu": f"{model}, {os.cpu_count()} logical CPUs",
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _csv(text: str, allowed: Sequence[str], argument: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise SystemExit(f"{argument} takes a comma-separated subset of {','.join(allowed)}, got {text!r}")
    return names


def build_tasks(args: argparse.Namespace) -> list[Task]:
    """Every (problem, data kind, noise, seed) to run, from the parsed command line."""
    columns = tuple(_csv(args.columns, COLUMNS, "--columns")) if args.columns else ()
    variants = tuple(parse_variant(text) for text in args.variant)
    if not columns and not variants:
        raise SystemExit("nothing to run: give --columns and/or --variant")
    if "jenn" in columns:
        try:
            import jenn  # noqa: F401
        except ImportError:
            raise SystemExit("the jenn column needs jenn, a benchmark-only dependency: pip install jenn "
                             "(or leave jenn out of --columns)") from None
    problems = _csv(args.problems, PROBLEMS, "--problems")
    for name in problems:
        get_problem(name)  # SMT present?
    kinds = _csv(args.data, DATA_KINDS, "--data")
    noises = [0.0 if kind == "clean" else args.noise for kind in _csv(args.noise_kinds, NOISE_KINDS, "--rows")]
    n_seeds = args.seeds if args.seeds is not None else (QUICK["n_seeds"] if args.quick else N_SEEDS)
    hidden = tuple(int(size) for size in args.hidden.split(",")) if args.hidden else None
    jenn_options = tuple(json.loads(args.jenn_options).items()) if args.jenn_options else ()
    return [Task(problem, kind, noise, seed, columns, variants, args.quick, args.threads, hidden,
                 args.multistart_maxiter, jenn_options)
            for problem in problems for kind in kinds for noise in noises for seed in range(n_seeds)]


def run_tasks(tasks: Sequence[Task], jobs: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run the tasks, in ``jobs`` worker processes when ``jobs`` > 1; records in task order."""
    def describe(record: dict[str, Any]) -> str:
        parts = [f"{name} {e['values']:.2g}/{e['partials']:.2g} {e['wall_s']:.1f}s" if e.get("skipped") is None
                 else f"{name} skipped" for name, e in record["columns"].items()]
        return (f"{record['problem']} {record['data']} {_noise_label(record['noise'])} seed {record['seed']}: "
                + ", ".join(parts))

    if jobs <= 1:
        records = []
        for task in tasks:
            records.append(run_task(task))
            log(describe(records[-1]))
        return records
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_task, task) for task in tasks]
        records = []
        for future in futures:
            records.append(future.result())
            log(describe(records[-1]))
    return records


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated subset of %(default)s")
    parser.add_argument("--columns", default=",".join(DEFAULT_COLUMNS),
                        help=f"comma-separated subset of {','.join(COLUMNS)} (default %(default)s); '' for none")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:JSON",
                        help="an extra column: sj.fit with these options, e.g. "
                             "'memetic:{\"refine\": {\"every\": 5, \"top\": 50}}' (repeatable); skipped with a "
                             "message when the installed sj.fit does not know an option")
    parser.add_argument("--data", default="mixed", help="comma-separated subset of mixed,full (default mixed)")
    parser.add_argument("--rows", dest="noise_kinds", default="clean,noisy",
                        help="comma-separated subset of clean,noisy (default %(default)s)")
    parser.add_argument("--noise", type=float, default=NOISE_LEVEL,
                        help="noise sd as a share of each quantity's std over the training draw (default %(default)s)")
    parser.add_argument("--seeds", type=int, default=None, help=f"seeds per row (default {N_SEEDS}, quick 2)")
    parser.add_argument("--hidden", default=None, help="hidden layers for every problem, e.g. 8,8 (default 16,16)")
    parser.add_argument("--multistart-maxiter", type=int, default=MULTISTART_MAXITER,
                        help="L-BFGS iterations per start of the multistart column (default %(default)s)")
    parser.add_argument("--jenn-options", default=None, help="JSON dict passed to jenn's fit, e.g. '{\"lambd\": 0.1}'")
    parser.add_argument("--threads", type=int, default=1, help="kernel and BLAS threads per process (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, each running whole seeds")
    parser.add_argument("--quick", action="store_true", help="tiny data, short fits, 2 seeds (smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write everything (per seed too) as JSON")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """Command-line entry point; returns what --json writes (for the smoke test)."""
    args = build_parser().parse_args(argv)
    if not 0 < args.noise < 1:
        raise SystemExit(f"--noise must be in (0, 1), got {args.noise}")
    tasks = build_tasks(args)
    env = environment()
    command = "python " + " ".join(shlex.quote(part) for part in
                                   [sys.argv[0] if argv is None else "benchmarks/fit_quality.py",
                                    *(sys.argv[1:] if argv is None else argv)])
    start = time.perf_counter()
    records = run_tasks(tasks, args.jobs, lambda message: print(message, file=sys.stderr, flush=True))
    runtime = time.perf_counter() - start
    rows = aggregate(records)
    targets = compute_targets(rows)
    print(f"# fit quality ({env['date']})\n\ncommand: `{command}`\n")
    for key in ("swarmjac", "jenn", "smt", "numpy", "scipy", "python", "cpu", "load_average_1min"):
        print(f"- {key}: {env[key]}")
    print(f"- sj.fit defaults: validation_fraction={fit_parameter('validation_fraction')!r}, "
          f"alpha={fit_parameter('alpha')!r}, ensemble_size={fit_parameter('ensemble_size')!r}, "
          f"n_particles={fit_parameter('n_particles')!r}, iters={fit_parameter('iters')!r}")
    print(f"- variants: {dict(tasks[0].variants) if tasks[0].variants else 'none'}")
    print(f"- threads per process: {args.threads}; jobs: {args.jobs}; runtime {runtime:.0f} s; "
          f"load average at the end: {os.getloadavg()[0]:.2f}\n")
    print(format_table(rows))
    print("\nvalues: held-out RMSE / std(y) against the noise-free truth; partials: mean over j of "
          "RMSE_j * std(x_j) / std(y); median and worst over seeds; time: median wall time of training; "
          "val/held-out: the fit's validation_error.values over the held-out value error.\n")
    print("Targets\n")
    print(format_targets(targets))
    ensemble = format_ensemble(rows)
    if ensemble:
        print("\nEnsembles (res.ensemble of the sj.fit columns: values on the test set)\n")
        print(ensemble)
    output = {"command": command, "environment": env, "runtime_s": runtime, "rows": rows, "targets": targets,
              "records": records}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(output, handle, indent=1, default=repr)
    return output


if __name__ == "__main__":
    main()
