"""swarmjac: fused MLP value + input-Jacobian kernels over whole particle swarms, and PSO training on
mixed value / partial-derivative data.

The compiled core (swarmjac._kernels) is imported on first use, so ``swarmjac.reference``, the network
spec and the optimiser work without it.
"""
from swarmjac.activations import ACTIVATIONS
from swarmjac.data import Dataset
from swarmjac.network import MLP, Objective
from swarmjac.pso import PSO, PSOHistory, PSOResult
from swarmjac.results import FitResult
from swarmjac.training import fit, load, save

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Dataset",
    "FitResult",
    "MLP",
    "Objective",
    "PSO",
    "PSOHistory",
    "PSOResult",
    "__version__",
    "fit",
    "load",
    "save",
]
