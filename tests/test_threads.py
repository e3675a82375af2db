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
