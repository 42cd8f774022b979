"""Held-out validation for the trainer: a split of a Dataset's rows stratified by what each row observes.

training.py holds out a share of the observations with :func:`split_rows`, trains on the rest and uses the
held-out rows to choose among candidate models and to stop refinements early; ``FitResult`` reports the
errors on both parts (swarmjac.loss.FitErrors).
"""
from __future__ import annotations

import math
import numbers
import warnings
import zlib
from typing import Any

import numpy as np

__all__ = ["MIN_VALIDATION_ROWS", "check_validation_fraction", "held_out_rows", "split_rows"]

#: Fewer held-out rows than this give a validation error too noisy to choose a model by: the fit then
#: trains on every row and reports no validation error (with a warning).
MIN_VALIDATION_ROWS = 8


def check_validation_fraction(fraction: Any) -> float:
    """Validate ``validation_fraction``: a float in [0, 1) (0 disables validation).

    Examples
    --------
    >>> check_validation_fraction(0.2)
    0.2
    """
    if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"validation_fraction must be a float in [0, 1), got {type(fraction).__name__}")
    fraction = float(fraction)
    if not (math.isfinite(fraction) and 0.0 <= fraction < 1.0):
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
    return fraction


def _observed(data: Any) -> np.ndarray:
    """(N, d_out + d_out * d_in) mask of the observed entries of each row: its values, then its partials."""
    return np.concatenate([~np.isnan(data.y), ~np.isnan(data.dydx).reshape(data.dydx.shape[0], -1)], axis=1)


def observation_pattern(data: Any) -> np.ndarray:
    """A label per row for what it observes (the same label for rows observing the same entries)."""
    _, labels = np.unique(np.packbits(_observed(data), axis=1), axis=0, return_inverse=True)
    return labels.reshape(-1)


def split_rows(data: Any, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices, stratified by what each row observes.

    Every group of rows that observe the same entries (the value only, one partial, ...) gives
    ``round(fraction * size)`` rows to the validation part, but always keeps at least one row for
    training. Rows that observe nothing stay in the training part (they are ignored there).

    Parameters
    ----------
    data : Dataset
    fraction : float
        Share of each group to hold out, in [0, 1).
    rng : numpy.random.Generator

    Returns
    -------
    train_rows, validation_rows : ndarray of int
        Sorted row indices. ``validation_rows`` is empty when ``fraction`` is 0, or (with a
        ``UserWarning``) when fewer than :data:`MIN_VALIDATION_ROWS` rows would be held out: then every
        row is used for training.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> X = np.arange(40.0)[:, None]
    >>> y = np.where(np.arange(40) % 2 == 0, X[:, 0], np.nan)          # 20 value rows
    >>> dydx = np.where(np.arange(40) % 2 == 1, 1.0, np.nan)[:, None]   # 20 partial rows
    >>> train, held_out = split_rows(sj.Dataset(X, y=y, dydx=dydx), 0.2, np.random.default_rng(0))
    >>> len(train), len(held_out), int(np.sum(held_out % 2))             # 4 of each kind held out
    (32, 8, 4)
    """
    n_rows = data.X.shape[0]
    everything = np.arange(n_rows)
    if fraction == 0.0:
        return everything, everything[:0]
    labels = observation_pattern(data)
    observes = _observed(data).any(axis=1)
    held_out = []
    for label in np.unique(labels[observes]):
        rows = np.flatnonzero((labels == label) & observes)
        n_held = min(int(round(fraction * len(rows))), len(rows) - 1)
        if n_held > 0:
            held_out.append(rng.permutation(rows)[:n_held])
    validation = np.sort(np.concatenate(held_out)) if held_out else everything[:0]
    if len(validation) < MIN_VALIDATION_ROWS:
        warnings.warn(f"validation_fraction={fraction} holds out only {len(validation)} of {n_rows} rows "
                      f"(fewer than {MIN_VALIDATION_ROWS}): training on every row without validation",
                      UserWarning, stacklevel=3)
        return everything, everything[:0]
    return np.setdiff1d(everything, validation), validation


def held_out_rows(data: Any, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The trainer's split: :func:`split_rows` with a random generator seeded by the data's contents.

    The held-out rows depend only on which entries each row observes (not on the values, so the same data
    in other units holds out the same rows), so that runs with different seeds are compared on the same
    rows and a resumed run (which takes no seed) holds out the same rows as the first.

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> data = sj.Dataset(np.arange(50.0)[:, None], y=np.arange(50.0))
    >>> train, held_out = held_out_rows(data, 0.2)
    >>> len(held_out), bool(np.array_equal(held_out, held_out_rows(data, 0.2)[1]))
    (10, True)
    """
    # Seeded by which entries each row observes, not by their values: the same data in other units (or
    # rescaled by the trainer) holds out the same rows.
    observed = _observed(data)
    digest = zlib.crc32(np.packbits(observed).tobytes() + np.int64(observed.shape[0]).tobytes())
    return split_rows(data, fraction, np.random.default_rng(digest))
