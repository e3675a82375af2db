"""The original Kaggle notebook's training loop, as the speed baseline.

A faithful copy of "Simple MNIST NN from scratch (numpy, no TF/Keras)" by
Samson Zhang: same function names, same code style, same maths, float64,
full batch. This file is a *reference*, not an example: `nnfs/network.py` is
the version to learn from. It deliberately keeps the notebook's habits that
STYLE.md lists under "what to avoid" (camelCase `ReLU`, `exp` without the max
subtracted, scalar `db`), except where noted below.

Departures from the notebook, each marked in the code:

* no globals: the data, alpha and iterations are arguments;
* `np.random.rand` -> `rand = np.random.default_rng(seed).random`, so runs are
  reproducible. It draws W1, b1, W2, b2 in the same order as
  `nnfs.init_params(init="uniform")`, so with the same seed both start from
  the same weights;
* the m-bug is fixed: `m` is the batch size (here the training-set size),
  not a global left over from loading the data;
* the accuracy every 10 iterations is collected, not printed, and rows are
  logged after iterations 10, 20, ..., so the last row holds the final params.

Kept on purpose (errata, see STYLE.md): `db = 1 / m * np.sum(dZ)` sums the
whole matrix, giving one scalar shared by every unit. It still learns: db2 is
exactly 0 (each column of A2 - one_hot sums to 0), so b2 never moves, and
db1 shifts every hidden bias by the same amount.
"""

import time
from typing import NamedTuple

import numpy as np


def init_params(rand):
    # notebook: np.random.rand(...) - 0.5; here `rand` is a seeded Generator.random
    W1 = rand((10, 784)) - 0.5
    b1 = rand((10, 1)) - 0.5
    W2 = rand((10, 10)) - 0.5
    b2 = rand((10, 1)) - 0.5
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    A = np.exp(Z) / sum(np.exp(Z))  # notebook: no max subtracted; builtin sum over rows
    return A


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def ReLU_deriv(Z):
    return Z > 0


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))
    one_hot_Y[np.arange(Y.size), Y] = 1
    one_hot_Y = one_hot_Y.T
    return one_hot_Y


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y):
    m = Y.size  # fixed: the notebook used the global m (the whole CSV's row count)
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)  # erratum kept: one scalar for all units (is exactly 0 here)
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)  # erratum kept: one scalar for all units
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def get_predictions(A2):
    return np.argmax(A2, 0)


def get_accuracy(predictions, Y):
    return np.sum(predictions == Y) / Y.size  # notebook also printed both arrays here


def make_predictions(X, W1, b1, W2, b2):
    _, _, _, A2 = forward_prop(W1, b1, W2, b2, X)
    predictions = get_predictions(A2)
    return predictions


class Row(NamedTuple):
    """One log row: after `iteration` steps, `seconds` of training (evaluation excluded)."""

    iteration: int
    seconds: float
    dev_accuracy: float    # NaN without a dev set; computed outside the timed section
    train_accuracy: float  # the notebook's printed accuracy: from this iteration's forward pass


def gradient_descent(X, Y, alpha=0.10, iterations=1000, *, seed=0, X_dev=None, Y_dev=None):
    """The notebook's loop. X (784, m) in [0, 1], Y (m,) ints.

    Returns ((W1, b1, W2, b2), rows): a `Row` every 10 iterations.
    """
    X = np.asarray(X, dtype=np.float64)  # notebook: X_train / 255. (float64)
    if X_dev is not None:
        X_dev = np.asarray(X_dev, dtype=np.float64)
    W1, b1, W2, b2 = init_params(np.random.default_rng(seed).random)
    rows, seconds, t0 = [], 0.0, time.perf_counter()
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if (i + 1) % 10 == 0 or i + 1 == iterations:  # notebook: i % 10 == 0, printed
            train_accuracy = get_accuracy(get_predictions(A2), Y)
            seconds += time.perf_counter() - t0  # the clock stops for the dev evaluation
            dev_accuracy = (get_accuracy(make_predictions(X_dev, W1, b1, W2, b2), Y_dev)
                            if X_dev is not None else float("nan"))
            rows.append(Row(i + 1, seconds, float(dev_accuracy), float(train_accuracy)))
            t0 = time.perf_counter()
    return (W1, b1, W2, b2), rows
