"""The 784-10-10 network: forward rules and their backward rules, side by side.

Column layout throughout, exactly as on the pages: ``X`` is (784, m), one
example per column; labels ``Y`` are ints 0..9 of shape (m,).

Every public function sits in a ``# --8<-- [start:name]`` section so that a page
can quote it whole. All they need is NumPy (the ``imports`` section) and each other.
"""

# --8<-- [start:imports]
import numpy as np
# --8<-- [end:imports]


# --8<-- [start:init_params]
def init_params(n_in=784, n_hidden=10, n_out=10, *, rng, init="he", dtype=np.float64):
    """Initial weights and biases of a one-hidden-layer network.

    ``init="he"``: W ~ N(0, 2 / fan_in), biases 0 (suits ReLU).
    ``init="uniform"``: every entry ~ U(-0.5, 0.5), the original notebook's
    ``np.random.rand(...) - 0.5``.

    Returns a dict: W1 (n_hidden, n_in), b1 (n_hidden, 1),
    W2 (n_out, n_hidden), b2 (n_out, 1).
    """
    shapes = {"W1": (n_hidden, n_in), "b1": (n_hidden, 1), "W2": (n_out, n_hidden), "b2": (n_out, 1)}
    if init == "uniform":
        return {name: (rng.random(shape) - 0.5).astype(dtype) for name, shape in shapes.items()}
    if init == "he":
        return {
            "W1": (rng.standard_normal(shapes["W1"]) * np.sqrt(2.0 / n_in)).astype(dtype),
            "b1": np.zeros(shapes["b1"], dtype),
            "W2": (rng.standard_normal(shapes["W2"]) * np.sqrt(2.0 / n_hidden)).astype(dtype),
            "b2": np.zeros(shapes["b2"], dtype),
        }
    raise ValueError(f"init must be 'he' or 'uniform', got {init!r}")
# --8<-- [end:init_params]


# --8<-- [start:relu]
def relu(Z):
    """ReLU(Z) = max(0, Z), elementwise. Any shape."""
    return np.maximum(Z, 0)


def relu_grad(Z):
    """ReLU'(Z): 1 where Z > 0, else 0 (we take 0 at Z = 0). Same shape as Z."""
    return (Z > 0).astype(Z.dtype)
# --8<-- [end:relu]


# --8<-- [start:softmax]
def softmax(Z):
    """Column-wise softmax of Z (k, m): each column becomes probabilities.

    Subtracting each column's max first changes nothing mathematically,
    exp(z - c) / sum exp(z - c) = exp(z) / sum exp(z), but keeps exp() from
    overflowing: the largest exponent is now exp(0) = 1.
    """
    E = np.exp(Z - Z.max(axis=0, keepdims=True))  # (k, m), every entry in (0, 1]
    return E / E.sum(axis=0, keepdims=True)       # (k, m), columns sum to 1
# --8<-- [end:softmax]


# --8<-- [start:forward]
def forward(params, X):
    """Forward pass for X (784, m). Returns the cache Z1, A1 (h, m), Z2, A2 (10, m)."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = W1 @ X + b1     # (h, m); b1 (h, 1) broadcasts over the m columns
    A1 = relu(Z1)        # (h, m)
    Z2 = W2 @ A1 + b2    # (10, m)
    A2 = softmax(Z2)     # (10, m), column j = P(digit | x_j)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
# --8<-- [end:forward]


# --8<-- [start:one_hot]
def one_hot(Y, n_classes=10, dtype=np.float64):
    """Labels Y (m,) of ints 0..n_classes-1 -> one-hot columns (n_classes, m)."""
    Y = np.asarray(Y)
    out = np.zeros((n_classes, Y.size), dtype)
    out[Y, np.arange(Y.size)] = 1.0  # row Y[j] of column j
    return out
# --8<-- [end:one_hot]


# --8<-- [start:cross_entropy]
def cross_entropy(A2, Y):
    """Mean cross-entropy -1/m * sum_j log A2[Y_j, j] for A2 (10, m), Y (m,).

    Only the probability of the true class counts, because the one-hot
    Y is 0 everywhere else. Clipping at 1e-12 keeps log(0) finite.
    """
    m = A2.shape[1]
    p_true = A2[np.asarray(Y), np.arange(m)]  # (m,)
    return float(-np.log(np.maximum(p_true, 1e-12)).mean())
# --8<-- [end:cross_entropy]


# --8<-- [start:backward]
def backward(params, cache, X, Y):
    """Gradients of the mean cross-entropy for the batch X (784, m), Y (m,).

    m is the number of columns in *this* batch, not the dataset size.
    Returns dW1 (h, 784), db1 (h, 1), dW2 (10, h), db2 (10, 1):
    each gradient has the shape of its parameter.
    """
    m = X.shape[1]
    W2, Z1, A1, A2 = params["W2"], cache["Z1"], cache["A1"], cache["A2"]
    dZ2 = A2 - one_hot(Y, A2.shape[0], A2.dtype)    # (10, m)
    dW2 = dZ2 @ A1.T / m                            # (10, h)
    db2 = dZ2.sum(axis=1, keepdims=True) / m        # (10, 1): one per unit
    dZ1 = (W2.T @ dZ2) * relu_grad(Z1)              # (h, m)
    dW1 = dZ1 @ X.T / m                             # (h, 784)
    db1 = dZ1.sum(axis=1, keepdims=True) / m        # (h, 1)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
# --8<-- [end:backward]


# --8<-- [start:update_params]
def update_params(params, grads, learning_rate):
    """One gradient-descent step, W <- W - alpha * dW. Returns new arrays."""
    return {name: value - learning_rate * grads["d" + name] for name, value in params.items()}
# --8<-- [end:update_params]


# --8<-- [start:predict]
def predict(params, X):
    """Predicted digit for each column of X (784, m) -> ints (m,)."""
    return forward(params, X)["A2"].argmax(axis=0)


def accuracy(pred, Y):
    """Fraction of predictions equal to the labels, in [0, 1]."""
    return float(np.mean(np.asarray(pred) == np.asarray(Y)))
# --8<-- [end:predict]


# --8<-- [start:gradient_check]
def loss(params, X, Y):
    """Mean cross-entropy of the network on X (784, m), Y (m,)."""
    return cross_entropy(forward(params, X)["A2"], Y)


def numerical_gradient(params, X, Y, name, eps=1e-6):
    """Central differences (L(p + eps) - L(p - eps)) / (2 eps), entry by entry.

    Slow (two forward passes per entry): for checking, not for training.
    Returns an array shaped like params[name].
    """
    P = params[name]
    grad = np.zeros_like(P, dtype=np.float64)
    for idx in np.ndindex(P.shape):
        old = P[idx]
        P[idx] = old + eps
        up = loss(params, X, Y)
        P[idx] = old - eps
        down = loss(params, X, Y)
        P[idx] = old  # restore
        grad[idx] = (up - down) / (2 * eps)
    return grad


def gradient_check(params, X, Y, eps=1e-6):
    """Relative error |analytic - numerical| / (|analytic| + |numerical|) per gradient.

    Returns {"dW1": err, "db1": err, "dW2": err, "db2": err}. In float64 a
    correct backward gives errors far below 1e-6.
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}  # private copy
    X = np.asarray(X, dtype=np.float64)
    grads = backward(params, forward(params, X), X, Y)
    errors = {}
    for name in ("W1", "b1", "W2", "b2"):
        analytic = grads["d" + name]
        numeric = numerical_gradient(params, X, Y, name, eps)
        scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors["d" + name] = float(np.linalg.norm(analytic - numeric) / scale) if scale else 0.0
    return errors
# --8<-- [end:gradient_check]
