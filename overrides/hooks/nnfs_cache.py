"""MkDocs hook: keep the work of the theme and the search plugin from one build to the next.

* Search: index a page only when its HTML changed. Material's search plugin parses every
  page's HTML with Python's html.parser on every build, about a second for this site. A
  page's search entries depend only on its HTML, its URL, its table of contents, its
  title and its `search` metadata, so this hook wraps `SearchIndex.add_entry_from_context`:
  the entries of a page are stored in .cache/search/<hash of those>.json, and read back
  while none of them changes. A warm build after a prose edit parses one page. A page is
  indexed as soon as its HTML is final (on_page_content): on a cold build, while the
  build's jobs still run, rather than after the last of them. If a Material release
  renames what is wrapped here, the hook leaves the plugin as it is, and every build
  parses every page again: slower, never wrong.
* Templates: Jinja compiles the theme's templates to Python on every build; with a
  bytecode cache in .cache/jinja it compiles a template again only when its source
  changed (Jinja checks each template's modification time).
* Markdown pages: converting the 15 Markdown pages to HTML (their code highlighted by
  Pygments) took 0.85 s of a 2.2 s warm build. A page's conversion depends on its Markdown
  (its {{ placeholders }} already filled), its path, the site's files (links are checked
  and rewritten against them), and what its snippets and executed blocks read: the files
  its snippets name, every file of docs/ but the pages, mkdocs.yml, these hooks, the
  Markdown libraries' versions, and the nnfs source and the dataset, which the build's key
  covers. This hook wraps mkdocs' `Page.render`: what it sets (the HTML, the table of
  contents, the title, the anchors present and the links to anchors) is stored in
  .cache/pages/<build key>/<hash of all that>.json (nnfs_site names the folder) and read
  back while none of it
  changes. A render that logged a warning is not stored, so a broken link is reported on
  every build. If mkdocs changes what `render` sets, the hook leaves it as it is.
"""

import hashlib
import json
import logging
import os
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.nnfs_cache")
ROOT_CACHE = Path(__file__).resolve().parents[2] / ".cache"
CACHE = ROOT_CACHE / "search"
stats = {"hits": 0, "misses": 0, "pages from the cache": 0, "pages rendered": 0}
_indexed = set()   # keys of the pages on_page_content indexed in this build


def _toc(items):
    return [(item.title, item.url, _toc(item.children)) for item in items]


def page_key(page):
    """The hash of everything a page's search entries are made from."""
    parts = [page.content or "", page.url, str(page.title), json.dumps(page.meta.get("search"), sort_keys=True),
             json.dumps(page.meta.get("tags"), sort_keys=True), json.dumps(_toc(page.toc))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def cached(add_entry_from_context):
    def add_entry(index, page):
        key = page_key(page)
        path = CACHE / f"{key}.json"
        try:
            index.entries.extend(json.loads(path.read_text(encoding="utf-8")))
            stats["hits"] += key not in _indexed   # indexed earlier in this build: counted there
            return
        except (OSError, ValueError):
            pass
        before = len(index.entries)
        add_entry_from_context(index, page)
        stats["misses"] += 1
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(index.entries[before:]), encoding="utf-8")
        tmp.replace(path)

    add_entry.uncached = add_entry_from_context
    return add_entry


def install():
    try:
        from material.plugins.search.plugin import SearchIndex
    except ImportError:
        return False
    method = getattr(SearchIndex, "add_entry_from_context", None)
    if method is None or not hasattr(SearchIndex(), "entries"):
        return False
    SearchIndex.add_entry_from_context = cached(getattr(method, "uncached", method))
    return True


def on_page_content(html, page, config, files):
    """Index the page for search as soon as its HTML is final (this hook comes last), into
    the cache where the search plugin's on_page_context finds it. On a cold build mkdocs
    renders pages while the build's jobs still run (nnfs_site.py), so the parsing happens
    beside them instead of after the last one."""
    from material.plugins.search.plugin import SearchIndex

    search = config.plugins.get("material/search") or config.plugins.get("search")
    index = getattr(search, "search_index", None)
    enabled = getattr(getattr(search, "config", None), "enabled", True)
    if not enabled or not isinstance(index, SearchIndex) or not hasattr(SearchIndex.add_entry_from_context, "uncached"):
        return html
    before, page.content = page.content, html
    try:
        key = page_key(page)
        if key not in _indexed and not (CACHE / f"{key}.json").is_file():
            SearchIndex.add_entry_from_context(SearchIndex(**index.config), page)   # parses, stores
            _indexed.add(key)
    finally:
        page.content = before
    return html


# ---- Markdown pages -------------------------------------------------------------------

_RENDERED = ("content", "toc", "_title_from_render", "present_anchor_ids", "links_to_anchors")
_context = {}   # id(files) -> the hash of what every page's conversion depends on, in this build
_pages = {"dir": None}   # this build's folder of pages, named by nnfs_site


def set_pages_dir(folder):
    """nnfs_site.py's on_config names this build's folder for the pages (it follows the build
    key, which covers the nnfs source and the dataset). Without one, pages are not cached."""
    _pages["dir"] = Path(folder)


def _context_key(config, files):
    """What every page's conversion depends on, besides its own Markdown and path (the
    nnfs source and the dataset: the folder's build key)."""
    key = _context.get(id(files))
    if key is None:
        root = Path(config.config_file_path).parent
        h = hashlib.sha256(f"{config.use_directory_urls}\0".encode())
        for package in ("mkdocs", "markdown", "pymdown-extensions", "pygments", "markdown-exec", "mkdocs-material"):
            try:
                h.update(f"{package} {version(package)}\0".encode())
            except PackageNotFoundError:
                h.update(f"{package} none\0".encode())
        sources = [Path(config.config_file_path), *sorted(Path(__file__).parent.glob("*.py")),
                   *sorted(p for p in Path(config.docs_dir).rglob("*") if p.suffix != ".md")]  # a page's own: its key
        for path in sources:
            if path.is_file():
                h.update(_relative(path, root).encode() + b"\0" + path.read_bytes() + b"\0")
        h.update("\0".join(sorted(f.src_uri for f in files)).encode())
        key = _context[id(files)] = h.hexdigest()
    return key


def _relative(path, root):
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


_SNIPPET = re.compile(r'--8<--[ \t]*"([^"]+)"|^--8<--[ \t]*\n(.*?)^--8<--[ \t]*$', re.M | re.S)


def _snippet_files(markdown, root):
    """The bytes of the files a page's snippets name ("path" or "path:section", or a block of
    paths between two --8<-- lines): a Markdown page it quotes is not in the context key."""
    names = set()
    for inline, block in _SNIPPET.findall(markdown):
        names.update([inline] if inline else [line.strip() for line in block.splitlines() if line.strip()])
    parts = []
    for name in sorted(names):
        path = root / name.split(":")[0]
        parts.append(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
    return b"\0".join(parts)


def _toc_to_json(items):
    return [{"title": i.title, "id": i.id, "level": i.level, "children": _toc_to_json(i.children)} for i in items]


def _toc_from_json(items):
    from mkdocs.structure.toc import AnchorLink, TableOfContents

    def link(item):
        anchor = AnchorLink(item["title"], item["id"], item["level"])
        anchor.children = [link(child) for child in item["children"]]
        return anchor

    links = [link(item) for item in items]
    if links:
        links[0].active = True   # as mkdocs' get_toc marks it
    return TableOfContents(links)


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record):
        self.count += 1


def cached_render(render):
    def render_once(page, config, files):
        if _pages["dir"] is None:
            return render(page, config, files)
        key = hashlib.sha256(f"{_context_key(config, files)}\0{page.file.src_uri}\0{page.markdown}\0".encode())
        key.update(_snippet_files(page.markdown, Path(config.config_file_path).parent))
        path = _pages["dir"] / f"{key.hexdigest()[:32]}.json"
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if stored is not None:
            page.content, page.toc = stored["content"], _toc_from_json(stored["toc"])
            page._title_from_render = stored["title"]
            page.present_anchor_ids = set(stored["anchors"])
            if logging.getLogger("mkdocs").getEffectiveLevel() > logging.DEBUG:
                page.links_to_anchors = {files.get_file_from_path(uri): links
                                         for uri, links in stored["links"].items()}
            stats["pages from the cache"] += 1
            return
        warnings = _Warnings()
        loggers = [logging.getLogger(), logging.getLogger("mkdocs")]
        for logger in loggers:
            logger.addHandler(warnings)
        try:
            render(page, config, files)
        finally:
            for logger in loggers:
                logger.removeHandler(warnings)
        stats["pages rendered"] += 1
        links = getattr(page, "links_to_anchors", None) or {}
        if warnings.count or any(f is None for f in links):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"content": page.content, "toc": _toc_to_json(page.toc.items),
                                   "title": page._title_from_render, "anchors": sorted(page.present_anchor_ids),
                                   "links": {f.src_uri: anchors for f, anchors in links.items()}}), encoding="utf-8")
        tmp.replace(path)

    render_once.uncached = render
    return render_once


def install_pages():
    """Wrap mkdocs' Page.render, if it still sets what cached_render stores."""
    import inspect

    from mkdocs.structure.pages import Page

    render = getattr(Page.render, "uncached", Page.render)
    source = inspect.getsource(render)
    if not all(f"self.{name} =" in source for name in _RENDERED):
        Page.render = render
        return False
    Page.render = cached_render(render)
    return True


def on_pre_build(config):
    stats.update({name: 0 for name in stats})
    _indexed.clear()
    _context.clear()
    if not install_pages():
        log.warning("nnfs_cache: mkdocs' Page.render changed; Markdown pages are not cached")
    if not install():
        log.warning("nnfs_cache: material's SearchIndex changed; search entries are not cached")


def on_env(env, config, files):
    from jinja2 import FileSystemBytecodeCache

    folder = ROOT_CACHE / "jinja"
    folder.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(folder))
    return env


def on_post_build(config):
    log.info("nnfs_cache: %d pages indexed for search from the cache, %d parsed; %d Markdown pages converted, "
             "%d from the cache", stats["hits"], stats["misses"], stats["pages rendered"], stats["pages from the cache"])
