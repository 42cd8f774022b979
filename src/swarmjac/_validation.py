"""Input checks and coercions shared by the Python API (network.py, data.py, scaling.py, training.py, pso/,
distributed/).

Everything the compiled core receives passes through here first: dtypes are resolved, arrays made
C-contiguous, shapes checked, and errors name the argument with what was expected and what was received.
"""
from __future__ import annotations

import numbers
import os
import sys
from typing import Any, Optional, Sequence

import numpy as np

__all__ = [
    "as_float_array",
    "result_dtype",
    "check_n_threads",
    "check_size",
    "check_positive_int",
    "check_real",
    "check_choice",
]

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _dtype_of(value: Any, name: str) -> np.dtype:
    """The dtype ``value`` would have as an array, rejecting non-numeric and complex data."""
    if isinstance(value, np.ndarray):
        dtype = value.dtype
    else:
        try:
            dtype = np.asarray(value).dtype
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be a numeric array-like, could not convert it: {exc}") from None
    if dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {dtype}")
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array of float64 or float32 (ints and bools are "
                        f"converted), got dtype {dtype}")
    # Byte order is storage, not type: big-endian float32 is float32 (and is byte-swapped when copied).
    return dtype.newbyteorder("=")


def result_dtype(params: Any, *others: Any, names: tuple[str, ...] = ("params",)) -> np.dtype:
    """Working dtype of a kernel call: float32 only if params is float32 and every other floating input
    is float32 too (ints and bools adopt the params dtype); otherwise float64.

    Parameters
    ----------
    params : array_like
        The swarm (decides the result dtype).
    *others : array_like
        Further inputs (X, targets); a floating input other than float32 promotes to float64.
    names : tuple of str
        Argument names for error messages, ``params`` first.

    Returns
    -------
    numpy.dtype
        float32 or float64.
    """
    labels = list(names) + [f"argument {i}" for i in range(len(names), 1 + len(others))]
    params_dtype = _dtype_of(params, labels[0])
    dtype = np.dtype(np.float32) if params_dtype == np.float32 else np.dtype(np.float64)
    for label, value in zip(labels[1:], others):
        if value is None:
            continue
        other = _dtype_of(value, label)
        if other.kind == "f" and other != np.float32:
            dtype = np.dtype(np.float64)
    return dtype


def as_float_array(value: Any, name: str, dtype: np.dtype, ndim: Optional[tuple[int, ...]] = None) -> np.ndarray:
    """Convert ``value`` to a C-contiguous array of ``dtype`` (a copy only when needed).

    Parameters
    ----------
    value : array_like
        The user's input.
    name : str
        Argument name for error messages.
    dtype : numpy.dtype
        float32 or float64.
    ndim : tuple of int, optional
        Accepted numbers of dimensions.

    Returns
    -------
    ndarray
        C-contiguous, native byte order, of ``dtype``.

    Raises
    ------
    TypeError
        For non-numeric or complex input.
    ValueError
        For a wrong number of dimensions.
    """
    _dtype_of(value, name)
    array = np.asarray(value)
    if ndim is not None and array.ndim not in ndim:
        expected = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(f"{name} must be {expected}, got a {array.ndim}-D array of shape {array.shape}")
    if not (array.flags.c_contiguous and array.dtype == dtype):
        # A copy is needed: refuse one that cannot fit before allocating it (a broadcast view of any shape
        # costs nothing to make, its copy is the full size).
        check_size(array.shape, dtype.itemsize, f"{name} (as a contiguous {dtype} copy)")
    # ascontiguousarray also fixes byte order and drops read-only/negative-stride views into a fresh copy.
    return np.ascontiguousarray(array, dtype=dtype)


def check_n_threads(n_threads: Optional[int], max_threads: Optional[int] = None) -> int:
    """Validate ``n_threads`` and cap it: None or -1 give ``max_threads``; 0, other negatives, bools and
    floats are errors; more than ``max_threads`` is capped at it (the kernels are compute bound, and
    libgomp aborts the interpreter when asked for hundreds of thousands of threads).

    The kernels' policy for None (OpenMP's default, affinity, cgroup quota, particles, small work) is
    ``swarmjac._threads.resolve_n_threads``, which validates through this function.

    Parameters
    ----------
    n_threads : int or None
        Requested thread count.
    max_threads : int, optional
        The cap, and the count None and -1 stand for (defaults to ``os.cpu_count()``).

    Returns
    -------
    int
        A positive thread count, at most ``max_threads``.

    Examples
    --------
    >>> check_n_threads(8, max_threads=2), check_n_threads(None, max_threads=2)
    (2, 2)
    """
    if max_threads is None:
        max_threads = os.cpu_count() or 1
    if n_threads is None:
        return max_threads
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be an int or None, got {type(n_threads).__name__} ({n_threads!r})")
    n_threads = int(n_threads)
    if n_threads == -1:
        return max_threads
    if n_threads <= 0:
        raise ValueError(f"n_threads must be a positive int, or -1 or None (what the process may use), "
                         f"got {n_threads}")
    return min(n_threads, max_threads)


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, requiring an integral value >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(value: Any, name: str, minimum: Optional[float] = None, strictly_positive: bool = False) -> float:
    """Return ``value`` as a finite float, requiring a real number (not a bool) within the given limits.

    Parameters
    ----------
    value : Any
        The user's input.
    name : str
        Argument name for error messages.
    minimum : float, optional
        Smallest accepted value.
    strictly_positive : bool, default False
        Refuse values <= 0.

    Returns
    -------
    float

    Examples
    --------
    >>> check_real(2, "c1", minimum=0.0)
    2.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``.

    Examples
    --------
    >>> check_choice("ring", "topology", ("global", "ring"))
    'ring'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {list(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _physical_memory() -> int:
    """Bytes of RAM of this machine (sys.maxsize where the platform cannot tell)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return sys.maxsize


def check_size(shape: tuple[int, ...], itemsize: int, name: str) -> None:
    """Refuse an array that cannot be addressed or cannot fit in this machine's memory, before allocating it.

    Arithmetic only, on Python ints (no overflow): whether the operating system would refuse the allocation
    or hand out memory it does not have (overcommit) must not decide between a MemoryError and the OOM killer.

    Raises
    ------
    MemoryError
        If ``prod(shape) * itemsize`` exceeds what this platform can index or the machine's physical memory.
    """
    count = 1
    for extent in shape:
        count *= int(extent)
    n_bytes = count * itemsize
    described = f"{name} would have shape {tuple(int(e) for e in shape)} ({count} elements of {itemsize} bytes)"
    if n_bytes > sys.maxsize:
        raise MemoryError(f"{described}, more than this platform can address")
    memory = _physical_memory()
    if n_bytes > memory:
        raise MemoryError(f"{described}: {n_bytes / 2 ** 30:.3g} GiB, more than this machine's "
                          f"{memory / 2 ** 30:.3g} GiB of memory")
