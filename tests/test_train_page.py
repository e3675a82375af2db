"""The "Train it yourself" page trains, in a real Chromium, exactly the network nnfs trains.

Equivalence: docs/assets/nn.js, as the site serves it, runs in the page from the build's
float64 initial weights and batch order (generated/train-fixture.json) on the build's
digits (generated/train-digits.bin.gz), and nnfs.forward / backward / update_params run
from the same weights and batches in Python. A copy of nn.js broken on purpose (one sign,
one transposed index, one wrong m) must fail the same comparisons.

Then the page itself: from its defaults, Play reaches 0.85 dev accuracy, and the figure
shown is what nnfs computes from the page's weights; no main-thread task over 50 ms while
it trains; it pauses when hidden; it is reachable by keyboard; and its weights go to the
playground, with the build's model one click away.
"""

import gzip
import json
import os
import re

import numpy as np
import pytest
from browser import PHONE, browser, chromium_available, open_ready, screenshot, server  # noqa: F401

import nnfs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RTOL = 1e-9
LEARNING_RATE, BATCH = 0.1, 32


# ---- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_dir(server):  # noqa: F811
    return server.directory


@pytest.fixture(scope="module")
def digits(site_dir):
    """The build's split as the browser gets it: X (784, n) float64 = bytes / 255, Y (n,), n_train."""
    header = json.loads((site_dir / "generated" / "train-digits.json").read_text())
    raw = np.frombuffer(gzip.decompress((site_dir / "generated" / header["file"]).read_bytes()), np.uint8)
    n = header["n_train"] + header["n_dev"]
    assert raw.size == n * 785 == header["raw_bytes"]
    X = raw[:n * 784].reshape(n, 784).T / 255.0                    # (784, n) float64, like nn.js
    Y = raw[n * 784:].astype(np.int64)
    return X, Y, header["n_train"]


@pytest.fixture(scope="module")
def fixture(site_dir):
    return json.loads((site_dir / "generated" / "train-fixture.json").read_text())


@pytest.fixture(scope="module")
def nn_source(site_dir):
    return (site_dir / "assets" / "nn.js").read_text()


@pytest.fixture(scope="module")
def session(browser, server):  # noqa: F811
    """A page of the site (the Train page) to run copies of nn.js in."""
    context, page, watch = open_ready(browser, server, "train/", "window.nnfsTrain")
    yield page, watch
    context.close()


def params_from(fixture):
    h = fixture["n_hidden"]
    return {"W1": np.array(fixture["W1"]).reshape(h, 784), "b1": np.array(fixture["b1"]).reshape(h, 1),
            "W2": np.array(fixture["W2"]).reshape(10, h), "b2": np.array(fixture["b2"]).reshape(10, 1)}


# ---- the two implementations -------------------------------------------------------------

RUN_JS = """async ([source, trainer, steps, learningRate, batchSize]) => {
    const scope = {location: window.location};
    new Function('self', source)(scope);              // this copy of nn.js, on its own
    const nn = scope.nnfsNN;
    const data = await nn.loadDigits(new URL('../generated/train-digits.json', document.baseURI).href);
    const fx = await (await fetch(new URL('../generated/train-fixture.json', document.baseURI).href)).json();
    const config = {trainer, learningRate, batchSize, hidden: fx.n_hidden, init: fx.init, seed: 0};
    const run = nn.makeTrainer(data, config, {params: fx, order: fx.order});
    const losses = [];
    for (let s = 0; s < steps; s++) losses.push(run.step());
    const dev = nn.evaluate(run.net, data);
    return {W1: Array.from(run.net.W1), b1: Array.from(run.net.b1), W2: Array.from(run.net.W2),
            b2: Array.from(run.net.b2), losses, predictions: Array.from(dev.predictions), steps: run.steps};
}"""


def run_js(page, source, trainer, steps):
    return page.evaluate(RUN_JS, [source, trainer, steps, LEARNING_RATE, BATCH])


def run_nnfs(digits, fixture, trainer, steps):
    """nnfs's own functions, float64, from the fixture's weights and batch order."""
    X, Y, n_train = digits
    params = params_from(fixture)
    order = np.array(fixture["order"])
    assert steps * BATCH <= n_train or trainer == "gd", "the fixture holds one epoch's order"
    losses = []
    for s in range(steps):
        batch = np.arange(n_train) if trainer == "gd" else order[s * BATCH:(s + 1) * BATCH]
        Xb, Yb = X[:, batch], Y[batch]
        cache = nnfs.forward(params, Xb)
        losses.append(nnfs.cross_entropy(cache["A2"], Yb))
        params = nnfs.update_params(params, nnfs.backward(params, cache, Xb, Yb), LEARNING_RATE)
    predictions = nnfs.predict(params, X[:, n_train:])
    return params, np.array(losses), predictions


def assert_same_weights(js, params):
    """Every weight equal to 1e-9 of its own size (and the net actually moved)."""
    for name, value in params.items():
        got = np.array(js[name]).reshape(value.shape)
        np.testing.assert_allclose(got, value, rtol=RTOL, atol=0, err_msg=name)


def assert_same_losses(js, losses):
    np.testing.assert_allclose(js["losses"], losses, rtol=RTOL, atol=0)


# ---- equivalence -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(digits, fixture):
    """nnfs after 50 SGD steps, after one SGD epoch, and after 20 full-batch steps."""
    n_train = digits[2]
    return {"sgd50": run_nnfs(digits, fixture, "sgd", 50),
            "epoch": run_nnfs(digits, fixture, "sgd", -(-n_train // BATCH)),
            "gd20": run_nnfs(digits, fixture, "gd", 20)}


def test_fixture_is_the_build_split(digits, fixture):
    """The exported digits are the build's split, and the fixture holds one epoch's permutation."""
    from nnfs.data import load_dataset, train_dev_split

    dataset = load_dataset("sample")
    X_train, Y_train, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))
    X, Y, n_train = digits
    np.testing.assert_array_equal(X.astype(np.float32), np.concatenate([X_train, X_dev], axis=1))
    np.testing.assert_array_equal(Y, np.concatenate([Y_train, Y_dev]))
    assert sorted(fixture["order"]) == list(range(n_train))


def test_50_sgd_steps_give_the_same_weights(session, nn_source, reference, fixture):
    page, watch = session
    js = run_js(page, nn_source, "sgd", 50)
    params, losses, _ = reference["sgd50"]
    assert js["steps"] == 50
    assert not np.allclose(params["W2"], params_from(fixture)["W2"]), "50 steps must move the weights"
    assert_same_weights(js, params)
    assert_same_losses(js, losses)
    watch.assert_clean("the train page")


def test_one_epoch_gives_the_same_dev_predictions(session, nn_source, reference):
    page, watch = session
    params, losses, predictions = reference["epoch"]
    js = run_js(page, nn_source, "sgd", len(losses))
    assert_same_weights(js, params)
    np.testing.assert_array_equal(js["predictions"], predictions)
    watch.assert_clean("the train page")


def test_20_full_batch_steps_give_the_same_loss_curve(session, nn_source, reference):
    page, watch = session
    params, losses, _ = reference["gd20"]
    js = run_js(page, nn_source, "gd", 20)
    assert losses[-1] < losses[0]
    assert_same_losses(js, losses)
    assert_same_weights(js, params)
    watch.assert_clean("the train page")


# Deliberate mistakes in a copy of nn.js: each must make the comparisons above fail.
BREAKAGES = {
    "sign of db2": ("net.db2[c] = s / m;", "net.db2[c] = -s / m;"),
    "W2 instead of W2.T in dZ1": ("s += W2[c * h + i] * dZ2[c * m + j];", "s += W2[i * h + c] * dZ2[c * m + j];"),
    "sign of the update": ("W[q] = W[q] - learningRate * dW[q];", "W[q] = W[q] + learningRate * dW[q];"),
    "m of the dataset in dW1": ("dW1[q] /= m;", "dW1[q] /= data_m;"),
    "label off by one in dZ2": ("(Y[batch[j]] === c ? 1 : 0)", "(Y[batch[j]] === (c + 1) % 10 ? 1 : 0)"),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_a_broken_copy_fails(session, nn_source, reference, name):
    page, _ = session
    old, new = BREAKAGES[name]
    assert nn_source.count(old) == 1, f"{old!r} must occur once in nn.js"
    broken = nn_source.replace(old, new)
    if "data_m" in new:
        broken = broken.replace("var dW1 = net.dW1,", "var data_m = X.n, dW1 = net.dW1,")
    params, losses, _ = reference["sgd50"]
    js = run_js(page, broken, "sgd", 50)
    with pytest.raises(AssertionError):
        assert_same_weights(js, params)
    gd_params, gd_losses, _ = reference["gd20"]
    js = run_js(page, broken, "gd", 20)
    with pytest.raises(AssertionError):
        assert_same_losses(js, gd_losses)


# ---- the page ----------------------------------------------------------------------------


def open_train(browser, server, query="", **options):  # noqa: F811
    context, page, watch = open_ready(browser, server, "train/" + query, "window.nnfsTrain", **options)
    return context, watch, page


def shown_accuracy(page):
    text = page.locator("[data-nnfs=dev-accuracy]").inner_text()
    match = re.fullmatch(r"(\d+\.\d)%", text.strip())
    return (float(match.group(1)) / 100 if match else None), text


LONG_TASKS = """() => { window.__longTasks = [];
    new PerformanceObserver(list => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
        .observe({type: 'longtask'}); }"""


def main_thread(cdp):
    """The renderer main thread's CPU seconds (ThreadTime) and the wall clock, from the DevTools protocol."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["ThreadTime"], metrics["Timestamp"]


def assert_main_thread_free(long_tasks, before, after):
    """No main-thread task over 50 ms while training (PerformanceObserver 'longtask').

    A long task is measured in wall-clock time. On a machine whose load average exceeds its
    CPU count, every thread waits for a core and a 5 ms redraw can take 100 ms of wall time;
    there only a sanity bound on the page's own share is checked instead: its main thread
    must use under 35 % of one CPU while the worker trains (the DevTools protocol's
    ThreadTime, CPU seconds; over a window of about a second fixed costs dominate, so a
    tighter bound would measure the machine, not the page).
    """
    cpu, wall = after[0] - before[0], after[1] - before[1]
    load = os.getloadavg()[0]
    busy = f"main thread used {cpu:.2f} CPU s in {wall:.1f} s; load average {load:.1f} on {os.cpu_count()} CPUs"
    print(f"long tasks while training: {len(long_tasks)} (longest {max(long_tasks, default=0):.0f} ms); {busy}")
    if load < os.cpu_count():
        assert not long_tasks, f"main-thread tasks over 50 ms while training: {long_tasks}; {busy}"
    else:
        assert cpu < 0.35 * wall, f"the page's main thread is too busy while training: {busy}"


def test_it_learns_from_the_defaults(browser, server, digits):  # noqa: F811
    """Play with the page's defaults: the dev accuracy shown reaches 85 %, and is nnfs's on the page's weights."""
    X, Y, n_train = digits
    context, watch, page = open_train(browser, server)
    try:
        config = page.evaluate("window.nnfsTrain.state().config")
        assert config == {"trainer": "sgd", "learningRate": 0.1, "batchSize": 32, "hidden": 10, "init": "he", "seed": 1}
        page.evaluate(LONG_TASKS)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        # Found by role first: the selector engine's accessible-name walk of this long page is
        # Playwright's main-thread work, not the page's; the click (and Play's handler) is counted.
        play = page.get_by_role("button", name="Play", exact=True).element_handle()
        before = main_thread(cdp)
        play.click()
        page.wait_for_function("""() => { const t = document.querySelector('[data-nnfs=dev-accuracy]').textContent;
            return parseFloat(t) >= 85; }""", timeout=180_000, polling=100)
        seconds = page.evaluate("window.nnfsTrain.state().seconds")
        after = main_thread(cdp)
        long_tasks = page.evaluate("window.__longTasks")
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().lastReason === 'pause'")
        accuracy, text = shown_accuracy(page)
        assert accuracy is not None and accuracy >= 0.85, text
        w = page.evaluate("window.nnfsTrain.weights()")
        h = w["h"]
        params = {"W1": np.array(w["W1"]).reshape(h, 784), "b1": np.array(w["b1"]).reshape(h, 1),
                  "W2": np.array(w["W2"]).reshape(10, h), "b2": np.array(w["b2"]).reshape(10, 1)}
        expected = nnfs.accuracy(nnfs.predict(params, X[:, n_train:]), Y[n_train:])
        assert text == f"{expected:.1%}", (text, expected)
        state = page.evaluate("window.nnfsTrain.state()")
        assert state["steps"] == w["steps"] > 0 and state["lossPoints"] > 0 and state["devPoints"] > 0
        confusion = np.array(state["confusion"]).reshape(10, 10)
        pred = nnfs.predict(params, X[:, n_train:])
        np.testing.assert_array_equal(confusion, np.bincount(Y[n_train:] * 10 + pred, minlength=100).reshape(10, 10))
        assert_main_thread_free(long_tasks, before, after)
        print(f"0.85 dev accuracy after {seconds:.1f} s of training in the browser")
        screenshot(page, "train-trained")
        watch.assert_clean("the train page")
    finally:
        context.close()


def test_pauses_when_hidden(browser, server):  # noqa: F811
    context, watch, page = open_train(browser, server)
    try:
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().steps > 20")
        page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
            document.dispatchEvent(new Event('visibilitychange')); }""")
        page.wait_for_function("window.nnfsTrain.state().lastReason === 'pause'")
        steps = page.evaluate("window.nnfsTrain.state().steps")
        page.wait_for_timeout(500)
        assert page.evaluate("window.nnfsTrain.state().steps") == steps and not page.evaluate("window.nnfsTrain.state().playing")
        page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
            document.dispatchEvent(new Event('visibilitychange')); }""")
        page.wait_for_function(f"window.nnfsTrain.state().steps > {steps}")
        page.get_by_role("button", name="Pause", exact=True).click()
        watch.assert_clean("the train page")
    finally:
        context.close()


def test_settings_come_from_the_url_and_step_and_reset_work(browser, server):  # noqa: F811
    context, watch, page = open_train(browser, server, "?trainer=gd&lr=0.5&hidden=32&init=uniform&seed=3&batch=64")
    try:
        assert page.evaluate("window.nnfsTrain.state().config") == {
            "trainer": "gd", "learningRate": 0.5, "batchSize": 64, "hidden": 32, "init": "uniform", "seed": 3}
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().steps === 1 && window.nnfsTrain.state().lastReason === 'step'")
        state = page.evaluate("window.nnfsTrain.state()")
        assert state["examples"] == 4000 and state["epoch"] == 1              # full batch: one step is one epoch
        assert page.locator(".nnfs-unit canvas").count() == 32
        page.get_by_label("Hidden units", exact=True).fill("12")
        page.get_by_label("Hidden units", exact=True).dispatch_event("change")
        page.wait_for_function("window.nnfsTrain.state().steps === 0")
        assert "hidden=12" in page.url
        page.wait_for_function("document.querySelectorAll('.nnfs-unit canvas').length === 12")
        page.get_by_label("Learning rate α", exact=True).fill("0")                          # out of range: said, not used
        page.get_by_role("button", name="Play", exact=True).click()
        assert page.get_by_label("Learning rate α", exact=True).get_attribute("aria-invalid") == "true"
        assert "learning rate" in page.locator("[data-nnfs=status]").inner_text().lower()
        assert not page.evaluate("window.nnfsTrain.state().playing")
        watch.assert_clean("the train page")
    finally:
        context.close()


def test_keyboard_alone(browser, server):  # noqa: F811
    """Every control has a label and is reached with Tab; Play and Pause work from the keyboard."""
    context, watch, page = open_train(browser, server)
    try:
        for label in ("Trainer", "Learning rate α", "Batch size (SGD)", "Hidden units", "Initialisation", "Seed"):
            assert page.get_by_label(label, exact=True).count() == 1, label
        page.locator("#nnfs-trainer").focus()
        seen = []
        for _ in range(12):
            seen.append(page.evaluate("document.activeElement.dataset.nnfs || document.activeElement.tagName"))
            if seen[-1] == "reset":
                break
            page.keyboard.press("Tab")
        assert seen == ["trainer", "learning-rate", "batch-size", "hidden", "init", "seed", "play", "step", "reset"], seen
        page.locator("[data-nnfs=play]").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("window.nnfsTrain.state().steps > 10")
        page.locator("[data-nnfs=pause]").focus()
        page.keyboard.press("Space")
        page.wait_for_function("window.nnfsTrain.state().lastReason === 'pause'")
        for name in ("Draw a digit for this network", "Download the weights (JSON)"):
            assert page.get_by_role("button", name=name, exact=True).is_enabled()
        watch.assert_clean("the train page")
    finally:
        context.close()


def test_reduced_motion_redraws_once_a_second(browser, server):  # noqa: F811
    context, watch, page = open_train(browser, server, reduced_motion="reduce")
    try:
        assert page.evaluate("window.nnfsTrain.state().reducedMotion")
        start = page.evaluate("window.nnfsTrain.state().paints")
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_timeout(3000)
        page.get_by_role("button", name="Pause", exact=True).click()
        paints = page.evaluate("window.nnfsTrain.state().paints") - start
        assert 1 <= paints <= 6, paints                    # about 3, plus the pause's
        watch.assert_clean("the train page")
    finally:
        context.close()


def test_trained_weights_go_to_the_playground(browser, server, site_dir, digits):  # noqa: F811
    X, Y, n_train = digits
    context, watch, page = open_train(browser, server)
    try:
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().steps > 50")
        w = None
        page.get_by_role("button", name="Draw a digit for this network", exact=True).click()
        page.wait_for_url(re.compile(r"playground/\?model=trained"))
        page.wait_for_function("window.nnfsPlayground !== undefined")
        page.evaluate("window.nnfsPlayground.ready")
        assert page.evaluate("window.nnfsPlayground.modelSource()") == "trained"
        w = json.loads(page.evaluate("localStorage.getItem('nnfs-trained-model')"))
        trained = {k: np.array(w[k], np.float64).reshape(-1, 1) if k.startswith("b") else np.array(w[k], np.float64)
                   for k in ("W1", "b1", "W2", "b2")}
        x = np.array(json.loads((site_dir / "generated" / "dev-digits.json").read_text())["pixels"][0]) / 255
        page.evaluate("window.nnfsPlayground.loadDevDigit(0)")
        np.testing.assert_allclose(page.evaluate("window.nnfsPlayground.probabilities()"),
                                   nnfs.forward(trained, x.reshape(784, 1))["A2"][:, 0], rtol=0, atol=1e-9)
        assert "trained" in page.locator("[data-nnfs=model-note]").inner_text()
        screenshot(page, "playground-trained")

        page.get_by_role("button", name="Use the build's model", exact=True).click()   # one click back
        assert page.evaluate("window.nnfsPlayground.modelSource()") == "build"
        assert "model=" not in page.url
        doc = json.loads((site_dir / "generated" / "model.json").read_text())
        build = {k: np.array(doc[k], np.float64).reshape(-1, 1) if k.startswith("b") else np.array(doc[k], np.float64)
                 for k in ("W1", "b1", "W2", "b2")}
        np.testing.assert_allclose(page.evaluate("window.nnfsPlayground.probabilities()"),
                                   nnfs.forward(build, x.reshape(784, 1))["A2"][:, 0], rtol=0, atol=1e-9)
        page.get_by_role("button", name="Use the weights you trained", exact=True).click()
        assert page.evaluate("window.nnfsPlayground.modelSource()") == "trained"
        watch.assert_clean("train page to playground")
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_screenshots_and_contrast(browser, server, scheme, viewport):  # noqa: F811
    """1280 and 390 px, light and dark, while training: no sideways scroll; text contrast >= 4.5:1."""
    from test_browser import CONTRAST

    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if viewport == "phone" else {}
    context, watch, page = open_train(browser, server, color_scheme=scheme, **options)
    try:
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().devPoints > 3")
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_function("window.nnfsTrain.state().lastReason === 'pause'")
        page.mouse.move(0, 0)
        # colours are read once every CSS transition has ended, never a button caught mid-fade
        page.evaluate("Promise.all(document.getAnimations().map(a => a.finished))")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] + 1, width
        texts = page.evaluate(CONTRAST.replace("#nnfs-playground *", "#nnfs-train *"))
        low = [t for t in texts if t["ratio"] < 4.5]
        assert len(texts) > 40 and not low, low
        screenshot(page, f"train-{viewport}-{scheme}")
        watch.assert_clean("the train page")
    finally:
        context.close()


SOFTMAX_JS = """([source, Z, k, m]) => {
    const scope = {location: window.location};
    new Function('self', source)(scope);
    const A = new Float64Array(k * m);
    scope.nnfsNN.softmax(Float64Array.from(Z), k, m, A);
    return Array.from(A, v => Number.isNaN(v) ? 'NaN' : v);
}"""


def test_js_softmax_survives_scores_of_1000(session, nn_source):
    """nn.js's softmax equals nnfs.softmax on scores near 1000; a copy without the max gives NaN."""
    page, _ = session
    Z = np.array([[1000.0, 0.0], [1001.0, 1.0], [1002.0, 2.0]])   # (3, 2), row-major as nn.js stores it
    got = page.evaluate(SOFTMAX_JS, [nn_source, Z.ravel().tolist(), 3, 2])
    np.testing.assert_allclose(np.array(got, float).reshape(3, 2), nnfs.softmax(Z), rtol=1e-15, atol=0)
    old = "Math.exp(Z[c * m + j] - max)"
    assert nn_source.count(old) == 1
    broken = page.evaluate(SOFTMAX_JS, [nn_source.replace(old, "Math.exp(Z[c * m + j])"), Z.ravel().tolist(), 3, 2])
    assert "NaN" in broken
