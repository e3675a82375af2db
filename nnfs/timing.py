"""Timings that hold on a busy machine, and one measurement per quantity.

`side_by_side` trains several runs on the same data in turns, so that the ratio of two
of their training times does not depend on what else the machine was doing while they
ran. `compared_runs` lists the runs the pages compare; the site build
(overrides/hooks/pipeline.py) trains them this way, once, and writes the original
trainer's figures to results.json. It runs the notebooks at the same time, in other
processes, with the path of that file in the environment variable NNFS_SITE_RESULTS.
A notebook that calls `build_results()` gets the build's figures, so every page
quotes the same number for the same run. Run by hand, outside the build, the
variable is unset and `build_results()` returns None: the notebook then quotes its
own run and says so.
"""

import json
import math
import os
import threading
import time
from pathlib import Path

import numpy as np

RESULTS_ENV = "NNFS_SITE_RESULTS"


def build_results(timeout=900.0, poll=0.1):
    """The build's results.json as a dict, or None outside a build.

    The build starts the notebooks while its pipeline is still training, so the file
    may not exist yet: wait for it, at most `timeout` seconds."""
    value = os.environ.get(RESULTS_ENV)
    if not value:
        return None
    path = Path(value)
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise FileNotFoundError(f"{path}: {RESULTS_ENV} names this file, but the build did not write it "
                                    f"within {timeout:.0f} s")
        time.sleep(poll)
    return json.loads(path.read_text())


# --8<-- [start:compared_runs]
def compared_runs():
    """The runs that Going further compares, from the original to the widest network;
    each changes one thing of the row before it (Adam in its row only); and the same
    network in scikit-learn. Returns {row name: TrainConfig, or an unfitted MLPClassifier};
    the build trains them side by side, once."""
    from sklearn.neural_network import MLPClassifier

    from nnfs.train import TrainConfig

    original = TrainConfig()
    minibatch = TrainConfig.fast(schedule="constant", shift=False)  # mini-batches, He init, constant α
    return {
        "original": original,
        "gd + He init": original.replace(init="he"),
        "mini-batch SGD": minibatch,
        "+ linear α decay": minibatch.replace(schedule="linear"),
        "+ linear α decay, Adam": minibatch.replace(schedule="linear", optimizer="adam", learning_rate=0.001),
        "+ linear α decay, shifts = fast()": TrainConfig.fast(),
        "128 hidden": TrainConfig.fast(n_hidden=128, shift=False),
        "128 hidden + shifts": TrainConfig.fast(n_hidden=128),
        # the same network in scikit-learn: 10 ReLU units, batches of 32, as many epochs as fast()
        PEER: MLPClassifier(hidden_layer_sizes=(10,), batch_size=32, max_iter=TrainConfig.fast().epochs,
                            random_state=0),
    }
# --8<-- [end:compared_runs]


PEER = "scikit-learn MLPClassifier"


def fit_peer(X, Y, model, X_dev=None, Y_dev=None, *, callback=None):
    """Fit `model`, a scikit-learn MLPClassifier, on X (784, m), Y (m,), as nnfs.train trains a config.

    scikit-learn takes one example per row, so it gets X.T. Returns its weights in our
    layout (W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1)) and a History with a row at
    the end of every epoch of its own fit(): loss, dev accuracy, and training time with
    the dev evaluation left out. `callback(history, total_steps)` runs after every row.
    fit() calls the model's _update_no_improvement_count once per epoch: the row is
    recorded there, and fit() computes exactly what it computes without it.
    """
    from nnfs.network import accuracy
    from nnfs.train import History

    history, clock = History(), {"wall": time.perf_counter(), "cpu": time.thread_time(), "seconds": 0.0, "cpu_seconds": 0.0}
    m = X.shape[1]
    batch_size = min(200 if model.batch_size == "auto" else model.batch_size, m)   # as fit() sizes it
    steps_per_epoch = -(-m // batch_size)
    epoch_end = model._update_no_improvement_count

    def row(*args, **kwargs):
        result = epoch_end(*args, **kwargs)                    # its own cost counts
        clock["seconds"] += time.perf_counter() - clock["wall"]
        clock["cpu_seconds"] += time.thread_time() - clock["cpu"]
        history.step.append(model.n_iter_ * steps_per_epoch)
        history.epoch.append(float(model.n_iter_))
        history.loss.append(float(model.loss_))
        history.train_accuracy.append(float("nan"))
        history.dev_accuracy.append(accuracy(model.predict(X_dev.T), Y_dev) if X_dev is not None else float("nan"))
        history.seconds.append(clock["seconds"])
        history.cpu_seconds.append(clock["cpu_seconds"])
        history.update_W1.append(float("nan"))
        history.update_W2.append(float("nan"))
        if callback is not None:
            callback(history, model.max_iter * steps_per_epoch)
        clock["wall"], clock["cpu"] = time.perf_counter(), time.thread_time()
        return result

    model._update_no_improvement_count = row                  # this model only
    try:
        model.fit(np.ascontiguousarray(X.T), Y)
    finally:
        model.__dict__.pop("_update_no_improvement_count", None)
    if len(history.step) != model.n_iter_:
        raise RuntimeError(f"scikit-learn's fit() ran {model.n_iter_} epochs but recorded {len(history.step)} "
                           f"rows: its per-epoch method changed; update nnfs.timing.fit_peer")
    params = {"W1": model.coefs_[0].T, "b1": model.intercepts_[0][:, None],
              "W2": model.coefs_[1].T, "b2": model.intercepts_[1][:, None]}
    return params, history


# --8<-- [start:side_by_side]
def side_by_side(configs, X, Y, X_dev=None, Y_dev=None, *, at_once=1):
    """Train every config of `configs` ({name: TrainConfig}) on the same data, in turns.
    A value may also be an unfitted scikit-learn MLPClassifier: `fit_peer` fits it, in place.

    Each run trains in a thread of its own, and `at_once` of them run at a time (one per
    CPU keeps every CPU busy). After every history row a run pauses, and the waiting run
    that has done the smallest share of its steps goes on. So every run is spread over
    the whole span of the training, and a machine that gets busy halfway slows all of
    them alike: the ratio of two runs' CPU times holds. Each run is exactly what
    `nnfs.train(X, Y, config, X_dev, Y_dev)` returns alone, weights and history; only
    its times come from turns.

    Returns {name: (params, History)}, in the order of `configs`.
    """
    from nnfs.train import TrainConfig, train

    names = list(configs)
    done = {name: 0.0 for name in names}     # share of its steps each run has done
    turn = threading.Condition()
    running = set()                          # the runs that hold a turn
    out, failed = {}, {}

    def hand_out_turns():
        """Free turns go to the waiting runs furthest behind (on a tie, the first listed)."""
        waiting = [name for name in names if name not in running and done[name] < math.inf]
        for name in sorted(waiting, key=lambda name: done[name])[:max(at_once - len(running), 0)]:
            running.add(name)
        turn.notify_all()

    def pass_on(name, share):
        with turn:
            done[name] = share
            running.discard(name)
            hand_out_turns()
            turn.wait_for(lambda: name in running or share == math.inf)

    def run(name):
        with turn:
            turn.wait_for(lambda: name in running)
        try:
            fit = train if isinstance(configs[name], TrainConfig) else fit_peer
            out[name] = fit(X, Y, configs[name], X_dev, Y_dev,
                            callback=lambda history, total: pass_on(name, history.step[-1] / total))
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the caller's thread
            failed[name] = err
        finally:
            pass_on(name, math.inf)

    threads = [threading.Thread(target=run, args=(name,), name=f"side_by_side {name}") for name in names]
    with turn:
        hand_out_turns()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise next(iter(failed.values()))
    return {name: out[name] for name in names}
# --8<-- [end:side_by_side]


# Inside the site build (NNFS_TRAIN_CACHE set) the group is trained once, and each of its
# runs is what nnfs.train would return for it alone; elsewhere this is the function above.
from nnfs import memo  # noqa: E402
from nnfs.train import History, trainer_name  # noqa: E402

side_by_side = memo.reuse_group(side_by_side, History, trainer_name)
