# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Training
#
# Gradient descent repeats $W \leftarrow W - \alpha\, dW$:
#
# $$\theta \leftarrow \theta - \alpha \frac{\partial L}{\partial \theta}$$

# %%
# %matplotlib inline
import os
import numpy as np
import nnfs
from nnfs.data import load_dataset, train_dev_split

dataset = load_dataset(os.environ.get("NNFS_DATASET", "sample"))
X_train, Y_train, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))
params, history = nnfs.gradient_descent(X_train, Y_train, nnfs.TrainConfig(), X_dev, Y_dev)
print(f"dev accuracy: {history.final_dev_accuracy:.4f}")
