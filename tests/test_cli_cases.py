"""Issue 13's case table: every bad or unusual input gives one line, exit 2, and changes no file.

Each case builds its files in tmp_path and returns the command line and the
fragments its error must contain (always the user's path, where there is one).
The harness hashes every file under tmp_path before and after, so a command
that replaced, truncated or created a file fails, and it checks that no case
reaches the internal-error guard. Devices and FIFOs are made with mknod and
mkfifo inside tmp_path, never under /dev.
"""

import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from nnfs.cli import main
from nnfs.data import MNIST_FILES, write_idx
from nnfs.model_io import save_model
from nnfs.network import init_params

PIXELS = [f"pixel{i}" for i in range(784)]
TRAIN_HEADER = ",".join(["label", *PIXELS])
QUICK = ["--trainer", "gd", "--iterations", "3", "--dev-size", "10"]


def rows(m=30, seed=0):
    rng = np.random.default_rng(seed)
    return [",".join(map(str, [i % 10, *rng.integers(0, 256, 784)])) for i in range(m)]


def write_csv(path, lines, header=TRAIN_HEADER):
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def new_model(path, metadata=None):
    save_model(path, init_params(784, 10, 10, rng=np.random.default_rng(0)), metadata)
    return path


# --- the cases: (tmp) -> (argv, fragments) ------------------------------------------------

def out_is_a_device(tmp):
    data = write_csv(tmp / "train.csv", rows())
    dev = tmp / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD)")
    return ["train", "--data", data, *QUICK, "--out", dev], [str(dev), "character device"]


def out_is_a_fifo(tmp):
    data = write_csv(tmp / "train.csv", rows())
    os.mkfifo(tmp / "pipe")
    return ["train", "--data", data, *QUICK, "--out", tmp / "pipe"], [str(tmp / "pipe"), "FIFO"]


def out_is_a_symlink_to_a_device(tmp):
    argv, _ = out_is_a_device(tmp)
    (tmp / "link.npz").symlink_to(tmp / "null")
    argv[-1] = tmp / "link.npz"
    return argv, [str(tmp / "link.npz"), "character device"]


def out_is_a_symlink_to_a_directory(tmp):
    data = write_csv(tmp / "train.csv", rows())
    (tmp / "d").mkdir()
    (tmp / "link.npz").symlink_to(tmp / "d")
    return ["train", "--data", data, *QUICK, "--out", tmp / "link.npz"], [str(tmp / "link.npz"), "directory"]


def out_is_a_dangling_symlink(tmp):
    data = write_csv(tmp / "train.csv", rows())
    (tmp / "link.npz").symlink_to(tmp / "nowhere")
    return ["train", "--data", data, *QUICK, "--out", tmp / "link.npz"], [str(tmp / "link.npz"), "missing"]


def out_is_the_training_csv(tmp):
    (tmp / "f").mkdir()
    data = write_csv(tmp / "f" / "mydata.csv", rows())
    return ["train", "--data", data, *QUICK, "--out", data], [str(data), "input"]


def out_is_a_hard_link_to_the_training_csv(tmp):
    data = write_csv(tmp / "mydata.csv", rows())
    os.link(data, tmp / "model.npz")
    return ["train", "--data", data, *QUICK, "--out", tmp / "model.npz"], [str(tmp / "model.npz"), "input"]


def out_is_a_symlink_to_the_training_csv(tmp):
    data = write_csv(tmp / "mydata.csv", rows())
    (tmp / "model.npz").symlink_to(data)
    return ["train", "--data", data, *QUICK, "--out", tmp / "model.npz"], [str(tmp / "model.npz"), "input"]


def out_in_an_unwritable_directory(tmp):
    data = write_csv(tmp / "train.csv", rows())
    locked = tmp / "locked"
    locked.mkdir()
    (locked / "old.npz").write_bytes(b"an earlier model")
    immutable(locked)
    return ["train", "--data", data, *QUICK, "--out", locked / "old.npz"], [str(locked / "old.npz"), "cannot create"]


def extra_trailing_value(tmp):
    data = write_csv(tmp / "train.csv", [line + ",0" for line in rows()])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 1 (line 2) has 786 fields, expected 785"]


def extra_leading_value(tmp):
    data = write_csv(tmp / "train.csv", ["7," + line for line in rows()])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 1 (line 2) has 786 fields"]


def extra_value_test_csv(tmp, model):
    data = write_csv(tmp / "test.csv", [line.split(",", 1)[1] + ",1" for line in rows()], header=",".join(PIXELS))
    return ["predict", model, data], [str(data), "785 fields, expected 784"]


def three_million_fields(tmp):
    data = write_csv(tmp / "train.csv", [*rows(3), ",".join(["0"] * 3_000_000)])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 4 (line 5)", "16,384"]


def blank_png(color, size):
    def case(tmp, model):
        path = tmp / f"blank-{color}-{size}.png"
        Image.new("L", (size, size), color).save(path)
        return ["predict", model, path], [str(path), "no ink"]
    return case


def zero_images(tmp, model):
    write_idx(tmp / "images.idx", np.zeros((0, 28, 28), np.uint8))
    write_idx(tmp / "labels.idx", np.zeros(0, np.uint8))
    return (["evaluate", model, "--images", tmp / "images.idx", "--labels", tmp / "labels.idx"],
            [str(tmp / "images.idx"), "0 images"])


def sample_without_recorded_split(tmp, model):
    old = new_model(tmp / "old.npz", {"dataset": {"name": "sample"}})  # saved before splits were recorded
    return ["evaluate", old, "--data", "sample"], [str(old), "was not recorded"]


def sample_with_a_model_trained_on_mnist(tmp, model):
    other = new_model(tmp / "mnist.npz", {"dataset": {"name": "mnist", "identity": "mnist:x"},
                                          "split": {"dataset": "mnist:x", "seed": 0, "dev_size": 10,
                                                    "n_examples": 60000}})
    return ["evaluate", other, "--data", "sample"], [str(other), "MNIST training set"]


def cached_mnist_of_500(tmp, model):
    cache = tmp / "cache"
    cache.mkdir()
    rng = np.random.default_rng(0)
    names = list(MNIST_FILES)
    write_idx(cache / names[2], rng.integers(0, 256, (500, 28, 28), dtype=np.uint8))  # t10k images
    write_idx(cache / names[3], np.arange(500, dtype=np.uint8) % 10)
    return (["evaluate", model, "--data", "mnist", "--cache-dir", cache],
            [str(cache / names[2]), "500 digits", "10,000"])


def huge_cell(tmp):
    data = write_csv(tmp / "train.csv", [*rows(2), "1," + "9" * 200_000 + ",0" * 783])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 3 (line 4)"]


def fifty_mb_line(tmp):
    data = tmp / "train.csv"
    data.write_bytes(b"x" * (50 << 20))
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "line 1 (header) is longer"]


def npy_header(shape, dtype="<f8"):
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def npz_declaring_292_gib(tmp, model):
    path = tmp / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", npy_header((10 ** 8, 784)) + bytes(1000))
        for name, shape in [("b1", (10, 1)), ("W2", (10, 10)), ("b2", (10, 1))]:
            archive.writestr(f"{name}.npy", npy_header(shape) + bytes(8 * int(np.prod(shape))))
    assert path.stat().st_size < 2000
    return ["predict", path, tmp / "x.png"], [str(path), "'W1'", "(100000000, 784)", "over the limit"]


def idx_gzip_bomb(tmp, model):
    images = tmp / "bomb-images.gz"
    with gzip.open(images, "wb", compresslevel=1) as f:  # 10 images declared, 256 MiB of zeros follow
        f.write((2051).to_bytes(4, "big") + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
        chunk = bytes(1 << 20)
        for _ in range(256):
            f.write(chunk)
    write_idx(tmp / "labels.idx", np.arange(10, dtype=np.uint8))
    return (["evaluate", model, "--images", images, "--labels", tmp / "labels.idx"],
            [str(images), "trailing bytes"])


def idx_header_of_a_billion(tmp, model):
    images = tmp / "images.idx"
    images.write_bytes((2051).to_bytes(4, "big") + (10 ** 9).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    write_idx(tmp / "labels.idx", np.arange(10, dtype=np.uint8))
    return (["evaluate", model, "--images", images, "--labels", tmp / "labels.idx"],
            [str(images), "1,000,000,000", "70,000"])


def png_10000_square(tmp, model):
    path = tmp / "huge.png"
    Image.new("1", (10_000, 10_000), 0).save(path)
    return ["predict", model, path], [str(path), "10000x10000", "over the limit"]


def cell_1_0(tmp):
    data = write_csv(tmp / "train.csv", [*rows(2), "1_0," + ",".join(["0"] * 784)])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 3 (line 4), column label", "'1_0'"]


def pixel_1_0(tmp):
    line = rows(3)[2].split(",")
    line[6] = "1_0"
    data = write_csv(tmp / "train.csv", [*rows(2), ",".join(line)])
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "row 3 (line 4), column pixel5:"]


def kaggle_test_csv_to_evaluate(tmp, model):
    data = write_csv(tmp / "test.csv", [line.split(",", 1)[1] for line in rows()], header=",".join(PIXELS))
    return ["evaluate", model, "--data", data], [str(data), "no label column", "evaluation needs labels"]


def directory_as_images(tmp, model):
    (tmp / "imgs").mkdir()
    write_idx(tmp / "labels.idx", np.arange(10, dtype=np.uint8))
    return (["evaluate", model, "--images", tmp / "imgs", "--labels", tmp / "labels.idx"],
            [str(tmp / "imgs"), "is a directory"])


def semicolon_csv(tmp):
    data = write_csv(tmp / "train.csv", [line.replace(",", ";") for line in rows(3)],
                     header=TRAIN_HEADER.replace(",", ";"))
    return ["train", "--data", data, *QUICK, "--out", tmp / "m.npz"], [str(data), "separated by ';'"]


CASES = {
    # 1. data loss
    "out is a device": out_is_a_device,
    "out is a FIFO": out_is_a_fifo,
    "out is a symlink to a device": out_is_a_symlink_to_a_device,
    "out is a symlink to a directory": out_is_a_symlink_to_a_directory,
    "out is a dangling symlink": out_is_a_dangling_symlink,
    "out is the training CSV": out_is_the_training_csv,
    "out is a hard link to the training CSV": out_is_a_hard_link_to_the_training_csv,
    "out is a symlink to the training CSV": out_is_a_symlink_to_the_training_csv,
    # 2. silently wrong results
    "extra trailing value in every row": extra_trailing_value,
    "extra leading value in every row": extra_leading_value,
    "extra value in a test CSV": extra_value_test_csv,
    "6 MB row of 3 million fields": three_million_fields,
    "blank black 28x28 PNG": blank_png(0, 28),
    "blank white 28x28 PNG": blank_png(255, 28),
    "blank grey 28x28 PNG": blank_png(128, 28),
    "blank white 50x50 PNG": blank_png(255, 50),
    "IDX pair of 0 images": zero_images,
    "sample with a model that did not record its split": sample_without_recorded_split,
    "sample with a model trained on MNIST": sample_with_a_model_trained_on_mnist,
    "cached MNIST test set of 500 digits": cached_mnist_of_500,
    # 3. tracebacks
    "CSV cell of 200,000 characters": huge_cell,
    "50 MB line without commas": fifty_mb_line,
    "1.4 KB npz declaring a W1 of 292 GiB": npz_declaring_292_gib,
    # 4. memory
    "IDX gzip bomb": idx_gzip_bomb,
    "IDX header declaring a billion images": idx_header_of_a_billion,
    "10000x10000 PNG": png_10000_square,
    # 5. unclear messages
    "out in an unwritable directory": out_in_an_unwritable_directory,
    "cell 1_0 in the label column": cell_1_0,
    "cell 1_0 in a pixel column": pixel_1_0,
    "test.csv passed to evaluate": kaggle_test_csv_to_evaluate,
    "directory passed as --images": directory_as_images,
    "semicolon-delimited CSV": semicolon_csv,
}

USAGE_ERRORS = {
    "no command": [],
    "train without --out": ["train"],
    "bad int": ["train", "--hidden", "ten", "--out", "m.npz"],
    "bad choice": ["train", "--trainer", "sgd", "--out", "m.npz"],
    "long bad value": ["train", "--hidden", "9" * 5000 + "x", "--out", "m.npz"],
    "neither --data nor --images": ["evaluate", "model.npz"],
    "--images without --labels": ["evaluate", "model.npz", "--images", "x.idx"],
    "unknown command": ["frobnicate"],
}


LOCKED = []  # directories made immutable by a case; made mutable again after each test


def immutable(path):
    """chattr +i: not even root can create a file in ``path`` (skips where that is unavailable)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {result.stderr.strip()}")
    LOCKED.append(path)
    try:
        (path / ".probe").touch()
    except OSError:
        return
    (path / ".probe").unlink()
    pytest.skip("an immutable directory is still writable here")


@pytest.fixture(autouse=True)
def _unlock():
    yield
    while LOCKED:
        subprocess.run(["chattr", "-i", str(LOCKED.pop())], check=False)


def snapshot(root):
    """Every entry under root: regular files by content hash, others by type (never opened)."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            state[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            state[path] = ("link", os.readlink(path))
        else:
            state[path] = (stat.S_IFMT(st.st_mode), st.st_rdev if stat.S_ISCHR(st.st_mode) else 0)
    return state


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code, out, err, fragments):
    assert "internal error" not in err, err  # the guard is for bugs, never for these inputs
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("nnfs: error: ")
    assert len(line) < 300, (len(line), line)
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "saved" not in out and "train accuracy" not in out  # refused before any training


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("model")


@pytest.fixture(scope="module")
def model(model_dir):
    return new_model(model_dir / "model.npz")


@pytest.mark.parametrize("name", list(CASES))
def test_case(name, tmp_path, model, capsys):
    build = CASES[name]
    argv, fragments = build(tmp_path, model) if build.__code__.co_argcount == 2 else build(tmp_path)
    before, model_before = snapshot(tmp_path), snapshot(model.parent)
    code, out, err = run(capsys, argv)
    assert_one_line(code, out, err, fragments)
    assert snapshot(tmp_path) == before, "a file was changed, replaced or created"
    assert snapshot(model.parent) == model_before


@pytest.mark.parametrize("name", list(USAGE_ERRORS))
def test_usage_error_is_one_short_line(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, USAGE_ERRORS[name])
    assert_one_line(code, out, err, ["nnfs"])
    assert "usage:" not in err
    assert "9" * 61 not in err  # at most about 60 characters of what the user typed
    assert list(tmp_path.iterdir()) == []


def test_a_valid_out_is_written(tmp_path, capsys):
    """The checks refuse only what they should: a new path, an old model and a symlink to one are written."""
    data = write_csv(tmp_path / "train.csv", rows())
    old = new_model(tmp_path / "old.npz")
    (tmp_path / "link.npz").symlink_to(old)
    for seed, out in enumerate([tmp_path / "new.npz", old, tmp_path / "link.npz"]):
        before = old.read_bytes()
        code, stdout, err = run(capsys, ["train", "--data", data, *QUICK, "--seed", seed, "--out", out])
        assert code == 0, err
        assert f"saved {out}" in stdout
    assert (tmp_path / "link.npz").is_symlink() and old.read_bytes() != before  # written through the link
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "new.npz", "old.npz", "train.csv"]


def test_memory_error_is_one_line(tmp_path, capsys, monkeypatch):
    import nnfs.data

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(nnfs.data, "load_csv", exhausted)
    data = write_csv(tmp_path / "train.csv", rows())
    code, out, err = run(capsys, ["train", "--data", data, *QUICK, "--out", tmp_path / "m.npz"])
    assert_one_line(code, out, err, ["out of memory"])


def test_internal_error_guard(tmp_path, capsys, monkeypatch):
    """A bug (here a planted RuntimeError) is one line, exit 70; NNFS_DEBUG=1 adds the traceback."""
    import nnfs.data

    def bug(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(nnfs.data, "load_csv", bug)
    data = write_csv(tmp_path / "train.csv", rows())
    argv = ["train", "--data", data, *QUICK, "--out", tmp_path / "m.npz"]
    code, out, err = run(capsys, argv)
    assert code == 70
    assert err.splitlines() == [
        "nnfs: internal error: RuntimeError: planted bug (a bug in nnfs; rerun with NNFS_DEBUG=1 for the traceback)"
    ]
    monkeypatch.setenv("NNFS_DEBUG", "1")
    code, out, err = run(capsys, argv)
    assert code == 70
    assert err.startswith("Traceback") and "planted bug" in err


# --- Ctrl-C at start-up ---------------------------------------------------------------------

def test_the_entry_point_imports_no_numpy():
    """The console script imports nnfs.cli before main runs: that must not import NumPy."""
    code = "import sys, nnfs.cli; print(sorted(m for m in ('numpy', 'pandas', 'PIL') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


INTERRUPT_DURING_IMPORT = """
import sys
import nnfs.cli

class Interrupt:  # Ctrl-C arriving while `import {module}` runs
    def find_spec(self, name, path=None, target=None):
        if name == "{module}":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
sys.exit(nnfs.cli.main({argv!r}))
"""


@pytest.mark.parametrize("module", ["numpy", "nnfs.train", "nnfs.data", "pandas"])
def test_ctrl_c_while_importing_is_one_line(tmp_path, module):
    data = write_csv(tmp_path / "train.csv", rows())
    argv = ["train", "--data", str(data), *QUICK, "--out", str(tmp_path / "m.npz")]
    code = INTERRUPT_DURING_IMPORT.format(module=module, argv=argv)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (130, "nnfs: interrupted\n")


SIGINT_TURNED_IMPORT_ERROR = """
import os, signal, sys, time
import nnfs.cli

class NumPyLike:  # a real SIGINT during `import numpy`, which NumPy reports as an ImportError
    def find_spec(self, name, path=None, target=None):
        if name != "numpy":
            return None
        interrupted = False
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            interrupted = True
        if interrupted:  # raised outside the except block: no KeyboardInterrupt in its chain
            raise ImportError("Importing the numpy C-extensions failed.")
        return None

sys.meta_path.insert(0, NumPyLike())
sys.exit(nnfs.cli.main({argv!r}))
"""


def default_sigint():
    """In a child, before it execs: Ctrl-C does what it does in a terminal. A test run started
    in the background of a shell inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: the tests that send a real SIGINT would test nothing."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_sigint_that_an_import_turns_into_an_import_error_is_one_line(tmp_path):
    """CI saw it: Ctrl-C while NumPy loads its C extensions came out as an ImportError, and the
    command line called it an internal error (status 70)."""
    data = write_csv(tmp_path / "train.csv", rows())
    argv = ["train", "--data", str(data), *QUICK, "--out", str(tmp_path / "m.npz")]
    code = SIGINT_TURNED_IMPORT_ERROR.format(argv=argv)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            preexec_fn=default_sigint)
    assert (result.returncode, result.stderr) == (130, "nnfs: interrupted\n")


def test_an_error_is_an_interrupt_only_with_a_sigint_or_a_keyboardinterrupt_in_its_chain():
    from nnfs.cli import _interrupted

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ctrl_c:
            raise ImportError("C extensions failed") from ctrl_c
    except ImportError as err:
        chained = err
    assert _interrupted(chained, [])
    assert _interrupted(ImportError("x"), [2])
    assert not _interrupted(ImportError("x"), [])
    assert not _interrupted(ZeroDivisionError(), [])


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.6, 1.0, 2.0])
def test_real_sigint_at_start_up(tmp_path, delay):
    """A real SIGINT at several moments of `python -m nnfs train`: never a traceback from nnfs.

    The earliest moments can fall in the interpreter's own start-up (importing `site`),
    before any nnfs code runs; Python itself then prints a traceback of its own frames.
    Once nnfs runs, a Ctrl-C is exactly one line, exit 130.
    """
    import signal
    import time

    data = write_csv(tmp_path / "train.csv", rows())
    process = subprocess.Popen([sys.executable, "-m", "nnfs", "train", "--data", str(data), *QUICK,
                                "--out", str(tmp_path / "m.npz")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    if process.returncode == 0:
        return  # it finished before the signal
    if process.returncode == -signal.SIGINT and not err:
        return  # so early that Python had not installed its own handler yet
    if "Traceback" in err:  # only the interpreter's start-up, never a frame of the nnfs package
        assert "init_import_site" in err and f"{os.sep}nnfs{os.sep}" not in err, err
        return
    assert (process.returncode, err) == (130, "nnfs: interrupted\n")
