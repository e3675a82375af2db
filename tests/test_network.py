"""The maths of nnfs.network: worked examples, shapes, stability and gradient checks."""

import numpy as np
import pytest

import nnfs
from nnfs import backward, forward, gradient_check, init_params, one_hot, relu, relu_grad, softmax


@pytest.fixture
def tiny():
    """A 784-5-10 net on 7 random examples, float64."""
    rng = np.random.default_rng(42)
    params = init_params(784, 5, 10, rng=rng, init="he")
    params = {k: v + 0.01 * rng.standard_normal(v.shape) for k, v in params.items()}  # biases != 0
    X = rng.random((784, 7))
    Y = rng.integers(0, 10, size=7)
    return params, X, Y


def test_worked_softmax_example():
    # exp(z) = [3.669, 164.022, 9.025, 2.014, 3.004]; their sum is 181.734.
    # 164.022 / 181.734 = 0.9025..., 9.025 / 181.734 = 0.0497..., and so on.
    z = np.array([[1.3], [5.1], [2.2], [0.7], [1.1]])
    p = softmax(z).ravel()
    np.testing.assert_allclose(np.round(p, 2), [0.02, 0.90, 0.05, 0.01, 0.02])
    np.testing.assert_allclose(np.exp(z).sum(), 181.734, atol=5e-4)
    assert p.sum() == pytest.approx(1.0)


def test_softmax_is_column_wise():
    Z = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    P = softmax(Z)
    np.testing.assert_allclose(P.sum(axis=0), [1.0, 1.0])
    np.testing.assert_allclose(P[:, 1], [1 / 3] * 3)


def test_softmax_is_finite_at_large_inputs():
    Z = np.array([[1000.0, -1000.0], [999.0, -1001.0], [1001.0, -999.0]])
    with np.errstate(all="raise"):  # an overflow would raise here
        P = softmax(Z)
    assert np.isfinite(P).all()
    # Shifting a column by a constant changes nothing: same answer as for [0, -1, 1].
    np.testing.assert_allclose(P[:, 0], softmax(np.array([[0.0], [-1.0], [1.0]])).ravel())
    np.testing.assert_allclose(P[:, 0], P[:, 1])


def test_naive_softmax_overflows():
    """The erratum: exp(z) / sum(exp(z)) without the max subtraction gives NaN."""
    z = np.array([1000.0, 999.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum()
    assert np.isnan(naive).all()


def test_relu_and_its_gradient():
    Z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu(Z), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu_grad(Z), [[0.0, 0.0, 1.0]])


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 1], [0, 0], [1, 0]])


def test_cross_entropy_by_hand():
    # Column 0 gives its true class 0.5, column 1 gives 0.25: -(ln 0.5 + ln 0.25) / 2 = 1.0397
    A2 = np.array([[0.5, 0.25], [0.5, 0.75]])
    assert nnfs.cross_entropy(A2, np.array([0, 0])) == pytest.approx(-(np.log(0.5) + np.log(0.25)) / 2)


def test_shapes_of_every_array(tiny):
    params, X, Y = tiny
    m = X.shape[1]
    assert {k: v.shape for k, v in params.items()} == {"W1": (5, 784), "b1": (5, 1), "W2": (10, 5), "b2": (10, 1)}
    cache = forward(params, X)
    assert {k: v.shape for k, v in cache.items()} == {"Z1": (5, m), "A1": (5, m), "Z2": (10, m), "A2": (10, m)}
    grads = backward(params, cache, X, Y)
    # Erratum: dW1 is (hidden, 784) = 10x784 for the real net, never 10x10.
    assert {k: v.shape for k, v in grads.items()} == {"dW1": (5, 784), "db1": (5, 1), "dW2": (10, 5), "db2": (10, 1)}


def test_default_net_is_784_10_10():
    params = init_params(rng=np.random.default_rng(0))
    assert params["W1"].shape == (10, 784) and params["W2"].shape == (10, 10)


@pytest.mark.parametrize("init", ["he", "uniform"])
def test_init_is_seeded(init):
    a = init_params(rng=np.random.default_rng(3), init=init)
    b = init_params(rng=np.random.default_rng(3), init=init)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    if init == "uniform":
        assert all(((v >= -0.5) & (v < 0.5)).all() for v in a.values())


def test_init_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="init must be"):
        init_params(rng=np.random.default_rng(0), init="zeros")


def test_gradient_check_all_four_gradients(tiny):
    params, X, Y = tiny
    errors = gradient_check(params, X, Y)
    assert set(errors) == {"dW1", "db1", "dW2", "db2"}
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_gradient_check_catches_a_wrong_gradient(tiny, monkeypatch):
    """The check can fail: db summed over the whole matrix (an erratum) is caught."""
    params, X, Y = tiny
    real_backward = nnfs.network.backward

    def summed_db(params, cache, X, Y):
        grads = real_backward(params, cache, X, Y)
        dZ2 = cache["A2"] - one_hot(Y)
        grads["db2"] = np.full_like(grads["db2"], dZ2.sum() / X.shape[1])  # one scalar for all units
        return grads

    monkeypatch.setattr(nnfs.network, "backward", summed_db)
    assert nnfs.network.gradient_check(params, X, Y)["db2"] > 1e-3


def test_bias_gradient_is_per_unit(tiny):
    params, X, Y = tiny
    cache = forward(params, X)
    grads = backward(params, cache, X, Y)
    dZ2 = cache["A2"] - one_hot(Y)
    np.testing.assert_allclose(grads["db2"][:, 0], dZ2.mean(axis=1))
    # Each column of dZ2 sums to 0 (probabilities minus a one-hot), so the
    # whole-matrix sum the original notes used is always ~0: no signal at all.
    assert abs(dZ2.sum()) < 1e-12


def test_update_params_steps_against_the_gradient(tiny):
    params, X, Y = tiny
    grads = backward(params, forward(params, X), X, Y)
    new = nnfs.update_params(params, grads, 0.01)
    np.testing.assert_allclose(new["W1"], params["W1"] - 0.01 * grads["dW1"])
    assert nnfs.loss(new, X, Y) < nnfs.loss(params, X, Y)


def test_predict_and_accuracy(tiny):
    params, X, Y = tiny
    pred = nnfs.predict(params, X)
    assert pred.shape == (7,) and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, forward(params, X)["A2"].argmax(axis=0))
    assert nnfs.accuracy([1, 2, 3, 4], [1, 2, 0, 0]) == 0.5
