"""Fuzzing the four readers with Hypothesis: valid arrays or a one-line ValueError, nothing else.

Each test starts from a valid file, applies structural mutations (an extra
field, swapped delimiters, a huge field, an inflated header count, a forged
.npy header, an inflated PNG size...) and byte-level ones (overwrite, insert,
delete, repeat, truncate), then calls the reader. It must either return arrays
of the documented shapes and dtypes, or raise ValueError or FileNotFoundError
naming the file. Peak traced memory (tracemalloc sees NumPy's and Python's
allocations) must stay under 512 MB; `test_peak_rss_of_bombs` measures whole
process memory on the worst inputs in a subprocess.

The seed of a run is printed in pytest's header (tests/conftest.py); rerun with
``--hypothesis-seed=N`` to reproduce. NNFS_FUZZ_EXAMPLES sets examples per reader.
"""

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from nnfs.data import load_csv, load_idx, write_idx
from nnfs.image import load_png
from nnfs.model_io import load_model, save_model
from nnfs.network import init_params

EXAMPLES = int(os.environ.get("NNFS_FUZZ_EXAMPLES", "200"))
MEMORY_LIMIT = 512 << 20
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])

PIXELS = [f"pixel{i}" for i in range(784)]
WORK = Path(tempfile.mkdtemp(prefix="nnfs-fuzz-"))  # one folder; each example overwrites its file


# --- byte-level mutations, common to all readers ----------------------------------------------

@st.composite
def byte_mutations(draw, data):
    """``data`` (bytes) with 0..4 random edits: overwrite, insert, delete, repeat a slice, truncate."""
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["overwrite", "insert", "delete", "repeat", "truncate"]))
        i = draw(st.integers(0, len(data) - 1))
        if kind == "overwrite":
            data[i:i + 1] = bytes([draw(st.integers(0, 255))])
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[i:i + draw(st.integers(1, 64))]
        elif kind == "repeat":
            chunk = data[i:i + draw(st.integers(1, 64))]
            data[i:i] = chunk * draw(st.integers(1, 2000))
        else:
            del data[draw(st.integers(0, len(data))):]
    return bytes(data)


def write(name, data):
    path = WORK / name
    path.write_bytes(data)
    return path


def call_bounded(reader, *args):
    """reader(*args) -> its result, or None after a ValueError/FileNotFoundError naming the file."""
    tracemalloc.reset_peak()
    try:
        result = reader(*args)
    except (ValueError, FileNotFoundError) as err:
        message = str(err)
        assert "\n" not in message and len(message) < 1000, message
        assert str(args[0]) in message or (len(args) > 1 and str(args[1]) in message), message
        result = None
    assert tracemalloc.get_traced_memory()[1] < MEMORY_LIMIT
    return result


@pytest.fixture(scope="module", autouse=True)
def _traced():
    tracemalloc.start()
    yield
    tracemalloc.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def check_X(X, m=None):
    assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2 and X.shape[0] == 784
    assert X.shape[1] >= 1 and (m is None or X.shape[1] == m)
    assert np.all((X >= 0) & (X <= 1))


def check_Y(Y, m):
    assert isinstance(Y, np.ndarray) and Y.dtype == np.int64 and Y.shape == (m,)
    assert np.all((Y >= 0) & (Y <= 9))


# --- CSV -----------------------------------------------------------------------------------------

def csv_lines(labels=True, m=3):
    rng = np.random.default_rng(0)
    header = ",".join(["label", *PIXELS] if labels else PIXELS)
    rows = [",".join(map(str, ([i % 10] if labels else []) + rng.integers(0, 256, 784).tolist())) for i in range(m)]
    return [header, *rows]


@st.composite
def csv_files(draw):
    lines = csv_lines(labels=draw(st.booleans()))
    for _ in range(draw(st.integers(0, 3))):
        r = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["extra leading", "extra trailing", "every row extra", "swap delimiter",
                                     "huge field", "long line", "blank lines", "crlf", "quotes", "spaces"]))
        if kind == "extra leading":
            lines[r] = "0," + lines[r]
        elif kind == "extra trailing":
            lines[r] += "," + draw(st.sampled_from(["", "0", "255", "x"]))
        elif kind == "every row extra":
            lines = [lines[0], *(line + ",0" for line in lines[1:])]
        elif kind == "swap delimiter":
            sep = draw(st.sampled_from([";", "\t", " ", "|"]))
            which = draw(st.sampled_from(["all", "header", "body", "one row"]))
            chosen = {"all": range(len(lines)), "header": [0], "body": range(1, len(lines)), "one row": [r]}[which]
            lines = [line.replace(",", sep) if i in chosen else line for i, line in enumerate(lines)]
        elif kind == "huge field":
            fields = lines[r].split(",")
            j = draw(st.integers(0, len(fields) - 1))
            fields[j] = draw(st.sampled_from("9x0 ,")) * draw(st.integers(1, 300_000))
            lines[r] = ",".join(fields)
        elif kind == "long line":
            lines.insert(r, draw(st.sampled_from("x0,")) * draw(st.integers(1, 100_000)))
        elif kind == "blank lines":
            lines.insert(r, "")
        elif kind == "crlf":
            lines = [line + "\r" for line in lines]
        elif kind == "quotes":
            lines[r] = ",".join(f'"{f}"' for f in lines[r].split(","))
        elif kind == "spaces":
            lines[r] = lines[r].replace(",", " , ")
    data = ("\n".join(lines) + draw(st.sampled_from(["\n", ""]))).encode()
    data = draw(byte_mutations(data))
    if draw(st.booleans()):
        data = gzip.compress(data, compresslevel=1, mtime=0)
        if draw(st.booleans()):
            data = draw(byte_mutations(data))
    return data


@FUZZ
@given(data=csv_files())
def test_fuzz_load_csv(data):
    path = write("fuzz.csv", data)
    result = call_bounded(load_csv, path)
    if result is not None:
        X, Y = result
        check_X(X)
        if Y is not None:
            check_Y(Y, X.shape[1])


def test_fuzz_csv_accepts_the_unmutated_file():
    """The mutations start from a file the reader accepts, so an accepting branch is reachable."""
    X, Y = load_csv(write("plain.csv", ("\n".join(csv_lines()) + "\n").encode()))
    check_X(X, 3)
    check_Y(Y, 3)


# --- IDX -----------------------------------------------------------------------------------------

def idx_pair(n=3):
    rng = np.random.default_rng(1)
    images, labels = WORK / "base-images.idx", WORK / "base-labels.idx"
    write_idx(images, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    write_idx(labels, np.arange(n, dtype=np.uint8) % 10)
    return images.read_bytes(), labels.read_bytes()


@st.composite
def idx_files(draw, data):
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 2))):  # inflate or change a header field
        field = draw(st.integers(0, min(3, len(data) // 4 - 1)))
        value = draw(st.one_of(st.integers(0, 2 ** 32 - 1), st.sampled_from([0, 1, 2, 4, 28, 70_001, 2049, 2051])))
        data[4 * field:4 * field + 4] = value.to_bytes(4, "big")
    if draw(st.booleans()):  # a bomb: many zero bytes after the declared data
        data += bytes(draw(st.integers(1, 1 << 20)))
    data = draw(byte_mutations(bytes(data)))
    if draw(st.booleans()):
        data = gzip.compress(data, compresslevel=1, mtime=0)
        if draw(st.booleans()):
            data = draw(byte_mutations(data))
    return data


IMAGES, LABELS = idx_pair()


@FUZZ
@given(images=idx_files(IMAGES), labels=idx_files(LABELS), with_labels=st.booleans())
def test_fuzz_load_idx(images, labels, with_labels):
    args = [write("fuzz-images", images)] + ([write("fuzz-labels", labels)] if with_labels else [])
    result = call_bounded(load_idx, *args)
    if result is not None:
        X, Y = result
        check_X(X)
        if with_labels:
            check_Y(Y, X.shape[1])
        else:
            assert Y is None


# --- models --------------------------------------------------------------------------------------

def npy(array, descr=None, shape=None, fortran=False):
    """A .npy file; ``descr`` and ``shape`` forge the header without changing the data."""
    header = {"descr": descr or np.lib.format.dtype_to_descr(array.dtype), "fortran_order": fortran,
              "shape": array.shape if shape is None else shape}
    text = repr(header).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + array.tobytes()


BASE_PARAMS = init_params(784, 10, 10, rng=np.random.default_rng(2))
BASE_METADATA = {"dataset": {"name": "sample"}, "dev_accuracy": 0.9}


@st.composite
def model_files(draw):
    members = {name: npy(value) for name, value in BASE_PARAMS.items()}
    members["metadata"] = npy(np.array(json.dumps(BASE_METADATA)))
    members["format_version"] = npy(np.array(1))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(members)))
        kind = draw(st.sampled_from(["shape", "descr", "fortran", "drop", "metadata", "pickle"]))
        value = BASE_PARAMS.get(name, np.array(1.0))
        if kind == "shape":
            dims = draw(st.lists(st.one_of(st.integers(0, 12), st.sampled_from([784, 10 ** 8, 2 ** 40])),
                                 max_size=3))
            members[name] = npy(value, shape=tuple(dims))
        elif kind == "descr":
            members[name] = npy(value, descr=draw(st.sampled_from(
                ["<f4", ">f8", "<i8", "|O", "<U4", "|V8", "<c16", "|b1", "<M8[s]", [("a", "<f8")]])))
        elif kind == "fortran":
            members[name] = npy(value, fortran=True)
        elif kind == "drop":
            del members[name]
        elif kind == "metadata":
            text = draw(st.sampled_from(['[]', '{"split": 3}', 'not json', '{"a": NaN}', '"x"' * 1000]))
            members["metadata"] = npy(np.array(text))
        else:
            members[name] = b"\x80\x04\x95" + draw(st.binary(max_size=32))  # not even a .npy
    buffer = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return draw(byte_mutations(buffer.getvalue()))


@FUZZ
@given(data=model_files())
def test_fuzz_load_model(data):
    result = call_bounded(load_model, write("fuzz.npz", data))
    if result is not None:
        params, metadata = result
        h = params["W1"].shape[0]
        assert h >= 1
        for name, shape in {"W1": (h, 784), "b1": (h, 1), "W2": (10, h), "b2": (10, 1)}.items():
            assert params[name].shape == shape and np.issubdtype(params[name].dtype, np.floating)
            assert np.all(np.isfinite(params[name]))
        assert isinstance(metadata, dict)


def test_fuzz_model_accepts_the_unmutated_file():
    path = WORK / "plain.npz"
    save_model(path, BASE_PARAMS, BASE_METADATA)
    params, metadata = load_model(path)
    assert metadata == BASE_METADATA


# --- PNG -----------------------------------------------------------------------------------------

def png_bytes(mode, size):
    img = Image.new("L", size, 0)
    ImageDraw.Draw(img).line([(2, 2), (size[0] - 3, size[1] - 3)], fill=255, width=3)
    buffer = io.BytesIO()
    img.convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def with_ihdr_size(data, width, height):
    """The PNG with its IHDR width and height replaced, CRC fixed, so only the size lies."""
    start = data.index(b"IHDR")
    body = data[start:start + 4] + struct.pack(">II", width, height) + data[start + 12:start + 17]
    return data[:start] + body + struct.pack(">I", zlib.crc32(body)) + data[start + 21:]


@st.composite
def png_files(draw):
    data = png_bytes(draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16", "LA"])),
                     (draw(st.integers(3, 60)), draw(st.integers(3, 60))))
    if draw(st.booleans()):
        data = with_ihdr_size(data, draw(st.integers(0, 2 ** 31 - 1)), draw(st.integers(0, 2 ** 31 - 1)))
    return draw(byte_mutations(data))


@FUZZ
@given(data=png_files())
def test_fuzz_load_png(data):
    result = call_bounded(load_png, write("fuzz.png", data))
    if result is not None:
        x, notes = result
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (784,)
        assert np.all((x >= 0) & (x <= 1)) and x.max() > 0
        assert all(isinstance(note, str) for note in notes)


# --- whole-process memory on the worst inputs -----------------------------------------------------

PEAK = """
import resource, sys
from nnfs.data import load_csv, load_idx
from nnfs.image import load_png
from nnfs.model_io import load_model
reader, *paths = sys.argv[1:]
try:
    {"csv": load_csv, "idx": load_idx, "png": load_png, "model": load_model}[reader](*paths)
    outcome = "loaded"
except ValueError as err:
    outcome = "ValueError"
print(outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def gzip_members(head, chunk, times):
    """A gzip file of ``head`` then ``chunk`` x ``times``: small on disk, huge unpacked."""
    member = gzip.compress(chunk, compresslevel=9, mtime=0)
    return gzip.compress(head, mtime=0) + member * times


@pytest.mark.slow
@pytest.mark.parametrize("case", ["idx bomb", "csv bomb", "biggest csv", "png 10000x10000", "npz 292 GiB"])
def test_peak_rss_of_bombs(case, tmp_path):
    """Files under 10 MB that unpack to gigabytes or declare huge arrays: process peak under 512 MB."""
    header = ",".join(["label", *PIXELS]).encode() + b"\n"
    if case == "idx bomb":  # 10 images declared, 1 GiB of zeros after them
        head = (2051).to_bytes(4, "big") + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        paths = [tmp_path / "images.gz"]
        paths[0].write_bytes(gzip_members(head, bytes(16 << 20), 64))
    elif case == "csv bomb":  # 4 GiB of rows
        paths = [tmp_path / "train.csv.gz"]
        paths[0].write_bytes(gzip_members(header, (b"0," * 784 + b"0\n") * 10_000, 256))
    elif case == "biggest csv":  # 70,000 rows of zeros: the largest CSV accepted
        paths = [tmp_path / "train.csv.gz"]
        paths[0].write_bytes(gzip_members(header, (b"0," * 784 + b"0\n") * 10_000, 7))
    elif case == "png 10000x10000":
        paths = [tmp_path / "huge.png"]
        Image.new("1", (10_000, 10_000), 0).save(paths[0])
    else:
        paths = [tmp_path / "bomb.npz"]
        with zipfile.ZipFile(paths[0], "w") as archive:
            archive.writestr("W1.npy", npy(np.zeros(100), shape=(10 ** 8, 784)))
    assert paths[0].stat().st_size < 10 << 20
    reader = {"idx": "idx", "csv": "csv", "biggest": "csv", "png": "png", "npz": "model"}[case.split()[0]]
    result = subprocess.run([sys.executable, "-c", PEAK, reader, *map(str, paths)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    outcome, peak_mb = result.stdout.split()
    assert outcome == ("loaded" if case == "biggest csv" else "ValueError")
    assert int(peak_mb) < 512, f"{case}: peak {peak_mb} MB"
