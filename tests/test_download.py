"""Downloading and caching MNIST, against local HTTP servers on 127.0.0.1 only.

Each "mirror" is a threaded http.server serving a folder of tiny fake IDX files;
the md5 table is injected through ``files=``, so nothing touches the internet.
"""

import gzip
import hashlib
import http.server
import re
import socket
import threading
from functools import partial

import numpy as np
import pytest

from nnfs import data
from nnfs.data import MIRRORS, MNIST_FILES, fetch_file, load_dataset, load_mnist, resolve_cache_dir, write_idx

NAMES = list(MNIST_FILES)  # train-images, train-labels, t10k-images, t10k-labels (.gz)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Requests to 127.0.0.1 must not go through a proxy set in the environment."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("NNFS_DATA_DIR", raising=False)


class Mirror:
    """A folder served over HTTP on 127.0.0.1; counts the requests it receives."""

    def __init__(self, directory):
        self.directory = directory
        self.requests = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                mirror.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_mirror(tmp_path):
    mirrors = []

    def make(name):
        directory = tmp_path / name
        directory.mkdir()
        mirror = Mirror(directory)
        mirrors.append(mirror)
        return mirror

    yield make
    for mirror in mirrors:
        mirror.close()


@pytest.fixture
def fake():
    """Tiny MNIST-shaped arrays: 5 training and 3 test images, with labels."""
    rng = np.random.default_rng(3)
    return {
        NAMES[0]: rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        NAMES[1]: np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        NAMES[2]: rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        NAMES[3]: np.array([7, 2, 1], dtype=np.uint8),
    }


@pytest.fixture
def good(tmp_path, fake):
    """The fake files written as .gz into a folder, and their md5/size table."""
    directory = tmp_path / "good"
    directory.mkdir()
    files = {}
    for name, array in fake.items():
        path = write_idx(directory / name, array)
        payload = path.read_bytes()
        files[name] = (hashlib.md5(payload).hexdigest(), len(payload))
    return directory, files


def publish(good_dir, mirror, transform=lambda payload: payload):
    """Copy the good files to a mirror's folder, passing each through ``transform``."""
    for path in good_dir.iterdir():
        (mirror.directory / path.name).write_bytes(transform(path.read_bytes()))


def corrupt(payload):
    return payload[:-9] + bytes([payload[-9] ^ 0xFF]) + payload[-8:]


def assert_loaded(result, fake):
    (X_train, Y_train), (X_test, Y_test) = result
    assert X_train.shape == (784, 5) and X_test.shape == (784, 3)
    assert X_train.dtype == np.float32 and Y_train.dtype == np.int64
    np.testing.assert_array_equal(X_train, fake[NAMES[0]].reshape(5, 784).T / np.float32(255))
    np.testing.assert_array_equal(Y_train, fake[NAMES[1]])
    np.testing.assert_array_equal(X_test, fake[NAMES[2]].reshape(3, 784).T / np.float32(255))
    np.testing.assert_array_equal(Y_test, fake[NAMES[3]])


def listing(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_mnist_table_is_the_canonical_one():
    assert MIRRORS == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    assert MNIST_FILES["train-images-idx3-ubyte.gz"] == ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422)
    assert MNIST_FILES["train-labels-idx1-ubyte.gz"][0] == "d53e105ee54ea40749a09fcbcd1e9432"
    assert MNIST_FILES["t10k-images-idx3-ubyte.gz"][0] == "9fb629c4189551a2d022fa330f9573f3"
    assert MNIST_FILES["t10k-labels-idx1-ubyte.gz"][0] == "ec29112dd5afa0611ce80d1b7f02629c"


def test_download_verifies_and_caches(tmp_path, make_mirror, good, fake):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror)
    cache = tmp_path / "cache"
    assert_loaded(load_mnist(cache, mirrors=(mirror.url,), files=files), fake)
    assert sorted(mirror.requests) == sorted(f"/{name}" for name in NAMES)
    assert listing(cache) == sorted(NAMES)  # no temporary files left
    for name in NAMES:
        assert (cache / name).read_bytes() == (good_dir / name).read_bytes()
    # Second call: served from the cache, the server is not asked again.
    assert_loaded(load_mnist(cache, mirrors=(mirror.url,), files=files), fake)
    assert len(mirror.requests) == 4


def test_mirror_url_without_trailing_slash(tmp_path, make_mirror, good):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror)
    md5, size = files[NAMES[1]]
    path = fetch_file(NAMES[1], tmp_path / "cache", md5=md5, size=size, mirrors=(mirror.url.rstrip("/"),))
    assert path == tmp_path / "cache" / NAMES[1]
    assert mirror.requests == [f"/{NAMES[1]}"]


def test_corrupt_first_mirror_falls_back_to_second(tmp_path, make_mirror, good, fake):
    good_dir, files = good
    bad, ok = make_mirror("bad"), make_mirror("ok")
    publish(good_dir, bad, corrupt)  # same size, one byte flipped: only md5 can tell
    publish(good_dir, ok)
    cache = tmp_path / "cache"
    assert_loaded(load_mnist(cache, mirrors=(bad.url, ok.url), files=files), fake)
    assert len(bad.requests) == 4 and len(ok.requests) == 4
    assert listing(cache) == sorted(NAMES)
    for name in NAMES:
        assert hashlib.md5((cache / name).read_bytes()).hexdigest() == files[name][0]


def test_missing_on_first_mirror_falls_back_to_second(tmp_path, make_mirror, good, fake):
    good_dir, files = good
    empty, ok = make_mirror("empty"), make_mirror("ok")  # the first answers 404
    publish(good_dir, ok)
    assert_loaded(load_mnist(tmp_path / "cache", mirrors=(empty.url, ok.url), files=files), fake)
    assert len(empty.requests) == 4


def test_truncated_download_is_rejected(tmp_path, make_mirror, good):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror, lambda payload: payload[: len(payload) // 2])
    cache = tmp_path / "cache"
    name = NAMES[0]
    md5, size = files[name]
    with pytest.raises(ValueError, match=re.escape(name) + f".*size {size // 2} bytes, expected {size}"):
        fetch_file(name, cache, md5=md5, size=size, mirrors=(mirror.url,))
    assert listing(cache) == []


def test_truncated_download_without_known_size_fails_md5(tmp_path, make_mirror, good):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror, lambda payload: payload[:-4])
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch.*md5"):
        fetch_file(NAMES[0], cache, md5=files[NAMES[0]][0], size=None, mirrors=(mirror.url,))
    assert listing(cache) == []


def test_all_mirrors_bad_raises_checksum_error(tmp_path, make_mirror, good):
    good_dir, files = good
    first, second = make_mirror("first"), make_mirror("second")
    publish(good_dir, first, corrupt)
    publish(good_dir, second, corrupt)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch for train-images-idx3-ubyte.gz") as info:
        load_mnist(cache, mirrors=(first.url, second.url), files=files)
    message = str(info.value)
    assert first.url in message and second.url in message and "\n" not in message
    assert listing(cache) == []  # nothing kept, not even a temporary file


def test_download_false_with_empty_cache(tmp_path, make_mirror, good):
    _, files = good
    mirror = make_mirror("a")
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(cache, download=False, mirrors=(mirror.url,), files=files)
    message = str(info.value)
    for needle in ("train-images-idx3-ubyte.gz", str(cache), "NNFS_DATA_DIR", "load_sample()", "download=False"):
        assert needle in message
    assert "\n" not in message
    assert mirror.requests == []
    assert not cache.exists()  # download=False creates nothing


def test_offline_raises_file_not_found_with_hint(tmp_path, good):
    _, files = good
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match=r"could not be downloaded.*load_sample\(\)") as info:
        load_mnist(cache, mirrors=(f"http://127.0.0.1:{port}/",), files=files, timeout=5)
    assert "NNFS_DATA_DIR" in str(info.value) and str(cache) in str(info.value)
    assert listing(cache) == []


@pytest.mark.parametrize("compressed", [False, True])
def test_user_placed_copy_is_used_without_download(tmp_path, make_mirror, good, fake, compressed):
    _, files = good
    mirror = make_mirror("a")
    cache = tmp_path / "cache"
    cache.mkdir()
    for name, array in fake.items():
        write_idx(cache / (name if compressed else name.removesuffix(".gz")), array)
    wrong_md5 = {name: ("0" * 32, 1) for name in files}  # header checks only, never md5
    assert_loaded(load_mnist(cache, mirrors=(mirror.url,), files=wrong_md5), fake)
    assert mirror.requests == []


def test_bad_user_placed_copy_is_reported_not_replaced(tmp_path, make_mirror, good, fake):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror)
    cache = tmp_path / "cache"
    cache.mkdir()
    for name, array in fake.items():
        write_idx(cache / name.removesuffix(".gz"), array)
    raw = cache / "train-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:-100])
    with pytest.raises(ValueError, match=re.escape(str(raw)) + ": truncated.*delete or replace it"):
        load_mnist(cache, mirrors=(mirror.url,), files=files)
    assert mirror.requests == []


def test_nnfs_data_dir_is_honoured(tmp_path, monkeypatch, make_mirror, good, fake):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror)
    env_dir = tmp_path / "from-env"
    monkeypatch.setenv("NNFS_DATA_DIR", str(env_dir))
    assert resolve_cache_dir() == env_dir
    assert_loaded(load_mnist(mirrors=(mirror.url,), files=files), fake)
    assert listing(env_dir) == sorted(NAMES)
    assert_loaded(load_mnist(download=False, files=files), fake)  # found there again
    assert len(mirror.requests) == 4
    assert resolve_cache_dir(tmp_path / "explicit") == tmp_path / "explicit"  # argument wins


def test_default_cache_dir_is_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / ".cache" / "nnfs"


def test_load_dataset_mnist_from_cache(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(data, "MNIST_COUNTS", {})  # the fake copies are not 60,000 digits
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in NAMES[:2]:
        write_idx(cache / name, fake[name])
    ds = load_dataset("mnist", cache_dir=cache, download=False)
    assert ds.name == "mnist"
    md5s = [hashlib.md5((cache / name).read_bytes()).hexdigest() for name in NAMES[:2]]
    assert ds.identity == "mnist:" + "+".join(md5s)
    assert ds.description == "the MNIST training set (5 digits)"
    np.testing.assert_array_equal(ds.Y, fake[NAMES[1]])


def test_load_dataset_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load_sample\(\)"):
        load_dataset("mnist", cache_dir=tmp_path / "cache", download=False)


def test_downloaded_file_is_gzip_parsed(tmp_path, make_mirror, good, fake):
    good_dir, files = good
    mirror = make_mirror("a")
    publish(good_dir, mirror)
    md5, size = files[NAMES[3]]
    path = fetch_file(NAMES[3], tmp_path / "cache", md5=md5, size=size, mirrors=(mirror.url,))
    assert np.frombuffer(gzip.decompress(path.read_bytes())[8:], np.uint8).tolist() == [7, 2, 1]


def test_load_mnist_part_reads_only_its_half(tmp_path):
    """`nnfs evaluate --data mnist` needs the test set only: the training files may be absent."""
    rng = np.random.default_rng(0)
    data.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 28, 28), dtype=np.uint8))
    data.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3], np.uint8))
    X, Y = data.load_mnist_part("test", cache_dir=tmp_path, download=False, counts={})  # not 10,000
    assert X.shape == (784, 4) and Y.tolist() == [0, 1, 2, 3]
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        data.load_mnist_part("train", cache_dir=tmp_path, download=False)
    with pytest.raises(ValueError, match="holds 4 digits, but the MNIST test set has 10,000"):
        data.load_mnist_part("test", cache_dir=tmp_path, download=False)  # canonical counts by default
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_mnist_part("dev", cache_dir=tmp_path)
