"""Both trainers learn, reproducibly, and the config rejects nonsense."""

import numpy as np
import pytest

import nnfs
from nnfs import TrainConfig, gradient_descent, minibatch_sgd, shift_images, train
from nnfs.data import load_sample, train_dev_split


@pytest.fixture(scope="module")
def sample_split():
    X, Y = load_sample()
    return train_dev_split(X, Y, dev_size=1000, rng=np.random.default_rng(0))


def test_loss_falls_when_overfitting_20_examples(sample_split):
    X, Y = sample_split[0][:, :20], sample_split[1][:20]
    params, history = gradient_descent(X, Y, TrainConfig(init="he", iterations=300, learning_rate=0.5, eval_every=10))
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.train_accuracy[-1] == 1.0


@pytest.mark.slow
def test_original_algorithm_learns_the_sample(sample_split):
    """The original notebook's algorithm: 1000 full-batch iterations, alpha 0.10, rand - 0.5 init."""
    X_train, Y_train, X_dev, Y_dev = sample_split
    config = TrainConfig()
    assert (config.trainer, config.iterations, config.learning_rate, config.init) == ("gd", 1000, 0.10, "uniform")
    params, history = gradient_descent(X_train, Y_train, config, X_dev, Y_dev)
    assert history.step[-1] == 1000
    assert history.final_dev_accuracy >= 0.84
    assert history.loss[-1] < history.loss[0]


@pytest.mark.slow
def test_fast_trainer_defaults_learn_the_sample(sample_split):
    X_train, Y_train, X_dev, Y_dev = sample_split
    params, history = minibatch_sgd(X_train, Y_train, TrainConfig.fast(), X_dev, Y_dev)
    assert history.final_dev_accuracy >= 0.88  # the benchmark reports the >= 0.90 target
    frame = history.to_frame()
    assert list(frame.columns) == ["step", "epoch", "loss", "train_accuracy", "dev_accuracy", "seconds", "cpu_seconds",
                                   "update_W1", "update_W2"]
    assert frame.seconds.is_monotonic_increasing


def test_history_records_each_rows_update_to_weight_ratio(sample_split):
    """update_W1 at a row is ||W1 after - W1 before|| / ||W1 before|| of that row's last step
    (the Results page plots it instead of training the network a second time)."""
    from nnfs.train import descend

    X_train, Y_train, _, _ = sample_split
    config = TrainConfig(iterations=6, eval_every=3)
    _, history = gradient_descent(X_train[:, :200], Y_train[:200], config)
    params = nnfs.init_params(784, 10, 10, rng=np.random.default_rng(config.seed), init=config.init,
                              dtype=np.float32)
    X = np.ascontiguousarray(X_train[:, :200], dtype=np.float32)
    expected = {"W1": [], "W2": []}
    for step in range(1, 7):
        new = descend(params, X, Y_train[:200], config.learning_rate, 1)
        if step % 3 == 0:
            for name in expected:
                expected[name].append(np.linalg.norm(new[name] - params[name]) / np.linalg.norm(params[name]))
        params = new
    assert history.step == [3, 6]
    np.testing.assert_allclose(history.update_W1, expected["W1"], rtol=1e-6)
    np.testing.assert_allclose(history.update_W2, expected["W2"], rtol=1e-6)


# fast(n_hidden=128) means 0.967 over seeds 0-4; more epochs alone plateau near 0.9695. A larger
# step meets it (learning_rate=0.4, epochs=40: 0.972) but, as fast()'s defaults for every width,
# takes fast() itself to 0.903 < 0.905, so the defaults stay one set and the goal stays open:
# bench/peers.py reports it as a MISS with those numbers. strict: once met, this test fails, to be un-marked.
WIDE_GOAL_OPEN = pytest.mark.xfail(strict=True, reason="issue 11: fast(n_hidden=128) means 0.967 < 0.970")


@pytest.mark.slow
@pytest.mark.parametrize("n_hidden, goal", [(10, 0.905), pytest.param(128, 0.970, marks=WIDE_GOAL_OPEN)])
def test_fast_defaults_meet_the_accuracy_goals_over_five_seeds(sample_split, n_hidden, goal):
    """Issue 11's goals: the mean final dev accuracy of TrainConfig.fast(n_hidden=...) over
    seeds 0-4, on the one sample split (the split never changes, only TrainConfig.seed)."""
    X_train, Y_train, X_dev, Y_dev = sample_split
    accuracies = [minibatch_sgd(X_train, Y_train, TrainConfig.fast(n_hidden=n_hidden, seed=seed), X_dev, Y_dev)[1]
                  .final_dev_accuracy for seed in range(5)]
    assert np.mean(accuracies) >= goal, f"mean {np.mean(accuracies):.4f} over seeds 0-4: {accuracies}"


@pytest.mark.parametrize("config", [TrainConfig(iterations=20), TrainConfig.fast(epochs=1, optimizer="adam", learning_rate=0.003)])
def test_same_seed_same_weights_bit_for_bit(sample_split, config):
    X, Y = sample_split[0][:, :500], sample_split[1][:500]
    a, ha = train(X, Y, config)
    b, hb = train(X, Y, config)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert ha.loss == hb.loss
    c, _ = train(X, Y, config.replace(seed=config.seed + 1))
    assert not np.array_equal(a["W1"], c["W1"])


def test_history_rows_follow_eval_every(sample_split):
    X, Y = sample_split[0][:, :100], sample_split[1][:100]
    _, h = gradient_descent(X, Y, TrainConfig(iterations=25, eval_every=10), X, Y)
    assert h.step == [10, 20, 25]
    assert all(0 <= a <= 1 for a in h.dev_accuracy)


def test_without_dev_set_dev_accuracy_is_nan(sample_split):
    X, Y = sample_split[0][:, :64], sample_split[1][:64]
    _, h = minibatch_sgd(X, Y, TrainConfig.fast(epochs=1, eval_every=1))
    assert len(h.step) == 2 and np.isnan(h.dev_accuracy).all()


def test_shift_images_moves_by_at_most_one_pixel():
    rng = np.random.default_rng(0)
    X = np.zeros((784, 50), np.float32)
    X.reshape(28, 28, 50)[14, 14, :] = 1.0  # one ink pixel in the middle of every image
    S = shift_images(X, rng)
    assert S.shape == X.shape and S.sum() == 50  # nothing lost, nothing added
    rows, cols = np.nonzero(S.T.reshape(50, 28, 28))[1:]
    assert (abs(rows - 14) <= 1).all() and (abs(cols - 14) <= 1).all()
    assert len(set(zip(rows, cols))) > 1  # it really shifts


@pytest.mark.parametrize(
    "field, value",
    [("trainer", "lbfgs"), ("n_hidden", 0), ("learning_rate", -0.1), ("iterations", 0), ("epochs", 0),
     ("batch_size", 0), ("optimizer", "rmsprop"), ("init", "zeros"), ("dtype", "int8"), ("schedule", "cosine"),
     ("shift_start", -1), ("seed", -1)],
)
def test_config_rejects_out_of_range(field, value):
    with pytest.raises(ValueError, match=f"TrainConfig.{field} "):
        TrainConfig(**{field: value})


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().learning_rate = 1.0


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"\(784, m\)"):
        gradient_descent(np.zeros((28, 28)), np.zeros(28, int))
    with pytest.raises(ValueError, match="Y must have shape"):
        gradient_descent(np.zeros((784, 5)), np.zeros(4, int))


def test_shifts_start_at_shift_start(sample_split, monkeypatch):
    """Epochs before `shift_start` see the plain digits; later ones see shifted digits."""
    import importlib

    module = importlib.import_module("nnfs.train")  # the attribute nnfs.train is the function
    calls = []
    real = module.shifted_rows
    monkeypatch.setattr(module, "shifted_rows", lambda *a: calls.append(1) or real(*a))
    X, Y = sample_split[0][:, :64], sample_split[1][:64]
    minibatch_sgd(X, Y, TrainConfig.fast(epochs=5, shift_start=2))
    assert len(calls) == 3
    calls.clear()
    minibatch_sgd(X, Y, TrainConfig.fast(epochs=5, shift=False))
    assert calls == []


def test_dev_set_is_checked():
    X, Y = np.zeros((784, 5), np.float32), np.zeros(5, int)
    with pytest.raises(ValueError, match="both X_dev and Y_dev"):
        gradient_descent(X, Y, TrainConfig(iterations=1), X, None)
    with pytest.raises(ValueError, match="X_dev must be"):
        gradient_descent(X, Y, TrainConfig(iterations=1), X, Y[:1])
