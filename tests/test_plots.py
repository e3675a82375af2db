"""Figures: each function returns a Figure with the expected axes, images, bars and text."""

import matplotlib

matplotlib.use("Agg")  # no display, whatever the environment says

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from nnfs.network import relu
from nnfs.plots import (
    confusion_matrix,
    plot_activations,
    plot_confusion,
    plot_digits,
    plot_hidden_weights,
    plot_history,
    plot_softmax,
)


def images(fig):
    """Images drawn in the figure, axis by axis (colorbars hold none)."""
    return [im for ax in fig.axes for im in ax.get_images()]


# --- plot_digits ------------------------------------------------------------------

def test_plot_digits_titles_and_mistakes():
    X = np.random.default_rng(0).random((784, 7))  # (784, 7)
    Y = np.array([5, 0, 4, 1, 9, 2, 1])
    pred = np.array([5, 0, 4, 7, 9, 3, 1])         # wrong at columns 3 and 5
    fig = plot_digits(X, Y, pred)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 7                      # 2 rows of 5, the 3 spare cells removed
    assert len(images(fig)) == 7
    for j, ax in enumerate(fig.axes):
        assert ax.get_title() == f"Prediction: {pred[j]}, Label: {Y[j]}"
        assert ax.title.get_color() == ("red" if j in (3, 5) else "black")
        image = ax.get_images()[0]
        assert image.get_array().shape == (28, 28)
        assert np.array_equal(image.get_array(), X[:, j].reshape(28, 28))  # column j, row-major
        assert image.get_cmap().name == "gray_r"
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 5)


def test_plot_digits_options():
    X = np.random.default_rng(1).random((784, 12))
    capped = plot_digits(X, ncols=4, nrows=2)       # first 8 of 12
    assert len(capped.axes) == 8
    assert all(ax.get_title() == "" for ax in capped.axes)  # no labels, no titles
    labels_only = plot_digits(X[:, :3], Y=[1, 2, 3])
    assert [ax.get_title() for ax in labels_only.axes] == ["Label: 1", "Label: 2", "Label: 3"]
    single = plot_digits(X[:, 0] * 255, pred=[8])   # one (784,) image in 0..255
    assert len(single.axes) == 1
    assert single.axes[0].get_title() == "Prediction: 8"
    assert single.axes[0].get_images()[0].get_clim() == (0.0, 255.0)


def test_plot_digits_rejects_row_layout():
    with pytest.raises(ValueError, match=r"\(784, n\).*\(7, 784\)"):
        plot_digits(np.zeros((7, 784)))
    with pytest.raises(ValueError, match="Y has 2 entries but X has 3 columns"):
        plot_digits(np.zeros((784, 3)), Y=[1, 2])


# --- plot_history -----------------------------------------------------------------

HISTORY = {
    "step": [0, 10, 20, 30, 40],
    "loss": [2.3, 1.5, 1.0, 0.8, 0.7],
    "train_accuracy": [0.10, 0.50, 0.70, 0.78, 0.82],
    "dev_accuracy": [0.11, np.nan, 0.69, np.nan, 0.80],  # evaluated every 20 steps
}


@pytest.mark.parametrize("as_frame", [False, True])
def test_plot_history(as_frame):
    fig = plot_history(pd.DataFrame(HISTORY) if as_frame else HISTORY)
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_title() == "Loss" and ax_acc.get_title() == "Accuracy"
    assert ax_loss.get_xlabel() == "step" and ax_acc.get_xlabel() == "step"
    assert len(ax_loss.get_lines()) == 1
    train, dev = ax_acc.get_lines()
    assert (train.get_label(), dev.get_label()) == ("train", "dev")
    assert list(train.get_xdata()) == [0, 10, 20, 30, 40]
    assert list(dev.get_xdata()) == [0, 20, 40]        # NaN steps skipped
    assert list(dev.get_ydata()) == [0.11, 0.69, 0.80]
    assert ax_acc.get_ylim() == (0, 1)


def test_plot_history_missing_column():
    with pytest.raises(ValueError, match="dev_accuracy"):
        plot_history({k: v for k, v in HISTORY.items() if k != "dev_accuracy"})


# --- confusion matrix ---------------------------------------------------------------

def test_confusion_matrix_by_hand():
    # Six examples, three classes:
    #   k       0  1  2  3  4  5
    #   true    0  0  1  2  2  2
    #   pred    0  1  1  2  0  2
    # Pairs (true, pred): (0,0) (0,1) (1,1) (2,2) (2,0) (2,2)
    # Row 0 (true 0): one predicted 0, one predicted 1       -> [1, 1, 0]
    # Row 1 (true 1): one predicted 1                         -> [0, 1, 0]
    # Row 2 (true 2): one predicted 0, two predicted 2        -> [1, 0, 2]
    # Diagonal 1 + 1 + 2 = 4 correct of 6.
    C = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    assert C.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert np.issubdtype(C.dtype, np.integer)


def test_confusion_matrix_counts_repeats_and_totals():
    rng = np.random.default_rng(2)
    Y_true = rng.integers(0, 10, 500)
    Y_pred = np.where(rng.random(500) < 0.8, Y_true, rng.integers(0, 10, 500))
    C = confusion_matrix(Y_true, Y_pred)
    assert C.shape == (10, 10)
    assert C.sum() == 500
    assert np.trace(C) == np.sum(Y_true == Y_pred)
    assert np.array_equal(C.sum(axis=1), np.bincount(Y_true, minlength=10))  # rows are true labels
    assert np.array_equal(C.sum(axis=0), np.bincount(Y_pred, minlength=10))  # columns predictions


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ValueError, match="3 labels but Y_pred has 2"):
        confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"Y_pred must hold integers 0\.\.9"):
        confusion_matrix([0, 1], [0, 10])


def test_plot_confusion():
    Y_true = [0, 0, 1, 2, 2, 2]
    Y_pred = [0, 1, 1, 2, 0, 2]
    fig = plot_confusion(Y_true, Y_pred, n_classes=3)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.get_images()) == 1
    assert np.array_equal(ax.get_images()[0].get_array(), [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    cells = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in ax.texts}  # (row, col)
    assert len(cells) == 9
    assert cells[(2, 2)] == "2" and cells[(2, 0)] == "1" and cells[(1, 0)] == "0"
    assert ax.get_ylabel() == "true digit" and ax.get_xlabel() == "predicted digit"
    assert "4 of 6 correct" in ax.get_title()


def test_plot_confusion_ten_classes_has_a_count_in_every_cell():
    fig = plot_confusion(np.arange(10), (np.arange(10) + 1) % 10)
    assert len(fig.axes[0].texts) == 100
    assert "0 of 10 correct" in fig.axes[0].get_title()


# --- hidden weights, softmax, activations --------------------------------------------

@pytest.mark.parametrize("h", [10, 128])
def test_plot_hidden_weights(h):
    W1 = np.random.default_rng(3).standard_normal((h, 784)) * 0.05
    W1[1, 0] = 0.9                                  # the largest magnitude sets both limits
    fig = plot_hidden_weights(W1)
    assert isinstance(fig, Figure)
    ims = images(fig)
    assert len(ims) == h                            # every unit, none capped
    assert len(fig.axes) == h + 1                   # plus one shared colorbar
    assert all(im.get_clim() == (-0.9, 0.9) for im in ims)  # symmetric: 0 is the middle colour
    assert np.array_equal(ims[1].get_array(), W1[1].reshape(28, 28))
    assert ims[0].get_cmap().name == "RdBu_r"


def test_plot_hidden_weights_grid_is_near_square():
    fig = plot_hidden_weights(np.ones((10, 784)))
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    assert (rows, cols) == (3, 4)                   # ceil(sqrt(10)) = 4 columns
    assert fig.axes[0].get_title() == "unit 0"
    with pytest.raises(ValueError, match=r"\(h, 784\)"):
        plot_hidden_weights(np.ones((784, 10)))


def test_plot_softmax():
    probs = np.array([0.01, 0.02, 0.05, 0.7, 0.02, 0.1, 0.03, 0.03, 0.02, 0.02])[:, None]  # (10, 1)
    fig = plot_softmax(probs)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.patches) == 10
    assert [round(bar.get_height(), 6) for bar in ax.patches] == probs.ravel().tolist()
    assert [t.get_text() for t in ax.texts] == [f"{p:.2f}" for p in probs.ravel()]
    assert ax.get_ylim() == (0, 1)
    assert "predicts 3" in ax.get_title()
    labelled = plot_softmax([0.25, 0.75], labels=["cat", "dog"], title="Two classes")
    assert labelled.axes[0].get_title() == "Two classes"
    assert [t.get_text() for t in labelled.axes[0].get_xticklabels()] == ["cat", "dog"]


def test_plot_activations():
    fig = plot_activations()
    assert isinstance(fig, Figure)
    ax_relu, ax_sigmoid = fig.axes
    assert (ax_relu.get_title(), ax_sigmoid.get_title()) == ("ReLU", "Sigmoid")
    (relu_line, relu_slope), (sig_line, sig_slope) = ax_relu.get_lines(), ax_sigmoid.get_lines()
    z = relu_line.get_xdata()
    assert z.min() == -4 and z.max() == 4
    assert np.array_equal(relu_line.get_ydata(), relu(z))
    slope = relu_slope.get_ydata()
    assert set(slope[np.isfinite(slope)]) == {0.0, 1.0}
    assert np.isclose(sig_line.get_ydata()[z == 0][0], 0.5)
    assert np.isclose(np.nanmax(sig_slope.get_ydata()), 0.25)  # σ' peaks at z = 0


def test_figures_render_to_png(tmp_path):
    X = np.random.default_rng(5).random((784, 3))
    figures = [
        plot_digits(X, [1, 2, 3], [1, 2, 4]),
        plot_history(HISTORY),
        plot_confusion([0, 1, 2], [0, 1, 1]),
        plot_hidden_weights(np.random.default_rng(6).standard_normal((10, 784))),
        plot_softmax(np.full(10, 0.1)),
        plot_activations(),
    ]
    for i, fig in enumerate(figures):
        out = tmp_path / f"fig{i}.png"
        fig.savefig(out, dpi=50)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_axes_are_hidden_and_draw_the_same_pixels_as_empty_ticks():
    """_grid hides each digit's x and y axis (faster to lay out); the picture is the one
    that empty ticks gave: the frame, red for mistakes, and no tick marks."""
    import io

    X = np.random.default_rng(0).random((784, 6))
    Y, pred = np.array([0, 1, 2, 3, 4, 5]), np.array([0, 1, 7, 3, 4, 9])

    def png(fig):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=50, bbox_inches="tight")
        return buffer.getvalue()

    fig = plot_digits(X, Y, pred, ncols=3)
    assert all(not ax.xaxis.get_visible() and not ax.yaxis.get_visible() for ax in fig.axes)
    ticks = plot_digits(X, Y, pred, ncols=3)
    for ax in ticks.axes:
        ax.xaxis.set_visible(True), ax.yaxis.set_visible(True)
        ax.set_xticks([]), ax.set_yticks([])
    assert png(fig) == png(ticks)
