"""MkDocs hook: train once per change of code or data, fill numbers in, render math.

* on_config: forget the nnfs modules an earlier build of `mkdocs serve` imported;
  hash the nnfs source, pipeline.py and the dataset into a key. If
  .cache/nnfs-site/<key>/ is missing, run pipeline.py into it in a fresh process
  (atomically: a temporary folder, then a rename).
  Point mkdocs-jupyter's cache at .cache/mkdocs-jupyter/<key>/, so notebook
  outputs are reused only while the code and the data they ran on are unchanged.
* on_files: publish the build's figures and JSON under generated/.
* on_page_markdown: replace {{ name }} or {{ name:format }} by results.json values.
  An unknown name fails the build.
* on_page_content: turn LaTeX into MathML with latex2mathml, so math renders with
  no JavaScript and no network.
"""

import hashlib
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.nnfs_site")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache"

_state = {}


def _build(out, spec):
    """Run pipeline.py in a fresh process (so it runs the nnfs code on disk) into a
    temporary folder, then rename that to `out`: a crash never leaves half a build."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        result = subprocess.run([sys.executable, str(HERE / "pipeline.py"), str(tmp), spec],
                                capture_output=True, text=True)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["(no output)"]
            raise PluginError(f"training for the site failed: {lines[-1]}")
        try:
            tmp.rename(out)
        except OSError:
            if not (out / "results.json").exists():  # else a parallel build got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _recent(path, seconds=3600):
    """A temporary build folder young enough to belong to a build still running."""
    return time.time() - path.stat().st_mtime < seconds


def _key(dataset):
    h = hashlib.sha256()
    for path in sorted((ROOT / "nnfs").rglob("*.py")) + [HERE / "pipeline.py"]:
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(dataset.identity.encode())
    h.update(_mnist_test_files().encode())  # Going further scores on it when it is cached
    return h.hexdigest()[:16]


def _mnist_test_files():
    """Names and sizes of the cached MNIST test files, "" when there are none."""
    from nnfs.data import MNIST_PARTS, resolve_cache_dir

    folder = resolve_cache_dir()
    candidates = [folder / name for name in MNIST_PARTS["test"]]
    candidates += [folder / name.removesuffix(".gz") for name in MNIST_PARTS["test"]]
    return ",".join(f"{p.name}:{p.stat().st_size}" for p in candidates if p.is_file())


def _forget_nnfs():
    """`mkdocs serve` rebuilds in one long-lived process. Drop the nnfs modules an earlier
    build imported, so this build's executed blocks import the code now on disk."""
    for name in [name for name in sys.modules if name == "nnfs" or name.startswith("nnfs.")]:
        del sys.modules[name]


def on_config(config):
    _forget_nnfs()
    from nnfs.data import load_dataset

    spec = os.environ.get("NNFS_DATASET", "sample")
    try:
        dataset = load_dataset(spec)
    except (ValueError, FileNotFoundError) as err:
        raise PluginError(f"NNFS_DATASET={spec!r}: {err}") from None
    key = _key(dataset)
    out = CACHE / "nnfs-site" / key
    if not (out / "results.json").exists():
        log.info("nnfs: training for the site (key %s, %s)", key, dataset.description)
        _build(out, spec)
    for kind in ("nnfs-site", "mkdocs-jupyter"):  # keep only what the current key uses
        for old in (CACHE / kind).iterdir() if (CACHE / kind).is_dir() else ():
            if old.name != key and not (old.name.startswith(".") and _recent(old)):
                shutil.rmtree(old, ignore_errors=True)

    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = str(CACHE / "mkdocs-jupyter" / key)
    _state.update(key=key, out=out, results=json.loads((out / "results.json").read_text()))
    return config


def on_files(files, config):
    for path in sorted(_state["out"].iterdir()):
        if path.suffix in (".png", ".json", ".gz"):  # .gz: the Train page's digits
            files.append(File.generated(config, f"generated/{path.name}", abs_src_path=str(path)))
    return files


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([^}]*?))?\s*\}\}")


def on_page_markdown(markdown, page, config, files):
    results = _state["results"]

    def fill(match):
        name, spec = match.group(1), match.group(2) or ""
        if name not in results:
            raise PluginError(f"{page.file.src_uri}: unknown placeholder {{{{ {name} }}}}; known: {', '.join(sorted(results))}")
        return format(results[name], spec)  # {{ dev_accuracy:.1% }} -> 87.7%

    return _PLACEHOLDER.sub(fill, markdown)


# ---- math --------------------------------------------------------------------

_ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$<>\n]+?)(?<!\s)\$(?![\w$])", re.S)


def tex_to_mathml(tex, display):
    """LaTeX -> MathML. latex2mathml has no `aligned`; `split` is the same layout."""
    from latex2mathml.converter import convert

    tex = tex.replace(r"\begin{aligned}", r"\begin{split}").replace(r"\end{aligned}", r"\end{split}")
    return convert(tex, display="block" if display else "inline")


def _arithmatex(match):
    body = html.unescape(match.group(2)).strip()
    if body.startswith(r"\(") and body.endswith(r"\)"):
        return tex_to_mathml(body[2:-2], display=False)
    if body.startswith(r"\[") and body.endswith(r"\]"):
        return f'<div class="math-display">{tex_to_mathml(body[2:-2], display=True)}</div>'
    raise PluginError(f"unexpected arithmatex output: {body[:60]!r}")


def _notebook_math(text):
    def convert(match):
        if match.group(1) is not None:  # a span: nbconvert may have put the math inside a <p>
            return f'<span class="math-display">{tex_to_mathml(html.unescape(match.group(1)), True)}</span>'
        return tex_to_mathml(html.unescape(match.group(2)), False)

    return _NOTEBOOK_MATH.sub(convert, text)


# nbconvert's page template loads MathJax (from an empty URL here) and, for diagrams,
# mermaid from a CDN. We render math ourselves and have no diagrams: drop both.
_NOTEBOOK_SCRIPTS = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->"
    r"|<script type=\"module\">(?:(?!</script>).)*?cdnjs(?:(?!</script>).)*?</script>", re.S)
_MARKDOWN_CELL = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>)', re.S)


def on_page_content(content, page, config, files):
    content = _ARITHMATEX.sub(_arithmatex, content)
    if page.file.src_uri.endswith(".py"):  # a notebook: math sits raw in its Markdown cells
        content = _NOTEBOOK_SCRIPTS.sub("", content)
        content = _MARKDOWN_CELL.sub(lambda m: m.group(1) + _notebook_math(m.group(2)) + m.group(3), content)
    return content
