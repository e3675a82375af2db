"""Train each run once per site build, however many pages show it.

Same config + same data = same weights, bit for bit (TrainConfig's promise). The
site build trains the original network on four pages at once (the pipeline, Training,
Results' neighbours, Going further); on full MNIST each such run costs minutes. When
the environment variable NNFS_TRAIN_CACHE names a folder, `reuse(fit)` stores every
finished run of `fit` there, named by the hash of everything the run depends on:

    the trainer's name, the TrainConfig, X, Y, X_dev, Y_dev (dtype, shape, bytes),
    and the source of every nnfs module.

Asked for the same run again, in this process or another, it returns the stored
params and History (whose times are those of the one run that trained). Two
processes asking at once do not both train: the first holds a lock on the run's
file while it trains, the second waits and then reads the result.

Unset, as when a reader runs a notebook, `reuse(fit)` is `fit`: nothing is stored.
A call with its own `rng` or a `callback` always trains (its effects are the point).
"""

import hashlib
import inspect
import json
import os
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path

import numpy as np

CACHE_ENV = "NNFS_TRAIN_CACHE"


@cache
def _source_digest():
    """The hash of the nnfs source, computed once per process."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_key(name, config, *arrays):
    """The hash of one training run: trainer name, config, data and nnfs source."""
    h = hashlib.sha256(f"{name}\0{json.dumps(config.to_dict(), sort_keys=True)}\0{_source_digest()}".encode())
    for a in arrays:
        if a is None:
            h.update(b"none\0")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}\0".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:32]


@contextmanager
def _locked(path):
    """An exclusive lock on `path` (created if needed) for the block; no lock without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: two processes may both train, which is only slower
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _load(path, history_type):
    with np.load(path) as stored:
        params = {name.removeprefix("param."): stored[name] for name in stored.files if name.startswith("param.")}
        history = history_type(**json.loads(str(stored["history"])))
    return params, history


def _save(path, params, history):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, history=np.array(json.dumps(history.__dict__)),
                 **{f"param.{name}": value for name, value in params.items()})
    os.replace(tmp, path)  # atomic: a reader sees the whole run or none


def reuse(fit, history_type):
    """`fit(X, Y, config, X_dev, Y_dev, *, rng, callback)`, trained once per NNFS_TRAIN_CACHE folder.

    history_type rebuilds a stored History (a dataclass of lists)."""
    signature = inspect.signature(fit)

    @wraps(fit)
    def fit_once(*args, **kwargs):
        folder = os.environ.get(CACHE_ENV)
        call = signature.bind(*args, **kwargs)
        call.apply_defaults()
        a = call.arguments
        if not folder or a["rng"] is not None or a["callback"] is not None:
            return fit(*args, **kwargs)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_key(fit.__name__, a['config'], a['X'], a['Y'], a['X_dev'], a['Y_dev'])}.npz"
        with _locked(path.with_suffix(".lock")):
            if path.is_file():
                return _load(path, history_type)
            params, history = fit(*args, **kwargs)
            _save(path, params, history)
        return params, history

    return fit_once
