# The result of training a network, shared by sj.fit (training.py) and the island model
# (distributed/islands.py), so that the CLI and users read both the same way. Plain frozen dataclasses;
# the types they hold are imported for annotations only.
"""Training results: :class:`FitResult` (``sj.fit``, ``island_fit``) and its island view :class:`IslandResult`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from swarmjac.ensemble import Ensemble
    from swarmjac.loss import FitErrors
    from swarmjac.network import MLP
    from swarmjac.pso import PSO, PSOHistory, PSOResult
    from swarmjac.scaling import Standardizer

__all__ = ["FitResult", "IslandDetails", "IslandResult", "RefineRecord"]


@dataclass(frozen=True)
class RefineRecord:
    """One gradient refinement of the hybrid trainer (:func:`swarmjac.fit`).

    Attributes
    ----------
    iteration : int
        Swarm iteration after which it ran (the last one for the final polish).
    phase : str
        "swarm" (during the swarm phase, put back into the swarm) or "final" (the polish at the end).
    n_refined : int
        Particles refined.
    best_before, best_after : float
        Best training cost before and after.
    n_evaluations : int
        Fitness-and-gradient evaluations it took.
    wall_time : float
        Seconds.

    Examples
    --------
    >>> RefineRecord(50, "swarm", 4, 1e-2, 1e-3, 160, 0.05).best_after
    0.001
    """

    iteration: int
    phase: str
    n_refined: int
    best_before: float
    best_after: float
    n_evaluations: int
    wall_time: float


@dataclass(frozen=True)
class IslandDetails:
    """Per-island part of an island-model result (see :func:`swarmjac.distributed.island_fit`).

    Attributes
    ----------
    best_island : int
        The island that found the best particle (the lowest index on ties).
    island_best_costs : ndarray, shape (n_islands,)
        Best cost of each island.
    island_best_params : ndarray, shape (n_islands, n_params)
        Best particle of each island.
    histories : tuple of PSOHistory
        Per-island best and mean cost per iteration (``iters + 1`` entries each).
    optimizers : tuple of PSO
        Each island's optimiser in its final state (can be inspected, saved or run further locally).
    n_epochs : int
        Epochs completed (an epoch is ``migrate_every`` iterations, the last one possibly fewer).
    n_migrations : int
        Migrations carried out (between epochs; none with one island or ``n_migrants=0``).
    seed_entropy : int
        Entropy of the ``numpy.random.SeedSequence`` the island seeds were spawned from; passing it
        as ``seed`` repeats the run (useful when ``seed`` was None).

    Examples
    --------
    >>> import numpy as np
    >>> details = IslandDetails(0, np.zeros(2), np.zeros((2, 3)), (), (), 1, 0, 5)
    >>> details.n_islands
    2
    """

    best_island: int
    island_best_costs: np.ndarray
    island_best_params: np.ndarray
    histories: Tuple["PSOHistory", ...]
    optimizers: Tuple["PSO", ...]
    n_epochs: int
    n_migrations: int
    seed_entropy: int

    @property
    def n_islands(self) -> int:
        """Number of islands."""
        return len(self.island_best_costs)


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`swarmjac.fit` and of :func:`swarmjac.distributed.island_fit`.

    Attributes
    ----------
    net : MLP
        The trained network's spec.
    params : ndarray, shape (n_params,)
        The best particle found, in the user's units: ``net.predict(params, X)`` on raw ``X`` gives
        raw-unit outputs.
    cost : float
        Its fitness on the user's data.
    history : PSOHistory
        Best and mean training cost per iteration (of the best island for an island run); in the
        standardised space when the data were scaled.
    optimizer : PSO
        The optimiser (of the best island), which can be run further, saved or inspected; its swarm lives
        in the standardised space when scaling, as the swarm phase ended (the final polish is not put
        back into it).
    pso_result : PSOResult
        The optimiser's own result (evaluations, wall time, why it stopped); for an island run, the
        totals over all islands.
    islands : IslandDetails or None
        Per-island details of an island run; None for :func:`swarmjac.fit`.
    scaler : Standardizer or None
        The standardisation the swarm trained in (None without scaling).
    train_cost : float
        The best training cost (what the swarm and L-BFGS minimised); NaN where not recorded.
    refinements : tuple of RefineRecord
        Every gradient refinement, in order (empty for plain PSO).
    interrupted : bool
        Whether Ctrl-C ended the run (the best point found so far is returned).
    training_error, validation_error : FitErrors
        Errors of :attr:`params` on the training rows and on the held-out rows (``validation_fraction``
        of :func:`swarmjac.fit`), relative to the training data's spread: ``values`` is the RMSE of the
        values over ``std(y)``, ``partials`` the mean over observed partials of
        ``RMSE(dy_k/dx_j) * std(x_j) / std(y_k)`` (the units of benchmarks/fit_quality.py). NaN where
        nothing of that kind was observed, and everywhere in ``validation_error`` without validation.
    validation_rows : ndarray of int
        Rows of the data set held out for validation (empty without validation).
    ensemble : Ensemble or None
        With ``ensemble_size > 1``: the best candidates (by validation error when there is validation),
        :attr:`params` first, as one model with a spread; None otherwise.
    alpha : float
        The weight decay the model was trained with (the one chosen when ``alpha="auto"``).

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> X = np.linspace(-1, 1, 10)[:, None]
    >>> res = sj.fit(sj.MLP([1, 1], activations=["linear"]), sj.Dataset(X, y=3 * X), n_particles=10,
    ...              iters=50, seed=0)
    >>> res.stopped_reason, res.n_iterations, res.islands is None
    ('iters', 50, True)
    """

    net: "MLP"
    params: np.ndarray
    cost: float
    history: "PSOHistory"
    optimizer: "PSO"
    pso_result: "PSOResult"
    islands: Optional[IslandDetails] = None
    scaler: Optional["Standardizer"] = None
    train_cost: float = math.nan
    refinements: Tuple[RefineRecord, ...] = ()
    interrupted: bool = False
    training_error: "FitErrors" = None  # type: ignore[assignment]  (set by __post_init__ when missing)
    validation_error: "FitErrors" = None  # type: ignore[assignment]
    validation_rows: np.ndarray = None  # type: ignore[assignment]
    ensemble: Optional["Ensemble"] = None
    alpha: float = 0.0

    def __post_init__(self) -> None:
        from swarmjac.loss import FitErrors

        for name in ("training_error", "validation_error"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, FitErrors.nan())
        if self.validation_rows is None:
            object.__setattr__(self, "validation_rows", np.zeros(0, dtype=np.intp))

    @property
    def stopped_reason(self) -> str:
        """Why the run ended: "iters", "ftol", "callback" or "interrupted"."""
        return "interrupted" if self.interrupted else self.pso_result.stopped_reason

    @property
    def n_iterations(self) -> int:
        """Iterations completed (by every island, for an island run)."""
        return self.pso_result.n_iterations

    @property
    def n_evaluations(self) -> int:
        """Particle evaluations (over all islands, for an island run)."""
        return self.pso_result.n_evaluations

    @property
    def wall_time(self) -> float:
        """Seconds spent in the call that produced this result."""
        return self.pso_result.wall_time


class IslandResult(FitResult):
    """:class:`FitResult` of :func:`swarmjac.distributed.island_fit`, with the per-island details of
    :attr:`islands` also as attributes (``best_island``, ``island_best_costs``, ``island_best_params``,
    ``histories``, ``optimizers``, ``n_epochs``, ``n_migrations``, ``seed_entropy``, ``n_islands``).

    ``stopped_reason`` is ``"iters"``, ``"callback"`` or ``"interrupted"`` (the result then holds the
    last completed epoch); ``history`` and ``optimizer`` are those of the best island.

    Examples
    --------
    >>> issubclass(IslandResult, FitResult)
    True
    """

    @property
    def best_island(self) -> int:
        """The island that found :attr:`params`."""
        return self.islands.best_island

    @property
    def island_best_costs(self) -> np.ndarray:
        """Best cost of each island, shape (n_islands,)."""
        return self.islands.island_best_costs

    @property
    def island_best_params(self) -> np.ndarray:
        """Best particle of each island, shape (n_islands, n_params)."""
        return self.islands.island_best_params

    @property
    def histories(self) -> Tuple["PSOHistory", ...]:
        """Per-island histories."""
        return self.islands.histories

    @property
    def optimizers(self) -> Tuple["PSO", ...]:
        """Per-island optimisers in their final state."""
        return self.islands.optimizers

    @property
    def n_epochs(self) -> int:
        """Epochs completed."""
        return self.islands.n_epochs

    @property
    def n_migrations(self) -> int:
        """Migrations carried out."""
        return self.islands.n_migrations

    @property
    def seed_entropy(self) -> int:
        """Entropy of the root seed sequence (pass it as ``seed`` to repeat the run)."""
        return self.islands.seed_entropy

    @property
    def n_islands(self) -> int:
        """Number of islands."""
        return self.islands.n_islands
