"""The typeset math, in a real Chromium that has no math fonts (Debian's: DejaVu only).

There, MathML drawn by the browser floats primes away from their letters and barely
stretches brackets. So: every equation must be drawn by our SVG, with any MathML only
visually hidden, for screen readers; the prime of a_{k'} must sit against its k; a display
equation wider than the column must scroll, with a shadow at the edge it goes on past, at
1280 px and on a 390 px phone; and the math must take the text's colour in both schemes.
Screenshots go to test-output/screenshots/math-*.png.
"""

import io

import pytest
from browser import PHONE, SCREENSHOTS, browser, chromium_available, new_context, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MATH_PAGES = ["", "data/", "neurons/", "forward/", "softmax/", "loss/", "backprop/", "shapes/", "errata/", "use-it/",
              "notebooks/training/", "notebooks/results/", "notebooks/going_further/"]  # every page with math
VIEWPORTS = {"desktop": {}, "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}}
# "Putting them together" on the backpropagation page: the widest display equation of the site.
WIDE = '.math-display[data-tex*="\\\\left( -\\\\frac{y_{k\'}}{a_{k\'}} \\\\right)"]'


def open_page(browser, server, url, scheme="light", size="desktop"):  # noqa: F811
    context, watch = new_context(browser, server, color_scheme=scheme, **VIEWPORTS[size])
    context.set_default_timeout(120_000)  # a busy machine is slow, not wrong
    page = context.new_page()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    return context, watch, page


# Every equation of the page, and how each is drawn.
EQUATIONS = """() => {
    const box = el => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height}; };
    const out = {equations: 0, problems: []};
    for (const eq of document.querySelectorAll('article :is(.math-inline, .math-display)')) {
        out.equations++;
        const svg = eq.querySelector(':scope > svg'), tex = eq.dataset.tex.slice(0, 50);
        if (!svg) { out.problems.push(`no SVG: ${tex}`); continue; }
        const b = box(svg);
        if (!(b.w > 0 && b.h > 0) || !svg.querySelector('use')) out.problems.push(`empty SVG: ${tex}`);
        if (getComputedStyle(svg).display === 'none') out.problems.push(`SVG not displayed: ${tex}`);
    }
    // Any MathML must be inside a 1 x 1 px box that clips it: for assistive technology only.
    for (const math of document.querySelectorAll('article math')) {
        const sr = math.closest('.math-sr'), tex = (math.closest('[data-tex]')?.dataset.tex || math.textContent).slice(0, 50);
        const hidden = sr && box(sr).w <= 1 && box(sr).h <= 1 && getComputedStyle(sr).overflow === 'hidden'
            && getComputedStyle(sr).clipPath !== 'none';
        if (!hidden) out.problems.push(`MathML drawn by the browser: ${tex}`);
    }
    out.raw = document.querySelectorAll('article .arithmatex').length;
    return out;
}"""


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("url", MATH_PAGES)
def test_every_equation_is_drawn_by_its_svg(browser, server, url, size):  # noqa: F811
    context, watch, page = open_page(browser, server, url, size=size)
    try:
        found = page.evaluate(EQUATIONS)
        assert found["equations"] > 0, f"{url}: no equation at all"
        assert found["raw"] == 0, f"{url}: {found['raw']} arithmatex elements left untypeset"
        assert not found["problems"], f"{url} ({size}):\n  " + "\n  ".join(found["problems"][:10])
        watch.assert_clean(url)
    finally:
        context.close()


def test_the_prime_sits_against_its_letter(browser, server):  # noqa: F811
    """a_{k'}: the prime's glyph starts where the k's glyph ends (they overlap or nearly
    touch), and is raised above the k's middle, all inside the subscript's height."""
    context, watch, page = open_page(browser, server, "backprop/")
    try:
        boxes = page.evaluate("""() => {
            const eq = [...document.querySelectorAll('.math-inline')].find(e => e.dataset.tex === "a_{k'}");
            const glyph = code => { const r = eq.querySelector(`svg use[data-c="${code}"]`)?.getBoundingClientRect();
                                    return r && {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
            return eq && {a: glyph('1D44E'), k: glyph('1D458'), prime: glyph('2032')};
        }""")
        assert boxes and all(boxes.values()), f"a_{{k'}} is not drawn as SVG glyphs a, k and a prime: {boxes}"
        a, k, prime = boxes["a"], boxes["k"], boxes["prime"]
        k_width = k["right"] - k["left"]
        assert k["left"] >= a["right"] - 0.5 * k_width, (a, k)           # the subscript follows the a
        gap = prime["left"] - k["right"]                                  # < 0: they overlap
        assert -0.8 * k_width < gap < 0.25 * k_width, f"the prime floats away from its k: gap {gap:.1f}px, k {k_width:.1f}px wide"
        assert (prime["top"] + prime["bottom"]) / 2 < (k["top"] + k["bottom"]) / 2, "the prime is not raised"
        assert prime["bottom"] > k["top"], "the prime is above the k's box, not beside it"
        watch.assert_clean("backprop")
    finally:
        context.close()


def edge_shade(page, selector):
    """How far the pixels at the left and right inner edges of the element's top padding
    differ from the page's background: a scroll shadow shows as a difference."""
    from PIL import Image

    shot = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    bg = tuple(int(v) for v in background[background.index("(") + 1:-1].split(",")[:3])
    row = 2

    def differs(x):
        return max(abs(a - b) for a, b in zip(shot.getpixel((x, row)), bg))

    return differs(1), differs(shot.width - 2)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_wide_equation_scrolls_with_a_cue(browser, server, size):  # noqa: F811
    context, watch, page = open_page(browser, server, "backprop/", size=size)
    try:
        page.locator(WIDE).scroll_into_view_if_needed()
        # Every display equation of the page: one wider than its column must scroll, never be cut.
        displays = page.evaluate("""() => [...document.querySelectorAll('article .math-display')].map(eq => {
            const svg = eq.querySelector(':scope > svg').getBoundingClientRect(), box = eq.getBoundingClientRect();
            return {tex: eq.dataset.tex.slice(0, 40), svgWidth: svg.width, svgLeft: svg.left, left: box.left,
                    clientWidth: eq.clientWidth, scrollWidth: eq.scrollWidth, overflowX: getComputedStyle(eq).overflowX};
        })""")
        assert len(displays) > 10
        for eq in displays:
            assert eq["svgLeft"] >= eq["left"] - 1, f"cut off on the left: {eq}"
            if eq["svgWidth"] > eq["clientWidth"] + 1:
                assert eq["overflowX"] == "auto" and eq["scrollWidth"] > eq["clientWidth"], f"wider than its column and cut off: {eq}"
        wide = [eq for eq in displays if eq["scrollWidth"] > eq["clientWidth"] + 1]
        if size == "desktop":  # typeset at the text's size, most equations fit a 1280-px screen
            assert len(wide) <= len(displays) // 10, f"{len(wide)} of {len(displays)} display equations scroll at 1280 px: {wide}"

        target = page.locator(WIDE)
        scrolls = target.evaluate("el => el.scrollWidth > el.clientWidth + 1")
        assert scrolls or size == "desktop", "the widest equation fits a 390-px phone: the test checks nothing"
        name = f"math-backprop-putting-together-{size}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target.evaluate("el => el.parentElement.scrollIntoView({block: 'center', behavior: 'instant'})")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        if scrolls:  # the cue: a shadow at the edge the equation goes on past, and only there
            start = edge_shade(page, WIDE)
            assert start[0] < 8 and start[1] > 20, f"at the start, expected a shadow on the right only: {start}"
            target.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
            end = edge_shade(page, WIDE)
            assert end[0] > 20 and end[1] < 8, f"scrolled to the end, expected a shadow on the left only: {end}"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-scrolled.png"))
        else:
            assert edge_shade(page, WIDE) == (0, 0) or max(edge_shade(page, WIDE)) < 8, "a shadow on an equation that fits"
        watch.assert_clean("backprop")
    finally:
        context.close()


MATH_COLOURS = """() => {
    const rgb = c => c.match(/[\\d.]+/g).map(Number);
    const luminance = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                             return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const background = el => {  // the first opaque background behind el
        for (let e = el; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor, v = rgb(c);
            if (v.length < 4 || v[3] >= 1) return c;
        }
        return 'rgb(255, 255, 255)';
    };
    const out = {scheme: document.body.dataset.mdColorScheme, background: getComputedStyle(document.body).backgroundColor,
                 equations: 0, problems: []};
    for (const eq of document.querySelectorAll('article :is(.math-inline, .math-display)')) {
        out.equations++;
        const fill = getComputedStyle(eq.querySelector(':scope > svg > g')).fill;
        const text = getComputedStyle(eq.parentElement).color, behind = background(eq);
        const [l1, l2] = [luminance(fill), luminance(behind)].sort((a, b) => b - a);
        const contrast = (l1 + 0.05) / (l2 + 0.05);
        if (fill !== text || contrast < 4.5)
            out.problems.push(`${eq.dataset.tex.slice(0, 40)}: fill ${fill}, text ${text}, on ${behind}: ${contrast.toFixed(1)}:1`);
    }
    return out;
}"""


@pytest.mark.parametrize("scheme, expected", [("light", "default"), ("dark", "slate")])
@pytest.mark.parametrize("url", ["backprop/", "notebooks/training/"])
def test_math_takes_the_text_colour(browser, server, scheme, expected, url):  # noqa: F811
    for size in VIEWPORTS:
        context, watch, page = open_page(browser, server, url, scheme=scheme, size=size)
        try:
            colours = page.evaluate(MATH_COLOURS)
            assert colours["scheme"] == expected and colours["equations"] > 0
            assert not colours["problems"], f"math not in the text's colour, or too faint ({expected}, {size}):\n  " + \
                "\n  ".join(colours["problems"][:10])
            stem = url.strip("/").replace("/", "-")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("article :is(.math-display)").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"math-{stem}-{expected}-{size}.png"))
            watch.assert_clean(f"{url} in the {expected} scheme")
        finally:
            context.close()
