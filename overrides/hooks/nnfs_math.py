"""MkDocs hook: typeset every equation at build time, as SVG that needs no math font.

* on_page_content: find the math of a page and replace each equation by
  `<span class="math-inline">` or a display block `class="math-display"` holding
    - an SVG drawn by MathJax 4 (quickjax: MathJax in-process through QuickJS, no Node).
      The glyphs are paths, so the equation looks the same whatever fonts the reader has;
      it is sized in ex, so its x-height matches the text's, and it is painted in
      currentColor, so it follows the light and dark schemes. It is aria-hidden;
    - the same equation as MathML (latex2mathml), visually hidden, for screen readers.
      If latex2mathml cannot convert an equation, the SVG gets role="img" and an
      aria-label holding the TeX instead.
  Markdown pages: pymdownx.arithmatex's generic output, <span class="arithmatex">\\(..\\)</span>
  and <div class="arithmatex">\\[..\\]</div>. Notebooks: $..$ and $$..$$ in Markdown cells.
* on_page_content sets aside what no search needs, and on_post_page puts it back into
  the finished page: each equation's SVG, and a notebook page's <style> blocks and
  base64 images. In between, the search plugin parses page.content to index its text;
  those are most of a page's bytes, and parsing them took most of a warm build.
* Each equation's HTML is cached in .cache/math/<key>.html, the key hashing the TeX, the
  display mode, the quickjax and latex2mathml versions and this file's source. A rebuild
  renders only new equations; MathJax is started only when one is missing. The build's
  jobs typeset their pages at the same time: a job that needs an equation another is
  typesetting waits for that one's file (a lock chosen by the equation's key, one of 256)
  instead of typesetting it too.
* A TeX error (an unknown macro, a missing brace) fails the build, naming the page.
* on_post_build logs how many equations were typeset and how many were rendered anew.
"""

import hashlib
import html
import logging
import os
import re
import tempfile
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.nnfs_math")
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent.parent / ".cache" / "math"

# What this build did: equations typeset, SVGs rendered by MathJax, MathJax starts.
stats = {"equations": 0, "rendered": 0, "started": 0}
_renderer = []  # the quickjax renderer, once started


def _fingerprint():
    """Everything an equation's HTML depends on besides its TeX and display mode."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("quickjax", "latex2mathml"):
        h.update(f"\0{package} {version(package)}".encode())
    return h.hexdigest()


_FINGERPRINT = _fingerprint()


def cache_key(tex, display):
    """sha256 of the renderer fingerprint, the display mode and the TeX: a cache file name."""
    text = f"{_FINGERPRINT}\0{'display' if display else 'inline'}\0{tex}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---- rendering one equation ----------------------------------------------------------


def _mathjax():
    """The quickjax renderer, started on first use (about 0.3-0.6 s)."""
    if not _renderer:
        from quickjax import MathJaxRenderer

        _renderer.append(MathJaxRenderer())
        stats["started"] += 1
    return _renderer[0]


def start():
    """Start MathJax now: the build's jobs.py does it once, before it forks the jobs that typeset."""
    _mathjax()


_ERROR = re.compile(r'data-mjx-error="([^"]*)"')
_UNDEFINED = re.compile(r'<g data-mml-node="mtext" fill="red" stroke="red" data-latex="([^"]*)"')


def tex_to_svg(tex, display, where="?"):
    """TeX -> MathJax SVG. Its ids are made unique per equation so that two equations'
    glyph definitions on one page never clash; `where` names the page in errors."""
    from quickjax import MathJaxRenderError

    try:
        svg = _mathjax().render(tex, display=display)
    except MathJaxRenderError as err:
        raise PluginError(f"{where}: MathJax cannot typeset the equation {tex}: {err}") from None
    stats["rendered"] += 1
    for pattern, what in ((_ERROR, "TeX error"), (_UNDEFINED, "undefined control sequence")):
        found = pattern.search(svg)
        if found:
            raise PluginError(f"{where}: {what} {html.unescape(found.group(1))} in the equation {tex}")
    prefix = "m" + cache_key(tex, display)[:10] + "-"
    svg = re.sub(r"\bMJX-\d+-", prefix, svg)                    # ids and their #references
    svg = re.sub(r' data-latex="[^"]*"', "", svg)               # the TeX of every node: bulk, no use
    return svg


def tex_to_mathml(tex, display):
    """LaTeX -> MathML, or None if latex2mathml cannot. It has no `aligned`; `split` is the same layout."""
    from latex2mathml.converter import convert

    tex = tex.replace(r"\begin{aligned}", r"\begin{split}").replace(r"\end{aligned}", r"\end{split}")
    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many types; the TeX in aria-label is the fallback
        return None


def equation_html(tex, display, where="?"):
    """The inner HTML of one equation: its SVG, aria-hidden, then the MathML for screen readers."""
    svg = tex_to_svg(tex, display, where)
    mathml = tex_to_mathml(tex, display)
    if mathml is None:
        label = html.escape(tex, quote=True)
        return svg.replace(' role="img"', f' role="img" aria-label="{label}"', 1)
    svg = svg.replace(' role="img" focusable="false"', ' aria-hidden="true" focusable="false"', 1)
    return f'{svg}<span class="math-sr">{mathml}</span>'


def _write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@contextmanager
def _locked(key):
    """An exclusive lock for typesetting the equation `key`, shared by the build's jobs: a job
    that needs an equation another job is typesetting waits for it and reads its file,
    instead of typesetting it again (the pages share many). One of 256 lock files, chosen
    by the key; a crashed holder's lock goes with it. No lock without fcntl (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    folder = CACHE / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / key[:2], "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read(path):
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def typeset(tex, display, where="?"):
    """One equation's HTML, from .cache/math/ when this TeX was typeset before."""
    stats["equations"] += 1
    key = cache_key(tex, display)
    path = CACHE / f"{key}.html"
    inner = _read(path)
    if inner is None:
        with _locked(key):
            inner = _read(path)   # another job typeset it while this one waited
            if inner is None:
                inner = equation_html(tex, display, where)
                _write_atomically(path, inner)  # parallel builds may both write it: same bytes, atomic
    return inner


_aside = {}   # key -> HTML that on_page_content set aside and on_post_page puts back
_ASIDE = re.compile(r"<!--nnfs-aside:([0-9a-f]{32})-->|nnfs-aside:([0-9a-f]{32})")


# What no search needs: SVG (the equations), <style> blocks and base64 images (notebook pages).
_BULK = re.compile(r"<svg\b.*?</svg>|<style\b[^>]*>.*?</style>|data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", re.S)


def set_aside(text):
    """A short stand-in for `text`: <!--nnfs-aside:KEY-->, or nnfs-aside:KEY where it sits in an attribute."""
    key = hashlib.sha256(text.encode()).hexdigest()[:32]
    _aside[key] = text
    return f"<!--nnfs-aside:{key}-->" if text.startswith("<") else f"nnfs-aside:{key}"


def wrap(tex, display, tag=None, where="?"):
    """The equation in its container: <div class="math-display"> (or tag) or <span class="math-inline">."""
    tag = tag or ("div" if display else "span")
    kind = "math-display" if display else "math-inline"
    attribute = html.escape(tex, quote=True)
    return f'<{tag} class="{kind}" data-tex="{attribute}">{typeset(tex, display, where)}</{tag}>'


# ---- finding the math of a page ------------------------------------------------------

_ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$<>\n]+?)(?<!\s)\$(?![\w$])", re.S)


def _arithmatex(match, where):
    body = html.unescape(match.group(2)).strip()
    if body.startswith(r"\(") and body.endswith(r"\)"):
        return wrap(body[2:-2].strip(), False, where=where)
    if body.startswith(r"\[") and body.endswith(r"\]"):
        return wrap(body[2:-2].strip(), True, where=where)
    raise PluginError(f"{where}: unexpected arithmatex output: {body[:60]!r}")


def _notebook_math(text, where):
    def convert(match):
        if match.group(1) is not None:  # a span: nbconvert may have put the math inside a <p>
            return wrap(html.unescape(match.group(1)).strip(), True, tag="span", where=where)
        return wrap(html.unescape(match.group(2)), False, where=where)

    return _NOTEBOOK_MATH.sub(convert, text)


# nbconvert's page template loads MathJax (from an empty URL here) and, for diagrams,
# mermaid from a CDN. We render math ourselves and have no diagrams: drop both.
_NOTEBOOK_SCRIPTS = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->"
    r"|<script type=\"module\">(?:(?!</script>).)*?cdnjs(?:(?!</script>).)*?</script>", re.S)
_MARKDOWN_CELL = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>)', re.S)


def typeset_page(content, where):
    """Every equation of a page's HTML typeset, `where` being the page's source path.
    The build's jobs (exec_job.py, notebook_job.py) call it on the pages they make, so the
    equations are in the cache, typeset on the cores the jobs share, before mkdocs needs them."""
    content = _ARITHMATEX.sub(lambda m: _arithmatex(m, where), content)
    if where.endswith(".py"):  # a notebook: math sits raw in its Markdown cells
        content = _NOTEBOOK_SCRIPTS.sub("", content)
        content = _MARKDOWN_CELL.sub(lambda m: m.group(1) + _notebook_math(m.group(2), where) + m.group(3), content)
    return content


def on_page_content(content, page, config, files):
    content = typeset_page(content, page.file.src_uri)
    return _BULK.sub(lambda m: set_aside(m.group(0)), content)


def on_post_page(output, page, config):
    """Put back what on_page_content set aside."""
    try:
        return _ASIDE.sub(lambda m: _aside[m.group(1) or m.group(2)], output)
    except KeyError as err:
        raise PluginError(f"{page.file.src_uri}: nothing was set aside under the key {err}") from None


def on_pre_build(config):
    stats.update(equations=0, rendered=0, started=0)  # `mkdocs serve` builds again in this process
    _aside.clear()


def on_post_build(config):
    started = "started" if stats["started"] else "not started"
    log.info("nnfs_math: %d equations, %d rendered anew (MathJax %s), the rest from %s",
             stats["equations"], stats["rendered"], started, CACHE)


# ---- typesetting ahead, from the sources ---------------------------------------------

# The Markdown a page's math can sit in; no executed blocks, no snippets: only finding math.
PREFETCH_EXTENSIONS = ["pymdownx.superfences", "pymdownx.arithmatex", "admonition", "pymdownx.details",
                       "tables", "md_in_html", "attr_list", "footnotes"]


_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$", re.M | re.S)


def prefetch(docs_dir):
    """Typeset every equation of the pages under docs_dir into the cache, read from their
    sources: Markdown pages through a Markdown with arithmatex (as mkdocs.yml configures it)
    but without executed blocks or snippets, notebooks from their Markdown cells.

    On a cold build the hook runs this as its first job, on the core that is otherwise idle
    while jobs.py imports what the other jobs need (3 to 4 s). The pages' and notebooks' jobs
    then find their equations in the cache, the notebooks' after they ran. An equation that
    only appears in the built page (from a snippet, a block's output) is typeset by its page's
    job, as before, and one this finds that the build never shows costs only time: the cache
    is keyed by the TeX. Returns how many equations it typeset anew."""
    import markdown

    md = markdown.Markdown(extensions=PREFETCH_EXTENSIONS,
                           extension_configs={"pymdownx.arithmatex": {"generic": True}})
    before = stats["rendered"]
    for path in sorted(Path(docs_dir).rglob("*.md")):
        md.reset()
        source = _FENCE.sub("", path.read_text(encoding="utf-8"))   # code, and fences this Markdown cannot parse
        typeset_page(md.convert(source), path.name)
    notebooks = sorted(Path(docs_dir).rglob("*.py"))
    if notebooks:
        import jupytext

        for path in notebooks:
            for cell in jupytext.read(path).cells:
                if cell.cell_type == "markdown":
                    _notebook_math(cell.source, path.name)
    return stats["rendered"] - before


if __name__ == "__main__":   # the build's job: python nnfs_math.py DOCS_DIR
    import sys

    prefetch(sys.argv[1])

