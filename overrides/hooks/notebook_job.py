"""Execute one notebook and store its page for nnfs_jupyter.py: a job of the build.

The hook (nnfs_site.py) runs one of these per notebook, several at once, before mkdocs
renders any page, in processes forked by jobs.py after `warm_up()` imported what the
notebooks use. `main` does what the mkdocs-jupyter 0.26 plugin does when it renders a
page (`Plugin.on_pre_page`'s `new_render`): `convert.nb2html`, then the table of
contents and title from `_get_nb_toc_tokens`, stored as the JSON file that
nnfs_jupyter.py reads. The file is written atomically, so a crash leaves no half page
behind. It also typesets the page's equations into nnfs_math's cache, and stores the
notebook's download (.ipynb) in nnfs_notebooks.py's cache, so mkdocs itself never imports jupytext.

One difference, for speed: with `execute: true`, nb2html would start a kernel process
(which imports NumPy, pandas, Matplotlib... again) and talk to it over ZeroMQ. Here
`execute` runs the cells in ipykernel's in-process kernel instead: the same IPython
shell, display hooks and inline Matplotlib backend as the `python3` kernel, producing
the same messages, which become outputs through the same `nbformat.v4.output_from_msg`
as in nbclient. nb2html then renders the executed notebook (execute=False).
tests/test_notebook_job.py checks that the page is the same as nb2html's with a kernel.

`python notebook_job.py NOTEBOOK CACHE_FILE OPTIONS_JSON` runs `main` on its own.
OPTIONS_JSON holds mkdocs.yml's extra.notebooks options (nnfs_jupyter.job_options()).
"""

import importlib
import json
import os
import sys
from pathlib import Path

INLINE = "module://matplotlib_inline.backend_inline"   # what ipykernel gives a notebook


# What every notebook job pays for on first use (the kernel's shell, nbconvert's templates,
# pandas' table templates, Matplotlib's fonts, layout and its mathtext parser, which a
# log axis' tick labels need): run and rendered once before the fork.
SAMPLE_NOTEBOOK = """\
# %% [markdown]
# # A notebook
#
# Inline $a_{k'}$, and a table and a figure below.

# %%
# %matplotlib inline
import pandas as pd
from matplotlib.figure import Figure

print("printed")
pd.DataFrame({"share": [0.5, 0.25]}).style.format("{:.1%}")

# %%
figure = Figure(figsize=(2, 2), layout="constrained")
figure.subplots().plot([1, 10])
figure.axes[0].set(title="a figure", xlabel="x", yscale="log")
figure
"""


def warm_up(calls):
    """Before jobs.py forks the notebook jobs (`calls`: their argument lists): import
    what rendering needs and what the notebooks themselves import, parse the sample, start
    MathJax, and execute and render SAMPLE_NOTEBOOK, once for all of them."""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel's debugger: no warning
    import ipykernel.inprocess.manager  # noqa: F401
    import jupytext
    import matplotlib_inline.backend_inline  # noqa: F401
    import nbformat.v4  # noqa: F401
    from mkdocs_jupyter import convert, plugin  # noqa: F401

    for name in sorted({name for notebook, *_ in calls for name in imported_modules(notebook)}):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the notebook's own run reports it
    load_sample_once()
    import nnfs_math  # this folder is sys.path[0]

    nnfs_math.start()
    nb = execute(jupytext.reads(SAMPLE_NOTEBOOK, fmt="py:percent"))
    render("sample.py", nb, calls[0][2])
    forget_shell()


def forget_shell():
    """End the in-process kernel's IPython shell, which outlives its kernel: the next kernel
    (a job's, after the fork) then starts a new one, with its own namespace and with
    execution counts from 1, as a kernel process would. Its history thread stops too
    (a fork copies only the calling thread). matplotlib_inline registers its figure
    formatter once per process (configure_inline_support.current_backend): forgotten too,
    so the next shell gets its own."""
    from ipykernel.inprocess.ipkernel import InProcessInteractiveShell
    from matplotlib_inline.backend_inline import configure_inline_support

    if InProcessInteractiveShell.initialized():
        shell = InProcessInteractiveShell.instance()
        shell.history_manager.end_session()
        if shell.history_manager.save_thread is not None:
            shell.history_manager.save_thread.stop()
        InProcessInteractiveShell.clear_instance()
    configure_inline_support.__dict__.pop("current_backend", None)


def load_sample_once():
    """Parse the 5,000-digit sample before the fork, if the build uses it: nnfs.data keeps it
    for the process, so every job forked from it reads it from memory."""
    if os.environ.get("NNFS_DATASET", "sample") == "sample":
        from nnfs.data import load_sample

        load_sample()


def imported_modules(notebook):
    """The modules a notebook's code imports: `import a.b` gives a.b, `from a import b`
    gives a and a.b (b may be a module)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(Path(notebook).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def execute(nb, allow_errors=False):
    """Run the code cells of `nb` (an nbformat notebook) in order, in an IPython kernel
    inside this process, and store their outputs and execution counts, as nbclient
    stores a kernel's. A cell that raises stops the run with nbclient's CellExecutionError
    (its traceback included) unless `allow_errors`."""
    from ipykernel.inprocess.manager import InProcessKernelManager
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import output_from_msg

    os.environ.setdefault("MPLBACKEND", INLINE)   # as ipykernel's kernel app sets it
    manager = InProcessKernelManager()
    manager.start_kernel()
    if "matplotlib.pyplot" in sys.modules:   # imported before (jobs.py's warm_up): MPLBACKEND came too late
        manager.kernel.shell.enable_matplotlib("inline")
    client = manager.client()
    client.start_channels()
    try:
        client.kernel_info()
        nb.metadata["language_info"] = client.get_shell_msg(timeout=60)["content"]["language_info"]
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            client.iopub_channel.get_msgs()              # drop what came before this cell
            msg_id = client.execute(cell.source, store_history=True, stop_on_error=not allow_errors)
            reply = client.get_shell_msg(timeout=60)["content"]
            cell.outputs = []
            # Every message from here to the kernel's "idle" after this cell's execute_input is
            # the cell's own (its stream messages carry no parent header to match). Waiting for
            # that idle, as nbclient does, rather than taking what has arrived by the reply:
            # the output streams reach the channel through ipykernel's IO thread.
            started = False
            while True:
                msg = client.get_iopub_msg(timeout=60)
                content = msg["content"]
                started = started or msg["msg_type"] == "execute_input"
                if (started and msg["msg_type"] == "status" and content["execution_state"] == "idle"
                        and msg["parent_header"].get("msg_id") == msg_id):
                    break
                if "execution_count" in content:
                    cell.execution_count = content["execution_count"]
                if msg["msg_type"] == "clear_output":
                    cell.outputs = []
                elif msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                    cell.outputs.append(output_from_msg(msg))
            if reply["status"] == "error" and not allow_errors:
                raise CellExecutionError.from_cell_and_msg(cell, reply)
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
    return nb


def render(notebook, nb, options):
    """mkdocs-jupyter's nb2html for `notebook`, rendering `nb`, already executed.

    nb2html reads a .py notebook through `jupytext.read(path)`; for this call its
    module sees a stand-in that returns `nb` instead."""
    import jupytext
    from mkdocs_jupyter import convert

    home = importlib.import_module(convert.nb2html.__module__)   # mkdocs_jupyter.nbconvert2

    class Executed:
        @staticmethod
        def read(path, *args, **kwargs):
            Executed.calls += 1
            return nb

        writes = staticmethod(jupytext.writes)
        calls = 0

    home.jupytext = Executed
    try:
        content = nb2html(notebook, options, execute=False)
    finally:
        home.jupytext = jupytext
    if Executed.calls != 1:
        raise RuntimeError(f"mkdocs-jupyter's nb2html read {notebook} {Executed.calls} times through jupytext.read, "
                           f"not once: its reading changed; update notebook_job.render")
    return content


def nb2html(notebook, options, execute):
    from mkdocs_jupyter import convert

    return convert.nb2html(
        notebook,
        execute=execute,
        kernel_name=options["kernel_name"],
        theme=options["theme"],
        allow_errors=options["allow_errors"],
        show_input=options["show_input"],
        no_input=options["no_input"],
        no_prompt=options["no_prompt"],
        remove_tag_config=options["remove_tag_config"],
        highlight_extra_classes=options["highlight_extra_classes"],
        include_requirejs=options["include_requirejs"],
        custom_mathjax_url=options["custom_mathjax_url"],
    )


def page_html(notebook, options):
    """The notebook's page body, as mkdocs-jupyter renders it, executed if options say so."""
    if not options["execute"]:
        return nb2html(notebook, options, execute=False)
    import jupytext

    nb = execute(jupytext.read(notebook), allow_errors=options["allow_errors"])
    return render(notebook, nb, options)


def main(notebook, cache_file, options):
    from mkdocs_jupyter.plugin import _get_nb_toc_tokens

    content = page_html(notebook, options)
    toc_tokens, title = _get_nb_toc_tokens(notebook, options["toc_depth"])
    import nnfs_math  # this folder is sys.path[0]

    nnfs_math.typeset_page(content, Path(notebook).name)   # the page's equations, into the math cache
    import nnfs_notebooks

    nnfs_notebooks.jupytext_notebook(notebook)   # its download, as .ipynb: mkdocs then needs no jupytext
    cache = Path(cache_file)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.tmp")
    tmp.write_text(json.dumps({"content": content, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
    tmp.replace(cache)


if __name__ == "__main__":
    notebook, cache_file, options = sys.argv[1:]
    main(notebook, cache_file, json.loads(options))
