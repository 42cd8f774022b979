"""Training a network by PSO (``fit``) and model files (``save`` / ``load``).

Glue between the network (network.py, which provides the fused fitness as an objective) and the optimiser
(pso.py, which only sees that objective). Model files are checksummed .npz with JSON metadata, never
pickle (see _io.py).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional, Union

import numpy as np

from swarmjac._io import atomic_save_npz, load_npz
from swarmjac._validation import check_positive_int
from swarmjac.data import Dataset
from swarmjac.network import MLP
from swarmjac.pso import PSO
from swarmjac.results import FitResult

__all__ = ["FitResult", "fit", "save", "load", "MODEL_KIND"]

#: ``kind`` of model files (see swarmjac._io).
MODEL_KIND = "swarmjac-model"


def fit(net: MLP, data: Dataset, n_particles: int = 100, iters: int = 500, seed: Any = None, *,
        init_params: Optional[np.ndarray] = None, n_threads: Optional[int] = None, mode: str = "auto",
        callback: Optional[Callable] = None, progress: Optional[bool] = False,
        checkpoint_path: Optional[Union[str, os.PathLike]] = None, checkpoint_every: Optional[int] = None,
        resume: Optional[Union[str, os.PathLike]] = None, objective: Optional[Callable] = None,
        **pso_options: Any) -> FitResult:
    """Train ``net`` on ``data`` by particle swarm optimisation of the fused fitness.

    Parameters
    ----------
    net : MLP
        The network to train.
    data : Dataset
        Value and derivative observations.
    n_particles : int, default 100
        Swarm size.
    iters : int, default 500
        Total number of PSO iterations of the run (a resumed run only does what is left).
    seed : int, numpy.random.Generator or None
        One seed for the initial swarm and the optimiser: the same seed gives the same result.
    init_params : ndarray, shape (n_particles, n_params), optional
        Initial swarm. Default: ``net.init_params(n_particles)`` from the seed.
    n_threads : int or None
        Threads of the fitness kernel (None: every core).
    mode : {"auto", "forward", "reverse"}
        Derivative accumulation of the fitness kernel.
    callback : callable, optional
        ``callback(optimizer, iteration, best_cost)``; returning True stops the run.
    progress : bool or None, default False
        Progress bar (needs tqdm); None shows it only on a terminal.
    checkpoint_path : str or PathLike, optional
        Where to checkpoint the optimiser (atomically) every ``checkpoint_every`` iterations and
        at the end.
    checkpoint_every : int, optional
        Checkpoint period in iterations.
    resume : str or PathLike, optional
        A checkpoint to continue from instead of starting a new swarm; the run then goes on until
        ``iters`` iterations in total. ``n_particles``, ``seed``, ``init_params`` and
        ``pso_options`` are then taken from the checkpoint.
    objective : callable, optional
        The fitness to minimise, ``(P, n_params) -> (P,)``; default ``net.objective(data, n_threads,
        mode)``. For an objective that computes the same numbers elsewhere, e.g.
        :class:`swarmjac.distributed.DaskObjective`.
    **pso_options
        Passed to :class:`swarmjac.PSO` (``topology``, ``bounds``, ``w``, ``c1``, ``c2``,
        ``velocity_clamp``, ``ftol``, ...).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> X = np.linspace(-1, 1, 20)[:, None]
    >>> data = sj.Dataset(X, y=2 * X, dydx=np.full((20, 1), 2.0))
    >>> res = sj.fit(sj.MLP([1, 1], activations=["linear"]), data, n_particles=20, iters=200, seed=0)
    >>> bool(res.cost < 1e-10)
    True
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
    iters = check_positive_int(iters, "iters", minimum=0)
    if objective is None:
        objective = net.objective(data, n_threads=n_threads, mode=mode)
    elif not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
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
        pso_options.setdefault("n_iters_total", iters if iters > 0 else None)
        optimizer = PSO(n_particles, net.n_params, init_pos=init_params, seed=rng, **pso_options)
        remaining = iters
    result = optimizer.run(objective, remaining, callback=callback, progress=progress,
                           checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every)
    return FitResult(net=net, params=result.best_position, cost=float(result.best_cost),
                     history=result.history, optimizer=optimizer, pso_result=result)


def save(path: Union[str, os.PathLike], net: MLP, params: Any, **metadata: Any) -> None:
    """Save a trained network to a model file (checksummed ``.npz`` with JSON metadata, no pickle).

    Parameters
    ----------
    path : str or PathLike
        Destination, written atomically; the name is used as given.
    net : MLP
    params : array_like, shape (n_params,)
        One particle.
    **metadata
        JSON-serialisable extras stored with the model (e.g. the training cost).

    Examples
    --------
    >>> import os, tempfile, numpy as np, swarmjac as sj
    >>> net = sj.MLP([2, 3, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> sj.save(path, net, np.zeros(net.n_params))
    >>> sj.load(path)[0]
    MLP([2, 3, 1], activations=['tanh', 'linear'])
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
    params = np.asarray(params)
    if params.dtype.kind not in "biuf":
        raise TypeError(f"params must be a real array, got dtype {params.dtype}")
    params = np.ascontiguousarray(params, dtype=np.float64)
    if params.shape != (net.n_params,):
        raise ValueError(f"params must have shape ({net.n_params},) for {net!r}, got {params.shape}")
    if not np.all(np.isfinite(params)):
        raise ValueError("params must be finite to be saved as a model")
    atomic_save_npz(path, {"params": params}, {"network": net.to_dict(), "extra": metadata}, kind=MODEL_KIND)


def load(path: Union[str, os.PathLike]) -> tuple[MLP, np.ndarray]:
    """Load a model file written by :func:`save`, validating every field.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    net : MLP
    params : ndarray, shape (n_params,), float64

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is corrupted, not a swarmjac model, from a newer format, or its fields are
        inconsistent (unknown activation, parameter count that does not match the layers,
        non-finite parameters).
    """
    arrays, meta = load_npz(path, kind=MODEL_KIND)
    where = os.fspath(path)
    try:
        net = MLP.from_dict(meta.get("network"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: invalid network description in model file: {exc}") from None
    params = arrays.get("params")
    if params is None or set(arrays) != {"params"}:
        raise ValueError(f"{where}: a model file holds exactly one array 'params', found {sorted(arrays)}")
    if params.dtype != np.float64 or params.shape != (net.n_params,):
        raise ValueError(f"{where}: params must be float64 of shape ({net.n_params},) for {net!r}, "
                         f"got {params.dtype} {params.shape}")
    if not np.all(np.isfinite(params)):
        raise ValueError(f"{where}: params contain non-finite values")
    return net, params

