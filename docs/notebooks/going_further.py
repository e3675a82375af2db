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
# # Going further
#
# The original recipe works, but it is slow and stops short of what a 784-10-10
# network can do. This page changes one thing at a time and measures each change
# on the same dev set, for accuracy and for training time:
#
# 1. **He initialisation**: a better scale for the random starting weights.
# 2. **Mini-batch SGD**: many cheap steps on a small batch of digits each,
#    instead of few expensive steps on all of them.
# 3. **Linear decay of $\alpha$**: large steps early, small steps at the end.
# 4. **Adam**: a step size for every weight, adapted as training goes.
# 5. **Shift augmentation**: once the network has learned from the plain digits,
#    every digit moves by a random pixel in each later epoch.
# 6. **A wider hidden layer**: 128 units instead of 10.
#
# Every change is a field of `TrainConfig`, and `nnfs.train` runs any of them. The
# maths of the forward and backward passes never changes; only what we feed them
# and how we step. As on the [Training](../training/) page, the code of each
# change is printed from the installed package, so what you read is what runs.

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
from nnfs.data import load_dataset, load_mnist_part, train_dev_split
from nnfs.timing import PEER, build_results, compared_runs, side_by_side
from nnfs.train import pad_images, shifted_rows   # from the module; nnfs.train is the function train

dataset = load_dataset(os.environ.get("NNFS_DATASET", "sample"))
X_train, Y_train, X_dev, Y_dev = train_dev_split(
    dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))
print("dataset:", dataset.description)
print("X_train", X_train.shape, " X_dev", X_dev.shape)

# %% [markdown]
# ## The runs
#
# `TrainConfig()` is the original: full-batch gradient descent, uniform random
# weights, $\alpha = 0.10$, 1000 iterations. `TrainConfig.fast()` bundles the fast
# trainer's choices, printed by the next cell: mini-batches, He initialisation,
# $\alpha$ decaying linearly to 0, and ±1-pixel shifts from epoch `shift_start` on
# (counting from 0; *Shift augmentation* below says why they wait). The runs,
# defined in `nnfs.timing` so that the site's build trains exactly these, build up
# from one to the other, then widen the network. Adam replaces plain SGD in its row
# only: it needs a much smaller $\alpha$, and the fast defaults keep plain SGD.
#
# The `config` column shows how each row's configuration is built (`fast` stands
# for `TrainConfig.fast`). The last row is the same network trained by scikit-learn,
# compared in its own section below. The `seconds` column is the training time in CPU seconds
# of the one thread that trains, without the dev evaluations. `speed-up` is
# the original's time divided by the row's time; the original's run is the one every
# page of the site quotes. The last columns count the gradient steps and the examples
# they processed.

# %%
print(TrainConfig.fast())
print(inspect.getsource(compared_runs))

# %% [markdown]
# A time measured while other programs run is a time measured on a slower machine.
# CPU time leaves out the moments another program holds the core, but not all of the
# slowdown: a shared core also shares its caches and memory bandwidth. Two runs
# timed one after the other can then meet different conditions, and their ratio
# says as much about the machine as about the trainers. So `side_by_side` trains the
# runs in turns: each in a thread of its own, `at_once` at a time (the build gives it
# one per CPU), and after every history row the waiting run that is furthest behind
# goes on. Every run is spread over the same span
# of time, and whatever slows the machine slows them all alike. Each run is still
# exactly the run `nnfs.train` gives alone, weight for weight; only its clock is
# shared out. scikit-learn's `fit()` takes its turns too, at the end of each of its
# epochs (`fit_peer`).

# %%
print(inspect.getsource(side_by_side))


def describe(config):
    """The call that builds config, as text: TrainConfig(...) or fast(...) with its changes."""
    if config.trainer == "gd":
        base, name = TrainConfig(), "TrainConfig"
    else:
        base, name = TrainConfig.fast(), "fast"
    changes = {k: v for k, v in config.to_dict().items() if v != getattr(base, k)}
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in changes.items())})"


from sklearn.neural_network import MLPClassifier

experiments = compared_runs()
runs = side_by_side(experiments, X_train, Y_train, X_dev, Y_dev)
sk_model = experiments[PEER]   # fitted by side_by_side: its section below reads what it did
build = build_results()   # the site build's conditions; None outside the build
rows, histories, trained = [], {}, {}
for change, (params, history) in runs.items():
    config = experiments[change]
    trained[change] = params                     # in our layout; kept for the official test set, below
    if change == PEER:                           # scikit-learn: its parameters that differ from its defaults
        defaults = MLPClassifier().get_params()
        changed = {k: v for k, v in config.get_params().items() if v != defaults[k]}
        call, batch = f"MLPClassifier({', '.join(f'{k}={v!r}' for k, v in changed.items())})", config.batch_size
    else:
        histories[change] = history.to_frame()
        call = describe(config)
        batch = X_train.shape[1] if config.trainer == "gd" else config.batch_size
    steps = history.step[-1]
    rows.append({
        "change": change,
        "config": call,
        "steps": steps,
        "examples processed": steps * batch if change != PEER else int(history.epoch[-1]) * X_train.shape[1],
        "train accuracy": nnfs.accuracy(nnfs.predict(params, X_train), Y_train),
        "dev accuracy": history.final_dev_accuracy,
        "seconds": history.cpu_seconds[-1],
    })

table = pd.DataFrame(rows)
table["speed-up"] = table["seconds"].iloc[0] / table["seconds"]
table = table[["change", "config", "dev accuracy", "seconds", "speed-up",
               "train accuracy", "steps", "examples processed"]]
table.style.format({
    "examples processed": "{:,}", "train accuracy": "{:.1%}", "dev accuracy": "{:.1%}",
    "seconds": "{:.2f}", "speed-up": "{:.1f}×",
}).hide(axis="index")

# %% [markdown]
# A reminder before reading the table: the dev set has 1,000 digits, so each
# accuracy is known only to about one standard error:

# %%
p = table["dev accuracy"].iloc[0]
standard_error = np.sqrt(p * (1 - p) / Y_dev.size)
print(f"one standard error at {p:.1%} on {Y_dev.size:,} digits: "
      f"±{100 * standard_error:.1f} percentage points")

# %% [markdown]
# Two rows that differ by less than about twice that could swap places with
# another split or another seed. Larger gaps are real.
#
# The seconds depend on the machine; the ratios between rows carry over better.

# %%
if build is not None:
    display(Markdown(build["build_conditions"]))
else:
    display(Markdown("These times were measured on the machine that ran this notebook."))

# %% [markdown]
# The same runs as curves: dev accuracy against training time. A curve further up
# is more accurate; a curve further left got there sooner. The time axis is
# logarithmic, because the runs span a wide range of durations.

# %%
fig = Figure(figsize=(10, 5), layout="constrained")
ax = fig.subplots()
for change, frame in histories.items():
    ax.plot(frame["cpu_seconds"], frame["dev_accuracy"], label=change,
            linestyle="--" if change.startswith(("original", "gd")) else "-")
ax.set(xscale="log", xlabel="training CPU seconds (log scale)", ylabel="dev accuracy",
       title="Dev accuracy against training time", ylim=(0.5, 1))
ax.grid(alpha=0.3, which="both")
fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper")
fig

# %% [markdown]
# ## What each change buys
#
# ### He initialisation
#
# The original draws every weight uniformly from $-0.5$ to $0.5$. A hidden unit
# adds up 784 pixels times their weights, so these weights give pre-activations
# $Z^{[1]}$ that are large from the very first step, and the same goes for
# $Z^{[2]}$: the first softmax outputs are far from even, and confidently wrong.
# He initialisation draws $W^{[l]}$ from a normal distribution with variance
# $2 / n_{\text{in}}$, where $n_{\text{in}}$ is the number of inputs of the layer,
# and starts the biases at 0. The variance is chosen so that, through a ReLU,
# activations keep about the same size from layer to layer. Compare the two
# starting points on the training digits:

# %%
start = []
for init in ("uniform", "he"):
    params0 = nnfs.init_params(784, 10, 10, rng=np.random.default_rng(0), init=init)
    cache = nnfs.forward(params0, X_train)
    start.append({"init": init,
                  "std of Z1": cache["Z1"].std(),
                  "std of Z2": cache["Z2"].std(),
                  "initial loss": nnfs.cross_entropy(cache["A2"], Y_train)})
pd.DataFrame(start).set_index("init").style.format("{:.3f}")

# %% [markdown]
# A network that knows nothing should spread its bets evenly over the ten digits,
# for a loss of $\ln\,10$. An initial loss well above that means the untrained
# network is confidently wrong, and its first steps go into undoing that. The
# first two rows of the table differ in the initialisation only: same algorithm,
# same $\alpha$, same number of steps.

# %%
by_change = table.set_index("change")
dev = by_change["dev accuracy"]

Markdown(
    f"The even guess has a loss of ln 10 = {np.log(10):.3f}. With He initialisation, the "
    f"original algorithm ends at {dev['gd + He init']:.1%} dev accuracy instead of "
    f"{dev['original']:.1%}, at no extra cost."
)

# %% [markdown]
# ### Mini-batch SGD
#
# Full-batch gradient descent computes the exact gradient of the loss on every
# training digit before taking a single step. Mini-batch stochastic gradient
# descent estimates the gradient from a small random batch of digits and steps
# right away. The estimate is noisy, but it points downhill on average, and it
# costs a small fraction of a full-batch step. In the table the mini-batch rows
# process far fewer examples in total than the original (the column *examples
# processed*), yet take several times more steps. That is the whole trick: many
# cheap, roughly right steps beat a few expensive, exact ones. Each epoch
# reshuffles the digits, so the batches differ from one epoch to the next.
#
# Here is `nnfs.minibatch_sgd`, the fast trainer. The same `forward`, `backward`
# and `update_params` as in the original do the work; the loops around them are
# new. It also holds the next three changes: the `schedule`, `optimizer` and
# `shift` branches.

# %%
print(inspect.getsource(nnfs.minibatch_sgd))

# %%
fast_config = TrainConfig.fast()
n_train = X_train.shape[1]
steps_per_epoch = -(-n_train // fast_config.batch_size)          # ceil, as in the code
Markdown(
    f"With `TrainConfig.fast()` a batch holds {fast_config.batch_size} digits, so one epoch "
    f"over the {n_train:,} training digits takes {steps_per_epoch:,} steps, and "
    f"{fast_config.epochs} epochs take {fast_config.epochs * steps_per_epoch:,}. The same "
    f"`backward` serves both trainers: its m is the number of columns of the batch it is "
    f"given, {fast_config.batch_size} here and all {n_train:,} training digits in the original."
)

# %% [markdown]
# ### Linear decay of the learning rate
#
# With a constant $\alpha$, the noise in the gradient estimates keeps the weights
# jittering around a minimum instead of settling in it. Decaying $\alpha$
# linearly to 0 over the run gives large steps early, when they make fast
# progress, and ever smaller steps at the end, which average the noise away. It
# costs nothing: in `minibatch_sgd` above it is the line
# `alpha *= 1 - step / total_steps`, one multiplication per step.

# %%
total_steps = fast_config.epochs * steps_per_epoch
Markdown(
    f"With the fast defaults, α starts at {fast_config.learning_rate:g} on the first step "
    f"and falls by the same amount at every step, to {fast_config.learning_rate / total_steps:.2g} "
    f"on step {total_steps:,}, the last."
)

# %% [markdown]
# ### Adam
#
# Adam keeps, for every weight, a running average of its gradient and of its
# squared gradient, and divides the first by the square root of the second. Each
# weight thus gets its own step size: large where gradients are small but
# consistent, small where they are large or noisy. Because the step is
# normalised, its size is close to $\alpha$ itself, which is why Adam's row uses
# a far smaller $\alpha$ than the SGD rows. Adam is popular because it is forgiving:
# the same $\alpha$ works across many problems, where SGD's has to be tuned. Its
# price is more arithmetic per step and two more arrays per weight matrix: the
# `state` that `adam_update` carries from one step to the next.

# %%
print(inspect.getsource(nnfs.adam_update))

# %%
sgd = by_change.loc["+ linear α decay"]
adam = by_change.loc["+ linear α decay, Adam"]
Markdown(
    f"Here, with the same schedule, Adam ends at {adam['dev accuracy']:.1%} dev accuracy "
    f"against {sgd['dev accuracy']:.1%} for plain SGD, and takes "
    f"{adam['seconds'] / sgd['seconds']:.1f} times as long."
)

# %% [markdown]
# ### Shift augmentation

# %%
plain = by_change.loc["+ linear α decay"]
Markdown(
    f"Look at the train and dev accuracy of the mini-batch rows without shifts. After "
    f"{fast_config.epochs} passes over the same {n_train:,} training digits, the network "
    f"gets {plain['train accuracy']:.1%} of them right, but only {plain['dev accuracy']:.1%} "
    f"of the dev digits. It has started to memorise."
)

# %% [markdown]
# Shifting every digit by a random $-1$, $0$ or $+1$ pixel, horizontally and
# vertically, gives the network slightly different images on every pass, which are
# still correctly labelled. It can no longer memorise exact pixels and has to learn
# what a digit looks like wherever it sits. `pad_images` puts a border of zeros
# around every image, once; `shifted_rows` then cuts each digit back out of its
# padded image, moved by its own random offset:

# %%
print(inspect.getsource(pad_images))
print(inspect.getsource(shifted_rows))

# %% [markdown]
# The shifts do not start at once. Early in training there is nothing for them to
# prevent: the network is far from memorising, the plain, centred digits are the
# easiest version of the task, and learning them is what takes the network from
# guessing to a useful reader. Shifting would only make those first epochs harder
# and slower. So `minibatch_sgd` shifts only from epoch `shift_start` on (counted
# from 0), when the network has learned the plain digits and starts to fit them too
# closely; from then on the shifts work as a regulariser. Until then a run with
# shifts is the very same computation as one without, as the two curves below show.

# %%
shift_start = fast_config.shift_start
with_shifts = histories["+ linear α decay, shifts = fast()"]
without = histories["+ linear α decay"]
fig = Figure(figsize=(10, 4), layout="constrained")
ax_loss, ax_dev = fig.subplots(1, 2)
for label, frame in (("without shifts", without), ("with shifts, fast()", with_shifts)):
    ax_loss.plot(frame["epoch"], frame["loss"], label=label)
    ax_dev.plot(frame["epoch"], frame["dev_accuracy"], label=label)
for ax, title in ((ax_loss, "Training loss (on the digits as trained)"), (ax_dev, "Dev accuracy")):
    ax.axvline(shift_start, color="gray", linestyle=":")
    ax.set(title=title, xlabel="epoch")
    ax.grid(alpha=0.3)
ax_dev.set(ylim=(0.5, 1))
fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside right upper")
fig

# %%
before = with_shifts["epoch"] <= shift_start
same = np.array_equal(with_shifts.loc[before, "loss"], without.loc[before, "loss"])
after = with_shifts["epoch"] > shift_start
loss_before, loss_after = with_shifts.loc[before, "loss"].iloc[-1], with_shifts.loc[after, "loss"].iloc[0]
jump = (f"jumps from {loss_before:.2f} to {loss_after:.2f}: the shifted digits are harder"
        if loss_after > loss_before else f"goes from {loss_before:.2f} to {loss_after:.2f}")
Markdown(
    f"`TrainConfig.fast()` has `shift_start={shift_start}`: its first {shift_start} epochs see "
    f"the plain digits, and the shifts begin with epoch {shift_start + 1} of "
    f"{fast_config.epochs} (the dotted line). Up to there the two runs record "
    f"{'exactly the same' if same else 'different'} losses. When the shifts begin, the "
    f"training loss {jump}. By the end the run with shifts reads {with_shifts['dev_accuracy'].iloc[-1]:.1%} of the dev "
    f"digits right, against {without['dev_accuracy'].iloc[-1]:.1%} without."
)

# %% [markdown]
# Would it matter to shift from the very first epoch? One more run answers it:

# %%
early_params, early_history = nnfs.train(
    X_train, Y_train, fast_config.replace(shift_start=0), X_dev, Y_dev)
fast_row = by_change.loc["+ linear α decay, shifts = fast()"]
early_accuracy = early_history.final_dev_accuracy
gap = abs(early_accuracy - fast_row["dev accuracy"])
shift_gain = fast_row["dev accuracy"] - by_change.loc["+ linear α decay", "dev accuracy"]
if gap < 2 * standard_error:
    verdict = ("less than two standard errors of the dev set, so no real difference. Waiting "
               "for the plain digits to be learned first saves time early in the run; it does "
               "not change where the run ends")
else:
    verdict = "more than two standard errors of the dev set, so the start does matter here"
Markdown(
    f"Shifting from the first epoch ends at {early_accuracy:.1%} dev accuracy, against "
    f"{fast_row['dev accuracy']:.1%} for `shift_start={shift_start}`: a gap of "
    f"{100 * gap:.1f} percentage points, {verdict}. For comparison, having the shifts at all "
    f"changed the dev accuracy by {100 * shift_gain:+.1f} points."
)

# %% [markdown]
# The price of the shifts is time: in every epoch from `shift_start` on,
# `shifted_rows` builds a moved copy of all the training digits.

# %%
no_shift_row = by_change.loc["+ linear α decay"]
ratio = fast_row["seconds"] / no_shift_row["seconds"]
Markdown(
    f"In the table, the fast defaults trained for {fast_row['seconds']:.2f} seconds, against "
    f"{no_shift_row['seconds']:.2f} for the same run without shifts: {ratio:.1f} times as long."
    + (" With 10 hidden units a training step is so cheap that moving the digits is a large "
       "share of the work." if ratio > 1.3 else "")
)

# %% [markdown]
# ### A wider hidden layer
#
# Ten hidden units mean ten templates to tell ten digits apart (see the
# [Results](../results/) page). With 128 units the network can learn many more
# stroke detectors and combine them. Each step costs more, since $W^{[1]}$ is now
# $128 \times 784$.

# %%
wide, narrow = by_change.loc["128 hidden"], by_change.loc["+ linear α decay"]
original_seconds = table["seconds"].iloc[0]
if wide["speed-up"] >= 2:
    verdict = (f"Mini-batches still keep the run short: {wide['seconds']:.2f} s against the "
               f"original's {original_seconds:.2f} s, {wide['speed-up']:.1f} times faster.")
elif wide["speed-up"] >= 1:
    verdict = (f"That cost eats most of what mini-batches save: {wide['seconds']:.2f} s against the "
               f"original's {original_seconds:.2f} s, only {wide['speed-up']:.1f} times faster.")
else:
    verdict = (f"That cost outweighs what mini-batches save: {wide['seconds']:.2f} s against the "
               f"original's {original_seconds:.2f} s, {1 / wide['speed-up']:.1f} times as long.")
Markdown(
    f"The 128-unit run without shifts trained for {wide['seconds'] / narrow['seconds']:.1f} times "
    f"as long as the same run with 10 units. {verdict}"
)

# %% [markdown]
# A wider network also
# memorises more easily: without shifts it gets nearly every training digit right.
# Shifts rein that in for the wide network just as they do for the narrow one.
#
# ## Summary

# %%
def compared_with_original(row):
    """'3.5 times faster than' or '1.7 times as long as' the original, from the speed-up column."""
    if row["speed-up"] >= 1:
        return f"{row['speed-up']:.1f} times faster than the original"
    return f"{1 / row['speed-up']:.1f} times as long as the original"


best = table.sort_values("dev accuracy", ascending=False).iloc[0]
fast = by_change.loc["+ linear α decay, shifts = fast()"]
Markdown(
    f"The fast defaults reach {fast['dev accuracy']:.1%} dev accuracy, against "
    f"{dev['original']:.1%} for the original, and train {compared_with_original(fast)}. "
    f"The best row is “{best['change']}”: {best['dev accuracy']:.1%} dev accuracy in "
    f"{best['seconds']:.2f} seconds of training, {compared_with_original(best)}."
)

# %% [markdown]
# ## The same network in scikit-learn
#
# A reader who wants this network without writing it would reach for a library.
# scikit-learn's `MLPClassifier` trains exactly this one: a hidden layer of ReLU
# units, a softmax output, cross-entropy, mini-batches. The row *scikit-learn
# MLPClassifier* in the table above trained it on the same split, with 10 hidden
# units, batches of 32 and as many epochs as `TrainConfig.fast()`, and left
# everything else at the library's defaults, as a new user would. It takes one
# example per row, so it gets `X_train.T`. Its weights fit straight into our
# layout (transposed, as its `coefs_[0]` is $784 \times 10$), and our `predict`
# then reads the dev digits exactly as scikit-learn's does:

# %%
sk_params = trained["scikit-learn MLPClassifier"]
sk_dev = sk_model.predict(np.ascontiguousarray(X_dev.T))
agree = int(np.sum(nnfs.predict(sk_params, X_dev) == sk_dev))
print(f"nnfs.predict with scikit-learn's weights agrees with sk_model.predict "
      f"on {agree:,} of {Y_dev.size:,} dev digits")

# %% [markdown]
# Same network, then, but not the same training. What the library does differently
# from `TrainConfig.fast()`, read from the model the build just trained:

# %%
sk = sk_model.get_params()
stopped = sk_model.n_iter_ < sk["max_iter"]
dtype_sentence = (
    f"It computes in the dtype it is given, float64 unless told otherwise: here our float32 "
    f"digits, so its weights are {sk_model.coefs_[0].dtype} like ours; fed integers or float64 "
    f"it would work in float64, with twice the memory traffic.")
paragraph = (
    f"It adds an L2 penalty to the loss by default, `alpha={sk['alpha']:g}` times the sum of the "
    f"squared weights, which pulls every weight a little towards 0 at every step; "
    f"`TrainConfig` has no penalty and regularises with shifted digits instead. "
    f"It stops by itself once the training loss has improved by less than `tol={sk['tol']:g}` "
    f"for more than {sk['n_iter_no_change']} epochs in a row, or, with `early_stopping=True` (off by "
    f"default), when the accuracy on {sk['validation_fraction']:.0%} of the training digits that it "
    f"holds out stops improving. Here it "
    + (f"stopped after {sk_model.n_iter_} epochs. " if stopped else
       f"ran all {sk_model.n_iter_} epochs, its `max_iter`. ")
    + f"Its default solver is Adam with a constant α = {sk['learning_rate_init']:g} and "
    f"β₁ = {sk['beta_1']:g}, β₂ = {sk['beta_2']:g}, ε = {sk['epsilon']:g}, the values of "
    f"Adam's paper, where our fast defaults take plain SGD steps with α falling linearly "
    f"from {fast_config.learning_rate:g} to 0. It starts from Glorot's uniform weights rather "
    f"than He's normal ones, and it shuffles the digits every epoch as we do. "
    + dtype_sentence
)
Markdown(paragraph)

# %%
sk_row = by_change.loc["scikit-learn MLPClassifier"]
fast_row = by_change.loc["+ linear α decay, shifts = fast()"]
points = 100 * (fast_row["dev accuracy"] - sk_row["dev accuracy"])
time_ratio = sk_row["seconds"] / fast_row["seconds"]
if abs(points) < 2 * 100 * standard_error:
    accuracy_words = (f"{abs(points):.1f} points {'more' if points > 0 else 'fewer'} than scikit-learn: "
                      f"within two standard errors of the dev set, so no real difference")
else:
    accuracy_words = (f"{abs(points):.1f} points {'more' if points > 0 else 'fewer'} than scikit-learn, "
                      f"more than two standard errors of the dev set")
speed_words = (f"{time_ratio:.1f} times faster" if time_ratio >= 1
               else f"{1 / time_ratio:.1f} times slower")
fast_epochs = histories["+ linear α decay, shifts = fast()"]["epoch"].iloc[-1]
epoch_words = ("for the same number of epochs" if fast_epochs == sk_model.n_iter_
               else f"over {fast_epochs:g} epochs against scikit-learn's {sk_model.n_iter_}")
Markdown(
    f"On this build, scikit-learn read {sk_row['dev accuracy']:.1%} of the dev digits right "
    f"after {sk_row['seconds']:.2f} seconds of training. The fast defaults read "
    f"{fast_row['dev accuracy']:.1%} right, {accuracy_words}, and trained {speed_words} "
    f"({fast_row['seconds']:.2f} seconds) {epoch_words}. One seed and one "
    f"build say little about speed; `bench/peers.py` repeats both over five seeds, gives "
    f"scikit-learn a sweep of solvers and step sizes, and writes the result into the "
    f"README's performance section."
)

# %% [markdown]
# ## On the official test set
#
# Everything above is measured on our 1,000 dev digits. MNIST also has an official
# test set of 10,000 digits, written by other people than its training digits. A
# build on full MNIST (`NNFS_DATASET=mnist`, as the hosted site is built) downloads it
# with the training set and verifies its md5. A build on the sample never downloads
# anything, so there the next cell uses the test set only if a copy is already on this
# machine: `load_mnist_part("test", download=False)` looks in the folder named by the
# environment variable `NNFS_DATA_DIR`, or else in `~/.cache/nnfs`. If the test set is
# there, the cell measures every network of the table, as trained above, on those
# 10,000 digits.

# %%
try:
    X_test, Y_test = load_mnist_part("test", download=dataset.name == "mnist")  # else only a copy on disk
except FileNotFoundError:
    X_test = Y_test = None

if X_test is None:
    display(Markdown(
        "The official MNIST test set is not on the machine that built this page, so there "
        "is no test-set table here. To get one, put MNIST's IDX files (the test half is "
        "enough: `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`) in a folder "
        "named by `NNFS_DATA_DIR`, or run `nnfs.data.load_mnist()` once while online, which "
        "downloads all four to `~/.cache/nnfs`; then rebuild the site. Notebook outputs are cached, so "
        "delete `.cache/mkdocs-jupyter` first if this page was already built."
    ))
else:
    test_table = pd.DataFrame({
        "change": table["change"],
        "dev accuracy": table["dev accuracy"],
        "test accuracy": [nnfs.accuracy(nnfs.predict(trained[change], X_test), Y_test)
                          for change in table["change"]],
    })
    unseen = dataset.name in ("sample", "mnist")            # both are MNIST training digits
    note = "" if unseen else (
        " This build trained on a Kaggle-style CSV. Kaggle's digits are taken from all of "
        "MNIST, test set included, so some test digits may have been training digits here, "
        "and the test accuracies may be too high.")
    display(Markdown(
        f"The networks of the table, trained on {dataset.description}, measured on the "
        f"{Y_test.size:,} digits of MNIST's official test set:" + note))
    display(test_table.style.format({"dev accuracy": "{:.1%}", "test accuracy": "{:.1%}"})
            .hide(axis="index"))
    top = test_table.loc[test_table["test accuracy"].idxmax()]
    display(Markdown(
        f"The best, “{top['change']}”, reads {top['test accuracy']:.1%} of the official test "
        f"digits right" + (": digits written by people whose handwriting it has never seen."
                           if unseen else ".")))

# %% [markdown]
# For reference only: while planning this project, with earlier settings of the
# fast trainer and trained on the 5,000-digit sample, the fast trainer measured
# about 90.5% on the official test set with 10 hidden units and no shifts, about
# 92% with shifts, about 94.6% with 128 hidden units and no shifts, and about 97%
# with 128 hidden units and shifts. Those figures were not computed by this build
# and may differ from what the cell above prints when the test set is available.
