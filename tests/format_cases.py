# Shared by tests/test_formats.py and tests/fixtures/make_fixtures.py: the PSO runs whose checkpoints and
# results were stored by the version before the pso/ package split (regression tests of the file formats
# and of bit-identical runs).
"""Objective and option sets of the format fixtures."""
import numpy as np


def objective(x: np.ndarray) -> np.ndarray:
    """A shifted, weighted sphere (arithmetic only, so it is the same on every NumPy); NaN for x0 > 1.5."""
    costs = np.sum((x - 0.3) ** 2 * (1.0 + x ** 2), axis=1)
    costs[x[:, 0] > 1.5] = np.nan
    return costs


def model_params(n_params: int) -> np.ndarray:
    """Parameters of the stored model file: exact binary fractions."""
    return np.arange(n_params) * 0.125 - 1.0


# name -> (PSO options, iterations before the checkpoint, iterations after it)
CHECKPOINT_CASES = {
    "ring": (dict(n_particles=7, dimensions=3, bounds=(-2.0, 2.0), topology="ring", k=2, w=(0.9, 0.4),
                  c1=1.4, c2=1.6, velocity_clamp=0.5, bound_handling="reflect", seed=123, n_iters_total=20,
                  keep_positions=True), 8, 12),
    "random": (dict(n_particles=7, dimensions=3, bounds=([-2.0, -1.0, -3.0], [2.0, 1.0, 0.5]), topology="random",
                    k=3, coefficients="constriction", bound_handling="random", seed=7, ftol=0.0, ftol_iter=30),
               5, 10),
}

# name -> (PSO options, iterations) for fresh runs from a seed
RUN_CASES = {
    "global-reflect": (dict(n_particles=9, dimensions=4, bounds=(-2.0, 2.0), seed=1), 15),
    "ring-clip": (dict(n_particles=8, dimensions=3, bounds=(-1.0, 1.0), topology="ring", k=4,
                       bound_handling="clip", seed=2), 15),
    "vonneumann-periodic": (dict(n_particles=12, dimensions=2, bounds=(-1.5, 1.0), topology="von_neumann",
                                 bound_handling="periodic", velocity_clamp=(-0.3, 0.4), seed=3), 15),
    "random-random": (dict(n_particles=10, dimensions=3, bounds=(-2.0, 2.0), topology="random",
                           bound_handling="random", seed=4, w=(0.9, 0.3)), 15),
    "unbounded-constriction": (dict(n_particles=6, dimensions=5, coefficients="constriction", init_scale=2.0,
                                    seed=5, keep_positions=True), 15),
}
