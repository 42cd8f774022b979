# The options of the optimiser, each declared once: name, default, validator and how it is stored in a
# checkpoint. The constructor's signature, the ``options`` property, the checkpoint metadata and the load
# code are all derived from ``OPTION_SPECS``, so adding an option is one entry here (plus its docs).
"""Options of :class:`swarmjac.PSO`: validation, defaults and serialisation in one table.

Each :class:`OptionSpec` says how to resolve the value a user gave (filling in defaults that may depend
on options resolved before it, e.g. ``c1`` on ``coefficients``) and how the resolved value is stored:
as a JSON value in the checkpoint's ``meta["options"]`` or as a pair of arrays. :func:`resolve_options`
runs the table in order and returns an immutable :class:`Options`.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

import numpy as np

from swarmjac._validation import check_choice, check_positive_int, check_real

__all__ = ["OPTION_SPECS", "Options", "OptionSpec", "resolve_options", "options_to_record",
           "options_from_record", "constructor_signature", "TOPOLOGIES", "BOUND_HANDLERS", "COEFFICIENT_FORMS"]

TOPOLOGIES = ("global", "ring", "von_neumann", "random")
BOUND_HANDLERS = ("reflect", "clip", "random", "periodic")
COEFFICIENT_FORMS = ("inertia", "constriction")

_DEFAULT_W = 0.7298
_DEFAULT_C_INERTIA = 1.49618
_DEFAULT_C_CONSTRICTION = 2.05
_DEFAULT_K = {"ring": 2, "random": 3}

Resolver = Callable[[Any, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class OptionSpec:
    """One option: its name, the default the user sees, how to resolve it, how to store it.

    ``arrays`` names the two checkpoint arrays of an option whose resolved value is ``None`` or a pair of
    float64 arrays (bounds, velocity clamp); otherwise the value is stored as JSON (tuples as lists).
    """

    name: str
    default: Any
    resolve: Resolver
    arrays: Optional[Tuple[str, str]] = None


# ---------------------------------------------------------------------------------------------
# resolvers: (value given, options resolved so far) -> resolved value
# ---------------------------------------------------------------------------------------------
def _per_dimension(value: Any, name: str, dimensions: int) -> np.ndarray:
    """A scalar or a length-D vector of finite reals, as a float64 array of shape (D,)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real scalar or an array of shape ({dimensions},), got {value!r}") from exc
    if array.ndim == 0:
        array = np.full(dimensions, float(array))
    elif array.shape != (dimensions,):
        raise ValueError(f"{name} must be a scalar or have shape ({dimensions},), got shape {array.shape}")
    else:
        array = array.copy()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def _ordered_pair(value: Any, name: str, labels: Tuple[str, str], dimensions: int,
                  requirement: str) -> Tuple[np.ndarray, np.ndarray]:
    """Two per-dimension arrays with ``low < high`` everywhere; ``requirement`` opens the error message."""
    low = _per_dimension(value[0], f"{name}[0] ({labels[0]})", dimensions)
    high = _per_dimension(value[1], f"{name}[1] ({labels[1]})", dimensions)
    bad = np.flatnonzero(low >= high)
    if bad.size:
        raise ValueError(f"{requirement}; violated at index {int(bad[0])}: "
                         f"{labels[0]}={low[bad[0]]}, {labels[1]}={high[bad[0]]}")
    return low, high


def _resolve_k(k: Any, o: Mapping[str, Any]) -> Optional[int]:
    topology = o["topology"]
    if topology in _DEFAULT_K:
        k = _DEFAULT_K[topology] if k is None else check_positive_int(k, "k", 1)
        if topology == "ring" and k % 2:
            raise ValueError(f"k must be even for the ring topology (k/2 neighbours on each side), got {k}")
        return k
    if k is not None:
        raise ValueError(f"k applies only to the 'ring' and 'random' topologies, got k={k!r} with "
                         f"topology={topology!r}")
    return None


def _resolve_w(w: Any, o: Mapping[str, Any]) -> Any:
    if o["coefficients"] == "constriction":
        if w is not None:
            raise ValueError(f"w must be omitted with coefficients='constriction' (chi replaces it), got w={w!r}")
        return None
    if w is None:
        return _DEFAULT_W
    if isinstance(w, (tuple, list)):
        if len(w) != 2:
            raise ValueError(f"w must be a float or a pair (w_start, w_end), got a sequence of length {len(w)}")
        return (check_real(w[0], "w[0] (w_start)"), check_real(w[1], "w[1] (w_end)"))
    return check_real(w, "w")


def _resolve_c(name: str) -> Resolver:
    def resolve(c: Any, o: Mapping[str, Any]) -> float:
        if c is None:
            return _DEFAULT_C_CONSTRICTION if o["coefficients"] == "constriction" else _DEFAULT_C_INERTIA
        return check_real(c, name, minimum=0.0)
    return resolve


def _resolve_c2(c2: Any, o: Mapping[str, Any]) -> float:
    c2 = _resolve_c("c2")(c2, o)
    if o["coefficients"] == "constriction" and o["c1"] + c2 <= 4.0:
        raise ValueError(f"constriction needs c1 + c2 > 4, got c1 + c2 = {o['c1'] + c2}")
    return c2


def _resolve_bounds(bounds: Any, o: Mapping[str, Any]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}")
    lower, upper = _ordered_pair(bounds, "bounds", ("lower", "upper"), o["dimensions"],
                                 "bounds need lower < upper in every dimension")
    if not np.all(np.isfinite(upper - lower)):
        raise ValueError("bounds: upper - lower overflows; use a smaller box")
    return lower, upper


def _resolve_velocity_clamp(clamp: Any, o: Mapping[str, Any]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    if clamp is None:
        return None
    if isinstance(clamp, (tuple, list)):
        if len(clamp) != 2:
            raise ValueError(f"velocity_clamp must be a fraction or a pair (vmin, vmax), got {clamp!r}")
        return _ordered_pair(clamp, "velocity_clamp", ("vmin", "vmax"), o["dimensions"],
                             "velocity_clamp needs vmin < vmax")
    fraction = check_real(clamp, "velocity_clamp", strictly_positive=True)
    if fraction > 1.0:
        raise ValueError(f"velocity_clamp as a fraction of the bounds range must be in (0, 1], got {fraction}")
    if o["bounds"] is None:
        raise ValueError("velocity_clamp as a fraction of the bounds range needs bounds; pass (vmin, vmax) instead")
    lower, upper = o["bounds"]
    vmax = fraction * (upper - lower)
    return -vmax, vmax


def _optional(resolve: Resolver) -> Resolver:
    return lambda value, o: None if value is None else resolve(value, o)


def _bool(name: str) -> Resolver:
    def resolve(value: Any, o: Mapping[str, Any]) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        return bool(value)
    return resolve


#: Every option of the optimiser, in resolution order (an option may depend on those before it).
OPTION_SPECS: Tuple[OptionSpec, ...] = (
    OptionSpec("n_particles", None, lambda v, o: check_positive_int(v, "n_particles", 1)),
    OptionSpec("dimensions", None, lambda v, o: check_positive_int(v, "dimensions", 1)),
    OptionSpec("topology", "global", lambda v, o: check_choice(v, "topology", TOPOLOGIES)),
    OptionSpec("coefficients", "inertia", lambda v, o: check_choice(v, "coefficients", COEFFICIENT_FORMS)),
    OptionSpec("bound_handling", "reflect", lambda v, o: check_choice(v, "bound_handling", BOUND_HANDLERS)),
    OptionSpec("k", None, _resolve_k),
    OptionSpec("w", None, _resolve_w),
    OptionSpec("c1", None, _resolve_c("c1")),
    OptionSpec("c2", None, _resolve_c2),
    OptionSpec("bounds", None, _resolve_bounds, arrays=("bounds_lower", "bounds_upper")),
    OptionSpec("velocity_clamp", None, _resolve_velocity_clamp,
               arrays=("velocity_clamp_min", "velocity_clamp_max")),
    OptionSpec("init_scale", 1.0, lambda v, o: check_real(v, "init_scale", strictly_positive=True)),
    OptionSpec("ftol", None, _optional(lambda v, o: check_real(v, "ftol", minimum=0.0))),
    OptionSpec("ftol_iter", 10, lambda v, o: check_positive_int(v, "ftol_iter", 1)),
    OptionSpec("n_iters_total", None, _optional(lambda v, o: check_positive_int(v, "n_iters_total", 1))),
    OptionSpec("keep_positions", False, _bool("keep_positions")),
)
_SPECS_BY_NAME = {spec.name: spec for spec in OPTION_SPECS}


def _constriction_chi(phi: float) -> float:
    """Clerc-Kennedy constriction factor for phi = c1 + c2 > 4 (phi = 4.1 gives 0.72984)."""
    return 2.0 / abs(2.0 - phi - math.sqrt(phi * phi - 4.0 * phi))


class Options(Mapping[str, Any]):
    """The resolved options: read-only, by name (``o["c1"]``) or as attributes (``o.c1``).

    Derived values the update needs are attributes too: ``chi`` (constriction only, else None),
    ``lower``/``upper`` (from ``bounds``) and ``vmin``/``vmax`` (from ``velocity_clamp``), or None.
    """

    def __init__(self, values: Mapping[str, Any]):
        values = dict(values)
        chi = _constriction_chi(values["c1"] + values["c2"]) if values["coefficients"] == "constriction" else None
        derived = {"chi": chi}
        derived["lower"], derived["upper"] = values["bounds"] or (None, None)
        derived["vmin"], derived["vmax"] = values["velocity_clamp"] or (None, None)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "__dict__", {**values, **derived, "_values": values})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Options are read-only")

    def __reduce__(self) -> Any:
        return (Options, (self._values,))

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def public(self) -> Dict[str, Any]:
        """The options as a new dict of copies (what :attr:`PSO.options` returns), plus ``chi``."""
        out: Dict[str, Any] = {}
        for name, value in self._values.items():
            out[name] = (value[0].copy(), value[1].copy()) if _SPECS_BY_NAME[name].arrays and value else value
        out["chi"] = self.chi
        return out


def resolve_options(**given: Any) -> Options:
    """Validate the user's options and fill in defaults, in the order of :data:`OPTION_SPECS`.

    Parameters
    ----------
    **given
        Option values by name; missing ones take their defaults. ``n_particles`` and ``dimensions``
        are required.

    Returns
    -------
    Options

    Raises
    ------
    TypeError
        For an unknown option name or a value of the wrong type.
    ValueError
        For a value out of range or inconsistent with another option.

    Examples
    --------
    >>> o = resolve_options(n_particles=10, dimensions=2, coefficients="constriction")
    >>> o.c1, round(o.chi, 5), o.w
    (2.05, 0.72984, None)
    """
    unknown = sorted(set(given) - set(_SPECS_BY_NAME))
    if unknown:
        raise TypeError(f"PSO() got an unexpected keyword argument {unknown[0]!r}")
    resolved: Dict[str, Any] = {}
    for spec in OPTION_SPECS:
        resolved[spec.name] = spec.resolve(given.get(spec.name, spec.default), resolved)
    return Options(resolved)


def options_to_record(options: Options) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """Checkpoint form: (JSON values by name, arrays by checkpoint array name)."""
    meta: Dict[str, Any] = {}
    arrays: Dict[str, np.ndarray] = {}
    for spec in OPTION_SPECS:
        value = options[spec.name]
        if spec.arrays is not None:
            if value is not None:
                arrays[spec.arrays[0]], arrays[spec.arrays[1]] = value
        else:
            meta[spec.name] = list(value) if isinstance(value, tuple) else value
    return meta, arrays


def options_from_record(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Options:
    """Inverse of :func:`options_to_record`, validating every value like the constructor does.

    An option missing from the record takes its default: a file written before the option existed
    behaves as that version did (a new option's default must therefore reproduce the old behaviour).
    ``n_particles`` and ``dimensions`` have no default and must be present.
    """
    unknown = sorted(set(meta) - {spec.name for spec in OPTION_SPECS if spec.arrays is None})
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}")
    given: Dict[str, Any] = {}
    for spec in OPTION_SPECS:
        if spec.arrays is not None:
            low, high = spec.arrays
            given[spec.name] = (arrays[low], arrays[high]) if low in arrays else None
        else:
            value = meta.get(spec.name, spec.default)
            given[spec.name] = tuple(value) if isinstance(value, list) else value
    return resolve_options(**given)


def constructor_signature() -> inspect.Signature:
    """``PSO(n_particles, dimensions, *, init_pos=None, seed=None, <every option with its default>)``."""
    positional, keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("n_particles", positional, annotation=int),
                  inspect.Parameter("dimensions", positional, annotation=int),
                  inspect.Parameter("init_pos", keyword, default=None),
                  inspect.Parameter("seed", keyword, default=None)]
    parameters += [inspect.Parameter(spec.name, keyword, default=spec.default) for spec in OPTION_SPECS
                   if spec.name not in ("n_particles", "dimensions")]
    return inspect.Signature(parameters, return_annotation=None)
