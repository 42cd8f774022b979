"""Tests of the batched L-BFGS (src/swarmjac/lbfgs.py): exact minimisers, Rosenbrock, SciPy's L-BFGS-B at
the same evaluation budget, batch independence, non-finite oracles, the returned point and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der
from threadpoolctl import threadpool_limits

import swarmjac as sj
from swarmjac.lbfgs import LBFGSStatus, _PairMemory, minimize_batched

from conftest import random_dataset


def rosenbrock(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.array([rosen(x) for x in X]), np.array([rosen_der(x) for x in X])


def quadratics(rng: np.random.Generator, conditions, dim: int):
    """One SPD quadratic 0.5 x'Ax - b'x per condition number; returns (fun(X, rows), minimisers)."""
    As, bs = [], []
    for cond in conditions:
        Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        As.append((Q * np.geomspace(1.0, cond, dim)) @ Q.T)
        bs.append(rng.normal(size=dim))
    As, bs = np.array(As), np.array(bs)

    def fun(X, rows):
        AX = np.einsum("kij,kj->ki", As[rows], X)
        return np.einsum("ki,ki->k", X, 0.5 * AX - bs[rows]), AX - bs[rows]

    return fun, np.array([np.linalg.solve(A, b) for A, b in zip(As, bs)])


def scipy_best(fun1, x0: np.ndarray, budget: int, memory: int = 10) -> float:
    """The lowest cost SciPy's L-BFGS-B evaluates within its first ``budget`` evaluations."""
    costs = []

    def counted(x):
        f, g = fun1(x)
        costs.append(float(f))
        return float(f), g

    # One BLAS thread: L-BFGS-B's tiny matrix products are many times slower on several (see refine.py).
    with threadpool_limits(limits=1, user_api="blas"):
        minimize(counted, x0, jac=True, method="L-BFGS-B",
                 options={"maxfun": budget, "maxiter": 10**6, "gtol": 0.0, "ftol": 0.0, "maxcor": memory})
    return min(costs[:budget])


# ---------------------------------------------------------------- the direction

def two_loop_reference(g: np.ndarray, pairs: list) -> np.ndarray:
    """The textbook two-loop recursion for one particle, pairs oldest first."""
    q, alphas = g.copy(), []
    for s, y in reversed(pairs):
        alphas.append(s @ q / (s @ y))
        q -= alphas[-1] * y
    s, y = pairs[-1]
    q *= (s @ y) / (y @ y)
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        q += (alpha - y @ q / (s @ y)) * s
    return -q


def test_the_direction_is_the_two_loop_recursion_over_the_last_pairs():
    rng = np.random.default_rng(9)
    dim, memory, n_added = 6, 4, [0, 2, 7, 4]      # 7 > memory: the ring wraps around
    A = rng.normal(size=(dim, dim))
    A = A @ A.T + dim * np.eye(dim)                 # SPD, so every pair has s . y > 0
    store = _PairMemory(len(n_added), memory, dim)
    history: list = [[] for _ in n_added]
    for step in range(max(n_added)):
        rows = np.array([k for k, n in enumerate(n_added) if step < n])
        s = rng.normal(size=(rows.size, dim))
        y = s @ A
        store.add(rows, s, y, np.einsum("kd,kd->k", s, y))
        for k, sk, yk in zip(rows, s, y):
            history[k].append((sk, yk))
    g = rng.normal(size=(len(n_added), dim))
    for rows in (np.arange(len(n_added)), np.array([2]), np.array([1, 3])):
        direction = store.direction(rows, g[rows])
        for row, k in enumerate(rows):
            if n_added[k] == 0:
                assert np.array_equal(direction[row], -g[k])
            else:
                np.testing.assert_allclose(direction[row], two_loop_reference(g[k], history[k][-memory:]),
                                           rtol=1e-12, atol=1e-14)
    store.reset(np.array([2]))
    assert np.array_equal(store.direction(np.array([2]), g[2:3])[0], -g[2])


# ---------------------------------------------------------------- accuracy

def test_convex_quadratics_reach_the_exact_minimiser():
    conditions = [1.0, 1e2, 1e3, 1e4]
    fun, solution = quadratics(np.random.default_rng(0), conditions, dim=20)
    res = minimize_batched(fun, np.zeros((4, 20)), gtol=1e-11, ftol=0, maxiter=5000, pass_rows=True)
    # It runs until the line search can no longer see a decrease of f through rounding, which limits the
    # error to about sqrt(eps * cond) (measured with conditions 1, 1e2, 1e4, 1e6: 3e-15, 2e-8, 8e-7, 3e-5;
    # SciPy's L-BFGS-B: 3e-15, 3e-9, 6e-7, 3e-5).
    assert set(res.status.tolist()) <= {LBFGSStatus.GTOL, LBFGSStatus.LINE_SEARCH_FAILED}, res.message
    for k, cond in enumerate(conditions):
        np.testing.assert_allclose(res.x[k], solution[k], rtol=0, atol=1e-12 + 1e-7 * np.sqrt(cond))
    assert res.status[0] == LBFGSStatus.GTOL and res.nfev[0] == 3   # exact line search on a sphere


@pytest.mark.parametrize("dim", [2, 10])
def test_rosenbrock_from_the_standard_start_converges_to_ones(dim):
    x0 = np.tile([-1.2, 1.0], dim // 2)[None, :]
    res = minimize_batched(rosenbrock, x0, gtol=1e-9, ftol=0)
    assert res.status[0] == LBFGSStatus.GTOL
    np.testing.assert_allclose(res.x[0], np.ones(dim), atol=1e-8)
    assert res.f[0] < 1e-16
    assert res.nfev[0] <= 200     # SciPy's L-BFGS-B needs 47 (2-D) and 98 (10-D) evaluations here


# ---------------------------------------------------------------- against SciPy, same evaluation budget
# Both minimise the same function from the same starts with memory 10 and no stopping rule but the budget.
# Paths on non-convex problems differ start by start, so we assert on the median over 12 starts of
# log10(our best cost / SciPy's best cost), costs below 1e-10 counting as a tie. Measured over 5 seeds per
# case: network medians <= 0.010 (worst single start 0.195, a factor 1.6), Rosenbrock medians <= 0.000
# (single starts swing both ways by orders of magnitude in the curved valley, so only the median is used).

def _assert_as_good_as_scipy(ours: np.ndarray, theirs: np.ndarray, worst_factor: float = np.inf) -> None:
    log_ratio = np.log10(np.maximum(ours, 1e-10) / np.maximum(theirs, 1e-10))
    assert np.median(log_ratio) <= 0.03, log_ratio
    assert log_ratio.max() <= np.log10(worst_factor), log_ratio


@pytest.mark.parametrize("dim, budget", [(2, 40), (5, 60), (10, 60)])
def test_as_good_as_scipy_on_rosenbrock_for_the_same_evaluations(dim, budget):
    starts = np.random.default_rng(dim).uniform(-2, 2, size=(12, dim))
    res = minimize_batched(rosenbrock, starts, max_evals=budget, gtol=0, ftol=0)
    assert (res.nfev <= budget).all()      # fewer: the gradient became exactly 0
    theirs = np.array([scipy_best(lambda x: (rosen(x), rosen_der(x)), x, budget) for x in starts])
    _assert_as_good_as_scipy(res.f, theirs)


@pytest.mark.parametrize("layers, activation", [([2, 8, 1], "tanh"), ([2, 6, 6, 1], "sigmoid"),
                                                ([3, 8, 2], "softplus")])
def test_as_good_as_scipy_on_network_fitness_for_the_same_evaluations(layers, activation):
    net = sj.MLP(layers, activation)
    data = random_dataset(np.random.default_rng(1), 40, layers[0], layers[-1])   # values and partials
    starts = net.init_params(12, seed=3)
    budget = 150
    # One kernel thread keeps the test quick on a busy machine; the batch is one call either way.
    res = minimize_batched(lambda X: net.fitness_and_gradient(X, data, n_threads=1), starts, max_evals=budget,
                           gtol=0, ftol=0)
    assert (res.nfev == budget).all()
    theirs = np.array([scipy_best(lambda th: net.fitness_and_gradient(th, data, n_threads=1), x, budget)
                       for x in starts])
    _assert_as_good_as_scipy(res.f, theirs, worst_factor=3.0)


# ---------------------------------------------------------------- batch independence

def test_each_particle_is_bit_identical_alone_and_in_any_batch():
    net = sj.MLP([2, 5, 1], "tanh")      # 21 parameters: rows of odd length, differently aligned
    data = random_dataset(np.random.default_rng(2), 30, 2, 1)
    starts = net.init_params(7, seed=5)
    fun = lambda X: net.fitness_and_gradient(X, data, n_threads=1)  # noqa: E731
    batch = minimize_batched(fun, starts, maxiter=60, max_evals=70, gtol=1e-8, memory=5)
    order = np.random.default_rng(0).permutation(7)
    shuffled = minimize_batched(fun, starts[order], maxiter=60, max_evals=70, gtol=1e-8, memory=5)
    assert len(set(batch.nfev.tolist())) > 1       # particles really finish at different calls
    for k in range(7):
        alone = minimize_batched(fun, starts[k:k + 1], maxiter=60, max_evals=70, gtol=1e-8, memory=5)
        j = int(np.flatnonzero(order == k)[0])
        for other, row in ((alone, 0), (shuffled, j)):
            assert np.array_equal(other.x[row], batch.x[k])
            assert other.f[row] == batch.f[k]
            assert (other.nit[row], other.nfev[row], other.status[row]) == \
                (batch.nit[k], batch.nfev[k], batch.status[k])


def test_quadratic_batch_matches_single_runs_bit_for_bit():
    fun, _ = quadratics(np.random.default_rng(3), [1.0, 1e3, 1e5], dim=9)
    starts = np.random.default_rng(4).normal(size=(3, 9))
    batch = minimize_batched(fun, starts, gtol=1e-9, pass_rows=True)
    for k in range(3):
        alone = minimize_batched(lambda X, rows: fun(X, rows + k), starts[k:k + 1], gtol=1e-9, pass_rows=True)
        assert np.array_equal(alone.x[0], batch.x[k]) and alone.nfev[0] == batch.nfev[k]


# ---------------------------------------------------------------- non-finite values, starts at a minimum

def test_non_finite_values_and_failed_line_searches_do_not_poison_the_others():
    # Row 0: inf at the start. Row 1: a wall of inf (or NaN gradients) at x[0] > 0.5, minimum beyond it.
    # Row 2: NaN cost everywhere except the start. Row 3: Rosenbrock. Row 4: the gradient turns
    # wrong near the minimum, so its line search fails, it retries with no pairs while the others have some,
    # and gives up.
    def fun(X, rows):
        f = ((X - 1.0) ** 2).sum(axis=1)
        G = 2.0 * (X - 1.0)
        if (rows == 3).any():
            f[rows == 3], G[rows == 3] = rosenbrock(X[rows == 3])  # a long run beside the others
        f[rows == 0] = np.inf
        wall = (rows == 1) & (X[:, 0] > 0.5)
        f[wall] = np.inf
        G[wall] = np.nan
        moved = (rows == 2) & (np.abs(X).max(axis=1) > 0)
        f[moved] = np.nan
        ill = rows == 4
        f[ill] = ((X[ill] - 1.0) ** 2 * [1.0, 10.0, 100.0]).sum(axis=1)
        G[ill] = 2.0 * (X[ill] - 1.0) * [1.0, 10.0, 100.0]
        wrong = ill & (f < 0.5)
        G[wrong] = -G[wrong]
        return f, G

    starts = np.zeros((5, 3))
    starts[3] = [-3.0, 4.0, 2.0]
    res = minimize_batched(fun, starts, maxiter=500, gtol=1e-10, ftol=0, pass_rows=True)
    assert res.status[0] == LBFGSStatus.NON_FINITE_START and res.nfev[0] == 1 and res.f[0] == np.inf
    assert np.array_equal(res.x[0], np.zeros(3))
    assert np.isfinite(res.f[1]) and res.f[1] < 3.0 and res.x[1, 0] <= 0.5
    assert res.status[2] == LBFGSStatus.LINE_SEARCH_FAILED and res.f[2] == 3.0
    assert np.array_equal(res.x[2], np.zeros(3))
    assert res.nfev[3] > res.nfev[4]
    np.testing.assert_allclose(res.x[3], np.ones(3), atol=1e-4)
    assert res.status[4] == LBFGSStatus.LINE_SEARCH_FAILED and res.f[4] < 0.5
    for k in range(5):     # each row alone: the same result, bit for bit
        alone = minimize_batched(lambda X, rows: fun(X, rows + k), starts[k:k + 1], maxiter=500, gtol=1e-10,
                                 ftol=0, pass_rows=True)
        assert np.array_equal(alone.x[0], res.x[k]) and alone.nfev[0] == res.nfev[k]
        assert alone.status[0] == res.status[k]


def test_a_particle_at_a_minimum_stops_at_once():
    res = minimize_batched(rosenbrock, np.array([[1.0, 1.0], [-1.2, 1.0]]), gtol=1e-8)
    assert res.status[0] == LBFGSStatus.GTOL and res.nfev[0] == 1 and res.nit[0] == 0
    assert np.array_equal(res.x[0], [1.0, 1.0]) and res.f[0] == 0.0
    assert res.nfev[1] > 1


# ---------------------------------------------------------------- the returned point, budgets, statuses

def test_the_result_is_the_best_point_evaluated():
    seen: dict = {}

    def recording(X, rows):
        f, G = rosenbrock(X)
        for x, cost, row in zip(X, f, rows):
            if cost < seen.get(row, (np.inf,))[0]:
                seen[row] = (cost, x.copy())
        return f, G

    starts = np.random.default_rng(6).uniform(-2, 2, size=(6, 4))
    res = minimize_batched(recording, starts, max_evals=25, pass_rows=True)
    start_costs = rosenbrock(starts)[0]
    for k in range(6):
        assert res.f[k] == seen[k][0] <= start_costs[k]
        assert np.array_equal(res.x[k], seen[k][1])
        assert rosenbrock(res.x[k:k + 1])[0][0] == res.f[k]


def test_budgets_and_stopping_rules():
    starts = np.random.default_rng(7).uniform(-2, 2, size=(5, 6))
    res = minimize_batched(rosenbrock, starts, maxiter=7, gtol=0, ftol=0)
    assert (res.nit == 7).all() and (res.status == LBFGSStatus.MAXITER).all()
    assert res.message[0] == "stopped: maxiter iterations"
    res = minimize_batched(rosenbrock, starts, max_evals=9, gtol=0, ftol=0)
    assert (res.nfev == 9).all() and (res.status == LBFGSStatus.MAX_EVALS).all()
    assert res.n_calls == 9
    res = minimize_batched(rosenbrock, starts, maxiter=0)
    assert (res.nfev == 1).all() and np.array_equal(res.x, starts)
    res = minimize_batched(rosenbrock, starts, gtol=0, ftol=1e-3, maxiter=10**4)
    assert (res.status == LBFGSStatus.FTOL).all()
    assert (res.nit < minimize_batched(rosenbrock, starts, gtol=0, ftol=1e-12).nit).all()


def test_the_callback_sees_the_best_points_and_can_stop_the_run():
    calls = []

    def callback(x_best, f_best, running):
        calls.append((x_best.shape, f_best.shape, running.copy()))
        return len(calls) == 5

    res = minimize_batched(rosenbrock, np.random.default_rng(8).normal(size=(3, 2)), callback=callback)
    assert len(calls) == 5 and calls[0][:2] == ((3, 2), (3,))
    assert (res.status == LBFGSStatus.CALLBACK).all() and res.n_calls == 6


def test_a_callback_mask_stops_only_the_particles_it_marks():
    starts = np.random.default_rng(10).uniform(-2, 2, size=(3, 2))
    stop_first = lambda x_best, f_best, running: np.array([True, False, False])  # noqa: E731
    res = minimize_batched(rosenbrock, starts, callback=stop_first, gtol=1e-8)
    alone = minimize_batched(rosenbrock, starts[1:], gtol=1e-8)
    assert res.status[0] == LBFGSStatus.CALLBACK and res.nfev[0] == 2
    assert np.array_equal(res.x[1:], alone.x) and np.array_equal(res.status[1:], alone.status)
    with pytest.raises(ValueError, match=r"bool mask of shape \(3,\), got shape \(2,\)"):
        minimize_batched(rosenbrock, starts, callback=lambda *a: np.array([True, False]))


def test_memory_one_and_float32_starts_work():
    x0 = np.array([[-1.2, 1.0]], dtype=np.float32)
    res = minimize_batched(rosenbrock, x0, memory=1, gtol=1e-8, maxiter=5000)
    assert res.x.dtype == np.float64 and res.converged.all()
    np.testing.assert_allclose(res.x[0], [1.0, 1.0], atol=1e-6)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, match", [
    ({"x0": np.zeros(3)}, ValueError, r"x0 must be a numeric 2-D array .* got shape \(3,\)"),
    ({"x0": np.zeros((0, 3))}, ValueError, r"x0 .* got shape \(0, 3\)"),
    ({"x0": [[np.nan, 1.0]]}, ValueError, "x0 must be finite"),
    ({"fun": "rosen"}, TypeError, "fun must be callable, got str"),
    ({"maxiter": -1}, ValueError, "maxiter must be an int >= 0, got -1"),
    ({"maxiter": 2.5}, ValueError, "maxiter must be an int >= 0, got 2.5"),
    ({"memory": 0}, ValueError, "memory must be an int >= 1, got 0"),
    ({"max_evals": 0}, ValueError, "max_evals must be an int >= 1, got 0"),
    ({"gtol": -1e-5}, ValueError, "gtol must be a finite number >= 0, got -1e-05"),
    ({"ftol": np.inf}, ValueError, "ftol must be a finite number >= 0, got inf"),
    ({"callback": 3}, TypeError, "callback must be callable or None, got int"),
    ({"fun": lambda X: rosenbrock(X)[0]}, TypeError, r"fun\(X\) must return a tuple \(f, G\), got ndarray"),
    ({"fun": lambda X: (rosenbrock(X)[0][:, None], X)}, ValueError,
     r"f of shape \(2, 1\); expected \(2,\)"),
    ({"fun": lambda X: (rosenbrock(X)[0], X[:, :1])}, ValueError, r"G of shape \(2, 1\); expected \(2, 2\)"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    arguments = {"fun": rosenbrock, "x0": np.zeros((2, 2))} | kwargs
    with pytest.raises(error, match=match):
        minimize_batched(arguments.pop("fun"), arguments.pop("x0"), **arguments)
