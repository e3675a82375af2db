"""MkDocs hook: every Markdown page with Python code, also as a runnable notebook.

* on_page_markdown (registered after nnfs_site.py, so {{ placeholders }} are filled):
  expand `--8<--` snippets exactly as pymdownx.snippets will, then cut the page into
  cells, in order: each ```python block becomes a code cell, the prose between
  blocks a Markdown cell. Images the page shows are attached to their cell, so the
  notebook stands alone; links to other pages point to the site.
* on_page_content: a "Download as notebook" link at the top of the page.
* on_post_build: write each notebook next to its page, as <page>/<name>.ipynb.

Pages without Python code get no notebook. The notebook pages (docs/notebooks/*.py)
keep the jupytext source that nnfs_jupyter.py copies beside them (include_source), and
get an .ipynb of it too, through jupytext; the build itself executes those.
tests/test_notebooks_download.py runs every notebook in a fresh kernel.
"""

import base64
import hashlib
import html
import json
import mimetypes
import os
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from mkdocs.exceptions import PluginError

# A fenced block: ```python ...``` (any options after the language), or any other language;
# indented inside an admonition or a collapsed `??? success "Solution"` block too.
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)(?P<options>[^\n]*)\n(?P<code>.*?)"
                   r"^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)
# `??? success "Solution"` or `!!! note "Title"`: a notebook shows the title in bold.
ADMONITION = re.compile(r'^(?:\?\?\?\+?|!!!) *[\w-]+(?: +"(?P<title>[^"]*)")?[ \t]*$', re.M)
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<href>[^)\s]+)\)")
OPTION = re.compile(r'(\w+)="([^"]*)"')

_notebooks = {}  # page src_uri -> (site-relative path of the .ipynb, notebook dict)


def _expand_snippets(text, config):
    """The page as pymdownx.snippets will see it: every `--8<--` line replaced by its text."""
    options = dict(config.mdx_configs.get("pymdownx.snippets", {}))
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
    return "\n".join(md.preprocessors["snippet"].run(text.split("\n")))


def _site_link(href, page, files, config):
    """A link to another page of the site: absolute under site_url, else relative to this page."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return href
    src = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), parts.path))
    target = files.get_file_from_path(src)
    if target is None:
        return href
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    if config.site_url:
        return config.site_url.rstrip("/") + "/" + target.url + fragment
    here = page.url if page.url.endswith("/") or not page.url else posixpath.dirname(page.url)
    relative = posixpath.relpath(target.url or ".", here or ".")
    return relative + ("/" if target.url.endswith("/") or not target.url else "") + fragment


# Raw HTML at the start of a line: a whole <div>...</div> (or <section>, <figure>) block, a
# <script> or a stylesheet <link>. The page's interactive parts need the site's scripts.
HTML_BLOCK = re.compile(r"^<(div|section|figure)\b.*?^</\1>[ \t]*$|^<script\b.*?</script>[ \t]*$|^<link\b[^>]*>[ \t]*$",
                        re.M | re.S)


def _interactive_note(page, config):
    where = (config.site_url.rstrip("/") + "/" + page.url) if config.site_url else "the site"
    return f"*(The interactive part of this page runs in the browser, on {where}.)*"


def _markdown_cell(text, page, files, config):
    """Prose as a Markdown cell: page images attached, site links made to work from a notebook."""
    attachments = {}
    noted = []

    def drop_html(match):  # the first block becomes a note, the others (its script, its style) go
        noted.append(match)
        return _interactive_note(page, config) if match.group(1) else ""

    text = HTML_BLOCK.sub(drop_html, text)
    text = ADMONITION.sub(lambda m: f"**{m['title']}**" if m["title"] else "", text)

    def attach(match):
        src = match["src"]
        if urlsplit(src).scheme or src.startswith("data:"):
            return match.group(0)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), src))
        file = files.get_file_from_path(path)
        if file is None or not file.abs_src_path:
            raise PluginError(f"{page.file.src_uri}: image {src} is not a file of the site, so its notebook cannot carry it")
        name = posixpath.basename(path)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        attachments[name] = {mime: base64.b64encode(Path(file.abs_src_path).read_bytes()).decode()}
        return f"![{match['alt']}](attachment:{name})"

    text = IMAGE.sub(attach, text)
    text = LINK.sub(lambda m: f"[{m['text']}]({_site_link(m['href'], page, files, config)})", text)
    cell = {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}
    if attachments:
        cell["attachments"] = attachments
    return cell


def _code_cell(code, options):
    """A code cell. Its metadata says how the page showed the block's output (markdown-exec options)."""
    shown = dict(OPTION.findall(options))
    metadata = {}
    if shown.get("exec") == "true":
        output = "text" if shown.get("result") else ("html" if shown.get("html") == "true" else "markdown")
        metadata["nnfs"] = {"executed_on_page": True, "output": output}
    return {"cell_type": "code", "execution_count": None, "metadata": metadata, "outputs": [],
            "source": code.rstrip("\n")}


def page_to_notebook(text, page, files, config):
    """The page's Markdown (placeholders filled) as an nbformat 4 notebook dict, or None without Python."""
    text = _expand_snippets(text, config)
    cells, prose, at = [], [], 0
    for match in FENCE.finditer(text):
        if match["lang"] != "python":
            continue
        prose.append(text[at:match.start()])
        at = match.end()
        if "".join(prose).strip():
            cells.append(_markdown_cell("".join(prose), page, files, config))
        prose = []
        code = re.sub(rf"^{match['indent']}", "", match["code"], flags=re.M)  # dedent an indented block
        cells.append(_code_cell(code, match["options"]))
    if not any(cell["cell_type"] == "code" for cell in cells):
        return None
    if text[at:].strip():
        cells.append(_markdown_cell(text[at:], page, files, config))
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"  # nbformat 4.5: every cell has an id
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "nnfs": {"page": page.file.src_uri, "site_url": config.site_url or ""},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_path(page):
    """Where the page's notebook goes in the site: beside its index.html, named after the page."""
    folder = posixpath.dirname(page.file.dest_uri)
    return posixpath.join(folder, posixpath.splitext(posixpath.basename(page.file.src_uri))[0] + ".ipynb")


def on_config(config):
    _notebooks.clear()  # `mkdocs serve` rebuilds in one process: start each build afresh
    return config


IPYNB_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "ipynb"


def jupytext_notebook(path):
    """A notebook page's source (docs/notebooks/*.py, jupytext percent format) as an .ipynb,
    without outputs. Cached by the source's bytes and jupytext's version: a warm build never
    imports jupytext, and on a cold one the notebook's job (notebook_job.py) fills the cache."""
    from importlib.metadata import version

    source = Path(path).read_bytes()
    key = hashlib.sha256(source + f"\0jupytext {version('jupytext')}".encode()).hexdigest()[:32]
    cached = IPYNB_CACHE / f"{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    import jupytext
    import nbformat

    notebook = json.loads(nbformat.writes(jupytext.reads(source.decode("utf-8"), fmt="py")))
    IPYNB_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
    tmp.write_text(json.dumps(notebook), encoding="utf-8")
    tmp.replace(cached)
    return notebook


def on_page_markdown(markdown_text, page, config, files):
    if page.file.src_uri.endswith(".py"):  # a notebook page: nnfs_jupyter.py copies the .py beside it
        _notebooks[page.file.src_uri] = (notebook_path(page), jupytext_notebook(page.file.abs_src_path))
        return markdown_text
    if not page.file.src_uri.endswith(".md"):
        return markdown_text
    notebook = page_to_notebook(markdown_text, page, files, config)
    if notebook is None:
        _notebooks.pop(page.file.src_uri, None)
    else:
        _notebooks[page.file.src_uri] = (notebook_path(page), notebook)
    return markdown_text


DOWNLOAD_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true" '
                 'style="height: 1.2em; vertical-align: -0.25em; fill: currentColor">'
                 '<path d="M5 20h14v-2H5m14-9h-4V3H9v6H5l7 7 7-7Z"/></svg>')


def on_page_content(content, page, config, files):
    if page.file.src_uri not in _notebooks:
        return content
    path, _ = _notebooks[page.file.src_uri]
    href = posixpath.basename(path)  # the notebook sits beside the page's index.html
    link = (f'<a href="{html.escape(href)}" download '
            f'title="This page as a Jupyter notebook: prose, code and snippets, ready to run">'
            f'{DOWNLOAD_ICON} Download as notebook</a>')
    if page.file.src_uri.endswith(".py"):  # the jupytext source that nnfs_jupyter.py copies beside the page
        source = posixpath.basename(page.file.src_uri)
        link += f' · <a href="{html.escape(source)}" download>or as a Python script ({html.escape(source)})</a>'
    paragraph = f'<p class="nnfs-notebook-download">{link}</p>\n'
    end = content.find("</h1>")
    if page.file.src_uri.endswith(".md") and end != -1:  # under the page's title
        return content[:end + 5] + "\n" + paragraph + content[end + 5:]
    return paragraph + content


def on_post_build(config):
    site = Path(config.site_dir)
    for path, notebook in _notebooks.values():
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
