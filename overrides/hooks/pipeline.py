"""What the site build computes: train the net, draw the figures, export the model.

`build(out_dir, dataset)` writes into `out_dir`:
  results.json        every number the Markdown pages quote through {{ placeholders }}
  model.npz           the trained parameters with their metadata
  model.json          the same weights for the playground's JavaScript forward pass
  dev-digits.json     dev-set digits with their labels, for the playground
  *.png               figures

The hook caches `out_dir` under a key that hashes the nnfs source, this file and
the dataset, so an edit to nnfs/ retrains and a prose-only edit does not.
"""

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import nnfs  # noqa: E402
from nnfs import TrainConfig, accuracy, gradient_descent, minibatch_sgd, predict  # noqa: E402
from nnfs.data import train_dev_split  # noqa: E402
from nnfs.model_io import export_json, save_model  # noqa: E402
from nnfs.plots import plot_activations, plot_digits, plot_history  # noqa: E402

DEV_SIZE = 1000   # the original notebook held out 1,000 examples
SPLIT_SEED = 0    # the notebooks use the same seed, so they see the same split
N_PLAYGROUND_DIGITS = 200

CONFIGS = {"original": TrainConfig(), "fast": TrainConfig.fast()}


def build(out_dir, dataset):
    out = Path(out_dir)
    X_train, Y_train, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=DEV_SIZE,
                                                     rng=np.random.default_rng(SPLIT_SEED))
    results = {
        "dataset": dataset.description,
        "dataset_name": dataset.name,
        "n_examples": dataset.X.shape[1],
        "n_train": X_train.shape[1],
        "n_dev": X_dev.shape[1],
        "nnfs_version": nnfs.__version__,
    }

    # The original algorithm: the model the Home page, Results page and playground show.
    config = CONFIGS["original"]
    t0 = time.perf_counter()
    params, history = gradient_descent(X_train, Y_train, config, X_dev, Y_dev)
    results["gd_wall_seconds"] = time.perf_counter() - t0
    results["gd_seconds"] = history.seconds[-1]
    results["gd_iterations"] = config.iterations
    results["gd_learning_rate"] = config.learning_rate
    results["dev_accuracy"] = history.final_dev_accuracy
    results["train_accuracy"] = accuracy(predict(params, X_train), Y_train)
    frame = history.to_frame().set_index("step")
    for step in (100, 500, 1000):
        if step in frame.index:
            results[f"dev_accuracy_at_{step}"] = float(frame.loc[step, "dev_accuracy"])

    # The fast trainer, for the Home page's "going further" teaser.
    fast_params, fast_history = minibatch_sgd(X_train, Y_train, CONFIGS["fast"], X_dev, Y_dev)
    results["fast_dev_accuracy"] = fast_history.final_dev_accuracy
    results["fast_seconds"] = fast_history.seconds[-1]
    results["fast_epochs"] = CONFIGS["fast"].epochs
    results["speedup"] = results["gd_seconds"] / results["fast_seconds"]

    metadata = {"config": config.to_dict(), "dataset": {"name": dataset.name, "identity": dataset.identity,
                "description": dataset.description, "n_train": results["n_train"], "n_dev": results["n_dev"]},
                "dev_accuracy": results["dev_accuracy"]}
    save_model(out / "model.npz", params, metadata)
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
    first = [int(np.flatnonzero(dataset.Y == d)[0]) for d in range(10)]
    _save(plot_digits(dataset.X[:, first], dataset.Y[first], ncols=5), out / "digits.png")
    _save(plot_activations(), out / "activations.png")
    _save(plot_history(frame.reset_index()), out / "history.png")

    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def _save(fig, path):
    fig.savefig(path, dpi=96, bbox_inches="tight")
