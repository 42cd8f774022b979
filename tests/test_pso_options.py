"""The option table of swarmjac.PSO: one entry drives the constructor, the ``options`` property, the
checkpoint (file and bytes) and loading; files without an option load with its default."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from swarmjac import PSO
from swarmjac._io import atomic_save_npz, load_npz
from swarmjac._validation import check_positive_int
from swarmjac.pso import CHECKPOINT_KIND, options as options_module


def sphere(x):
    return np.sum(x ** 2, axis=1)


@pytest.fixture
def extra_option(monkeypatch):
    """A new option added by one table entry, as a contributor would."""
    spec = options_module.OptionSpec("demo_period", 3, lambda v, o: check_positive_int(v, "demo_period", 1))
    specs = options_module.OPTION_SPECS + (spec,)
    monkeypatch.setattr(options_module, "OPTION_SPECS", specs)
    monkeypatch.setattr(options_module, "_SPECS_BY_NAME", {s.name: s for s in specs})
    return spec


def test_one_table_entry_is_enough_for_a_new_option(extra_option, tmp_path):
    assert PSO(4, 2, seed=0).options["demo_period"] == 3  # the default
    opt = PSO(4, 2, seed=0, demo_period=7)
    assert opt.options["demo_period"] == 7
    opt.run(sphere, 2)
    opt.save(tmp_path / "c")
    assert load_npz(tmp_path / "c", kind=CHECKPOINT_KIND)[1]["options"]["demo_period"] == 7
    assert PSO.load(tmp_path / "c").options["demo_period"] == 7
    assert PSO.from_bytes(opt.to_bytes()).options["demo_period"] == 7
    with pytest.raises(ValueError, match="demo_period must be >= 1, got 0"):
        PSO(4, 2, demo_period=0)


def test_a_file_without_an_option_loads_with_its_default(extra_option, tmp_path):
    opt = PSO(4, 2, seed=0)
    opt.save(tmp_path / "new")
    arrays, meta = load_npz(tmp_path / "new", kind=CHECKPOINT_KIND)
    del meta["options"]["demo_period"]  # as written before the option existed
    atomic_save_npz(tmp_path / "old", arrays, meta, kind=CHECKPOINT_KIND)
    assert PSO.load(tmp_path / "old").options["demo_period"] == 3


def test_required_options_and_unknown_options_in_files(tmp_path):
    PSO(4, 2, seed=0).save(tmp_path / "good")
    arrays, meta = load_npz(tmp_path / "good", kind=CHECKPOINT_KIND)
    for edit in (lambda m: m["options"].pop("n_particles"), lambda m: m["options"].__setitem__("colour", "red")):
        broken = {**meta, "options": dict(meta["options"])}
        edit(broken)
        atomic_save_npz(tmp_path / "bad", arrays, broken, kind=CHECKPOINT_KIND)
        with pytest.raises(ValueError, match="not a valid PSO checkpoint"):
            PSO.load(tmp_path / "bad")


def test_unknown_keyword_and_signature():
    with pytest.raises(TypeError, match="unexpected keyword argument 'toplogy'"):
        PSO(4, 2, toplogy="ring")
    parameters = inspect.signature(PSO).parameters
    assert list(parameters)[:4] == ["n_particles", "dimensions", "init_pos", "seed"]
    assert {spec.name for spec in options_module.OPTION_SPECS} <= set(parameters)
    assert parameters["ftol_iter"].default == 10 and parameters["topology"].default == "global"


def test_options_property_lists_every_option_with_copies():
    opt = PSO(4, 2, bounds=(-1, 2), velocity_clamp=0.5, coefficients="constriction", seed=0)
    options = opt.options
    assert set(options) == {spec.name for spec in options_module.OPTION_SPECS} | {"chi"}
    np.testing.assert_array_equal(options["velocity_clamp"][1], [1.5, 1.5])
    assert options["w"] is None and options["c1"] == options["c2"] == 2.05
    assert abs(options["chi"] - 0.7298437881283576) < 1e-15
    options["bounds"][0][:] = 99.0
    assert opt.options["bounds"][0][0] == -1.0
