"""How many BLAS threads to train with, chosen on purpose instead of OpenBLAS's default.

OpenBLAS starts one thread per CPU and its threads spin while they wait for work.
When two such processes share two cores, each spins on a core the other needs: two
`nnfs train --trainer gd` runs at once took 18.4 s with the default threads against
7.6 s with one thread each. So:

* the CLI calls `limit_blas_threads()`, which gives BLAS the CPUs this process may run on
  (`os.sched_getaffinity`, not the machine's count) that are not already busy (the
  1-minute load average), at least one;
* the site build runs several jobs at once and gives each `blas_threads(jobs)` threads
  through `thread_env`, set before NumPy loads in each job's process.

An explicit OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS always wins.
"""

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cpus():
    """The CPUs this process may run on (taskset, cgroups' cpusets), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity API
        return os.cpu_count() or 1


def choose_blas_threads(cpus, jobs=1, load=0.0):
    """BLAS threads for each of `jobs` processes on `cpus` CPUs, `load` of them already busy.

    Each job gets an equal share of the idle CPUs, rounded down, and at least one
    thread: a spinning thread on a busy core costs far more than it gains.
    >>> choose_blas_threads(2), choose_blas_threads(2, jobs=2), choose_blas_threads(2, load=1.6)
    (2, 1, 1)
    """
    if cpus < 1 or jobs < 1 or load < 0:
        raise ValueError(f"cpus and jobs must be at least 1 and load at least 0; got {cpus}, {jobs}, {load}")
    idle = max(cpus - load, 0.0)
    return max(1, int(min(cpus, idle + 0.5) // jobs))


def blas_threads(jobs=1):
    """`choose_blas_threads` for this process: its CPUs, and the machine's 1-minute load."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return choose_blas_threads(available_cpus(), jobs, load)


def explicit_threads():
    """The thread count the user set in the environment, or None."""
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return None


def thread_env(threads):
    """Environment variables that fix BLAS to `threads` threads in a process not started yet."""
    return {name: str(threads) for name in THREAD_VARIABLES}


def limit_blas_threads(threads=None):
    """Limit the BLAS libraries this process has loaded to `threads` (default: the user's
    setting, else `blas_threads()`). Returns the count used."""
    from threadpoolctl import threadpool_limits

    if threads is None:
        threads = explicit_threads() or blas_threads()
    threadpool_limits(threads, user_api="blas")  # stays in force: not used as a context manager
    return threads
