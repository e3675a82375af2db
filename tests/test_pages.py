"""Every Python block on every Markdown page runs, after snippet expansion, in page order.

Readers copy these blocks into their own sessions, so each page's blocks are executed
top to bottom in one fresh namespace, exactly as the page shows them.
"""

import re

import markdown
import pytest
import yaml

from conftest import ROOT

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})python\b[^\n]*\n(?P<code>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)


def markdown_pages():
    """The Markdown pages of the nav, in nav order."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !relative and friends
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]
    return [path for entry in nav for path in entry.values() if path.endswith(".md")]


def expand_snippets(text):
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={
        "pymdownx.snippets": {"base_path": [str(ROOT)], "check_paths": True, "dedent_subsections": True}})
    return "\n".join(md.preprocessors["snippet"].run(text.split("\n")))


def python_blocks(page):
    text = expand_snippets((ROOT / "docs" / page).read_text(encoding="utf-8"))
    return [re.sub(rf"^{m['indent']}", "", m["code"], flags=re.M) for m in FENCE.finditer(text)]


def test_pages_are_found():
    pages = markdown_pages()
    assert "softmax.md" in pages and "backprop.md" in pages


def test_snippets_are_expanded():
    blocks = python_blocks("softmax.md")
    assert any("def softmax(Z):" in block for block in blocks)
    assert not any("--8<--" in block for block in blocks)


@pytest.mark.parametrize("page", markdown_pages())
def test_python_blocks_run_in_page_order(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__page__"}
    for number, block in enumerate(python_blocks(page), 1):
        try:
            exec(compile(block, f"{page} block {number}", "exec"), namespace)
        except Exception as err:
            pytest.fail(f"{page}, python block {number} failed: {type(err).__name__}: {err}\n{block}")
