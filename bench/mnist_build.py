"""The hosted build: `NNFS_DATASET=mnist mkdocs build --strict`, cold, from a local MNIST mirror.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/mnist_build.py --mnist DIR --update-readme

DIR holds the four MNIST files under their canonical names, gzipped or raw
(default: the nnfs cache, $NNFS_DATA_DIR or ~/.cache/nnfs). The benchmark serves
them gzipped on http://127.0.0.1:PORT/ and builds a throw-away copy of the project
the way .github/workflows/pages.yml does, with empty caches, so the time covers the
download, its verification, the training and every notebook, as on a fresh runner.
The mirror is named with the explicit test-only override (NNFS_MNIST_MIRROR and
NNFS_MNIST_MANIFEST, see nnfs/data.py); the report says whether the files served
are byte for byte the canonical ones (their md5 sums match nnfs.data.MNIST_FILES).

Target: under 10 minutes on a 2-core machine, the size of a GitHub-hosted runner.

tests/test_mnist_build.py imports `serve_mirror` and `write_manifest` from here.
"""

import argparse
import functools
import gzip
import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 600.0
PROJECT_FILES = ("mkdocs.yml", "docs", "nnfs", "overrides")


# ---- the mirror --------------------------------------------------------------------------


def idx_count(path):
    """The item count in an IDX file's header (gzipped or raw): bytes 4..8, big-endian."""
    with (gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open)(path, "rb") as f:
        return int.from_bytes(f.read(8)[4:8], "big")


def write_manifest(folder, path):
    """A manifest of every *.gz in folder: {"files": {name: {"md5", "size", "count"}}}."""
    files = {}
    for gz in sorted(Path(folder).glob("*.gz")):
        data = gz.read_bytes()
        files[gz.name] = {"md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                          "size": len(data), "count": idx_count(gz)}
    Path(path).write_text(json.dumps({"files": files}, indent=2))
    return files


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class MirrorServer:
    """A folder served on http://127.0.0.1:<free port>/, in a thread; `requests` lists the paths asked for."""

    def __init__(self, folder):
        requests = self.requests = []

        class Handler(_Quiet):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_mirror(folder):
    return MirrorServer(folder)


def mirror_env(mirror, manifest, data_dir):
    """The environment of a hosted-style build that downloads from `mirror` into an empty data_dir."""
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NNFS_DATASET": "mnist", "NNFS_DATA_DIR": str(data_dir),
            "NNFS_MNIST_MIRROR": mirror.url, "NNFS_MNIST_MANIFEST": str(manifest)}


def copy_project(project):
    project.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
    return project


def build(project, env):
    """`mkdocs build --strict` in project (whose nnfs/ is imported); returns (seconds, CompletedProcess)."""
    env = {**env, "PYTHONPATH": str(project)}
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(project / "site")],
                            cwd=project, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, result


# ---- the benchmark -----------------------------------------------------------------------


def gather(source, folder):
    """Copy the four MNIST files from source into folder, gzipped (raw copies are compressed)."""
    sys.path.insert(0, str(ROOT))
    from nnfs.data import MNIST_FILES

    canonical = {}
    for name, (md5, _) in MNIST_FILES.items():
        gz, raw = source / name, source / name.removesuffix(".gz")
        if gz.is_file():
            shutil.copy(gz, folder / name)
        elif raw.is_file():
            (folder / name).write_bytes(gzip.compress(raw.read_bytes(), mtime=0))
        else:
            sys.exit(f"{source}: neither {name} nor {raw.name}; put the four MNIST files there")
        canonical[name] = hashlib.md5((folder / name).read_bytes(), usedforsecurity=False).hexdigest() == md5
    return canonical


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=None,
                        help="folder with the four MNIST files (default: $NNFS_DATA_DIR or ~/.cache/nnfs)")
    parser.add_argument("--update-readme", action="store_true", help="write the result into README.md")
    args = parser.parse_args()
    source = args.mnist or Path(os.environ.get("NNFS_DATA_DIR") or Path.home() / ".cache" / "nnfs")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "mirror"
        folder.mkdir()
        canonical = gather(source.expanduser(), folder)
        files = write_manifest(folder, tmp / "manifest.json")
        project = copy_project(tmp / "project")
        mirror = serve_mirror(folder)
        load_before = os.getloadavg()[0]
        try:
            seconds, result = build(project, mirror_env(mirror, tmp / "manifest.json", tmp / "data"))
        finally:
            mirror.close()
        if result.returncode:
            sys.exit(f"the build failed:\n{result.stderr[-4000:]}")
        results = json.loads((project / "site" / "generated" / "results.json").read_text())
        notebooks = len(re.findall(r"nnfs: notebook \S+ done", result.stderr))  # run by nnfs_site.py's jobs
        going_further = (project / "site" / "notebooks" / "going_further" / "index.html").read_text()
        test_rows = len(re.findall(r"official test", going_further))

    n_train = files["train-images-idx3-ubyte.gz"]["count"]
    n_test = files["t10k-images-idx3-ubyte.gz"]["count"]
    which = ("the canonical files (every md5 matches nnfs.data.MNIST_FILES)" if all(canonical.values())
             else "MNIST's images and labels, " + ", ".join(n for n, ok in canonical.items() if not ok)
             + " recompressed (so its md5 differs from the canonical file's; the manifest gives the one served)")
    verdict = "PASS" if seconds < TARGET_SECONDS else "FAIL"
    body = "\n".join([
        f"Produced by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/mnist_build.py --mnist DIR "
        f"--update-readme` on {os.cpu_count()} CPUs (Python {platform.python_version()}; load average "
        f"{load_before:.2f} before the run): one cold `NNFS_DATASET=mnist mkdocs build --strict` of a copy of "
        f"the project, as the Pages workflow runs it, with empty caches, downloading from a mirror on 127.0.0.1 "
        f"that served {which}.",
        "",
        "| training digits | dev | test digits | notebooks executed | pipeline: gd + fast training | build, download included | target | |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {results['n_train']:,} | {results['n_dev']:,} | {n_test:,} | {notebooks} | "
        f"{results['gd_seconds'] + results['fast_seconds']:.0f} s | {seconds:.0f} s ({seconds / 60:.1f} min) | "
        f"< {TARGET_SECONDS / 60:.0f} min | {verdict} |",
        "",
        f"Dev accuracy of the site's model: {results['dev_accuracy']:.1%} "
        f"(fast trainer: {results['fast_dev_accuracy']:.1%}); the Going further page mentions the official "
        f"test set {test_rows} times. The mirror held {n_train:,} training digits.",
    ])
    print(body)
    if args.update_readme:
        import readme  # bench/ is on sys.path when this file is run as a script

        readme.update_section("mnist_build", body)


if __name__ == "__main__":
    main()
