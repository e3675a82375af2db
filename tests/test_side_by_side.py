"""nnfs.timing.side_by_side: the runs the pages compare train in turns, and each is the run
nnfs.train gives alone; inside the build the group is trained once (nnfs.memo.reuse_group)."""

import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnfs
from nnfs import TrainConfig, memo
from nnfs.timing import PEER, compared_runs, fit_peer, side_by_side


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = (rng.random((784, 120)) < 0.2).astype(np.float32)
    return X, rng.integers(0, 10, 120), X[:, :30], rng.integers(0, 10, 30)


CONFIGS = {"gd": TrainConfig(iterations=60, eval_every=5),
           "fast": TrainConfig.fast(epochs=3, batch_size=16, eval_every=2),
           "wide": TrainConfig.fast(n_hidden=32, epochs=2, shift=False, eval_every=4)}


def test_each_run_is_the_run_train_gives_alone(data, monkeypatch):
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    runs = side_by_side(CONFIGS, *data)
    assert list(runs) == list(CONFIGS)
    for name, config in CONFIGS.items():
        params, history = nnfs.train(*data[:2], config, *data[2:])
        for p in params:
            np.testing.assert_array_equal(runs[name][0][p], params[p], err_msg=f"{name} {p}")
        assert runs[name][1].loss == history.loss and runs[name][1].dev_accuracy == history.dev_accuracy
        assert runs[name][1].cpu_seconds == sorted(runs[name][1].cpu_seconds)


def test_the_run_furthest_behind_goes_next(data, monkeypatch):
    """Logged at every pause: a run goes on only when no unfinished run is further behind,
    so all of them span the whole time."""
    train_module = importlib.import_module("nnfs.train")   # nnfs.train is also the function

    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    log, real_train = [], train_module.train

    def logging_train(X, Y, config, X_dev, Y_dev, *, callback):
        def logged(history, total):
            log.append((config, history.step[-1] / total))
            callback(history, total)
        return real_train(X, Y, config, X_dev, Y_dev, callback=logged)

    monkeypatch.setattr(train_module, "train", logging_train)
    side_by_side(CONFIGS, *data)
    everyone = {id(c) for c in CONFIGS.values()}
    done = {id(c): 0.0 for c in CONFIGS.values()}
    for config, share in log:
        others = [s for key, s in done.items() if key != id(config) and s < 1]
        # it ran because it was furthest behind: it started at most level with the others
        assert not others or done[id(config)] <= min(others) + 1e-9
        done[id(config)] = share
    assert all(share == 1 for share in done.values())
    first_half = {id(c) for c, _ in log[:len(log) // 2]}
    assert first_half == everyone                      # every run trained early on...
    assert {id(c) for c, _ in log[len(log) // 2:]} == everyone     # ...and late


def test_a_failing_run_fails_the_call_and_the_others_still_finish(data, monkeypatch):
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    bad = dict(CONFIGS, bad=TrainConfig(iterations=5))
    X, Y, X_dev, Y_dev = data
    with pytest.raises(ValueError, match="X_dev must be"):
        side_by_side(bad, X, Y, X_dev[:, :0].reshape(10, 0), Y_dev[:0])


def test_the_group_is_trained_once_and_each_run_is_stored_for_pages_asking_alone(data, tmp_path, monkeypatch):
    train_module = importlib.import_module("nnfs.train")   # nnfs.train is also the function

    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    calls, real_train = [], train_module.train

    def counting_train(*args, **kwargs):
        calls.append(args[2])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(train_module, "train", counting_train)
    first = side_by_side(CONFIGS, *data)
    assert len(calls) == 3
    again = side_by_side(CONFIGS, *data)
    assert len(calls) == 3                                   # read back
    for name in CONFIGS:
        assert again[name][1] == first[name][1]
        np.testing.assert_array_equal(again[name][0]["W1"], first[name][0]["W1"])
        alone = nnfs.train(*data[:2], CONFIGS[name], *data[2:])   # the memo'd trainers: no training
        assert alone[1] == first[name][1]
    assert len(calls) == 3
    assert len(list(tmp_path.glob("*.npz"))) == 1 + len(CONFIGS)


def test_a_page_asking_while_the_group_trains_waits_for_it_instead_of_training_again(tmp_path):
    """The group holds the lock of each of its runs: a page asking for one meanwhile reads
    the group's run when it is stored, and trains nothing itself."""
    script = textwrap.dedent("""
        import importlib, sys, time
        import numpy as np
        import nnfs
        from nnfs import TrainConfig
        from nnfs.timing import side_by_side
        rng = np.random.default_rng(0)
        X, Y = rng.random((784, 2000)).astype(np.float32), rng.integers(0, 10, 2000)
        configs = {"gd": TrainConfig(iterations=400), "fast": TrainConfig.fast(epochs=2)}
        if sys.argv[1] == "group":
            runs = side_by_side(configs, X, Y)
            print(runs["fast"][0]["W1"].sum(), time.time())
        else:
            from pathlib import Path
            deadline = time.time() + 20
            while not list(Path(sys.argv[2]).glob("*.lock")) and time.time() < deadline:  # the group started
                time.sleep(0.01)
            time.sleep(0.3)
            train_module = importlib.import_module("nnfs.train")
            steps, forward = [], train_module.forward
            train_module.forward = lambda *args: steps.append(1) or forward(*args)   # counts training steps
            W1 = nnfs.minibatch_sgd(X, Y, configs["fast"])[0]["W1"]
            print(W1.sum(), time.time(), len(steps))
    """)
    env = {"PATH": "/usr/bin:/bin", memo.CACHE_ENV: str(tmp_path), "OPENBLAS_NUM_THREADS": "1"}
    group = subprocess.Popen([sys.executable, "-c", script, "group"], env=env, stdout=subprocess.PIPE, text=True)
    page = subprocess.Popen([sys.executable, "-c", script, "page", str(tmp_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    group_out, _ = group.communicate(timeout=120)
    page_out, page_err = page.communicate(timeout=120)
    assert group.returncode == 0 and page.returncode == 0, page_err[-2000:]
    (group_sum, group_end), (page_sum, page_end, page_steps) = (line.split() for line in (group_out, page_out))
    assert page_sum == group_sum
    assert float(page_end) > float(group_end) - 1      # it waited for the group...
    assert page_steps == "0"                           # ...and trained nothing
    assert len(list(tmp_path.glob("*.npz"))) == 1 + 2


def test_at_once_runs_share_the_turns_and_each_is_still_the_run_alone(data, monkeypatch):
    """at_once=2: two runs hold a turn at a time, never more, and the weights do not change."""
    import threading

    train_module = importlib.import_module("nnfs.train")
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    real_train, lock, now, counts = train_module.train, threading.Lock(), set(), []

    def watched_train(X, Y, config, X_dev, Y_dev, *, callback):
        def row(history, total):
            with lock:
                now.discard(id(config))
            callback(history, total)          # returns when this run holds a turn again
            with lock:
                now.add(id(config))
                counts.append(len(now))
        with lock:
            now.add(id(config))
            counts.append(len(now))
        try:
            return real_train(X, Y, config, X_dev, Y_dev, callback=row)
        finally:                              # before side_by_side passes its last turn on
            with lock:
                now.discard(id(config))

    monkeypatch.setattr(train_module, "train", watched_train)
    runs = side_by_side(CONFIGS, *data, at_once=2)
    assert max(counts) == 2
    for name, config in CONFIGS.items():
        params, history = real_train(*data[:2], config, *data[2:])
        np.testing.assert_array_equal(runs[name][0]["W1"], params["W1"], err_msg=name)
        assert runs[name][1].loss == history.loss


def test_compared_runs_change_one_thing_at_a_time():
    runs = [(name, config) for name, config in compared_runs().items() if name != PEER]
    assert runs[0] == ("original", TrainConfig())
    assert dict(runs)["+ linear α decay, shifts = fast()"] == TrainConfig.fast()
    for (_, before), (name, after) in zip(runs, runs[1:]):
        changed = {k for k, v in after.to_dict().items() if v != getattr(before, k)}
        if name.startswith("mini-batch"):
            continue                                         # from gd to the fast trainer's family
        assert 1 <= len(changed) <= 3, (name, changed)       # Adam needs its own alpha too


def test_scikit_learn_takes_its_turns_and_fits_exactly_what_fit_fits(data, monkeypatch):
    """fit_peer records a row per epoch of fit(), and the weights are those of a plain fit()."""
    from sklearn.base import clone
    from sklearn.neural_network import MLPClassifier

    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    X, Y, X_dev, Y_dev = data
    model = MLPClassifier(hidden_layer_sizes=(10,), batch_size=32, max_iter=4, random_state=0)
    plain = clone(model).fit(np.ascontiguousarray(X.T), Y)
    runs = side_by_side({"gd": CONFIGS["gd"], PEER: model}, X, Y, X_dev, Y_dev)
    params, history = runs[PEER]
    np.testing.assert_array_equal(params["W1"], plain.coefs_[0].T)
    np.testing.assert_array_equal(params["b2"], plain.intercepts_[1][:, None])
    assert history.epoch == [1.0, 2.0, 3.0, 4.0] and history.step[-1] == 4 * 4   # ceil(120 / 32) steps an epoch
    assert history.loss == pytest.approx(plain.loss_curve_)
    assert history.dev_accuracy[-1] == np.mean(plain.predict(np.ascontiguousarray(X_dev.T)) == Y_dev)
    assert 0 < history.cpu_seconds[0] < history.cpu_seconds[-1]
    assert "_update_no_improvement_count" not in vars(model)          # the model is left as it was


def test_fit_peer_says_so_when_scikit_learn_no_longer_calls_its_epoch_method(data):
    from sklearn.neural_network import MLPClassifier

    class Renamed(MLPClassifier):   # as if a new version ended its epochs in another method
        def fit(self, X, y):
            self.__dict__.pop("_update_no_improvement_count", None)
            return super().fit(X, y)

    X, Y, _, _ = data
    with pytest.raises(RuntimeError, match="ran 2 epochs but recorded 0 rows"):
        fit_peer(X, Y, Renamed(hidden_layer_sizes=(4,), max_iter=2, random_state=0))


def test_the_group_key_covers_the_scikit_learn_models_parameters(data, tmp_path, monkeypatch):
    from sklearn.neural_network import MLPClassifier

    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    X, Y, X_dev, Y_dev = data
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    first = side_by_side({PEER: model}, X, Y, X_dev, Y_dev)
    unfitted = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    again = side_by_side({PEER: unfitted}, X, Y, X_dev, Y_dev)
    assert again[PEER][1].cpu_seconds == first[PEER][1].cpu_seconds   # read back: the same times
    np.testing.assert_array_equal(unfitted.coefs_[0], model.coefs_[0])   # and fitted in place, as side_by_side fits
    assert unfitted.n_iter_ == model.n_iter_ == 2
    assert len(list(tmp_path.glob("*.npz"))) == 1
    side_by_side({PEER: MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=1)}, X, Y, X_dev, Y_dev)
    assert len(list(tmp_path.glob("*.npz"))) == 2
