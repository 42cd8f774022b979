# Safe on-disk container for swarmjac: atomic, versioned, checksummed, uncompressed .npz files
# that never need pickle. Used for PSO checkpoints (pso/checkpoint.py) and model files (modelfile.py);
# imports only numpy and the standard library so it works before the compiled core is built.
"""Atomic, versioned, checksummed ``.npz`` files without pickle.

File layout
-----------
A plain (uncompressed, ``ZIP_STORED``) ``.npz`` archive, readable by ``numpy.load``. Each array is
stored as the member ``<name>.npy``; one extra member, ``__meta__.npy``, is a ``uint8`` array holding
UTF-8 JSON::

    {"format_version": 1, "kind": "<kind>", "meta": {...}, "sha256": "<hex digest>"}

The SHA-256 digest covers, for every array in sorted-name order, its name, its dtype descriptor,
its shape and its C-order bytes (each field length-prefixed), followed by the canonical JSON of
``{"format_version", "kind", "meta"}``. JSON numbers follow Python's ``json`` module: integers of
any size round-trip exactly (NumPy bit-generator states need this) and ``inf``/``nan`` are written
as ``Infinity``/``NaN``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import struct
import zipfile
from typing import Any, Dict, Mapping, Tuple, Union

import numpy as np

__all__ = ["FORMAT_VERSION", "atomic_save_npz", "load_npz"]

#: Version of the container layout written by :func:`atomic_save_npz`. Files with a larger number
#: are refused by :func:`load_npz`.
FORMAT_VERSION: int = 1

_META_MEMBER = "__meta__"


class _FileContentError(ValueError):
    """A ValueError whose message already names the file; re-raised unchanged."""
_PathLike = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    """Convert NumPy scalars for ``json.dumps``; refuse everything else with a clear message."""
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        raise TypeError(
            "meta must hold only JSON values (dict, list, str, int, float, bool, None); "
            f"got a numpy array of shape {obj.shape}: pass arrays in `arrays` instead"
        )
    raise TypeError(
        "meta must hold only JSON values (dict, list, str, int, float, bool, None); "
        f"got an object of type {type(obj).__name__}"
    )


def _canonical_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        payload, default=_json_default, sort_keys=True, separators=(",", ":"), allow_nan=True
    ).encode("utf-8")


def _update_field(digest: "hashlib._Hash", field: bytes) -> None:
    digest.update(struct.pack("<Q", len(field)))
    digest.update(field)


def _checksum(arrays: Mapping[str, np.ndarray], header: Mapping[str, Any]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of every array in sorted order, then the header."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = arrays[name]
        _update_field(digest, name.encode("utf-8"))
        _update_field(digest, repr(np.lib.format.dtype_to_descr(array.dtype)).encode("utf-8"))
        _update_field(digest, repr(tuple(int(n) for n in array.shape)).encode("ascii"))
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        _update_field(digest, data)
    _update_field(digest, _canonical_json(header))
    return digest.hexdigest()


def _check_path(path: Any, argname: str = "path") -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argname} must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"{argname} must be a text path, got {type(path).__name__}")
    return path


def _fsync_directory(directory: str) -> None:
    """Make a rename durable on POSIX; a no-op where directories cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def atomic_save_npz(
    path: _PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], kind: str
) -> None:
    """Write arrays plus JSON metadata to ``path`` atomically, with a version and a checksum.

    The data go to a temporary file in the destination directory, which is flushed, fsync'ed and
    then renamed onto ``path`` with :func:`os.replace`; the directory is fsync'ed afterwards. A
    reader therefore sees either the old file or the complete new one, and a failure at any point
    leaves no temporary file behind and the old file untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination. Used exactly as given (no ``.npz`` suffix is appended).
    arrays : dict of str to numpy.ndarray
        Arrays to store. Names must be non-empty strings other than ``"__meta__"``; object dtypes
        are refused (they would need pickle).
    meta : dict
        JSON-serialisable metadata (str keys; ints of any size; floats including inf and nan;
        NumPy scalars are converted).
    kind : str
        What the file holds, e.g. ``"swarmjac-pso-checkpoint"``; :func:`load_npz` checks it.

    Raises
    ------
    TypeError
        If ``path``, ``arrays``, ``meta`` or ``kind`` has the wrong type, or ``meta`` is not
        JSON-serialisable.
    ValueError
        For a reserved or empty array name, or an object-dtype array.
    OSError
        If the file cannot be written (the previous file, if any, is left intact).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from swarmjac._io import atomic_save_npz, load_npz
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.npz")
    >>> atomic_save_npz(path, {"x": np.arange(3.0)}, {"note": "hi", "big": 2**100}, kind="demo")
    >>> arrays, meta = load_npz(path, kind="demo")
    >>> arrays["x"], meta["big"] == 2**100
    (array([0., 1., 2.]), True)
    """
    path = _check_path(path)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty str, got {kind!r}")
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of str to numpy arrays, got {type(arrays).__name__}")
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")

    checked: Dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"array names must be non-empty str, got {name!r}")
        if name == _META_MEMBER:
            raise ValueError(f"array name {_META_MEMBER!r} is reserved for the metadata")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(
                f"array {name!r} has dtype {array.dtype} (holds Python objects), which cannot be "
                "stored without pickle; convert it to a numeric or string dtype"
            )
        checked[name] = array

    header = {"format_version": FORMAT_VERSION, "kind": kind, "meta": dict(meta)}
    document = dict(header)
    document["sha256"] = _checksum(checked, header)
    # Encode before touching the disk, so a bad meta never creates a file.
    meta_bytes = np.frombuffer(_canonical_json(document), dtype=np.uint8)

    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    while True:
        tmp_path = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 and the kernel applies the umask, as for an ordinary open().
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, array in checked.items():
                    with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
                with archive.open(_META_MEMBER + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, meta_bytes, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> np.ndarray:
    """Read one ``.npy`` member, checking its header (no object dtype, size matches) first."""
    name = info.filename[: -len(".npy")]
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise _FileContentError(
                f"{path}: member {name!r} has .npy format version {version}, expected 1.0 or 2.0"
            )
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(member)
        if dtype.hasobject:
            raise _FileContentError(
                f"{path}: member {name!r} holds an object (pickled) array of dtype {dtype}; "
                "refusing to load it (swarmjac files never contain pickled data)"
            )
        # A damaged header could announce a huge array: check against the member size first.
        expected = math.prod(shape) * dtype.itemsize
        available = info.file_size - member.tell()
        if available != expected or dtype.itemsize == 0:
            raise _FileContentError(
                f"{path} is corrupted: member {name!r} announces shape {shape} and dtype {dtype} "
                f"({expected} bytes) but holds {available} bytes"
            )
        data = member.read()  # reading to the end also verifies the zip CRC-32
    if len(data) != expected:
        raise _FileContentError(f"{path} is truncated: member {name!r} holds {len(data)} of {expected} bytes")
    flat = np.frombuffer(bytearray(data), dtype=dtype)  # writable, owns a private copy
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def load_npz(path: _PathLike, kind: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Read a file written by :func:`atomic_save_npz`, checking kind, version and checksum.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    kind : str
        The kind the caller expects (as passed to :func:`atomic_save_npz`).

    Returns
    -------
    arrays : dict of str to numpy.ndarray
        The stored arrays, read into memory (the file is closed on return).
    meta : dict
        The stored metadata.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a zip/npz archive, is truncated or corrupted, lacks ``__meta__``, has
        malformed metadata, is of another ``kind``, was written by a newer format version, fails
        the checksum, or contains an object (pickled) array. The message names the path.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from swarmjac._io import atomic_save_npz, load_npz
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.npz")
    >>> atomic_save_npz(path, {"w": np.eye(2)}, {"inf": float("inf")}, kind="demo")
    >>> arrays, meta = load_npz(path, kind="demo")
    >>> arrays["w"].shape, meta["inf"]
    ((2, 2), inf)
    """
    path = _check_path(path)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty str, got {kind!r}")
    arrays: Dict[str, np.ndarray] = {}
    meta_array = None
    # open() raises FileNotFoundError / PermissionError / IsADirectoryError as usual; everything
    # that goes wrong while parsing the open file means it is damaged or not ours.
    with open(path, "rb") as handle:
        try:
            with zipfile.ZipFile(handle, mode="r") as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".npy"):
                        raise _FileContentError(
                            f"{path}: unexpected member {info.filename!r} (a swarmjac file holds only .npy members)"
                        )
                    array = _read_member(archive, info, path)
                    name = info.filename[: -len(".npy")]
                    if name == _META_MEMBER:
                        meta_array = array
                    else:
                        arrays[name] = array
        except (_FileContentError, MemoryError):
            raise
        except zipfile.BadZipFile as exc:
            if "CRC" in str(exc):
                raise ValueError(f"{path} is corrupted: checksum mismatch in the zip data ({exc})") from exc
            raise ValueError(
                f"{path} is not a valid swarmjac file: not a zip/npz archive, or truncated ({exc})"
            ) from exc
        except Exception as exc:
            raise ValueError(f"{path} is truncated or corrupted ({type(exc).__name__}: {exc})") from exc

    if meta_array is None:
        raise ValueError(f"{path} is not a swarmjac file: it has no {_META_MEMBER!r} member")
    if meta_array.dtype != np.uint8 or meta_array.ndim != 1:
        raise ValueError(
            f"{path}: {_META_MEMBER!r} must be a 1-D uint8 array, got dtype {meta_array.dtype} "
            f"and shape {meta_array.shape}"
        )
    try:
        document = json.loads(meta_array.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {_META_MEMBER!r} is not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path}: {_META_MEMBER!r} must be a JSON object, got {type(document).__name__}")
    missing = [key for key in ("format_version", "kind", "meta", "sha256") if key not in document]
    if missing:
        raise ValueError(f"{path}: {_META_MEMBER!r} lacks the field(s) {missing}")

    file_kind = document["kind"]
    if file_kind != kind:
        raise ValueError(f"{path} holds a {file_kind!r} file, expected a {kind!r} file")
    version = document["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer swarmjac (file format version {version}; this version "
            f"reads up to {FORMAT_VERSION}); upgrade swarmjac to read it"
        )
    if not isinstance(document["meta"], dict):
        raise ValueError(f"{path}: meta must be a JSON object, got {type(document['meta']).__name__}")

    header = {"format_version": version, "kind": file_kind, "meta": document["meta"]}
    expected = document["sha256"]
    actual = _checksum(arrays, header)
    if actual != expected:
        raise ValueError(
            f"{path} is corrupted: checksum mismatch (stored sha256 {str(expected)[:16]}..., "
            f"computed {actual[:16]}...)"
        )
    return arrays, document["meta"]
