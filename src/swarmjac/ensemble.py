"""``Ensemble``: K trained weight sets of one network, evaluated together, mean and spread over the members.

Sits after training: ``sj.fit(..., ensemble_size=K)`` returns one in ``res.ensemble``, ``sj.save`` /
``sj.load_ensemble`` (modelfile.py) store it, the CLI and ``sj.Regressor`` predict with it. Each evaluation is one
kernel call over all members (the members are a swarm of K particles to ``MLP.predict``).
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from swarmjac.network import MLP

__all__ = ["Ensemble"]


class Ensemble:
    """An ensemble of K weight sets ("members") of one network: predictions are the members' mean, and the
    spread (standard deviation over the members) says where they disagree.

    Parameters
    ----------
    net : MLP
        The network every member belongs to.
    params : array_like, shape (K, n_params)
        One member per row, in raw units (as ``res.params`` of :func:`swarmjac.fit`); K >= 1. float32
        stays float32 (evaluations then run in float32), integers become float64. Copied and made
        read-only.

    Attributes
    ----------
    net : MLP
    members : ndarray, shape (K, n_params), read-only
    size : int
        K, the number of members.

    Notes
    -----
    The spread is the standard deviation over the members with ``ddof=0``: the ensemble's prediction is the
    uniform mixture of its members, and ``ddof=0`` gives exactly that mixture's standard deviation around its
    mean (the members are the best K candidates of one run, chosen on validation, not a random sample whose
    population variance ``ddof=1`` would estimate without bias). It is therefore 0 for a single member
    (``ddof=1`` would give NaN). The spread measures the members' disagreement only: it carries no estimate
    of the noise in the data.

    Evaluations allocate K times the output of one network (``value_and_jacobian``: K x N x d_out x d_in).

    Examples
    --------
    >>> import numpy as np, swarmjac as sj
    >>> net = sj.MLP([1, 1], activations=["linear"])            # y = w x + b
    >>> ens = sj.Ensemble(net, [[1.0, 0.0], [3.0, 0.0]])        # slopes 1 and 3
    >>> mean, spread = ens.predict([[2.0]], return_std=True)
    >>> mean, spread
    (array([[4.]]), array([[2.]]))
    >>> ens
    Ensemble(MLP([1, 1], activations=['linear']), size=2)
    """

    __slots__ = ("_net", "_members")

    def __init__(self, net: MLP, params: Any):
        if not isinstance(net, MLP):
            raise TypeError(f"net must be a swarmjac.MLP, got {type(net).__name__}")
        members = np.asarray(params)
        if members.dtype.kind not in "biuf":
            raise TypeError(f"params must be a real array (float64 or float32), got dtype {members.dtype}")
        if members.ndim != 2 or members.shape[1] != net.n_params or members.shape[0] < 1:
            hint = "; for one model use params[None, :]" if members.ndim == 1 else ""
            raise ValueError(f"params must have shape (K, n_params) = (K >= 1, {net.n_params}) for {net!r}, "
                             f"got {members.shape}{hint}")
        dtype = members.dtype if members.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        members = np.array(members, dtype=dtype, order="C", copy=True)  # our own copy, not the caller's
        if not np.all(np.isfinite(members)):
            bad = sorted({int(k) for k in np.nonzero(~np.isfinite(members))[0]})
            raise ValueError(f"params must be finite; member(s) {bad} hold NaN or inf")
        members.flags.writeable = False
        self._net = net
        self._members = members

    # ----- description -----

    @property
    def net(self) -> MLP:
        """The network every member belongs to."""
        return self._net

    @property
    def members(self) -> np.ndarray:
        """The members' parameters, shape (K, n_params), read-only."""
        return self._members

    @property
    def size(self) -> int:
        """K, the number of members."""
        return int(self._members.shape[0])

    def __repr__(self) -> str:
        return f"Ensemble({self._net!r}, size={self.size})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ensemble):
            return NotImplemented
        return (self._net == other._net and self._members.dtype == other._members.dtype
                and np.array_equal(self._members, other._members))

    __hash__ = None  # type: ignore[assignment]  # equality compares array contents

    # ----- evaluation -----

    def predict(self, X: Any, return_std: bool = False,
                n_threads: Optional[int] = None) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Mean prediction of the members, and optionally their spread.

        Parameters
        ----------
        X : array_like, shape (N, d_in)
            Input points, in raw units.
        return_std : bool, default False
            Also return the standard deviation over the members (``ddof=0``, see the class notes).
        n_threads : int or None
            Kernel threads (over the members), as in :meth:`MLP.predict`.

        Returns
        -------
        mean : ndarray, shape (N, d_out)
        spread : ndarray, shape (N, d_out)
            Only with ``return_std=True``.

        Examples
        --------
        >>> import numpy as np, swarmjac as sj
        >>> net = sj.MLP([1, 1], activations=["linear"])
        >>> sj.Ensemble(net, [[1.0, 0.0], [1.0, 2.0]]).predict([[0.0], [1.0]])
        array([[1.],
               [2.]])
        """
        _check_return_std(return_std)
        Y = self._net.predict(self._members, X, n_threads=n_threads)  # (K, N, d_out), one kernel call
        return _mean_and_spread(Y, return_std)

    def value_and_jacobian(self, X: Any, return_std: bool = False, n_threads: Optional[int] = None,
                           mode: str = "auto") -> tuple[np.ndarray, ...]:
        """Mean values and mean input-Jacobians of the members, and optionally their spreads.

        Parameters
        ----------
        X : array_like, shape (N, d_in)
            Input points, in raw units.
        return_std : bool, default False
            Also return the standard deviations over the members (``ddof=0``, see the class notes),
            element by element.
        n_threads : int or None
            Kernel threads (over the members), as in :meth:`MLP.value_and_jacobian`.
        mode : {"auto", "forward", "reverse"}
            As in :meth:`MLP.value_and_jacobian`.

        Returns
        -------
        Y : ndarray, shape (N, d_out)
            Mean value.
        J : ndarray, shape (N, d_out, d_in)
            Mean Jacobian, ``J[i, k, j]`` the mean of ``dY_k/dX_j`` at ``X[i]``.
        Y_std : ndarray, shape (N, d_out)
            Only with ``return_std=True``.
        J_std : ndarray, shape (N, d_out, d_in)
            Only with ``return_std=True``.

        Examples
        --------
        >>> import numpy as np, swarmjac as sj
        >>> net = sj.MLP([2, 1], activations=["linear"])           # y = w1 x1 + w2 x2 + b
        >>> ens = sj.Ensemble(net, [[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
        >>> Y, J, Y_std, J_std = ens.value_and_jacobian([[1.0, 1.0]], return_std=True)
        >>> J, J_std
        (array([[[2., 0.]]]), array([[[1., 0.]]]))
        """
        _check_return_std(return_std)
        Y, J = self._net.value_and_jacobian(self._members, X, n_threads=n_threads, mode=mode)
        if not return_std:
            return _mean_and_spread(Y, False), _mean_and_spread(J, False)
        (Y_mean, Y_std), (J_mean, J_std) = _mean_and_spread(Y, True), _mean_and_spread(J, True)
        return Y_mean, J_mean, Y_std, J_std


def _check_return_std(return_std: Any) -> None:
    if not isinstance(return_std, (bool, np.bool_)):
        raise TypeError(f"return_std must be True or False, got {type(return_std).__name__}")


def _mean_and_spread(stack: np.ndarray, return_std: bool) -> Any:
    """Mean over axis 0 of the members' outputs ``stack`` (consumed), and the spread (std, ddof=0) if asked.

    Both are computed on the deviations from the first member: identical members then give exactly that
    member and a spread of exactly 0 (a plain mean of K equal numbers can be off by an ulp, which shows as a
    spread of 1e-16), and the deviations keep their digits when the spread is small against the values.
    """
    first = stack[0].copy()
    stack -= first  # in place: the kernel's output is ours, and the Jacobian stack can be large
    shift = stack.mean(axis=0)
    mean = first + shift
    if not return_std:
        return mean
    stack -= shift
    np.square(stack, out=stack)
    return mean, np.sqrt(stack.mean(axis=0))
