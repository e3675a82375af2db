"""Training in the browser: nn.js in headless Chromium vs nnfs.minibatch_sgd, side by side.

    python bench/browser_train.py [--site DIR] [--repeats N] [--epochs E] [--update-readme]

Without --site it builds the site (`mkdocs build --strict`) into a temporary folder first.
It serves the site on 127.0.0.1, drives Debian's /usr/bin/chromium (or $NNFS_CHROMIUM)
with Playwright, and measures, on the build's split of the data:

* throughput: examples per second of training, nn.js in a Web Worker (as the page runs it)
  and nnfs.minibatch_sgd in this process, both mini-batch SGD with batches of 32, 10 hidden
  units, He init, a constant learning rate of 0.1 and no shifts, for E epochs. nnfs runs in
  float64 (the same arithmetic as the JavaScript) and in float32 (nnfs's default). Runs are
  interleaved JS, float64, float32, ... `--repeats` times; medians are reported.
  Only training steps are timed, not dev evaluations.
* time to 0.85 dev accuracy: the Train page from its defaults, Play pressed, the page's own
  training clock when the dev accuracy it shows first reaches 85 %; and nnfs's training
  seconds to the same accuracy with the same settings (float64, dev checked every 5 steps).
* the Train page's download: every file the page requests until it is ready to train
  (HTML, CSS, JavaScript, the digits), in bytes as served (this server does not compress).

Goal (reported, never asserted): the browser at least 0.5x nnfs's float64 examples/s.
`--update-readme` writes the tables into README.md between the bench:browser_train markers.
"""

import argparse
import functools
import http.server
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

import nnfs
import readme  # bench/ is on sys.path when this file is run as a script
from nnfs.data import load_dataset, train_dev_split

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("NNFS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGET = 0.85
RATIO_GOAL = 0.5
BATCH, HIDDEN, LEARNING_RATE = 32, 10, 0.1

JS_THROUGHPUT = """async ([epochs, batchSize, hidden, learningRate]) => {
    const code = `importScripts(${JSON.stringify(new URL('../assets/nn.js', document.baseURI).href)});
        onmessage = async (e) => {
            const nn = self.nnfsNN, [url, epochs, config] = e.data;
            const data = await nn.loadDigits(url);
            const run = nn.makeTrainer(data, config);
            const steps = Math.ceil(data.nTrain / config.batchSize);
            for (let s = 0; s < steps; s++) run.step();              // warm-up epoch (JIT), not timed
            const examples = run.examples, t0 = performance.now();
            for (let s = 0; s < epochs * steps; s++) run.step();
            const seconds = (performance.now() - t0) / 1000;
            postMessage({seconds, examples: run.examples - examples, accuracy: nn.evaluate(run.net, data).accuracy});
        };`;
    const worker = new Worker(URL.createObjectURL(new Blob([code], {type: 'text/javascript'})));
    const result = await new Promise((resolve, reject) => {
        worker.onmessage = e => resolve(e.data);
        worker.onerror = e => reject(new Error(e.message));
        worker.postMessage([new URL('../generated/train-digits.json', document.baseURI).href, epochs,
                            {trainer: 'sgd', learningRate, batchSize, hidden, init: 'he', seed: 1}]);
    });
    worker.terminate();
    return result;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def build_site(out):
    print(f"building the site into {out} ...", flush=True)
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT, check=True,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True)


def numpy_run(data, epochs, dtype, eval_every=10**9):
    X, Y, X_dev, Y_dev = data
    config = nnfs.TrainConfig(trainer="fast", init="he", learning_rate=LEARNING_RATE, batch_size=BATCH,
                              n_hidden=HIDDEN, epochs=epochs, schedule="constant", shift=False, dtype=dtype,
                              eval_every=eval_every)
    _, history = nnfs.minibatch_sgd(X, Y, config, X_dev, Y_dev)
    return history


def page_download(context, origin, site):
    """Bytes of every file the Train page requests until it can train, as served from `site`."""
    urls = []
    context.on("request", lambda request: urls.append(request.url))
    page = context.new_page()
    page.goto(origin + "train/")
    page.wait_for_function("window.nnfsTrain !== undefined")
    page.evaluate("window.nnfsTrain.ready")
    page.close()
    files = {}
    for url in urls:
        parts = urlsplit(url)
        if not url.startswith(origin):
            continue
        path = site / parts.path.lstrip("/")
        path = path / "index.html" if path.is_dir() else path
        if path.is_file():
            files[parts.path] = path.stat().st_size
    return files


def time_to_target_in_page(context, origin):
    page = context.new_page()
    page.goto(origin + "train/")
    page.wait_for_function("window.nnfsTrain !== undefined")
    page.evaluate("window.nnfsTrain.ready")
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("parseFloat(document.querySelector('[data-nnfs=dev-accuracy]').textContent) >= 85",
                           timeout=600_000, polling=50)
    state = page.evaluate("window.nnfsTrain.state()")
    page.close()
    return state["seconds"], state["examples"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one into a temporary folder)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    tmp = None
    site = args.site
    if site is None:
        tmp = tempfile.TemporaryDirectory(prefix="nnfs-bench-site-")
        site = Path(tmp.name)
        build_site(site)
    httpd, origin = serve(site)
    dataset = load_dataset("sample")
    X, Y, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))
    data = (X, Y, X_dev, Y_dev)
    load_before = os.getloadavg()[0]

    runs = {"js": [], "float64": [], "float32": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=origin)
        download = page_download(context, origin, site)
        page = context.new_page()
        page.goto(origin + "train/")
        version = browser.version
        numpy_run(data, 1, "float64")                                   # warm-up, as the JS gets one
        for r in range(args.repeats):
            js = page.evaluate(JS_THROUGHPUT, [args.epochs, BATCH, HIDDEN, LEARNING_RATE])
            runs["js"].append(js["examples"] / js["seconds"])
            for dtype in ("float64", "float32"):
                h = numpy_run(data, args.epochs, dtype)
                runs[dtype].append(args.epochs * X.shape[1] / h.seconds[-1])
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in runs.items()), flush=True)
        page.close()
        page_seconds, page_examples = time_to_target_in_page(context, origin)
        browser.close()
    httpd.shutdown()

    history = numpy_run(data, 10, "float64", eval_every=5)
    hit = [s for s, a in zip(history.seconds, history.dev_accuracy) if a >= TARGET]
    numpy_seconds = hit[0] if hit else float("nan")
    load_after = os.getloadavg()[0]

    med = {k: statistics.median(v) for k, v in runs.items()}
    ratio = med["js"] / med["float64"]
    total = sum(download.values())
    digits = sum(v for k, v in download.items() if "train-digits" in k)
    lines = [
        f"Produced by `python bench/browser_train.py {' '.join(sys.argv[1:])}` on {os.cpu_count()} CPUs "
        f"(Chromium {version}, Python {platform.python_version()}, NumPy {np.__version__}; "
        f"load average {load_before:.2f} before, {load_after:.2f} after). Mini-batch SGD, batches of {BATCH}, "
        f"{HIDDEN} hidden units, He init, constant learning rate {LEARNING_RATE}, no shifts, "
        f"on the build's {X.shape[1]:,} training digits; median of {args.repeats} interleaved runs of "
        f"{args.epochs} epochs, training steps only.",
        "",
        "| trainer | examples/s | vs nnfs float64 |",
        "|---|---:|---:|",
        f"| nn.js in a Web Worker (float64) | {med['js']:,.0f} | {ratio:.2f}× |",
        f"| nnfs.minibatch_sgd, float64 | {med['float64']:,.0f} | 1.00× |",
        f"| nnfs.minibatch_sgd, float32 | {med['float32']:,.0f} | {med['js'] / med['float32']:.2f}× (vs float32) |",
        "",
        "| target | measured | goal | result |",
        "|---|---|---|---|",
        f"| browser examples/s vs nnfs float64 | {ratio:.2f}× | ≥ {RATIO_GOAL}× | {'PASS' if ratio >= RATIO_GOAL else 'MISS'} |",
        f"| time to {TARGET:.2f} dev accuracy, Train page defaults (page's training clock) | {page_seconds:.2f} s "
        f"({page_examples:,} examples) | | |",
        f"| time to {TARGET:.2f} dev accuracy, nnfs float64, same settings | {numpy_seconds:.2f} s | | |",
        "",
        f"The Train page downloads {total:,} bytes ({total / 1e6:.2f} MB) before it can train: "
        f"{digits:,} bytes of digits (generated/train-digits.bin.gz and its header) and {total - digits:,} "
        f"bytes of HTML, CSS and JavaScript (the theme's included), {len(download)} files.",
    ]
    body = "\n".join(lines)
    print("\n" + body)
    if args.update_readme:
        readme.update_section("browser_train", body)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
