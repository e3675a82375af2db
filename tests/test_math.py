"""The math hook: TeX becomes MathJax SVG plus hidden MathML, cached by the hash of its TeX."""

import importlib.util
import re
import types

import pytest
from mkdocs.exceptions import PluginError

from conftest import ROOT, mkdocs_build


@pytest.fixture
def math(tmp_path, monkeypatch):
    """A fresh copy of the hook, with its cache in tmp_path and MathJax not yet started."""
    spec = importlib.util.spec_from_file_location("nnfs_math_hook", ROOT / "overrides" / "hooks" / "nnfs_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "CACHE", tmp_path / "math")
    return module


def page(src_uri):
    return types.SimpleNamespace(file=types.SimpleNamespace(src_uri=src_uri))


def finished(math, content, src_uri):
    """The page as a reader gets it: on_page_content, then on_post_page puts back what it set aside."""
    where = page(src_uri)
    return math.on_post_page(math.on_page_content(content, where, None, None), where, None)


def svg_of(html):
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == 1, html[:300]
    return svgs[0]


# The constructs the pages use, and what MathJax must have built for each.
@pytest.mark.parametrize("tex, node", [
    (r"\begin{aligned} dZ^{[2]} &= A^{[2]} - Y, \\ dW^{[2]} &= \tfrac{1}{m} \, dZ^{[2]} A^{[1]\top} \end{aligned}", "mtable"),
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", "mtable"),
    (r"\operatorname{ReLU}'(z) = \begin{cases} 1 & \text{if } z > 0, \\ 0 & \text{if } z \le 0 \end{cases}", "mtable"),
    (r"\underbrace{W^{[1]}}_{h \times 784} X", "munder"),
    (r"\sum_{k'=0}^{9} y_{k'} \delta_{k'k}", "munderover"),
    (r"\frac{\lVert g_{\text{bp}} - g_{\text{num}} \rVert}{\lVert g_{\text{bp}} \rVert}", "mfrac"),
])
def test_page_constructs_become_svg_and_mathml(math, tex, node):
    html = math.wrap(tex, display=True)
    svg = svg_of(html)
    assert f'data-mml-node="{node}"' in svg
    assert 'fill="currentColor"' in svg and 'aria-hidden="true"' in svg  # follows the scheme; read as MathML
    assert re.search(r'width="[\d.]+ex" height="[\d.]+ex"', svg)      # sized in the text's ex
    assert '<span class="math-sr"><math ' in html
    if node == "mtable":
        assert "<mtable" in html
    assert "<mi>&</mi>" not in html  # an alignment & left as a symbol means the MathML table was lost


def test_prime_is_a_superscript_of_its_letter(math):
    """a_{k'}: the prime (U+2032) is drawn raised, right after the k, inside the subscript."""
    svg = svg_of(math.wrap("a_{k'}", display=False))
    k_then_prime = re.search(r'<g data-mml-node="msup"><g data-mml-node="mi"><use data-c="1D458"[^>]*/></g>'
                             r'<g data-mml-node="mo" transform="translate\((\d+),(\d+)\)[^"]*"><use data-c="2032"', svg)
    assert k_then_prime, svg
    x, y = map(int, k_then_prime.groups())
    assert 400 < x < 700 and y > 0  # k is about 520 units wide; the prime starts where it ends, raised


def test_inline_and_display_wrappers(math):
    assert math.wrap("x^2", display=False).startswith('<span class="math-inline" data-tex="x^2"><svg')
    assert math.wrap("x^2", display=True).startswith('<div class="math-display" data-tex="x^2"><svg')
    assert 'data-tex="a &lt; b"' in math.wrap("a < b", display=False)


def test_ids_are_unique_per_equation(math):
    """Two equations on one page both define the glyph x: their ids must not clash."""
    ids = [set(re.findall(r'\bid="([^"]+)"', math.wrap(tex, display=False))) for tex in ("x + 1", "x - 1")]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    assert not any(i.startswith("MJX-") for i in ids[0] | ids[1])


@pytest.mark.parametrize("tex, message", [
    (r"\frac{a", "Missing close brace"),
    (r"\fraq{a}{b}", r"undefined control sequence \fraq in the equation \fraq{a}{b}"),
    (r"\begin{bmatrix} a \end{pmatrix}", "ended with"),
])
def test_tex_errors_fail_the_build_naming_the_page(math, tex, message):
    content = f'<p><span class="arithmatex">\\({tex}\\)</span></p>'
    with pytest.raises(PluginError, match=f"^softmax.md: .*{re.escape(message)}"):
        finished(math, content, "softmax.md")
    assert not list((math.CACHE).glob("*.html")), "an equation that failed was cached"


def test_without_mathml_the_svg_carries_the_tex(math, monkeypatch):
    monkeypatch.setattr(math, "tex_to_mathml", lambda tex, display: None)
    html = math.wrap(r"a < b", display=False)
    assert 'role="img" aria-label="a &lt; b"' in html and "aria-hidden" not in html and "<math" not in html


def test_markdown_page_math(math):
    content = ('<p>inline <span class="arithmatex">\\(z_k &lt; 1\\)</span> and</p>\n'
               '<div class="arithmatex">\\[\n\\frac{a}{b}\n\\]</div>')
    html = finished(math, content, "loss.md")
    assert html.count("<svg") == 2 and "arithmatex" not in html and "\\(" not in html
    assert '<span class="math-inline" data-tex="z_k &lt; 1">' in html
    assert '<div class="math-display" data-tex="\\frac{a}{b}">' in html


def test_notebook_math_and_scripts(math):
    cell = ('<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput">'
            "<p>cost $5 and $x^2$ and $$\\frac{a}{b}$$</p></div>")
    junk = '<!-- Load mathjax -->\n<script src=""> </script>\n<!-- End of mathjax configuration -->'
    html = finished(math, junk + cell, "notebooks/n.py")
    assert "mathjax" not in html.lower()
    assert html.count("<svg") == 2 and html.count("<math ") == 2 and "$$" not in html and "cost $5" in html
    assert '<span class="math-display" data-tex="\\frac{a}{b}">' in html  # a span: it sits in a <p>


# ---- the cache -----------------------------------------------------------------------


def test_a_second_build_renders_nothing_and_never_starts_mathjax(math, monkeypatch):
    content = ('<span class="arithmatex">\\(a_{k\'}\\)</span>'
               '<div class="arithmatex">\\[\\sum_{k=0}^{9} y_k\\]</div>')
    first = finished(math, content, "backprop.md")
    assert math.stats == {"equations": 2, "rendered": 2, "started": 1}
    assert len(list(math.CACHE.glob("*.html"))) == 2

    math._renderer.clear()                 # a new build process: MathJax not running
    math.on_pre_build(None)
    second = finished(math, content, "backprop.md")
    assert second == first
    assert math.stats == {"equations": 2, "rendered": 0, "started": 0}

    edited = content.replace("y_k", "y_k^2")  # one equation changed: it alone is rendered
    third = finished(math, edited, "backprop.md")
    assert math.stats == {"equations": 4, "rendered": 1, "started": 1}
    assert third != first and "data-tex=\"\\sum_{k=0}^{9} y_k^2\"" in third


def test_cache_key_covers_tex_display_and_renderer(math, monkeypatch):
    key = math.cache_key("x^2", display=False)
    assert key == math.cache_key("x^2", display=False)
    assert key != math.cache_key("x^2", display=True)
    assert key != math.cache_key("x^3", display=False)
    monkeypatch.setattr(math, "version", lambda package: "99.0" if package == "quickjax" else "1.0")
    monkeypatch.setattr(math, "_FINGERPRINT", math._fingerprint())  # a new quickjax: every key changes
    assert key != math.cache_key("x^2", display=False)


def test_a_cached_equation_is_served_from_its_file(math):
    """The cache file is what a build uses: whatever it holds is what the page gets."""
    math.wrap("x^2", display=False)
    (path,) = math.CACHE.glob("*.html")
    path.write_text("<svg>from the cache</svg>")
    assert math.wrap("x^2", display=False).endswith("<svg>from the cache</svg></span>")


def test_an_equation_another_job_is_typesetting_is_waited_for_not_typeset_again(math, tmp_path):
    """The build's jobs share many equations: one typesets, the others wait and read its file."""
    import subprocess
    import sys
    import time

    tex, key = "x^2 + y^2", math.cache_key("x^2 + y^2", display=False)
    other_job = subprocess.Popen([sys.executable, "-c", f"""
import importlib.util, pathlib
spec = importlib.util.spec_from_file_location("m", {str(ROOT / "overrides" / "hooks" / "nnfs_math.py")!r})
math = importlib.util.module_from_spec(spec); spec.loader.exec_module(math)
math.CACHE = pathlib.Path({str(math.CACHE)!r})
math.CACHE.mkdir(parents=True, exist_ok=True)
(math.CACHE / "ready").write_text("")
print(math.typeset({tex!r}, False), math.stats["rendered"])
"""], stdout=subprocess.PIPE, text=True)
    with math._locked(key):              # this job is typesetting it...
        deadline = time.monotonic() + 60
        while not (math.CACHE / "ready").exists():   # ...while the other one, started, asks for it
            assert time.monotonic() < deadline and other_job.poll() is None, "the other job never started"
            time.sleep(0.05)
        time.sleep(0.5)
        assert other_job.poll() is None, "the other job did not wait for the lock"
        math._write_atomically(math.CACHE / f"{key}.html", "<svg>typeset once</svg>")
    out, _ = other_job.communicate(timeout=60)
    assert out.split() == ["<svg>typeset", "once</svg>", "0"]


@pytest.mark.slow
def test_a_warm_site_build_does_not_start_mathjax(built_site, tmp_path):
    """After the session's build, every equation of the site is cached: a rebuild renders none."""
    result = mkdocs_build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = re.search(r"nnfs_math: (\d+) equations, (\d+) rendered anew \(MathJax (started|not started)\)", result.stderr)
    assert counts, result.stderr[-3000:]
    equations, rendered, started = int(counts.group(1)), int(counts.group(2)), counts.group(3)
    assert equations > 100 and rendered == 0 and started == "not started"
    built = (built_site / "backprop" / "index.html").read_text()
    assert built.count('class="math-display"') > 10 and "arithmatex" not in built


def test_search_reads_the_page_without_its_svg_styles_or_images(math):
    """Between on_page_content and on_post_page (where the search plugin reads page.content)
    the bulk is set aside; the MathML stays, so the equation's symbols can still be found."""
    content = ('<p>Loss <span class="arithmatex">\\(L = -\\log a\\)</span></p>'
               '<style>.jp-Cell { color: red }</style><img src="data:image/png;base64,iVBORw0KGgo=">')
    where = page("notebooks/n.py")
    between = math.on_page_content(content, where, None, None)
    assert "<svg" not in between and "<style" not in between and "base64" not in between
    assert "<math" in between
    after = math.on_post_page(between, where, None)
    assert after.count("<svg") == 1 and "<style>.jp-Cell { color: red }</style>" in after
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in after and "nnfs-aside" not in after


def test_an_unknown_aside_key_fails_the_page(math):
    with pytest.raises(PluginError, match="nothing was set aside"):
        math.on_post_page("<p><!--nnfs-aside:" + "0" * 32 + "--></p>", page("x.md"), None)


# ---- typesetting ahead, from the sources ------------------------------------------------

PREFETCHED_PAGE = '''\
# A page

Inline $a_{k'}$ and $h$, then an executed block:

```python exec="true" source="above" result="text"
print("$not math$")
```

Between two blocks: $\\partial L / \\partial d$.

```python exec="true" source="above" result="text"
print("done")
```

!!! note
    In a note: $x^2$.

| a | b |
|---|---|
| $y_k$ | 2 |

$$
\\frac{\\partial \\ell}{\\partial z} = a - y
$$
'''

PREFETCHED_NOTEBOOK = '''\
# %% [markdown]
# # A notebook
#
# With $W^{[1]}$ and
#
# $$
# Z^{[1]} = W^{[1]} X + b^{[1]}
# $$

# %%
x = 1
'''


def test_prefetch_typesets_every_equation_the_build_then_shows(math, tmp_path):
    """prefetch reads the sources; each page, converted as the build's jobs convert it (the
    build's configuration, markdown-exec's fences), then finds all its equations in the cache.
    Math between two executed blocks was missed before prefetch set the fences aside (a fence
    its Markdown cannot parse is read as backticks, and the prose between two becomes code)."""
    import os
    import subprocess
    import sys
    import textwrap

    import jupytext

    docs = tmp_path / "docs"
    (docs / "notebooks").mkdir(parents=True)
    (docs / "page.md").write_text(PREFETCHED_PAGE)
    (docs / "notebooks" / "n.py").write_text(PREFETCHED_NOTEBOOK)
    assert math.prefetch(docs) == 8                       # 6 on the page, 2 in the notebook
    assert math.prefetch(docs) == 0                       # all cached: a second run typesets nothing

    # Converted in a process of its own: loading the build's configuration runs the hooks'
    # on_config, and nnfs_site's forgets the imported nnfs modules (for `mkdocs serve`).
    script = textwrap.dedent(f"""
        import sys
        import markdown
        sys.path.insert(0, {str(ROOT / "overrides" / "hooks")!r})
        import exec_job
        config = exec_job.build_config({str(ROOT / "mkdocs.yml")!r})   # as a page's job has it
        md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
        sys.stdout.write(md.convert(sys.stdin.read()))
    """)
    converted = subprocess.run([sys.executable, "-c", script], input=PREFETCHED_PAGE, capture_output=True, text=True,
                               cwd=ROOT, env={**os.environ, "NNFS_TRAIN_CACHE": str(tmp_path / "train")}, timeout=300)
    assert converted.returncode == 0, converted.stderr[-3000:]
    rendered = math.stats["rendered"]
    html = math.typeset_page(converted.stdout, "page.md")
    cells = "".join(f'<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown">{cell.source}</div>'
                    for cell in jupytext.read(docs / "notebooks" / "n.py").cells if cell.cell_type == "markdown")
    html += math.typeset_page(cells, "notebooks/n.py")
    assert html.count("<svg") == 8 and "not math" in html
    assert math.stats["rendered"] == rendered, "an equation of the page was not prefetched"
