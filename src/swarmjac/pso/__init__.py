# Particle swarm optimiser: minimises any vectorised objective f(positions (P, D)) -> costs (P,), or
# takes costs through ask()/tell(). It knows nothing about neural networks (ARCHITECTURE.md: "the optimiser
# only sees an objective"); it imports only numpy, the standard library, swarmjac._io / _validation and,
# lazily, tqdm. One job per module:
#   options.py     every option once: validation, defaults, checkpoint form
#   state.py       the immutable swarm snapshot and how the next one is built
#   topologies.py  informant tables and neighbourhood bests       bounds.py  bound handling
#   optimizer.py   PSO: construction, ask/tell, save/load/bytes   runner.py  run() over ask/tell
#   exchange.py    best_individuals / replace_worst / update_personal_bests
#   views.py       read-only properties    checkpoint.py  the checkpoint format    results.py  result types
"""Particle swarm optimisation (PSO) with resumable, bit-for-bit reproducible runs.

The swarm update is synchronous and fully vectorised over particles. Per iteration ``t``::

    inertia form:      v <- w_t v + c1 r1 (pbest - x) + c2 r2 (lbest - x)
    constriction form: v <- chi (v + c1 r1 (pbest - x) + c2 r2 (lbest - x))
    v <- clip(v, vmin, vmax)                    (if velocity_clamp)
    x <- x + v, then confined to the bounds     (if bounds)
    cost <- f(x) (NaN -> +inf); pbest, lbest and gbest updated

``r1, r2`` are uniform on [0, 1), drawn per particle and per coordinate from the optimiser's single
``numpy.random.Generator``. ``lbest`` is the best personal best among a particle's informants (the
topology). :meth:`PSO.ask` computes the first part (up to the new ``x``), :meth:`PSO.tell` the last
line; :meth:`PSO.run` is a loop over the two.
"""
from swarmjac.pso.checkpoint import CHECKPOINT_KIND
from swarmjac.pso.optimizer import PSO
from swarmjac.pso.options import BOUND_HANDLERS, COEFFICIENT_FORMS, TOPOLOGIES  # noqa: F401 (public names)
from swarmjac.pso.results import STOP_REASONS, PSOHistory, PSOResult  # noqa: F401

__all__ = ["PSO", "PSOResult", "PSOHistory", "CHECKPOINT_KIND"]
