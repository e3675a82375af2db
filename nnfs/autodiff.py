"""Backpropagation as an algorithm: a tiny reverse-mode automatic differentiation engine.

Each operation computes its output *and* sets ``_backward``, a closure that applies
the chain rule locally: it adds ``out.grad`` times the operation's own derivative
into the ``.grad`` of each input. ``Tensor.backward()`` then calls those closures
from the loss back to the inputs, in reverse topological order. karpathy/micrograd
does the same for scalars; PyTorch's autograd does it for tensors.

Only what the 784-10-10 network needs, over NumPy arrays in the column layout
(X is (784, m)): matmul, a broadcast add, relu and a fused softmax-cross-entropy.
Everything is float64, so it can be compared with `backward` to 1e-12.
"""

# --8<-- [start:imports]
import numpy as np

from nnfs.network import one_hot, softmax
# --8<-- [end:imports]


# --8<-- [start:Tensor]
class Tensor:
    """An array ``value`` and ``grad``, the derivative of the final loss with respect to it."""

    def __init__(self, value, parents=(), op=""):
        self.value = np.asarray(value, dtype=np.float64)
        self.grad = np.zeros_like(self.value)   # dL/d(value), same shape; filled by backward()
        self._parents = parents                 # the Tensors this one was computed from
        self._backward = lambda: None           # adds out.grad * (local derivative) to each parent
        self.op = op
    # --8<-- [end:Tensor]

    # --8<-- [start:matmul]
    def __matmul__(self, other):                # P @ Q: (a, n) @ (n, c) -> (a, c)
        out = Tensor(self.value @ other.value, (self, other), "@")

        def _backward():
            self.grad += out.grad @ other.value.T   # dP = dOut Q^T, (a, c)(c, n)
            other.grad += self.value.T @ out.grad   # dQ = P^T dOut, (n, a)(a, c)
        out._backward = _backward
        return out
    # --8<-- [end:matmul]

    # --8<-- [start:add]
    def __add__(self, other):                   # (n, m) + (n, 1): the column is broadcast
        out = Tensor(self.value + other.value, (self, other), "+")

        def _backward():                        # a copied value's gradient is the sum over its copies
            self.grad += _sum_to(out.grad, self.value.shape)
            other.grad += _sum_to(out.grad, other.value.shape)
        out._backward = _backward
        return out
    # --8<-- [end:add]

    # --8<-- [start:relu]
    def relu(self):                             # max(0, Z), entry by entry
        out = Tensor(np.maximum(self.value, 0), (self,), "relu")

        def _backward():
            self.grad += out.grad * (self.value > 0)   # ReLU'(Z): a gate, 1 where Z > 0
        out._backward = _backward
        return out
    # --8<-- [end:relu]

    # --8<-- [start:softmax_cross_entropy]
    def softmax_cross_entropy(self, Y):         # logits Z (k, m), labels Y (m,) -> scalar L
        Z, Y = self.value, np.asarray(Y)
        k, m = Z.shape
        if Y.shape != (m,) or not np.issubdtype(Y.dtype, np.integer) or Y.min() < 0 or Y.max() >= k:
            raise ValueError(f"Y must be {m} integer labels 0..{k - 1}; got shape {Y.shape}, dtype {Y.dtype}")
        shifted = Z - Z.max(axis=0, keepdims=True)
        log_A = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))  # log softmax, (k, m)
        out = Tensor(-log_A[Y, np.arange(m)].mean(), (self,), "softmax-cross-entropy")

        def _backward():                        # fused: the page's dZ2 = A2 - Y, over m
            self.grad += out.grad * (softmax(Z) - one_hot(Y, k)) / m
        out._backward = _backward
        return out
    # --8<-- [end:softmax_cross_entropy]

    # --8<-- [start:backward]
    def backward(self):
        """Fill the .grad of every Tensor this one was computed from, by the chain rule."""
        order, seen = [], set()

        def visit(t):                           # depth first: a Tensor after all its parents
            if id(t) not in seen:
                seen.add(id(t))
                for parent in t._parents:
                    visit(parent)
                order.append(t)
        visit(self)
        self.grad = np.ones_like(self.value)    # dL/dL = 1
        for t in reversed(order):               # the loss first, the inputs last
            t._backward()
    # --8<-- [end:backward]


# --8<-- [start:sum_to]
def _sum_to(grad, shape):
    """Undo broadcasting: sum grad over each axis that was stretched from 1. (n, m) -> (n, 1)."""
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
# --8<-- [end:sum_to]


# --8<-- [start:network_gradients]
def network_gradients(params, X, Y):
    """Loss and gradients of the network by automatic differentiation: (L, {"dW1": ..., ...})."""
    P = {name: Tensor(value) for name, value in params.items()}   # W1, b1, W2, b2
    Z1 = P["W1"] @ Tensor(X) + P["b1"]          # (h, m)
    A1 = Z1.relu()                              # (h, m)
    Z2 = P["W2"] @ A1 + P["b2"]                 # (10, m)
    L = Z2.softmax_cross_entropy(Y)             # scalar
    L.backward()                                # every .grad is now dL/d(that array)
    return float(L.value), {"d" + name: t.grad for name, t in P.items()}
# --8<-- [end:network_gradients]
