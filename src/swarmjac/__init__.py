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
from swarmjac._threads import resolve_n_threads


def _distribution_version(distribution: str = "swarmjac") -> str:
    """The version of the installed ``distribution`` from its metadata, or ``"0+unknown"`` without one.

    pyproject.toml holds the only copy of the version; installing writes it into the metadata read here.
    A source tree put on the path by hand (``PYTHONPATH=src``) has no metadata of its own: it reports the
    metadata of whichever swarmjac is installed in the environment, or ``"0+unknown"`` (a valid PEP 440
    version that sorts below every release) when none is.

    Examples
    --------
    >>> _distribution_version("surely-not-an-installed-distribution")
    '0+unknown'
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _distribution_version()


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
    "resolve_n_threads",
    "save",
]
