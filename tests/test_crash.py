"""Crash-safe training runs: `swarmjac fit` killed (SIGKILL) or interrupted (SIGINT) mid-run and resumed from its
checkpoint ends with the same model, bit for bit, as an uninterrupted run; damaged, crafted or half-written
checkpoints are refused with a clear message (never unpickled) and never replace a good one.
"""
from __future__ import annotations

import copy
import os
import pickle
import signal
import subprocess
import sys
import sysconfig
import time

import numpy as np
import pytest

import swarmjac as sj
from swarmjac.training import DEFAULT_VALIDATION_FRACTION
from swarmjac.validation import held_out_rows
from swarmjac import _io
from swarmjac._io import atomic_save_npz, load_npz
from swarmjac.cli import EXIT_ERROR, EXIT_INTERRUPTED, main
from swarmjac.demo import make_demo_data
from swarmjac.pso import CHECKPOINT_KIND, PSO
from swarmjac.training import MODEL_KIND

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ITERS = 300
EVERY = 5
RUN_TIMEOUT = 120  # seconds; a run takes a few


def write_csv(path, n_samples=150, seed=1):
    data = make_demo_data(n_samples, seed=seed)
    lines = ["x1,x2,y,dy/dx1,dy/dx2"]
    for x, y, d in zip(data.X, data.y[:, 0], data.dydx[:, 0, :]):
        cells = [repr(float(v)) for v in x] + ["" if np.isnan(v) else repr(float(v)) for v in (y, d[0], d[1])]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def fit_command(directory, resume=False, layers="2,4,1"):
    """The documented command; one kernel thread so that a loaded CI machine does not make it crawl (the
    result does not depend on the thread count)."""
    command = [sys.executable, "-m", "swarmjac", "fit", str(directory / "data.csv"), "--layers", layers,
               "--particles", "30", "--iters", str(ITERS), "--seed", "0", "--out", str(directory / "model.npz"),
               "--checkpoint", str(directory / "run.ckpt"), "--checkpoint-every", str(EVERY), "--quiet",
               "--threads", "1"]
    return command + (["--resume", str(directory / "run.ckpt")] if resume else [])


def child_env():
    """Make the child import the swarmjac this test imports, also when that is a source tree or a build copy
    put on sys.path by other means than PYTHONPATH."""
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(sj.__file__)))
    installed = {os.path.abspath(p) for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}
    if package_parent not in installed:
        env["PYTHONPATH"] = os.pathsep.join([package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def checkpoint_iteration(path):
    """Iteration recorded in the checkpoint at ``path``, or None while there is none."""
    try:
        return load_npz(path, kind=CHECKPOINT_KIND)[1]["state"]["iteration"]
    except (OSError, ValueError):
        return None


def run_and_signal(command, checkpoint, at_iteration, signum):
    """Start ``command``, wait until ``checkpoint`` records ``at_iteration`` or more, send ``signum``.

    Returns (exit status, iteration seen when the signal was sent, stderr).
    """
    process = subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + RUN_TIMEOUT
    seen = None
    try:
        while process.poll() is None and time.monotonic() < deadline:
            seen = checkpoint_iteration(checkpoint)
            if seen is not None and seen >= at_iteration:
                process.send_signal(signum)
                break
            time.sleep(0.005)
        _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, seen, stderr


def run_to_completion(command):
    result = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result


def assert_same_files(path, expected_path, kind):
    arrays, meta = load_npz(path, kind=kind)
    expected_arrays, expected_meta = load_npz(expected_path, kind=kind)
    assert sorted(arrays) == sorted(expected_arrays)
    for name in arrays:
        np.testing.assert_array_equal(arrays[name], expected_arrays[name], err_msg=name)
    assert meta == expected_meta


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run: its model and its final checkpoint."""
    directory = tmp_path_factory.mktemp("straight")
    write_csv(directory / "data.csv")
    run_to_completion(fit_command(directory))
    assert checkpoint_iteration(directory / "run.ckpt") == ITERS
    return directory


@pytest.fixture
def workdir(tmp_path):
    write_csv(tmp_path / "data.csv")
    return tmp_path


# ----- killed and interrupted runs -----

def test_sigkill_at_several_points_then_resume_gives_the_straight_result(workdir, straight):
    """Three SIGKILLs: as soon as the first checkpoint exists, then twice more in resumed runs; the last resume
    finishes with the straight run's model and checkpoint, bit for bit."""
    checkpoint = workdir / "run.ckpt"
    kills = []
    for resume, target in ((False, EVERY), (True, ITERS * 2 // 5), (True, ITERS * 3 // 4)):
        status, seen, stderr = run_and_signal(fit_command(workdir, resume=resume), checkpoint, target, signal.SIGKILL)
        assert status == -signal.SIGKILL, f"the run ended with status {status} before it was killed: {stderr}"
        kills.append(checkpoint_iteration(checkpoint))
        assert seen <= kills[-1] < ITERS  # the kill came mid-run; what is on disk is a whole checkpoint
        assert not (workdir / "model.npz").exists()
    assert kills == sorted(kills) and kills[0] >= EVERY
    print(f"SIGKILLed with checkpoints of iterations {kills} of {ITERS} on disk")
    run_to_completion(fit_command(workdir, resume=True))
    assert_same_files(workdir / "model.npz", straight / "model.npz", MODEL_KIND)
    assert_same_files(checkpoint, straight / "run.ckpt", CHECKPOINT_KIND)


def test_sigint_saves_the_checkpoint_and_the_best_model_then_resumes(workdir, straight):
    """Ctrl-C: exit status 130, a checkpoint of the iterations done and a model of the best particle so far;
    resuming completes to the straight run's result."""
    checkpoint, model = workdir / "run.ckpt", workdir / "model.npz"
    status, seen, stderr = run_and_signal(fit_command(workdir), checkpoint, ITERS // 3, signal.SIGINT)
    assert status == EXIT_INTERRUPTED, stderr
    assert "interrupted after" in stderr and "Traceback" not in stderr
    arrays, meta = load_npz(checkpoint, kind=CHECKPOINT_KIND)
    iteration = meta["state"]["iteration"]
    assert seen <= iteration < ITERS
    print(f"SIGINT after iteration {iteration} of {ITERS}")
    net, params = sj.load(model)
    extra = load_npz(model, kind=MODEL_KIND)[1]["extra"]
    assert extra["iterations"] == iteration
    # The model is the swarm's best, folded from the standardised space the swarm trains in into the data's
    # units (an interrupted run skips the final polish), and its cost is that of the raw data. The swarm
    # trains on the rows that the default validation split leaves, standardised by their own spread.
    data = sj.Dataset.from_csv(workdir / "data.csv")
    train_rows, held_out = held_out_rows(data, DEFAULT_VALIDATION_FRACTION)
    assert len(held_out) > 0
    train = data.subset(train_rows)
    scaler = sj.Standardizer.for_network(net, train)
    np.testing.assert_array_equal(params, scaler.to_raw_params(net, arrays["gbest_position"]))
    assert extra["cost"] == pytest.approx(float(net.fitness(params, data)), rel=1e-12)
    assert float(net.fitness(arrays["gbest_position"], scaler.transform(train))) == pytest.approx(
        meta["state"]["gbest_cost"], rel=1e-12)  # (refined costs come from the forward-mode gradient kernel)
    run_to_completion(fit_command(workdir, resume=True))
    assert_same_files(model, straight / "model.npz", MODEL_KIND)
    assert_same_files(checkpoint, straight / "run.ckpt", CHECKPOINT_KIND)


# ----- damaged checkpoints -----

def _damaged_copies(good: bytes):
    size = len(good)
    for length in (0, 10, size // 2, size - 1):
        yield f"truncated to {length} bytes", good[:length]
    for offset in (0, 40, size // 3, size // 2, size - 30, size - 1):
        flipped = bytearray(good)
        flipped[offset] ^= 0x01
        yield f"bit flipped at byte {offset}", bytes(flipped)
    yield "not a zip", b"PK\x03\x04 but not really a checkpoint"


def test_damaged_checkpoint_is_refused_by_resume(workdir, straight, capsys):
    """`fit --resume` on a truncated, bit-flipped or foreign file exits 1 with one line naming the file, and
    does not overwrite it (the same path is also the --checkpoint destination). A flip in bytes that hold no
    content (the zip comment length, say) may leave the file readable: then it must read back identical."""
    good = (straight / "run.ckpt").read_bytes()
    good_arrays, good_meta = load_npz(straight / "run.ckpt", kind=CHECKPOINT_KIND)
    damaged = workdir / "run.ckpt"
    refused = 0
    for label, content in _damaged_copies(good):
        damaged.write_bytes(content)
        try:
            arrays, meta = load_npz(damaged, kind=CHECKPOINT_KIND)
        except ValueError:
            pass
        else:  # harmless damage: the content is intact, so resuming is correct
            assert meta == good_meta and sorted(arrays) == sorted(good_arrays), label
            assert all(np.array_equal(arrays[k], good_arrays[k]) for k in arrays), label
            continue
        refused += 1
        status = main(fit_command(workdir, resume=True)[3:])
        err = capsys.readouterr().err
        assert status == EXIT_ERROR, label
        assert err.startswith("swarmjac: error: ") and str(damaged) in err, (label, err)
        assert "Traceback" not in err
        assert damaged.read_bytes() == content, label
    assert refused >= 9  # every truncation and every flip inside the members
    # A model file, a checkpoint of another network, a missing file, a newer format: the same.
    sj.save(damaged, sj.MLP([2, 4, 1]), np.zeros(17))
    messages = {"model file": "expected a 'swarmjac-pso-checkpoint' file"}
    statuses = [main(fit_command(workdir, resume=True)[3:])]
    PSO(30, 22, seed=0).save(damaged)
    messages["other network"] = "dimension 22"
    statuses.append(main(fit_command(workdir, resume=True)[3:]))
    damaged.unlink()
    messages["missing"] = str(damaged)
    statuses.append(main(fit_command(workdir, resume=True)[3:]))
    arrays, meta = load_npz(straight / "run.ckpt", kind=CHECKPOINT_KIND)
    _write_with_version(damaged, arrays, meta, version=_io.FORMAT_VERSION + 1)
    messages["newer"] = "newer swarmjac"
    statuses.append(main(fit_command(workdir, resume=True)[3:]))
    err = capsys.readouterr().err
    assert statuses == [EXIT_ERROR] * 4
    for label, message in messages.items():
        assert message in err, (label, err)


def _write_with_version(path, arrays, meta, version):
    original = _io.FORMAT_VERSION
    _io.FORMAT_VERSION = version
    try:
        atomic_save_npz(path, arrays, meta, kind=CHECKPOINT_KIND)
    finally:
        _io.FORMAT_VERSION = original


def sphere(x):
    return np.sum(x ** 2, axis=1)


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "Ctrl-C"])
def test_interrupted_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch, failure):
    """os.replace fails inside PSO.save (the last step of the atomic write): the previous checkpoint is intact,
    no temporary file is left, and resuming from it equals the straight run."""
    net = sj.MLP([2, 4, 1], "tanh")
    data = make_demo_data(60, seed=2)
    straight_run = sj.fit(net, data, n_particles=12, iters=30, seed=7)
    path = tmp_path / "run.ckpt"
    real_replace = os.replace
    calls = {"n": 0}

    def replace_failing_on_third(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise failure
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_failing_on_third)
    if isinstance(failure, KeyboardInterrupt):
        # Ctrl-C in the middle of a checkpoint write ends the run as "interrupted" and saves again at once.
        result = sj.fit(net, data, n_particles=12, iters=30, seed=7, checkpoint_path=path, checkpoint_every=5)
        assert result.stopped_reason == "interrupted"
        assert checkpoint_iteration(path) == result.pso_result.n_iterations == 15
    else:
        with pytest.raises(OSError, match="disk full"):
            sj.fit(net, data, n_particles=12, iters=30, seed=7, checkpoint_path=path, checkpoint_every=5)
        assert checkpoint_iteration(path) == 10  # the save of iteration 15 failed; that of 10 is intact
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["run.ckpt"]
    resumed = sj.fit(net, data, iters=30, resume=path)
    np.testing.assert_array_equal(resumed.params, straight_run.params)
    np.testing.assert_array_equal(resumed.history.best_cost, straight_run.history.best_cost)

    # The same directly through PSO.save: the file on disk is still the previous save.
    opt = PSO.load(path)
    before = path.read_bytes()
    opt.run(sphere, 3)
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("replace failed")))
    with pytest.raises(OSError, match="replace failed"):
        opt.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["run.ckpt"]


# ----- crafted checkpoints (valid container and checksum, inconsistent content) -----

def _crafted_cases():
    """(label, edit of the arrays, edit of the meta) for a ring-topology checkpoint of 6 particles in 3-D."""
    def set_array(name, value):
        return lambda arrays: arrays.__setitem__(name, value(arrays))

    def set_state(key, value):
        return lambda meta: meta["state"].__setitem__(key, value)

    def with_nan(name, index):
        def edit(arrays):
            arrays[name] = arrays[name].copy()
            arrays[name][index] = np.nan
        return edit

    yield "informants out of range", set_array("informants", lambda a: a["informants"] + 6), None
    yield "informants negative", set_array("informants", lambda a: -a["informants"] - 1), None
    yield "informants of the wrong shape", set_array("informants", lambda a: a["informants"][:3]), None
    yield "informants of float dtype", set_array("informants", lambda a: a["informants"].astype(float)), None
    yield "informants missing for a ring", lambda a: a.pop("informants"), None
    yield "velocities of the wrong shape", set_array("velocities", lambda a: np.zeros((6, 4))), None
    yield "pbest_positions of the wrong shape", set_array("pbest_positions", lambda a: np.zeros((5, 3))), None
    yield "costs of the wrong length", set_array("costs", lambda a: np.zeros(7)), None
    yield "history_best_cost 2-D", set_array("history_best_cost", lambda a: np.zeros((5, 2))), None
    yield "history_best_cost of int dtype", set_array("history_best_cost", lambda a: np.zeros(5, dtype=int)), None
    yield "NaN personal best cost", with_nan("pbest_costs", 3), None
    yield "NaN current cost", with_nan("costs", 0), None
    yield "NaN best cost", None, set_state("gbest_cost", float("nan"))
    yield "best cost below every personal best", None, set_state("gbest_cost", -5.0)
    yield "best cost as text", None, set_state("gbest_cost", "0.1")
    yield "evaluations as text", None, set_state("n_evaluations", "abc")
    yield "evaluations as a list", None, set_state("n_evaluations", [30])
    yield "iteration as a float", None, set_state("iteration", 4.5)
    yield "evaluated as text", None, set_state("evaluated", "no")
    yield "planned iterations as text", None, set_state("planned_iters", "x")
    yield "abstract bit generator", None, lambda meta: meta["rng"].__setitem__("bit_generator", "BitGenerator")
    yield "more particles than arrays", None, lambda meta: meta["options"].__setitem__("n_particles", 7)


@pytest.mark.parametrize("case", list(_crafted_cases()), ids=lambda case: case[0])
def test_crafted_checkpoint_is_refused(tmp_path, case):
    """Checkpoints are checksummed, so these need deliberate crafting; they are still refused at load time with
    "<path>: not a valid PSO checkpoint (...)" instead of failing, or silently misbehaving, in a later run."""
    label, edit_arrays, edit_meta = case
    opt = PSO(6, 3, topology="ring", seed=0)
    opt.run(sphere, 4)
    good = tmp_path / "good.ckpt"
    opt.save(good)
    arrays, meta = load_npz(good, kind=CHECKPOINT_KIND)
    meta = copy.deepcopy(meta)
    if edit_arrays:
        edit_arrays(arrays)
    if edit_meta:
        edit_meta(meta)
    crafted = tmp_path / "crafted.ckpt"
    atomic_save_npz(crafted, arrays, meta, kind=CHECKPOINT_KIND)
    with pytest.raises(ValueError, match="not a valid PSO checkpoint") as info:
        PSO.load(crafted)
    assert str(crafted) in str(info.value)


def test_model_and_checkpoint_loading_never_unpickles(tmp_path, monkeypatch):
    """Loading never reaches pickle, for good files and for files holding pickled object arrays."""
    net = sj.MLP([2, 3, 1])
    sj.save(tmp_path / "model.npz", net, np.zeros(net.n_params))
    PSO(4, 2, seed=0).save(tmp_path / "run.ckpt")
    arrays, meta = load_npz(tmp_path / "run.ckpt", kind=CHECKPOINT_KIND)
    hostile = dict(arrays, positions=np.array([object()] * 8, dtype=object).reshape(4, 2))
    meta_bytes = np.frombuffer(b'{"format_version": 1}', dtype=np.uint8)
    np.savez(tmp_path / "pickled.ckpt.npz", __meta__=meta_bytes, **hostile)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle was used to load a swarmjac file")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, no_pickle)
    sj.load(tmp_path / "model.npz")
    PSO.load(tmp_path / "run.ckpt")
    with pytest.raises(ValueError, match="pickled"):
        PSO.load(tmp_path / "pickled.ckpt.npz")
    with pytest.raises(ValueError, match="pickled"):
        sj.load(tmp_path / "pickled.ckpt.npz")
