# Tests of swarmjac's file formats: the safe container (src/swarmjac/_io.py: round trips, refusal of
# damaged, foreign, newer or pickled files with clear messages, atomic replacement on write failure),
# the model files built on it (modelfile.py) and the CSV tables next to it (csvfile.py).
import io
import json
import os
import pathlib
import zipfile

import numpy as np
import pytest

import swarmjac as sj
import swarmjac.training
from swarmjac import _io, modelfile
from swarmjac._io import FORMAT_VERSION, atomic_save_npz, load_npz
from swarmjac.csvfile import read_csv, write_csv

KIND = "swarmjac-test"


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "weights": rng.standard_normal((40, 30)),
        "float32": rng.standard_normal(7).astype(np.float32),
        "ints": np.arange(-5, 5, dtype=np.int64),
        "uint8": np.arange(256, dtype=np.uint8),
        "flags": np.array([True, False]),
        "empty": np.zeros((0, 3)),
        "scalar": np.array(3.5),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "big_endian": np.arange(4, dtype=">f8"),
        "text": np.array(["tanh", "linear"]),
        "special": np.array([np.inf, -np.inf, np.nan, -0.0]),
    }


SAMPLE_META = {
    "name": "model ü",
    "layer_sizes": [2, 16, 1],
    "huge": 2**200 + 1,
    "negative_huge": -(2**128),
    "inf": float("inf"),
    "minus_inf": float("-inf"),
    "nan": float("nan"),
    "nested": {"a": [1.5, None, True, {"b": "c"}]},
    "np_scalars": [np.int64(7), np.float32(0.5), np.bool_(True)],
}


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def write_members(path, contents):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=allow_pickle)
    return buffer.getvalue()


def meta_document(path):
    return json.loads(np.load(io.BytesIO(members(path)["__meta__.npy"])).tobytes().decode("utf-8"))


def test_round_trip(tmp_path):
    path = tmp_path / "file.npz"
    arrays = sample_arrays()
    atomic_save_npz(path, arrays, SAMPLE_META, kind=KIND)
    loaded, meta = load_npz(path, kind=KIND)
    assert loaded.keys() == arrays.keys()
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)
    np.testing.assert_array_equal(np.signbit(loaded["special"]), np.signbit(arrays["special"]))
    assert meta["huge"] == 2**200 + 1 and type(meta["huge"]) is int
    assert meta["negative_huge"] == -(2**128)
    assert meta["inf"] == float("inf") and meta["minus_inf"] == float("-inf")
    assert np.isnan(meta["nan"])
    assert meta["nested"] == {"a": [1.5, None, True, {"b": "c"}]}
    assert meta["np_scalars"] == [7, 0.5, True]
    assert meta["name"] == "model ü" and meta["layer_sizes"] == [2, 16, 1]


def test_numpy_pcg64_state_round_trips(tmp_path):
    rng = np.random.default_rng(12345)
    rng.random(10)
    state = rng.bit_generator.state
    atomic_save_npz(tmp_path / "rng", {}, {"state": state}, kind=KIND)
    _, meta = load_npz(tmp_path / "rng", kind=KIND)
    restored = np.random.default_rng()
    restored.bit_generator.state = meta["state"]
    np.testing.assert_array_equal(restored.random(5), rng.random(5))


def test_file_layout(tmp_path):
    path = tmp_path / "weights.bin"  # exact name kept, no ".npz" appended
    atomic_save_npz(str(path), {"a": np.arange(3.0)}, {"x": 1}, kind=KIND)
    assert sorted(os.listdir(tmp_path)) == ["weights.bin"]
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["__meta__.npy", "a.npy"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    with np.load(path, allow_pickle=False) as plain:  # an ordinary npz for NumPy users
        np.testing.assert_array_equal(plain["a"], np.arange(3.0))
        assert plain["__meta__"].dtype == np.uint8
    document = meta_document(path)
    assert document["format_version"] == FORMAT_VERSION == 1
    assert document["kind"] == KIND and document["meta"] == {"x": 1}
    assert len(document["sha256"]) == 64


def test_overwrite_replaces_content(tmp_path):
    path = tmp_path / "f"
    atomic_save_npz(path, {"a": np.zeros(3)}, {"v": 1}, kind=KIND)
    atomic_save_npz(path, {"b": np.ones(2)}, {"v": 2}, kind=KIND)
    arrays, meta = load_npz(path, kind=KIND)
    assert list(arrays) == ["b"] and meta == {"v": 2}
    assert sorted(os.listdir(tmp_path)) == ["f"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "nope.npz", kind=KIND)


def test_not_a_zip(tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.arange(3))
    with pytest.raises(ValueError, match=r"plain\.npy.*not a zip"):
        load_npz(path, kind=KIND)
    (tmp_path / "text").write_text("hello")
    with pytest.raises(ValueError, match="not a zip"):
        load_npz(tmp_path / "text", kind=KIND)
    (tmp_path / "nothing").write_bytes(b"")
    with pytest.raises(ValueError, match="not a zip"):
        load_npz(tmp_path / "nothing", kind=KIND)


@pytest.mark.parametrize("keep", [0.5, 0.9, -22, -1])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "full.npz"
    atomic_save_npz(path, sample_arrays(), SAMPLE_META, kind=KIND)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else len(data) + keep
    (tmp_path / "cut.npz").write_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"cut\.npz"):
        load_npz(tmp_path / "cut.npz", kind=KIND)


def test_flipped_byte_in_array_data(tmp_path):
    path = tmp_path / "f.npz"
    weights = np.arange(1000, dtype=np.float64)
    atomic_save_npz(path, {"weights": weights}, {}, kind=KIND)
    data = bytearray(path.read_bytes())
    offset = data.find(weights[500:501].tobytes())
    assert offset > 0
    data[offset + 3] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        load_npz(path, kind=KIND)


def test_single_byte_corruption_and_truncation_are_refused(tmp_path):
    path = tmp_path / "small.npz"
    arrays = {"w": np.arange(12.0).reshape(3, 4), "n": np.arange(3, dtype=np.int32)}
    atomic_save_npz(path, arrays, {"lr": 0.5, "big": 2**70}, kind=KIND)
    data = path.read_bytes()
    damaged = tmp_path / "damaged.npz"
    harmless = 0
    indices = range(0, len(data), 3)  # a stride keeps the test fast; the layout has no period 3
    for index in indices:
        corrupt = bytearray(data)
        corrupt[index] ^= 0x5A
        damaged.write_bytes(bytes(corrupt))
        try:
            loaded, meta = load_npz(damaged, kind=KIND)
        except ValueError as exc:
            assert "damaged.npz" in str(exc)
            continue
        # Only bytes that do not affect content (zip timestamps, attributes) may go unnoticed.
        harmless += 1
        assert meta == {"lr": 0.5, "big": 2**70}
        assert loaded.keys() == arrays.keys()
        for name in arrays:
            assert loaded[name].dtype == arrays[name].dtype
            np.testing.assert_array_equal(loaded[name], arrays[name])
    assert harmless < len(indices) // 3
    for length in range(0, len(data), 11):
        damaged.write_bytes(data[:length])
        with pytest.raises(ValueError, match="damaged"):
            load_npz(damaged, kind=KIND)


def test_header_announcing_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "f.npz"
    atomic_save_npz(path, {"a": np.zeros(10)}, {}, kind=KIND)
    contents = members(path)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    contents["a.npy"] = buffer.getvalue() + np.zeros(10).tobytes()
    write_members(tmp_path / "huge.npz", contents)
    with pytest.raises(ValueError, match=r"huge\.npz is corrupted: member 'a' announces shape \(10000000000000,\)"):
        load_npz(tmp_path / "huge.npz", kind=KIND)


def test_flipped_byte_in_meta(tmp_path):
    path = tmp_path / "f.npz"
    atomic_save_npz(path, {"a": np.zeros(2)}, {"learning": "rate"}, kind=KIND)
    data = bytearray(path.read_bytes())
    offset = data.find(b"learning")
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        load_npz(path, kind=KIND)


@pytest.mark.parametrize("tamper", ["value", "dtype", "shape", "rename", "rename_same_order", "drop", "add", "meta"])
def test_sha256_detects_consistent_zip_with_changed_content(tmp_path, tamper):
    """A well-formed archive (valid zip CRCs) whose content no longer matches the stored digest."""
    path = tmp_path / "f.npz"
    a = np.arange(6, dtype=np.float64)
    atomic_save_npz(path, {"a": a, "b": np.ones(2)}, {"lr": 0.1}, kind=KIND)
    contents = members(path)
    if tamper == "value":
        contents["a.npy"] = npy_bytes(a + np.eye(1, 6).ravel())
    elif tamper == "dtype":
        contents["a.npy"] = npy_bytes(a.view(np.int64))  # same bytes, other dtype
    elif tamper == "shape":
        contents["a.npy"] = npy_bytes(a.reshape(2, 3))  # same bytes, other shape
    elif tamper == "rename":
        contents["c.npy"] = contents.pop("a.npy")
    elif tamper == "rename_same_order":  # only the name changes, the sorted order does not
        contents["a2.npy"] = contents.pop("a.npy")
    elif tamper == "drop":
        del contents["b.npy"]
    elif tamper == "add":
        contents["extra.npy"] = npy_bytes(np.zeros(1))
    else:
        document = meta_document(path)
        document["meta"]["lr"] = 0.2
        contents["__meta__.npy"] = npy_bytes(np.frombuffer(json.dumps(document).encode(), np.uint8))
    tampered = tmp_path / "tampered.npz"
    write_members(tampered, contents)
    with pytest.raises(ValueError, match=r"tampered\.npz is corrupted: checksum mismatch"):
        load_npz(tampered, kind=KIND)


def rewrite_meta(path, target, change):
    contents = members(path)
    document = meta_document(path)
    change(document)
    contents["__meta__.npy"] = npy_bytes(np.frombuffer(json.dumps(document).encode(), np.uint8))
    write_members(target, contents)


def test_newer_version_rejected(tmp_path):
    atomic_save_npz(tmp_path / "f", {"a": np.zeros(2)}, {}, kind=KIND)
    rewrite_meta(tmp_path / "f", tmp_path / "future", lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"future was written by a newer swarmjac"):
        load_npz(tmp_path / "future", kind=KIND)


@pytest.mark.parametrize("bad_version", [0, -1, "1", 1.0, None, True])
def test_invalid_version_rejected(tmp_path, bad_version):
    atomic_save_npz(tmp_path / "f", {}, {}, kind=KIND)
    rewrite_meta(tmp_path / "f", tmp_path / "g", lambda d: d.update(format_version=bad_version))
    with pytest.raises(ValueError, match="invalid format_version"):
        load_npz(tmp_path / "g", kind=KIND)


def test_wrong_kind_rejected(tmp_path):
    atomic_save_npz(tmp_path / "model", {"a": np.zeros(2)}, {}, kind="swarmjac-model")
    with pytest.raises(ValueError, match=r"model holds a 'swarmjac-model' file, expected a 'swarmjac-pso-checkpoint' file"):
        load_npz(tmp_path / "model", kind="swarmjac-pso-checkpoint")


def test_missing_meta_rejected(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match=r"plain\.npz is not a swarmjac file.*__meta__"):
        load_npz(tmp_path / "plain.npz", kind=KIND)


@pytest.mark.parametrize("payload,message", [
    (b"{not json", "not valid UTF-8 JSON"),
    (b"\xff\xfe", "not valid UTF-8 JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"kind": "swarmjac-test"}', "lacks the field"),
    (b'{"kind": "swarmjac-test", "format_version": 1, "meta": [], "sha256": ""}', "meta must be a JSON object"),
])
def test_bad_meta_rejected(tmp_path, payload, message):
    write_members(tmp_path / "f.npz", {"a.npy": npy_bytes(np.zeros(2)),
                                       "__meta__.npy": npy_bytes(np.frombuffer(payload, np.uint8))})
    with pytest.raises(ValueError, match=message):
        load_npz(tmp_path / "f.npz", kind=KIND)


def test_meta_of_wrong_dtype_rejected(tmp_path):
    write_members(tmp_path / "f.npz", {"__meta__.npy": npy_bytes(np.zeros(3))})
    with pytest.raises(ValueError, match="must be a 1-D uint8 array"):
        load_npz(tmp_path / "f.npz", kind=KIND)


def test_pickled_object_array_rejected(tmp_path):
    path = tmp_path / "f.npz"
    atomic_save_npz(path, {"a": np.zeros(2)}, {}, kind=KIND)
    contents = members(path)
    contents["evil.npy"] = npy_bytes(np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    write_members(tmp_path / "evil.npz", contents)
    with pytest.raises(ValueError, match=r"evil\.npz: member 'evil' holds an object \(pickled\) array"):
        load_npz(tmp_path / "evil.npz", kind=KIND)


def test_unexpected_member_rejected(tmp_path):
    atomic_save_npz(tmp_path / "f", {"a": np.zeros(2)}, {}, kind=KIND)
    contents = members(tmp_path / "f")
    contents["payload.pkl"] = b"\x80\x04N."
    write_members(tmp_path / "g", contents)
    with pytest.raises(ValueError, match="unexpected member 'payload.pkl'"):
        load_npz(tmp_path / "g", kind=KIND)


def test_save_validation(tmp_path):
    with pytest.raises(ValueError, match="object"):
        atomic_save_npz(tmp_path / "f", {"a": np.array([1, "x"], dtype=object)}, {}, kind=KIND)
    with pytest.raises(ValueError, match="reserved"):
        atomic_save_npz(tmp_path / "f", {"__meta__": np.zeros(1)}, {}, kind=KIND)
    with pytest.raises(ValueError, match="non-empty str"):
        atomic_save_npz(tmp_path / "f", {"": np.zeros(1)}, {}, kind=KIND)
    with pytest.raises(TypeError, match="numpy array"):
        atomic_save_npz(tmp_path / "f", {}, {"x": np.zeros(2)}, kind=KIND)
    with pytest.raises(TypeError, match="object of type set"):
        atomic_save_npz(tmp_path / "f", {}, {"x": {1, 2}}, kind=KIND)
    with pytest.raises(TypeError, match="kind must be a non-empty str"):
        atomic_save_npz(tmp_path / "f", {}, {}, kind="")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        atomic_save_npz(3, {}, {}, kind=KIND)
    with pytest.raises(TypeError, match="meta must be a dict"):
        atomic_save_npz(tmp_path / "f", {}, [], kind=KIND)
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary file


def test_failed_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    atomic_save_npz(path, {"a": np.zeros(3)}, {"version": "old"}, kind=KIND)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(_io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_save_npz(path, {"a": np.ones(3)}, {"version": "new"}, kind=KIND)
    monkeypatch.undo()
    assert path.read_bytes() == before
    arrays, meta = load_npz(path, kind=KIND)
    assert meta == {"version": "old"}
    np.testing.assert_array_equal(arrays["a"], np.zeros(3))
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # temporary file removed


@pytest.mark.parametrize("exception", [OSError("no space left"), KeyboardInterrupt()])
def test_failure_while_writing_leaves_no_temp_file(tmp_path, monkeypatch, exception):
    path = tmp_path / "model.npz"
    atomic_save_npz(path, {"a": np.zeros(3)}, {"version": "old"}, kind=KIND)
    calls = {"n": 0}
    original = np.lib.format.write_array

    def failing_write_array(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # after the first member has been written
            raise exception
        return original(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(type(exception)):
        atomic_save_npz(path, {"a": np.ones(3), "b": np.ones(2)}, {"version": "new"}, kind=KIND)
    monkeypatch.undo()
    assert load_npz(path, kind=KIND)[1] == {"version": "old"}
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_new_file_permissions_follow_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old_umask = os.umask(0o022)
    try:
        atomic_save_npz(tmp_path / "f", {}, {}, kind=KIND)
    finally:
        os.umask(old_umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


def test_pathlike_and_str_paths(tmp_path):
    class CustomPath:
        def __init__(self, path):
            self.path = path

        def __fspath__(self):
            return self.path

    target = CustomPath(str(tmp_path / "custom"))
    atomic_save_npz(target, {"a": np.arange(2)}, {}, kind=KIND)
    np.testing.assert_array_equal(load_npz(target, kind=KIND)[0]["a"], np.arange(2))
    np.testing.assert_array_equal(load_npz(str(tmp_path / "custom"), kind=KIND)[0]["a"], np.arange(2))
    np.testing.assert_array_equal(load_npz(pathlib.Path(tmp_path) / "custom", kind=KIND)[0]["a"], np.arange(2))


def test_loaded_arrays_are_independent_copies(tmp_path):
    path = tmp_path / "f"
    atomic_save_npz(path, {"a": np.arange(4.0)}, {}, kind=KIND)
    arrays, _ = load_npz(path, kind=KIND)
    arrays["a"][0] = 42.0  # writable, in memory
    os.remove(path)  # file closed: removable (on every OS), data still there
    assert arrays["a"][0] == 42.0


# ----- model files (modelfile.py) -----

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def test_model_functions_moved_and_still_reachable_from_the_old_places():
    assert sj.save is modelfile.save and sj.load is modelfile.load
    assert swarmjac.training.save is modelfile.save and swarmjac.training.load is modelfile.load
    assert swarmjac.training.MODEL_KIND == modelfile.MODEL_KIND == "swarmjac-model"


def test_load_with_metadata_round_trip(tmp_path):
    net = sj.MLP([3, 4, 2], activations=["sigmoid", "linear"])
    params = np.random.default_rng(1).standard_normal(net.n_params)
    metadata = {"cost": 0.125, "inputs": ["a", "b", "c"], "outputs": ["u", "v"], "note": "modèle",
                "iterations": 2**70, "best": float("inf"), "nested": {"k": [1, None, True]}}
    path = tmp_path / "model.npz"
    sj.save(path, net, params, **metadata)
    loaded_net, loaded_params, loaded_metadata = sj.load(path, with_metadata=True)
    assert loaded_net.to_dict() == net.to_dict()
    np.testing.assert_array_equal(loaded_params, params)
    assert loaded_metadata == metadata
    # The default keeps the 2-tuple of before.
    default = sj.load(path)
    assert len(default) == 2
    np.testing.assert_array_equal(default[1], params)
    # No metadata given: an empty dict.
    sj.save(path, net, params)
    assert sj.load(path, with_metadata=True)[2] == {}


def test_load_with_metadata_checks_its_arguments_and_the_metadata(tmp_path):
    net = sj.MLP([2, 3, 1])
    path = tmp_path / "model.npz"
    sj.save(path, net, np.zeros(net.n_params))
    with pytest.raises(TypeError, match="with_metadata must be a bool, got str"):
        sj.load(path, with_metadata="yes")
    crafted = tmp_path / "crafted.npz"
    atomic_save_npz(crafted, {"params": np.zeros(net.n_params)},
                    {"network": net.to_dict(), "extra": [1, 2]}, kind=modelfile.MODEL_KIND)
    with pytest.raises(ValueError, match="crafted.npz: the model's metadata must be a JSON object, got list"):
        sj.load(crafted, with_metadata=True)


def test_model_file_of_version_0_1_0_still_loads():
    """tests/fixtures/model-0.1.0.npz was written by swarmjac 0.1.0 (before model files had their module)."""
    net, params, metadata = sj.load(FIXTURES / "model-0.1.0.npz", with_metadata=True)
    assert net.layer_sizes == (2, 3, 1) and list(net.activations) == ["tanh", "linear"]
    np.testing.assert_array_equal(params, np.linspace(-1.0, 1.0, 13))
    assert metadata == {"cost": 0.125, "inputs": ["a", "b"], "outputs": ["f"], "iterations": 7}



def test_model_file_of_version_0_1_0_loads_as_an_ensemble_of_one():
    ensemble, metadata = sj.load_ensemble(FIXTURES / "model-0.1.0.npz", with_metadata=True)
    assert ensemble.size == 1 and ensemble.net.layer_sizes == (2, 3, 1)
    np.testing.assert_array_equal(ensemble.members[0], np.linspace(-1.0, 1.0, 13))
    assert metadata["cost"] == 0.125


def test_single_model_file_content_is_unchanged_by_ensembles(tmp_path):
    """A single-model file holds what it held before ensembles: params (n_params,), no ensemble_size."""
    net = sj.MLP([2, 3, 1])
    path = tmp_path / "model.npz"
    sj.save(path, net, np.linspace(-1.0, 1.0, 13), cost=0.125)
    arrays, meta = load_npz(path, kind=modelfile.MODEL_KIND)
    assert arrays["params"].shape == (13,)
    assert meta == {"network": net.to_dict(), "extra": {"cost": 0.125}}

# ----- CSV tables (csvfile.py) -----

def test_read_csv_parses_like_float_with_empty_cells_as_nan(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(' x1 ,"a,b",y\n'
                    "\n"                       # blank lines are skipped ...
                    "1.5, -2e-3 ,\n"
                    " , ,\n"                   # ... and so are rows of empty cells
                    "nan,inf,1_000\n"
                    '"7",-0.0,  +.5\n')
    header, table = read_csv(path)
    assert header == ["x1", "a,b", "y"]
    expected = np.array([[1.5, -0.002, np.nan], [np.nan, np.inf, 1000.0], [7.0, -0.0, 0.5]])
    assert table.dtype == np.float64 and table.shape == (3, 3)
    np.testing.assert_array_equal(table, expected)
    assert np.signbit(table[2, 1])


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("x1,y\n", "no data rows"),
    ("x1,y\n\n,\n", "no data rows"),
    ("x1,,y\n1,2,3\n", "empty column names"),
    ("x1, x1 ,y\n1,2,3\n", "duplicate column names"),
    ("x1,y\n1,2\n1,2,3\n", "line 3: 3 cells, expected 2"),
    ("x1,y\n\n1,2\n3,abc\n", "line 4, column 'y': not a number: 'abc'"),
    ("x1,y\n1,0x10\n", "line 2, column 'y': not a number: '0x10'"),
    ("x1,y\n1,2\x00\n", "line 2, column 'y': not a number: '2\\x00'"),   # NumPy str arrays drop NULs
    ("x1,y\n1," + "9" * 200_000 + "\n", "malformed CSV"),                    # over csv's field size limit
])
def test_read_csv_errors_name_the_file_line_and_column(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file: .*absent.csv"):
        read_csv(tmp_path / "absent.csv")


def test_write_csv_round_trips_exactly_through_read_csv(tmp_path):
    rng = np.random.default_rng(3)
    values = np.vstack([rng.standard_normal((5, 3)) * 10.0 ** rng.integers(-300, 300, (5, 3)),
                        [[np.nan, -np.inf, -0.0]]])
    path = tmp_path / "out.csv"
    write_csv(path, ["a", "b", "c"], values)
    header, table = read_csv(path)
    assert header == ["a", "b", "c"]
    np.testing.assert_array_equal(table, values)
    assert np.signbit(table[-1, 2])
    stream = io.StringIO()
    write_csv(stream, ["a", "b", "c"], values)
    assert stream.getvalue() == path.read_text()
    assert stream.getvalue().splitlines()[-1] == "nan,-inf,-0.0"


def test_write_csv_validation(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(ValueError, match=r"values must have shape \(n_rows, 2\) to match the header, got \(3,\)"):
        write_csv(path, ["a", "b"], np.zeros(3))
    with pytest.raises(TypeError, match="header must be a sequence of str"):
        write_csv(path, "ab", np.zeros((1, 2)))
    with pytest.raises(TypeError, match="values must be real numbers, got dtype complex128"):
        write_csv(path, ["a", "b"], np.zeros((1, 2), dtype=complex))
    assert not path.exists()  # nothing written when the input is refused
