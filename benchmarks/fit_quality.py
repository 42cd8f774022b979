"""Fit-quality benchmark: held-out accuracy and training wall time of ``sj.fit`` against JENN.

Where compare.py measures how fast the kernels are, this script measures what a user takes home: problems
with known derivatives in their physical units (swarmjac's demo and SMT's Branin, Rosenbrock 4-D and
WaterFlow 8-D), trained on full-gradient rows and on mixed single-quantity rows, scored on fresh points.
Usage: ``python benchmarks/fit_quality.py [--problems demo,branin] [--threads 1] [--quick] [--json out.json]
[--sj-option refine.final_maxiter=5000] [--sj-option refine=None] [--jenn-option lambd=0.1]``; with no
options it runs the setting recommended for ``sj.fit`` (SJ_DEFAULTS) beside plain PSO and time-matched JENN.
SMT and JENN are benchmark-only dependencies (``pip install smt jenn``), imported only here and only when
asked for.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import inspect
import json
import os
import platform
import shlex
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
from scipy.stats import qmc

import swarmjac as sj
from swarmjac.demo import DOMAIN as DEMO_DOMAIN, demo_function, demo_gradient

#: Fresh points of the held-out set.
N_TEST = 2000
#: JENN's iterations of the shorter calibration fit that measures its time per iteration (the longer: 4x).
JENN_CALIBRATION_ITERS = 50
#: swarmjac options used unless the command line (or a problem's own ``iters``) overrides them: one setting
#: for every problem, sj.fit's own defaults (tuned with this script: a small swarm to explore, then a long
#: L-BFGS polish of the best particle; see the tuning tables in RESULTS.md), spelled out for the table.
SJ_DEFAULTS: dict[str, Any] = {"n_particles": 50, "iters": 200, "refine": {}}
#: Plain PSO beside it: the swarm size of the pre-hybrid benchmark; its iterations are matched to the
#: hybrid fit's wall time (from a calibration run of PSO_CALIBRATION_ITERS) unless the user sets iters.
PSO_ONLY = {"n_particles": 200}
PSO_CALIBRATION_ITERS = 50
#: What the quick (smoke) setting changes.
QUICK = {"n_train": 30, "iters": 20, "n_particles": 30, "n_test": 300, "hidden": [(8,)],
         "refine": {"final_maxiter": 300}}

Truth = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Problem:
    """A test function with its exact gradient, its domain and the benchmark's settings for it.

    Attributes
    ----------
    name : str
    domain : ndarray, shape (d, 2)
        Lower and upper bound of each input, in the problem's physical units.
    function : callable
        ``function(X (N, d)) -> (N,)``.
    gradient : callable
        ``gradient(X (N, d)) -> (N, d)``, the exact partials.
    n_train : int
        Training rows (the same number for full-gradient and for mixed data).
    hidden : list of tuple of int
        Hidden layer sizes to train (each is one network, the same for every method).
    iters : int or None
        PSO iterations of swarmjac's fit (None: SJ_DEFAULTS's).
    """

    name: str
    domain: np.ndarray
    function: Truth
    gradient: Truth
    n_train: int
    hidden: list = field(default_factory=lambda: [(16, 16)])
    iters: Optional[int] = None

    @property
    def d(self) -> int:
        """Number of inputs."""
        return self.domain.shape[0]


def _smt_problem(name: str, smt_name: str, n_train: int, hidden: list, **smt_options: Any) -> Problem:
    """An SMT problem wrapped as a Problem; SMT gives the partial along ``x_k`` as ``problem(x, k)``."""
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

    return Problem(name, domain, function, gradient, n_train, hidden)


def get_problem(name: str) -> Problem:
    """The benchmark problem called ``name`` (see PROBLEMS)."""
    if name == "demo":
        # The three sizes of the table: bigger networks should buy accuracy.
        return Problem("demo", np.array([DEMO_DOMAIN, DEMO_DOMAIN]), demo_function, demo_gradient,
                       n_train=300, hidden=[(8,), (16, 16), (32, 32)])
    # A small and a larger network where the larger one fits the full-gradient data better but the mixed
    # rows (1 / (d + 1) of the observations) do not pin it down as well; on Branin [32, 32] fits the mixed
    # rows worse than [16, 16] (measured), so it is left out.
    if name == "branin":
        return _smt_problem(name, "Branin", n_train=100, hidden=[(16, 16)])
    if name == "rosenbrock":
        return _smt_problem(name, "Rosenbrock", n_train=200, hidden=[(8, 8), (16, 16)], ndim=4)
    if name == "waterflow":
        return _smt_problem(name, "WaterFlow", n_train=400, hidden=[(8, 8), (16, 16)])
    raise ValueError(f"unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}")


PROBLEMS = ("demo", "branin", "rosenbrock", "waterflow")
DATA_KINDS = ("full", "mixed")
METHODS = ("swarmjac", "jenn")


# ----------------------------------------------------------------------------------------------------
# Data and metrics


@dataclass(frozen=True)
class TrainingSet:
    """Training rows; NaN marks what a row does not observe. ``y`` (N,), ``dydx`` (N, d)."""

    kind: str
    X: np.ndarray
    y: np.ndarray
    dydx: np.ndarray


def _stable_seed(*parts: Any) -> int:
    """A seed that depends only on its arguments (not on Python's per-process hash salt)."""
    return zlib.crc32(repr(parts).encode())


def make_training_sets(problem: Problem, n_train: int, seed: int) -> dict[str, TrainingSet]:
    """Full-gradient and mixed training sets on the same Latin-hypercube points.

    Full: every row observes the value and every partial. Mixed: row ``i`` observes only the value when
    ``i % (d + 1) == 0``, else only the partial along ``x_{i % (d + 1)}`` (as the demo's thirds do).
    """
    sampler = qmc.LatinHypercube(d=problem.d, rng=_stable_seed(problem.name, "train", seed))
    X = qmc.scale(sampler.random(n_train), problem.domain[:, 0], problem.domain[:, 1])
    y, dydx = problem.function(X), problem.gradient(X)
    observed = np.arange(n_train) % (problem.d + 1)
    mixed_y = np.where(observed == 0, y, np.nan)
    mixed_dydx = np.where(observed[:, None] == np.arange(1, problem.d + 1)[None, :], dydx, np.nan)
    return {"full": TrainingSet("full", X, y, dydx), "mixed": TrainingSet("mixed", X, mixed_y, mixed_dydx)}


def make_test_set(problem: Problem, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_test`` fresh points uniform in the domain, with their true values and partials."""
    rng = np.random.default_rng(_stable_seed(problem.name, "test", seed))
    X = rng.uniform(problem.domain[:, 0], problem.domain[:, 1], size=(n_test, problem.d))
    return X, problem.function(X), problem.gradient(X)


def relative_errors(X: np.ndarray, y: np.ndarray, dydx: np.ndarray, y_pred: np.ndarray,
                    dydx_pred: np.ndarray) -> dict[str, Any]:
    """Held-out errors relative to the spread of the truth.

    Values: ``RMSE / std(y)``. Partial ``j``: ``RMSE_j * std(x_j) / std(y)``, i.e. in units of
    spread(y) / spread(x_j), so that a partial that is near zero everywhere does not dominate.
    """
    spread_y = float(np.std(y))
    value = float(np.sqrt(np.mean((y_pred - y) ** 2))) / spread_y
    partials = np.sqrt(np.mean((dydx_pred - dydx) ** 2, axis=0)) * np.std(X, axis=0) / spread_y
    return {"value_rel_rmse": value, "partial_rel_rmse": float(np.mean(partials)),
            "partial_rel_rmse_each": [float(p) for p in partials]}


def null_errors(X: np.ndarray, y: np.ndarray, dydx: np.ndarray) -> dict[str, Any]:
    """The errors of the constant model ``mean(y)`` (zero partials): what "learned nothing" scores."""
    return relative_errors(X, y, dydx, np.full_like(y, np.mean(y)), np.zeros_like(dydx))


# ----------------------------------------------------------------------------------------------------
# Methods


def parse_options(pairs: Sequence[str], argument: str) -> dict[str, Any]:
    """``["refine=None", "iters=300"]`` -> ``{"refine": None, "iters": 300}`` (Python literals, else str).

    A dotted key sets one entry of a dict option: ``refine.final_maxiter=1000`` gives
    ``{"refine": {"final_maxiter": 1000}}`` (merged with other ``refine.*`` pairs and with a ``refine=``
    dict given before it).
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        parts = key.split(".")
        if not sep or len(parts) > 2 or not all(part.isidentifier() for part in parts):
            raise SystemExit(f"{argument} takes KEY=VALUE or KEY.FIELD=VALUE, got {pair!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        if len(parts) == 1:
            options[key] = value
            continue
        outer, inner = parts
        current = options.get(outer, {})
        if not isinstance(current, dict):
            raise SystemExit(f"{argument} {pair!r}: {outer} is already set to {current!r}, not a dict")
        options[outer] = {**current, inner: value}
    return options


def swarmjac_variants(problem_iters: Optional[int], user_options: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The swarmjac fits to run: the default ``sj.fit`` with the user's options, and plain PSO
    (``refine=None`` with PSO_ONLY's swarm unless the user sets n_particles; run_benchmark matches its
    iterations to the first fit's wall time unless the user sets iters) beside it when the installed
    ``sj.fit`` refines and the first fit does.

    A user ``refine`` dict updates the defaults' (SJ_DEFAULTS); ``refine=None`` or a string replaces it.
    """
    options = {**SJ_DEFAULTS, **({} if problem_iters is None else {"iters": problem_iters}), "seed": 0,
               **user_options}
    if isinstance(SJ_DEFAULTS.get("refine"), dict) and isinstance(user_options.get("refine"), dict):
        options["refine"] = {**SJ_DEFAULTS["refine"], **user_options["refine"]}
    variants = [("swarmjac", options)]
    refines = options.get("refine", "lbfgs") is not None and str(options.get("refine")).lower() != "none"
    if _fit_refines() and refines:
        plain = {key: value for key, value in options.items() if key != "refine"}
        variants.append(("swarmjac PSO only", {**plain, **PSO_ONLY, **user_options, "refine": None}))
    return variants


def _fit_refines() -> bool:
    """Whether the installed ``sj.fit`` has the hybrid trainer (a ``refine`` argument)."""
    return "refine" in inspect.signature(sj.fit).parameters


def effective_sj_settings(options: dict[str, Any]) -> dict[str, Any]:
    """What ``sj.fit(**options)`` actually runs with: particles, iterations, scaling and every refine option
    (the installed defaults filled in), so the table says what was measured."""
    settings = {key: value for key, value in options.items() if key not in ("refine", "scale", "seed")}
    if _fit_refines():
        parameters = inspect.signature(sj.fit).parameters
        for key in ("n_particles", "iters"):
            settings.setdefault(key, parameters[key].default)
        settings["scale"] = options.get("scale", parameters["scale"].default)
        refine = sj.RefineOptions.from_argument(options.get("refine", parameters["refine"].default))
        settings["refine"] = None if refine is None else refine.to_dict()
    return settings


def _describe_sj(settings: dict[str, Any]) -> str:
    """Short text of effective_sj_settings for the table."""
    parts = [f"{key}={value!r}" for key, value in settings.items() if key not in ("refine", "scale")]
    if "scale" in settings:
        parts.append(f"scale={settings['scale']}")
    if "refine" in settings:
        r = settings["refine"]
        parts.append("refine=None" if r is None else
                     f"refine: every {r['every']} top {r['top']}x{r['maxiter']}, "
                     f"final {r['final_top']}x{r['final_maxiter']}, gtol {r['gtol']:g}")
    return ", ".join(parts)


def fit_swarmjac(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any]
                 ) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], float, dict[str, Any]]:
    """Train with ``sj.fit(net, data, **options)``; return the predictor, the wall time in seconds and
    where the time went (``refine_s``: refinements during the swarm phase, ``polish_s``: the final polish)."""
    net = sj.MLP(layer_sizes, activations="tanh")
    start = time.perf_counter()
    result = sj.fit(net, sj.Dataset(data.X, y=data.y, dydx=data.dydx), **options)
    wall = time.perf_counter() - start
    records = getattr(result, "refinements", ())
    phases = {"refine_s": sum(r.wall_time for r in records if r.phase == "swarm"),
              "polish_s": sum(r.wall_time for r in records if r.phase == "final"),
              "train_cost": float(getattr(result, "train_cost", result.cost))}

    def predict(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y, J = net.value_and_jacobian(result.params, X)
        return Y[:, 0], J[:, 0, :]

    return predict, wall, phases


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


def fit_jenn(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any]
             ) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], float]:
    """Train ``jenn.NeuralNet(layer_sizes).fit(..., **options)``; return the predictor and the wall time."""
    import jenn
    start = time.perf_counter()
    x, y, dydx, beta, gamma = _jenn_arrays(data, options.get("random_state", 0))
    model = jenn.NeuralNet(layer_sizes, hidden_activation="tanh", output_activation="linear")
    model.fit(x, y, dydx, beta=beta, gamma=gamma, **options)
    wall = time.perf_counter() - start

    def predict(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y, J = model(X.T)
        return Y[0], J[0].T

    return predict, wall


@contextlib.contextmanager
def blas_threads(threads: Optional[int]) -> Iterator[None]:
    """Limit the BLAS threads NumPy (hence JENN) uses to ``threads`` (None: leave them alone)."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("note: threadpoolctl is not installed, so JENN's BLAS threads are not limited", file=sys.stderr)
        yield
        return
    with threadpool_limits(limits=threads):
        yield


def pso_matched_iters(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any],
                      target_seconds: float) -> int:
    """Plain PSO's ``iters`` whose wall time is about ``target_seconds``, from a short calibration fit."""
    _, wall, _ = fit_swarmjac(layer_sizes, data, {**options, "iters": PSO_CALIBRATION_ITERS})
    return max(1, round(target_seconds * PSO_CALIBRATION_ITERS / max(wall, 1e-9)))


def jenn_matched_iters(layer_sizes: list[int], data: TrainingSet, options: dict[str, Any],
                       target_seconds: float) -> int:
    """JENN's ``max_iter`` whose wall time is about ``target_seconds``, from two short calibration fits.

    Two lengths give the time per iteration apart from JENN's fixed start-up cost (normalisation, set-up);
    extrapolating one short fit would count that cost once per iteration and give JENN less time than
    swarmjac (measured: 5-20 % less).
    """
    short, long = JENN_CALIBRATION_ITERS, 4 * JENN_CALIBRATION_ITERS
    _, wall_short = fit_jenn(layer_sizes, data, {**options, "max_iter": short})
    _, wall_long = fit_jenn(layer_sizes, data, {**options, "max_iter": long})
    per_iter = (wall_long - wall_short) / (long - short)
    if per_iter <= 0:  # timer noise: fall back to the long fit's average
        return max(1, round(target_seconds * long / max(wall_long, 1e-9)))
    overhead = max(wall_short - short * per_iter, 0.0)
    return max(1, round((target_seconds - overhead) / per_iter))


# ----------------------------------------------------------------------------------------------------
# Running and reporting


def _format_options(options: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in options.items())


def run_benchmark(problem_names: Sequence[str], methods: Sequence[str], data_kinds: Sequence[str],
                  sj_options: dict[str, Any], jenn_options: dict[str, Any], *, quick: bool = False,
                  jenn_max_iter: Optional[int] = None, hidden: Optional[list] = None, seed: int = 0,
                  threads: Optional[int] = None, log: Callable[[str], None] = lambda message: None
                  ) -> list[dict[str, Any]]:
    """Train every (problem, network, data kind, method) and return one result row each.

    JENN runs after swarmjac on the same data and network with ``max_iter`` chosen so that its wall time
    is about that of the first swarmjac variant (unless ``jenn_max_iter`` fixes it). ``threads`` sets
    swarmjac's ``n_threads`` (unless ``sj_options`` does) and limits JENN's BLAS threads.
    """
    rows = []
    for name in problem_names:
        problem = get_problem(name)
        n_train = QUICK["n_train"] if quick else problem.n_train
        iters = QUICK["iters"] if quick else problem.iters
        n_test = QUICK["n_test"] if quick else N_TEST
        user_sj = ({"n_particles": QUICK["n_particles"], "refine": QUICK["refine"]} if quick else {}) | sj_options
        if quick and isinstance(sj_options.get("refine"), dict):
            user_sj["refine"] = {**QUICK["refine"], **sj_options["refine"]}
        if threads is not None:
            user_sj.setdefault("n_threads", threads)
        X_test, y_test, dydx_test = make_test_set(problem, n_test, seed)
        sets = make_training_sets(problem, n_train, seed)
        for hidden_sizes in hidden or (QUICK["hidden"] if quick else problem.hidden):
            layer_sizes = [problem.d, *hidden_sizes, 1]
            for kind in data_kinds:
                data = sets[kind]
                base = {"problem": name, "d": problem.d, "n_rows": n_train, "data": kind,
                        "layer_sizes": layer_sizes, "n_test": n_test,
                        "null": null_errors(X_test, y_test, dydx_test)}
                sj_wall = None
                runs = []
                if "swarmjac" in methods:
                    for label, options in swarmjac_variants(iters, user_sj):
                        if label == "swarmjac PSO only" and sj_wall is not None and "iters" not in sj_options:
                            options = {**options, "iters": pso_matched_iters(layer_sizes, data, options, sj_wall)}
                            label += " (time-matched)"
                        predict, wall, phases = fit_swarmjac(layer_sizes, data, options)
                        sj_wall = wall if sj_wall is None else sj_wall
                        runs.append((label, effective_sj_settings(options), predict, wall, phases))
                if "jenn" in methods:
                    options = {"is_normalize": True, "random_state": seed, **jenn_options}
                    if jenn_max_iter is not None:
                        options["max_iter"] = jenn_max_iter
                    elif sj_wall is not None and "max_iter" not in jenn_options:
                        with blas_threads(threads):
                            options["max_iter"] = jenn_matched_iters(layer_sizes, data, options, sj_wall)
                    with blas_threads(threads):
                        predict, wall = fit_jenn(layer_sizes, data, options)
                    matched = jenn_max_iter is None and "max_iter" not in jenn_options and sj_wall is not None
                    runs.append(("jenn (time-matched)" if matched else "jenn", options, predict, wall, {}))
                for label, options, predict, wall, phases in runs:
                    y_pred, dydx_pred = predict(X_test)
                    row = {**base, "method": label, "options": dict(options), "wall_s": wall, **phases,
                           **relative_errors(X_test, y_test, dydx_test, y_pred, dydx_pred)}
                    rows.append(row)
                    log(f"{name} {layer_sizes} {kind} {label}: {wall:.1f} s, values "
                        f"{row['value_rel_rmse']:.3g}, partials {row['partial_rel_rmse']:.3g}")
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The result rows as a Markdown table (swarmjac's settings with the installed defaults filled in)."""
    lines = ["| problem | data | rows | method | layers | settings | time s | values | partials |",
             "|---|---|---:|---|---|---|---:|---:|---:|"]
    for row in rows:
        options = {k: v for k, v in row["options"].items() if k not in ("seed", "random_state")}
        settings = _describe_sj(options) if row["method"].startswith("swarmjac") else _format_options(options)
        time_text = f"{row['wall_s']:.3g}"
        if row.get("polish_s") or row.get("refine_s"):
            time_text += f" ({row['refine_s']:.2g} + {row['polish_s']:.2g})"
        lines.append(f"| {row['problem']} ({row['d']}-D) | {row['data']} | {row['n_rows']} | {row['method']} "
                     f"| {row['layer_sizes']} | {settings} | {time_text} "
                     f"| {row['value_rel_rmse']:.3g} | {row['partial_rel_rmse']:.3g} |")
    nulls = {f"{row['problem']}: {row['null']['value_rel_rmse']:.3g} / {row['null']['partial_rel_rmse']:.3g}"
             : None for row in rows}
    lines.append(f"\nThe constant model mean(y) with zero partials scores (values / partials): {'; '.join(nulls)}.")
    if any(row.get("polish_s") or row.get("refine_s") for row in rows):
        lines.append("swarmjac's time in brackets: seconds of L-BFGS refinement during the swarm phase + of "
                     "the final polish (the rest is the swarm).")
    return "\n".join(lines)


def format_targets(rows: Sequence[dict[str, Any]]) -> str:
    """The issue's targets per network as a Markdown table: swarmjac (the first, refining fit) against
    time-matched JENN (error ratio, < 1: swarmjac better; time ratio) and its mixed error over its own
    full-gradient error (target <= 2). Empty when there is nothing to compare."""
    cells: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        method = "swarmjac" if row["method"] == "swarmjac" else "jenn" if row["method"].startswith("jenn") else None
        if method is not None:
            key = (row["problem"], tuple(row["layer_sizes"]))
            cells.setdefault(key, {})[f"{method} {row['data']}"] = row
    lines = ["| problem | layers | data | swarmjac / JENN values | partials | time | swarmjac mixed / full values "
             "| partials |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for (problem, layers), found in cells.items():
        for kind in DATA_KINDS:
            ours, theirs = found.get(f"swarmjac {kind}"), found.get(f"jenn {kind}")
            if ours is None:
                continue
            versus = ("| - | - | -" if theirs is None else
                      f"| {ours['value_rel_rmse'] / theirs['value_rel_rmse']:.2g} "
                      f"| {ours['partial_rel_rmse'] / theirs['partial_rel_rmse']:.2g} "
                      f"| {ours['wall_s'] / theirs['wall_s']:.2f}")
            full, mixed = found.get("swarmjac full"), found.get("swarmjac mixed")
            ratio = ("| - | -" if kind != "mixed" or full is None or mixed is None else
                     f"| {mixed['value_rel_rmse'] / full['value_rel_rmse']:.2g} "
                     f"| {mixed['partial_rel_rmse'] / full['partial_rel_rmse']:.2g}")
            lines.append(f"| {problem} | {list(layers)} | {kind} {versus} {ratio} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def environment() -> dict[str, Any]:
    """Versions of swarmjac, JENN, SMT, NumPy and Python, the CPU and the load average."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"swarmjac": f"{_version('swarmjac')} ({os.path.dirname(sj.__file__)})", "jenn": _version("jenn"),
            "smt": _version("smt"), "numpy": np.__version__, "python": platform.python_version(),
            "cpu": f"{model}, {os.cpu_count()} logical CPUs",
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _csv(text: str, allowed: Sequence[str], argument: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise SystemExit(f"{argument} takes a comma-separated subset of {','.join(allowed)}, got {text!r}")
    return names


def _hidden(text: str) -> list[tuple[int, ...]]:
    try:
        return [tuple(int(size) for size in group.split(",")) for group in text.split()]
    except ValueError:
        raise SystemExit(f"--hidden takes space-separated networks like '8 16,16', got {text!r}") from None


def main(argv: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
    """Command-line entry point; returns the result rows (for the smoke test)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated subset of %(default)s")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of %(default)s")
    parser.add_argument("--data", default=",".join(DATA_KINDS), help="comma-separated subset of %(default)s")
    parser.add_argument("--sj-option", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to sj.fit (Python literal), e.g. refine=None, n_particles=100 or "
                             "refine.final_maxiter=5000 (one field of the refine dict)")
    parser.add_argument("--jenn-option", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to jenn.NeuralNet.fit, e.g. lambd=0.1; max_iter disables matching")
    parser.add_argument("--jenn-max-iter", type=int, default=None, help="fixed max_iter instead of matching")
    parser.add_argument("--hidden", type=_hidden, default=None,
                        help="hidden layers for every problem, e.g. '8 16,16' (default: per problem)")
    parser.add_argument("--threads", type=int, default=None,
                        help="swarmjac's n_threads and JENN's BLAS threads (default: swarmjac on every core, "
                             "BLAS as configured); 1 gives steadier times on a shared machine")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data sets and the fits")
    parser.add_argument("--quick", action="store_true", help="tiny data, few iterations (smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows and the environment as JSON")
    args = parser.parse_args(argv)
    methods = _csv(args.methods, METHODS, "--methods")
    if "jenn" in methods:
        try:
            import jenn  # noqa: F401
        except ImportError:
            raise SystemExit("the JENN comparison needs jenn, a benchmark-only dependency: pip install jenn "
                             "(or run with --methods swarmjac)") from None
    env = environment()
    command = "python " + " ".join(shlex.quote(part) for part in [sys.argv[0], *(argv or sys.argv[1:])])
    print(f"# fit quality ({env['date']})\n\ncommand: `{command}`\n")
    for key in ("swarmjac", "jenn", "smt", "numpy", "python", "cpu", "load_average_1min"):
        print(f"- {key}: {env[key]}")
    print(f"- threads: {'every core for swarmjac, BLAS as configured' if args.threads is None else args.threads}")
    print()
    rows = run_benchmark(_csv(args.problems, PROBLEMS, "--problems"), methods,
                         _csv(args.data, DATA_KINDS, "--data"), parse_options(args.sj_option, "--sj-option"),
                         parse_options(args.jenn_option, "--jenn-option"), quick=args.quick,
                         jenn_max_iter=args.jenn_max_iter, hidden=args.hidden, seed=args.seed,
                         threads=args.threads,
                         log=lambda message: print(message, file=sys.stderr, flush=True))
    print(format_table(rows))
    targets = format_targets(rows)
    if targets:
        print("\nTargets: error ratios swarmjac / time-matched JENN (< 1: swarmjac better), wall-time ratio, "
              "and swarmjac's mixed-row error over its full-gradient error (target <= 2)\n")
        print(targets)
    print("\nvalues: held-out RMSE / std(y); partials: mean over j of RMSE_j * std(x_j) / std(y); "
          f"time: wall time of training. Load average at the end: {environment()['load_average_1min']}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": command, "environment": env, "rows": rows}, handle, indent=1, default=repr)
    return rows


if __name__ == "__main__":
    main()
