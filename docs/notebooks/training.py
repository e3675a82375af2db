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
# The earlier pages built the three pieces of the network: the forward pass, the
# backward pass and the update. This page puts them in a loop and runs it: the
# original Kaggle notebook's algorithm, with the [errata](../../errata/#differences)
# fixed (that page lists every difference once). Plain gradient descent, learning
# rate $\alpha = 0.10$, 1000 iterations, every iteration on the whole training set.
#
# ## One iteration
#
# Each iteration does three things with all $m$ training images at once, stacked
# as the columns of $X$ (784 rows, $m$ columns).
#
# **Forward.** Compute the network's guesses for every image:
#
# $$
# \begin{aligned}
# Z^{[1]} &= W^{[1]} X + b^{[1]}, & A^{[1]} &= \operatorname{ReLU}(Z^{[1]}), \\
# Z^{[2]} &= W^{[2]} A^{[1]} + b^{[2]}, & A^{[2]} &= \operatorname{softmax}(Z^{[2]}).
# \end{aligned}
# $$
#
# **Backward.** Compute how the mean cross-entropy loss $L$ changes with every weight.
# $Y$ here is the one-hot matrix of the labels, and $\sum_j$ adds up the columns.
# As on the [Backpropagation](../../backprop/) page, $dW = \partial L / \partial W$ and
# $db = \partial L / \partial b$, while $dZ = m \, \partial L / \partial Z$ leaves out the $\frac{1}{m}$:
#
# $$
# \begin{aligned}
# dZ^{[2]} &= A^{[2]} - Y, \\
# dW^{[2]} &= \tfrac{1}{m}\, dZ^{[2]} A^{[1]\top}, \\
# db^{[2]} &= \tfrac{1}{m} \textstyle\sum_j dZ^{[2]}_{:,j}, \\
# dZ^{[1]} &= W^{[2]\top} dZ^{[2]} \odot \operatorname{ReLU}'(Z^{[1]}), \\
# dW^{[1]} &= \tfrac{1}{m}\, dZ^{[1]} X^{\top}, \\
# db^{[1]} &= \tfrac{1}{m} \textstyle\sum_j dZ^{[1]}_{:,j}.
# \end{aligned}
# $$
#
# **Update.** Take one step downhill, of size $\alpha$, on every parameter:
#
# $$
# W^{[l]} \leftarrow W^{[l]} - \alpha\, dW^{[l]}, \qquad b^{[l]} \leftarrow b^{[l]} - \alpha\, db^{[l]}.
# $$
#
# The [Backpropagation](../../backprop/) page derives these formulas and quotes the
# code of each step. The whole algorithm is then three lines in a loop. The cell below
# prints it from the installed package, so what you read is what runs:

# %%
# %matplotlib inline
import inspect
import os

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.figure import Figure

import nnfs
from nnfs import TrainConfig
from nnfs.data import load_dataset, train_dev_split
from nnfs.plots import plot_history
from nnfs.timing import build_results
from nnfs.train import descend

print(inspect.getsource(descend))

# %% [markdown]
# That is all of training. The version the site runs, `nnfs.gradient_descent`, is this
# loop plus bookkeeping: it takes its settings from a `TrainConfig`, draws the starting
# weights, and every ten iterations records the loss and the accuracies in a history
# (and can report progress through a callback). Its loop body is the same three calls:

# %%
print(inspect.getsource(nnfs.gradient_descent))

# %% [markdown]
# ## The data
#
# We load the dataset the site is built from and hold out 1,000 digits as a *dev
# set*: the network never trains on them, so its accuracy there tells us how well
# it reads digits it has never seen. The split uses a fixed seed, the same one as
# the site's build, so every page sees the same split.

# %%
dataset = load_dataset(os.environ.get("NNFS_DATASET", "sample"))
X_train, Y_train, X_dev, Y_dev = train_dev_split(
    dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))

print("dataset:", dataset.description)
print("X_train", X_train.shape, " Y_train", Y_train.shape)
print("X_dev  ", X_dev.shape, " Y_dev  ", Y_dev.shape)

# %% [markdown]
# Every column of `X_train` is one image of $28 \times 28 = 784$ pixels, scaled to
# $[0, 1]$. In a full-batch iteration $m$ is the number of columns of `X_train`,
# so each step averages the gradient over every training digit.
#
# ## Run it
#
# `TrainConfig()` with no arguments is the original recipe. Printing it shows every
# choice that decides the run; the ones that matter here are `learning_rate` and
# `iterations`.

# %%
config = TrainConfig()
print(config)

params, history = nnfs.gradient_descent(X_train, Y_train, config, X_dev, Y_dev)
frame = history.to_frame()

# The bare loop from the same start gives the same weights, bit for bit (checked on 20 steps).
start = nnfs.init_params(784, config.n_hidden, 10, rng=np.random.default_rng(config.seed),
                         init=config.init, dtype=np.dtype(config.dtype))
short, _ = nnfs.gradient_descent(X_train, Y_train, config.replace(iterations=20))
bare = descend(start, X_train.astype(config.dtype), Y_train, config.learning_rate, 20)
assert all(np.array_equal(bare[name], short[name]) for name in short)

train_accuracy = nnfs.accuracy(nnfs.predict(params, X_train), Y_train)
print(f"train accuracy after {config.iterations} iterations: {train_accuracy:.1%}")
print(f"dev accuracy after {config.iterations} iterations:   {history.final_dev_accuracy:.1%}")
build = build_results()   # the site build's timed run of this same computation; None outside the build
if build is not None:
    cpu_seconds = pd.Series(build["gd_cpu_seconds"], index=build["gd_steps"])
    timed = "the site build's one timed run of it"
else:
    cpu_seconds, timed = frame.set_index("step")["cpu_seconds"], "this run"
print(f"training time: {cpu_seconds.iloc[-1]:.1f} CPU seconds ({timed}; dev evaluations not counted)")

# %% [markdown]
# The time is CPU time of the one thread that trains (the build gives the linear-algebra
# library one thread), so other programs running on the machine do not inflate it.
# Training is deterministic, so this run and the build's timed run are the same
# computation, weight for weight; every page of the site quotes that one figure.
#
# ## Loss and accuracy, iteration by iteration
#
# On the left is the training loss, the mean cross-entropy that gradient descent
# pushes down. On the right is the accuracy on the training digits and on the dev
# digits. The training curve at a step is the mean over the ten iterations before
# it; the dev curve is measured on all the dev digits at that step.

# %%
plot_history(frame)

# %% [markdown]
# Learning is fast at first and slow later. At the start the weights are random,
# the gradient is large and every step helps a lot. As the loss falls, the gradient
# gets smaller, and so do the steps, because each step is $\alpha$ times the
# gradient. Gradient descent slows down by itself as it nears a minimum.
#
# The two accuracy curves also drift apart. The network is trained on the training
# digits at every step, so it gets better on those than on digits it never sees.
# The gap between the curves measures that over-fitting.
#
# The table reads the history at three moments of the run:

# %%
checkpoints = frame.set_index("step").loc[[100, 500, 1000]]
table = pd.DataFrame({
    "loss": checkpoints["loss"],
    "train accuracy": checkpoints["train_accuracy"],
    "dev accuracy": checkpoints["dev_accuracy"],
    "CPU seconds": cpu_seconds.loc[[100, 500, 1000]],
}).rename_axis("iteration")
display(table.style.format({"loss": "{:.3f}", "train accuracy": "{:.1%}",
                            "dev accuracy": "{:.1%}", "CPU seconds": "{:.1f}"}))

at = checkpoints["dev_accuracy"]
dev_accuracy = history.final_dev_accuracy
Markdown(
    f"The first 100 iterations take the dev accuracy from guessing (one digit in ten) "
    f"to {at[100]:.1%}. The next 400 add {100 * (at[500] - at[100]):.1f} percentage points, "
    f"and the last 500 only {100 * (at[1000] - at[500]):.1f}. At the end the network gets "
    f"{train_accuracy:.1%} of the training digits right and {dev_accuracy:.1%} of the dev "
    f"digits: a gap of {100 * (train_accuracy - dev_accuracy):.1f} points."
)

# %% [markdown]
# ### How does this compare with the original?
#
# The original Kaggle notebook reported 88.1% on its 1,000 held-out digits after the
# same 1000 iterations. It trained on 41,000 digits (Kaggle's 42,000 minus the
# 1,000 it held out). Two things make our number differ from it, and the cell below
# sizes both. First, the amount of training data: more digits teach the network
# more. Second, the dev set is small: with 1,000 digits, an accuracy $p$ is only
# known to within about one standard error, $\sqrt{p(1 - p) / 1000}$.

# %%
p = history.final_dev_accuracy
standard_error = np.sqrt(p * (1 - p) / Y_dev.size)
n_train, n_original = Y_train.size, 41_000
if n_train < n_original:
    data_note = f"about {n_original / n_train:.0f} times fewer than the original"
else:
    data_note = f"at least as many as the original's {n_original:,}"
Markdown(
    f"We trained on {n_train:,} digits, {data_note}. Our dev accuracy of {p:.1%} is known "
    f"to about ±{100 * standard_error:.1f} percentage points (one standard error on "
    f"{Y_dev.size:,} digits)."
)

# %% [markdown]
# ## Choosing the learning rate
#
# The learning rate $\alpha$ sets the size of every step. The best value can't be
# derived; it has to be tried. We train the same network from the same starting
# weights (the same seed) with five values of $\alpha$, 500 iterations each, and
# compare. Each run uses at most a thousand training digits, a random sample of
# them, so that the five runs stay quick; the cell prints how many.
#
# For every run the table reports the final loss and dev accuracy, the best dev
# accuracy seen during the run, the first iteration where the dev accuracy reached
# 80%, and how many of the 10 hidden units are still *alive*, meaning they output a
# nonzero value for at least one training digit.

# %%
learning_rates = [0.01, 0.1, 0.5, 1.0, 2.0]
SWEEP_SIZE = 1_000                                        # digits per run, at most
X_sweep, Y_sweep = X_train[:, :SWEEP_SIZE], Y_train[:SWEEP_SIZE]  # the split is shuffled: a random sample
print(f"each run trains on {Y_sweep.size:,} digits: "
      + ("the whole training set" if Y_sweep.size == Y_train.size else
         f"the first {Y_sweep.size:,} of the {Y_train.size:,} shuffled training digits"))
runs = {}
rows = []
for alpha in learning_rates:
    run_params, run_history = nnfs.gradient_descent(
        X_sweep, Y_sweep, config.replace(learning_rate=alpha, iterations=500), X_dev, Y_dev)
    run = run_history.to_frame()
    runs[alpha] = run
    reached = run.loc[run["dev_accuracy"] >= 0.80, "step"]
    A1 = nnfs.forward(run_params, X_sweep)["A1"]            # (10, m)
    rows.append({
        "α": alpha,
        "loss at 500": run["loss"].iloc[-1],
        "dev accuracy at 500": run["dev_accuracy"].iloc[-1],
        "best dev accuracy": run["dev_accuracy"].max(),
        "first iteration at 80% dev": int(reached.iloc[0]) if len(reached) else None,
        "live hidden units": int((A1 > 0).any(axis=1).sum()),
    })
comparison = pd.DataFrame(rows).set_index("α")
comparison.style.format({
    "loss at 500": "{:.3f}", "dev accuracy at 500": "{:.1%}", "best dev accuracy": "{:.1%}",
    "first iteration at 80% dev": "{:.0f}",
}, na_rep="never").format_index("{:g}")

# %%
fig = Figure(figsize=(10, 4), layout="constrained")
ax_loss, ax_dev = fig.subplots(1, 2)
for alpha, run in runs.items():
    ax_loss.plot(run["step"], run["loss"], label=f"α = {alpha}")
    ax_dev.plot(run["step"], run["dev_accuracy"], label=f"α = {alpha}")
ax_loss.set(title="Training loss", xlabel="iteration", ylabel="cross-entropy loss",
            ylim=(0, None))
ax_dev.set(title="Dev accuracy", xlabel="iteration", ylabel="accuracy", ylim=(0, 1))
for ax in (ax_loss, ax_dev):
    ax.grid(alpha=0.3)
fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside right upper")
fig

# %%
final = comparison["dev accuracy at 500"]
best, small, large = final.idxmax(), min(learning_rates), max(learning_rates)
Markdown(
    f"In this comparison α = {best} ends with the best dev accuracy ({final[best]:.1%}). "
    f"The smallest rate, α = {small}, stops at {final[small]:.1%}, and the largest, "
    f"α = {large}, at {final[large]:.1%}, with "
    f"{comparison.loc[large, 'live hidden units']} live hidden units and a loss of "
    f"{comparison.loc[large, 'loss at 500']:.3f}. For comparison, a network that gives the "
    f"same probabilities to every image can at best match how often each digit occurs; with "
    f"ten roughly equally common digits, that is a loss of about ln 10 = {np.log(10):.3f}."
)

# %% [markdown]
# **Too small.** With a tiny $\alpha$ every step is tiny. Nothing goes wrong, the loss
# falls steadily, but 500 iterations cover only a short distance, and the run can end
# far from a good minimum. It would get there with many more iterations, which cost
# time.
#
# **Larger, up to a point.** A larger $\alpha$ covers more ground with every step. The
# gradient is an average over the whole training set, so it changes smoothly from one
# step to the next, and a fairly long step still lands downhill.
#
# **Too large.** A step can then overshoot the valley and land higher on the other
# side; the loss curve jumps up and down instead of falling. With ReLU there is a
# worse failure. If one large step moves a hidden unit's weights so that
# $Z^{[1]}$ is negative for every training digit, that unit outputs 0 for all of
# them. Its slope $\operatorname{ReLU}'$ is then 0 everywhere, so its gradient is
# exactly zero and no later step can move it again. It is a *dead* unit. When all
# the hidden units die, $A^{[1]} = 0$ and the output is $\operatorname{softmax}(b^{[2]})$,
# the same for every image: the network guesses one digit for everything, and its
# loss sits near $\ln\,10$.
#
# What the five runs above did, read from the table:

# %%
def reached(alpha):
    first = comparison.loc[alpha, "first iteration at 80% dev"]
    return "never reached 80% dev accuracy" if pd.isna(first) else f"reached 80% dev accuracy at iteration {first:.0f}"


def loss_at_500(alpha):
    return f"{comparison.loc[alpha, 'loss at 500']:.3f}"


original_alpha = config.learning_rate
dead = 10 - comparison.loc[large, "live hidden units"]
if dead == 10:
    fate = f"all 10 of its hidden units died, and its loss of {loss_at_500(large)} sits near ln 10"
elif dead > 0:
    fate = (f"{dead} of its 10 hidden units died. The {10 - dead} still alive keep its loss of "
            f"{loss_at_500(large)} below ln 10, but far above the {loss_at_500(best)} of α = {best:g}")
else:
    fate = f"none of its hidden units died, and its loss ended at {loss_at_500(large)}"
if best == original_alpha:
    larger = f"The original's α = {original_alpha:g} was the best of the five: it {reached(best)}."
else:
    larger = (f"The original's α = {original_alpha:g} {reached(original_alpha)}, with a loss of "
              f"{loss_at_500(original_alpha)} at the end; α = {best:g} {reached(best)}, with a loss of "
              f"{loss_at_500(best)}.")
Markdown(
    f"The smallest rate, α = {small:g}, {reached(small)} and ended at a loss of {loss_at_500(small)}. "
    f"{larger} With the largest, α = {large:g}, {fate}."
)

# %% [markdown]
# The learning rate is the first thing to tune. The [Going further](../going_further/)
# page changes the algorithm itself: smaller, cheaper steps on mini-batches, a
# better starting point, and a rate that shrinks during training. The
# [Results](../results/) page looks closely at what the trained network gets right
# and wrong.
