# The driving loop of swarmjac.PSO: run() over ask()/tell() with callback, ftol, periodic checkpoints,
# Ctrl-C handling and the progress bar (set_status writes into it). A mixin of optimizer.PSO; it changes
# the swarm only through the optimiser's _ask/_tell/_discard_pending.
"""``PSO.run`` and ``PSO.set_status``."""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional, Union

import numpy as np

from swarmjac._validation import check_positive_int
from swarmjac.pso.progress import progress_bar
from swarmjac.pso.results import PSOResult

__all__ = ["RunMixin"]

Objective = Callable[[np.ndarray], Any]
Callback = Callable[[Any, int, float], Any]


class RunMixin:
    """``run`` and ``set_status`` of :class:`swarmjac.PSO`."""

    def _ftol_reached(self) -> bool:
        o, s = self._opt, self._state
        if o.ftol is None or s.history_len <= o.ftol_iter:
            return False
        current = float(s.history_best[s.history_len - 1])
        previous = float(s.history_best[s.history_len - 1 - o.ftol_iter])
        return previous - current <= o.ftol * abs(current)

    def _evaluate_and_tell(self, objective: Objective) -> None:
        positions = self._ask()
        self._tell(self._as_costs(objective(positions), "objective must return", positions.shape))

    def set_status(self, text: Optional[str]) -> None:
        """Show a short ``text`` next to the best cost in the progress bar of the running :meth:`run`.

        A no-op when there is no bar (``progress=False``, tqdm missing, or outside ``run``); the text
        stays until replaced, cleared with None, or the run ends. Meant for callbacks, e.g. a gradient
        refiner reporting its phase.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> opt = PSO(5, 2, seed=0)
        >>> res = opt.run(lambda x: np.sum(x**2, axis=1), 3, callback=lambda o, i, c: o.set_status(f"step {i}"))
        """
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text must be a str or None, got {type(text).__name__}")
        self._status = text
        self._show_progress(refresh=True)

    def _show_progress(self, refresh: bool) -> None:
        if self._bar is None:
            return
        postfix = {"best": f"{self._state.gbest_cost:.6g}"}
        if self._status:
            postfix["status"] = self._status
        self._bar.set_postfix(postfix, refresh=refresh)

    def run(self, objective: Objective, iters: int, callback: Optional[Callback] = None,
            progress: Optional[bool] = None, *,
            checkpoint_path: Optional[Union[str, "os.PathLike[str]"]] = None,
            checkpoint_every: Optional[int] = None) -> PSOResult:
        """Run up to ``iters`` more iterations on the swarm and return the best so far.

        Parameters
        ----------
        objective : callable
            ``objective(positions)`` with ``positions`` of shape ``(P, D)`` (float64, C-contiguous;
            do not modify it) returns ``P`` real costs. NaN counts as ``+inf``.
        iters : int
            Maximum number of iterations for this call (>= 0). The first call also evaluates
            the initial swarm.
        callback : callable, optional
            ``callback(opt, iteration, best_cost)`` after every iteration (the iteration is fully
            applied, so ``opt.save`` works there). It may change the swarm through
            :meth:`update_personal_bests` or :meth:`replace_worst` and show text with
            :meth:`set_status` (it must not call ask/tell/run, nor draw from :attr:`rng` if runs
            are to stay reproducible); what it changes belongs to that iteration, so the
            iteration's checkpoint is written after it. Returning True, or raising StopIteration,
            stops the run (``stopped_reason="callback"``). A KeyboardInterrupt raised in it ends
            the run like one in the objective; any other exception propagates and leaves the
            optimiser consistent and resumable.
        progress : bool, optional
            Show a tqdm progress bar: True (warns if tqdm is missing), False, or None (default)
            for "only if stderr is a terminal and tqdm is installed".
        checkpoint_path : str or os.PathLike, optional
            Save the optimiser (atomically, see :meth:`save`) every ``checkpoint_every``
            iterations of this call and once more when the call returns normally or is
            interrupted.
        checkpoint_every : int, optional
            Checkpoint period in iterations (>= 1); needs ``checkpoint_path``. Default: only
            at the end.

        Returns
        -------
        PSOResult
            ``n_iterations``, ``n_evaluations`` and ``history`` are cumulative over all calls;
            ``wall_time`` covers this call.

        Raises
        ------
        TypeError, ValueError
            For invalid arguments, or an objective returning the wrong shape or type.

        Notes
        -----
        A KeyboardInterrupt (Ctrl-C) ends the call with ``stopped_reason="interrupted"``; the
        iteration in flight is either discarded entirely (the state and the random generator
        are as before it) or, if it had already been applied, kept entirely.

        Each iteration is ``ask()``, ``objective``, ``tell()``, the progress bar, the callback, the
        periodic checkpoint, then the ``ftol`` test; a manual ask/tell loop with the same costs
        gives bit for bit the same swarm.

        Examples
        --------
        >>> import numpy as np
        >>> from swarmjac import PSO
        >>> def rosenbrock(x):
        ...     return np.sum(100 * (x[:, 1:] - x[:, :-1]**2)**2 + (1 - x[:, :-1])**2, axis=1)
        >>> opt = PSO(30, 2, bounds=(-2, 2), topology="ring", seed=3, ftol=0.0, ftol_iter=50)
        >>> res = opt.run(rosenbrock, iters=2000)
        >>> res.stopped_reason, bool(res.best_cost < 1e-8)
        ('ftol', True)
        """
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        iters = check_positive_int(iters, "iters", 0)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        if checkpoint_every is not None:
            checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every", 1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_every needs checkpoint_path")
        if checkpoint_path is not None and not isinstance(checkpoint_path, (str, os.PathLike)):
            raise TypeError(f"checkpoint_path must be a str or os.PathLike, got {type(checkpoint_path).__name__}")
        self._check_not_in_run("run")

        if self._planned_iters is None and isinstance(self._opt.w, tuple) and iters > 0:
            self._planned_iters = self._state.iteration + iters

        start = time.perf_counter()
        reason = "iters"
        saved_at = None  # iteration of the last checkpoint written by this call
        bar = progress_bar(progress, iters)
        self._bar, self._in_run = bar, True
        try:
            if not self._state.evaluated:
                self._evaluate_and_tell(objective)
            for done in range(1, iters + 1):
                self._evaluate_and_tell(objective)
                if bar is not None:
                    bar.update(1)
                    self._show_progress(refresh=False)
                stop = False
                if callback is not None:
                    try:
                        answer = callback(self, self._state.iteration, self._state.gbest_cost)
                    except StopIteration:
                        answer = True
                    stop = answer is not None and bool(answer)
                # After the callback: what it changed (e.g. update_personal_bests) is part of the iteration.
                if checkpoint_every is not None and done % checkpoint_every == 0:
                    self.save(checkpoint_path)
                    saved_at = self._state.iteration
                if stop:
                    reason = "callback"
                    break
                if self._ftol_reached():
                    reason = "ftol"
                    break
        except KeyboardInterrupt:
            self._discard_pending()
            reason = "interrupted"
        except BaseException:
            self._discard_pending()
            raise
        finally:
            self._bar, self._in_run, self._status = None, False, None
            if bar is not None:
                bar.close()
        if checkpoint_path is not None and saved_at != self._state.iteration:
            self.save(checkpoint_path)
        s = self._state
        return PSOResult(
            best_position=s.gbest_position.copy(), best_cost=s.gbest_cost, history=self.history,
            n_evaluations=s.n_evaluations, n_iterations=s.iteration,
            wall_time=time.perf_counter() - start, stopped_reason=reason)
