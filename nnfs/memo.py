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

`reuse_group(together)` does the same for nnfs.timing.side_by_side, which trains
several runs in turns, and also stores each of its runs under the key that run has
alone, so a page that asks `reuse(fit)` for one of them reads it. While the group
trains it holds the lock of each of its runs, so a page that asks meanwhile waits for
the group instead of training the run a second time (unless it started first: then it
trains it, and the group leaves that run's file to it). A scikit-learn model in the
group is stored fitted and, read back, fitted in place, as side_by_side fits it.
"""

import hashlib
import inspect
import json
import os
import pickle
from contextlib import ExitStack, contextmanager
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


def _data_digest(arrays):
    """The hash of the arrays a run trains and checks on (dtype, shape, bytes); None counts too."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none\0")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}\0".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _run_key(name, config, data_digest):
    text = f"{name}\0{json.dumps(config.to_dict(), sort_keys=True)}\0{_source_digest()}\0{data_digest}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_key(name, config, *arrays):
    """The hash of one training run: trainer name, config, data and nnfs source."""
    return _run_key(name, config, _data_digest(arrays))


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


@contextmanager
def _lock_if_free(path):
    """An exclusive lock on `path` for the block if nobody holds it: yields whether it was taken."""
    try:
        import fcntl
    except ImportError:
        yield True
        return
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
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


def _load_group(path, history_type, configs):
    with np.load(path) as stored:
        meta = json.loads(str(stored["group"]))
        runs = {name: ({p: stored[f"{i}.{p}"] for p in meta["params"][i]}, history_type(**meta["histories"][i]))
                for i, name in enumerate(meta["names"])}
        for i, name in enumerate(meta["names"]):
            if f"{i}.model" in stored.files:   # a scikit-learn model: fitted in place, as side_by_side does
                configs[name].__dict__.update(pickle.loads(stored[f"{i}.model"].tobytes()).__dict__)
    return runs


def _save_group(path, runs, configs):
    meta = {"names": list(runs), "params": [list(params) for params, _ in runs.values()],
            "histories": [history.__dict__ for _, history in runs.values()]}
    arrays = {f"{i}.{p}": value for i, (params, _) in enumerate(runs.values()) for p, value in params.items()}
    for i, name in enumerate(runs):
        if not hasattr(configs[name], "to_dict"):   # a fitted scikit-learn model, as bytes
            arrays[f"{i}.model"] = np.frombuffer(pickle.dumps(configs[name]), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, group=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def _describe(model):
    """A scikit-learn estimator as text: module, class, library version, sorted parameters."""
    import importlib.metadata

    library = type(model).__module__.split(".")[0]
    try:
        version = importlib.metadata.version("scikit-learn" if library == "sklearn" else library)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return f"{type(model).__module__}.{type(model).__qualname__} {version} {sorted(model.get_params().items())!r}"


def reuse_group(together, history_type, fit_name):
    """`together(configs, X, Y, X_dev, Y_dev, **options)` -> {name: (params, History)}, trained
    once per NNFS_TRAIN_CACHE folder. The options change how it trains (its timing), not
    the runs, so they are not part of the key. `fit_name(config)` names the trainer `reuse`
    keys a run by."""

    @wraps(together)
    def together_once(configs, X, Y, X_dev=None, Y_dev=None, **options):
        folder = os.environ.get(CACHE_ENV)
        if not folder:
            return together(configs, X, Y, X_dev, Y_dev, **options)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data = _data_digest((X, Y, X_dev, Y_dev))  # hashed once for every run of the group
        alone = {name: folder / f"{_run_key(fit_name(config), config, data)}.npz"
                 for name, config in configs.items() if hasattr(config, "to_dict")}
        group_key = hashlib.sha256(f"{together.__name__}\0{data}".encode())
        for name, config in configs.items():  # a scikit-learn model: its class, version and parameters
            group_key.update(f"\0{name}\0".encode() + (alone[name].stem if name in alone else _describe(config)).encode())
        path = folder / f"{group_key.hexdigest()[:32]}.npz"
        with _locked(path.with_suffix(".lock")):
            if path.is_file():
                return _load_group(path, history_type, configs)
            with ExitStack() as held:   # the runs no page is training: pages asking for them wait
                mine = {name: run_path for name, run_path in alone.items()
                        if held.enter_context(_lock_if_free(run_path.with_suffix(".lock")))}
                runs = together(configs, X, Y, X_dev, Y_dev, **options)
                _save_group(path, runs, configs)
                for name, run_path in mine.items():
                    if not run_path.is_file():
                        _save(run_path, *runs[name])
        return runs

    return together_once
