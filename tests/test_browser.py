"""Every page of the built site, opened in a real Chromium, desktop and phone.

Each page must load with no console error, no failed request and no request to another
host; show every image; show typeset math and no raw TeX; have copy buttons that copy
exactly the code shown (never a snippet marker); and, on a 390 x 844 phone, not scroll
sideways. The theme toggle, search and the playground's accessibility are checked too.
Screenshots go to test-output/screenshots/<page>.png and <page>-phone.png.
"""

import re

import pytest
from browser import PHONE, browser, chromium_available, nav_pages, new_context, screenshot, server  # noqa: F401
from conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = nav_pages()
PAGE_IDS = [name for name, _ in PAGES]
# Pages that derive something: each must show typeset math.
MATH_PAGES = {"index", "neurons", "forward", "softmax", "loss", "backprop", "notebooks-training"}
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\$[^$\n]*[\\^_][^$\n]*\$")


def open_page(context, url):
    page = context.new_page()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    if url.startswith("playground"):
        page.evaluate("window.nnfsPlayground.ready")
    return page


def visible_prose(page):
    """The visible text of the page outside code, math, scripts and styles."""
    return page.evaluate("""() => {
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(node) {
            const el = node.parentElement;
            if (!el || el.closest('pre, code, script, style, math, textarea, template')) return NodeFilter.FILTER_REJECT;
            return el.checkVisibility() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
        }});
        const parts = [];
        while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
        return parts.join('\\n');
    }""")


def check_images(page):
    """Scroll every <img> into view, wait for it, and return the ones that did not load."""
    return page.evaluate("""async () => {
        const bad = [];
        for (const img of document.images) {
            img.scrollIntoView({block: 'center', behavior: 'instant'});
            if (!img.complete) {
                await new Promise(done => {
                    img.addEventListener('load', done, {once: true});
                    img.addEventListener('error', done, {once: true});
                    setTimeout(done, 5000);
                });
            }
            if (!(img.naturalWidth > 0)) bad.push((img.currentSrc || img.src).slice(0, 120));
        }
        window.scrollTo({top: 0, behavior: 'instant'});
        return {count: document.images.length, bad};
    }""")


# Copy buttons: Material's (a button inside each `pre > code`) and mkdocs-jupyter's
# (a <clipboard-copy> element beside each notebook cell's `pre`). Each button is tagged
# data-test-copy=i, and comes with the text its block shows.
COPY_BUTTONS = """() => {
    const out = [];
    for (const pre of document.querySelectorAll('article pre')) {
        const code = pre.querySelector(':scope > code');
        if (!code) continue;
        const buttons = pre.querySelectorAll('button[data-md-type=copy], button.md-clipboard');
        const title = pre.closest('.highlight')?.querySelector('.filename')?.textContent?.trim() || '';
        out.push({buttons: buttons.length, title, shown: code.textContent, element: buttons[0]});
    }
    for (const button of document.querySelectorAll('article clipboard-copy')) {
        let cell = button.parentElement;
        while (cell && !cell.querySelector('pre')) cell = cell.parentElement;
        const pre = cell && cell.querySelector('pre');
        out.push({buttons: 1, title: 'notebook cell', shown: pre ? pre.textContent : '', element: button});
    }
    return out.map((block, i) => {
        if (block.element) block.element.dataset.testCopy = i;
        return {i, buttons: block.buttons, title: block.title, shown: block.shown};
    });
}"""

# A button inside a collapsed admonition (`??? success "Solution"`) is hidden until the reader
# opens it, so every <details> around the button is opened before it is clicked.
OPEN_DETAILS = """(i) => {
    for (let d = document.querySelector(`[data-test-copy="${i}"]`).closest('details'); d;
         d = d.parentElement && d.parentElement.closest('details')) d.open = true;
}"""

CLICK_COPY = """async (i) => {
    const sentinel = 'nothing copied yet ' + i;
    await navigator.clipboard.writeText(sentinel);
    (""" + OPEN_DETAILS + """)(i);
    document.querySelector(`[data-test-copy="${i}"]`).click();
    for (let t = 0; t < 100; t++) {
        const copied = await navigator.clipboard.readText();
        if (copied !== sentinel) return copied;
        await new Promise(done => setTimeout(done, 20));
    }
    return null;
}"""


def check_copy_buttons(page):
    """Every code block has a copy button that puts exactly the code shown on the clipboard.

    The first button is clicked with the mouse, like a reader would; the others are
    clicked from the page's JavaScript, which is much faster on long pages. A button in a
    collapsed <details> is clicked after opening it, as a reader has to.
    """
    blocks = page.evaluate(COPY_BUTTONS)
    problems = []
    for block in blocks:
        where = f"code block {block['i'] + 1}" + (f" ({block['title']})" if block["title"] else "")
        if block["buttons"] != 1:
            problems.append(f"{where} has {block['buttons']} copy buttons")
            continue
        if block["i"] == 0:
            sentinel = "nothing copied yet"
            page.evaluate("text => navigator.clipboard.writeText(text)", sentinel)
            page.evaluate(OPEN_DETAILS, 0)
            button = page.locator('[data-test-copy="0"]')
            button.scroll_into_view_if_needed()
            button.hover()
            button.click()
            copied = None
            for _ in range(100):
                copied = page.evaluate("navigator.clipboard.readText()")
                if copied != sentinel:
                    break
                page.wait_for_timeout(20)
            copied = None if copied == sentinel else copied
        else:
            copied = page.evaluate(CLICK_COPY, block["i"])
        if copied is None:
            problems.append(f"{where}: the copy button copied nothing")
            continue
        if copied.rstrip("\n") != block["shown"].rstrip("\n"):
            problems.append(f"{where}: clipboard differs from the code shown:\n{copied[:300]!r}\nvs\n{block['shown'][:300]!r}")
        if "--8<--" in copied:
            problems.append(f"{where}: a snippet marker was copied")
        source = ROOT / block["title"] if "/" in block["title"] else None
        if source is not None and source.is_file():  # quoted from the package: every line comes from that file
            lines = {line.strip() for line in source.read_text(encoding="utf-8").splitlines()}
            stray = [line for line in copied.splitlines() if line.strip() and line.strip() not in lines]
            if stray:
                problems.append(f"{where}: lines not in {block['title']}: {stray[:3]}")
    return problems


# ---- every page, on a desktop ------------------------------------------------------------


@pytest.mark.parametrize("name, url", PAGES, ids=PAGE_IDS)
def test_page_on_desktop(browser, server, name, url):  # noqa: F811
    context, watch = new_context(browser, server)
    try:
        page = open_page(context, url)
        problems = []

        images = check_images(page)
        problems += [f"image did not load: {src}" for src in images["bad"]]

        prose = visible_prose(page)
        problems += [f"raw TeX in the visible text: {m.group(0)!r} near "
                     f"{prose[max(0, m.start() - 60):m.end() + 60]!r}" for m in RAW_TEX.finditer(prose)][:5]
        if "--8<--" in page.locator("body").inner_text():
            problems.append("a snippet marker --8<-- is visible")
        if name in MATH_PAGES:
            math = page.evaluate("""() => [...document.querySelectorAll('article :is(.math-inline, .math-display) > svg')]
                .map(m => m.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0).length""")
            if math == 0:
                problems.append("no typeset (visible, non-empty) math SVG on a derivation page")

        screenshot(page, name)  # before the copy buttons scroll the page and pop up "Copied"
        problems += check_copy_buttons(page)
        problems += watch.problems()
        assert not problems, f"{name} ({server.url(url)}):\n  " + "\n  ".join(problems)
    finally:
        context.close()


# ---- every page, on a phone --------------------------------------------------------------


@pytest.mark.parametrize("name, url", PAGES, ids=PAGE_IDS)
def test_page_on_a_phone(browser, server, name, url):  # noqa: F811
    context, watch = new_context(browser, server, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    try:
        page = open_page(context, url)
        check_images(page)
        overflow = page.evaluate("""() => {
            const root = document.documentElement, width = root.clientWidth;
            const scrolls = el => { for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
                const o = getComputedStyle(e).overflowX; if (o !== 'visible' && o !== 'clip') return true; } return false; };
            const culprits = [...document.body.querySelectorAll('*')]
                .filter(e => e.checkVisibility() && e.getBoundingClientRect().right > width + 1 && !scrolls(e))
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ?
                    '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + (e.textContent || '').trim().slice(0, 40));
            return {scrollWidth: root.scrollWidth, clientWidth: width, culprits};
        }""")
        screenshot(page, f"{name}-phone")
        assert overflow["scrollWidth"] <= overflow["clientWidth"] + 1, (
            f"{name} scrolls sideways on a {PHONE['width']}px phone: scrollWidth {overflow['scrollWidth']} > "
            f"{overflow['clientWidth']}; too wide: {overflow['culprits']}")
        watch.assert_clean(f"{name} on a phone")
    finally:
        context.close()


# ---- site features -----------------------------------------------------------------------


def test_light_dark_toggle(browser, server):  # noqa: F811
    context, watch = new_context(browser, server, color_scheme="light")
    try:
        page = open_page(context, "")
        body = page.locator("body")
        assert body.get_attribute("data-md-color-scheme") == "default"
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.locator("form[data-md-component=palette] label:visible").click()
        page.wait_for_function("document.body.dataset.mdColorScheme === 'slate'")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert dark != light, "the slate scheme did not change the page's background"
        page.locator("form[data-md-component=palette] label:visible").click()
        page.wait_for_function("document.body.dataset.mdColorScheme === 'default'")
        watch.assert_clean("the palette toggle")
    finally:
        context.close()


def test_search_finds_softmax(browser, server):  # noqa: F811
    context, watch = new_context(browser, server)
    try:
        page = open_page(context, "")
        search = page.locator("input.md-search__input")
        if not search.is_visible():  # narrow screens hide the search box behind a button
            page.locator("label[for=__search]").first.click()
        search.click()
        search.press_sequentially("softmax", delay=20)  # Material searches on key events, not on fill()
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=10_000)
        assert results.count() > 0
        assert "softmax" in page.locator(".md-search-result").inner_text().lower()
        watch.assert_clean("search")
    finally:
        context.close()


# ---- the playground's accessibility ------------------------------------------------------

CONTRAST = """() => {
    const parse = c => {
        const m = c.match(/^rgba?\\(([^)]+)\\)$/);
        if (!m) return null;
        const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => [0, 1, 2].map(i => top[3] * top[i] + (1 - top[3]) * under[i]).concat([1]);
    const background = el => {                 // the colour behind el: its backgrounds, composited
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
    };
    const luminance = rgb => {
        const [r, g, b] = rgb.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const out = [];
    for (const el of document.querySelectorAll('#nnfs-playground *')) {
        const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.nodeValue.trim()).join(' ').trim();
        if (!own || !el.checkVisibility()) continue;
        const style = getComputedStyle(el), fg = parse(style.color), bg = background(el);
        if (!fg) { out.push({text: own, ratio: 0, color: style.color}); continue; }
        const [l1, l2] = [luminance(over(fg, bg)), luminance(bg)].sort((a, b) => b - a);
        out.push({text: own.slice(0, 40), ratio: (l1 + 0.05) / (l2 + 0.05), color: style.color,
                  background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')'});
    }
    return out;
}"""


@pytest.mark.parametrize("scheme, expected", [("light", "default"), ("dark", "slate")])
def test_playground_contrast(browser, server, scheme, expected):  # noqa: F811
    """Every text of the playground, bar values included, has contrast >= 4.5:1 in both themes."""
    context, watch = new_context(browser, server, color_scheme=scheme)
    try:
        page = open_page(context, "playground/")
        assert page.evaluate("document.body.dataset.mdColorScheme") == expected
        page.evaluate("window.nnfsPlayground.loadDevDigit(0)")
        page.mouse.move(0, 0)
        texts = page.evaluate(CONTRAST)
        assert len(texts) > 30, texts  # headings, buttons, 10 digits, 10 values, hidden units...
        low = [t for t in texts if t["ratio"] < 4.5]
        assert not low, f"text below 4.5:1 in the {expected} scheme: {low}"
        screenshot(page, f"playground-{expected}")
        watch.assert_clean(f"the playground, {expected} scheme")
    finally:
        context.close()


def test_playground_is_labelled(browser, server):  # noqa: F811
    context, watch = new_context(browser, server)
    try:
        page = open_page(context, "playground/")
        pad = page.get_by_role("img", name=re.compile("drawing pad", re.IGNORECASE))
        assert pad.count() == 1 and pad.evaluate("el => el.tagName") == "CANVAS"
        assert page.get_by_role("heading", name=re.compile("draw a digit", re.IGNORECASE)).is_visible()  # its visible label
        playground = page.locator("#nnfs-playground")
        for name in ("Clear", "Random dev digit"):
            assert playground.get_by_role("button", name=name, exact=True).is_enabled()

        page.evaluate("window.nnfsPlayground.loadDevDigit(0)")
        bars = page.get_by_role("list", name=re.compile("probabilities", re.IGNORECASE)).get_by_role("listitem")
        assert bars.count() == 10
        probabilities = page.evaluate("window.nnfsPlayground.probabilities()")
        for digit in range(10):
            text = re.sub(r"\s+", " ", bars.nth(digit).inner_text()).strip()
            assert text == f"{digit} {100 * probabilities[digit]:.1f}%", text  # a text value, not only a bar
        assert page.locator("[data-nnfs=prediction]").inner_text() == str(page.evaluate("window.nnfsPlayground.prediction()"))
        watch.assert_clean("the playground")
    finally:
        context.close()
