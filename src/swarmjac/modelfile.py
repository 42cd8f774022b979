"""Model files: a trained network and one particle, saved and loaded (``sj.save`` / ``sj.load``).

Sits at the end of the flow: training (training.py) or the CLI writes the model, users and ``swarmjac
predict`` read it back. The container is the checksummed, pickle-free ``.npz`` of _io.py.
"""
from __future__ import annotations

import os
from typing import Any, Literal, Union, overload

import numpy as np

from swarmjac._io import atomic_save_npz, load_npz
from swarmjac.network import MLP

__all__ = ["MODEL_KIND", "save", "load"]

#: ``kind`` of model files (see swarmjac._io).
MODEL_KIND = "swarmjac-model"

_PathLike = Union[str, "os.PathLike[str]"]


def save(path: _PathLike, net: MLP, params: Any, **metadata: Any) -> None:
    """Save a trained network to a model file (checksummed ``.npz`` with JSON metadata, no pickle).

    Parameters
    ----------
    path : str or PathLike
        Destination, written atomically; the name is used as given.
    net : MLP
    params : array_like, shape (n_params,)
        One particle.
    **metadata
        JSON-serialisable extras stored with the model (e.g. the training cost); read back by
        ``load(path, with_metadata=True)``.

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


@overload
def load(path: _PathLike, with_metadata: Literal[False] = ...) -> tuple[MLP, np.ndarray]: ...


@overload
def load(path: _PathLike, with_metadata: Literal[True]) -> tuple[MLP, np.ndarray, dict[str, Any]]: ...


def load(path: _PathLike, with_metadata: bool = False) -> Any:
    """Load a model file written by :func:`save`, validating every field; the file is read once.

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
        If the file is corrupted, not a swarmjac model, from a newer format, or its fields are
        inconsistent (unknown activation, parameter count that does not match the layers,
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
    if not isinstance(with_metadata, (bool, np.bool_)):
        raise TypeError(f"with_metadata must be a bool, got {type(with_metadata).__name__}")
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
    if not with_metadata:
        return net, params
    metadata = meta.get("extra", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: the model's metadata must be a JSON object, got {type(metadata).__name__}")
    return net, params, metadata
