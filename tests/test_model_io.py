"""Model files: exact round trips, atomic writes, one test per bad file, browser JSON."""

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from nnfs import model_io
from nnfs.model_io import export_json, load_model, save_model
from nnfs.network import forward


def make_params(h=10, dtype=np.float32, seed=0):
    """Random W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1): biases non-zero too."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (h, 784), "b1": (h, 1), "W2": (10, h), "b2": (10, 1)}
    return {name: (rng.standard_normal(shape) * 0.1).astype(dtype) for name, shape in shapes.items()}


METADATA = {"config": {"n_hidden": 10, "learning_rate": 0.1, "seed": 0}, "dataset": "mnist-5k",
            "dev_accuracy": 0.8425, "classes": list(range(10)), "note": "digits ✓"}


def err_match(path, *fields):
    """Regex: the message names the file first, then every field, in order."""
    return re.escape(str(path)) + "".join(".*" + f for f in fields)


# --- round trips ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact(tmp_path, dtype):
    params = make_params(dtype=dtype)
    path = tmp_path / "model.npz"
    save_model(path, params, METADATA)
    loaded, metadata = load_model(path)
    assert sorted(loaded) == ["W1", "W2", "b1", "b2"]
    for name, value in params.items():
        assert loaded[name].dtype == dtype          # no silent change of precision
        assert loaded[name].shape == value.shape
        assert np.array_equal(loaded[name], value)  # bit for bit
    assert metadata == METADATA


def test_round_trip_without_metadata_and_other_hidden_size(tmp_path):
    params = make_params(h=3)
    path = tmp_path / "tiny.npz"
    save_model(str(path), params)  # str paths work as well as Path
    loaded, metadata = load_model(str(path))
    assert metadata == {}
    assert loaded["W1"].shape == (3, 784) and loaded["W2"].shape == (10, 3)


def test_file_holds_no_pickles_and_a_format_version(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, make_params(), METADATA)
    with np.load(path, allow_pickle=False) as data:  # would raise on any object array
        assert set(data.files) == {"W1", "b1", "W2", "b2", "metadata", "format_version"}
        assert data["metadata"].ndim == 0 and data["metadata"].dtype.kind == "U"
        assert json.loads(str(data["metadata"])) == METADATA
        assert int(data["format_version"]) == model_io.FORMAT_VERSION


def test_save_writes_exactly_the_given_path(tmp_path):
    save_model(tmp_path / "weights.bin", make_params())  # no ".npz" appended
    assert os.listdir(tmp_path) == ["weights.bin"]       # and no temporary file left
    assert load_model(tmp_path / "weights.bin")[1] == {}


# --- atomic writes ---------------------------------------------------------------

def test_failed_save_leaves_old_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, make_params(seed=1), {"version": "old"})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_model(path, make_params(seed=2), {"version": "new"})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # the temporary file was removed
    assert load_model(path)[1] == {"version": "old"}


def test_failed_save_half_way_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    real_savez = np.savez

    def half_then_fail(f, **arrays):
        real_savez(f, **arrays)
        raise OSError("interrupted")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError, match="interrupted"):
        save_model(path, make_params())
    assert os.listdir(tmp_path) == []  # neither the target nor a temp file exists


def test_save_into_missing_directory(tmp_path):
    path = tmp_path / "no_such_dir" / "model.npz"
    with pytest.raises(FileNotFoundError, match=err_match(path, "does not exist")):
        save_model(path, make_params())


def test_save_refuses_params_that_load_would_refuse(tmp_path):
    params = make_params()
    params["W2"][3, 4] = np.nan
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match=err_match(path, "W2", "non-finite")):
        save_model(path, params)
    assert not path.exists()


@pytest.mark.parametrize("metadata, exc, pattern", [
    ({"when": object()}, TypeError, "not JSON-serialisable"),
    ({"dev_accuracy": float("nan")}, ValueError, "not JSON-serialisable"),
    (["not", "a", "dict"], TypeError, "must be a dict"),
])
def test_save_refuses_metadata_json_cannot_hold(tmp_path, metadata, exc, pattern):
    path = tmp_path / "model.npz"
    with pytest.raises(exc, match=err_match(path, "metadata", pattern)):
        save_model(path, make_params(), metadata)
    assert os.listdir(tmp_path) == []


# --- bad files: one test each, the message names the file and the field -----------

def good_arrays(h=10):
    """What save_model writes, as a dict we can spoil one entry of."""
    arrays = make_params(h=h)
    arrays["metadata"] = np.array(json.dumps(METADATA))
    arrays["format_version"] = np.array(model_io.FORMAT_VERSION)
    return arrays


def write_npz(path, **arrays):
    with open(path, "wb") as f:  # a file object: np.savez appends no suffix
        np.savez(f, **arrays)
    return path


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=err_match(path, "no such model file")):
        load_model(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=err_match(path, "empty")):
        load_model(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a model, just some text\n" * 10)
    with pytest.raises(ValueError, match=err_match(path, r"not an \.npz")) as info:
        load_model(path)
    assert "pickle" not in str(info.value)  # not NumPy's misleading "pickled data" message


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.npz"
    save_model(path, make_params())
    path.write_bytes(path.read_bytes()[:5000])  # lost its end, zip directory included
    with pytest.raises(ValueError, match=err_match(path, r"not an \.npz|corrupt")):
        load_model(path)


def test_corrupt_array_data(tmp_path):
    path = tmp_path / "flipped.npz"
    save_model(path, make_params())
    data = bytearray(path.read_bytes())
    data[data.index(b"W1.npy") + 1000] ^= 0xFF  # one byte inside W1's values: CRC fails
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=err_match(path, "W1", "corrupt")):
        load_model(path)


class _Touch:
    """Unpickling this creates a file: stands in for any code a pickle could run."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_pickled_object_array_is_refused_and_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    marker = tmp_path / "pwned"
    arrays = good_arrays()
    arrays["W1"] = np.array([_Touch(marker)], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, allow_pickle=True, **arrays)
    with pytest.raises(ValueError, match=err_match(path, "W1", "pickled", "refused")):
        load_model(path)
    assert not marker.exists()


BAD_ARRAYS = {
    # case: (spoil the arrays, field pattern, what the message says)
    "W1 wrong shape": (lambda a: a.update(W1=np.zeros((10, 100), np.float32)), "W1", r"\(10, 100\).*\(h, 784\)"),
    "W1 not 2-D": (lambda a: a.update(W1=np.zeros(7840, np.float32)), "W1", r"\(7840,\)"),
    "hidden size mismatch": (lambda a: a.update(W2=np.zeros((10, 12), np.float32)), "W2",
                             r"\(10, 12\).*expected \(10, 10\)"),
    "b1 flattened": (lambda a: a.update(b1=np.zeros(10, np.float32)), "b1", r"\(10,\).*expected \(10, 1\)"),
    "b2 wrong length": (lambda a: a.update(b2=np.zeros((9, 1), np.float32)), "b2", r"\(9, 1\).*expected \(10, 1\)"),
    "missing array": (lambda a: a.pop("b2"), "missing array 'b2'", "found: W1, W2, b1"),
    "NaN": (lambda a: a["W2"].__setitem__((0, 0), np.nan), "W2", "1 non-finite"),
    "infinity": (lambda a: a["b1"].__setitem__((2, 0), np.inf), "b1", "non-finite"),
    "integer weights": (lambda a: a.update(W1=np.zeros((10, 784), np.int64)), "W1", "dtype int64"),
    "metadata not JSON": (lambda a: a.update(metadata=np.array("{not json")), "metadata", "not valid JSON"),
    "metadata not an object": (lambda a: a.update(metadata=np.array("[1, 2]")), "metadata", "expected an object"),
    "metadata not a string": (lambda a: a.update(metadata=np.arange(3)), "metadata", "not a JSON string"),
    "newer format": (lambda a: a.update(format_version=np.array(99)), "format_version", "99.*newer"),
}


@pytest.mark.parametrize("case", list(BAD_ARRAYS))
def test_bad_arrays(tmp_path, case):
    spoil, field, says = BAD_ARRAYS[case]
    arrays = good_arrays()
    spoil(arrays)
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=err_match(path, field, says)) as info:
        load_model(path)
    assert "\n" not in str(info.value)  # one line


def test_npz_without_metadata_or_version_still_loads(tmp_path):
    # a plain np.savez of the four arrays, as a reader might write by hand
    params = make_params()
    path = write_npz(tmp_path / "plain.npz", **params)
    loaded, metadata = load_model(path)
    assert metadata == {}
    assert all(np.array_equal(loaded[k], params[k]) for k in params)


# --- export_json ----------------------------------------------------------------

def py_forward(doc, x):
    """The browser's forward pass in plain Python floats (float64, like JS) for one image x (784,)."""
    z1 = [sum(w * xi for w, xi in zip(row, x)) + b for row, b in zip(doc["W1"], doc["b1"])]
    a1 = [max(0.0, z) for z in z1]
    z2 = [sum(w * a for w, a in zip(row, a1)) + b for row, b in zip(doc["W2"], doc["b2"])]
    top = max(z2)
    e = [math.exp(z - top) for z in z2]
    return [v / sum(e) for v in e]


def test_export_json_document(tmp_path):
    params = make_params(h=10)
    path = tmp_path / "model.json"
    export_json(path, params, METADATA, extra={"examples": [[0, 1], [2, 3]]})
    assert os.listdir(tmp_path) == ["model.json"]

    text = path.read_text(encoding="utf-8")
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["format"] == "nnfs-mlp/1"
    assert doc["layers"] == [784, 10, 10]
    assert len(doc["W1"]) == 10 and {len(row) for row in doc["W1"]} == {784}
    assert len(doc["b1"]) == 10 and all(isinstance(v, float) for v in doc["b1"])
    assert len(doc["W2"]) == 10 and {len(row) for row in doc["W2"]} == {10}
    assert len(doc["b2"]) == 10
    assert doc["metadata"] == METADATA
    assert doc["examples"] == [[0, 1], [2, 3]]

    # exact: the float32 cast of every JSON number is the float32 parameter, bit for bit,
    # and even as float64 nothing was rounded
    for name in ("W1", "W2"):
        assert np.array_equal(np.array(doc[name], dtype=np.float32), params[name])
        assert np.array_equal(np.array(doc[name]), params[name].astype(np.float64))
    for name in ("b1", "b2"):
        assert np.array_equal(np.array(doc[name], dtype=np.float32), params[name].ravel())


def test_export_json_forward_pass_matches_numpy(tmp_path):
    params = make_params(h=10, seed=3)
    path = tmp_path / "model.json"
    export_json(path, params)
    doc = json.loads(path.read_text(encoding="utf-8"))

    X = np.random.default_rng(4).random((784, 3))  # (784, 3), pixels in [0, 1]
    A2 = forward({k: v.astype(np.float64) for k, v in params.items()}, X)["A2"]  # (10, 3)
    A2_32 = forward(params, X.astype(np.float32))["A2"]  # the float32 model itself
    for j in range(X.shape[1]):
        probs = py_forward(doc, X[:, j].tolist())
        assert np.allclose(probs, A2[:, j], rtol=0, atol=1e-12)
        assert np.allclose(probs, A2_32[:, j], rtol=0, atol=1e-6)
        assert int(np.argmax(probs)) == int(A2[:, j].argmax())


def test_export_json_refusals(tmp_path):
    path = tmp_path / "model.json"
    with pytest.raises(ValueError, match=err_match(path, "extra keys", "W1")):
        export_json(path, make_params(), extra={"W1": []})
    bad = make_params()
    bad["b2"][0, 0] = np.inf
    with pytest.raises(ValueError, match=err_match(path, "b2", "non-finite")):
        export_json(path, bad)
    missing_dir = tmp_path / "nope" / "model.json"
    with pytest.raises(FileNotFoundError, match=err_match(missing_dir, "does not exist")):
        export_json(missing_dir, make_params())
    assert os.listdir(tmp_path) == []


def test_failed_export_leaves_old_file_untouched(tmp_path):
    path = tmp_path / "model.json"
    export_json(path, make_params(seed=1))
    before = path.read_bytes()
    with pytest.raises(TypeError, match=err_match(path, "extra")):
        export_json(path, make_params(seed=2), extra={"when": object()})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


# --- hardening (issue 13): headers checked before allocation, special files refused -----------

def forged_npy(shape, descr="<f8", data=b""):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def test_header_declaring_292_gib_is_refused_before_allocating(tmp_path):
    import tracemalloc
    import zipfile

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", forged_npy((10 ** 8, 784), data=bytes(800)))
    assert path.stat().st_size < 1500
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=err_match(path, "'W1'", r"\(100000000, 784\)", "over the limit")):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_header_that_disagrees_with_the_data_size_is_corrupt(tmp_path):
    import zipfile

    path = tmp_path / "short.npz"
    params = make_params()
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in params.items():
            archive.writestr(f"{name}.npy", forged_npy(value.shape, "<f4", value.tobytes()[:-4] if name == "b2"
                                                       else value.tobytes()))
    with pytest.raises(ValueError, match=err_match(path, "'b2'", "corrupt", "declares 40 bytes")):
        load_model(path)


def test_fortran_order_and_big_endian_arrays_load_right(tmp_path):
    import zipfile

    params = make_params(dtype=np.float64)
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in params.items():
            buffer = __import__("io").BytesIO()
            np.save(buffer, np.asfortranarray(value.astype(">f8")))
            archive.writestr(f"{name}.npy", buffer.getvalue())
    loaded, _ = load_model(path)
    for name, value in params.items():
        np.testing.assert_array_equal(loaded[name], value)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "symlink to fifo"])
def test_save_refuses_special_files(tmp_path, kind):
    import stat

    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
    elif kind == "device":
        try:
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("mknod needs root")
    else:
        os.mkfifo(target)
    path = target
    if kind == "symlink to fifo":
        path = tmp_path / "link.npz"
        path.symlink_to(target)
    before = os.lstat(target)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not a regular file"):
        save_model(path, make_params())
    after = os.lstat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"target", path.name})
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": is "):
        load_model(path)


def test_save_through_a_symlink_writes_its_target(tmp_path):
    real = tmp_path / "real.npz"
    save_model(real, make_params(seed=1))
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    save_model(link, make_params(seed=2))
    assert link.is_symlink()
    np.testing.assert_array_equal(load_model(real)[0]["W1"], make_params(seed=2)["W1"])


def test_model_metadata_records_the_split():
    from types import SimpleNamespace

    from nnfs.train import TrainConfig

    dataset = SimpleNamespace(name="x", identity="csv:abc", description="d")
    metadata = model_io.model_metadata(TrainConfig(), dataset, 40, 10, 0.5, split_seed=3)
    assert metadata["split"] == {"dataset": "csv:abc", "seed": 3, "dev_size": 10, "n_examples": 50}
    assert "split" not in model_io.model_metadata(TrainConfig(), dataset, 40, 10, 0.5)


@pytest.mark.parametrize("header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 784",  # tokenize.TokenError (found by fuzzing)
    "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 784), 'x': __import__('os')}",
    "[" * 500,
    "not a dict at all",
], ids=["unclosed", "a call", "deep", "not a dict"])
def test_unparsable_npy_header_is_a_value_error(tmp_path, header):
    import zipfile

    text = header.encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text)
    with pytest.raises(ValueError, match=err_match(path, "'W1'", "corrupt")):
        load_model(path)


def test_a_corrupt_zip_header_is_one_short_line(tmp_path):
    """Found by tests/test_fuzz.py (seed 625569761): a local header whose name length is
    bogus makes zipfile quote thousands of raw header bytes in its error. The message stays
    one short line that names the file."""
    path = tmp_path / "model.npz"
    save_model(path, make_params(), METADATA)
    data = bytearray(path.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    data[26:28] = (3000).to_bytes(2, "little")    # the first member's file-name length
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=err_match(path, "corrupt .npz file")) as info:
        load_model(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200 + len(str(path))
