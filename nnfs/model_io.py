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
import math
import tokenize
import zipfile
import zlib
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
def model_metadata(config, dataset, n_train, n_dev, dev_accuracy, *, split_seed=None):
    """What a saved model records about itself: how it was trained, on what, and how well.

    With ``split_seed`` (the seed of ``train_dev_split``'s rng) it also records the
    split, so the dev digits can be found again: ``train_dev_split(dataset.X, dataset.Y,
    split["dev_size"], rng=np.random.default_rng(split["seed"]))`` on the dataset
    whose identity is ``split["dataset"]``.
    """
    metadata = {
        "config": config.to_dict(),
        "dataset": {"name": dataset.name, "identity": dataset.identity, "description": dataset.description,
                    "n_train": int(n_train), "n_dev": int(n_dev)},
        "dev_accuracy": float(dev_accuracy),
    }
    if split_seed is not None:
        metadata["split"] = {"dataset": dataset.identity, "seed": int(split_seed), "dev_size": int(n_dev),
                             "n_examples": int(n_train) + int(n_dev)}
    return metadata
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


# --8<-- [start:read_member]
MAX_ARRAY_BYTES = 256 << 20  # per array: W1 of 40,000 float64 hidden units; real models are 10
MAX_OTHER_BYTES = 4 << 20    # metadata (JSON text) and format_version


def _read_member(archive, name, path):
    """One ``name.npy`` of an open .npz, its header checked (dtype, shape, size) before any allocation."""
    member = f"{name}.npy"
    if member not in archive.namelist():
        raise ValueError(f"{path}: {name!r} is not a NumPy array (no {member} in the archive)")
    info = archive.getinfo(member)
    limit = MAX_ARRAY_BYTES if name in PARAM_NAMES else MAX_OTHER_BYTES
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, fortran, dtype = read_header(f)
        except (ValueError, EOFError, TypeError, SyntaxError, tokenize.TokenError, RecursionError) as err:
            raise ValueError(f"{path}: array {name!r} is corrupt: {_short(err)}") from None
        if dtype.hasobject:
            raise ValueError(f"{path}: array {name!r} holds pickled Python objects; refused")
        if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biufcUS":
            raise ValueError(f"{path}: array {name!r} has dtype {_short(dtype)}, not plain numbers or text")
        if dtype.itemsize == 0 or any(d < 0 for d in shape):
            raise ValueError(f"{path}: array {name!r} is corrupt: shape {_short(shape)} of {_short(dtype)}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > limit:
            raise ValueError(
                f"{path}: array {name!r} has shape {_short(shape)} of {dtype}: {nbytes:,} bytes, "
                f"over the limit of {limit:,}"
            )
        if info.file_size != f.tell() + nbytes:  # the .npy must hold exactly what its header declares
            raise ValueError(
                f"{path}: array {name!r} is corrupt: its header declares {nbytes:,} bytes of data, "
                f"the archive holds {info.file_size - f.tell():,}"
            )
        buffer = bytearray(nbytes)
        try:
            if f.readinto(buffer) != nbytes:
                raise ValueError("truncated")
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError) as err:  # bad CRC, bad deflate
            raise ValueError(f"{path}: array {name!r} is corrupt: {_short(err)}") from None
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _short(value, limit=60):
    text = " ".join(str(value).split())   # one line, whatever the error quoted
    return text if len(text) <= limit else text[:limit] + "..."
# --8<-- [end:read_member]


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
        raise ValueError(f"{path}: is a directory, not a model file")
    if not path.is_file():  # a FIFO would block, a device never ends
        raise ValueError(f"{path}: is not a regular file (a device or a pipe?), not a model file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: file is empty (0 bytes), not a saved model")
    if not zipfile.is_zipfile(path):  # else np.load would try, and refuse, to unpickle it
        raise ValueError(f"{path}: not an .npz model file (no zip archive found: another format, or truncated)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {name.removesuffix(".npy") for name in archive.namelist()}
            params = {name: _read_member(archive, name, path) for name in PARAM_NAMES if name in names}
            text = _read_member(archive, "metadata", path) if "metadata" in names else None
            version = _read_member(archive, "format_version", path) if "format_version" in names else None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError, zlib.error) as err:  # ValueError: ours already names the file
        message = str(err)
        if not message.startswith(str(path)):   # zipfile may quote the raw header bytes: one short line
            message = f"{path}: corrupt .npz file: {_short(message)}"
        raise ValueError(message) from None

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
