"""Saving and loading a trained 784-h-10 network, and exporting it for a browser.

A model file is an ``.npz`` archive (a zip of ``.npy`` arrays) holding:

- ``W1`` (h, 784), ``b1`` (h, 1), ``W2`` (10, h), ``b2`` (10, 1), in the floating
  dtype they were saved in;
- ``metadata``: a JSON string in a 0-d unicode array (config, dataset, accuracy...);
- ``format_version``: a 0-d integer, :data:`FORMAT_VERSION`.

Nothing in it is pickled, so :func:`load_model` reads it with
``allow_pickle=False`` and a downloaded model file cannot run code.

Writes are atomic: the bytes go to a temporary file in the same directory,
which then replaces the target with ``os.replace``. A crash or an error
mid-write leaves any earlier file at the path untouched.

Snippet sections: ``imports`` (with the constants), ``checks``,
``save_model``, ``load_model``, ``export_json``. The public functions call the
two helpers, so a page that wants runnable code stacks
``imports`` + ``checks`` + the function.
"""

# --8<-- [start:imports]
import json
import zipfile
from pathlib import Path

import numpy as np

from nnfs.atomic import atomic_write

FORMAT_VERSION = 1           # bump when the layout of the .npz changes
JSON_FORMAT = "nnfs-mlp/1"   # the "format" field of export_json's output
N_IN, N_OUT = 784, 10        # 28 x 28 pixels in, 10 digits out
PARAM_NAMES = ("W1", "b1", "W2", "b2")
# --8<-- [end:imports]


# --8<-- [start:checks]
def _check_params(params, source):
    """Check W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1): float, finite, same h.

    ``source`` starts every error message (a file name, or "cannot save x.npz"),
    so the message says which file and which field is wrong. Returns a new
    dict holding just the four arrays.
    """
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        found = ", ".join(sorted(map(str, params))) or "nothing"
        raise ValueError(f"{source}: missing array {', '.join(map(repr, missing))} (found: {found})")
    out = {}
    for name in PARAM_NAMES:
        value = params[name]
        if not isinstance(value, np.ndarray):
            try:
                value = np.asarray(value)
            except Exception:  # ragged lists and the like
                raise ValueError(f"{source}: {name} is not an array") from None
        if not np.issubdtype(value.dtype, np.floating):
            raise ValueError(f"{source}: {name} has dtype {value.dtype}, expected a float dtype (float32 or float64)")
        out[name] = value

    W1 = out["W1"]
    if W1.ndim != 2 or W1.shape[1] != N_IN or W1.shape[0] < 1:
        raise ValueError(f"{source}: W1 has shape {W1.shape}, expected (h, {N_IN}) with h >= 1")
    h = W1.shape[0]  # hidden units; every other shape follows from it
    expected = {"b1": (h, 1), "W2": (N_OUT, h), "b2": (N_OUT, 1)}
    for name, shape in expected.items():
        if out[name].shape != shape:
            raise ValueError(
                f"{source}: {name} has shape {out[name].shape}, expected {shape} (W1 has {h} hidden units)"
            )
    for name in PARAM_NAMES:
        bad = int(np.size(out[name]) - np.count_nonzero(np.isfinite(out[name])))
        if bad:
            raise ValueError(f"{source}: {name} contains {bad} non-finite value(s) (NaN or infinity)")
    return out


def _metadata_json(metadata, source):
    """``metadata`` (dict or None) as a strict JSON string; errors start with ``source``."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"{source}: metadata must be a dict, got {type(metadata).__name__}")
    try:
        # allow_nan=False: NaN is not JSON, and a browser's JSON.parse rejects it
        return json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{source}: metadata is not JSON-serialisable: {err}") from err
# --8<-- [end:checks]




# --8<-- [start:model_metadata]
def model_metadata(config, dataset, n_train, n_dev, dev_accuracy):
    """What a saved model records about itself: how it was trained, on what, and how well."""
    return {
        "config": config.to_dict(),
        "dataset": {"name": dataset.name, "identity": dataset.identity, "description": dataset.description,
                    "n_train": int(n_train), "n_dev": int(n_dev)},
        "dev_accuracy": float(dev_accuracy),
    }
# --8<-- [end:model_metadata]


# --8<-- [start:save_model]
def save_model(path, params, metadata=None):
    """Write W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1) and ``metadata`` to an .npz.

    The file is written at exactly ``path`` (no ``.npz`` is appended) and
    atomically. Each array keeps its floating dtype, so a round trip is
    exact: float64 stays float64; cast to float32 first for a file half the size.
    ``metadata`` is a dict of JSON values (tuples come back as lists), stored
    as a JSON string so that loading never needs pickle.

    Raises FileNotFoundError if the directory does not exist, ValueError for
    params that :func:`load_model` would refuse (wrong shape, NaN...), and
    TypeError or ValueError for metadata that JSON cannot hold.
    """
    source = f"cannot save {path}"
    arrays = _check_params(params, source)
    arrays["metadata"] = np.array(_metadata_json(metadata, source))  # 0-d unicode, no pickle
    arrays["format_version"] = np.array(FORMAT_VERSION)
    atomic_write(path, lambda f: np.savez(f, **arrays))  # a file object: savez adds no suffix
# --8<-- [end:save_model]


# --8<-- [start:load_model]
def load_model(path):
    """Read a model written by :func:`save_model`. Returns ``(params, metadata)``.

    ``params`` holds W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1) in the
    dtype they were saved in (float32 if the arrays were float32 when saved,
    float64 if float64: nothing is converted). ``metadata`` is a dict, empty
    if the file has none.

    Every failure is one line naming the file (and the field, if one is at fault):
    FileNotFoundError if there is no file; ValueError if it is empty, not an
    .npz, corrupt, holds pickled objects (refused: unpickling can run code), lacks
    an array, has a wrong shape, non-finite values, unreadable metadata, or a
    newer format version.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a model file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: file is empty (0 bytes), not a saved model")
    if not zipfile.is_zipfile(path):  # else np.load would try, and refuse, to unpickle it
        raise ValueError(f"{path}: not an .npz model file (no zip archive found: another format, or truncated)")

    def read(data, name):
        try:
            value = data[name]
        except ValueError as err:
            if "allow_pickle" in str(err):
                raise ValueError(f"{path}: array {name!r} holds pickled Python objects; refused") from None
            raise ValueError(f"{path}: array {name!r} is corrupt: {err}") from err
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise ValueError(f"{path}: array {name!r} is corrupt: {err}") from err
        if not isinstance(value, np.ndarray):  # a zip member that is not .npy comes back as bytes
            raise ValueError(f"{path}: {name!r} is not a NumPy array")
        return value

    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            params = {name: read(data, name) for name in PARAM_NAMES if name in names}
            text = read(data, "metadata") if "metadata" in names else None
            version = read(data, "format_version") if "format_version" in names else None
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(f"{path}: corrupt .npz file: {err}") from err

    if version is not None:
        if version.ndim != 0 or not np.issubdtype(version.dtype, np.integer):
            raise ValueError(f"{path}: format_version is not an integer")
        if int(version) > FORMAT_VERSION:
            raise ValueError(
                f"{path}: format_version is {int(version)}, newer than this nnfs reads ({FORMAT_VERSION})"
            )
    params = _check_params(params, str(path))

    metadata = {}
    if text is not None:
        if text.ndim != 0 or text.dtype.kind != "U":
            raise ValueError(f"{path}: metadata is not a JSON string (dtype {text.dtype}, shape {text.shape})")
        try:
            metadata = json.loads(str(text[()]))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: metadata is not valid JSON: {err}") from err
        if not isinstance(metadata, dict):
            raise ValueError(f"{path}: metadata is JSON {type(metadata).__name__}, expected an object")
    return params, metadata
# --8<-- [end:load_model]


# --8<-- [start:export_json]
def export_json(path, params, metadata=None, extra=None):
    """Write the network as JSON for a browser's forward pass.

    The document is ``{"format": "nnfs-mlp/1", "layers": [784, h, 10],
    "W1": h rows of 784, "b1": h numbers, "W2": 10 rows of h, "b2": 10 numbers,
    "metadata": {...}, **extra}``. Rows of W are lists, so ``W1[i][k]`` is the
    weight from pixel k to hidden unit i, as in ``Z1 = W1 @ x + b1``.

    Numbers are written with Python's ``repr`` of each value, which
    round-trips exactly: a float32 weight is written as its exact float64
    value, so ``Math.fround`` of it, or NumPy's float32 cast, gives it back
    bit for bit, and a float64 forward pass in JS matches NumPy's.
    ``extra`` keys (say ``"examples"``) go at the top level and may not
    reuse the names above. Written atomically; the directory must exist.
    """
    source = f"cannot export {path}"
    arrays = _check_params(params, source)
    metadata_text = _metadata_json(metadata, source)  # validates metadata, strict JSON
    h = arrays["W1"].shape[0]
    doc = {
        "format": JSON_FORMAT,
        "layers": [N_IN, h, N_OUT],
        "W1": arrays["W1"].tolist(),          # h lists of 784 Python floats (exact values)
        "b1": arrays["b1"].ravel().tolist(),  # h
        "W2": arrays["W2"].tolist(),          # 10 lists of h
        "b2": arrays["b2"].ravel().tolist(),  # 10
        "metadata": json.loads(metadata_text),
    }
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(doc))
    if clash:
        raise ValueError(f"{source}: extra keys {clash} would overwrite the model's own fields")
    doc.update(extra)
    try:
        text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise type(err)(f"{source}: extra is not JSON-serialisable: {err}") from err
    atomic_write(path, lambda f: f.write(text + "\n"), mode="w")
# --8<-- [end:export_json]
