"""Figures for the pages and notebooks: digits, training curves, confusion, weights.

Every function returns a :class:`matplotlib.figure.Figure` built directly, not
through ``pyplot``: no global figure list, no backend needed, nothing is shown.
Save one with ``fig.savefig("x.png")``; in Jupyter a returned Figure displays itself.

Column layout as everywhere: images are columns of ``X`` (784, n), 28 x 28
pixels in row-major order, 0 = background.

Pages that draw inline put a Figure on the page with :func:`figure_html`, the one
place that turns a Figure into HTML, so no page shows that plumbing.

Snippet sections: ``imports``, ``grid``, then one per function. ``plot_digits``
and ``plot_hidden_weights`` call ``_grid``, and ``plot_confusion`` calls
``confusion_matrix``: stack those sections before them for runnable code.
"""

# --8<-- [start:imports]
import base64
import html
import io
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nnfs.network import relu, relu_grad
# --8<-- [end:imports]


# --8<-- [start:grid]
def _grid(n, ncols, nrows=None, *, cell=(1.6, 1.8), max_width=14.0):
    """A Figure with n image axes in rows of ``ncols``; unused cells are removed.

    Returns ``(fig, axes)`` with ``axes`` a flat list of length
    ``min(n, nrows * ncols)``, each without its x and y axis (no ticks; the frame
    stays). A hidden axis is skipped by the layout too: a quarter less drawing time
    than empty ticks, for the same pixels.
    """
    ncols = max(1, min(ncols, n)) if nrows is None else max(1, ncols)
    nrows = max(1, math.ceil(n / ncols)) if nrows is None else max(1, nrows)
    scale = min(1.0, max_width / (cell[0] * ncols))  # wide grids shrink to fit a page
    fig = Figure(figsize=(cell[0] * ncols * scale, cell[1] * nrows * scale), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    axes = axes[:n]
    for ax in axes:
        ax.xaxis.set_visible(False)
        ax.yaxis.set_visible(False)
    return fig, axes
# --8<-- [end:grid]


# --8<-- [start:plot_digits]
def plot_digits(X, Y=None, pred=None, *, ncols=5, nrows=None):
    """Show the columns of X (784, n) as 28 x 28 digits in a grid.

    Drawn with ``cmap="gray_r"``: 0 is background (white) and larger values
    are darker ink, for pixels scaled to [0, 1] or [0, 255] alike. With labels
    ``Y`` (n,) and/or predictions ``pred`` (n,), each digit gets a title such
    as "Prediction: 5, Label: 3"; mistakes are titled and framed in red.

    The grid has ``ncols`` columns; ``nrows=None`` makes room for every column
    of X, a number caps the grid (and shows the first ``nrows * ncols`` digits).
    """
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]  # one image -> (784, 1)
    if X.ndim != 2 or X.shape[0] != 784:
        raise ValueError(f"X must be (784, n), one 28 x 28 image per column; got shape {X.shape}")
    n = X.shape[1]
    for name, v in (("Y", Y), ("pred", pred)):
        if v is not None and np.size(v) != n:
            raise ValueError(f"{name} has {np.size(v)} entries but X has {n} columns")
    if n == 0:
        raise ValueError("X has no columns: nothing to plot")

    fig, axes = _grid(n, ncols, nrows)
    vmax = 255.0 if X.max() > 1 else 1.0  # same ink scale for every digit
    for j, ax in enumerate(axes):
        ax.imshow(X[:, j].reshape(28, 28), cmap="gray_r", vmin=0.0, vmax=vmax)
        parts = []
        if pred is not None:
            parts.append(f"Prediction: {np.ravel(pred)[j]}")
        if Y is not None:
            parts.append(f"Label: {np.ravel(Y)[j]}")
        wrong = pred is not None and Y is not None and np.ravel(pred)[j] != np.ravel(Y)[j]
        if parts:
            ax.set_title(", ".join(parts), fontsize=8, color="red" if wrong else "black")
        if wrong:
            for spine in ax.spines.values():
                spine.set_color("red")
                spine.set_linewidth(2)
    return fig
# --8<-- [end:plot_digits]


# --8<-- [start:plot_history]
def plot_history(history):
    """Loss (left) and train/dev accuracy (right) against the training step.

    ``history`` is a DataFrame, or a dict of equal-length sequences, with
    columns ``step``, ``loss``, ``train_accuracy`` and ``dev_accuracy``
    (and optionally ``dev_loss``). Only finite points are drawn, so
    NaN marks steps where a quantity was not evaluated.
    """
    df = pd.DataFrame(history)
    missing = [c for c in ("step", "loss", "train_accuracy", "dev_accuracy") if c not in df.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}; it has {list(df.columns)}")

    def finite(column):
        x = df["step"].to_numpy(dtype=float)
        y = df[column].to_numpy(dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        return x[keep], y[keep]

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(*finite("loss"), label="train")
    if "dev_loss" in df.columns and np.isfinite(df["dev_loss"].to_numpy(dtype=float)).any():
        ax_loss.plot(*finite("dev_loss"), "o-", label="dev")
    ax_loss.set(title="Loss", xlabel="step", ylabel="cross-entropy loss")
    ax_loss.set_ylim(bottom=0)

    ax_acc.plot(*finite("train_accuracy"), label="train")
    if np.isfinite(df["dev_accuracy"].to_numpy(dtype=float)).any():
        ax_acc.plot(*finite("dev_accuracy"), "o-", label="dev")
    ax_acc.set(title="Accuracy", xlabel="step", ylabel="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig
# --8<-- [end:plot_history]


# --8<-- [start:confusion_matrix]
def confusion_matrix(Y_true, Y_pred, n_classes=10):
    """Counts C (n_classes, n_classes): C[i, j] = how many digits i were predicted j.

    True labels on rows, predictions on columns; the diagonal holds the hits.
    """
    Y_true = np.asarray(Y_true).ravel()
    Y_pred = np.asarray(Y_pred).ravel()
    if Y_true.shape != Y_pred.shape:
        raise ValueError(f"Y_true has {Y_true.size} labels but Y_pred has {Y_pred.size}")
    for name, Y in (("Y_true", Y_true), ("Y_pred", Y_pred)):
        if Y.size and (not np.issubdtype(Y.dtype, np.integer) or Y.min() < 0 or Y.max() >= n_classes):
            raise ValueError(f"{name} must hold integers 0..{n_classes - 1}")
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (Y_true, Y_pred), 1)  # C[Y_true[k], Y_pred[k]] += 1 for every k, repeats included
    return C
# --8<-- [end:confusion_matrix]


# --8<-- [start:plot_confusion]
def plot_confusion(Y_true, Y_pred, n_classes=10):
    """Heat map of :func:`confusion_matrix` with the count written in every cell."""
    C = confusion_matrix(Y_true, Y_pred, n_classes)
    total, hits = int(C.sum()), int(np.trace(C))
    fig = Figure(figsize=(6, 5.4), layout="constrained")
    ax = fig.subplots()
    ax.imshow(C, cmap="Blues", vmin=0)
    dark = C > C.max() / 2  # white text on dark cells
    for i in range(n_classes):
        for j in range(n_classes):
            ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if dark[i, j] else "black")
    ticks = np.arange(n_classes)
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted digit", ylabel="true digit")
    share = f" ({hits / total:.1%})" if total else ""
    ax.set_title(f"Confusion matrix: {hits} of {total} correct{share}")
    return fig
# --8<-- [end:plot_confusion]


# --8<-- [start:plot_hidden_weights]
def plot_hidden_weights(W1):
    """Each row of W1 (h, 784) as a 28 x 28 image: what hidden unit i looks for.

    A diverging colormap centred at 0 (shared symmetric limits): red pixels
    push the unit's Z1 up, blue pull it down, white ignore it. All h units
    are shown, in a near-square grid; units are titled when h <= 32.
    """
    W1 = np.asarray(W1)
    if W1.ndim != 2 or W1.shape[1] != 784 or W1.shape[0] == 0:
        raise ValueError(f"W1 must be (h, 784); got shape {W1.shape}")
    h = W1.shape[0]
    ncols = math.ceil(math.sqrt(h))
    fig, axes = _grid(h, ncols, cell=(1.3, 1.4))
    vmax = float(np.abs(W1).max()) or 1.0  # symmetric, so 0 is the middle colour
    for i, ax in enumerate(axes):
        image = ax.imshow(W1[i].reshape(28, 28), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        if h <= 32:
            ax.set_title(f"unit {i}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="weight")
    fig.suptitle(f"Hidden-layer weights W1 ({h} units)")
    return fig
# --8<-- [end:plot_hidden_weights]


# --8<-- [start:plot_softmax]
def plot_softmax(probs, labels=None, *, title=None):
    """Bar chart of one probability vector (k,), e.g. a column of A2, value on each bar.

    ``labels`` name the bars (default 0..k-1); the most likely bar is
    highlighted. ``title`` defaults to the prediction.
    """
    probs = np.asarray(probs, dtype=float).ravel()  # (10, 1) column -> (10,)
    k = probs.size
    if k == 0:
        raise ValueError("probs is empty")
    labels = [str(c) for c in (range(k) if labels is None else labels)]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} labels for {k} probabilities")
    best = int(np.argmax(probs))
    colors = ["tab:orange" if c == best else "tab:blue" for c in range(k)]
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(labels, probs, color=colors)
    ax.bar_label(bars, labels=[f"{p:.2f}" for p in probs], padding=2, fontsize=8)
    ax.set(ylim=(0, 1), xlabel="digit", ylabel="probability")
    ax.set_title(title if title is not None else f"Softmax output: predicts {labels[best]} ({probs[best]:.0%})",
                 pad=14)  # room for the value over a bar near 1
    return fig
# --8<-- [end:plot_softmax]


# --8<-- [start:plot_activations]
def plot_activations():
    """ReLU and sigmoid with their derivatives on [-4, 4], side by side."""
    z = np.linspace(-4, 4, 401)           # includes z = 0 exactly
    sigmoid = 1 / (1 + np.exp(-z))
    relu_slope = relu_grad(z)
    relu_slope[z == 0] = np.nan           # break the line at the jump: no fake vertical edge

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_relu, ax_sigmoid = fig.subplots(1, 2)
    ax_relu.plot(z, relu(z), label="ReLU(z) = max(0, z)")
    ax_relu.plot(z, relu_slope, "--", label="ReLU'(z) = 1 if z > 0 else 0")
    ax_relu.set_title("ReLU")
    ax_sigmoid.plot(z, sigmoid, label="σ(z) = 1 / (1 + e^(-z))")
    ax_sigmoid.plot(z, sigmoid * (1 - sigmoid), "--", label="σ'(z) = σ(z)(1 - σ(z))")
    ax_sigmoid.set_title("Sigmoid")
    for ax in (ax_relu, ax_sigmoid):
        ax.set(xlabel="z", ylabel="output", xlim=(-4, 4))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    return fig
# --8<-- [end:plot_activations]


# --8<-- [start:figure_html]
def figure_html(fig, alt, *, dpi=96):
    """The Figure as one ``<img>`` tag with the PNG inline, for an executed page block.

    ``alt`` describes the figure for readers who cannot see it; it must not be empty.
    """
    if not str(alt).strip():
        raise ValueError("alt must describe the figure; got an empty string")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(str(alt), quote=True)}" src="data:image/png;base64,{png}">'
# --8<-- [end:figure_html]


# --8<-- [start:plot_descent]
def plot_descent(loss, paths, *, w_range, slope_at=None, slope=None):
    """A 1-D loss curve L(w) and gradient-descent paths on it, one panel per path.

    ``loss`` maps an array of w to L(w). ``paths`` is {label: [w0, w1, ...]},
    e.g. {"α = 0.1": [...]}: each panel draws the curve, the points w_t on it,
    and an arrow from each point to the next. With ``slope_at`` and ``slope``
    (dL/dw there), the first panel also draws the tangent at w = slope_at.
    """
    if not paths:
        raise ValueError("paths is empty: give at least one {label: [w0, w1, ...]}")
    w = np.linspace(*w_range, 400)                     # (400,)
    fig = Figure(figsize=(3.6 * len(paths), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(paths), sharey=True))
    for ax, (label, ws) in zip(axes, paths.items()):
        ws = np.asarray(ws, dtype=float)
        inside = (ws >= w_range[0]) & (ws <= w_range[1])   # points off the plot are not drawn
        ax.plot(w, loss(w), color="tab:blue", label="L(w)")
        ax.plot(ws[inside], loss(ws[inside]), "o", color="tab:orange", markersize=4, label="w_t")
        for a, b in zip(ws[:-1], ws[1:]):
            if w_range[0] <= a <= w_range[1] and w_range[0] <= b <= w_range[1]:
                ax.annotate("", xy=(b, loss(b)), xytext=(a, loss(a)),
                            arrowprops={"arrowstyle": "->", "color": "tab:orange", "lw": 1})
        ax.set(title=label, xlabel="w", xlim=w_range)
        ax.grid(alpha=0.3)
    if slope_at is not None and slope is not None:
        near = np.linspace(slope_at - 0.25 * np.ptp(w_range), slope_at + 0.25 * np.ptp(w_range), 2)
        axes[0].plot(near, loss(slope_at) + slope * (near - slope_at), "--", color="tab:green",
                     label=f"slope dL/dw = {slope:g}")
    axes[0].set_ylabel("loss L(w)")
    axes[0].legend(loc="upper center", fontsize=8)
    return fig
# --8<-- [end:plot_descent]


# --8<-- [start:plot_histograms]
def plot_histograms(start, end, *, title, xlabel, bins=40, log=False):
    """Histograms of the same quantity at the start and at the end of training.

    ``start`` and ``end`` are {label: array}, e.g. {"W1": dW1, "W2": dW2}; each
    label gets one panel with both histograms. ``log=True`` bins log10 |values|
    (zeros are left out, and counted in the legend).
    """
    if set(start) != set(end) or not start:
        raise ValueError(f"start and end need the same, non-empty labels; got {list(start)} and {list(end)}")
    fig = Figure(figsize=(4.2 * len(start), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(start)))
    for ax, label in zip(axes, start):
        for when, values, color in (("start", start[label], "tab:blue"), ("end", end[label], "tab:orange")):
            values = np.asarray(values, dtype=float).ravel()
            zeros = int(np.sum(values == 0))
            if log:
                values = np.log10(np.abs(values[values != 0]))
            note = f" ({zeros:,} zeros)" if zeros else ""
            ax.hist(values, bins=bins, alpha=0.55, color=color, label=f"{when}{note}")
        ax.set(title=label, xlabel=f"log10 |{xlabel}|" if log else xlabel, ylabel="count")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
# --8<-- [end:plot_histograms]


# --8<-- [start:plot_update_ratios]
def plot_update_ratios(steps, ratios, *, guide=1e-3):
    """Update-to-weight ratio ||ΔW|| / ||W|| per layer against the step, log scale.

    ``ratios`` is {"W1": array (n_steps,), ...}; ``guide`` draws the common
    rule-of-thumb level as a dotted line.
    """
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    for label, r in ratios.items():
        r = np.asarray(r, dtype=float)
        if r.shape != np.shape(steps):
            raise ValueError(f"ratios[{label!r}] has shape {r.shape}, steps has {np.shape(steps)}")
        ax.plot(steps, r, label=label)
    ax.axhline(guide, color="gray", linestyle=":", label=f"rule of thumb {guide:g}")
    ax.set(yscale="log", xlabel="step", ylabel="||ΔW|| / ||W||", title="Update-to-weight ratio per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig
# --8<-- [end:plot_update_ratios]
