"""The softmax explorer on the Softmax page, in a real Chromium, checked against nnfs.softmax.

Its first state must show the numbers of the build's worked-example table on the same page,
which nnfs.softmax printed at build time, and the numbers nnfs.softmax gives in Python for
the scores the explorer shows. Then: shifting every score changes nothing, and a score of
1000 makes the definition give NaN while the stable version does not.
"""

import re

import numpy as np
import pytest
from browser import PHONE, browser, chromium_available, new_context, screenshot, server  # noqa: F401

import nnfs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser, server):  # noqa: F811
    context, watch = new_context(browser, server)
    page = context.new_page()
    page.goto("softmax/")
    page.wait_for_function("window.nnfsSoftmaxExplorer !== undefined")
    yield page
    watch.assert_clean("the softmax page")
    context.close()


def shown(page):
    """What the explorer shows, as text, row by row."""
    return page.evaluate("""() => {
        const root = document.getElementById('nnfs-softmax');
        const cell = (tr, name) => tr.querySelector(`[data-cell="${name}"]`).innerText.trim();
        const rows = [...root.querySelectorAll('tbody tr')].map(tr => ({
            z: tr.querySelector('input[type=number]').value, exp: cell(tr, 'exp'), naive: cell(tr, 'naive'),
            shifted: cell(tr, 'exp-shifted'), stable: cell(tr, 'stable')}));
        const foot = root.querySelector('tfoot tr');
        return {rows, sum: cell(foot, 'sum'), stableSum: cell(foot, 'stable-sum'),
                verdict: cell(root, 'verdict')};
    }""")


def build_table(page):
    """The worked example's table, printed by the build's nnfs.softmax: [(i, z, e^z, p)] and the sum of e^z."""
    rows = page.evaluate("""() => [...document.querySelectorAll('article table')]
        .filter(t => !t.closest('#nnfs-softmax'))
        .map(t => [...t.querySelectorAll('tr')].map(tr => [...tr.cells].map(c => c.innerText.trim())))""")
    table = next(t for t in rows if any(r and r[0] == "sum" for r in t))
    body = [r for r in table[1:] if r[0] != "sum"]
    total = next(r for r in table if r[0] == "sum")[2]
    return body, total


def check_against_nnfs(state):
    z = np.array([float(r["z"]) for r in state["rows"]]).reshape(-1, 1)   # (k, 1): one column
    p = nnfs.softmax(z)
    E = np.exp(z - z.max())
    assert [r["stable"] for r in state["rows"]] == [f"{v:.2f}" for v in p[:, 0]]
    assert [r["shifted"] for r in state["rows"]] == [f"{v:.3f}" for v in E[:, 0]]
    assert state["stableSum"] == f"{p.sum():.2f}"
    return z, p


def test_first_state_is_the_build_table_and_nnfs(page):
    state = shown(page)
    body, total = build_table(page)
    assert len(state["rows"]) == len(body) >= 2
    for row, (i, z, e, p) in zip(state["rows"], body):
        assert float(row["z"]) == float(z)
        assert row["exp"] == e.strip("*")
        assert row["naive"] == p and row["stable"] == p
    assert state["sum"] == total.strip("*")
    z, p = check_against_nnfs(state)
    assert [r["exp"] for r in state["rows"]] == [f"{v:.3f}" for v in np.exp(z[:, 0])]
    assert state["sum"] == f"{np.exp(z).sum():.3f}"
    assert "changes nothing" in state["verdict"]
    screenshot(page, "softmax-explorer")


def test_moving_a_score_follows_nnfs(page):
    box = page.get_by_label("score z2", exact=True)
    box.fill("-3.7")
    state = shown(page)
    assert state["rows"][2]["z"] == "-3.7"
    check_against_nnfs(state)
    slider = page.get_by_label("score z1, slider", exact=True)
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")                                    # the keyboard moves the slider
    state = shown(page)
    assert float(state["rows"][1]["z"]) == pytest.approx(4.6)
    check_against_nnfs(state)


def test_shifting_every_score_changes_nothing(page):
    before = [r["stable"] for r in shown(page)["rows"]]
    page.get_by_role("button", name="Add 10 to every score").click()
    after = shown(page)
    assert [r["stable"] for r in after["rows"]] == before
    assert [r["naive"] for r in after["rows"]] == before
    check_against_nnfs(after)
    worst = re.search(r"at most (\S+)", after["verdict"]).group(1)
    assert float(worst) < 1e-12


def test_a_score_of_1000_breaks_only_the_definition(page):
    page.get_by_role("button", name="Set z0 to 1000").click()
    state = shown(page)
    assert state["rows"][0]["z"] == "1000"
    assert state["rows"][0]["exp"] == "∞" and state["sum"] == "∞"
    assert state["rows"][0]["naive"] == "NaN"                                # inf / inf
    z, p = check_against_nnfs(state)
    assert np.isfinite(p).all() and state["rows"][0]["stable"] == "1.00"
    with np.errstate(over="ignore", invalid="ignore"):                     # NumPy's definition fails the same way
        assert np.isnan(np.exp(z) / np.exp(z).sum()).any()
    assert "NaN" in state["verdict"]
    screenshot(page, "softmax-explorer-overflow")
    page.get_by_role("button", name="Reset").click()
    assert shown(page)["rows"][0]["z"] != "1000"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone(browser, server, scheme):  # noqa: F811
    context, watch = new_context(browser, server, viewport=PHONE, is_mobile=True, has_touch=True, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto("softmax/")
        page.wait_for_function("window.nnfsSoftmaxExplorer !== undefined")
        page.locator("#nnfs-softmax").scroll_into_view_if_needed()
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] + 1, width
        page.locator("#nnfs-softmax").screenshot(path=str(screenshot(page, f"softmax-phone-{scheme}").with_name(
            f"softmax-explorer-phone-{scheme}.png")))
        watch.assert_clean("the softmax page on a phone")
    finally:
        context.close()
