"""The ``swarmjac`` command as a user of the public API: no private imports, each model file read once,
the model's stored column names, and a clear message when Dask is missing. (End-to-end fit/predict runs
are in test_training.py, crashes in test_crash.py, clusters in test_distributed.py.)"""
from __future__ import annotations

import ast
import builtins
import os
import pathlib
import sys

import numpy as np
import pytest

import swarmjac as sj
import swarmjac.cli
from swarmjac.cli import main

SOURCE = pathlib.Path(swarmjac.cli.__file__).parent


def private_swarmjac_names(source: str) -> list[str]:
    """Private swarmjac names that ``source`` imports or reaches: ``swarmjac._io``, ``_read_csv``, ``sj._core``."""
    tree = ast.parse(source)
    found: list[str] = []
    bound: set[str] = set()  # local names bound to swarmjac modules or their objects

    def private(dotted: str) -> bool:
        return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "swarmjac":
                    if private(alias.name):
                        found.append(alias.name)
                    bound.add(alias.asname or "swarmjac")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module.split(".")[0] == "swarmjac":
                for alias in node.names:
                    dotted = "." * node.level + ".".join(filter(None, (module, alias.name)))
                    if private(module) or private(alias.name):
                        found.append(dotted)
                    bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            target = node.args[0].value  # importlib.import_module("swarmjac._x") / __import__(...)
            if isinstance(target, str) and target.split(".")[0] == "swarmjac" and private(target):
                found.append(target)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and private(node.attr)):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_the_private_name_checker_finds_what_it_should():
    source = """
import swarmjac as sj
import swarmjac._io
from swarmjac._io import load_npz
from swarmjac.data import Dataset, _read_csv
from swarmjac.distributed import _import_distributed as imp
from . import _validation
import importlib
importlib.import_module("swarmjac._kernels")
sj._core()
sj.__version__, sj.fit, Dataset.from_csv
"""
    assert sorted(private_swarmjac_names(source)) == sorted([
        "swarmjac._io", "swarmjac._io.load_npz", "swarmjac.data._read_csv",
        "swarmjac.distributed._import_distributed", "._validation", "swarmjac._kernels", "sj._core"])


@pytest.mark.parametrize("module", ["cli.py", "demo.py", "plots.py"])
def test_cli_and_its_helpers_use_only_public_swarmjac_names(module):
    assert private_swarmjac_names((SOURCE / module).read_text()) == []


@pytest.fixture
def model(tmp_path):
    net = sj.MLP([2, 3, 1])
    params = np.random.default_rng(0).standard_normal(net.n_params)
    path = tmp_path / "model.npz"
    sj.save(path, net, params, inputs=["a", "b"], outputs=["f"])
    return path, net, params


def test_predict_reads_the_model_file_once(tmp_path, model, monkeypatch):
    path, net, params = model
    points = tmp_path / "p.csv"
    points.write_text("b,a\n0.5,1\n")
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) == os.path.abspath(path):
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), str(points), "--jacobian", "-o", str(out)]) == 0
    assert len(opened) == 1
    monkeypatch.undo()
    lines = out.read_text().splitlines()
    assert lines[0] == "a,b,f,df/da,df/db"  # the names stored with the model, inputs in the model's order
    Y, J = net.value_and_jacobian(params, np.array([[1.0, 0.5]]))
    np.testing.assert_array_equal([float(v) for v in lines[1].split(",")],
                                  [1.0, 0.5, Y[0, 0], J[0, 0, 0], J[0, 0, 1]])


def test_predict_without_stored_names_uses_the_defaults_or_an_unlabelled_file(tmp_path, capsys):
    net = sj.MLP([2, 3, 2])
    params = np.linspace(-1, 1, net.n_params)
    path = tmp_path / "m.npz"
    sj.save(path, net, params)
    points = tmp_path / "p.csv"
    points.write_text("u,v\n1,2\n")
    assert main(["predict", str(path), str(points)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "u,v,y1,y2"
    np.testing.assert_array_equal([float(v) for v in lines[1].split(",")][2:],
                                  net.predict(params, np.array([[1.0, 2.0]]))[0])


def test_predict_refuses_stored_names_that_do_not_fit_the_network(tmp_path, capsys):
    net = sj.MLP([2, 3, 1])
    path = tmp_path / "m.npz"
    sj.save(path, net, np.zeros(net.n_params), inputs=["a"])
    points = tmp_path / "p.csv"
    points.write_text("a,b\n1,2\n")
    assert main(["predict", str(path), str(points)]) == 1
    assert "the model's 'inputs' metadata must be 2 non-empty names, got ['a']" in capsys.readouterr().err


def test_dask_options_without_dask_say_how_to_install(tmp_path, capsys, monkeypatch):
    for name in ("dask", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # find_spec -> None, import -> ImportError
    data = tmp_path / "d.csv"
    data.write_text("x1,x2,y\n0,0,1\n1,0,2\n")
    for flags in (["--local-cluster", "1"], ["--scheduler", "tcp://127.0.0.1:1", "--islands", "2"]):
        argv = ["fit", str(data), "--layers", "2,3,1", "--particles", "4", "--iters", "1", "--quiet",
                "--out", str(tmp_path / "m.npz")] + flags
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("swarmjac: error: swarmjac.distributed needs dask.distributed, which is not installed")
        assert "pip install 'swarmjac[dask]'" in err
    assert not (tmp_path / "m.npz").exists()


# ----- ensembles: predict writes the mean and a spread column per predicted column -----

@pytest.fixture
def ensemble_model(tmp_path):
    net = sj.MLP([2, 4, 2])
    members = np.random.default_rng(4).standard_normal((3, net.n_params))
    path = tmp_path / "ensemble.npz"
    sj.save(path, sj.Ensemble(net, members), inputs=["a", "b"], outputs=["f", "g"])
    points = tmp_path / "p.csv"
    points.write_text("b,a\n0.5,1\n-1,2\n0,0\n")
    X = np.array([[1.0, 0.5], [2.0, -1.0], [0.0, 0.0]])
    return path, points, net, members, X


def read_table(path):
    lines = pathlib.Path(path).read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


def test_predict_with_an_ensemble_writes_mean_and_spread_columns(tmp_path, ensemble_model):
    path, points, net, members, X = ensemble_model
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), str(points), "-o", str(out)]) == 0
    header, table = read_table(out)
    assert header == ["a", "b", "f", "g", "std(f)", "std(g)"]
    Y = np.stack([net.predict(theta, X) for theta in members])  # member by member
    np.testing.assert_array_equal(table[:, :2], X)
    np.testing.assert_allclose(table[:, 2:4], Y.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(table[:, 4:6], Y.std(axis=0, ddof=0), rtol=1e-12, atol=1e-15)
    assert np.all(table[:, 4:6] > 0)


def test_predict_with_an_ensemble_and_jacobian_adds_spreads_of_the_partials(tmp_path, ensemble_model):
    path, points, net, members, X = ensemble_model
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), str(points), "--jacobian", "-o", str(out)]) == 0
    header, table = read_table(out)
    partials = ["df/da", "df/db", "dg/da", "dg/db"]
    assert header == ["a", "b", "f", "g", *partials, "std(f)", "std(g)", *[f"std({p})" for p in partials]]
    pairs = [net.value_and_jacobian(theta, X) for theta in members]
    Y, J = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]).reshape(3, len(X), -1)
    np.testing.assert_allclose(table[:, 2:4], Y.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(table[:, 4:8], J.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(table[:, 8:10], Y.std(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(table[:, 10:14], J.std(axis=0), rtol=1e-12, atol=1e-15)


def test_predict_with_a_single_model_writes_no_spread_columns(tmp_path, model):
    path, net, params = model
    points = tmp_path / "p.csv"
    points.write_text("a,b\n1,2\n")
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), str(points), "-o", str(out)]) == 0
    header, table = read_table(out)
    assert header == ["a", "b", "f"]
    np.testing.assert_array_equal(table[0, 2:], net.predict(params, np.array([[1.0, 2.0]]))[0])


def test_selection_options_are_checked_before_training(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("x1,x2,y\n0,0,1\n1,0,2\n")
    base = ["fit", str(data), "--layers", "2,3,1", "--particles", "4", "--iters", "1", "--quiet",
            "--out", str(tmp_path / "m.npz")]
    with pytest.raises(SystemExit):
        main(base + ["--alpha", "lots"])
    assert "argument --alpha: invalid float value: 'lots'" in capsys.readouterr().err
    assert main(base + ["--islands", "2", "--local-cluster", "1", "--ensemble-size", "3"]) == 1
    assert "--ensemble-size: not supported with --islands" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


@pytest.fixture
def smooth_csv(tmp_path):
    """40 rows of f = sin(x1) + x2^2 / 2 with both partials."""
    X = np.random.default_rng(5).uniform(-1, 1, size=(40, 2))
    table = np.column_stack([X, np.sin(X[:, 0]) + X[:, 1] ** 2 / 2, np.cos(X[:, 0]), X[:, 1]])
    path = tmp_path / "data.csv"
    path.write_text("x1,x2,f,df/dx1,df/dx2\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in table))
    return path


def test_fit_with_an_ensemble_saves_it_and_prints_the_errors(tmp_path, smooth_csv, capsys):
    out = tmp_path / "ens.npz"
    argv = ["fit", str(smooth_csv), "--layers", "2,4,1", "--particles", "8", "--iters", "3", "--quiet",
            "--threads", "1", "--out", str(out), "--ensemble-size", "3", "--validation-fraction", "0.25",
            "--alpha", "1e-4"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    ensemble, metadata = sj.load_ensemble(out, with_metadata=True)
    # The same fit through the API.
    data = sj.Dataset.from_csv(smooth_csv)
    res = sj.fit(sj.MLP([2, 4, 1]), data, n_particles=8, iters=3, seed=0, n_threads=1, ensemble_size=3,
                 validation_fraction=0.25, alpha=1e-4)
    assert ensemble == res.ensemble and ensemble.size == 3
    assert metadata["cost"] == res.cost and metadata["inputs"] == ["x1", "x2"]
    assert f"ensemble of 3 models saved to {out}" in err
    for label, errors in (("training", res.training_error), ("validation", res.validation_error)):
        assert (f"{label} error (RMSE / spread of the data): values {errors.values:.6g}, "
                f"partials {errors.partials:.6g}\n") in err
    with pytest.raises(ValueError, match="holds an ensemble of 3 models"):
        sj.load(out)
    points = tmp_path / "p.csv"
    points.write_text("x1,x2\n0.1,0.2\n")
    assert main(["predict", str(out), str(points)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "x1,x2,f,std(f)"


def test_fit_without_holdout_writes_one_model_and_no_validation_error(tmp_path, smooth_csv, capsys):
    out = tmp_path / "m.npz"
    argv = ["fit", str(smooth_csv), "--layers", "2,4,1", "--particles", "8", "--iters", "3", "--quiet",
            "--threads", "1", "--out", str(out), "--validation-fraction", "0", "--alpha", "0.001"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    net, params = sj.load(out)
    res = sj.fit(sj.MLP([2, 4, 1]), sj.Dataset.from_csv(smooth_csv), n_particles=8, iters=3, seed=0, n_threads=1,
                 validation_fraction=0.0, alpha=0.001)
    np.testing.assert_array_equal(params, res.params)
    assert f"model saved to {out}" in err
    assert "validation error (RMSE / spread of the data): values -, partials -\n" in err  # nothing held out
