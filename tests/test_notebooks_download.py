"""Every Markdown page with Python code downloads as a notebook that runs and prints what the page shows.

The build (overrides/hooks/nnfs_notebooks.py) writes <page>/<name>.ipynb beside each
such page and links it from the top of the page. Here each notebook is checked for
its cells (prose as Markdown, the page's Python blocks as code, in order, snippets
expanded, placeholders filled), then executed top to bottom in a fresh kernel with
nbclient. Every block the page ran at build time (markdown-exec) must print, in the
notebook, what the page shows for it, up to timings.
"""

import html
import json
import re

import markdown
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from test_pages import markdown_pages, python_blocks

pytestmark = pytest.mark.slow

PAGES_WITH_CODE = [page for page in markdown_pages() if python_blocks(page)]
TIMING = re.compile(r"\d+(?:[.,]\d+)*\s*(?:s|ms|µs|seconds?|milliseconds?)\b")
DOWNLOAD = re.compile(r'<a href="(?P<href>[^"]+\.ipynb)" download\b[^>]*>.*?Download as notebook</a>', re.S)


def page_dir(site, page):
    stem = page.removesuffix(".md")
    return site if stem == "index" else site / stem


def notebook_file(site, page):
    return page_dir(site, page) / (page.removesuffix(".md").rsplit("/", 1)[-1] + ".ipynb")


def mask_time_columns(text):
    """In a printed table whose header has 'seconds' or 'cpu_seconds' columns, their values read '<time>'."""
    lines, column, width = text.splitlines(), None, 0
    for i, line in enumerate(lines):
        fields = line.split()
        if "seconds" in fields or "cpu_seconds" in fields:
            column = [j for j, name in enumerate(fields) if name in ("seconds", "cpu_seconds")]
            width = len(fields)
        elif column is not None and len(fields) == width:
            for j in column:
                fields[j] = "<time>"
            lines[i] = " ".join(fields)
        else:
            column = None
    return "\n".join(lines)


def normalise(text):
    """Whitespace collapsed and timings masked: '0.38 s', '1.2 seconds' and a seconds column read '<time>'."""
    return re.sub(r"\s+", " ", TIMING.sub("<time>", mask_time_columns(text))).strip()


def html_text(fragment):
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)))


def tokens(text):
    return re.findall(r"<time>|[\w.%+-]+", text)


def not_in_order(wanted, shown):
    """The first of `wanted` that does not follow the previous ones in `shown`, or None."""
    found = iter(shown)
    for token in wanted:
        if not any(token == s for s in found):
            return token
    return None


def test_pages_with_code_are_known():
    assert {"softmax.md", "backprop.md", "data.md"} <= set(PAGES_WITH_CODE)


@pytest.mark.parametrize("page", markdown_pages())
def test_each_page_with_code_links_its_notebook(built_site, page):
    page_html = (page_dir(built_site, page) / "index.html").read_text(encoding="utf-8")
    links = DOWNLOAD.findall(page_html)
    if page not in PAGES_WITH_CODE:
        assert not links and not notebook_file(built_site, page).exists(), page
        return
    assert links == [notebook_file(built_site, page).name], f"{page}: download links {links}"
    assert (page_dir(built_site, page) / links[0]).is_file()


NOTEBOOK_PAGES = ["training", "results", "going_further"]


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_notebook_pages_keep_their_own_download(built_site, name):
    """The notebook pages keep the copy of their source nnfs_jupyter.py puts beside them, linked, and get an .ipynb too.

    They are not run again here: the strict build has just executed every cell of them."""
    import jupytext

    folder = built_site / "notebooks" / name
    page_html = (folder / "index.html").read_text(encoding="utf-8")
    assert DOWNLOAD.findall(page_html) == [f"{name}.ipynb"], name
    assert f'<a href="{name}.py" download>' in page_html
    assert (folder / f"{name}.py").read_text() == (ROOT / "docs" / "notebooks" / f"{name}.py").read_text()
    nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    source = jupytext.read(ROOT / "docs" / "notebooks" / f"{name}.py")
    assert [c.source for c in nb.cells] == [c.source for c in source.cells]


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_notebook_cells_follow_the_page(built_site, page):
    nb = nbformat.read(notebook_file(built_site, page), as_version=4)
    nbformat.validate(nb)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert code == [block.rstrip("\n") for block in python_blocks(page)], f"{page}: code cells differ from the page's blocks"
    prose = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "--8<--" not in prose and "{{" not in prose
    article = (page_dir(built_site, page) / "index.html").read_text(encoding="utf-8").split("<article", 1)[1]
    shown = re.findall(r'class="headerlink"', article.split("</article>", 1)[0])  # Markdown headings only
    outside_code = re.sub(r"^(`{3,}|~{3,}).*?^\\1", "", prose, flags=re.M | re.S)
    assert len(re.findall(r"^#{1,6} ", outside_code, re.M)) == len(shown), f"{page}: headings differ"
    kinds = [cell.cell_type for cell in nb.cells]
    assert all(a != b or a == "code" for a, b in zip(kinds, kinds[1:])), "two Markdown cells in a row"
    for cell in nb.cells:
        for name in cell.get("attachments", {}):
            assert f"attachment:{name}" in cell.source


def run(nb, tmp_path):
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def printed(cell):
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_notebook_runs_and_prints_what_the_page_shows(built_site, page, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The build runs the page's blocks with one BLAS thread (nnfs/threads.py); the same
    # threads give the same float sums, so last-digit numbers such as 5.6e-17 agree too.
    from nnfs.threads import thread_env

    for name, value in thread_env(1).items():
        monkeypatch.setenv(name, value)
    nb = run(nbformat.read(notebook_file(built_site, page), as_version=4), tmp_path)  # raises on any error
    page_html = (page_dir(built_site, page) / "index.html").read_text(encoding="utf-8")
    shown_code = [normalise(html.unescape(re.sub(r"<[^>]+>", "", c)))
                  for c in re.findall(r"<code[^>]*>(.*?)</code>", page_html, re.S)]
    shown_tokens = tokens(normalise(html_text(page_html)))
    checked = 0
    for number, cell in enumerate(nb.cells):
        how = cell.metadata.get("nnfs", {}).get("output")
        if how is None or cell.cell_type != "code" or not printed(cell).strip():
            continue
        out, where = printed(cell), f"{page}, cell {number}"
        if how == "text":
            assert normalise(out) in shown_code, f"{where} printed\n{out}\nwhich the page does not show"
        elif how == "markdown":  # the page renders it: compare its words and numbers, in order, math aside
            rendered = html_text(markdown.markdown(re.sub(r"\$[^$]*\$", " ", out), extensions=["tables"]))
            missing = not_in_order(tokens(normalise(rendered)), shown_tokens)
            assert not missing, f"{where} printed\n{out}\nbut the page does not show {missing!r} there"
        else:  # html: the page shows the same images, described by the same alt text
            for alt in re.findall(r'alt="([^"]*)"', out):
                assert f'alt="{html.escape(alt, quote=True)}"' in page_html or f'alt="{alt}"' in page_html, where
        checked += 1
    executed = sum(1 for cell in nb.cells if cell.metadata.get("nnfs", {}).get("executed_on_page"))
    assert executed == 0 or checked > 0, f"{page}: no executed block printed anything to compare"
