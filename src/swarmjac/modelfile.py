"""Model files: a trained network and one particle, or an ensemble of K particles, saved and loaded
(``sj.save`` / ``sj.load`` / ``sj.load_ensemble``).

Sits at the end of the flow: training (training.py) or the CLI writes the model, users and ``swarmjac
predict`` read it back. The container is the checksummed, pickle-free ``.npz`` of _io.py.

Layout (kind ``swarmjac-model``): one array ``params`` and the JSON metadata ``{"network": net.to_dict(),
"extra": {user metadata}}``. A single model stores ``params`` of shape (n_params,) (as since 0.1.0); an
ensemble stores ``params`` of shape (K, n_params) and adds ``"ensemble_size": K`` to the metadata. ``load``
refuses an ensemble file with a message that names ``load_ensemble``; swarmjac 0.1.0 refuses it for its
parameter shape. Neither reads an ensemble as one model.
"""
from __future__ import annotations

import os
from typing import Any, Literal, Optional, Union, overload

import numpy as np

from swarmjac._io import atomic_save_npz, load_npz
from swarmjac.ensemble import Ensemble
from swarmjac.network import MLP

__all__ = ["MODEL_KIND", "save", "load", "load_ensemble"]

#: ``kind`` of model files (see swarmjac._io).
MODEL_KIND = "swarmjac-model"

_PathLike = Union[str, "os.PathLike[str]"]


def save(path: _PathLike, net: Union[MLP, Ensemble], params: Any = None, **metadata: Any) -> None:
    """Save a trained network, or an ensemble, to a model file (checksummed ``.npz`` with JSON metadata, no
    pickle).

    Parameters
    ----------
    path : str or PathLike
        Destination, written atomically; the name is used as given.
    net : MLP or Ensemble
        The network (then ``params`` is required), or an :class:`~swarmjac.Ensemble` (then ``params`` must
        be omitted: the ensemble holds its members).
    params : array_like, shape (n_params,) or (K, n_params)
        One particle: a single-model file, read by :func:`load`. A 2-D array of K members (K >= 1): an
        ensemble file, read by :func:`load_ensemble` (as ``sj.save(path, sj.Ensemble(net, params))``).
        Stored as float64; must be finite.
    **metadata
        JSON-serialisable extras stored with the model (e.g. the training cost); read back by
        ``load(path, with_metadata=True)`` or ``load_ensemble(path, with_metadata=True)``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, swarmjac as sj
    >>> net = sj.MLP([2, 3, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> sj.save(path, net, np.zeros(net.n_params))
    >>> sj.load(path)[0]
    MLP([2, 3, 1], activations=['tanh', 'linear'])

    An ensemble of three members:

    >>> sj.save(path, sj.Ensemble(net, np.zeros((3, net.n_params))), cost=0.5)
    >>> sj.load_ensemble(path)
    Ensemble(MLP([2, 3, 1], activations=['tanh', 'linear']), size=3)
    """
    if isinstance(net, Ensemble):
        if params is not None:
            raise TypeError("save(path, ensemble) takes no params: the ensemble holds its members "
                            "(for a network and a parameter array, call save(path, net, params))")
        net, params = net.net, net.members
    elif not isinstance(net, MLP):
        raise TypeError(f"net must be a swarmjac.MLP or a swarmjac.Ensemble, got {type(net).__name__}")
    elif params is None:
        raise TypeError("save(path, net, params) needs params: one particle (n_params,) or an ensemble "
                        "(K, n_params)")
    params = np.asarray(params)
    if params.dtype.kind not in "biuf":
        raise TypeError(f"params must be a real array, got dtype {params.dtype}")
    params = np.ascontiguousarray(params, dtype=np.float64)
    if params.ndim == 2 and params.shape[1:] == (net.n_params,) and params.shape[0] >= 1:
        ensemble_size: Optional[int] = params.shape[0]
    elif params.shape == (net.n_params,):
        ensemble_size = None
    else:
        raise ValueError(f"params must have shape ({net.n_params},) (one model) or (K, {net.n_params}) with "
                         f"K >= 1 (an ensemble) for {net!r}, got {params.shape}")
    if not np.all(np.isfinite(params)):
        raise ValueError("params must be finite to be saved as a model")
    meta: dict[str, Any] = {"network": net.to_dict(), "extra": metadata}
    if ensemble_size is not None:
        meta["ensemble_size"] = ensemble_size
    atomic_save_npz(path, {"params": params}, meta, kind=MODEL_KIND)


def _read(path: _PathLike) -> tuple[MLP, np.ndarray, Optional[int], dict[str, Any]]:
    """Read and validate a model file once: (net, params, ensemble size or None, metadata)."""
    arrays, meta = load_npz(path, kind=MODEL_KIND)
    where = os.fspath(path)
    try:
        net = MLP.from_dict(meta.get("network"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: invalid network description in model file: {exc}") from None
    params = arrays.get("params")
    if params is None or set(arrays) != {"params"}:
        raise ValueError(f"{where}: a model file holds exactly one array 'params', found {sorted(arrays)}")
    ensemble_size = meta.get("ensemble_size")
    if ensemble_size is None:
        expected: tuple[int, ...] = (net.n_params,)
    elif isinstance(ensemble_size, int) and not isinstance(ensemble_size, bool) and ensemble_size >= 1:
        expected = (ensemble_size, net.n_params)
    else:
        raise ValueError(f"{where}: ensemble_size must be an int >= 1, got {ensemble_size!r}")
    if params.dtype != np.float64 or params.shape != expected:
        raise ValueError(f"{where}: params must be float64 of shape {expected} for {net!r}, "
                         f"got {params.dtype} {params.shape}")
    if not np.all(np.isfinite(params)):
        raise ValueError(f"{where}: params contain non-finite values")
    metadata = meta.get("extra", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: the model's metadata must be a JSON object, got {type(metadata).__name__}")
    return net, params, ensemble_size, metadata


def _check_with_metadata(with_metadata: Any) -> None:
    if not isinstance(with_metadata, (bool, np.bool_)):
        raise TypeError(f"with_metadata must be a bool, got {type(with_metadata).__name__}")


@overload
def load(path: _PathLike, with_metadata: Literal[False] = ...) -> tuple[MLP, np.ndarray]: ...


@overload
def load(path: _PathLike, with_metadata: Literal[True]) -> tuple[MLP, np.ndarray, dict[str, Any]]: ...


def load(path: _PathLike, with_metadata: bool = False) -> Any:
    """Load a single-model file written by :func:`save`, validating every field; the file is read once.

    An ensemble file is refused (a :class:`ValueError` that names :func:`load_ensemble`), so code that
    expects one parameter vector never receives K of them.

    Parameters
    ----------
    path : str or PathLike
    with_metadata : bool, default False
        Also return the metadata passed to :func:`save` (so a caller that needs both reads the
        file only once).

    Returns
    -------
    net : MLP
    params : ndarray, shape (n_params,), float64
    metadata : dict
        Only with ``with_metadata=True``: the ``**metadata`` given to :func:`save` (empty if none).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    TypeError
        If ``with_metadata`` is not a bool.
    ValueError
        If the file is corrupted, not a swarmjac model, from a newer format, an ensemble, or its fields
        are inconsistent (unknown activation, parameter count that does not match the layers,
        non-finite parameters, metadata that is not a JSON object).

    Examples
    --------
    >>> import os, tempfile, numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 2, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> sj.save(path, net, np.ones(net.n_params), cost=0.25, inputs=["t"])
    >>> net, params, metadata = sj.load(path, with_metadata=True)
    >>> net.n_params, metadata
    (7, {'cost': 0.25, 'inputs': ['t']})
    """
    _check_with_metadata(with_metadata)
    net, params, ensemble_size, metadata = _read(path)
    if ensemble_size is not None:
        raise ValueError(f"{os.fspath(path)} holds an ensemble of {ensemble_size} "
                         f"model{'s' if ensemble_size != 1 else ''}, not one model: "
                         f"read it with swarmjac.load_ensemble(path)")
    return (net, params, metadata) if with_metadata else (net, params)


@overload
def load_ensemble(path: _PathLike, with_metadata: Literal[False] = ...) -> Ensemble: ...


@overload
def load_ensemble(path: _PathLike, with_metadata: Literal[True]) -> tuple[Ensemble, dict[str, Any]]: ...


def load_ensemble(path: _PathLike, with_metadata: bool = False) -> Any:
    """Load any model file written by :func:`save` as an :class:`~swarmjac.Ensemble`; the file is read once.

    An ensemble file gives its K members, a single-model file an ensemble of one member (whose spread is
    zero), so a consumer of ensembles reads both kinds.

    Parameters
    ----------
    path : str or PathLike
    with_metadata : bool, default False
        Also return the metadata passed to :func:`save`.

    Returns
    -------
    ensemble : Ensemble
        Members float64, in the order they were saved.
    metadata : dict
        Only with ``with_metadata=True``: the ``**metadata`` given to :func:`save` (empty if none).

    Raises
    ------
    FileNotFoundError, TypeError, ValueError
        As :func:`load` (but an ensemble file is accepted).

    Examples
    --------
    >>> import os, tempfile, numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])
    >>> path = os.path.join(tempfile.mkdtemp(), "ensemble.npz")
    >>> sj.save(path, net, [[1.0, 0.0], [3.0, 0.0]], cost=0.1)
    >>> ensemble, metadata = sj.load_ensemble(path, with_metadata=True)
    >>> ensemble.size, metadata, ensemble.predict([[1.0]])
    (2, {'cost': 0.1}, array([[2.]]))
    >>> sj.load(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... holds an ensemble of 2 models, not one model: read it with swarmjac.load_ensemble(path)
    """
    _check_with_metadata(with_metadata)
    net, params, _, metadata = _read(path)
    ensemble = Ensemble(net, params.reshape(-1, net.n_params))
    return (ensemble, metadata) if with_metadata else ensemble
