"""The hosted build, `NNFS_DATASET=mnist mkdocs build --strict`, end to end from a mirror on 127.0.0.1.

CI has no MNIST and no internet, so the mirror serves MNIST-format files made here
from the embedded sample: its 5,000 digits as the training set and 2,000 of them,
each shifted by a random pixel, as the test set. The counts are smaller than MNIST's
60,000 and 10,000, which keeps this test to the length of a sample build; the
manifest declares them. What this checks is the whole path of the hosted build:
download, verification, training, every notebook, every page reading for dataset
"mnist". How long 60,000 digits take is bench/mnist_build.py's question, not this one's.

The mirror is named by the explicit, test-only override in nnfs/data.py
(NNFS_MNIST_MIRROR + NNFS_MNIST_MANIFEST); the tests at the top check that it never
weakens verification.
"""

import hashlib
import importlib.util
import json
import re

import numpy as np
import pytest

from conftest import ROOT
from nnfs import data
from nnfs.data import MNIST_FILES, load_dataset, load_mnist_part, load_sample, write_idx
from nnfs.train import shift_images

spec = importlib.util.spec_from_file_location("mnist_build", ROOT / "bench" / "mnist_build.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

N_TEST = 2000


def make_mnist_files(folder):
    """MNIST-format .gz files from the sample: 5,000 training digits, 2,000 shifted test digits."""
    X, Y = load_sample()  # (784, 5000), (5000,)
    pick = np.random.default_rng(7).choice(Y.size, size=N_TEST, replace=False)
    X_test = shift_images(X[:, pick], np.random.default_rng(8))  # (784, 2000), moved by ±1 pixel
    folder.mkdir(parents=True, exist_ok=True)
    for (images, labels), (Xp, Yp) in [(data.MNIST_PARTS["train"], (X, Y)), (data.MNIST_PARTS["test"], (X_test, Y[pick]))]:
        write_idx(folder / images, np.rint(Xp.T * 255).astype(np.uint8).reshape(-1, 28, 28))
        write_idx(folder / labels, Yp.astype(np.uint8))
    return folder


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Sample-made MNIST files on 127.0.0.1, named by the override's two environment variables."""
    folder = make_mnist_files(tmp_path / "mirror")
    manifest = tmp_path / "manifest.json"
    bench.write_manifest(folder, manifest)
    server = bench.serve_mirror(folder)
    monkeypatch.setenv("NNFS_MNIST_MIRROR", server.url)
    monkeypatch.setenv("NNFS_MNIST_MANIFEST", str(manifest))
    monkeypatch.setenv("NNFS_DATA_DIR", str(tmp_path / "data"))
    server.folder, server.manifest, server.data = folder, manifest, tmp_path / "data"
    yield server
    server.close()


def edit_manifest(manifest, name, **changes):
    entries = json.loads(manifest.read_text())
    entries["files"][name].update(changes)
    manifest.write_text(json.dumps(entries))


# ---- the override: explicit, and never weaker --------------------------------------------


def test_without_the_variables_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.delenv("NNFS_MNIST_MIRROR", raising=False)
    monkeypatch.delenv("NNFS_MNIST_MANIFEST", raising=False)
    assert data.mnist_mirror_override() is None
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz.* not found in"):
        load_mnist_part("test", cache_dir=tmp_path, download=False)


@pytest.mark.parametrize("given, missing", [("NNFS_MNIST_MIRROR", "NNFS_MNIST_MANIFEST"),
                                            ("NNFS_MNIST_MANIFEST", "NNFS_MNIST_MIRROR")])
def test_one_variable_alone_is_an_error(monkeypatch, given, missing):
    monkeypatch.delenv(missing, raising=False)
    monkeypatch.setenv(given, "x")
    with pytest.raises(ValueError, match=f"{missing} is not set"):
        load_mnist_part("test")


def test_downloads_from_the_mirror_into_a_folder_of_its_own(mirror):
    X, Y = load_mnist_part("test")
    assert X.shape == (784, N_TEST) and Y.shape == (N_TEST,)
    assert sorted(mirror.requests) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]
    override = data.mnist_mirror_override()
    assert (override.directory() / "t10k-images-idx3-ubyte.gz").is_file()
    # never in the canonical folder, where a later, normal run would take it for MNIST
    assert not any((mirror.data / name).exists() for name in MNIST_FILES)
    load_mnist_part("test")  # the second time from the cache, verified again, no request
    assert len(mirror.requests) == 2


def test_a_mirror_file_that_does_not_match_the_manifest_is_refused(mirror):
    edit_manifest(mirror.manifest, "t10k-labels-idx1-ubyte.gz", md5="0" * 32)
    with pytest.raises(ValueError, match="checksum mismatch for t10k-labels-idx1-ubyte.gz"):
        load_mnist_part("test")
    assert not (data.mnist_mirror_override().directory() / "t10k-labels-idx1-ubyte.gz").exists()


def test_a_cached_copy_is_verified_too(mirror):
    load_mnist_part("test")
    cached = data.mnist_mirror_override().directory() / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(cached.read_bytes())
    raw[20] ^= 0xFF  # same size, one byte changed
    cached.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="does not match"):
        load_mnist_part("test")


def test_the_count_is_verified(mirror):
    edit_manifest(mirror.manifest, "t10k-images-idx3-ubyte.gz", count=N_TEST + 1)
    with pytest.raises(ValueError, match=f"{N_TEST} digits, but .* says {N_TEST + 1}"):
        load_mnist_part("test")


def test_explicit_arguments_are_not_overridden(mirror, tmp_path):
    """A caller that names its own files or mirrors gets them, md5 sums and all."""
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_mnist_part("test", cache_dir=tmp_path / "empty", download=False, mirrors=(mirror.url,))
    assert mirror.requests == []


def test_the_dataset_says_where_its_digits_came_from(mirror):
    dataset = load_dataset("mnist")
    assert dataset.name == "mnist" and dataset.Y.size == 5000
    assert mirror.url in dataset.description and "test mirror" in dataset.description
    digest = hashlib.sha256(mirror.manifest.read_bytes()).hexdigest()
    assert dataset.identity == f"mnist-test-mirror:{digest}"


# ---- the whole hosted build --------------------------------------------------------------


def visible_text(html):
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.mark.slow
def test_the_hosted_build_from_a_local_mirror(mirror, tmp_path):
    project = bench.copy_project(tmp_path / "project")
    seconds, result = bench.build(project, bench.mirror_env(mirror, mirror.manifest, mirror.data))
    assert result.returncode == 0, f"NNFS_DATASET=mnist build failed:\n{result.stderr[-5000:]}"
    assert sorted(set(mirror.requests)) == sorted(f"/{name}" for name in MNIST_FILES)
    # the training files once, before anything else runs: every later read uses the verified copy
    # (the test files may be fetched by two notebooks at once when the build runs them in parallel)
    assert [r for r in mirror.requests if "/train-" in r].__len__() == 2, mirror.requests

    site = project / "site"
    results = json.loads((site / "generated" / "results.json").read_text())
    assert (results["n_examples"], results["n_train"], results["n_dev"]) == (5000, 4000, 1000)
    assert "test mirror" in results["dataset"]

    page = {name: visible_text((site / name / "index.html").read_text()) for name in
            ("notebooks/training", "notebooks/results", "notebooks/going_further", "data")}
    for name in ("notebooks/training", "notebooks/results", "notebooks/going_further"):
        assert mirror.url in page[name], f"{name} does not say which data it trained on"
    results_test = re.search(r"test accuracy: (\d+\.\d)% on ([\d,]+) digits of MNIST's official test set",
                             page["notebooks/results"])
    assert results_test and results_test[2] == f"{N_TEST:,}", page["notebooks/results"][:3000]
    assert f"measured on the {N_TEST:,} digits of MNIST's official test set" in page["notebooks/going_further"]
    # the sample build's note, as rendered (its source, shown in the cell above it, splits the sentence)
    assert "so there is no test-set table here" not in page["notebooks/going_further"]
    for name, text in page.items():  # the source shown may say `except FileNotFoundError`; outputs never fail
        at = text.find("Traceback")
        assert at < 0, f"{name}: {text[max(at - 300, 0):at + 300]}"
