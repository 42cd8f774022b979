# The checkpoint format of the optimiser: how options, state and random generator become arrays plus
# JSON metadata, written as a checksummed .npz file by swarmjac._io or kept in memory as bytes (the
# payload of PSO.to_bytes). Only this file knows the layout; optimizer.py calls it, nothing else does.
"""Checkpoint records of :class:`swarmjac.PSO`, on disk (``.npz`` of kind :data:`CHECKPOINT_KIND`) or as bytes.

Record layout (unchanged since the first version; the file fixtures in ``tests/fixtures`` guard it):
arrays ``positions``, ``velocities``, ``costs``, ``pbest_positions``, ``pbest_costs``, ``gbest_position``,
``history_best_cost``, ``history_mean_cost`` (+ ``history_positions``, ``informants``, ``bounds_lower`` /
``bounds_upper``, ``velocity_clamp_min`` / ``velocity_clamp_max`` when present) and metadata
``{"options": {...}, "state": {evaluated, iteration, n_evaluations, gbest_cost, planned_iters},
"rng": {"bit_generator": name, "state": ...}}``.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from swarmjac._io import atomic_save_npz, load_npz
from swarmjac._validation import check_positive_int
from swarmjac.pso.options import Options, options_from_record, options_to_record
from swarmjac.pso.state import SwarmState

__all__ = ["CHECKPOINT_KIND", "to_record", "from_record", "save_file", "load_file", "to_bytes", "from_bytes"]

#: ``kind`` of PSO checkpoint files (see :mod:`swarmjac._io`).
CHECKPOINT_KIND = "swarmjac-pso-checkpoint"

_BYTES_MAGIC = b"swarmjac-pso-bytes-1\n"
_META_MEMBER = "__meta__"

Record = Tuple[Dict[str, np.ndarray], Dict[str, Any]]
Parts = Tuple[Options, SwarmState, Optional[int], np.random.Generator]


def _rng_state_to_json(state: Any) -> Any:
    """Bit-generator state -> JSON value (ndarrays, e.g. MT19937's key, become tagged lists)."""
    if isinstance(state, dict):
        return {str(key): _rng_state_to_json(value) for key, value in state.items()}
    if isinstance(state, np.ndarray):
        return {"__ndarray__": state.tolist(), "dtype": state.dtype.str}
    if isinstance(state, np.generic):
        return state.item()
    return state


def _rng_state_from_json(state: Any) -> Any:
    if isinstance(state, dict):
        if "__ndarray__" in state:
            return np.asarray(state["__ndarray__"], dtype=np.dtype(state["dtype"]))
        return {key: _rng_state_from_json(value) for key, value in state.items()}
    return state


def to_record(options: Options, s: SwarmState, planned_iters: Optional[int], bit_generator_name: str) -> Record:
    """The committed state as (arrays, meta); ``s.rng_state`` is the generator state stored."""
    n = s.history_len
    option_meta, arrays = options_to_record(options)
    arrays.update({
        "positions": s.positions, "velocities": s.velocities, "costs": s.costs,
        "pbest_positions": s.pbest_positions, "pbest_costs": s.pbest_costs,
        "gbest_position": s.gbest_position,
        "history_best_cost": s.history_best[:n], "history_mean_cost": s.history_mean[:n],
    })
    if s.history_positions is not None:
        arrays["history_positions"] = s.history_positions[:n]
    if s.informants is not None:
        arrays["informants"] = s.informants
    meta = {
        "options": option_meta,
        "state": {
            "evaluated": s.evaluated, "iteration": s.iteration, "n_evaluations": s.n_evaluations,
            "gbest_cost": s.gbest_cost, "planned_iters": planned_iters,
        },
        "rng": {"bit_generator": bit_generator_name, "state": _rng_state_to_json(s.rng_state)},
    }
    return arrays, meta


def _check_arrays(arrays: Mapping[str, np.ndarray], options: Options) -> int:
    """Shapes and dtypes of the swarm arrays; returns the history length."""
    P, D = options.n_particles, options.dimensions
    history_best = arrays["history_best_cost"]
    if history_best.ndim != 1 or history_best.dtype != np.float64:
        raise ValueError(f"array 'history_best_cost' has shape {history_best.shape} and dtype "
                         f"{history_best.dtype}, expected 1-D float64")
    n = int(history_best.shape[0])
    expected_shapes = {
        "positions": (P, D), "velocities": (P, D), "costs": (P,),
        "pbest_positions": (P, D), "pbest_costs": (P,), "gbest_position": (D,),
        "history_mean_cost": (n,),
    }
    if options.keep_positions:
        expected_shapes["history_positions"] = (n, P, D)
    for name, shape in expected_shapes.items():
        if arrays[name].shape != shape or arrays[name].dtype != np.float64:
            raise ValueError(f"array {name!r} has shape {arrays[name].shape} and dtype "
                             f"{arrays[name].dtype}, expected {shape} float64")
    # A cost is never NaN (the optimiser stores +inf for it).
    for name in ("costs", "pbest_costs", "history_best_cost"):
        if np.isnan(arrays[name]).any():
            raise ValueError(f"array {name!r} holds NaN")
    return n


def _check_informants(informants: Optional[np.ndarray], options: Options) -> Optional[np.ndarray]:
    P = options.n_particles
    if options.topology == "global":
        if informants is not None:
            raise ValueError("array 'informants' present for the global topology")
        return None
    if informants is None:
        raise ValueError(f"array 'informants' missing for the {options.topology!r} topology")
    if informants.dtype.kind not in "iu" or informants.ndim != 2 or informants.shape[0] != P:
        raise ValueError(f"array 'informants' has shape {informants.shape} and dtype {informants.dtype}, "
                         f"expected ({P}, k) integers")
    if informants.size and (informants.min() < 0 or informants.max() >= P
                            or np.any(informants[:, 0] != np.arange(P))):
        raise ValueError("array 'informants' holds indices that are not particles, or a row that "
                         "does not start with the particle itself")
    return informants.astype(np.intp)


def _generator(rng_meta: Mapping[str, Any]) -> np.random.Generator:
    bit_generator_cls = getattr(np.random, rng_meta["bit_generator"], None)
    if not (isinstance(bit_generator_cls, type) and issubclass(bit_generator_cls, np.random.BitGenerator)
            and bit_generator_cls is not np.random.BitGenerator):
        raise ValueError(f"unknown bit generator {rng_meta['bit_generator']!r}")
    bit_generator = bit_generator_cls()
    bit_generator.state = _rng_state_from_json(rng_meta["state"])
    return np.random.Generator(bit_generator)


def from_record(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Parts:
    """Validate a record and rebuild (options, state, planned_iters, generator).

    Raises KeyError, TypeError, ValueError or NotImplementedError for an invalid record; the callers
    turn these into one ValueError that names the source.
    """
    options = options_from_record(meta["options"], arrays)
    state_meta = meta["state"]
    rng = _generator(meta["rng"])
    n = _check_arrays(arrays, options)
    state = {key: state_meta[key] for key in ("evaluated", "iteration", "n_evaluations", "gbest_cost",
                                              "planned_iters")}
    if not isinstance(state["evaluated"], bool):
        raise ValueError(f"state 'evaluated' must be true or false, got {state['evaluated']!r}")
    for key in ("iteration", "n_evaluations", "planned_iters"):
        if not (state[key] is None and key == "planned_iters"):
            state[key] = check_positive_int(state[key], f"state {key!r}", 0)
    gbest_cost = state["gbest_cost"]
    if isinstance(gbest_cost, bool) or not isinstance(gbest_cost, (int, float)) or math.isnan(gbest_cost):
        raise ValueError(f"state 'gbest_cost' must be a number or inf, got {gbest_cost!r}")
    if n != (state["iteration"] + 1 if state["evaluated"] else 0):
        raise ValueError("history length does not match the iteration count")
    # The global best is the best personal best.
    if float(gbest_cost) != float(arrays["pbest_costs"].min()):
        raise ValueError(f"state 'gbest_cost' {gbest_cost!r} is not the best personal best cost "
                         f"{float(arrays['pbest_costs'].min())!r}")
    informants = _check_informants(arrays.get("informants"), options)
    contiguous = np.ascontiguousarray
    swarm = SwarmState(
        positions=contiguous(arrays["positions"]), velocities=contiguous(arrays["velocities"]),
        costs=arrays["costs"], pbest_positions=contiguous(arrays["pbest_positions"]),
        pbest_costs=arrays["pbest_costs"], gbest_position=arrays["gbest_position"],
        gbest_cost=float(gbest_cost), informants=informants, evaluated=state["evaluated"],
        iteration=state["iteration"], n_evaluations=state["n_evaluations"],
        history_best=arrays["history_best_cost"], history_mean=arrays["history_mean_cost"],
        history_positions=arrays.get("history_positions") if options.keep_positions else None,
        history_len=n, rng_state=rng.bit_generator.state,
    )
    return options, swarm, state["planned_iters"], rng


_INVALID = (KeyError, TypeError, ValueError, NotImplementedError)


def save_file(path: Union[str, "os.PathLike[str]"], record: Record) -> None:
    """Write a record atomically as a checkpoint file."""
    atomic_save_npz(path, record[0], record[1], kind=CHECKPOINT_KIND)


def load_file(path: Union[str, "os.PathLike[str]"]) -> Parts:
    """Read and validate a checkpoint file (FileNotFoundError, or ValueError naming the file)."""
    arrays, meta = load_npz(path, kind=CHECKPOINT_KIND)
    try:
        return from_record(arrays, meta)
    except _INVALID as exc:
        raise ValueError(f"{path}: not a valid PSO checkpoint ({type(exc).__name__}: {exc})") from exc


def to_bytes(record: Record) -> bytes:
    """A record as bytes: a magic line, then an uncompressed ``.npz`` (no pickle) in memory."""
    arrays, meta = record
    buffer = io.BytesIO()
    buffer.write(_BYTES_MAGIC)
    meta_bytes = np.frombuffer(json.dumps(meta, allow_nan=True, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    np.savez(buffer, **{_META_MEMBER: meta_bytes}, **arrays)
    return buffer.getvalue()


def from_bytes(data: Any) -> Parts:
    """Inverse of :func:`to_bytes` (TypeError for a non-bytes argument, ValueError for bad content)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes from PSO.to_bytes(), got {type(data).__name__}")
    data = bytes(data)
    if not data.startswith(_BYTES_MAGIC):
        raise ValueError("data is not a PSO swarm from PSO.to_bytes() (wrong header)")
    try:
        with np.load(io.BytesIO(data[len(_BYTES_MAGIC):]), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop(_META_MEMBER).tobytes().decode("utf-8"))
        return from_record(arrays, meta)
    except _INVALID + (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ValueError(f"data is not a valid PSO swarm ({type(exc).__name__}: {exc})") from exc
