"""Run the build's jobs in parallel, each in a process forked from this one.

`python jobs.py SPEC_JSON` (nnfs_site.run_jobs writes the spec and reads the report).

Why fork: every job of a cold build (the pipeline, three notebooks, the Markdown pages'
blocks) needs NumPy, pandas, Matplotlib and most of them scikit-learn, nbconvert and an
IPython kernel. Started as separate programs, each imported all of it again: about 3
CPU seconds per process, plus a kernel process per notebook. Here this one process
imports what the jobs declare (each job module's `warm_up`), once, and then forks a
child per job, which starts with all of it already loaded.

SPEC_JSON holds {"workers": N, "jobs": [job, ...]}. Before the first job that calls a
module forks, that module's `warm_up(calls)` (if any) runs here, with the argument lists
of every job that calls it. A job is
{"name", "after": [names], "env": {...}, "nice": n, "stderr": path, and either
 "call": [module path, function name, [args]] (run in the forked child) or
 "argv": [program, args...] (exec'd in it: any command)}.
The environment this process starts with is every job's; a job's "env" adds to it. Set
the BLAS thread count in the former: BLAS reads it once, as NumPy loads, before the fork.

At most `workers` jobs run at once; a job starts when the jobs it comes `after` have
succeeded, the earliest listed first. Each job runs at its added niceness, with stdout
discarded and stderr in its file. When a job ends this prints one JSON line,
{"name", "ok", "seconds", "cpu"} (cpu: the CPU seconds of the job's process and the
processes it waited for). After the first failure it stops the others and exits 1.
Before each fork, gc.freeze() puts every object this process holds out of the garbage
collector's reach: a child's collections then never walk the (hundreds of thousands of)
objects the warm-ups made, which cost CPU time and wrote to (so copied) many of their pages.
Jobs die with this process (on Linux, through the parent-death signal), and this
process dies with the build that started it.
"""

import gc
import importlib.util
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path


def load_module(path):
    """The module at `path`, loaded once per process under its file's name."""
    name = f"nnfs_job_{Path(path).stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def die_with_parent():
    """On Linux, have the kernel end this process when its parent dies (a kill, a crash)."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_child(job):
    """In the forked child: become the job, run it, and exit with its status (never returns)."""
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent()
        if job.get("nice") and hasattr(os, "nice"):
            os.nice(job["nice"])
        os.environ.update(job.get("env", {}))
        err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(err, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        if "argv" in job:
            os.execvp(job["argv"][0], job["argv"])
        path, function, args = job["call"]
        getattr(load_module(path), function)(*args)
        status = 0
    except SystemExit as end:  # as Python itself ends on one: a message is printed, status 1
        if end.code is None or isinstance(end.code, int):
            status = end.code or 0
        else:
            print(end.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the job's error, for the build to show
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream: nothing to flush
                pass
        os._exit(status)


def start(job):
    sys.stdout.flush()
    sys.stderr.flush()
    if not hasattr(os, "fork"):  # Windows: no fork; run the job as a program of its own
        import subprocess

        command = job["argv"] if "argv" in job else [sys.executable, __file__, "--one", json.dumps(job)]
        with open(job["stderr"], "w") as err:
            return subprocess.Popen(command, env={**os.environ, **job.get("env", {})},
                                    stdout=subprocess.DEVNULL, stderr=err).pid
    gc.freeze()   # the objects warm-ups made: no collection in a child walks them, and so copies their pages
    pid = os.fork()
    if pid == 0:
        run_child(job)
    return pid


_report = []   # the stream the build reads: this process's stdout as it started


def report(**line):
    _report[0].write(json.dumps(line) + "\n")
    _report[0].flush()


def warm_up(job, jobs, warm):
    """Before the first job that calls a module forks: that module's `warm_up(calls)`, given
    the argument lists of all the jobs that call it. So a job waits only for its own
    module's warm-up, and the next modules' warm-ups run beside it."""
    path = job.get("call", [None])[0]
    if path is None or path in warm:
        return
    warm.add(path)
    function = getattr(load_module(path), "warm_up", None)
    if function is not None:
        function([other["call"][2] for other in jobs if other.get("call", [None])[0] == path])
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:  # a fork copies only the calling thread
        names = [thread.name for thread in threading.enumerate()]
        raise RuntimeError(f"{path}: warm_up() left threads running, {names}: a forked job would lack them")


def run(spec):
    """Run every job of `spec`; returns the exit status."""
    warm = set()
    waiting, running, finished = list(spec["jobs"]), {}, set()
    try:
        while waiting or running:
            ready = [job for job in waiting if set(job.get("after", ())) <= finished]
            for job in ready[:max(spec["workers"] - len(running), 0)]:
                waiting.remove(job)
                warm_up(job, spec["jobs"], warm)
                running[start(job)] = (job, time.perf_counter())
            if not running:
                report(name=None, ok=False, seconds=0.0,
                       error=f"jobs {[j['name'] for j in waiting]} wait for jobs that are not listed")
                return 1
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:
                continue
            job, t0 = running.pop(pid)
            ok = os.waitstatus_to_exitcode(status) == 0
            report(name=job["name"], ok=ok, seconds=time.perf_counter() - t0, cpu=usage.ru_utime + usage.ru_stime)
            if not ok:
                return 1
            finished.add(job["name"])
        return 0
    finally:
        for pid in running:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main(spec_path):
    # A SIGTERM (the build stopping us) ends this process the Python way, so that the
    # `finally` above kills the running jobs even where no parent-death signal exists.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    die_with_parent()
    _report.append(os.fdopen(os.dup(1), "w"))   # reports only: what else prints goes to stderr
    os.dup2(2, 1)
    return run(json.loads(Path(spec_path).read_text()))


if __name__ == "__main__":
    if sys.argv[1] == "--one":   # one job, without fork (see start)
        run_child(json.loads(sys.argv[2]))
    sys.exit(main(sys.argv[1]))
