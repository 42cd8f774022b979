"""Training a network (``fit``): data scaling, particle swarm optimisation and gradient refinement.

Glue between the data (data.py, scaling.py), the network's fused fitness and its gradient (network.py), the
optimiser (swarmjac.pso, which only sees an objective) and the gradient refiner (refine.py). The swarm
explores in the standardised space, L-BFGS polishes its best personal bests every few iterations and at
the end, and the result is folded back into the user's units. Model files live in modelfile.py.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import signal
import threading
import time
import warnings
from typing import Any, Callable, Iterator, NamedTuple, Optional, Union

import numpy as np

from swarmjac._validation import check_positive_int
from swarmjac.data import Dataset
from swarmjac.loss import FitErrors, check_alpha, fit_errors
from swarmjac.modelfile import MODEL_KIND, load, save  # noqa: F401  (moved; re-exported for old imports)
from swarmjac.network import MLP
from swarmjac.pso import PSO
from swarmjac.pso.progress import progress_bar
from swarmjac.refine import Candidates, RefineOptions, deepen, polish_candidates, refine_positions
from swarmjac.results import FitResult, RefineRecord
from swarmjac.scaling import Standardizer
from swarmjac.validation import check_validation_fraction, held_out_rows

#: Share of the observations held out for validation when ``validation_fraction`` is not given (and the
#: data set is large enough; see swarmjac.validation.MIN_VALIDATION_ROWS). Chosen with
#: benchmarks/fit_quality.py (see benchmarks/RESULTS.md).
DEFAULT_VALIDATION_FRACTION = 0.2
#: Weight decay when ``alpha`` is not given. Chosen with benchmarks/fit_quality.py, clean and noisy.
DEFAULT_ALPHA = 0.0

__all__ = ["DEFAULT_ALPHA", "DEFAULT_VALIDATION_FRACTION", "FitResult", "RefineRecord", "fit", "fit_defaults",
           "save", "load", "MODEL_KIND"]


def fit(net: MLP, data: Dataset, n_particles: int = 8, iters: int = 0, seed: Any = None, *,
        scale: bool = True, refine: Union[None, str, dict, RefineOptions] = "lbfgs",
        validation_fraction: Optional[float] = None, alpha: Optional[float] = None, ensemble_size: int = 1,
        init_params: Optional[np.ndarray] = None, n_threads: Optional[int] = None, mode: str = "auto",
        callback: Optional[Callable] = None, progress: Optional[bool] = False,
        checkpoint_path: Optional[Union[str, os.PathLike]] = None, checkpoint_every: Optional[int] = None,
        resume: Optional[Union[str, os.PathLike]] = None, objective: Optional[Callable] = None,
        client: Any = None, **pso_options: Any) -> FitResult:
    """Train ``net`` on ``data``: hold out rows, standardise, search (multi-start or swarm), polish, choose.

    By default 20 % of the rows are held out (stratified by what each row observes), the inputs and
    outputs are standardised on the rest (partials by the chain rule), 8 starting points are polished at
    once by batched L-BFGS (:mod:`swarmjac.lbfgs`), each keeping its point of lowest held-out cost, the
    held-out rows choose the best, which gets a long polish of its own and then a short one on every row.
    With ``iters > 0`` a particle swarm explores first (its best personal bests refined by L-BFGS every
    ``refine.every`` iterations and put back) and its best personal bests are the candidates. The returned
    parameters work on raw-unit inputs and give raw-unit outputs and partials; ``res.validation_error``
    says how well the chosen model does on the rows it never saw. ``scale=False, refine=None`` is the
    plain PSO of earlier versions.

    Parameters
    ----------
    net : MLP
        The network to train.
    data : Dataset
        Value and derivative observations, in the user's units.
    n_particles : int, default 8
        Swarm size: the starting points (``net.init_params``) of the candidates.
    iters : int, default 0
        Total number of PSO iterations of the run (a resumed run only does what is left). The default
        runs no swarm phase: the 8 starting points are the candidates, polished at once by batched
        L-BFGS, and the held-out rows choose among them. On benchmarks/fit_quality.py, multi-start at
        equal wall time beat the hybrid swarm on 9 of 10 rows (5 seeds each; see benchmarks/RESULTS.md);
        pass e.g. ``n_particles=50, iters=200`` for the hybrid swarm, whose refinements
        (``refine.every``) put L-BFGS points back into it.
    seed : int, numpy.random.Generator or None
        One seed for the initial swarm and the optimiser: the same seed gives the same result.
    scale : bool, default True
        Standardise inputs and outputs (see :class:`swarmjac.scaling.Standardizer`). With a non-linear
        output activation only the inputs are standardised (the output map cannot be folded into the
        network exactly).
    refine : None, "lbfgs", dict or RefineOptions, default "lbfgs"
        Gradient refinement: None for plain PSO; a dict overrides fields of :class:`RefineOptions`
        (``every``, ``top``, ``maxiter``, ``final_top``, ``final_maxiter``, ``gtol``).
    validation_fraction : float in [0, 1) or None
        Share of the observations held out, stratified by what a row observes (the value, each
        partial, ...), to choose the returned model among the polished candidates and to stop their
        polish once the held-out error no longer improves; 0 trains on every row. None: 0.2
        (:data:`DEFAULT_VALIDATION_FRACTION`) when that holds out at least 8 rows
        (``swarmjac.validation.MIN_VALIDATION_ROWS``), else no validation; 0 for plain PSO
        (``refine=None``), which has no candidates to choose from. A fraction given explicitly
        that holds out fewer rows warns and trains on every row. The held-out rows depend only on the
        rows' observation pattern (not on ``seed`` nor on the values), so runs with different seeds, a
        resumed run and the same data in other units hold out the same rows.
    alpha : float >= 0 or None
        L2 weight decay in the standardised space (scikit-learn's ``MLPRegressor`` meaning; see
        :meth:`MLP.fitness`), in the swarm's objective, every refinement and the polish. None:
        :data:`DEFAULT_ALPHA`.
    ensemble_size : int, default 1
        With more than 1, also return the best ``ensemble_size`` polished candidates (by validation
        error when there is validation, else by training cost) as ``res.ensemble``, a model whose
        members' spread flags where they disagree; at least that many candidates are polished.
    init_params : ndarray, shape (n_particles, n_params), optional
        Initial swarm, in the user's units (mapped into the standardised space when scaling). Default:
        ``net.init_params(n_particles)`` from the seed, in the standardised space.
    n_threads : int or None
        Threads of the fitness kernel and particles refined at once (None: every core).
    mode : {"auto", "forward", "reverse"}
        Derivative accumulation of the fitness kernel.
    callback : callable, optional
        ``callback(optimizer, iteration, best_cost)`` after each swarm iteration (and its refinement);
        returning True ends the swarm phase (the final polish still runs).
    progress : bool or None, default False
        Progress bar (needs tqdm) for both phases; None shows it only on a terminal.
    checkpoint_path : str or PathLike, optional
        Where to checkpoint the optimiser (atomically) every ``checkpoint_every`` iterations and at the
        end of the swarm phase. Refinements are part of the swarm's state, so a resumed run gives the
        same result bit for bit.
    checkpoint_every : int, optional
        Checkpoint period in iterations.
    resume : str or PathLike, optional
        A checkpoint to continue from instead of starting a new swarm; the run then goes on until
        ``iters`` iterations in total. ``n_particles``, ``seed``, ``init_params`` and ``pso_options`` are
        then taken from the checkpoint; ``data``, ``scale`` and ``refine`` must be those of the first run.
    objective : callable, optional
        The fitness the swarm minimises, ``(P, n_params) -> (P,)``, evaluated on raw-unit parameters;
        it must compute ``net.fitness(., data)`` (refinement uses the local data). Needs ``scale=False``.
    client : dask.distributed.Client, optional
        Evaluate the swarm on a Dask cluster (:class:`swarmjac.distributed.DaskObjective` of the
        standardised data); refinement runs locally.
    **pso_options
        Passed to :class:`swarmjac.PSO` (``topology``, ``bounds``, ``w``, ``c1``, ``c2``,
        ``velocity_clamp``, ``ftol``, ...).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> X = np.linspace(900, 1100, 20)[:, None]               # physical units
    >>> data = sj.Dataset(X, y=3e4 * X, dydx=np.full((20, 1), 3e4))
    >>> res = sj.fit(sj.MLP([1, 1], activations=["linear"]), data, n_particles=10, iters=20, seed=0)
    >>> np.round(res.params, 3)                                 # y = 3e4 x, in the user's units
    array([30000.,    -0.])
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a swarmjac.Dataset, got {type(data).__name__}")
    if not isinstance(scale, (bool, np.bool_)):
        raise TypeError(f"scale must be True or False, got {type(scale).__name__}")
    iters = check_positive_int(iters, "iters", minimum=0)
    refine_options = RefineOptions.from_argument(refine)
    ensemble_size = check_positive_int(ensemble_size, "ensemble_size")
    alpha = check_alpha(DEFAULT_ALPHA if alpha is None else alpha)
    if ensemble_size > 1 and refine_options is None:
        raise ValueError("ensemble_size > 1 returns the best polished candidates, so it needs refine "
                         "(got refine=None)")
    if objective is not None and client is not None:
        raise ValueError("pass objective or client, not both")
    if objective is not None and scale:
        raise ValueError("objective= evaluates raw-unit parameters, so it needs scale=False "
                         "(or pass client= to evaluate the standardised problem on Dask)")
    if validation_fraction is None and refine_options is None:
        validation_fraction = 0.0  # plain PSO has one candidate: nothing to choose, so hold nothing out
    split = _validation_split(data, validation_fraction)
    train_raw = data.subset(split.train_rows) if len(split.validation_rows) else data
    scaler = Standardizer.for_network(net, train_raw) if scale else None
    train_data = scaler.transform(train_raw) if scaler is not None else train_raw
    validation_data = None
    if len(split.validation_rows):
        validation_raw = data.subset(split.validation_rows)
        validation_data = scaler.transform(validation_raw) if scaler is not None else validation_raw
    problem = _Problem(net, data, train_data, validation_data, scaler, split, alpha, ensemble_size)
    if objective is not None and not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    if client is not None:
        from swarmjac.distributed import DaskObjective

        with DaskObjective(client, net, train_data, n_threads=n_threads, mode=mode,
                           alpha=alpha) as dask_objective:
            return _fit(problem, dask_objective, refine_options, n_particles, iters, seed, init_params,
                        n_threads, mode, callback, progress, checkpoint_path, checkpoint_every, resume,
                        pso_options)
    if objective is None:
        objective = net.objective(train_data, n_threads=n_threads, mode=mode, alpha=alpha)
    return _fit(problem, objective, refine_options, n_particles, iters, seed, init_params, n_threads, mode,
                callback, progress, checkpoint_path, checkpoint_every, resume, pso_options)


def fit_defaults() -> dict:
    """The keyword defaults of :func:`fit`, by name (one source for the command line and the estimator).

    Examples
    --------
    >>> fit_defaults()["iters"]
    0
    """
    return {name: parameter.default for name, parameter in inspect.signature(fit).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


class _Split(NamedTuple):
    train_rows: np.ndarray
    validation_rows: np.ndarray


class _Problem(NamedTuple):
    """What fit() trains on: the user's data, its standardised training and validation parts."""
    net: MLP
    data: Dataset
    train_data: Dataset
    validation_data: Optional[Dataset]
    scaler: Optional[Standardizer]
    split: _Split
    alpha: float
    ensemble_size: int


def _validation_split(data: Dataset, validation_fraction: Optional[float]) -> _Split:
    """The training and held-out rows (see fit's ``validation_fraction``)."""
    fraction = check_validation_fraction(DEFAULT_VALIDATION_FRACTION if validation_fraction is None
                                         else validation_fraction)
    with warnings.catch_warnings():
        if validation_fraction is None:  # the default quietly gives way on small data sets
            warnings.simplefilter("ignore", UserWarning)
        train_rows, validation_rows = held_out_rows(data, fraction)
    return _Split(train_rows, validation_rows)


def _errors(net: MLP, params: np.ndarray, data: Dataset, rows: np.ndarray, scales: Standardizer) -> FitErrors:
    """Errors of raw-unit ``params`` on ``rows`` of the user's data, relative to the training spread."""
    if len(rows) == 0:
        return FitErrors.nan()
    part = data.subset(rows)
    Y, J = net.value_and_jacobian(params, part.X)
    return fit_errors(Y, J, part, scales.x_scale, scales.y_scale)


def _fit(problem: _Problem, objective: Callable, refine_options: Optional[RefineOptions], n_particles: int,
         iters: int, seed: Any, init_params: Optional[np.ndarray], n_threads: Optional[int], mode: str,
         callback: Optional[Callable], progress: Optional[bool], checkpoint_path: Any,
         checkpoint_every: Optional[int], resume: Any, pso_options: dict) -> FitResult:
    """fit() once its arguments are checked and its objective is built."""
    net, data, train_data, scaler = problem.net, problem.data, problem.train_data, problem.scaler

    if resume is not None:
        if init_params is not None or pso_options:
            raise ValueError("resume takes the swarm and its options from the checkpoint; "
                             "do not pass init_params or PSO options with it")
        optimizer = PSO.load(resume)
        if optimizer.dimensions != net.n_params:
            raise ValueError(f"checkpoint {os.fspath(resume)!r} holds a swarm of dimension "
                             f"{optimizer.dimensions}, but {net!r} has n_params={net.n_params}")
        remaining = max(iters - optimizer.iteration, 0)
    else:
        n_particles = check_positive_int(n_particles, "n_particles")
        rng = np.random.default_rng(seed)
        if init_params is None:
            init_params = net.init_params(n_particles, seed=rng)
        else:
            init_params = np.asarray(init_params, dtype=np.float64)
            if init_params.shape != (n_particles, net.n_params):
                raise ValueError(f"init_params must have shape (n_particles, n_params) = "
                                 f"{(n_particles, net.n_params)}, got {init_params.shape}")
            if scaler is not None:
                init_params = scaler.to_scaled_params(net, init_params)
        pso_options.setdefault("n_iters_total", iters if iters > 0 else None)
        optimizer = PSO(n_particles, net.n_params, init_pos=init_params, seed=rng, **pso_options)
        remaining = iters

    records: list[RefineRecord] = []

    def refine_swarm(opt: PSO, iteration: int) -> None:
        """Refine the best personal bests and put them back into the swarm (during the swarm phase)."""
        start = time.perf_counter()
        order = np.argsort(opt.pbest_costs, kind="stable")[: refine_options.top]
        before = float(opt.best_cost)
        positions, costs, n_evals = refine_positions(net, train_data, opt.pbest_positions[order],
                                                     refine_options.maxiter, refine_options.gtol, n_threads,
                                                     alpha=problem.alpha)
        opt.update_personal_bests(order, positions, costs)
        records.append(RefineRecord(iteration, "swarm", len(order), before, float(opt.best_cost), n_evals,
                                    time.perf_counter() - start))
        opt.set_status(f"refined {len(order)}: {before:.3g} -> {float(opt.best_cost):.3g}")

    def on_iteration(opt: PSO, iteration: int, best_cost: float) -> Any:
        if (refine_options is not None and refine_options.every and refine_options.top
                and iteration % refine_options.every == 0 and iteration < iters):
            # The refinement belongs to this iteration, whose checkpoint follows: Ctrl-C waits for it
            # (tens of milliseconds) so that an interrupted run resumes to the straight run's result.
            with _interrupt_after():
                refine_swarm(opt, iteration)
        return callback(opt, iteration, float(opt.best_cost)) if callback is not None else False

    result = optimizer.run(objective, remaining, callback=on_iteration, progress=progress,
                           checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every)
    interrupted = result.stopped_reason == "interrupted"
    candidates = np.array(result.best_position, dtype=np.float64)[None, :]
    train_cost = float(result.best_cost)
    if refine_options is not None and refine_options.final_top and refine_options.final_maxiter \
            and not interrupted:
        try:
            candidates, train_cost = _final_polish(problem, optimizer, refine_options, n_threads, progress,
                                                   records, train_cost)
        except KeyboardInterrupt:
            interrupted = True  # keep the best found before the polish
    raw_candidates = scaler.to_raw_params(net, candidates) if scaler is not None else candidates
    # The held-out rows judge the chosen model(s) as trained without them (an honest estimate); a refit
    # on every row may follow, whose result they can no longer judge.
    scales = scaler if scaler is not None else Standardizer.from_data(data.subset(problem.split.train_rows))
    validation_error = _errors(net, raw_candidates[0], data, problem.split.validation_rows, scales)
    n_returned = problem.ensemble_size if problem.ensemble_size > 1 else 1
    if (refine_options is not None and refine_options.refit_maxiter and problem.validation_data is not None
            and refine_options.final_top and refine_options.final_maxiter and not interrupted):
        try:
            refit = _refit(problem, candidates[:n_returned], refine_options, n_threads, records)
            candidates = np.concatenate([refit, candidates[n_returned:]])
            raw_candidates = scaler.to_raw_params(net, candidates) if scaler is not None else candidates
        except KeyboardInterrupt:
            interrupted = True  # keep the chosen model(s) as trained on the training rows
    params = raw_candidates[0]
    ensemble = None
    if problem.ensemble_size > 1 and len(raw_candidates) > 1:
        from swarmjac.ensemble import Ensemble

        ensemble = Ensemble(net, raw_candidates[: problem.ensemble_size])
    cost = float(net.fitness(params, data, n_threads=n_threads, mode=mode))
    # Errors relative to the spread of the training rows: the standardiser's scales (computed for the
    # report when the trainer did not scale).
    training_error = _errors(net, params, data, problem.split.train_rows, scales)
    return FitResult(net=net, params=params, cost=cost, history=result.history, optimizer=optimizer,
                     pso_result=result, scaler=scaler, train_cost=train_cost, refinements=tuple(records),
                     interrupted=interrupted, training_error=training_error, validation_error=validation_error,
                     validation_rows=problem.split.validation_rows, ensemble=ensemble, alpha=problem.alpha)


def _final_polish(problem: _Problem, optimizer: PSO, options: RefineOptions, n_threads: Optional[int],
                  progress: Optional[bool], records: list, best_cost: float) -> tuple[np.ndarray, float]:
    """Polish the swarm's best personal bests (refine.polish_candidates) and rank them, best first: by the
    held-out error when there is validation, else by training cost. The swarm itself is left as the swarm
    phase ended. Returns the ranked candidates (scaled space) and the training cost of the first."""
    start = time.perf_counter()
    n_candidates = max(options.final_top, problem.ensemble_size)
    bar = progress_bar(progress, 1, desc=f"L-BFGS polish of {min(n_candidates, optimizer.n_particles)}")
    polished = polish_candidates(problem.net, problem.train_data, optimizer.pbest_positions,
                                 optimizer.pbest_costs, options, n_threads, alpha=problem.alpha,
                                 validation_data=problem.validation_data, n_candidates=n_candidates)
    positions, costs, ranking = _ranked(polished, problem.validation_data is not None)
    n_evaluations = polished.n_evaluations
    deep_maxiter = min(options.deep_maxiter, 5 * options.final_maxiter)
    if deep_maxiter:
        # Breadth first, then depth: the chosen model(s) get a long polish of their own.
        n_chosen = min(max(problem.ensemble_size, 1), len(costs))
        deep = deepen(problem.net, problem.train_data, positions[:n_chosen], deep_maxiter, options.gtol,
                      n_threads, alpha=problem.alpha, validation_data=problem.validation_data,
                      patience=options.deep_patience)
        deep_positions, deep_costs, deep_ranking = _ranked(deep, problem.validation_data is not None)
        positions[:n_chosen], costs[:n_chosen], ranking[:n_chosen] = deep_positions, deep_costs, deep_ranking
        n_evaluations += deep.n_evaluations
    after = float(costs[0])
    records.append(RefineRecord(optimizer.iteration, "final", len(costs), best_cost, after, n_evaluations,
                                time.perf_counter() - start))
    if bar is not None:
        status = f"{best_cost:.3g} -> {after:.3g}"
        if problem.validation_data is not None:
            status += f", held-out {float(ranking[0]):.3g}"
        bar.set_postfix_str(status)
        bar.update(1)
        bar.close()
    return positions, after


def _ranked(candidates: Candidates, by_validation: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, training costs and ranking costs of polished candidates, best first: by the held-out cost
    when there is validation, else by the training cost."""
    ranking = candidates.validation_costs if by_validation else candidates.costs
    order = np.argsort(ranking, kind="stable")
    return candidates.positions[order], candidates.costs[order], ranking[order]


def _refit(problem: _Problem, chosen: np.ndarray, options: RefineOptions, n_threads: Optional[int],
           records: list) -> np.ndarray:
    """Polish the chosen model(s) on every row (training and held-out), in the training rows' scaling."""
    start = time.perf_counter()
    every_row = problem.scaler.transform(problem.data) if problem.scaler is not None else problem.data
    before = float(problem.net.fitness(chosen[0], every_row, n_threads=n_threads, alpha=problem.alpha))
    refit, costs, n_evals = refine_positions(problem.net, every_row, chosen,
                                             min(options.refit_maxiter, options.final_maxiter), options.gtol,
                                             n_threads, alpha=problem.alpha)
    # A refit follows the final polish, whose record is the last one.
    records.append(RefineRecord(records[-1].iteration, "refit", len(chosen), before,
                                float(costs[0]), n_evals, time.perf_counter() - start))
    return refit


@contextlib.contextmanager
def _interrupt_after() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block and raise it as KeyboardInterrupt when the block
    ends. Only in the main thread (elsewhere Python delivers no signals, and the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if previous is signal.default_int_handler:
            raise KeyboardInterrupt
        if callable(previous):
            previous(signal.SIGINT, None)
