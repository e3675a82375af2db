"""overrides/hooks/jobs.py: the build's jobs run in processes forked from one that has
already imported what they need (each job module's warm_up), and report how they end."""

import sys
import textwrap

import pytest

from test_hook import load_hook


@pytest.fixture(scope="module")
def hook():
    return load_hook("nnfs_site")


def module(tmp_path, name, code):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path


def test_a_job_starts_with_what_its_modules_warm_up_loaded(hook, tmp_path):
    """warm_up runs once, in the runner, with every job's arguments; each job then runs in a
    child of the runner that already holds what warm_up made."""
    path = module(tmp_path, "work", """
        import os, pathlib
        LOADED = None

        def warm_up(calls):
            global LOADED
            LOADED = f"{os.getpid()} {sorted(args[0] for args in calls)}"
            with open(pathlib.Path(calls[0][1]) / "warm", "a") as f:
                f.write("warmed\\n")

        def main(name, folder):
            pathlib.Path(folder, name).write_text(f"{LOADED}|{os.getppid()}")
    """)
    jobs = [hook.Job(name, call=(path, "main", [name, tmp_path])) for name in ("a", "b")]
    hook.run_jobs(jobs, workers=2)
    assert (tmp_path / "warm").read_text() == "warmed\n"
    for name in ("a", "b"):
        loaded, parent = (tmp_path / name).read_text().split("|")
        runner, calls = loaded.split(" ", 1)
        assert calls == "['a', 'b']" and parent == runner


def test_a_later_module_warms_up_while_the_first_job_runs(hook, tmp_path):
    """The pipeline, listed first, starts after its own warm_up only."""
    first = module(tmp_path, "first", """
        import pathlib, time

        def main(folder):
            pathlib.Path(folder, "first started").touch()
            time.sleep(0.5)
    """)
    later = module(tmp_path, "later", """
        import pathlib, time

        def warm_up(calls):
            folder = pathlib.Path(calls[0][0])
            deadline = time.time() + 30
            while not (folder / "first started").exists() and time.time() < deadline:
                time.sleep(0.02)
            (folder / "seen").write_text(str((folder / "first started").exists()))

        def main(folder):
            pass
    """)
    hook.run_jobs([hook.Job("first", call=(first, "main", [tmp_path])),
                   hook.Job("later", call=(later, "main", [tmp_path]))], workers=2)
    assert (tmp_path / "seen").read_text() == "True"


def test_a_failing_job_fails_the_build_with_its_traceback(hook, tmp_path):
    from mkdocs.exceptions import PluginError

    path = module(tmp_path, "broken", """
        def main():
            raise ValueError("this job fails on purpose")
    """)
    with pytest.raises(PluginError, match=r"(?s)broken failed:.*Traceback.*ValueError: this job fails on purpose"):
        hook.run_jobs([hook.Job("broken", call=(path, "main", []))], workers=1)


def test_a_job_that_exits_with_a_message_shows_just_that(hook, tmp_path):
    from mkdocs.exceptions import PluginError

    path = module(tmp_path, "refuses", """
        import sys

        def main():
            sys.exit("bad.csv: row 3 has 12 fields, expected 785")
    """)
    with pytest.raises(PluginError, match=r"refuses failed:\nbad.csv: row 3 has 12 fields, expected 785$"):
        hook.run_jobs([hook.Job("refuses", call=(path, "main", []))], workers=1)


def test_a_warm_up_that_leaves_a_thread_running_is_refused(hook, tmp_path):
    """A fork copies only the thread that forks: a job would miss the thread warm_up started."""
    from mkdocs.exceptions import PluginError

    path = module(tmp_path, "threaded", """
        import threading, time

        def warm_up(calls):
            threading.Thread(target=time.sleep, args=(30,), daemon=True, name="sleeper").start()

        def main():
            pass
    """)
    with pytest.raises(PluginError, match=r"(?s)warm_up\(\) left threads running.*sleeper"):
        hook.run_jobs([hook.Job("threaded", call=(path, "main", []))], workers=1)


def test_a_job_is_a_command_or_a_call_not_both(hook, tmp_path):
    with pytest.raises(ValueError, match="give argv or call"):
        hook.Job("both", [sys.executable], call=(tmp_path / "x.py", "main", []))
    with pytest.raises(ValueError, match="give argv or call"):
        hook.Job("neither")


def test_without_fork_a_call_job_runs_as_a_program_of_its_own(tmp_path):
    """Where os.fork does not exist (Windows), jobs.py starts `jobs.py --one JOB` instead."""
    import json
    import subprocess

    from conftest import ROOT

    path = module(tmp_path, "alone", """
        import os, pathlib

        def main(folder):
            pathlib.Path(folder, "ran").write_text(os.environ["NNFS_TEST_VALUE"])
    """)
    job = {"name": "alone", "call": [str(path), "main", [str(tmp_path)]], "env": {"NNFS_TEST_VALUE": "42"},
           "stderr": str(tmp_path / "alone.stderr")}
    done = subprocess.run([sys.executable, str(ROOT / "overrides" / "hooks" / "jobs.py"), "--one", json.dumps(job)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (tmp_path / "alone.stderr").read_text()
    assert (tmp_path / "ran").read_text() == "42"


def test_a_job_never_collects_what_the_warm_ups_made_and_reports_its_cpu(hook, tmp_path):
    """Before the fork the runner freezes its objects (gc.freeze): a child's garbage
    collections skip them, instead of walking them all and copying their memory pages.
    The report gives each job's CPU seconds."""
    path = module(tmp_path, "frozen", """
        import gc, pathlib, time
        KEPT = None

        def warm_up(calls):
            global KEPT
            KEPT = [[i] for i in range(50_000)]   # what imports leave behind, in small (lists: tracked by gc)

        def main(folder):
            t = time.process_time() + 0.2
            while time.process_time() < t:
                pass
            pathlib.Path(folder, "frozen").write_text(str(gc.get_freeze_count()))
    """)
    (job,) = hook.run_jobs([hook.Job("frozen", call=(path, "main", [tmp_path]))], workers=1)
    assert int((tmp_path / "frozen").read_text()) > 50_000
    assert 0.2 <= job.cpu < 30
