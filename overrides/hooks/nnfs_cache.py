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
"""

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.nnfs_cache")
ROOT_CACHE = Path(__file__).resolve().parents[2] / ".cache"
CACHE = ROOT_CACHE / "search"
stats = {"hits": 0, "misses": 0}
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


def on_pre_build(config):
    stats.update(hits=0, misses=0)
    _indexed.clear()
    if not install():
        log.warning("nnfs_cache: material's SearchIndex changed; search entries are not cached")


def on_env(env, config, files):
    from jinja2 import FileSystemBytecodeCache

    folder = ROOT_CACHE / "jinja"
    folder.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(folder))
    return env


def on_post_build(config):
    log.info("nnfs_cache: %d pages indexed for search from the cache, %d parsed", stats["hits"], stats["misses"])
