"""MkDocs hook: the notebook pages (docs/notebooks/*.py), made by mkdocs-jupyter, without
importing mkdocs-jupyter in every build.

mkdocs-jupyter 0.26 executes and renders each notebook: its `convert.nb2html`, with the
options of mkdocs.yml's `extra: notebooks:`, in a job of its own (notebook_job.py, started by nnfs_site.py), which
stores the page in .cache/mkdocs-jupyter/<build key>/<notebook key>.json. Inside mkdocs
this hook then does what the plugin's own glue does with such a page:

* on_files: each notebook becomes a documentation page, notebooks/NAME/index.html;
* on_pre_page: its render reads the stored page: HTML, table of contents, title;
* on_post_page: its jupytext source is copied beside it, for download (include_source).

Why not list the plugin in mkdocs.yml: importing it costs 1.3 s, because nbconvert builds
every exporter it knows and jupytext loads its formats as they are imported. That was
over half of a warm rebuild, which renders no notebook. Here mkdocs-jupyter is imported
only by the jobs that render one.
"""

import hashlib
import json
import logging
import shutil
from importlib.metadata import version
from pathlib import Path, PurePath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.nnfs_jupyter")
HERE = Path(__file__).resolve().parent

# mkdocs.yml's `extra: notebooks:` sets these: which files are notebooks (relative to docs/),
# and mkdocs-jupyter's options, as its plugin takes them. Unset keys keep the plugin's defaults.
DEFAULTS = {"include": "notebooks/*.py", "toc_depth": 6, "execute": False, "kernel_name": "", "theme": "",
            "allow_errors": True, "show_input": True, "no_input": False, "no_prompt": False,
            "remove_tag_config": {}, "highlight_extra_classes": "", "include_requirejs": False,
            "custom_mathjax_url": ""}

_state = {"cache_dir": None, "used": set(), "options": dict(DEFAULTS)}


def configure(config):
    """Read mkdocs.yml's `extra: notebooks:` (nnfs_site.py's on_config calls this before it
    starts the notebook jobs); an unknown key fails the build, naming it."""
    given = (config.get("extra") or {}).get("notebooks") or {}
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise PluginError(f"mkdocs.yml: extra.notebooks has no option {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(DEFAULTS))}")
    _state["options"] = {**DEFAULTS, **given}


def job_options():
    """What notebook_job.py passes to mkdocs-jupyter: every option but `include`."""
    return {k: v for k, v in _state["options"].items() if k != "include"}


def is_notebook(src_uri):
    return PurePath(src_uri).match(_state["options"]["include"])


def cache_file(cache_dir, notebook):
    """Where notebook_job.py stores a notebook's page: named by the notebook's bytes, the
    options and mkdocs-jupyter's version, so an edit or an upgrade renders it again."""
    h = hashlib.sha256(Path(notebook).read_bytes())
    h.update(json.dumps(job_options(), sort_keys=True).encode())
    h.update(f"mkdocs-jupyter {version('mkdocs-jupyter')}".encode())
    return Path(cache_dir) / f"{h.hexdigest()[:32]}.json"


def set_cache_dir(folder):
    """nnfs_site.py's on_config names this build's folder (it follows the build key)."""
    _state["cache_dir"] = Path(folder)


class NotebookFile(File):
    """A notebook as a page: docs/notebooks/NAME.py -> notebooks/NAME/index.html."""

    def is_documentation_page(self):
        return True


def on_files(files, config):
    pages = []
    for file in files:
        if file.src_uri.endswith(".py") and is_notebook(file.src_uri) and file.abs_src_path:
            file = NotebookFile(file.src_uri, file.src_dir, file.dest_dir, file.use_directory_urls,
                                inclusion=file.inclusion)
        pages.append(file)
    return Files(pages)


def _read_stored(page):
    from mkdocs.structure.toc import get_toc

    path = cache_file(_state["cache_dir"], page.file.abs_src_path)
    if not path.is_file():  # nnfs_site.py renders every notebook missing here before pages are built
        raise PluginError(f"{page.file.src_uri}: its rendered page {path} is missing; "
                          f"nnfs_site.py's notebook job should have written it")
    _state["used"].add(path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    return stored["content"], get_toc(stored["toc_tokens"]), stored.get("title")


def on_pre_page(page, config, files):
    if not isinstance(page.file, NotebookFile):
        return page

    def render(self, config, files):
        self.content, self.toc, title = _read_stored(self)
        if title is not None:
            self.title = title

    page.render = render.__get__(page, Page)
    return page


def on_post_page(output, page, config):
    if isinstance(page.file, NotebookFile):  # the source, beside the page, for download
        target = Path(page.file.abs_dest_path).parent / Path(page.file.src_uri).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page.file.abs_src_path, target)
    return output


def on_pre_build(config):
    _state["used"] = set()


def on_post_build(config):
    """Drop stored pages of notebooks since edited (the folder itself goes with its build key)."""
    folder = _state["cache_dir"]
    for path in folder.glob("*.json") if folder is not None and folder.is_dir() else ():
        if path not in _state["used"]:
            path.unlink(missing_ok=True)


def cache_dir():
    return _state["cache_dir"]
