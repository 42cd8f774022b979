"""swarmjac: fused MLP value + input-Jacobian kernels over whole particle swarms, and PSO training on
mixed value / partial-derivative data.

The compiled core (swarmjac._kernels) is imported on first use, so ``swarmjac.reference`` and the network
spec work without it.
"""
from swarmjac.activations import ACTIVATIONS
from swarmjac.data import Dataset
from swarmjac.network import MLP, Objective

__version__ = "0.1.0"

__all__ = ["ACTIVATIONS", "Dataset", "MLP", "Objective", "__version__"]
