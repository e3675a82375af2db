"""BLAS threads are chosen from the CPUs a process may use, never left to OpenBLAS's default."""

import os
import subprocess
import sys

import pytest

from nnfs.threads import choose_blas_threads, explicit_threads, thread_env

needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                                    reason="needs sched_setaffinity and at least two CPUs")


@pytest.mark.parametrize("cpus, jobs, load, threads", [
    (2, 1, 0.0, 2),    # a quiet 2-CPU machine: both cores
    (2, 2, 0.0, 1),    # two jobs at once: one thread each, no core shared by two spinning threads
    (2, 1, 1.6, 1),    # another process already keeps a core busy
    (2, 1, 9.0, 1),    # very busy: still one thread, never zero
    (8, 3, 0.0, 2),    # shares round down
    (16, 1, 0.4, 16),
])
def test_choice_follows_cpus_jobs_and_load(cpus, jobs, load, threads):
    assert choose_blas_threads(cpus, jobs, load) == threads


def test_bad_counts_are_an_error():
    with pytest.raises(ValueError, match="cpus and jobs must be at least 1"):
        choose_blas_threads(0)


def test_thread_env_sets_every_library():
    assert thread_env(1) == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_an_explicit_setting_wins(monkeypatch):
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert explicit_threads() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert explicit_threads() == 3


BLAS_THREADS_AFTER_CLI = """
import os, numpy                      # OpenBLAS starts with its default: one thread per CPU
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # then this process may use one CPU only
from nnfs.cli import main
main(["--version"])
from threadpoolctl import threadpool_info
print(max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"))
"""


@needs_affinity
def test_the_cli_uses_the_cpus_it_may_run_on():
    """Pinned to one CPU, the CLI trains with one BLAS thread, whatever OpenBLAS chose at load."""
    env = {k: v for k, v in os.environ.items() if k not in thread_env(1)}
    out = subprocess.run([sys.executable, "-c", BLAS_THREADS_AFTER_CLI], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1"


# ---- timings the pages quote -------------------------------------------------------------------

def test_cpu_seconds_leave_out_time_spent_waiting(monkeypatch):
    """History.cpu_seconds counts this thread's work only: a wait (as for a core another
    process holds) stretches `seconds` but not `cpu_seconds`."""
    import importlib
    import time

    import numpy as np

    import nnfs

    train_module = importlib.import_module("nnfs.train")   # nnfs.train is also the function train
    real_forward = train_module.forward

    def slow_forward(params, X):
        time.sleep(0.05)                       # 0.05 s without CPU, on every step
        return real_forward(params, X)

    monkeypatch.setattr(train_module, "forward", slow_forward)
    rng = np.random.default_rng(0)
    X, Y = rng.random((784, 50)), rng.integers(0, 10, 50)
    _, history = train_module.gradient_descent(X, Y, nnfs.TrainConfig(iterations=10, eval_every=5))
    assert len(history.cpu_seconds) == len(history.seconds) == 2
    assert history.seconds[-1] >= 0.5                       # ten sleeps of 0.05 s
    assert 0 < history.cpu_seconds[-1] < history.seconds[-1] - 0.4
    assert history.cpu_seconds == sorted(history.cpu_seconds)


def test_build_results_outside_a_build_is_none(monkeypatch):
    from nnfs.timing import build_results

    monkeypatch.delenv("NNFS_SITE_RESULTS", raising=False)
    assert build_results() is None


def test_build_results_waits_for_the_pipeline(monkeypatch, tmp_path):
    """The build starts the notebooks while the pipeline still trains: the file appears later."""
    import json
    import threading

    from nnfs.timing import build_results

    path = tmp_path / "results.json"
    monkeypatch.setenv("NNFS_SITE_RESULTS", str(path))
    threading.Timer(0.3, lambda: path.write_text(json.dumps({"gd_seconds": 2.5}))).start()
    assert build_results(timeout=60) == {"gd_seconds": 2.5}


def test_build_results_names_a_file_that_never_comes(monkeypatch, tmp_path):
    from nnfs.timing import build_results

    monkeypatch.setenv("NNFS_SITE_RESULTS", str(tmp_path / "results.json"))
    with pytest.raises(FileNotFoundError, match="results.json: NNFS_SITE_RESULTS names this file"):
        build_results(timeout=0.2)
