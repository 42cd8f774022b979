"""Dataset and the fused fitness: masks, weights, empty terms, the cheaper path, CSV loading."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import swarmjac as sj
from swarmjac import reference

from conftest import random_dataset, tolerances

nan = np.nan


def _masked(rng, n, d_in, d_out, which):
    """Targets with exactly the observation pattern `which` names."""
    X = rng.uniform(-2, 2, size=(n, d_in))
    y = rng.normal(size=(n, d_out))
    dydx = rng.normal(size=(n, d_out, d_in))
    if which == "values":
        return sj.Dataset(X, y=y)
    if which == "dx1":
        only = np.full_like(dydx, nan)
        only[:, :, 0] = dydx[:, :, 0]
        return sj.Dataset(X, dydx=only)
    if which == "thirds":
        y3 = np.full_like(y, nan)
        d3 = np.full_like(dydx, nan)
        third = n // 3
        y3[:third] = y[:third]
        d3[third: 2 * third, :, 0] = dydx[third: 2 * third, :, 0]
        d3[2 * third:] = dydx[2 * third:]
        return sj.Dataset(X, y=y3, dydx=d3)
    return sj.Dataset(X, y=y, dydx=dydx)


@pytest.mark.parametrize("which", ["values", "dx1", "thirds", "all"])
@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fitness_matches_reference_for_each_mask(which, mode, dtype, rng):
    net = sj.MLP([3, 8, 8, 2], "tanh")
    params = net.init_params(9, seed=1).astype(dtype)
    data = _masked(rng, 200, 3, 2, which)
    f = net.fitness(params, data, mode=mode)
    assert f.dtype == dtype and f.shape == (9,)
    expected = reference.fitness(net, params.astype(np.float64), data)
    np.testing.assert_allclose(f, expected, rtol=tolerances(dtype)["rtol"])


def test_fitness_formula_by_hand():
    # y = 2 x1 + 3 x2 exactly: linear net with W = [2, 3], b = 0.
    net, theta = sj.MLP.from_layers([(np.array([[2.0, 3.0]]), np.zeros(1), "linear")])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([[2.0], [nan], [6.0]])  # residuals 0 and -1
    dydx = np.array([[[nan, nan]], [[1.0, nan]], [[nan, 5.0]]])  # residuals 1 and -2
    data = sj.Dataset(X, y=y, dydx=dydx, value_weight=2.0, derivative_weight=0.5)
    expected = 2.0 * (0 + 1) / 2 + 0.5 * (1 + 4) / 2
    assert float(net.fitness(theta, data)) == pytest.approx(expected, rel=1e-15)
    assert float(reference.fitness(net, theta, data)) == pytest.approx(expected, rel=1e-15)


@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1, 2, 5, 64, 65, 200]),
       st.floats(0, 3), st.floats(0, 3), st.sampled_from([1, 2, None]))
def test_fitness_random_masks_and_weights(seed, n, value_weight, derivative_weight, n_threads):
    rng = np.random.default_rng(seed)
    d_in, d_out = rng.integers(1, 5), rng.integers(1, 4)
    net = sj.MLP([d_in, 5, d_out], rng.choice(["tanh", "sigmoid", "softplus", "relu"]))
    params = net.init_params(4, seed=rng)
    data = random_dataset(rng, n, d_in, d_out, p_value=rng.random(), p_partial=rng.random(),
                          value_weight=value_weight, derivative_weight=derivative_weight)
    np.testing.assert_allclose(net.fitness(params, data, n_threads=n_threads),
                               reference.fitness(net, params, data), rtol=1e-10, atol=1e-300)


def test_empty_terms_are_zero(rng):
    net = sj.MLP([2, 4, 1], "tanh")
    params = net.init_params(3, seed=0)
    X = rng.normal(size=(10, 2))
    only_values = sj.Dataset(X, y=rng.normal(size=10), derivative_weight=5.0)
    Y = net.predict(params, X)
    np.testing.assert_allclose(net.fitness(params, only_values), ((Y[:, :, 0] - only_values.y[:, 0]) ** 2).mean(axis=1))
    only_partials = sj.Dataset(X, dydx=rng.normal(size=(10, 2)), value_weight=7.0)
    _, J = net.value_and_jacobian(params, X)
    np.testing.assert_allclose(net.fitness(params, only_partials),
                               ((J[:, :, 0, :] - only_partials.dydx[:, 0, :]) ** 2).mean(axis=(1, 2)), rtol=1e-12)


def test_non_finite_fitness_becomes_inf(rng):
    net = sj.MLP([2, 4, 1], "tanh")
    params = net.init_params(4, seed=0)
    params[1, 0] = nan
    params[2, -1] = np.inf
    params[3, -1] = 1e300  # overflows the squared error
    data = random_dataset(rng, 30, 2, 1)
    f = net.fitness(params, data)
    assert np.isfinite(f[0])
    assert np.all(f[1:] == np.inf)
    params32 = params.copy()
    params32[3, -1] = 1e30  # finite in float32, but its squared error is not
    f32 = net.fitness(params32.astype(np.float32), data)
    assert np.isfinite(f32[0]) and np.all(f32[1:] == np.inf)


def test_fitness_deterministic_across_threads(rng):
    net = sj.MLP([4, 16, 16, 2], "tanh")
    params = net.init_params(41, seed=3)
    data = random_dataset(rng, 300, 4, 2)
    first = net.fitness(params, data, n_threads=1)
    for threads in (2, 3, None):
        assert np.array_equal(net.fitness(params, data, n_threads=threads), first)


def test_dx1_only_data_carries_one_direction(rng):
    """A data set that observes only dy/dx1 must not pay for dy/dx2: one tangent per block at most."""
    data = _masked(rng, 300, 2, 1, "dx1")
    blocks = data.blocks(np.float64)
    assert blocks.block_n_dirs.max() == 1
    assert np.all(blocks.block_dirs[:, 0] == 0)
    values = _masked(rng, 300, 2, 1, "values").blocks(np.float64)
    assert values.block_n_dirs.max() == 0
    thirds = _masked(rng, 300, 2, 1, "thirds").blocks(np.float64)
    # Rows sorted by need: the value-only third forms blocks with no tangent work at all.
    assert thirds.block_n_dirs[0] == 0 and thirds.block_n_dirs[-1] == 2


def test_fitness_single_particle_and_empty_swarm(rng):
    net = sj.MLP([2, 3, 1], "tanh")
    params = net.init_params(2, seed=0)
    data = random_dataset(rng, 20, 2, 1)
    assert net.fitness(params[0], data).shape == ()
    assert float(net.fitness(params[0], data)) == net.fitness(params, data)[0]
    assert net.fitness(np.zeros((0, net.n_params)), data).shape == (0,)


def test_fitness_validation(rng):
    net = sj.MLP([2, 3, 1], "tanh")
    data = random_dataset(rng, 20, 2, 1)
    with pytest.raises(TypeError, match="data must be a swarmjac.Dataset"):
        net.fitness(net.init_params(2), (data.X, data.y))
    with pytest.raises(ValueError, match="data has d_in=3"):
        net.fitness(net.init_params(2), random_dataset(rng, 20, 3, 1))
    with pytest.raises(ValueError, match="params must have n_params"):
        net.fitness(np.zeros((2, 5)), data)
    with pytest.raises(ValueError, match="n_threads"):
        net.fitness(net.init_params(2), data, n_threads=0)


def test_objective_plugs_into_pyswarms_style_code(rng, tmp_path, monkeypatch):
    """The objective is called exactly as PySwarms' optimize() calls it: f(swarm.position, **kwargs)."""
    monkeypatch.chdir(tmp_path)  # pyswarms' reporter writes report.log into the working directory
    net = sj.MLP([2, 4, 1], "tanh")
    data = random_dataset(rng, 40, 2, 1)
    objective = net.objective(data)

    # A minimal global-best PSO written the way PySwarms users write their loops.
    class Swarm:
        pass

    swarm = Swarm()
    swarm.position = net.init_params(20, seed=1)
    swarm.velocity = np.zeros_like(swarm.position)
    swarm.pbest_pos = swarm.position.copy()
    swarm.pbest_cost = np.full(20, np.inf)
    for _ in range(30):
        swarm.current_cost = objective(swarm.position, **{})
        better = swarm.current_cost < swarm.pbest_cost
        swarm.pbest_pos[better] = swarm.position[better]
        swarm.pbest_cost[better] = swarm.current_cost[better]
        best = swarm.pbest_pos[np.argmin(swarm.pbest_cost)]
        r1, r2 = rng.random((2,) + swarm.position.shape)
        swarm.velocity = 0.7 * swarm.velocity + 1.5 * r1 * (swarm.pbest_pos - swarm.position) \
            + 1.5 * r2 * (best - swarm.position)
        swarm.position = swarm.position + swarm.velocity
    assert swarm.current_cost.shape == (20,)
    np.testing.assert_allclose(swarm.pbest_cost.min(), reference.fitness(net, best, data), rtol=1e-10)
    assert swarm.pbest_cost.min() < reference.fitness(net, net.init_params(20, seed=1), data).min()

    pyswarms = pytest.importorskip("pyswarms")
    optimizer = pyswarms.single.GlobalBestPSO(n_particles=10, dimensions=net.n_params,
                                              options={"c1": 0.5, "c2": 0.3, "w": 0.9})
    cost, pos = optimizer.optimize(objective, iters=5, verbose=False)
    assert cost == pytest.approx(float(reference.fitness(net, pos, data)), rel=1e-10)


# ----- Dataset -----

def test_dataset_repr_counts_each_kind():
    X = np.zeros((4, 2))
    y = np.array([1.0, nan, nan, 2.0])
    dydx = np.array([[nan, nan], [1.0, nan], [nan, 2.0], [3.0, 4.0]])
    data = sj.Dataset(X, y=y, dydx=dydx, value_weight=0.5)
    assert repr(data) == ("Dataset(n_samples=4, d_in=2, d_out=1, values: y=2, partials: dy/dx1=2, dy/dx2=2, "
                          "value_weight=0.5, derivative_weight=1.0)")
    assert data.n_values == 2
    np.testing.assert_array_equal(data.n_partials, [[2, 2]])


def test_dataset_warns_on_rows_that_observe_nothing():
    with pytest.warns(UserWarning, match="1 of 3 rows observe nothing"):
        data = sj.Dataset(np.zeros((3, 1)), y=[1.0, nan, 2.0])
    net, theta = sj.MLP.from_layers([(np.ones((1, 1)), np.zeros(1), "linear")])
    assert float(net.fitness(theta, data)) == pytest.approx((1 + 4) / 2)


def test_dataset_validation():
    with pytest.raises(ValueError, match="needs y, dydx or both"):
        sj.Dataset(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"y must have 3 rows.*\(4, 1\)"):
        sj.Dataset(np.zeros((3, 2)), y=np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"dydx must have shape \(N, d_out, d_in\) = \(3, 1, 2\), got \(3, 1, 3\)"):
        sj.Dataset(np.zeros((3, 2)), y=np.zeros(3), dydx=np.zeros((3, 1, 3)))
    with pytest.raises(ValueError, match=r"X must be finite; X\[1, 0\]"):
        sj.Dataset([[0.0], [nan]], y=[1.0, 2.0])
    with pytest.raises(ValueError, match="y contains inf"):
        sj.Dataset(np.zeros((2, 1)), y=[1.0, np.inf])
    with pytest.raises(ValueError, match="value_weight must be finite and >= 0"):
        sj.Dataset(np.zeros((2, 1)), y=[1.0, 2.0], value_weight=-1)
    with pytest.raises(TypeError, match="y must be real-valued"):
        sj.Dataset(np.zeros((2, 1)), y=np.zeros(2, dtype=complex))


def test_dataset_is_a_read_only_copy():
    X = np.zeros((2, 1))
    data = sj.Dataset(X, y=[1.0, 2.0])
    X[0, 0] = 5.0
    assert data.X[0, 0] == 0.0
    with pytest.raises(ValueError):
        data.X[0, 0] = 1.0


# ----- CSV -----

def test_from_csv_mixed_rows(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x1,x2,y,dy/dx1,dy/dx2\n"
                    "0,0,1.5,,\n"
                    "1,0,,2.0,\n"
                    "0,1,,,3.0\n"
                    "1,1,4,nan,5\n")
    data = sj.Dataset.from_csv(path)
    assert (data.d_in, data.d_out, data.n_samples) == (2, 1, 4)
    np.testing.assert_array_equal(data.X, [[0, 0], [1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(data.y[:, 0], [1.5, nan, nan, 4])
    np.testing.assert_array_equal(data.dydx[:, 0, :], [[nan, nan], [2, nan], [nan, 3], [nan, 5]])


def test_from_csv_derivatives_only_and_explicit_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,df/da\n1,2,3\n4,5,6\n")
    data = sj.Dataset.from_csv(path)
    assert (data.d_in, data.d_out, data.n_values) == (2, 1, 0)
    np.testing.assert_array_equal(data.dydx[:, 0, 0], [3, 6])
    data = sj.Dataset.from_csv(path, inputs=["b", "a"], outputs=["f"])
    np.testing.assert_array_equal(data.X, [[2, 1], [5, 4]])
    np.testing.assert_array_equal(data.dydx[:, 0, 1], [3, 6])


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("x1,y\n", "no data rows"),
    ("x1,y\n1,2,3\n", "line 2: 3 cells, expected 2"),
    ("x1,y\n1,abc\n", "line 2, column 'y': not a number: 'abc'"),
    ("x1,x1,y\n1,2,3\n", "duplicate column names"),
    ("x1,y,dy/dx1,dy/dx9\n1,2,3,4\n", "unknown columns \\['dy/dx9'\\]"),
])
def test_from_csv_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        sj.Dataset.from_csv(path)


def test_from_csv_missing_file_and_unknown_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        sj.Dataset.from_csv(tmp_path / "absent.csv")
    path = tmp_path / "d.csv"
    path.write_text("x1,y\n1,2\n")
    with pytest.raises(ValueError, match=r"input columns \['x9'\] not found"):
        sj.Dataset.from_csv(path, inputs=["x9"], outputs=["y"])
