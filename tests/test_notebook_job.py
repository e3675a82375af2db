"""overrides/hooks/notebook_job.py runs a notebook's cells in ipykernel's in-process kernel:
the page must be the one mkdocs-jupyter's nb2html makes with a `python3` kernel process."""

import json
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from test_hook import load_hook

HOOKS = ROOT / "overrides" / "hooks"

# Every kind of output the site's notebooks make: text on stdout and stderr, a warning, a
# value, a Matplotlib figure (no %matplotlib magic: the kernel's default backend), a
# pandas table, Markdown through display(), and a cell that prints nothing.
NOTEBOOK = '''\
# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A page
#
# With $a_{k'}$ in it.

# %%
import sys
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

print("on stdout")
print("on stderr", file=sys.stderr)
6 * 7

# %%
plt.plot([1, 3, 2])
plt.title("a figure");

# %%
display(Markdown("**bold**, then a table"))
pd.DataFrame({"digit": [3, 8], "share": [0.5, 0.25]})

# %%
warnings.warn("a warning")
x = 1
'''


def options(**changes):
    from mkdocs.config import load_config

    jupyter = load_hook("nnfs_jupyter")
    jupyter.configure(load_config(str(ROOT / "mkdocs.yml")))
    return {**jupyter.job_options(), **changes}


def page(notebook, opts, how):
    """The page body, from a process of its own (a kernel changes the process it runs in)."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(HOOKS)!r})
        import notebook_job
        opts = json.loads(sys.argv[1])
        if sys.argv[2] == "kernel":   # mkdocs-jupyter as it is: a kernel process
            html = notebook_job.nb2html({str(notebook)!r}, opts, execute=True)
        else:
            if sys.argv[2] in ("after Agg", "after warm_up"):   # as in the build: pipeline.py chose Agg
                import matplotlib
                matplotlib.use("Agg")
                import matplotlib.pyplot
            if sys.argv[2] == "after warm_up":   # as in the build: a job forked after it
                import threading
                notebook_job.warm_up([[{str(notebook)!r}, "page.json", opts]])
                assert threading.active_count() == 1, threading.enumerate()
            html = notebook_job.page_html({str(notebook)!r}, opts)
        sys.stdout.write(html)
    """)
    done = subprocess.run([sys.executable, "-c", script, json.dumps(opts), how], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def comparable(html):
    """Cell ids are random (jupytext gives each read new ones); warnings name the process."""
    return re.sub(r"ipykernel_\d+", "ipykernel_PID", re.sub(r'id="cell-id=[0-9a-f]+"', 'id="cell-id"', html))


@pytest.mark.slow
def test_the_page_is_the_one_a_kernel_process_gives(tmp_path):
    notebook = tmp_path / "page.py"
    notebook.write_text(NOTEBOOK)
    opts = options()
    with_kernel, _ = page(notebook, opts, "kernel")
    for how in ("in-process", "after Agg", "after warm_up"):
        in_process, _ = page(notebook, opts, how)
        for text in ("on stdout", "on stderr", "UserWarning: a warning", "<pre>42</pre>", "data:image/png;base64,",
                     "<strong>bold</strong>", "<table", "0.25"):
            assert text in in_process, (how, text)
        assert comparable(in_process) == comparable(with_kernel), how


def test_a_failing_cell_fails_the_job_with_its_traceback(tmp_path):
    notebook = tmp_path / "page.py"
    notebook.write_text(NOTEBOOK.replace("x = 1", "x = 1 / 0"))
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(HOOKS)!r})
        import notebook_job
        notebook_job.main({str(notebook)!r}, {str(tmp_path / "page.json")!r}, json.loads(sys.argv[1]))
    """)
    done = subprocess.run([sys.executable, "-c", script, json.dumps(options())], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "CellExecutionError" in done.stderr and "ZeroDivisionError" in done.stderr and "x = 1 / 0" in done.stderr
    assert not (tmp_path / "page.json").exists()


def test_rendering_notices_when_nb2html_stops_reading_through_jupytext(monkeypatch):
    """render() hands nb2html the executed notebook through jupytext.read; if a new
    mkdocs-jupyter read it some other way, the page would show no outputs: it says so."""
    import jupytext
    from mkdocs_jupyter import convert

    notebook_job = load_hook("notebook_job")
    monkeypatch.setattr(convert, "nb2html", lambda path, **options: "<p>rendered without reading</p>")
    nb = jupytext.reads(NOTEBOOK, fmt="py:percent")
    with pytest.raises(RuntimeError, match="read .* 0 times through jupytext.read.*update notebook_job.render"):
        notebook_job.render("page.py", nb, options())


def test_warm_up_imports_what_the_notebooks_import(tmp_path):
    notebook = tmp_path / "page.py"
    notebook.write_text(NOTEBOOK + "\nfrom nnfs.data import load_dataset\nimport nnfs.plots as plots\n")
    found = load_hook("notebook_job").imported_modules(notebook)
    assert {"sys", "warnings", "matplotlib.pyplot", "pandas", "IPython.display", "nnfs.data", "nnfs.plots",
            "nnfs.data.load_dataset"} <= found
