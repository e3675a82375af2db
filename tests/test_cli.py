"""The command line: train -> evaluate -> predict round trips, and one test per bad input.

Most tests call `main([...])` in-process on small CSVs written to tmp_path and
train for a handful of steps; two run ``python -m nnfs`` in a subprocess.
"""

import io
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnfs.cli import _ProgressBar, _Spinner, main
from nnfs.data import write_idx
from nnfs.model_io import load_model
from nnfs.network import accuracy, predict
from nnfs.train import TrainConfig

PIXELS = [f"pixel{i}" for i in range(784)]
TRAIN_HEADER = ",".join(["label", *PIXELS])
TEST_HEADER = ",".join(PIXELS)
QUICK = ["--trainer", "gd", "--iterations", "5", "--dev-size", "10"]  # a few ms of training


def csv_rows(m=60, seed=0, labels=True):
    """m data rows of a Kaggle-style CSV: labels 0..9 in turn, random pixels 0..255."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(m, 784))
    if labels:
        return [",".join(map(str, [i % 10, *row])) for i, row in enumerate(pixels)]
    return [",".join(map(str, row)) for row in pixels]


def write_csv(path, rows=None, header=TRAIN_HEADER):
    rows = csv_rows() if rows is None else rows
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def with_cell(rows, row, column, value):
    """rows with the field `column` (0 = label) of data row `row` (0-based) replaced."""
    fields = rows[row].split(",")
    fields[column] = value
    return [*rows[:row], ",".join(fields), *rows[row + 1:]]


def run(capsys, *argv):
    """main(argv) in-process -> (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnfs: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def line_value(out, prefix):
    """The float after `prefix` on the line that starts with it."""
    match = re.search(rf"^{re.escape(prefix)}(\S+)$", out, flags=re.MULTILINE)
    assert match, f"no line starting {prefix!r} in:\n{out}"
    return float(match.group(1))


@pytest.fixture
def train_csv(tmp_path):
    return write_csv(tmp_path / "train.csv")


@pytest.fixture
def model(tmp_path, train_csv, capsys):
    path = tmp_path / "model.npz"
    code, _out, _err = run(capsys, "train", "--data", train_csv, *QUICK, "--out", path)
    assert code == 0
    return path


def digit_png(path, size=(160, 200)):
    """A black '1' on white, RGB, W x H = size."""
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).line([(80, 20), (80, 180)], fill="black", width=14)
    img.save(path)
    return path


# --- round trips ---------------------------------------------------------------------

def test_train_evaluate_predict_round_trip(tmp_path, train_csv, capsys):
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", "--data", train_csv, *QUICK, "--seed", 1, "--out", model)
    assert code == 0, err
    dev_accuracy = line_value(out, "dev accuracy: ")
    assert 0 <= dev_accuracy <= 1
    assert "50 for training, 10 for dev" in out

    params, metadata = load_model(model)
    assert params["W1"].shape == (10, 784) and params["W2"].shape == (10, 10)
    assert metadata["config"] == TrainConfig(iterations=5, seed=1).to_dict()
    assert metadata["dev_accuracy"] == pytest.approx(dev_accuracy, abs=5e-5)
    dataset = metadata["dataset"]
    assert (dataset["name"], dataset["n_train"], dataset["n_dev"]) == ("train.csv", 50, 10)
    assert dataset["identity"].startswith("csv:") and "train.csv" in dataset["description"]

    # On its own training CSV, a model is scored on the 10 dev digits only: the split it recorded.
    code, out, err = run(capsys, "evaluate", model, "--data", train_csv)
    assert code == 0, err
    from nnfs.data import load_csv, train_dev_split
    X, Y = load_csv(train_csv)
    _, _, X_dev, Y_dev = train_dev_split(X, Y, 10, rng=np.random.default_rng(1))
    expected = accuracy(predict(params, X_dev), Y_dev)
    assert line_value(out, "accuracy: ") == pytest.approx(expected, abs=5e-5)
    assert line_value(out, "accuracy: ") == pytest.approx(dev_accuracy, abs=5e-5)
    assert "only the 10 dev digits" in out
    table = out.splitlines()[-12:]                   # header, digits 0..9, "all"
    assert table[0].split() == ["digit", "count", "correct", "accuracy"]
    assert [row.split()[0] for row in table[1:]] == [*map(str, range(10)), "all"]
    assert sum(int(row.split()[1]) for row in table[1:11]) == 10
    assert [int(row.split()[1]) for row in table[1:11]] == np.bincount(Y_dev, minlength=10).tolist()
    assert table[-1].split()[1:3] == ["10", str(int(round(expected * 10)))]

    # On a CSV it never saw, it is scored on every row.
    other = write_csv(tmp_path / "other.csv", csv_rows(seed=7))
    code, out, err = run(capsys, "evaluate", model, "--data", other)
    assert code == 0, err
    X, Y = load_csv(other)
    assert line_value(out, "accuracy: ") == pytest.approx(accuracy(predict(params, X), Y), abs=5e-5)
    assert out.splitlines()[-1].split()[:2] == ["all", "60"]

    code, out, err = run(capsys, "predict", model, train_csv, "--row", 3)
    assert code == 0, err
    probabilities = [float(line.split()[1]) for line in out.splitlines() if re.fullmatch(r" +\d  \d\.\d{4}", line)]
    assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1, abs=1e-3)
    prediction = int(line_value(out, "prediction: "))
    assert prediction == int(predict(params, X[:, 3:4])[0])
    assert probabilities[prediction] == max(probabilities)
    assert "label: 3" in out.splitlines()             # row 3 has label 3

    code, out, err = run(capsys, "predict", model, digit_png(tmp_path / "one.png"))
    assert code == 0, err
    assert "note: converted RGB to grayscale" in out
    assert re.search(r"^note: resized \d+x\d+ ink box to \d+x20 and centred", out, re.MULTILINE)
    assert 0 <= line_value(out, "prediction: ") <= 9


def test_predict_reads_an_unlabelled_test_csv(tmp_path, model, capsys):
    test_csv = write_csv(tmp_path / "test.csv", csv_rows(m=5, labels=False), header=TEST_HEADER)
    code, out, err = run(capsys, "predict", model, test_csv, "--row", 4)
    assert code == 0, err
    assert "prediction: " in out and "label:" not in out


def test_train_overrides_only_the_options_given(tmp_path, train_csv, capsys):
    model = tmp_path / "fast.npz"
    code, out, err = run(capsys, "train", "--data", train_csv, "--trainer", "fast", "--epochs", 1,
                         "--batch-size", 16, "--learning-rate", 0.05, "--hidden", 7,
                         "--optimizer", "adam", "--init", "uniform", "--seed", 3, "--dev-size", 10,
                         "--out", model)
    assert code == 0, err
    params, metadata = load_model(model)
    assert params["W1"].shape == (7, 784)
    assert metadata["config"] == TrainConfig.fast(
        epochs=1, batch_size=16, learning_rate=0.05, n_hidden=7, optimizer="adam", init="uniform", seed=3
    ).to_dict()


def test_options_the_trainer_ignores_give_a_warning(tmp_path, train_csv, capsys):
    code, out, err = run(capsys, "train", "--data", train_csv, *QUICK, "--epochs", 4, "--out", tmp_path / "m.npz")
    assert code == 0
    assert err.strip() == "nnfs: warning: --trainer gd ignores --epochs"


def test_same_seed_same_model(tmp_path, train_csv, capsys):
    for name in ("a.npz", "b.npz"):
        assert run(capsys, "train", "--data", train_csv, *QUICK, "--seed", 5, "--out", tmp_path / name)[0] == 0
    a, b = load_model(tmp_path / "a.npz")[0], load_model(tmp_path / "b.npz")[0]
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_mnist_evaluates_on_the_test_set(tmp_path, capsys, monkeypatch):
    # load_mnist uses copies already in the cache folder (checked by IDX header, not md5): no download.
    from nnfs import data
    counts = {"train": 30, "t10k": 7}  # stand-ins for 60,000 and 10,000
    monkeypatch.setattr(data, "MNIST_COUNTS", {name: counts[name.split("-")[0]] for name in data.MNIST_FILES})
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    for prefix, n in [("train", 30), ("t10k", 7)]:
        write_idx(cache / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(cache / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", "--data", "mnist", "--cache-dir", cache, *QUICK, "--out", model)
    assert code == 0, err
    assert "20 for training, 10 for dev" in out
    code, out, err = run(capsys, "evaluate", model, "--data", "mnist", "--cache-dir", cache)
    assert code == 0, err
    assert out.splitlines()[-1].split()[:2] == ["all", "7"]  # the 7 test digits, not the 30 training ones


def test_evaluate_idx_files(tmp_path, model, capsys):
    rng = np.random.default_rng(1)
    images, labels = tmp_path / "images.idx", tmp_path / "labels.idx"
    write_idx(images, rng.integers(0, 256, (12, 28, 28), dtype=np.uint8))
    write_idx(labels, np.arange(12, dtype=np.uint8) % 10)
    code, out, err = run(capsys, "evaluate", model, "--images", images, "--labels", labels)
    assert code == 0, err
    assert 0 <= line_value(out, "accuracy: ") <= 1
    assert out.splitlines()[-1].split()[:2] == ["all", "12"]


@pytest.mark.slow
def test_train_on_the_sample_end_to_end(tmp_path, capsys):
    model = tmp_path / "sample.npz"
    code, out, err = run(capsys, "train", "--trainer", "fast", "--epochs", 1, "--out", model)
    assert code == 0, err
    assert line_value(out, "dev accuracy: ") > 0.7  # one epoch of mini-batches on 4,000 digits
    assert "4,000 for training, 1,000 for dev" in out
    _params, metadata = load_model(model)
    assert metadata["dataset"]["name"] == "sample" and metadata["dataset"]["identity"].startswith("sample:")
    dev_accuracy = line_value(out, "dev accuracy: ")
    code, out, err = run(capsys, "evaluate", model, "--data", "sample")
    assert code == 0, err
    # only the 1,000 dev digits the model did not train on, so exactly its dev accuracy
    assert out.splitlines()[-1].split()[:2] == ["all", "1000"]
    assert line_value(out, "accuracy: ") == pytest.approx(dev_accuracy, abs=5e-5)


# --- progress and subprocesses ---------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_spinner_draws_only_on_a_terminal():
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        with _Spinner("training", stream):
            time.sleep(0.25)
    assert "\r" in terminal.getvalue() and "training done in" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_progress_bar_draws_only_on_a_terminal(train_csv):
    from nnfs import TrainConfig, train
    from nnfs.data import load_csv

    X, Y = load_csv(train_csv)
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        train(X, Y, TrainConfig(iterations=20, eval_every=5), X, Y, callback=_ProgressBar("training", stream))
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 4  # one redraw per history row: steps 5, 10, 15, 20
    assert "step 20/20" in drawn and "100%" in drawn and drawn.endswith("\n")
    assert pipe.getvalue() == ""


def nnfs_subprocess(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "nnfs", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_subprocess_without_a_terminal_prints_no_progress(tmp_path, train_csv):
    result = nnfs_subprocess("train", "--data", train_csv, *QUICK, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout and "\r" not in result.stderr
    assert result.stderr == ""
    assert re.search(r"^dev accuracy: \d\.\d{4}$", result.stdout, re.MULTILINE)
    assert (tmp_path / "m.npz").is_file()


@pytest.mark.parametrize("launcher", ["module", "script"])
def test_subprocess_bad_input_is_one_line_and_exit_2(tmp_path, launcher):
    missing = tmp_path / "missing.npz"
    if launcher == "script":
        script = shutil.which("nnfs")
        if script is None:
            pytest.skip("the nnfs console script is not on PATH")
        result = subprocess.run([script, "evaluate", str(missing), "--data", "sample"],
                                capture_output=True, text=True, timeout=120)
    else:
        result = nnfs_subprocess("evaluate", missing, "--data", "sample", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"nnfs: error: {missing}: no such model file"]
    assert result.stdout == ""


# --- bad input: one line, exit 2 ---------------------------------------------------------

def test_missing_data_file(tmp_path, model, capsys):
    code, out, err = run(capsys, "evaluate", model, "--data", tmp_path / "nope.csv")
    assert_one_line_error(code, err, "nope.csv", "no such file")
    code, out, err = run(capsys, "train", "--data", tmp_path / "nope.csv", "--out", tmp_path / "m.npz")
    assert_one_line_error(code, err, "nope.csv", "no such file")
    code, out, err = run(capsys, "predict", model, tmp_path / "nope.png")
    assert_one_line_error(code, err, "nope.png", "no such image file")


def test_missing_model_file(tmp_path, train_csv, capsys):
    code, out, err = run(capsys, "predict", tmp_path / "none.npz", train_csv)
    assert_one_line_error(code, err, "none.npz", "no such model file")
    assert out == ""


def test_empty_csv(tmp_path, model, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out, err = run(capsys, "evaluate", model, "--data", empty)
    assert_one_line_error(code, err, "empty.csv", "empty")


def test_header_only_csv(tmp_path, model, capsys):
    path = write_csv(tmp_path / "header.csv", rows=[])
    code, out, err = run(capsys, "predict", model, path)
    assert_one_line_error(code, err, "header.csv", "no data rows")


@pytest.mark.parametrize("column, value, fragments", [
    (6, "abc", ["row 2", "pixel5", "non-numeric", "'abc'"]),
    (4, "NaN", ["row 2", "pixel3", "missing value"]),
    (0, "10", ["row 2", "label", "10", "outside 0..9"]),
    (8, "256", ["row 2", "pixel7", "256", "outside 0..255"]),
    (8, "-1", ["row 2", "pixel7", "-1", "outside 0..255"]),
])
def test_bad_csv_cell(tmp_path, model, capsys, column, value, fragments):
    path = write_csv(tmp_path / "bad.csv", with_cell(csv_rows(m=5), 1, column, value))
    code, out, err = run(capsys, "evaluate", model, "--data", path)
    assert_one_line_error(code, err, "bad.csv", *fragments)


def test_csv_row_with_wrong_column_count(tmp_path, model, capsys):
    rows = csv_rows(m=5)
    rows[2] = rows[2].rsplit(",", 1)[0]               # 784 fields instead of 785
    path = write_csv(tmp_path / "short.csv", rows)
    code, out, err = run(capsys, "evaluate", model, "--data", path)
    assert_one_line_error(code, err, "short.csv", "row 3", "784 fields", "expected 785")


def test_csv_with_wrong_header(tmp_path, model, capsys):
    path = write_csv(tmp_path / "wide.csv", csv_rows(m=3), header=TRAIN_HEADER + ",extra")
    code, out, err = run(capsys, "predict", model, path)
    assert_one_line_error(code, err, "wide.csv", "header", "786 fields")


def test_unlabelled_csv_cannot_be_evaluated(tmp_path, model, capsys):
    path = write_csv(tmp_path / "test.csv", csv_rows(m=3, labels=False), header=TEST_HEADER)
    code, out, err = run(capsys, "evaluate", model, "--data", path)
    assert_one_line_error(code, err, "test.csv", "no label column")


def test_idx_bad_magic(tmp_path, model, capsys):
    labels = write_idx(tmp_path / "labels.idx", np.zeros(3, np.uint8))
    code, out, err = run(capsys, "evaluate", model, "--images", labels, "--labels", labels)
    assert_one_line_error(code, err, "labels.idx", "magic number 2049", "expected 2051")


def test_idx_truncated(tmp_path, model, capsys):
    images = write_idx(tmp_path / "images.idx", np.zeros((3, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "labels.idx", np.zeros(3, np.uint8))
    images.write_bytes(images.read_bytes()[:-100])
    code, out, err = run(capsys, "evaluate", model, "--images", images, "--labels", labels)
    assert_one_line_error(code, err, "images.idx", "truncated", "3 images")


def test_idx_count_mismatch(tmp_path, model, capsys):
    images = write_idx(tmp_path / "images.idx", np.zeros((3, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "labels.idx", np.zeros(4, np.uint8))
    code, out, err = run(capsys, "evaluate", model, "--images", images, "--labels", labels)
    assert_one_line_error(code, err, "images.idx", "3 images", "labels.idx", "4 labels")


def test_corrupt_model_file(tmp_path, train_csv, capsys):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"definitely not a zip archive")
    code, out, err = run(capsys, "evaluate", garbage, "--data", train_csv)
    assert_one_line_error(code, err, "garbage.npz", "not an .npz")


def test_truncated_model_file(tmp_path, model, train_csv, capsys):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(model.read_bytes()[:-200])
    code, out, err = run(capsys, "predict", cut, train_csv)
    assert_one_line_error(code, err, "cut.npz")


def test_model_of_another_shape(tmp_path, train_csv, capsys):
    path = tmp_path / "other.npz"
    np.savez(path, W1=np.zeros((10, 100)), b1=np.zeros((10, 1)), W2=np.zeros((10, 10)), b2=np.zeros((10, 1)))
    code, out, err = run(capsys, "predict", path, train_csv)
    assert_one_line_error(code, err, "other.npz", "W1", "(10, 100)", "784")


def test_model_with_pickled_objects(tmp_path, train_csv, capsys):
    path = tmp_path / "pickled.npz"
    weights = np.empty((10, 784), dtype=object)
    weights[:] = 0.0
    np.savez(path, W1=weights, b1=np.zeros((10, 1)), W2=np.zeros((10, 10)), b2=np.zeros((10, 1)))
    code, out, err = run(capsys, "evaluate", path, "--data", train_csv)
    assert_one_line_error(code, err, "pickled.npz", "W1", "pickled")


def test_png_that_is_not_an_image(tmp_path, model, capsys):
    path = tmp_path / "fake.png"
    path.write_text("hello")
    code, out, err = run(capsys, "predict", model, path)
    assert_one_line_error(code, err, "fake.png", "not an image")


def test_blank_png(tmp_path, model, capsys):
    path = tmp_path / "blank.png"
    Image.new("RGB", (50, 50), "white").save(path)
    code, out, err = run(capsys, "predict", model, path)
    assert_one_line_error(code, err, "blank.png", "no ink")


@pytest.mark.parametrize("option, value, fragments", [
    ("--hidden", "0", ["--hidden", "at least 1", "got 0"]),
    ("--learning-rate", "-1", ["--learning-rate", "(0, 10]", "got -1"]),
    ("--learning-rate", "nan", ["--learning-rate", "(0, 10]"]),
    ("--iterations", "0", ["--iterations", "at least 1"]),
    ("--epochs", "0", ["--epochs", "at least 1"]),
    ("--batch-size", "0", ["--batch-size", "at least 1", "got 0"]),
    ("--seed", "-1", ["--seed", "at least 0", "-1"]),
    ("--dev-size", "0", ["--dev-size", "at least 1", "got 0"]),
    ("--dev-size", "60", ["--dev-size 60", "train.csv has 60 examples"]),
])
def test_out_of_range_train_options(tmp_path, train_csv, capsys, option, value, fragments):
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--data", train_csv, option, value, "--out", model)
    assert_one_line_error(code, err, *fragments)
    assert not model.exists()


def test_out_of_range_row(tmp_path, model, train_csv, capsys):
    code, out, err = run(capsys, "predict", model, train_csv, "--row", 99999)
    assert_one_line_error(code, err, "--row 99999", "train.csv", "60 data rows")
    code, out, err = run(capsys, "predict", model, train_csv, "--row", -1)
    assert_one_line_error(code, err, "--row -1")


def test_row_with_an_image(tmp_path, model, capsys):
    code, out, err = run(capsys, "predict", model, digit_png(tmp_path / "one.png"), "--row", 1)
    assert_one_line_error(code, err, "--row", "one.png")


def test_output_directory_must_exist(tmp_path, train_csv, capsys):
    out_path = tmp_path / "no" / "such" / "model.npz"
    code, out, err = run(capsys, "train", "--data", train_csv, *QUICK, "--out", out_path)
    assert_one_line_error(code, err, "--out", str(tmp_path / "no" / "such"), "does not exist")
    code, out, err = run(capsys, "train", "--data", train_csv, *QUICK, "--out", tmp_path)
    assert_one_line_error(code, err, "--out", "is a directory")


@pytest.mark.parametrize("argv", [
    [],
    ["train"],                                          # --out is required
    ["train", "--hidden", "ten", "--out", "m.npz"],
    ["train", "--trainer", "sgd", "--out", "m.npz"],
    ["evaluate", "model.npz"],                          # neither --data nor --images
    ["evaluate", "model.npz", "--images", "x.idx"],     # --images without --labels
    ["frobnicate"],
])
def test_usage_errors_exit_2_without_traceback(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback" not in err
    assert "error:" in err.splitlines()[-1]


def test_help_and_version_exit_0(capsys):
    code, out, _err = run(capsys, "--version")
    assert code == 0 and out.startswith("nnfs ")
    code, out, _err = run(capsys, "train", "--help")
    assert code == 0 and "--learning-rate" in out
