"""Real-browser test helpers: the built site served on 127.0.0.1, and Debian's Chromium.

test_browser.py and test_playground.py import the fixtures below. The browser is
Debian's /usr/bin/chromium driven by Playwright; `playwright install` is never needed.
Without a Chromium or without Playwright the tests skip, unless CI is set: then they fail.

Every page of a context made by `new_context` is watched: requests to any host but the
local server are aborted and recorded, and console errors, page errors, failed requests
and HTTP errors are collected. `Watch.assert_clean()` fails the test on any of them.
"""

import functools
import http.server
import os
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import ROOT

CHROMIUM = Path(os.environ.get("NNFS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_browser():
    """Skip (or, with CI set, fail) when Playwright or the Chromium binary is missing."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Python playwright is not installed (pip install playwright; its browsers are not needed)"
    if reason is None and not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NNFS_CHROMIUM)"
    if reason:
        if _in_ci():
            pytest.fail(f"browser tests cannot run: {reason}; CI is set, so this is a failure, not a skip")
        pytest.skip(reason)


# ---- the site's pages --------------------------------------------------------------------


def nav_pages():
    """The nav of mkdocs.yml as (name, url path), in order: ("notebooks-training", "notebooks/training/")."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !relative and friends
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]

    def walk(entries):
        for entry in entries:
            for value in (entry.values() if isinstance(entry, dict) else [entry]):
                if isinstance(value, list):
                    yield from walk(value)
                elif isinstance(value, str) and not value.startswith(("http://", "https://")):
                    yield value

    pages = []
    for src in walk(nav):
        stem = src.rsplit(".", 1)[0]
        url = "" if stem == "index" else stem.removesuffix("/index") + "/"
        pages.append((stem.replace("/", "-"), url))
    return pages


# ---- the local server --------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a page closed mid-download
            super().handle_error(request, client_address)


class SiteServer:
    """The built site on http://127.0.0.1:<free port>/, in a thread."""

    def __init__(self, directory):
        self.directory = Path(directory)
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        host, port = self.httpd.server_address[:2]
        self.origin = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return f"{self.origin}/{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- watching a page ---------------------------------------------------------------------


class Watch:
    """What went wrong while pages of one browser context were open."""

    def __init__(self, origin):
        self.origin = origin
        self.foreign = []      # requests to other hosts (aborted)
        self.console = []      # console.error messages
        self.errors = []       # uncaught exceptions
        self.failed = []       # requests that failed, and HTTP errors

    def route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def attach(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.console.append(f"{msg.text} ({msg.location.get('url', '')})"))
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("requestfailed", lambda req: req.url not in self.foreign
                and self.failed.append(f"{req.url}: {req.failure}"))
        page.on("response", lambda res: res.status >= 400 and self.failed.append(f"{res.url}: HTTP {res.status}"))

    def problems(self):
        out = []
        out += [f"request to another host: {url}" for url in self.foreign]
        out += [f"console error: {text}" for text in self.console]
        out += [f"page error: {text}" for text in self.errors]
        out += [f"failed request: {text}" for text in self.failed]
        return out

    def assert_clean(self, what=""):
        problems = self.problems()
        assert not problems, f"{what}:\n  " + "\n  ".join(problems)


def new_context(browser, server, **options):
    """A browser context that may only talk to `server`, with clipboard access; returns (context, watch)."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=server.origin + "/", **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.origin)
    watch = Watch(server.origin)
    context.route("**/*", watch.route)
    context.on("page", watch.attach)
    return context, watch


def open_ready(browser, server, path, ready, **options):
    """A new context (new_context's options) with `path` open, once the page's script object
    `ready` (for example window.nnfsTrain) exists and its `.ready` promise has resolved.
    Returns (context, page, watch)."""
    context, watch = new_context(browser, server, **options)
    page = context.new_page()
    page.goto(path)
    page.wait_for_function(f"{ready} !== undefined")
    page.evaluate(f"{ready}.ready")
    return context, page, watch


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # from the top, so that the sticky header and sidebars sit where a reader sees them
    page.evaluate("() => new Promise(done => { window.scrollTo({top: 0, behavior: 'instant'}); requestAnimationFrame(() => requestAnimationFrame(done)); })")
    page.screenshot(path=str(path), full_page=True)
    return path


# ---- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_available():
    """Session-scoped, so that pytest runs it before the session's site build: a skip builds nothing."""
    require_browser()


@pytest.fixture(scope="module")
def browser(chromium_available):
    """Debian's Chromium, one per test module (skips without it, fails under CI)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(browser, built_site):
    """The strict build, served on 127.0.0.1."""
    served = SiteServer(built_site)
    yield served
    served.close()
