"""nnfs.autodiff: each local rule against finite differences, the whole network against
`backward` and against finite differences, and proof that a broken rule is caught."""

import numpy as np
import pytest

from nnfs import backward, forward, init_params, numerical_gradient
from nnfs.autodiff import Tensor, network_gradients
from nnfs.data import load_sample


def numeric_grads(f, arrays, eps=1e-6):
    """Central differences of the scalar f(*arrays) with respect to every entry of every array."""
    grads = []
    for A in arrays:
        g = np.zeros_like(A)
        for idx in np.ndindex(A.shape):
            old = A[idx]
            A[idx] = old + eps
            up = f(*arrays)
            A[idx] = old - eps
            down = f(*arrays)
            A[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def autodiff_grads(build, arrays, kind=Tensor):
    """Gradients of the scalar Tensor build(*Tensors) by Tensor.backward()."""
    tensors = [kind(A.copy()) for A in arrays]
    build(*tensors).backward()
    return [t.grad for t in tensors]


def largest_relative_error(build, arrays, kind=Tensor):
    """Compare autodiff (with Tensors of class `kind`) with finite differences of the value."""
    value = lambda *As: float(build(*[Tensor(A) for A in As]).value)  # noqa: E731
    worst = 0.0
    for a, n in zip(autodiff_grads(build, arrays, kind), numeric_grads(value, [A.copy() for A in arrays])):
        worst = max(worst, np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))
    return worst


LABELS = np.array([2, 0, 1, 2, 1])              # m = 5 labels for 3 classes


def loss_of(Z):
    """Every expression below ends in the loss, so each op's rule is exercised by backward()."""
    return Z.softmax_cross_entropy(LABELS)


EXPRESSIONS = {
    "matmul": (lambda P, Q: loss_of(P @ Q), [(3, 4), (4, 5)]),
    "broadcast add": (lambda Z, b: loss_of(Z + b), [(3, 5), (3, 1)]),
    "relu": (lambda Z: loss_of(Z.relu()), [(3, 5)]),
    "softmax-cross-entropy": (lambda Z: loss_of(Z), [(3, 5)]),
    "a Tensor used twice": (lambda Z: loss_of(Z + Z.relu()), [(3, 5)]),
}


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_each_local_rule_matches_finite_differences(name):
    build, shapes = EXPRESSIONS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    assert largest_relative_error(build, arrays) < 1e-7


def test_network_matches_backward_on_real_digits():
    X_all, Y_all = load_sample()
    cols = np.random.default_rng(0).choice(Y_all.size, size=37, replace=False)  # m = 37, not a power of 2
    X, Y = X_all[:, cols].astype(np.float64), Y_all[cols]
    for init in ("he", "uniform"):
        params = init_params(rng=np.random.default_rng(1), init=init)
        cache = forward(params, X)
        L, grads = network_gradients(params, X, Y)
        expected = backward(params, cache, X, Y)
        assert L == pytest.approx(-np.log(cache["A2"][Y, np.arange(Y.size)]).mean(), abs=1e-12)
        for name, value in expected.items():
            assert grads[name].shape == value.shape
            np.testing.assert_allclose(grads[name], value, rtol=0, atol=1e-12, err_msg=name)


def test_network_matches_finite_differences():
    X_all, Y_all = load_sample()
    X, Y = X_all[:, ::500].astype(np.float64), Y_all[::500]       # 10 digits, one of each class
    params = init_params(784, 4, 10, rng=np.random.default_rng(2))
    _, grads = network_gradients(params, X, Y)
    for name in ("b1", "W2", "b2", "W1"):
        numeric = numerical_gradient(params, X, Y, name)
        error = np.linalg.norm(grads["d" + name] - numeric) / (np.linalg.norm(grads["d" + name]) + np.linalg.norm(numeric))
        assert error < 1e-6, name


class BrokenTensor(Tensor):
    """A copy of Tensor with a classic slip in the broadcast add's local rule: the bias
    takes the gradient of one copy (column 0) instead of the sum over all its copies."""

    def __add__(self, other):
        out = BrokenTensor(self.value + other.value, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad[:, :1]       # wrong: should be out.grad.sum(axis=1, keepdims=True)
        out._backward = _backward
        return out


def test_a_broken_local_rule_is_caught():
    """The check above must be able to fail: with the slip in add, it does."""
    build, shapes = EXPRESSIONS["broadcast add"]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    assert largest_relative_error(build, arrays, kind=Tensor) < 1e-7
    assert largest_relative_error(build, arrays, kind=BrokenTensor) > 0.1


def test_bad_labels_are_refused():
    Z = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="4 integer labels 0..2"):
        Z.softmax_cross_entropy([0, 1, 2])
    with pytest.raises(ValueError, match="integer labels 0..2"):
        Z.softmax_cross_entropy([0, 1, 2, 3])
