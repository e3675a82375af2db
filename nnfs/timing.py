"""One measurement per quantity: the notebooks quote the site build's timed run.

The site build (overrides/hooks/pipeline.py) times the original trainer once, in CPU
seconds of one thread, and writes it to results.json. It runs the notebooks at the
same time, in other processes, with the path of that file in the environment
variable NNFS_SITE_RESULTS. A notebook that calls `build_results()` gets the build's
figures, so every page quotes the same number for the same run. Run by hand, outside
the build, the variable is unset and `build_results()` returns None: the notebook then
quotes its own run and says so.
"""

import json
import os
import time
from pathlib import Path

RESULTS_ENV = "NNFS_SITE_RESULTS"


def build_results(timeout=900.0, poll=0.1):
    """The build's results.json as a dict, or None outside a build.

    The build starts the notebooks while its pipeline is still training, so the file
    may not exist yet: wait for it, at most `timeout` seconds."""
    value = os.environ.get(RESULTS_ENV)
    if not value:
        return None
    path = Path(value)
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise FileNotFoundError(f"{path}: {RESULTS_ENV} names this file, but the build did not write it "
                                    f"within {timeout:.0f} s")
        time.sleep(poll)
    return json.loads(path.read_text())
