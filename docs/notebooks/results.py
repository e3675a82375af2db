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
# # Results
#
# An accuracy is one number. This page opens up the trained network to see
# *which* digits it gets wrong, how sure it is when it is wrong, and what its ten
# hidden units have learned to look for.
#
# We train exactly the model the site's build trains: the original recipe,
# `TrainConfig()`, with `nnfs.gradient_descent` on the same training split. Its
# history also records, every ten steps, how much that step changed each weight
# matrix, for the diagnostics at the end of this page. Training is deterministic, with a
# fixed seed and no hidden randomness, so the same code and data on the same
# machine give the very weights the Home page and the Playground use. (On another
# machine, or with another number of threads in the linear-algebra library, float32
# sums can round differently in their last digits, and a number here may move a
# little.)

# %%
# %matplotlib inline
import os

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import nnfs
from nnfs import TrainConfig
from nnfs.data import load_dataset, train_dev_split
from nnfs.plots import (confusion_matrix, plot_confusion, plot_digits, plot_hidden_weights,
                        plot_histograms, plot_softmax, plot_update_ratios)
from nnfs.train import descend
dataset = load_dataset(os.environ.get("NNFS_DATASET", "sample"))
X_train, Y_train, X_dev, Y_dev = train_dev_split(
    dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))

config = TrainConfig()
params, history = nnfs.gradient_descent(X_train, Y_train, config, X_dev, Y_dev)
X32 = X_train.astype(config.dtype)                         # as gradient_descent converts it
start = nnfs.init_params(784, config.n_hidden, 10, rng=np.random.default_rng(config.seed),
                         init=config.init, dtype=X32.dtype)  # gradient_descent's start

A2 = nnfs.forward(params, X_dev)["A2"]   # (10, 1000): probabilities, a column per digit
pred = A2.argmax(axis=0)                 # (1000,): the most probable digit
print("dataset:", dataset.description)
print(f"train accuracy: {nnfs.accuracy(nnfs.predict(params, X_train), Y_train):.1%} "
      f"on {Y_train.size:,} digits")
print(f"dev accuracy:   {nnfs.accuracy(pred, Y_dev):.1%} on {Y_dev.size:,} digits")

# %%
from nnfs.data import load_mnist_part

if dataset.name == "mnist":  # full MNIST, as on the hosted site: its official test set comes with it
    X_test, Y_test = load_mnist_part("test")
    print(f"test accuracy:  {nnfs.accuracy(nnfs.predict(params, X_test), Y_test):.1%} "
          f"on {Y_test.size:,} digits of MNIST's official test set")
else:
    print("test accuracy:  not measured on this build; built on full MNIST (NNFS_DATASET=mnist, "
          "as the hosted site is), this line scores the official 10,000-digit test set")

# %% [markdown]
# ## Fifteen dev digits
#
# A random handful of dev digits, with what the network says and the true label.
# Mistakes are titled and framed in red.

# %%
rng = np.random.default_rng(1)
show = rng.choice(Y_dev.size, size=15, replace=False)
plot_digits(X_dev[:, show], Y_dev[show], pred[show], ncols=5)

# %% [markdown]
# ## Which digits get confused?
#
# The confusion matrix counts every dev digit once, in the row of its true label
# and the column of the network's answer: the entry in row 4, column 9 counts the
# 4s that the network read as 9s. The diagonal holds the correct answers;
# everything off the diagonal is a mistake, and where the mistakes pile up tells
# us which digits look alike to the network.

# %%
plot_confusion(Y_dev, pred)

# %%
C = confusion_matrix(Y_dev, pred)       # (10, 10): true digits on rows, predictions on columns
mistakes = C - np.diag(np.diag(C))      # the off-diagonal part
pairs = pd.DataFrame(
    [(i, j, mistakes[i, j]) for i in range(10) for j in range(10) if mistakes[i, j] > 0],
    columns=["true digit", "predicted", "count"],
).sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
per_digit = pd.Series(np.diag(C) / C.sum(axis=1), name="accuracy").rename_axis("digit")

top = pairs.iloc[0]
Markdown(
    f"The most frequent single mistake is a {top['true digit']} read as a {top['predicted']} "
    f"({top['count']} times). The network reads {per_digit.idxmax()} best "
    f"({per_digit.max():.1%} of them right) and {per_digit.idxmin()} worst "
    f"({per_digit.min():.1%}). The five most common mistakes:"
)

# %%
pairs.head(5)

# %% [markdown]
# The mistakes are not spread evenly. On MNIST the classic confusions are among
# 3, 5 and 8, which differ by a few short strokes, and among 4, 7 and 9, where a
# closed or slanted top turns one into another; compare the table above. The
# reason lies in what the network computes. Each hidden unit scores the whole
# image against one weight pattern, pixel by pixel, and the outputs add those
# scores up. Two digits whose ink falls on mostly the same pixels get similar
# scores, and ten such patterns are not enough to tell them apart reliably.
#
# Here is the accuracy for each digit:

# %%
print(per_digit.map("{:.1%}".format).to_frame().T.to_string())

# %% [markdown]
# ## The most confident mistakes
#
# The output $A^{[2]}$ is a probability for each digit, and the prediction is the
# largest one. How large it is tells us how sure the network is. The mistakes it
# makes with the most confidence are the most instructive: we sort the wrong
# predictions by that largest probability, from most to least sure.

# %%
confidence = A2.max(axis=0)             # (1000,): probability of the predicted digit
wrong = np.flatnonzero(pred != Y_dev)
worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:10]
pd.DataFrame({
    "dev index": worst,
    "label": Y_dev[worst],
    "predicted": pred[worst],
    "P(predicted)": confidence[worst],
    "P(label)": A2[Y_dev[worst], worst],
}).style.format({"P(predicted)": "{:.3f}", "P(label)": "{:.3f}"}).hide(axis="index")

# %%
plot_digits(X_dev[:, worst], Y_dev[worst], pred[worst], ncols=5)

# %% [markdown]
# Look at them before blaming the network. Some are badly written, some are cut
# off or thin, and a few could honestly pass for the predicted digit. Others are
# plain errors on a clear digit. Here is the full output for the first one, the
# mistake the network was surest about:

# %%
first = worst[0]
plot_softmax(A2[:, first], title=f"Dev digit {first}: label {Y_dev[first]}, "
                                 f"predicted {pred[first]} ({confidence[first]:.1%})")

# %% [markdown]
# So a high probability does not guarantee a right answer. Is the confidence
# useless, then? No. Grouping the dev digits by how sure the network was shows
# that its confidence does carry information:

# %%
bands = pd.cut(confidence, [0, 0.5, 0.9, 0.99, 1.0], include_lowest=True,
               labels=["below 0.5", "0.5 to 0.9", "0.9 to 0.99", "above 0.99"])
right = pd.Series(pred == Y_dev).groupby(bands, observed=False)
calibration = right.agg(["size", "mean"]).rename(
    columns={"size": "dev digits", "mean": "accuracy"}).rename_axis("P(predicted)")
calibration.style.format({"accuracy": "{:.1%}"})

# %%
rate = calibration["accuracy"]
Markdown(
    f"When the network gives its answer a probability above 0.99, it is right "
    f"{rate['above 0.99']:.1%} of the time; when its top probability is below one half, "
    f"only {rate['below 0.5']:.1%}. A program that uses this network could act on the sure "
    f"answers and pass the unsure ones to a person."
)

# %% [markdown]
# ## What the hidden units look for
#
# Hidden unit $i$ computes $Z^{[1]}_i = \sum_p W^{[1]}_{i,p}\, x_p + b^{[1]}_i$: each
# of the 784 pixels $x_p$ times its own weight. Row $i$ of $W^{[1]}$ therefore has
# one weight per pixel, and we can draw it as a $28 \times 28$ image. Red pixels
# raise the unit's score when they are inked, blue pixels lower it, white ones
# don't matter.

# %%
plot_hidden_weights(params["W1"])

# %% [markdown]
# Mostly noise. The reason is the starting point: the original recipe draws every
# weight uniformly from $-0.5$ to $0.5$, and 1000 small steps change them much less
# than that. The learned part is hidden under the initial noise. We can get it out:
# the first thing `gradient_descent` does with its random generator is draw the
# initial weights, so drawing them again with the same seed gives the exact
# starting point, and subtracting it leaves only what training changed.

# %%
initial = nnfs.init_params(784, config.n_hidden, 10, rng=np.random.default_rng(config.seed),
                           init=config.init, dtype=params["W1"].dtype)
change = params["W1"] - initial["W1"]       # (10, 784): what 1000 steps learned
never_inked = (X_train == 0).all(axis=1)    # (784,): blank in every training digit
untouched = (change == 0).all(axis=0)       # (784,): weights that never moved

inked_change = np.abs(change[:, ~never_inked]).mean()
initial_size = np.abs(initial["W1"]).mean()
print(f"mean |initial weight|:                   {initial_size:.3f}")
print(f"mean |change| on pixels inked somewhere:  {inked_change:.3f}")
print(f"pixels blank in every training digit:     {never_inked.sum()} of 784")
print(f"pixels whose weights never changed:       {untouched.sum()} of 784")
print("are they the same pixels?                ", bool((never_inked == untouched).all()))

fig = plot_hidden_weights(change)
fig.suptitle("What training changed: W1 minus its initial value")
fig

# %% [markdown]
# Now the patterns show. Each unit has learned a rough stroke template: red
# regions where ink should be for the digits it favours, blue where ink argues
# against them. The empty frame around every image is not a plotting artefact.
# The gradient of a first-layer weight is
# $dW^{[1]}_{i,p} = \frac{1}{m}\sum_j dZ^{[1]}_{i,j}\, x_{p,j}$, and a pixel $p$
# that is blank in every training digit has $x_{p,j} = 0$ for all $j$. Its
# gradient is exactly zero, so its weights keep their random starting values
# forever; the counts above confirm it, pixel for pixel.

# %%
n_pixels = X_train.shape[0]
outweighs = ("still outweighs what training added" if initial_size > inked_change
             else "is smaller than what training added")
Markdown(
    f"So the noise in the first picture has two sources. In the empty frame, "
    f"{never_inked.sum()} of the {n_pixels} pixels, it is weights that nothing ever asked to "
    f"change. On the other {n_pixels - never_inked.sum()} pixels the weights did change, by "
    f"{inked_change:.3f} on average, but they started from random values of average size "
    f"{initial_size:.3f}, {initial_size / inked_change:.1f} times as much: there the random "
    f"start {outweighs}."
)

# %% [markdown]
# Which digits does each unit speak for? The second layer tells us: column $i$ of
# $W^{[2]}$ holds the weights from unit $i$ to the ten outputs, so its largest
# entry names the digit the unit votes for most, and its smallest the digit it
# votes against most. The last column counts how often the unit fires at all, that
# is, how many dev digits give it a positive $Z^{[1]}$.

# %%
A1 = nnfs.forward(params, X_dev)["A1"]     # (10 hidden units, 1000)
W2 = params["W2"]                          # (10 outputs, 10 hidden units)
units = pd.DataFrame({
    "votes most for": W2.argmax(axis=0),
    "votes most against": W2.argmin(axis=0),
    "mean |change| in W1": np.abs(change).mean(axis=1),
    "fires on dev digits": (A1 > 0).mean(axis=1),
}).rename_axis("unit")
units.style.format({"mean |change| in W1": "{:.3f}", "fires on dev digits": "{:.0%}"})

# %%
rarely = ", ".join(str(i) for i in units.index[units["fires on dev digits"] < 0.2])
Markdown(
    f"Units that fire on fewer than one dev digit in five: {rarely or 'none'}. "
    "A unit that is silent for most digits also receives a gradient from few of them, "
    "so it learns slowly; its picture above stays faint."
)

# %% [markdown]
# ## Is the training healthy?
#
# Accuracy says how well the network does, not whether its training went well
# inside. Three measurements, standard when a network trains badly, look inside:
# dead units, the spread of the activations and gradients, and the size of each
# step compared with the weights. Each is taken from the run above, at its start
# (the random weights) and at its end.
#
# ### Dead hidden units
#
# A ReLU unit whose $Z^{[1]}$ is negative for every training digit outputs 0 for all of
# them, gets a gradient of exactly 0, and can never recover (the
# [Training](../training/) page shows large learning rates killing units this way).

# %%
cache_start, cache_end = nnfs.forward(start, X32), nnfs.forward(params, X32)
dead_start = int((cache_start["A1"] == 0).all(axis=1).sum())   # units silent on every digit
dead_end = int((cache_end["A1"] == 0).all(axis=1).sum())
fires = (cache_end["A1"] > 0).mean(axis=1)                      # (h,): share of digits a unit fires on
n_hidden = config.n_hidden
Markdown(
    f"Dead hidden units: {dead_start} of {n_hidden} at the start, {dead_end} of {n_hidden} at the end. "
    f"At the end the least active unit fires on {fires.min():.0%} of the training digits and the most "
    f"active on {fires.max():.0%}. Healthy is no dead unit, or a small share of a large layer: here each "
    f"unit is a tenth of the hidden layer, so "
    + ("none is lost." if dead_end == 0 else f"{dead_end} dead unit(s) cost {dead_end / n_hidden:.0%} of it.")
)

# %% [markdown]
# ### Activations and gradients, start and end
#
# The hidden activations $A^{[1]}$ of every training digit, and every entry of the
# weight gradients $dW^{[1]}$ and $dW^{[2]}$ on the whole training set, as histograms
# (the gradients on a log scale, since they span several powers of ten; exact zeros
# are counted in the legend).

# %%
grads_start = nnfs.backward(start, cache_start, X32, Y_train)
grads_end = nnfs.backward(params, cache_end, X32, Y_train)
plot_histograms({"hidden activations A1": cache_start["A1"]}, {"hidden activations A1": cache_end["A1"]},
                title="Hidden activations on the training digits", xlabel="A1")

# %%
plot_histograms({name: grads_start[name] for name in ("dW1", "dW2")},
                {name: grads_end[name] for name in ("dW1", "dW2")},
                title="Weight gradients on the whole training set", xlabel="gradient entry", log=True)

# %%
zero_share = float((cache_end["A1"] == 0).mean())
scale = {when: float(np.median(np.abs(g["dW2"]))) for when, g in (("start", grads_start), ("end", grads_end))}
blank_pixels = int((X_train == 0).all(axis=1).sum())
finite = all(np.isfinite(g[name]).all() for g in (grads_start, grads_end) for name in g)
assert finite and (grads_end["dW1"] == 0).sum() >= blank_pixels * n_hidden
Markdown(
    f"At the end {zero_share:.0%} of the hidden activations are exactly 0: ReLU switches each unit off "
    f"for the digits it does not respond to, which is how the units specialise. Healthy activations "
    f"neither collapse to 0 for every digit nor grow without bound. Here the largest is "
    f"{cache_start['A1'].max():.1f} at the start and {cache_end['A1'].max():.1f} at the end. "
    f"The typical size of a `dW2` entry goes from {scale['start']:.1e} to {scale['end']:.1e}. "
    f"Gradients shrink as training approaches a minimum, which is healthy, as long as they stay finite "
    f"(they do) and do not all vanish. The many exact zeros in `dW1` are the weights of the "
    f"{blank_pixels} pixels that are blank in every training digit, as found above."
)

# %% [markdown]
# ### Update-to-weight ratio
#
# Each step changes a weight matrix by $\alpha\, dW$. Compared with the matrix itself,
# $\lVert \alpha\, dW \rVert / \lVert W \rVert$ says how fast that layer is learning:
# a common rule of thumb for healthy training is around $10^{-3}$ per step. Far
# below, the layer barely moves; far above, each step rewrites much of the layer,
# and training tends to be unstable.

# %%
first_step = descend(start, X32, Y_train, config.learning_rate, 1)   # step 1, from the start
steps = [1, *history.step]                                     # and every tenth step after it
ratios = {name: [float(np.linalg.norm(first_step[name] - start[name]) / np.linalg.norm(start[name])),
                 *getattr(history, f"update_{name}")] for name in ("W1", "W2")}
plot_update_ratios(steps, ratios)

# %%
first = {name: r[0] for name, r in ratios.items()}
last = {name: r[-1] for name, r in ratios.items()}


def verdict(r):
    """Where a ratio sits against the rule of thumb 1e-3, within a factor of ten."""
    return "close to" if 1e-4 <= r <= 1e-2 else ("far below" if r < 1e-4 else "far above")


slow = ("" if last["W1"] >= 1e-4 else
        " A first layer far below it is the weight pictures' diagnosis again: its random start is "
        "large, the steps are small compared with it, and the learned part stays hidden under the noise.")
Markdown(
    f"With α = {config.learning_rate}, the first step changes `W1` by {first['W1']:.1e} of its "
    f"size and `W2` by {first['W2']:.1e}; the last step by {last['W1']:.1e} and {last['W2']:.1e}. "
    f"The ratios fall as the gradients shrink. At the end the first layer is {verdict(last['W1'])} "
    f"the rule of thumb and the second {verdict(last['W2'])} it (close to: within a factor of ten "
    f"of 10⁻³).{slow}"
)

# %% [markdown]
# Ten templates, each a blend of several digits, are all this network has to
# tell ten digits apart, and the confusion matrix shows the price. The
# [Going further](../going_further/) page widens the hidden layer and changes
# the training algorithm, and measures what each change buys.
