"""nnfs: a 784-10-10 neural network for handwritten digits, from scratch in NumPy.

Column layout: X is (784, m), one example per column; labels Y are ints (m,).
"""

from nnfs.network import (
    accuracy,
    backward,
    cross_entropy,
    forward,
    gradient_check,
    init_params,
    loss,
    numerical_gradient,
    one_hot,
    predict,
    relu,
    relu_grad,
    softmax,
    update_params,
)
from nnfs.train import History, TrainConfig, adam_update, gradient_descent, minibatch_sgd, shift_images, train

__version__ = "0.1.0"

__all__ = [
    "History", "TrainConfig", "accuracy", "adam_update", "backward", "cross_entropy", "forward",
    "gradient_check", "gradient_descent", "init_params", "loss", "minibatch_sgd", "numerical_gradient",
    "one_hot", "predict", "relu", "relu_grad", "shift_images", "softmax", "train", "update_params",
]
