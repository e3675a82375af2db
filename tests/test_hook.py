"""The build hook: the cache key follows code and data, placeholders are filled (math: test_math.py)."""

import importlib.util
import sys
import time
import types

import pytest

from conftest import ROOT


def load_hook(name):
    """overrides/hooks/NAME.py, loaded afresh as a module of its own."""
    spec = importlib.util.spec_from_file_location(f"{name}_hook", ROOT / "overrides" / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook():
    return load_hook("nnfs_site")


def test_key_follows_the_dataset(hook):
    assert hook._key("sample:abc") == hook._key("sample:abc")
    assert hook._key("sample:abc") != hook._key("csv:def")


def test_key_follows_the_nnfs_source(hook, tmp_path, monkeypatch):
    for folder in ("nnfs", "overrides/hooks"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "overrides" / "hooks" / "pipeline.py").write_text("# pipeline\n")
    source = tmp_path / "nnfs" / "network.py"
    source.write_text("def softmax(Z): ...\n")
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    monkeypatch.setattr(hook, "HERE", tmp_path / "overrides" / "hooks")
    before = hook._key("sample:abc")
    source.write_text("def softmax(Z): ...  # edited\n")
    assert hook._key("sample:abc") != before


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
    before = hook._key("sample:abc")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"x" * 10)
    assert hook._key("sample:abc") != before


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


def test_the_sample_is_identified_by_its_file_as_nnfs_data_does(hook):
    """The hook hashes the sample file itself (a warm build never parses it); it must name
    the same bytes that nnfs.data.load_dataset identifies."""
    from nnfs.data import load_dataset

    assert hook._dataset_identity("sample") == load_dataset("sample").identity


def test_a_bad_dataset_fails_the_build_naming_it(hook, tmp_path):
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="NNFS_DATASET=.*no-such.csv"):
        hook._dataset_identity(str(tmp_path / "no-such.csv"))


# ---- executed Markdown blocks are cached, and re-run when anything they depend on changes ----

@pytest.fixture
def run_python():
    """markdown-exec's own runner, with its session namespaces emptied before and after,
    as in a fresh `mkdocs build` process."""
    from markdown_exec._internal.formatters import python

    python._sessions_globals.clear()
    yield python._run_python.__dict__.get("uncached", python._run_python)
    python._sessions_globals.clear()


def build_blocks(hook, folder, key, blocks, run):
    """One "build": run `blocks` [(session, code)] in order through a fresh cache; returns
    (outputs, the code that really executed)."""
    from markdown_exec._internal.formatters import python

    python._sessions_globals.clear()            # a new build is a new process
    executed = []

    def spy(code, **kwargs):
        executed.append(code)
        return run(code, **kwargs)

    cache = hook._ExecCache(folder, key)
    cached_run = cache.wrap(spy)
    return [cached_run(code, session=session) for session, code in blocks], executed


PAGE = [("page", "x = 2"), ("page", "print(x * 10)"), (None, "print('no session')"), ("page", "print(x + 1)")]


def test_a_warm_build_executes_nothing(hook, tmp_path, run_python):
    cold, ran = build_blocks(hook, tmp_path, "key1", PAGE, run_python)
    assert cold == ["", "20\n", "no session\n", "3\n"] and len(ran) == 4
    warm, ran = build_blocks(hook, tmp_path, "key1", PAGE, run_python)
    assert warm == cold and ran == []


def test_an_edited_block_reruns_with_its_session_state(hook, tmp_path, run_python):
    """Editing the second block re-runs it and every later block of its session. The first
    block came from the cache, so it is replayed first: the edited block sees x."""
    build_blocks(hook, tmp_path, "key1", PAGE, run_python)
    edited = [PAGE[0], ("page", "print(x * 100)"), PAGE[2], PAGE[3]]
    outputs, ran = build_blocks(hook, tmp_path, "key1", edited, run_python)
    assert outputs == ["", "200\n", "no session\n", "3\n"]
    assert ran == ["x = 2", "print(x * 100)", "print(x + 1)"]   # replay, the edit, the later block


def test_an_edit_before_a_block_changes_its_output(hook, tmp_path, run_python):
    """The key covers the session's earlier code: a later, unchanged block re-runs."""
    build_blocks(hook, tmp_path, "key1", PAGE, run_python)
    outputs, ran = build_blocks(hook, tmp_path, "key1", [("page", "x = 7")] + PAGE[1:], run_python)
    assert outputs == ["", "70\n", "no session\n", "8\n"]
    assert "print('no session')" not in ran                    # another session: still cached


def test_another_build_key_reruns_everything(hook, tmp_path, run_python):
    build_blocks(hook, tmp_path, "key1", PAGE, run_python)
    _, ran = build_blocks(hook, tmp_path, "key2", PAGE, run_python)
    assert len(ran) == 4


def test_the_build_key_follows_nnfs_source_and_data(hook, tmp_path, monkeypatch):
    """The exec cache is keyed on the build key: nnfs source, pipeline.py and the dataset."""
    for folder in ("nnfs", "overrides/hooks"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "overrides" / "hooks" / "pipeline.py").write_text("# pipeline\n")
    (tmp_path / "nnfs" / "network.py").write_text("def relu(Z): ...\n")
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    monkeypatch.setattr(hook, "HERE", tmp_path / "overrides" / "hooks")
    keys = {hook._key("sample:abc")}
    (tmp_path / "nnfs" / "network.py").write_text("def relu(Z): ...  # edited\n")
    keys.add(hook._key("sample:abc"))
    keys.add(hook._key("sample:def"))
    (tmp_path / "overrides" / "hooks" / "pipeline.py").write_text("# pipeline, edited\n")
    keys.add(hook._key("sample:def"))
    assert len(keys) == 4


def test_a_failing_block_is_never_cached(hook, tmp_path, run_python):
    from markdown_exec._internal.formatters.base import ExecutionError

    for _ in range(2):
        with pytest.raises(ExecutionError):
            build_blocks(hook, tmp_path, "key1", [(None, "raise ValueError('no')")], run_python)
    assert not list(tmp_path.iterdir())


@pytest.fixture
def markdown_exec_restored():
    """Whatever a test installs into markdown-exec is undone afterwards."""
    from markdown_exec._internal import main
    from markdown_exec._internal.formatters import pycon, python

    saved = python._run_python, pycon._run_python, main.formatters["python"]
    python._sessions_globals.clear()
    yield
    python._run_python, pycon._run_python, main.formatters["python"] = saved
    python._sessions_globals.clear()


def test_install_wraps_markdown_exec_once(hook, tmp_path, markdown_exec_restored):
    from markdown_exec._internal import main
    from markdown_exec._internal.formatters import pycon, python

    run, fmt = python._run_python, main.formatters["python"]
    hook._ExecCache(tmp_path, "a").install()
    hook._ExecCache(tmp_path, "b").install()       # a second build of `mkdocs serve`
    assert python._run_python.uncached is run and pycon._run_python.uncached is run
    assert main.formatters["python"].uncached is fmt


def render_page(hook, folder, key, page):
    """One "build" of one page through markdown-exec with the cache installed; returns
    (HTML, the code that really executed)."""
    import markdown
    from markdown_exec import formatter, validator
    from markdown_exec._internal.formatters import python

    python._sessions_globals.clear()                # a new build is a new process
    executed = []
    real_run = getattr(python._run_python, "uncached", python._run_python)

    def spy(code, **kwargs):
        executed.append(code.strip())
        return real_run(code, **kwargs)

    python._run_python = spy
    hook._ExecCache(folder, key).install()
    md = markdown.Markdown(extensions=["pymdownx.superfences"], extension_configs={"pymdownx.superfences": {
        "custom_fences": [{"name": "python", "class": "python", "validator": validator, "format": formatter}]}})
    return md.convert(page), executed


def fence(code, options='exec="true" source="above" result="text" session="s"'):
    return f"```python {options}\n{code}\n```\n\n"


def test_formatted_blocks_are_cached_and_replayed(hook, tmp_path, markdown_exec_restored):
    page = "Prose.\n\n" + fence("x = 3") + fence("print(x * 2)") + fence("print(x + 1)")
    cold, ran = render_page(hook, tmp_path, "k", page)
    assert ran == ["x = 3", "print(x * 2)", "print(x + 1)"] and "6" in cold and "4" in cold
    warm, ran = render_page(hook, tmp_path, "k", page.replace("Prose.", "Edited prose."))
    assert ran == [] and warm.replace("Edited prose.", "Prose.") == cold
    edited, ran = render_page(hook, tmp_path, "k", page.replace("print(x * 2)", "print(x * 20)"))
    assert ran == ["x = 3", "print(x * 20)", "print(x + 1)"] and "60" in edited


def test_a_failing_formatted_block_is_never_cached(hook, tmp_path, markdown_exec_restored):
    page = fence("raise ValueError('fails on purpose')")
    for _ in range(2):
        html, ran = render_page(hook, tmp_path, "k", page)
        assert ran == ["raise ValueError('fails on purpose')"] and "fails on purpose" in html
    assert not list(tmp_path.glob("*.html"))


def test_html_with_a_heading_is_not_cached(hook, tmp_path, markdown_exec_restored):
    """markdown-exec adds headings an executed block prints to the page's table of contents."""
    page = fence('print("## A heading from code")', 'exec="true" session="s"')
    render_page(hook, tmp_path, "k", page)
    assert not list(tmp_path.glob("*.html")) and list(tmp_path.glob("*.txt"))


# ---- jobs run in parallel -------------------------------------------------------------------

def job(hook, name, code, after=()):
    return hook.Job(name, [sys.executable, "-c", code], after=after)


def test_jobs_run_at_once_and_in_order(hook, tmp_path):
    """Two workers: a and b overlap (each waits for the other's file); c waits for a."""
    a = job(hook, "a", f"import pathlib, time; pathlib.Path({str(tmp_path / 'a')!r}).touch(); "
                       f"t = time.time()\nwhile not pathlib.Path({str(tmp_path / 'b')!r}).exists(): time.sleep(0.05)")
    b = job(hook, "b", f"import pathlib, time; pathlib.Path({str(tmp_path / 'b')!r}).touch(); "
                       f"t = time.time()\nwhile not pathlib.Path({str(tmp_path / 'a')!r}).exists(): time.sleep(0.05)")
    c = job(hook, "c", f"import pathlib; assert pathlib.Path({str(tmp_path / 'a')!r}).exists(); "
                       f"pathlib.Path({str(tmp_path / 'c')!r}).touch()", after=["a"])
    hook.run_jobs([a, b, c], workers=2)
    assert (tmp_path / "c").exists()


def test_a_failing_job_fails_the_build_with_its_error(hook):
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="(?s)broken failed:.*this job fails on purpose"):
        hook.run_jobs([job(hook, "broken", "raise SystemExit('this job fails on purpose')")], workers=2)


def test_jobs_get_one_blas_thread_and_the_results_path(hook, tmp_path):
    env = hook._job_env(tmp_path / "results.json")
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert env["NNFS_SITE_RESULTS"] == str(tmp_path / "results.json")


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:  # our own child's record, not a device: gone or a zombie when dead
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until_dead(pid, seconds=10):
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _sleeper(hook, name, pid_file):
    return job(hook, name, f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); "
                           f"time.sleep(120)")


def _wait_for(path, seconds=30):
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's parent-death signal is Linux's")
def test_jobs_die_with_a_killed_build(tmp_path):
    """A build killed outright (no cleanup runs) takes its jobs with it: no orphan trains on."""
    import signal
    import subprocess

    pid_file = tmp_path / "job.pid"
    build = subprocess.Popen([sys.executable, "-c", f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("h", {str(ROOT / "overrides" / "hooks" / "nnfs_site.py")!r})
hook = importlib.util.module_from_spec(spec); spec.loader.exec_module(hook)
code = "import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(120)"
hook.run_jobs([hook.Job("sleeper", [sys.executable, "-c", code], nice=hook.BACKGROUND_NICE)], workers=1)
"""])
    try:
        pid = _wait_for(pid_file)
        assert _alive(pid)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
        assert _wait_until_dead(pid), "the job outlived the build that started it"
    finally:
        build.kill()


def test_an_interrupted_build_stops_its_jobs(hook, tmp_path):
    """Ctrl-C while jobs run: run_jobs kills every running job before the interrupt goes on."""
    pid_file = tmp_path / "job.pid"

    def interrupt():
        _wait_for(pid_file)
        raise KeyboardInterrupt

    quick = job(hook, "quick", "pass")
    quick.done = interrupt
    with pytest.raises(KeyboardInterrupt):
        hook.run_jobs([_sleeper(hook, "sleeper", pid_file), quick], workers=2)
    pid = int(pid_file.read_text())
    assert _wait_until_dead(pid)


def test_jobs_after_the_pipeline_run_at_a_lower_priority(hook, tmp_path):
    import os

    probe = "import os, pathlib; pathlib.Path({!r}).write_text(str(os.nice(0)))"
    jobs = [hook.Job(name, [sys.executable, "-c", probe.format(str(tmp_path / name))], nice=nice)
            for name, nice in (("pipeline", 0), ("notebook", hook.BACKGROUND_NICE))]
    hook.run_jobs(jobs, workers=2)
    base = os.nice(0)
    assert int((tmp_path / "pipeline").read_text()) == base
    assert int((tmp_path / "notebook").read_text()) == min(base + hook.BACKGROUND_NICE, 19)


@pytest.mark.parametrize("load, cpus, nice", [(0.3, 2, 19), (2.0, 2, 19), (2.1, 2, 10), (5.5, 2, 10), (3.0, 4, 19)])
def test_the_other_jobs_yield_the_whole_core_only_on_a_quiet_machine(hook, load, cpus, nice):
    """Quiet: only our jobs compete, so nice 19 leaves the pipeline a core; busy: nice 10, or
    other programs would starve them."""
    assert hook.background_nice(load, cpus) == nice


def test_a_markdown_exec_session_stays_on_one_page(hook, tmp_path):
    """Each page's blocks run in a job of their own: a session on two pages fails the build, named."""
    from mkdocs.exceptions import PluginError

    (tmp_path / "a.md").write_text('```python exec="true" session="shared"\nx = 1\n```\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text('Text.\n\n```python exec="1" source="above" session="b"\nprint(2)\n```\n')
    assert hook.one_page_sessions(tmp_path) == ["a.md", "sub/b.md"]
    (tmp_path / "sub" / "b.md").write_text("```python exec=\"true\" session='shared'\nprint(x)\n```\n")
    with pytest.raises(PluginError, match="sub/b.md: the markdown-exec session 'shared' is also used on a.md"):
        hook.one_page_sessions(tmp_path)


def test_the_site_keeps_each_session_on_one_page(hook):
    pages = hook.one_page_sessions(ROOT / "docs")
    assert "index.md" in pages and "softmax.md" in pages


@pytest.fixture
def jupyter_hook():
    return load_hook("nnfs_jupyter")


def test_the_notebook_options_come_from_mkdocs_yml(jupyter_hook):
    """extra.notebooks in mkdocs.yml: a failing cell fails the build (allow_errors: false)."""
    from mkdocs.config import load_config

    jupyter_hook.configure(load_config(str(ROOT / "mkdocs.yml")))
    options = jupyter_hook.job_options()
    assert options["allow_errors"] is False and options["execute"] is True
    assert jupyter_hook.is_notebook("notebooks/training.py") and not jupyter_hook.is_notebook("softmax.md")


def test_an_unknown_notebook_option_fails_the_build(jupyter_hook):
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="extra.notebooks has no option alow_errors"):
        jupyter_hook.configure({"extra": {"notebooks": {"alow_errors": False}}})


# ---- mkdocs renders pages while the jobs run --------------------------------------------------

def test_wait_returns_when_the_named_jobs_are_done_while_others_still_run(hook, tmp_path):
    """A page waits for its own job only: `wait(["quick"])` returns while "slow" still runs."""
    go, slow_done = tmp_path / "go", tmp_path / "slow-done"
    slow = job(hook, "slow", f"import pathlib, time\nt = time.time() + 60\n"
                             f"while not pathlib.Path({str(go)!r}).exists():\n"
                             f"    assert time.time() < t, 'never told to go'; time.sleep(0.05)\n"
                             f"pathlib.Path({str(slow_done)!r}).touch()")
    runner = hook.JobRunner([slow, job(hook, "quick", "pass")], workers=2)
    try:
        runner.wait(["quick"])
        assert runner.finished == {"quick"} and not slow_done.exists()
        go.touch()
        runner.wait()
        assert runner.finished == {"quick", "slow"} and slow_done.exists()
    finally:
        runner.stop()


def test_a_job_nobody_waited_for_still_fails_the_build(hook):
    from mkdocs.exceptions import PluginError

    runner = hook.JobRunner([job(hook, "broken", "raise SystemExit('fails on purpose')"), job(hook, "ok", "pass")],
                            workers=2)
    with pytest.raises(PluginError, match="(?s)broken failed:.*fails on purpose"):
        runner.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="_alive reads /proc")
def test_a_failed_build_stops_its_jobs(hook, tmp_path, monkeypatch):
    """on_build_error (a page failed while jobs run) kills them: none trains on for nothing."""
    pid_file = tmp_path / "job.pid"
    runner = hook.JobRunner([_sleeper(hook, "sleeper", pid_file)], workers=1)
    monkeypatch.setitem(hook._state, "runner", runner)
    pid = _wait_for(pid_file)
    hook.on_build_error(RuntimeError("a page failed"))
    assert _wait_until_dead(pid) and hook._state["runner"] is None


def test_pages_that_wait_for_the_pipeline_come_after_those_that_do_not(hook):
    """mkdocs renders pages in this order while the jobs run: a page that quotes results.json
    or shows a generated figure would hold up every page behind it."""
    from mkdocs.structure.files import File

    def page(name, text):
        file = File.generated(types.SimpleNamespace(site_dir="/site", use_directory_urls=True, plugins=
                              types.SimpleNamespace(_current_plugin=None)), name, content=text)
        return file

    own, quoting, figure, notebook = (page("a.md", "plain prose"), page("b.md", "{{ dev_accuracy:.1% }}"),
                                      page("c.md", "![digits](generated/digits.png)"), page("notebooks/n.py", "# %%"))
    assert [hook.page_rank(f) for f in (own, quoting, figure, notebook)] == [0, 1, 1, 2]
    assert not hook.needs_pipeline(own) and hook.needs_pipeline(quoting) and hook.needs_pipeline(figure)


def test_the_pipeline_lists_what_it_writes(hook):
    """nnfs_site adds pipeline.py's OUTPUTS to the site before they exist (test_site checks the
    built site has exactly these; pipeline.build checks it wrote exactly these)."""
    outputs = hook.pipeline_outputs()
    assert "results.json" in outputs and len(set(outputs)) == len(outputs)


def test_a_build_that_ends_without_waiting_leaves_no_job_and_no_folder(tmp_path):
    """A Ctrl-C while mkdocs renders pages ends the process without on_build_error: the runner,
    registered with atexit, still stops its jobs and removes its folder."""
    import subprocess
    from pathlib import Path

    pid_file = tmp_path / "job.pid"
    code = f"""
import importlib.util, sys, time, pathlib
spec = importlib.util.spec_from_file_location("h", {str(ROOT / "overrides" / "hooks" / "nnfs_site.py")!r})
hook = importlib.util.module_from_spec(spec); spec.loader.exec_module(hook)
job = "import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(120)"
runner = hook.JobRunner([hook.Job("sleeper", [sys.executable, "-c", job])], workers=1)
print(runner.folder, flush=True)
while not pathlib.Path({str(pid_file)!r}).exists():
    time.sleep(0.05)
raise KeyboardInterrupt
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "KeyboardInterrupt" in result.stderr
    folder = Path(result.stdout.strip())
    assert folder.name.startswith("nnfs-jobs-") and not folder.exists()
    assert _wait_until_dead(int(pid_file.read_text()))
