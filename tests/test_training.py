"""sj.fit, model files and the command line, end to end on small problems."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import swarmjac as sj
from swarmjac import reference
from swarmjac.cli import main
from swarmjac.demo import demo_function, demo_gradient, evaluate_fit, make_demo_data

nan = np.nan


def _linear_data():
    X = np.linspace(-1, 1, 30)[:, None] * np.array([[1.0, -0.5]]) + np.array([[0.0, 0.3]])
    y = 2 * X[:, :1] - X[:, 1:]
    dydx = np.broadcast_to(np.array([[2.0, -1.0]]), (30, 2)).copy()
    y[::2] = nan
    dydx[1::2] = nan
    return sj.Dataset(X, y=y, dydx=dydx)


def test_fit_recovers_a_linear_map():
    data = _linear_data()
    net = sj.MLP([2, 1], ["linear"])
    res = sj.fit(net, data, n_particles=30, iters=300, seed=0)
    assert res.cost < 1e-10
    np.testing.assert_allclose(res.params[:2], [2.0, -1.0], atol=1e-5)
    assert res.cost == pytest.approx(float(reference.fitness(net, res.params, data)), rel=1e-9)
    assert res.history.best_cost.shape == (301,)
    assert np.all(np.diff(res.history.best_cost) <= 0)


def test_fit_is_reproducible_and_seed_dependent():
    data = make_demo_data(60, seed=1)
    net = sj.MLP([2, 4, 1], "tanh")
    a = sj.fit(net, data, n_particles=20, iters=15, seed=3)
    b = sj.fit(net, data, n_particles=20, iters=15, seed=3)
    c = sj.fit(net, data, n_particles=20, iters=15, seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.history.best_cost, b.history.best_cost)
    assert not np.array_equal(a.params, c.params)


def test_fit_resume_equals_straight_run(tmp_path):
    data = make_demo_data(60, seed=1)
    net = sj.MLP([2, 4, 1], "tanh")
    straight = sj.fit(net, data, n_particles=16, iters=20, seed=5, topology="ring")
    ckpt = tmp_path / "run.ckpt"
    stop_at_ten = lambda opt, iteration, best: iteration >= 10  # noqa: E731
    first = sj.fit(net, data, n_particles=16, iters=20, seed=5, topology="ring", callback=stop_at_ten,
                   checkpoint_path=ckpt)
    assert first.pso_result.n_iterations == 10
    resumed = sj.fit(net, data, iters=20, resume=ckpt)
    np.testing.assert_array_equal(resumed.params, straight.params)
    np.testing.assert_array_equal(resumed.history.best_cost, straight.history.best_cost)


def test_fit_validation(tmp_path):
    data = make_demo_data(30)
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP"):
        sj.fit("net", data)
    with pytest.raises(ValueError, match=r"init_params must have shape \(n_particles, n_params\) = \(5, 17\)"):
        sj.fit(sj.MLP([2, 4, 1]), data, n_particles=5, iters=1, init_params=np.zeros((4, 17)))
    ckpt = tmp_path / "c.ckpt"
    sj.fit(sj.MLP([2, 4, 1]), data, n_particles=5, iters=1, checkpoint_path=ckpt)
    with pytest.raises(ValueError, match="holds a swarm of dimension 17"):
        sj.fit(sj.MLP([2, 5, 1]), data, iters=2, resume=ckpt)


def test_demo_data_is_a_third_of_each_kind():
    data = make_demo_data(300)
    assert data.n_values == 100
    np.testing.assert_array_equal(data.n_partials, [[100, 100]])
    rows = slice(100, 200)
    np.testing.assert_allclose(data.dydx[rows, 0, 0], demo_gradient(data.X[rows])[:, 0])
    # The exact gradient really is the gradient of the demo function.
    x = np.array([[0.3, -0.7]])
    h = 1e-6
    fd = [(demo_function(x + h * e) - demo_function(x - h * e))[0] / (2 * h) for e in np.eye(2)[:, None, :]]
    np.testing.assert_allclose(demo_gradient(x)[0], fd, rtol=1e-8)


# ----- model files -----

def test_save_load_round_trip(tmp_path):
    net = sj.MLP([3, 5, 2], ["sigmoid", "linear"])
    params = net.init_params(1, seed=0)[0]
    path = tmp_path / "model.npz"
    sj.save(path, net, params, cost=0.5)
    net2, params2 = sj.load(path)
    assert net2 == net
    np.testing.assert_array_equal(params2, params)


def test_load_rejects_bad_model_files(tmp_path):
    net = sj.MLP([2, 3, 1])
    path = tmp_path / "model.npz"
    sj.save(path, net, np.zeros(net.n_params))
    with pytest.raises(FileNotFoundError):
        sj.load(tmp_path / "absent.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated.npz"):
        sj.load(truncated)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, params=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        sj.load(pickled)
    checkpoint = tmp_path / "run.ckpt"
    sj.PSO(4, 3, seed=0).save(checkpoint)
    with pytest.raises(ValueError, match="expected a .swarmjac-model. file"):
        sj.load(checkpoint)
    with pytest.raises(ValueError, match="params must be finite"):
        sj.save(tmp_path / "nan.npz", net, np.full(net.n_params, nan))
    with pytest.raises(ValueError, match=r"params must have shape \(13,\)"):
        sj.save(tmp_path / "short.npz", net, np.zeros(12))


def test_load_validates_fields_of_a_well_formed_file(tmp_path):
    """Files with a valid checksum but inconsistent content (crafted elsewhere) are still rejected."""
    from swarmjac._io import atomic_save_npz
    from swarmjac.training import MODEL_KIND

    cases = [
        ({"params": np.zeros(5)}, {"network": {"layer_sizes": [2, 3, 1], "activations": ["tanh", "linear"]}},
         "params must be float64 of shape \\(13,\\)"),
        ({"params": np.zeros(13)}, {"network": {"layer_sizes": [2, 3, 1], "activations": ["swish", "linear"]}},
         "unknown activation 'swish'"),
        ({"params": np.zeros(13)}, {"network": {"layer_sizes": [2, -3, 1], "activations": ["tanh", "linear"]}},
         "invalid network description"),
        ({"params": np.full(13, np.inf)}, {"network": {"layer_sizes": [2, 3, 1], "activations": ["tanh", "linear"]}},
         "non-finite"),
        ({"params": np.zeros(13), "extra": np.zeros(1)},
         {"network": {"layer_sizes": [2, 3, 1], "activations": ["tanh", "linear"]}}, "exactly one array"),
        ({"params": np.zeros(13)}, {"network": "MLP([2,3,1])"}, "invalid network description"),
    ]
    for i, (arrays, meta, message) in enumerate(cases):
        path = tmp_path / f"crafted{i}.npz"
        atomic_save_npz(path, arrays, meta, kind=MODEL_KIND)
        with pytest.raises(ValueError, match=message):
            sj.load(path)


# ----- command line -----

@pytest.fixture
def csv_file(tmp_path):
    data = make_demo_data(45, seed=2)
    path = tmp_path / "train.csv"
    lines = ["x1,x2,y,dy/dx1,dy/dx2"]
    for x, y, d in zip(data.X, data.y[:, 0], data.dydx[:, 0, :]):
        cells = [repr(float(x[0])), repr(float(x[1]))] + ["" if np.isnan(v) else repr(float(v)) for v in (y, d[0], d[1])]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_fit_then_predict(tmp_path, csv_file, capsys):
    model = tmp_path / "model.npz"
    status = main(["fit", str(csv_file), "--layers", "2,4,1", "--particles", "12", "--iters", "5",
                   "--seed", "0", "--out", str(model), "--quiet"])
    assert status == 0
    net, params = sj.load(model)
    points = tmp_path / "points.csv"
    points.write_text("x2,x1\n0.5,0.25\n-1,1\n")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(points), "--jacobian", "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "x1,x2,y,dy/dx1,dy/dx2"
    values = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    X = np.array([[0.25, 0.5], [1.0, -1.0]])
    Y, J = net.value_and_jacobian(params, X)
    np.testing.assert_array_equal(values[:, :2], X)
    np.testing.assert_allclose(values[:, 2], Y[:, 0], rtol=1e-15)
    np.testing.assert_allclose(values[:, 3:], J[:, 0, :], rtol=1e-15)
    capsys.readouterr()
    assert main(["predict", str(model), str(points)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "x1,x2,y"


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("x1,x2,y\n1,2\n", "line 2: 2 cells, expected 3"),
    ("x1,x2,y,dy/dx7\n1,2,3,4\n", "unknown columns"),
    ("x1,x2,y\n1,oops,3\n", "not a number: 'oops'"),
    ("x1,y\n1,2\n", "--layers 2,4,1 does not fit the data: it has 1 inputs"),
])
def test_cli_fit_errors(tmp_path, capsys, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    status = main(["fit", str(path), "--layers", "2,4,1", "--iters", "1", "--out", str(tmp_path / "m.npz"), "--quiet"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("swarmjac: error:") and message in err
    assert not (tmp_path / "m.npz").exists()


def test_cli_predict_errors(tmp_path, capsys):
    net = sj.MLP([2, 3, 1])
    model = tmp_path / "m.npz"
    sj.save(model, net, np.zeros(net.n_params), inputs=["a", "b"], outputs=["y"])
    points = tmp_path / "p.csv"
    points.write_text("a,c,d\n1,2,3\n")
    assert main(["predict", str(model), str(points)]) == 1
    assert "missing ['b']" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.npz"), str(points)]) == 1


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit"])
    assert info.value.code == 2


def test_demo_command_runs_and_fits(tmp_path):
    """`swarmjac demo` as a user runs it (console entry point module), on a reduced budget."""
    result = subprocess.run([sys.executable, "-m", "swarmjac", "demo", "--out-dir", str(tmp_path),
                             "--iters", "150", "--particles", "60", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "held-out fit" in result.stdout and "dy/dx2" in result.stdout
    net, params = sj.load(tmp_path / "swarmjac-demo-model.npz")
    quality = evaluate_fit(net, params)
    # Even a short run must explain most of the variation of the function and of both partials.
    assert max(quality.relative()) < 0.5
    pytest.importorskip("matplotlib")
    assert (tmp_path / "swarmjac-demo.png").stat().st_size > 10_000
