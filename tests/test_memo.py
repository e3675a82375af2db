"""nnfs.memo: inside the site build a run is trained once, however many pages ask for it."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnfs
from nnfs import TrainConfig, memo
from nnfs.train import History


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.random((784, 60)).astype(np.float32), rng.integers(0, 10, 60)


def counting_fit(calls):
    def gradient_descent(X, Y, config=TrainConfig(), X_dev=None, Y_dev=None, *, rng=None, callback=None):
        calls.append(config)
        return {"W1": np.full((2, 2), float(len(calls)))}, History(step=[config.iterations], loss=[0.5])
    return gradient_descent


def test_a_run_is_trained_once_per_folder(data, tmp_path, monkeypatch):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path / "runs"))
    calls = []
    fit = memo.reuse(counting_fit(calls), History)
    X, Y = data
    first = fit(X, Y, TrainConfig(iterations=3))
    again = fit(X, Y, config=TrainConfig(iterations=3))
    assert len(calls) == 1
    np.testing.assert_array_equal(again[0]["W1"], first[0]["W1"])
    assert again[1] == first[1]


@pytest.mark.parametrize("change", ["config", "X", "Y", "dev set"])
def test_anything_the_run_depends_on_trains_it_again(data, tmp_path, monkeypatch, change):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    calls = []
    fit = memo.reuse(counting_fit(calls), History)
    X, Y = data
    fit(X, Y, TrainConfig(iterations=3))
    X2, Y2 = X.copy(), Y.copy()
    config, dev = TrainConfig(iterations=3), (None, None)
    if change == "config":
        config = config.replace(learning_rate=0.2)
    elif change == "X":
        X2[5, 7] += np.float32(1 / 255)
    elif change == "Y":
        Y2[0] = (Y2[0] + 1) % 10
    else:
        dev = (X[:, :10], Y[:10])
    fit(X2, Y2, config, *dev)
    assert len(calls) == 2


def test_without_the_variable_nothing_is_stored(data, tmp_path, monkeypatch):
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    calls = []
    fit = memo.reuse(counting_fit(calls), History)
    fit(*data)
    fit(*data)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra", [{"rng": np.random.default_rng(1)}, {"callback": lambda history, total: None}])
def test_own_rng_or_callback_always_trains(data, tmp_path, monkeypatch, extra):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    calls = []
    fit = memo.reuse(counting_fit(calls), History)
    fit(*data, **extra)
    fit(*data, **extra)
    assert len(calls) == 2


def test_the_real_trainers_come_back_bit_for_bit(data, tmp_path, monkeypatch):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    X, Y = data
    for config in (TrainConfig(iterations=15, eval_every=5), TrainConfig.fast(epochs=2, batch_size=16)):
        params, history = nnfs.train(X, Y, config, X, Y)
        stored = sorted(tmp_path.glob("*.npz"))
        again, again_history = nnfs.train(X, Y, config, X, Y)
        assert sorted(tmp_path.glob("*.npz")) == stored   # read back, not trained and stored again
        assert again.keys() == params.keys()
        for name in params:
            assert again[name].dtype == params[name].dtype
            np.testing.assert_array_equal(again[name], params[name])
        assert again_history == history


def test_two_processes_asking_at_once_train_once(tmp_path):
    """The second waits on the first's lock, then reads its run: one training, one result."""
    log = tmp_path / "trained.log"
    script = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from nnfs import TrainConfig, memo
        from nnfs.train import History

        def gradient_descent(X, Y, config=TrainConfig(), X_dev=None, Y_dev=None, *, rng=None, callback=None):
            with open({str(log)!r}, "a") as f:
                f.write("trained\\n")
            time.sleep(1.5)                       # long enough for the other process to ask
            return {{"W1": np.arange(4.0)}}, History(step=[1])

        fit = memo.reuse(gradient_descent, History)
        params, _ = fit(np.zeros((784, 3), np.float32), np.zeros(3, int))
        print(params["W1"].tolist())
    """)
    env = {"PATH": "/usr/bin:/bin", memo.CACHE_ENV: str(tmp_path / "runs"), "OPENBLAS_NUM_THREADS": "1"}
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    assert outputs == ["[0.0, 1.0, 2.0, 3.0]\n"] * 2
    assert log.read_text() == "trained\n"


def test_the_pages_quote_the_trainers_own_source():
    """inspect sees through the wrapper: the Training page prints gradient_descent itself."""
    import inspect

    assert inspect.getsource(nnfs.gradient_descent).startswith("def gradient_descent(")
    assert inspect.getsource(nnfs.minibatch_sgd).startswith("def minibatch_sgd(")
