"""Plots of a training run: cost history, fitted surface against the data, fitted vs observed partials.

Optional: needs matplotlib (``pip install "swarmjac[plot]"``), imported only when a plot is made. Uses the
public network API only (predict / value_and_jacobian).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from swarmjac.data import Dataset
from swarmjac.network import MLP

__all__ = ["plot_history", "plot_surface", "plot_partials", "plot_fit"]


def _pyplot():
    try:
        import matplotlib

        if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'swarmjac[plot]'") from None
    return plt


def plot_history(history: Any, ax: Any = None, refinements: Sequence[Any] = ()) -> Any:
    """Best and mean swarm cost per iteration, on a log scale, with the gradient refinements.

    Parameters
    ----------
    history : PSOHistory
        ``FitResult.history`` or ``PSOResult.history``.
    ax : matplotlib Axes, optional
    refinements : sequence of RefineRecord, optional
        ``FitResult.refinements``: each refinement during the swarm phase is marked where it ran, and the
        final polish as a step after the last iteration.

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        ax = plt.figure().add_subplot()
    best = np.asarray(history.best_cost, dtype=float)
    mean = np.asarray(history.mean_cost, dtype=float)
    iterations = np.arange(best.size)
    positive = lambda v: np.where(np.isfinite(v) & (v > 0), v, np.nan)  # noqa: E731
    ax.plot(iterations, positive(mean), color="0.6", lw=1, label="swarm mean")
    ax.plot(iterations, positive(best), color="C0", lw=2, label="best")
    swarm = [r for r in refinements if r.phase == "swarm"]
    if swarm:
        ax.plot([r.iteration for r in swarm], positive(np.array([r.best_after for r in swarm])), "o", ms=4,
                color="C1", label="after L-BFGS refinement")
    for record in refinements:
        if record.phase == "final":
            end = record.iteration + max(best.size // 20, 1)
            ax.plot([record.iteration, end], positive(np.array([record.best_before, record.best_after])), "-*",
                    color="C3", ms=9, label=f"final L-BFGS polish ({record.wall_time:.1f} s)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training cost")
    ax.set_title("training cost (swarm, then polish)" if refinements else "PSO cost history")
    ax.legend()
    return ax


def _check_2d(net: MLP, data: Dataset) -> None:
    if not isinstance(net, MLP) or not isinstance(data, Dataset):
        raise TypeError("expected an MLP and a Dataset")
    if (net.d_in, net.d_out) != (data.d_in, data.d_out):
        raise ValueError(f"data (d_in={data.d_in}, d_out={data.d_out}) does not match {net!r}")


def plot_surface(net: MLP, params: Any, data: Dataset, ax: Any = None, output: int = 0,
                 resolution: int = 80) -> Any:
    """The fitted output over the box of the data (2-D inputs), with the observed values on top.

    Parameters
    ----------
    net : MLP
        A network with two inputs.
    params : array_like, shape (n_params,)
    data : Dataset
    ax : matplotlib Axes, optional
    output : int, default 0
        Which output to show.
    resolution : int, default 80
        Grid points per axis.

    Returns
    -------
    matplotlib Axes
    """
    _check_2d(net, data)
    if net.d_in != 2:
        raise ValueError(f"plot_surface needs a network with 2 inputs, got d_in={net.d_in}")
    plt = _pyplot()
    if ax is None:
        ax = plt.figure().add_subplot()
    lo, hi = data.X.min(axis=0), data.X.max(axis=0)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    surface = net.predict(params, grid)[:, output].reshape(g1.shape)
    contour = ax.contourf(g1, g2, surface, levels=20, cmap="viridis")
    ax.figure.colorbar(contour, ax=ax, label="fitted y")
    observed = ~np.isnan(data.y[:, output])
    ax.scatter(data.X[observed, 0], data.X[observed, 1], c=data.y[observed, output], cmap="viridis",
               vmin=contour.get_clim()[0], vmax=contour.get_clim()[1], edgecolors="white", s=25,
               label="observed values")
    partial_rows = np.any(~np.isnan(data.dydx[:, output, :]), axis=1) & ~observed
    ax.scatter(data.X[partial_rows, 0], data.X[partial_rows, 1], marker="x", color="white", s=12,
               label="derivative-only rows")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("fitted surface and training data")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_partials(net: MLP, params: Any, data: Dataset, axes: Optional[Sequence[Any]] = None,
                  output: int = 0) -> Sequence[Any]:
    """Fitted against observed partial derivatives, one panel per input direction that is observed.

    Parameters
    ----------
    net : MLP
    params : array_like, shape (n_params,)
    data : Dataset
    axes : sequence of matplotlib Axes, optional
        One per input.
    output : int, default 0

    Returns
    -------
    list of matplotlib Axes
    """
    _check_2d(net, data)
    plt = _pyplot()
    if axes is None:
        axes = plt.figure(figsize=(4 * net.d_in, 4)).subplots(1, net.d_in, squeeze=False)[0]
    _, J = net.value_and_jacobian(params, data.X)
    for j, ax in enumerate(axes):
        observed = ~np.isnan(data.dydx[:, output, j])
        truth, fitted = data.dydx[observed, output, j], J[observed, output, j]
        ax.scatter(truth, fitted, s=10, alpha=0.7)
        if truth.size:
            lo, hi = min(truth.min(), fitted.min()), max(truth.max(), fitted.max())
            ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        ax.set_xlabel(f"observed dy/dx{j + 1}")
        ax.set_ylabel(f"fitted dy/dx{j + 1}")
        ax.set_title(f"dy/dx{j + 1} ({int(observed.sum())} observed)")
    return list(axes)


def plot_fit(net: MLP, params: Any, data: Dataset, history: Any = None,
             path: Optional[Union[str, os.PathLike]] = None, refinements: Sequence[Any] = ()) -> Any:
    """One figure with the cost history, the fitted surface (2-D inputs) and the partials.

    Parameters
    ----------
    net : MLP
    params : array_like, shape (n_params,)
    data : Dataset
    history : PSOHistory, optional
    path : str or PathLike, optional
        Save the figure there (PNG, PDF, ... by extension).
    refinements : sequence of RefineRecord, optional
        Marked on the cost history (``FitResult.refinements``).

    Returns
    -------
    matplotlib Figure
    """
    _check_2d(net, data)
    plt = _pyplot()
    panels = (history is not None) + (net.d_in == 2) + net.d_in
    fig = plt.figure(figsize=(4.5 * panels, 4.2))
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    if history is not None:
        plot_history(history, axes.pop(0), refinements)
    if net.d_in == 2:
        plot_surface(net, params, data, axes.pop(0))
    plot_partials(net, params, data, axes)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=110)
    return fig
