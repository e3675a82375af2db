"""The playground computes what `nnfs` computes: real strokes in a real Chromium, checked against NumPy.

Strokes are drawn with the mouse (and one with a finger) on the page's drawing pad. The
page's 28x28 input must equal nnfs.image.mnist_style of the pad's own pixels, and its
hidden activations and probabilities must equal nnfs.forward with the weights of the
published generated/model.json, all to 1e-6.
"""

import base64
import json
import math

import numpy as np
import pytest
from browser import PHONE, browser, chromium_available, open_ready, screenshot, server  # noqa: F401

import nnfs
from nnfs.image import mnist_style

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOL = 1e-6
PAD = "[data-nnfs=pad]"


# ---- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_dir(server):  # noqa: F811
    """The built site being served."""
    return server.directory


@pytest.fixture(scope="module")
def params(site_dir):
    """The published model.json as float64 arrays shaped as nnfs uses them."""
    doc = json.loads((site_dir / "generated" / "model.json").read_text())
    h = doc["layers"][1]
    return {"W1": np.array(doc["W1"], np.float64).reshape(h, 784), "b1": np.array(doc["b1"], np.float64).reshape(h, 1),
            "W2": np.array(doc["W2"], np.float64).reshape(10, h), "b2": np.array(doc["b2"], np.float64).reshape(10, 1)}


@pytest.fixture(scope="module")
def dev_digits(site_dir):
    return json.loads((site_dir / "generated" / "dev-digits.json").read_text())


@pytest.fixture(scope="module")
def session(browser, server):  # noqa: F811
    """One desktop context with the playground open and loaded."""
    context, page, watch = open_ready(browser, server, "playground/", "window.nnfsPlayground")
    yield page, watch
    context.close()


@pytest.fixture
def page(session):
    """The playground, cleared; fails the test if the page logged an error or reached another host."""
    page, watch = session
    button(page, "Clear").click()
    yield page
    watch.assert_clean("the playground page")


def button(page, name):
    return page.locator("#nnfs-playground").get_by_role("button", name=name, exact=True)


# ---- drawing -----------------------------------------------------------------------------


def draw(page, strokes, steps=3):
    """Draw strokes, each a list of (x, y) in the pad's 280 x 280 pixels, with the mouse."""
    to_page = _pad_to_page(page)
    for stroke in strokes:
        page.mouse.move(*to_page(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*to_page(point), steps=steps)
        page.mouse.up()


def _pad_to_page(page):
    """Map pad pixels to page coordinates, inside the canvas border, whatever its CSS size."""
    pad = page.locator(PAD)
    pad.scroll_into_view_if_needed()
    box = page.evaluate("""(sel) => { const c = document.querySelector(sel), r = c.getBoundingClientRect();
        return {x: r.left + c.clientLeft, y: r.top + c.clientTop, w: c.clientWidth, h: c.clientHeight,
                W: c.width, H: c.height}; }""", PAD)
    return lambda p: (box["x"] + p[0] * box["w"] / box["W"], box["y"] + p[1] * box["h"] / box["H"])


def ellipse(cx, cy, rx, ry, n=36, start=-math.pi / 2, turns=1.08):
    return [(cx + rx * math.cos(start + 2 * math.pi * turns * k / n), cy + ry * math.sin(start + 2 * math.pi * turns * k / n))
            for k in range(n + 1)]


SHAPES = {
    "seven": [[(70, 50), (210, 50), (120, 240)]],
    "seven-two-strokes": [[(70, 50), (210, 50)], [(210, 50), (120, 240)]],
    "small-off-centre": [[(20, 20), (60, 20), (20, 80), (60, 80)]],      # scaled up by mnist_style
    "wide-flat": [[(10, 150), (270, 140)]],                             # the longer side is the width
    "touches-the-edges": [[(0, 0), (279, 279)], [(279, 0), (0, 279)]],  # ink on every border
    "dot": [[(140, 140)]],                                              # a single tap: a round blob
    "zero": [ellipse(140, 140, 60, 95)],
}


def pad_gray(page):
    """The pad's pixels read straight from the canvas -> (H, W) gray in [0, 1] (ITU-R 601 luma, like Pillow's L)."""
    raw = page.evaluate("""(sel) => { const c = document.querySelector(sel);
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let bytes = '';
        for (let i = 0; i < data.length; i += 8192) bytes += String.fromCharCode.apply(null, data.subarray(i, i + 8192));
        return {w: c.width, h: c.height, rgba: btoa(bytes)}; }""", PAD)  # base64: a big array is slow to pass
    rgba = np.frombuffer(base64.b64decode(raw["rgba"]), np.uint8).astype(np.float64).reshape(raw["h"], raw["w"], 4)
    assert (rgba[..., 3] == 255).all(), "the pad must be opaque"
    return (0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2]) / 255


def page_state(page):
    return page.evaluate("""() => { const p = window.nnfsPlayground;
        return {input: p.input(), probabilities: p.probabilities(), hidden: p.hidden(), prediction: p.prediction(),
                source: p.source(), dev: p.devDigit(),
                shown: document.querySelector('[data-nnfs=prediction]').textContent,
                label: document.querySelector('[data-nnfs=true-label]').textContent,
                bars: [...document.querySelectorAll('[data-nnfs=probabilities] li')].map(li => li.innerText.replace(/\\s+/g, ' ').trim()),
                units: [...document.querySelectorAll('[data-nnfs=hidden] .nnfs-unit-value')].map(e => e.textContent)}; }""")


def assert_matches_numpy(state, params, x):
    """The page's activations and probabilities are nnfs.forward on x (784,), to 1e-6."""
    cache = nnfs.forward(params, np.asarray(x, np.float64).reshape(784, 1))
    np.testing.assert_allclose(state["hidden"], cache["A1"][:, 0], rtol=0, atol=TOL)
    np.testing.assert_allclose(state["probabilities"], cache["A2"][:, 0], rtol=0, atol=TOL)
    assert state["prediction"] == int(cache["A2"][:, 0].argmax())
    assert state["shown"] == str(state["prediction"])
    # every bar shows its probability as text, and every hidden unit its activation
    assert state["bars"] == [f"{d} {100 * p:.1f}%" for d, p in enumerate(state["probabilities"])]
    assert state["units"] == [f"{a:.2f}" for a in state["hidden"]]


# ---- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_drawing_is_mnist_style_then_forward(page, params, shape):
    draw(page, SHAPES[shape])
    state = page_state(page)
    assert state["source"] == "drawing"
    assert page.evaluate("window.nnfsPlayground.strokes()") >= len(SHAPES[shape])

    expected = mnist_style(pad_gray(page)).ravel()                     # NumPy on the canvas's own pixels
    assert len(state["input"]) == 784
    np.testing.assert_allclose(state["input"], expected, rtol=0, atol=TOL)
    assert_matches_numpy(state, params, state["input"])


def _random_images():
    """Gray images unlike any drawing: odd sizes, tall and flat, faint ink near the threshold."""
    rng = np.random.default_rng(0)
    blob = np.zeros((60, 90))
    blob[10:50, 30:45] = rng.random((40, 15))
    faint = np.where(rng.random((40, 40)) < 0.05, 0.1 + 1e-3 * rng.random((40, 40)), 0.05)
    return {"noise": rng.random((37, 53)) ** 4, "blob": blob, "tall": rng.random((300, 7)),
            "flat": rng.random((3, 250)), "faint": faint, "one-pixel": np.pad([[0.7]], 5)}


@pytest.mark.parametrize("name", _random_images())
def test_js_mnist_style_mirrors_numpy(page, name):
    """The page's mnistStyle on arbitrary gray images equals nnfs.image.mnist_style."""
    gray = _random_images()[name]
    got = page.evaluate("([g, h, w]) => window.nnfsPlayground.mnistStyle(g, h, w)", [gray.ravel().tolist(), *gray.shape])
    np.testing.assert_allclose(got, mnist_style(gray).ravel(), rtol=0, atol=TOL)


def test_js_mnist_style_without_ink(page):
    """No pixel above the threshold: NumPy raises, and the page has no input to show."""
    gray = np.full((20, 20), 0.1)
    with pytest.raises(ValueError, match="no ink"):
        mnist_style(gray)
    assert page.evaluate("([g, h, w]) => window.nnfsPlayground.mnistStyle(g, h, w)", [gray.ravel().tolist(), 20, 20]) is None


def test_one_and_zero_are_read_right(page):
    draw(page, [[(146, 40), (134, 240)]])                              # a "1": one thick, slightly slanted stroke
    assert page_state(page)["prediction"] == 1
    screenshot(page, "playground-drawn-1")

    button(page, "Clear").click()
    draw(page, SHAPES["zero"])                                         # a "0": an oval loop, closed
    state = page_state(page)
    assert state["prediction"] == 0, state["probabilities"]
    screenshot(page, "playground-drawn-0")


def test_every_dev_digit_matches_numpy(page, params, dev_digits):
    """loadDevDigit(i) for all the published dev digits: pixels / 255 as they are, then forward."""
    got = page.evaluate("""(n) => { const p = window.nnfsPlayground, out = [];
        for (let i = 0; i < n; i++) { const r = p.loadDevDigit(i); out.push([r.prediction, r.label, p.probabilities(), p.input()]); }
        return out; }""", len(dev_digits["labels"]))
    X = np.array(dev_digits["pixels"], np.float64).T / 255                # (784, n)
    np.testing.assert_allclose(np.array([g[3] for g in got]).T, X, rtol=0, atol=0)
    probs = nnfs.forward(params, X)["A2"]                                  # (10, n)
    np.testing.assert_allclose(np.array([g[2] for g in got]).T, probs, rtol=0, atol=TOL)
    assert [g[0] for g in got] == nnfs.predict(params, X).tolist()
    assert [g[1] for g in got] == dev_digits["labels"]
    # the build's own NumPy predictions (float32 weights) agree with the page's float64 pass
    assert [g[0] for g in got] == dev_digits["predictions"]


def test_random_dev_digit_button(page, params, dev_digits):
    button(page, "Random dev digit").click()
    state = page_state(page)
    assert state["source"] == "dev"
    i, label = state["dev"]["index"], state["dev"]["label"]
    x = np.array(dev_digits["pixels"][i], np.float64) / 255
    np.testing.assert_array_equal(state["input"], x)
    assert_matches_numpy(state, params, x)
    assert state["prediction"] == int(nnfs.predict(params, x.reshape(784, 1))[0])
    assert label == dev_digits["labels"][i]
    assert state["label"] == str(label)                                    # the true label is shown
    assert f"true label is {label}" in page.locator("[data-nnfs=status]").inner_text()
    screenshot(page, "playground-dev-digit")

    draw(page, SHAPES["seven"])                                            # drawing replaces the dev digit
    state = page_state(page)
    assert state["source"] == "drawing" and state["dev"] is None and state["label"] == "–"
    np.testing.assert_allclose(state["input"], mnist_style(pad_gray(page)).ravel(), rtol=0, atol=TOL)


def test_clear_empties_everything(page):
    draw(page, SHAPES["seven"])
    button(page, "Clear").click()
    state = page_state(page)
    assert state["input"] is None and state["probabilities"] is None and state["prediction"] is None
    assert state["shown"] == "?"
    assert pad_gray(page).max() == 0


def test_page_states_the_build_accuracy(page, site_dir):
    results = json.loads((site_dir / "generated" / "results.json").read_text())
    text = page.locator("article").inner_text()
    assert f"{results['dev_accuracy']:.1%}" in text
    assert results["dataset"] in text
    model = json.loads((site_dir / "generated" / "model.json").read_text())
    assert model["metadata"]["dev_accuracy"] == results["dev_accuracy"]


def test_finger_drawing_on_a_phone(browser, server, params):  # noqa: F811
    """Touch input: pointer events from a touchscreen draw, and the page does not scroll instead."""
    context, page, watch = open_ready(browser, server, "playground/", "window.nnfsPlayground",
                                      viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        to_page = _pad_to_page(page)
        scroll = page.evaluate("window.scrollY")
        cdp = context.new_cdp_session(page)
        stroke = [to_page(p) for p in [(146, 40), (143, 90), (140, 140), (137, 190), (134, 240)]]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": stroke[0][0], "y": stroke[0][1]}]})
        for x, y in stroke[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_function("window.nnfsPlayground.strokes() === 1")
        assert page.evaluate("window.scrollY") == scroll
        state = page_state(page)
        np.testing.assert_allclose(state["input"], mnist_style(pad_gray(page)).ravel(), rtol=0, atol=TOL)
        assert_matches_numpy(state, params, state["input"])
        assert state["prediction"] == 1
        screenshot(page, "playground-touch-phone")
        watch.assert_clean("the playground on a phone")
    finally:
        context.close()
