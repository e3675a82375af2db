"""The site works under any URL prefix, and from a plain static server, in a real browser.

GitHub Pages serves a project site under https://USER.github.io/REPO/, and answers a
missing path with the site's 404.html. Here the one built site is served

* under http://127.0.0.1:PORT/some/prefix/ with nothing at the root, missing pages
  answered by 404.html with status 404 (what Pages does), and
* by `python -m http.server` on the site folder: no rewriting, no index fallback,

and every page is opened in Chromium: each page, image, stylesheet, script, the
search (its index and a result opened), the playground's model and digits and every
download link must load, with no HTTP error and no request to another host.

The 404 page is the one page whose links are absolute: MkDocs writes them from
site_url. It is checked as the workflow builds it (site_url = the Pages address,
here .../some/prefix/) under the prefix, and as a local build has it (no site_url)
at the server root.
"""

import functools
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from browser import _QuietHandler, _Server, browser, chromium_available, nav_pages, new_context  # noqa: F401
from conftest import ROOT, mkdocs_build
from test_browser import check_images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PREFIX = "/some/prefix/"
PAGES = nav_pages()
PAGE_IDS = [name for name, _ in PAGES]


# ---- servers -----------------------------------------------------------------------------


class PagesLikeServer:
    """The site under `prefix` only; anything else is 404. A missing file under the prefix
    gets the site's 404.html with status 404, as GitHub Pages does."""

    def __init__(self, site, prefix):
        site, self.prefix = Path(site), prefix

        class Handler(_QuietHandler):
            def translate_path(self, path):
                path = urlsplit(path).path
                if not path.startswith(prefix):
                    return str(site / ".nothing-outside-the-prefix" / path.lstrip("/"))  # never a file
                return super().translate_path("/" + path[len(prefix):])

            def send_error(self, code, message=None, explain=None):
                page = site / "404.html"
                if code != 404 or not urlsplit(self.path).path.startswith(prefix) or not page.is_file():
                    return super().send_error(code, message, explain)
                body = page.read_bytes()
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
        self.origin = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.root = self.origin + prefix
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class PlainServer:
    """`python -m http.server` on the site folder, in its own process."""

    def __init__(self, site):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                         "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.origin = f"http://127.0.0.1:{port}"
        self.root = self.origin + "/"
        for _ in range(200):
            try:
                urllib.request.urlopen(self.root, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("python -m http.server did not start")

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module", params=["prefix", "plain"])
def served(request, browser, built_site):  # noqa: F811
    server = PagesLikeServer(built_site, PREFIX) if request.param == "prefix" else PlainServer(built_site)
    server.kind = request.param
    yield server
    server.close()


def test_nothing_is_served_at_the_root(built_site):
    server = PagesLikeServer(built_site, PREFIX)
    try:
        for url in (server.origin + "/", server.origin + "/index.html", server.origin + "/assets/site.css"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(url, timeout=10)
            assert error.value.code == 404, url
        assert urllib.request.urlopen(server.root, timeout=10).status == 200
    finally:
        server.close()


# ---- every page --------------------------------------------------------------------------

# Links a page offers for download, and the files the page itself fetches.
DOWNLOADS = """() => [...document.querySelectorAll('a[href]')]
    .filter(a => a.hasAttribute('download') || /\\.(ipynb|py|json|npz|csv|png)$/.test(new URL(a.href).pathname))
    .map(a => a.href)"""
LOADED = """() => performance.getEntriesByType('resource').map(e => e.name)"""


def check_links(page, origin):
    """Every same-host link of the page answers 200 (fragments aside); returns the problems."""
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    problems = []
    for href in sorted({h.split("#")[0] for h in hrefs if h.startswith(origin)}):
        response = page.request.get(href)
        if response.status != 200:
            problems.append(f"link {href}: HTTP {response.status}")
    return problems


@pytest.mark.parametrize("name, url", PAGES, ids=PAGE_IDS)
def test_page_loads_everything(browser, served, name, url):  # noqa: F811
    context, watch = new_context(browser, served)
    try:
        page = context.new_page()
        response = page.goto(served.root + url, wait_until="load")
        assert response is not None and response.status == 200, f"{served.root + url}: HTTP {response and response.status}"
        if name == "playground":
            page.evaluate("window.nnfsPlayground.ready")
            page.evaluate("window.nnfsPlayground.loadDevDigit(0)")
            assert len(page.evaluate("window.nnfsPlayground.probabilities()")) == 10
        problems = [f"image did not load: {src}" for src in check_images(page)["bad"]]
        loaded = page.evaluate(LOADED)
        assert any(u.endswith(".css") for u in loaded) and any(u.endswith(".js") for u in loaded), loaded
        if name == "playground":
            assert any(u.endswith("generated/model.json") for u in loaded), loaded
            assert any(u.endswith("generated/dev-digits.json") for u in loaded), loaded
        styled = page.evaluate("getComputedStyle(document.querySelector('.md-header')).position")
        assert styled in ("sticky", "fixed"), "Material's stylesheet did not apply"
        for href in page.evaluate(DOWNLOADS):
            if href.startswith(served.origin):
                response = page.request.get(href)
                if response.status != 200 or not response.body():
                    problems.append(f"download {href}: HTTP {response.status}")
        problems += check_links(page, served.origin)
        problems += [f"loaded from elsewhere: {u}" for u in loaded if not u.startswith((served.origin, "data:", "blob:"))]
        problems += watch.problems()
        assert not problems, f"{name} on the {served.kind} server:\n  " + "\n  ".join(problems)
    finally:
        context.close()


def test_search_finds_and_opens_a_page(browser, served):  # noqa: F811
    context, watch = new_context(browser, served)
    try:
        page = context.new_page()
        page.goto(served.root + "softmax/", wait_until="load")
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("overflow", delay=20)
        first = page.locator(".md-search-result__item a").first
        first.wait_for(timeout=20_000)
        href = first.get_attribute("href")
        assert urljoin(page.url, href).startswith(served.root), href
        with page.expect_navigation():
            first.click()
        assert page.url.startswith(served.root) and page.locator("article h1").count() == 1, page.url
        watch.assert_clean(f"search on the {served.kind} server")
    finally:
        context.close()


# ---- the 404 page ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_with_url(tmp_path_factory, built_site):
    """The site as the workflow builds it: site_url is the Pages address (a warm build: caches are shared)."""
    site = tmp_path_factory.mktemp("site-with-url")
    old = os.environ.get("SITE_URL")
    os.environ["SITE_URL"] = "https://someone.github.io" + PREFIX
    try:
        result = mkdocs_build(ROOT, site)
    finally:
        os.environ.pop("SITE_URL") if old is None else os.environ.__setitem__("SITE_URL", old)
    assert result.returncode == 0, result.stderr[-4000:]
    return site


def check_404(browser, server, missing):  # noqa: F811
    """A missing page: status 404, Material's look, and a link home that works."""
    context, watch = new_context(browser, server)
    try:
        page = context.new_page()
        response = page.goto(server.root + missing, wait_until="load")
        assert response.status == 404
        # the 404 response itself is expected: drop it, and the console's note about it
        watch.failed = [f for f in watch.failed if not f.startswith(server.root + missing)]
        watch.console = [c for c in watch.console if not c.endswith(f"({server.root + missing})")]
        assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") in ("sticky", "fixed")
        assert page.locator("article h1").inner_text().strip().startswith("404")
        home = page.locator("article a.nnfs-home")
        assert home.count() == 1, "the 404 page has no link home in its text"
        assert home.evaluate("a => a.href") == server.root, home.get_attribute("href")
        logo = page.locator("a.md-logo").first
        assert logo.evaluate("a => a.href") == server.root, logo.get_attribute("href")
        home.click()
        page.wait_for_url(server.root, timeout=20_000)
        assert page.locator("article h1").count() == 1
        watch.assert_clean("the 404 page")
    finally:
        context.close()


def test_404_under_a_prefix_with_site_url(browser, site_with_url):  # noqa: F811
    server = PagesLikeServer(site_with_url, PREFIX)
    try:
        check_404(browser, server, "no/such/page/")
    finally:
        server.close()


def test_404_at_the_root_without_site_url(browser, built_site):  # noqa: F811
    server = PagesLikeServer(built_site, "/")
    try:
        check_404(browser, server, "no/such/page/")
    finally:
        server.close()


def test_site_url_changes_nothing_but_the_404_page(built_site, site_with_url):
    """Every other page links relatively, so one build serves under any prefix."""
    refs = re.compile(r'\b(?:href|src)="([^"]*)"')
    for html in built_site.rglob("*.html"):
        if html.name == "404.html":
            continue
        other = site_with_url / html.relative_to(built_site)
        strip = lambda text: [r for r in refs.findall(text) if not r.startswith("https://someone.github.io")]  # noqa: E731
        assert strip(html.read_text(encoding="utf-8")) == strip(other.read_text(encoding="utf-8")), html
    assert 'href="/some/prefix/' in (site_with_url / "404.html").read_text(encoding="utf-8")
