"""Training a network (``fit``): data scaling, particle swarm optimisation and gradient refinement.

Glue between the data (data.py, scaling.py), the network's fused fitness and its gradient (network.py), the
optimiser (swarmjac.pso, which only sees an objective) and the gradient refiner (refine.py). The swarm
explores in the standardised space, L-BFGS polishes its best personal bests every few iterations and at
the end, and the result is folded back into the user's units. Model files live in modelfile.py.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np

from swarmjac._validation import check_positive_int
from swarmjac.data import Dataset
from swarmjac.modelfile import MODEL_KIND, load, save  # noqa: F401  (moved; re-exported for old imports)
from swarmjac.network import MLP
from swarmjac.pso import PSO
from swarmjac.pso.progress import progress_bar
from swarmjac.refine import RefineOptions, polish, refine_positions
from swarmjac.results import FitResult, RefineRecord
from swarmjac.scaling import Standardizer

__all__ = ["FitResult", "RefineRecord", "fit", "save", "load", "MODEL_KIND"]


def fit(net: MLP, data: Dataset, n_particles: int = 50, iters: int = 200, seed: Any = None, *,
        scale: bool = True, refine: Union[None, str, dict, RefineOptions] = "lbfgs",
        init_params: Optional[np.ndarray] = None, n_threads: Optional[int] = None, mode: str = "auto",
        callback: Optional[Callable] = None, progress: Optional[bool] = False,
        checkpoint_path: Optional[Union[str, os.PathLike]] = None, checkpoint_every: Optional[int] = None,
        resume: Optional[Union[str, os.PathLike]] = None, objective: Optional[Callable] = None,
        client: Any = None, **pso_options: Any) -> FitResult:
    """Train ``net`` on ``data``: standardise, explore with a particle swarm, refine by gradient.

    By default the inputs and outputs are standardised (partials by the chain rule), the swarm explores
    the standardised problem, L-BFGS (SciPy) refines the best personal bests every ``refine.every``
    iterations and puts them back into the swarm, and the best particles are polished at the end. The
    returned parameters work on raw-unit inputs and give raw-unit outputs and partials.
    ``scale=False, refine=None`` is the plain PSO of earlier versions.

    Parameters
    ----------
    net : MLP
        The network to train.
    data : Dataset
        Value and derivative observations, in the user's units.
    n_particles : int, default 50
        Swarm size.
    iters : int, default 200
        Total number of PSO iterations of the run (a resumed run only does what is left). With the
        default refinement the swarm explores and L-BFGS decides the result: more iterations buy little
        (benchmarks/fit_quality.py).
    seed : int, numpy.random.Generator or None
        One seed for the initial swarm and the optimiser: the same seed gives the same result.
    scale : bool, default True
        Standardise inputs and outputs (see :class:`swarmjac.scaling.Standardizer`). With a non-linear
        output activation only the inputs are standardised (the output map cannot be folded into the
        network exactly).
    refine : None, "lbfgs", dict or RefineOptions, default "lbfgs"
        Gradient refinement: None for plain PSO; a dict overrides fields of :class:`RefineOptions`
        (``every``, ``top``, ``maxiter``, ``final_top``, ``final_maxiter``, ``gtol``).
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
    if objective is not None and client is not None:
        raise ValueError("pass objective or client, not both")
    if objective is not None and scale:
        raise ValueError("objective= evaluates raw-unit parameters, so it needs scale=False "
                         "(or pass client= to evaluate the standardised problem on Dask)")
    scaler = Standardizer.for_network(net, data) if scale else None
    train_data = scaler.transform(data) if scaler is not None else data
    if objective is not None and not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    if client is not None:
        from swarmjac.distributed import DaskObjective

        with DaskObjective(client, net, train_data, n_threads=n_threads, mode=mode) as dask_objective:
            return _fit(net, data, train_data, scaler, dask_objective, refine_options, n_particles, iters,
                        seed, init_params, n_threads, mode, callback, progress, checkpoint_path,
                        checkpoint_every, resume, pso_options)
    if objective is None:
        objective = net.objective(train_data, n_threads=n_threads, mode=mode)
    return _fit(net, data, train_data, scaler, objective, refine_options, n_particles, iters, seed,
                init_params, n_threads, mode, callback, progress, checkpoint_path, checkpoint_every, resume,
                pso_options)


def _fit(net: MLP, data: Dataset, train_data: Dataset, scaler: Optional[Standardizer], objective: Callable,
         refine_options: Optional[RefineOptions], n_particles: int, iters: int, seed: Any,
         init_params: Optional[np.ndarray], n_threads: Optional[int], mode: str, callback: Optional[Callable],
         progress: Optional[bool], checkpoint_path: Any, checkpoint_every: Optional[int], resume: Any,
         pso_options: dict) -> FitResult:
    """fit() once its arguments are checked and its objective is built."""

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
                                                     refine_options.maxiter, refine_options.gtol, n_threads)
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
    best, train_cost = np.array(result.best_position, dtype=np.float64), float(result.best_cost)
    if refine_options is not None and refine_options.final_top and refine_options.final_maxiter \
            and not interrupted:
        try:
            best, train_cost = _final_polish(net, train_data, optimizer, refine_options, n_threads, progress,
                                             records, train_cost)
        except KeyboardInterrupt:
            interrupted = True  # keep the best found before the polish
    params = scaler.to_raw_params(net, best) if scaler is not None else best
    cost = float(net.fitness(params, data, n_threads=n_threads, mode=mode))
    return FitResult(net=net, params=params, cost=cost, history=result.history, optimizer=optimizer,
                     pso_result=result, scaler=scaler, train_cost=train_cost, refinements=tuple(records),
                     interrupted=interrupted)


def _final_polish(net: MLP, train_data: Dataset, optimizer: PSO, options: RefineOptions,
                  n_threads: Optional[int], progress: Optional[bool], records: list,
                  best_cost: float) -> tuple[np.ndarray, float]:
    """Polish the swarm's best personal bests (refine.polish), with a progress bar when asked; the swarm
    itself is left as the swarm phase ended."""
    start = time.perf_counter()
    bar = progress_bar(progress, 1, desc=f"L-BFGS polish of {min(options.final_top, optimizer.n_particles)}")
    # The personal bests hold the swarm's best, so polish() returns it unless a polished point beats it.
    best, after, n_polished, n_evals = polish(net, train_data, optimizer.pbest_positions, optimizer.pbest_costs,
                                              options, n_threads)
    records.append(RefineRecord(optimizer.iteration, "final", n_polished, best_cost, after, n_evals,
                                time.perf_counter() - start))
    if bar is not None:
        bar.set_postfix_str(f"{best_cost:.3g} -> {after:.3g}")
        bar.update(1)
        bar.close()
    return best, after


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
