"""The build hook: the cache key follows code and data, placeholders are filled (math: test_math.py)."""

import importlib.util
import types

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location("nnfs_site_hook", ROOT / "overrides" / "hooks" / "nnfs_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_dataset(identity):
    return types.SimpleNamespace(identity=identity)


def test_key_follows_the_dataset(hook):
    assert hook._key(fake_dataset("sample:abc")) == hook._key(fake_dataset("sample:abc"))
    assert hook._key(fake_dataset("sample:abc")) != hook._key(fake_dataset("csv:def"))


def test_key_follows_the_nnfs_source(hook, tmp_path, monkeypatch):
    for folder in ("nnfs", "overrides/hooks"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "overrides" / "hooks" / "pipeline.py").write_text("# pipeline\n")
    source = tmp_path / "nnfs" / "network.py"
    source.write_text("def softmax(Z): ...\n")
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    monkeypatch.setattr(hook, "HERE", tmp_path / "overrides" / "hooks")
    before = hook._key(fake_dataset("sample:abc"))
    source.write_text("def softmax(Z): ...  # edited\n")
    assert hook._key(fake_dataset("sample:abc")) != before


def test_placeholders_are_filled_with_formats(hook, monkeypatch):
    monkeypatch.setitem(hook._state, "results", {"dev_accuracy": 0.8766, "n_dev": 1000, "dataset": "the sample"})
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="x.md"))
    text = "{{ dev_accuracy:.1% }} of {{ n_dev:, }} digits of {{dataset}}"
    assert hook.on_page_markdown(text, page, None, None) == "87.7% of 1,000 digits of the sample"


def test_unknown_placeholder_is_an_error(hook, monkeypatch):
    from mkdocs.exceptions import PluginError

    monkeypatch.setitem(hook._state, "results", {"dev_accuracy": 0.5})
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="x.md"))
    with pytest.raises(PluginError, match="x.md: unknown placeholder"):
        hook.on_page_markdown("{{ dev_acuracy }}", page, None, None)


def test_key_follows_a_cached_mnist_test_set(hook, tmp_path, monkeypatch):
    """Going further scores on the official test set when it is cached: its output depends on it."""
    monkeypatch.setenv("NNFS_DATA_DIR", str(tmp_path))
    before = hook._key(fake_dataset("sample:abc"))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"x" * 10)
    assert hook._key(fake_dataset("sample:abc")) != before


def test_a_rebuild_imports_nnfs_afresh(hook):
    """In `mkdocs serve`, executed blocks must see edits to nnfs/, not the modules of the last build."""
    import sys

    import nnfs.network

    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "nnfs"}
    try:
        hook._forget_nnfs()
        assert not [name for name in sys.modules if name.split(".")[0] == "nnfs"]
        import nnfs.network as fresh

        assert fresh is not saved["nnfs.network"]
    finally:
        sys.modules.update(saved)  # the other tests keep the modules they imported
