"""Tests of swarmjac.Ensemble (ensemble.py) and ensemble model files (modelfile.py): mean and spread against
a hand NumPy computation over the members one by one, K=1, float32, bad input, and save / load round trips.
"""
from __future__ import annotations

import doctest

import numpy as np
import pytest

import swarmjac as sj
import swarmjac.ensemble
from swarmjac import modelfile


@pytest.fixture
def ensemble_parts():
    net = sj.MLP([3, 5, 4, 2], activations=["tanh", "softplus", "linear"])
    members = np.random.default_rng(0).standard_normal((4, net.n_params))
    X = np.random.default_rng(1).uniform(-2, 2, size=(17, 3))
    return net, members, X


def per_member(net, members, X):
    """Each member evaluated on its own (1-D params): Y (K, N, d_out), J (K, N, d_out, d_in)."""
    pairs = [net.value_and_jacobian(theta, X) for theta in members]
    return np.stack([net.predict(theta, X) for theta in members]), np.stack([J for _, J in pairs])


def hand_std(stack):
    """Standard deviation over axis 0, ddof=0, written out."""
    mean = sum(stack) / len(stack)
    return np.sqrt(sum((s - mean) ** 2 for s in stack) / len(stack))


def test_predict_mean_and_spread_match_the_members_one_by_one(ensemble_parts):
    net, members, X = ensemble_parts
    ens = sj.Ensemble(net, members)
    Y, _ = per_member(net, members, X)
    mean = ens.predict(X)
    mean_again, spread = ens.predict(X, return_std=True)
    assert mean.shape == spread.shape == (17, 2)
    np.testing.assert_allclose(mean, sum(Y) / 4, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(mean, mean_again)
    np.testing.assert_allclose(spread, hand_std(Y), rtol=1e-12, atol=1e-15)
    assert np.all(spread > 0)  # random members disagree everywhere


def test_value_and_jacobian_mean_and_spread_match_the_members_one_by_one(ensemble_parts):
    net, members, X = ensemble_parts
    ens = sj.Ensemble(net, members)
    Y, J = per_member(net, members, X)
    Y_mean, J_mean, Y_std, J_std = ens.value_and_jacobian(X, return_std=True)
    assert J_mean.shape == J_std.shape == (17, 2, 3)
    np.testing.assert_allclose(Y_mean, sum(Y) / 4, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(J_mean, sum(J) / 4, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(Y_std, hand_std(Y), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(J_std, hand_std(J), rtol=1e-12, atol=1e-15)
    both = ens.value_and_jacobian(X, mode="forward")
    assert len(both) == 2
    np.testing.assert_allclose(both[1], J_mean, rtol=1e-12, atol=1e-14)
    # The Jacobian mean is the derivative of the mean prediction (central differences).
    step = 1e-6
    for j in range(3):
        shift = np.zeros(3)
        shift[j] = step
        fd = (ens.predict(X + shift) - ens.predict(X - shift)) / (2 * step)
        np.testing.assert_allclose(J_mean[:, :, j], fd, rtol=1e-6, atol=1e-7)


def test_one_member_has_zero_spread_and_is_the_network(ensemble_parts):
    net, members, X = ensemble_parts
    ens = sj.Ensemble(net, members[:1])
    mean, spread = ens.predict(X, return_std=True)
    np.testing.assert_array_equal(mean, net.predict(members[0], X))
    np.testing.assert_array_equal(spread, 0.0)
    Y, J, Y_std, J_std = ens.value_and_jacobian(X, return_std=True)
    np.testing.assert_array_equal(J, net.value_and_jacobian(members[0], X)[1])
    np.testing.assert_array_equal(Y_std, 0.0)
    np.testing.assert_array_equal(J_std, 0.0)


def test_identical_members_have_zero_spread(ensemble_parts):
    net, members, X = ensemble_parts
    _, spread = sj.Ensemble(net, np.repeat(members[:1], 3, axis=0)).predict(X, return_std=True)
    np.testing.assert_array_equal(spread, 0.0)


def test_dtypes(ensemble_parts):
    net, members, X = ensemble_parts
    ens32 = sj.Ensemble(net, members.astype(np.float32))
    assert ens32.members.dtype == np.float32
    mean, spread = ens32.predict(X.astype(np.float32), return_std=True)
    assert mean.dtype == spread.dtype == np.float32
    np.testing.assert_allclose(mean, sj.Ensemble(net, members).predict(X), rtol=1e-4, atol=1e-4)
    assert ens32.predict(X).dtype == np.float64  # float64 X promotes, as in MLP.predict
    assert sj.Ensemble(net, np.zeros((2, net.n_params), dtype=int)).members.dtype == np.float64


def test_attributes_repr_equality_and_immutability(ensemble_parts):
    net, members, _ = ensemble_parts
    ens = sj.Ensemble(net, members)
    assert ens.net is net and ens.size == 4
    np.testing.assert_array_equal(ens.members, members)
    assert repr(ens) == f"Ensemble({net!r}, size=4)"
    with pytest.raises(ValueError, match="read-only"):
        ens.members[0, 0] = 1.0
    original = members.copy()
    members[0, 0] += 1.0  # the ensemble holds its own copy
    assert ens.members[0, 0] != members[0, 0]
    members[:] = original
    assert ens == sj.Ensemble(sj.MLP(net.layer_sizes, net.activations), members)
    assert ens != sj.Ensemble(net, members[:3])
    assert ens != sj.Ensemble(net, members + 1e-12)
    assert ens != sj.Ensemble(net, members.astype(np.float32))
    assert ens != sj.Ensemble(sj.MLP(net.layer_sizes, "sin"), members)
    assert ens != "ensemble"
    with pytest.raises(TypeError):
        hash(ens)


def test_bad_input_names_the_argument(ensemble_parts):
    net, members, X = ensemble_parts
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP, got str"):
        sj.Ensemble("net", members)
    with pytest.raises(ValueError, match=r"\(K, n_params\) = \(K >= 1, 54\).*got \(54,\); for one model use"):
        sj.Ensemble(net, members[0])
    with pytest.raises(ValueError, match=r"got \(0, 54\)"):
        sj.Ensemble(net, members[:0])
    with pytest.raises(ValueError, match=r"got \(4, 53\)"):
        sj.Ensemble(net, members[:, 1:])
    with pytest.raises(TypeError, match="params must be a real array.*complex128"):
        sj.Ensemble(net, members.astype(complex))
    bad = members.copy()
    bad[2, 5] = np.nan
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"member\(s\) \[2, 3\] hold NaN or inf"):
        sj.Ensemble(net, bad)
    ens = sj.Ensemble(net, members)
    with pytest.raises(TypeError, match="return_std must be True or False, got str"):
        ens.predict(X, return_std="yes")
    with pytest.raises(ValueError, match="X must have shape"):
        ens.predict(X[:, :2])
    with pytest.raises(ValueError, match="n_threads"):
        ens.value_and_jacobian(X, n_threads=0)


# ----- files -----

def test_ensemble_file_round_trips_bit_for_bit(tmp_path, ensemble_parts):
    net, members, X = ensemble_parts
    ens = sj.Ensemble(net, members)
    path = tmp_path / "ensemble.npz"
    sj.save(path, ens, cost=0.5, inputs=["a", "b", "c"])
    loaded, metadata = sj.load_ensemble(path, with_metadata=True)
    assert loaded == ens and metadata == {"cost": 0.5, "inputs": ["a", "b", "c"]}
    assert loaded.members.tobytes() == members.tobytes()
    np.testing.assert_array_equal(loaded.predict(X, return_std=True)[1], ens.predict(X, return_std=True)[1])
    # save(path, net, params2d) writes the same file content as save(path, Ensemble(net, params2d)).
    other = tmp_path / "other.npz"
    sj.save(other, net, members, cost=0.5, inputs=["a", "b", "c"])
    assert sj.load_ensemble(other) == ens
    assert sj.load_ensemble(path, with_metadata=False) == ens


def test_single_model_file_loads_as_an_ensemble_of_one(tmp_path, ensemble_parts):
    net, members, _ = ensemble_parts
    path = tmp_path / "model.npz"
    sj.save(path, net, members[1], cost=1.0)
    ens, metadata = sj.load_ensemble(path, with_metadata=True)
    assert ens.size == 1 and metadata == {"cost": 1.0}
    np.testing.assert_array_equal(ens.members[0], members[1])
    # ... and still loads as before with sj.load.
    np.testing.assert_array_equal(sj.load(path)[1], members[1])


def test_single_model_consumers_refuse_an_ensemble_file(tmp_path, ensemble_parts):
    net, members, _ = ensemble_parts
    path = tmp_path / "ensemble.npz"
    sj.save(path, net, members)
    for call in (lambda: sj.load(path), lambda: sj.load(path, with_metadata=True)):
        with pytest.raises(ValueError, match=r"ensemble.npz holds an ensemble of 4 models, not one model: "
                                             r"read it with swarmjac.load_ensemble\(path\)"):
            call()
    sj.save(path, net, members[:1])  # an ensemble of one is still an ensemble file
    with pytest.raises(ValueError, match="holds an ensemble of 1 model, not one model"):
        sj.load(path)
    assert sj.load_ensemble(path).size == 1


def test_ensemble_file_layout(tmp_path, ensemble_parts):
    """The documented layout: kind swarmjac-model, params (K, n_params), ensemble_size in the metadata."""
    from swarmjac._io import load_npz

    net, members, _ = ensemble_parts
    path = tmp_path / "ensemble.npz"
    sj.save(path, net, members, note="x")
    arrays, meta = load_npz(path, kind=modelfile.MODEL_KIND)
    assert set(arrays) == {"params"} and arrays["params"].shape == (4, net.n_params)
    assert meta == {"network": net.to_dict(), "extra": {"note": "x"}, "ensemble_size": 4}
    sj.save(path, net, members[0])
    assert "ensemble_size" not in load_npz(path, kind=modelfile.MODEL_KIND)[1]


def test_inconsistent_ensemble_files_are_refused(tmp_path, ensemble_parts):
    from swarmjac._io import atomic_save_npz

    net, members, _ = ensemble_parts
    path = tmp_path / "crafted.npz"
    cases = [
        ({"params": members}, {"ensemble_size": 3}, r"params must be float64 of shape \(3, 54\).*got float64 \(4, 54\)"),
        ({"params": members}, {}, r"params must be float64 of shape \(54,\).*got float64 \(4, 54\)"),
        ({"params": members[0]}, {"ensemble_size": 1}, r"shape \(1, 54\)"),
        ({"params": members}, {"ensemble_size": True}, "ensemble_size must be an int >= 1, got True"),
        ({"params": members[:0]}, {"ensemble_size": 0}, "ensemble_size must be an int >= 1, got 0"),
    ]
    for arrays, extra_meta, message in cases:
        atomic_save_npz(path, arrays, {"network": net.to_dict(), "extra": {}, **extra_meta},
                        kind=modelfile.MODEL_KIND)
        with pytest.raises(ValueError, match=message):
            sj.load_ensemble(path)


def test_save_checks_its_arguments(tmp_path, ensemble_parts):
    net, members, _ = ensemble_parts
    path = tmp_path / "m.npz"
    with pytest.raises(TypeError, match="save\\(path, ensemble\\) takes no params"):
        sj.save(path, sj.Ensemble(net, members), members)
    with pytest.raises(TypeError, match="needs params"):
        sj.save(path, net)
    with pytest.raises(TypeError, match="net must be a swarmjac.MLP or a swarmjac.Ensemble, got list"):
        sj.save(path, [net], members)
    with pytest.raises(ValueError, match=r"\(54,\) \(one model\) or \(K, 54\) with K >= 1 \(an ensemble\).*"
                                         r"got \(0, 54\)"):
        sj.save(path, net, members[:0])
    with pytest.raises(ValueError, match=r"got \(1, 2, 54\)"):
        sj.save(path, net, members[None, :2])
    with pytest.raises(ValueError, match="params must be finite"):
        sj.save(path, net, np.full((2, net.n_params), np.nan))
    assert not path.exists()


def test_exported():
    assert sj.Ensemble is swarmjac.ensemble.Ensemble and "Ensemble" in sj.__all__
    assert sj.load_ensemble is modelfile.load_ensemble and "load_ensemble" in sj.__all__


@pytest.mark.parametrize("module", [swarmjac.ensemble, modelfile])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
