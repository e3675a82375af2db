"""What the teaching pages rely on: the bare loop is the trainer, and the figure helpers."""

import matplotlib

matplotlib.use("Agg")  # no display, whatever the environment says

import base64

import numpy as np
import pytest
from matplotlib.figure import Figure

import nnfs
from nnfs.data import load_sample, train_dev_split
from nnfs.plots import figure_html, plot_descent, plot_histograms, plot_softmax, plot_update_ratios
from nnfs.train import descend


def test_bare_loop_gives_the_trainers_weights_bit_for_bit():
    """The Training page says `descend` is `gradient_descent` without the bookkeeping."""
    X, Y = load_sample()
    X_train, Y_train, _, _ = train_dev_split(X, Y, dev_size=1000, rng=np.random.default_rng(0))
    config = nnfs.TrainConfig(iterations=20)
    expected, _ = nnfs.gradient_descent(X_train, Y_train, config)
    start = nnfs.init_params(784, config.n_hidden, 10, rng=np.random.default_rng(config.seed),
                             init=config.init, dtype=np.dtype(config.dtype))
    X32 = X_train.astype(config.dtype)
    got = descend(start, X32, Y_train, config.learning_rate, config.iterations)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    # one step at a time is the same again
    stepwise = start
    for _ in range(config.iterations):
        stepwise = descend(stepwise, X32, Y_train, config.learning_rate, 1)
    for name in expected:
        np.testing.assert_array_equal(stepwise[name], expected[name], err_msg=name)


def test_bare_loop_with_zero_iterations_returns_the_start():
    params = nnfs.init_params(rng=np.random.default_rng(0))
    assert descend(params, np.zeros((784, 3)), np.array([1, 2, 3]), 0.1, 0) is params


def test_figure_html_is_one_img_with_the_png_and_an_escaped_alt():
    fig = plot_softmax(np.array([0.1, 0.7, 0.2]))
    tag = figure_html(fig, alt='three bars, "1" highest & <tallest>')
    assert tag.startswith('<img alt="three bars, &quot;1&quot; highest &amp; &lt;tallest&gt;" src="data:image/png;base64,')
    assert tag.count("<") == 1 and tag.endswith('">')
    png = base64.b64decode(tag.split("base64,", 1)[1][:-2])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_html_refuses_an_empty_alt():
    with pytest.raises(ValueError, match="alt must describe"):
        figure_html(Figure(), alt="  ")


def test_plot_descent_draws_one_panel_per_path_and_the_tangent():
    loss = lambda w: (w - 1) ** 2  # noqa: E731
    paths = {"α = 0.1": [3.0, 2.6, 2.28], "α = 1.1": [3.0, -1.4, 3.88, -2.456]}
    fig = plot_descent(loss, paths, w_range=(-2, 4), slope_at=3.0, slope=4.0)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == list(paths)
    points = fig.axes[1].lines[1].get_xdata()
    assert list(points) == [3.0, -1.4, 3.88]                  # -2.456 is off the plot: not drawn
    assert any("slope dL/dw = 4" in line.get_label() for line in fig.axes[0].lines)
    with pytest.raises(ValueError, match="paths is empty"):
        plot_descent(loss, {}, w_range=(0, 1))


def test_plot_histograms_counts_zeros_and_checks_labels():
    start = {"A1": np.array([0.0, 0.0, 1.0, 2.0])}
    end = {"A1": np.array([0.0, 3.0, 1.0, 2.0])}
    fig = plot_histograms(start, end, title="t", xlabel="a", log=True)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["start (2 zeros)", "end (1 zeros)"]
    with pytest.raises(ValueError, match="same, non-empty labels"):
        plot_histograms(start, {"A2": end["A1"]}, title="t", xlabel="a")


def test_plot_update_ratios_is_log_scale_with_a_guide():
    steps = np.arange(1, 6)
    fig = plot_update_ratios(steps, {"W1": np.full(5, 1e-4), "W2": np.full(5, 1e-2)})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3
    with pytest.raises(ValueError, match="shape"):
        plot_update_ratios(steps, {"W1": np.ones(4)})
