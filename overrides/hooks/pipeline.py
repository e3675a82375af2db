"""What the site build computes: train the net, draw the figures, export the model.

`python pipeline.py TMP_DIR OUT_DIR DATASET` (DATASET as for NNFS_DATASET), or `main` with
those arguments (the hook's job: jobs.py forks it after `warm_up`), writes into TMP_DIR,
then renames it OUT_DIR:
  results.json        every number the Markdown pages quote through {{ placeholders }}
  model.json          the trained weights and their metadata, for the playground's JavaScript
  dev-digits.json     dev-set digits with their labels, for the playground
  *.png               figures

The hook runs this in a process of its own, forked from a jobs.py started for the build,
so the code that trains is always the code on disk (a long-lived `mkdocs serve` keeps old
modules imported). It caches OUT_DIR
under a key that hashes the nnfs source, this file and the dataset, so an edit to
nnfs/ retrains and a prose-only edit does not.

Timings. The hook runs this with one BLAS thread, next to the notebooks. Every time
the site quotes is `History.cpu_seconds`: the CPU time of the one thread that trains.
The runs the pages compare (the original, the fast trainer and every row of Going
further, nnfs.timing.compared_runs) are trained here once, side by side
(nnfs.timing.side_by_side, one run per CPU at a time): in turns, so that a machine
that gets busy slows them all alike and the speed-ups the pages publish hold. The
notebooks read the same runs back through nnfs.memo, and the original's time through
results.json (NNFS_SITE_RESULTS).
results.json also records the machine and its load, which the pages state.
"""

import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from nnfs import accuracy, predict  # noqa: E402
from nnfs.data import load_dataset, train_dev_split  # noqa: E402
from nnfs.model_io import export_json, model_metadata  # noqa: E402
from nnfs.threads import available_cpus  # noqa: E402
from nnfs.plots import plot_activations, plot_digits  # noqa: E402
from nnfs.timing import compared_runs, side_by_side  # noqa: E402

DEV_SIZE = 1000   # the original notebook held out 1,000 examples
SPLIT_SEED = 0    # the notebooks use the same seed, so they see the same split
N_PLAYGROUND_DIGITS = 200

ORIGINAL, FAST = "original", "+ linear α decay, shifts = fast()"   # rows of compared_runs()

# Every file build() writes, published under generated/. nnfs_site.py reads this list from
# the source (no import) and adds the files to the site before they exist, so that mkdocs
# renders pages while this still trains; build() checks that it wrote exactly these.
OUTPUTS = ("results.json", "model.json", "dev-digits.json", "predictions.png", "digits.png", "activations.png",
           "train-digits.bin.gz", "train-digits.json", "train-fixture.json")


def build_conditions():
    """The machine and its load as the build starts: CPUs, 1-minute load average."""
    return {"build_cpus": available_cpus(), "build_load": round(os.getloadavg()[0], 2)}


def describe_conditions(results):
    """One generated sentence on the machine and the load, from the numbers. Busy means
    other programs: more runnable processes than CPUs as the build started. The build's
    own jobs run beside the timed trainer at a lower priority; its share of a core says
    how much of the clock they took."""
    cpus, load, share = results["build_cpus"], results["build_load"], results["gd_cpu_share"]
    busy = load > cpus
    return (f"This build ran on a {'busy' if busy else 'quiet'} machine with {cpus} CPUs "
            f"(load average {load:.1f} as it started); while the original trainer ran, it got "
            f"{share:.0%} of a core, next to the build's other jobs.")


def build(out_dir, dataset):
    out = Path(out_dir)
    X_train, Y_train, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=DEV_SIZE,
                                                     rng=np.random.default_rng(SPLIT_SEED))
    results = {
        **build_conditions(),
        "dataset": dataset.description,
        "n_examples": dataset.X.shape[1],
        "n_train": X_train.shape[1],
        "n_dev": X_dev.shape[1],
    }

    # Every run the pages compare, side by side. The original algorithm's model is the
    # one the Home page, Results page and playground show.
    configs = compared_runs()
    runs = side_by_side(configs, X_train, Y_train, X_dev, Y_dev, at_once=available_cpus())
    config, (params, history) = configs[ORIGINAL], runs[ORIGINAL]
    results["gd_seconds"] = history.cpu_seconds[-1]          # CPU seconds of one thread
    results["gd_wall_seconds"] = history.seconds[-1]
    results["gd_cpu_share"] = history.cpu_seconds[-1] / history.seconds[-1]
    results["gd_steps"], results["gd_cpu_seconds"] = history.step, history.cpu_seconds  # for Training's table
    results["gd_iterations"] = config.iterations
    results["gd_learning_rate"] = config.learning_rate
    results["dev_accuracy"] = history.final_dev_accuracy
    results["train_accuracy"] = accuracy(predict(params, X_train), Y_train)

    # The fast trainer, for the Home page's "going further" teaser.
    fast_history = runs[FAST][1]
    results["fast_dev_accuracy"] = fast_history.final_dev_accuracy
    results["fast_seconds"] = fast_history.cpu_seconds[-1]
    results["fast_epochs"] = configs[FAST].epochs
    results["n_compared_runs"] = len(runs)
    speedup = results["fast_speedup"] = results["gd_seconds"] / results["fast_seconds"]
    results["fast_vs_gd"] = (f"{speedup:.0f} times faster" if speedup >= 1.5 else
                             f"{1 / speedup:.1f} times slower" if speedup <= 1 / 1.5 else "about as fast")
    results["build_conditions"] = describe_conditions(results)

    metadata = model_metadata(config, dataset, results["n_train"], results["n_dev"], results["dev_accuracy"],
                              split_seed=SPLIT_SEED)
    export_json(out / "model.json", params, metadata)

    rng = np.random.default_rng(1)
    pick = rng.choice(X_dev.shape[1], size=min(N_PLAYGROUND_DIGITS, X_dev.shape[1]), replace=False)
    digits = {"pixels": np.rint(X_dev[:, pick].T * 255).astype(int).tolist(),  # 0..255, one digit a row
              "labels": Y_dev[pick].tolist(),
              "predictions": predict(params, X_dev[:, pick]).tolist()}
    (out / "dev-digits.json").write_text(json.dumps(digits))

    # Figures.
    show = rng.choice(X_dev.shape[1], size=15, replace=False)
    _save(plot_digits(X_dev[:, show], Y_dev[show], predict(params, X_dev[:, show]), ncols=5), out / "predictions.png")
    first = [int(np.flatnonzero(dataset.Y == d)[0]) for d in range(10) if (dataset.Y == d).any()]
    _save(plot_digits(dataset.X[:, first], dataset.Y[first], ncols=5), out / "digits.png")
    _save(plot_activations(), out / "activations.png")

    results.update(export_browser_training(out, X_train, Y_train, X_dev, Y_dev, dataset.description))

    (out / "results.json").write_text(json.dumps(results, indent=2))
    written = sorted(path.name for path in out.iterdir())
    if written != sorted(OUTPUTS):
        raise RuntimeError(f"pipeline.py wrote {written}, but its OUTPUTS lists {sorted(OUTPUTS)}: update OUTPUTS")
    return results


def _save(fig, path):
    fig.savefig(path, dpi=96, bbox_inches="tight")


# ---- data for the "Train it yourself" page (docs/train.md, docs/assets/nn.js) ----------------

BROWSER_DIGITS = "train-digits.bin.gz"   # uint8 pixels and labels, gzip: about 0.8 MB for the sample
FIXTURE_SEED = 7                         # the equivalence tests' float64 initial weights and batch order


def export_browser_training(out, X_train, Y_train, X_dev, Y_dev, description):
    """Write the build's train and dev split for the browser trainer, and a test fixture.

    train-digits.bin.gz  gzip of: (n_train + n_dev) rows of 784 uint8 pixels (train rows
                         first, then dev; each row a 28x28 image, row by row), followed by
                         n_train + n_dev uint8 labels in the same order. Pixel p means p / 255.
    train-digits.json    the header: counts, byte sizes, sha256 of the raw bytes, the format.
    train-fixture.json   for tests/test_train_page.py: float64 initial weights (uniform init,
                         784-10-10) and one epoch's batch order, from rng = default_rng(FIXTURE_SEED).
                         Python writes each float as the shortest text that reads back as the same double.
    Returns the sizes, for the page: {"browser_digits_bytes": gzip size, "browser_raw_bytes": unzipped}.
    """
    import gzip
    import hashlib

    X = np.concatenate([X_train, X_dev], axis=1)                      # (784, n_train + n_dev)
    pixels = np.rint(X.T * 255).astype(np.uint8)                      # (n, 784), one digit a row
    if not np.array_equal(pixels / np.float32(255), X.T):             # the data must be k / 255 exactly
        raise ValueError("the training split is not made of 8-bit pixels (k / 255); cannot export it as uint8")
    labels = np.concatenate([Y_train, Y_dev]).astype(np.uint8)        # (n,)
    raw = pixels.tobytes() + labels.tobytes()
    # Level 6 (gzip's default): 2% bigger than level 9 for the sample, and 14 times faster (0.1 s, not 1.4 s).
    packed = gzip.compress(raw, compresslevel=6, mtime=0)             # mtime=0: same data, same bytes
    (out / BROWSER_DIGITS).write_bytes(packed)
    header = {"format": "nnfs-digits/1", "file": BROWSER_DIGITS, "encoding": "gzip",
              "dataset": description, "split_seed": SPLIT_SEED,
              "n_train": int(X_train.shape[1]), "n_dev": int(X_dev.shape[1]), "n_pixels": 784,
              "raw_bytes": len(raw), "file_bytes": len(packed), "sha256": hashlib.sha256(raw).hexdigest()}
    (out / "train-digits.json").write_text(json.dumps(header, indent=1))

    from nnfs import init_params

    rng = np.random.default_rng(FIXTURE_SEED)
    init = init_params(784, 10, 10, rng=rng, init="uniform", dtype=np.float64)
    fixture = {"seed": FIXTURE_SEED, "init": "uniform", "n_hidden": 10,
               **{name: value.ravel().tolist() for name, value in init.items()},  # row-major, as nn.js stores them
               "order": rng.permutation(X_train.shape[1]).tolist()}
    (out / "train-fixture.json").write_text(json.dumps(fixture))
    return {"browser_digits_bytes": len(packed), "browser_raw_bytes": len(raw)}


def warm_up(calls):
    """Before jobs.py forks the pipeline: import scikit-learn (the peer row) and parse the
    sample, if the build uses it (notebook_job.load_sample_once: every job forked after reads
    it from memory). Another dataset is read by `main` itself: parsing a big file here would
    hold up the warm-ups of the other jobs."""
    import sklearn.neural_network  # noqa: F401

    import notebook_job   # this folder is sys.path[0]

    notebook_job.load_sample_once()


def main(tmp_dir, out_dir, spec):
    """Build into tmp_dir, then rename it to out_dir: a crash never leaves half a build,
    and a parallel build that got there first wins. Bad data: one line, status 1."""
    try:
        build(tmp_dir, load_dataset(spec))
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"{spec}: {err}")
    try:
        Path(tmp_dir).rename(out_dir)
    except OSError:
        if not (Path(out_dir) / "results.json").exists():
            raise


if __name__ == "__main__":
    main(*sys.argv[1:])
