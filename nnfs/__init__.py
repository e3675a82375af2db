"""nnfs: a 784-10-10 neural network for handwritten digits, from scratch in NumPy.

Column layout: X is (784, m), one example per column; labels Y are ints (m,).

The names below are imported on first use (PEP 562), so ``import nnfs`` and the
``nnfs`` command start without loading NumPy: a Ctrl-C during start-up then
reaches the command line's handler instead of a traceback inside ``import numpy``.
"""

import importlib
import sys
import types

__version__ = "0.1.0"

_EXPORTS = {
    **dict.fromkeys(
        ["accuracy", "backward", "cross_entropy", "forward", "gradient_check", "init_params", "loss",
         "numerical_gradient", "one_hot", "predict", "relu", "relu_grad", "softmax", "update_params"],
        "nnfs.network"),
    **dict.fromkeys(
        ["History", "TrainConfig", "adam_update", "gradient_descent", "minibatch_sgd", "shift_images", "train"],
        "nnfs.train"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nnfs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """Importing the submodule nnfs.train binds the name ``train``; the package exports the function."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
