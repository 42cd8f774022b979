"""swarmjac: fused MLP value + input-Jacobian kernels over whole particle swarms, and hybrid training
(PSO + L-BFGS) on mixed value / partial-derivative data.

The compiled core (swarmjac._kernels) is imported on first use, so ``swarmjac.reference``, the network
spec and the optimiser work without it.
"""
from swarmjac.activations import ACTIVATIONS
from swarmjac.data import Dataset
from swarmjac.network import MLP, Objective
from swarmjac.pso import PSO, PSOHistory, PSOResult
from swarmjac.ensemble import Ensemble
from swarmjac.modelfile import load, load_ensemble, save
from swarmjac.scaling import Standardizer
from swarmjac.refine import RefineOptions
from swarmjac.results import FitResult
from swarmjac.training import fit

__version__ = "0.1.0"


def __getattr__(name: str):
    # sj.Regressor needs scikit-learn: imported on first use, so `import swarmjac` never loads it (and it
    # stays out of __all__, so that `from swarmjac import *` does not either).
    if name == "Regressor":
        from swarmjac.estimator import Regressor

        return Regressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ACTIVATIONS",
    "Dataset",
    "Ensemble",
    "FitResult",
    "MLP",
    "Objective",
    "PSO",
    "PSOHistory",
    "PSOResult",
    "RefineOptions",
    "Standardizer",
    "__version__",
    "fit",
    "load",
    "load_ensemble",
    "save",
]
