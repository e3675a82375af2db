"""The command line: ``nnfs train``, ``nnfs evaluate``, ``nnfs predict`` and ``nnfs check``.

Run as ``nnfs ...`` (the console script) or ``python -m nnfs ...``.
Results go to stdout; a spinner goes to stderr only when stderr is a terminal.
Bad input of any kind is one line on stderr, ``nnfs: error: <message>``, and
exit status 2, never a traceback; Ctrl-C is ``nnfs: interrupted`` and status 130.
Anything else is a bug: ``nnfs: internal error: ...`` and status 70 (set
``NNFS_DEBUG=1`` for the traceback). `main` returns the exit status, so tests can
call it in-process.

This module imports only the standard library at import time; NumPy and the
rest of nnfs are imported inside `main`, where a Ctrl-C is caught.
"""

import argparse
import os
import re
import sys
import threading
import time
from pathlib import Path

from nnfs import __version__

MAX_MESSAGE = 300  # an error line is shorter than this, "nnfs: error: " included
MAX_QUOTE = 60     # characters of one quoted value the user typed
DEBUG_ENV = "NNFS_DEBUG"

# argparse dest -> TrainConfig field, for the options that build the config
CONFIG_OPTIONS = {
    "hidden": "n_hidden",
    "iterations": "iterations",
    "epochs": "epochs",
    "learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "init": "init",
    "seed": "seed",
}
# options the other trainer never reads
IGNORED_BY = {"gd": ("epochs", "batch_size", "optimizer"), "fast": ("iterations",)}


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _ProgressBar:
    """``training [#####.....] 50%  step 500/1000  dev 0.8120`` on one line of ``stream``.

    Drawn from the trainer's callback after every history row; does nothing
    unless ``stream`` is a terminal, so pipes and logs stay clean.
    """

    def __init__(self, label, stream=None, width=30):
        self.label, self.width = label, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)

    def __call__(self, history, total_steps):
        if not self.enabled:
            return
        done = history.step[-1] / total_steps
        filled = round(done * self.width)
        dev = history.dev_accuracy[-1]
        self.stream.write(f"\r\033[K{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done:4.0%}"
                          f"  step {history.step[-1]}/{total_steps}  dev {dev:.4f}")
        if history.step[-1] >= total_steps:
            self.stream.write("\n")
        self.stream.flush()


class _Spinner:
    """``| label 1.2s`` redrawn on one line of ``stream`` while the block runs.

    For steps of unknown length, such as loading data. Does nothing unless
    ``stream`` is a terminal, so pipes and logs stay clean.
    """

    FRAMES = "|/-\\"

    def __init__(self, label, stream=None):
        self.label, self.stream = label, stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)

    def __enter__(self):
        if self.enabled:
            self.t0 = time.perf_counter()
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _draw(self, text):
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()

    def _run(self):
        i = 0
        while not self.stop.wait(0.1):
            self._draw(f"{self.FRAMES[i % 4]} {self.label} {time.perf_counter() - self.t0:.1f}s")
            i += 1

    def __exit__(self, exc_type, exc, tb):
        if self.enabled:
            self.stop.set()
            self.thread.join()
            seconds = time.perf_counter() - self.t0
            self._draw(f"{self.label} done in {seconds:.1f}s\n" if exc_type is None else "")
        return False


# ----------------------------------------------------------------------------
# nnfs train
# ----------------------------------------------------------------------------

def _train_config(args):
    """TrainConfig from the trainer's defaults and only the options the user gave."""
    from nnfs.train import TrainConfig

    given = {field: getattr(args, dest) for dest, field in CONFIG_OPTIONS.items() if getattr(args, dest) is not None}
    try:
        return TrainConfig.fast(**given) if args.trainer == "fast" else TrainConfig(trainer="gd", **given)
    except ValueError as err:
        # "TrainConfig.n_hidden must be at least 1, got 0" -> "--hidden must be at least 1, got 0 (...)"
        message = str(err)
        match = re.search(r"TrainConfig\.(\w+)", message)
        fields = {field: dest for dest, field in CONFIG_OPTIONS.items()}
        if match and match.group(1) in fields:
            message = message.replace(match.group(0), _flag(fields[match.group(1)])) + f" ({match.group(0)})"
        raise ValueError(message) from None


def _describe(config):
    if config.trainer == "gd":
        steps = f"{config.iterations} full-batch iterations"
        how = f"learning rate {config.learning_rate:g}"
    else:
        steps = f"{config.epochs} epochs of batches of {config.batch_size}"
        how = (f"{config.optimizer}, learning rate {config.learning_rate:g}"
               + (" decaying linearly" if config.schedule == "linear" else ""))
    return (f"trainer: {config.trainer}, {steps}, {how}, {config.init} init, "
            f"{config.n_hidden} hidden units, seed {config.seed}")


def _training_inputs(args):
    """The files `nnfs train --data` reads, so that --out can never be one of them."""
    from nnfs.data import MNIST_PARTS, _cached_copy, resolve_cache_dir, sample_path

    if args.data == "sample":
        try:
            return [sample_path()]
        except FileNotFoundError:
            return []  # reported when the data is loaded
    if args.data == "mnist":
        directory = resolve_cache_dir(args.cache_dir)
        return [_cached_copy(directory, name) for name in MNIST_PARTS["train"]]
    return [args.data]


def cmd_train(args):
    import numpy as np

    from nnfs.atomic import check_output
    from nnfs.data import load_dataset, train_dev_split
    from nnfs.model_io import model_metadata, save_model
    from nnfs.network import accuracy, predict
    from nnfs.train import train

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file name such as {out / 'model.npz'}")
    check_output(out, _training_inputs(args), label="--out")  # before any slow work
    config = _train_config(args)
    if args.dev_size < 1:
        raise ValueError(f"--dev-size must be at least 1 (the dev set measures accuracy), got {args.dev_size}")
    ignored = [_flag(dest) for dest in IGNORED_BY[config.trainer] if getattr(args, dest) is not None]
    if ignored:
        print(f"nnfs: warning: --trainer {config.trainer} ignores {', '.join(ignored)}", file=sys.stderr)

    with _Spinner(f"loading {args.data}"):
        dataset = load_dataset(args.data, cache_dir=args.cache_dir)
    m = dataset.Y.size
    if args.dev_size >= m:
        raise ValueError(
            f"--dev-size {args.dev_size} is too large: {args.data} has {m:,} examples "
            f"and at least one must be left for training"
        )
    X_train, Y_train, X_dev, Y_dev = train_dev_split(
        dataset.X, dataset.Y, args.dev_size, rng=np.random.default_rng(config.seed)
    )
    print(f"data: {dataset.description}: {Y_train.size:,} for training, {Y_dev.size:,} for dev")
    print(_describe(config))

    params, history = train(X_train, Y_train, config, X_dev, Y_dev,
                            callback=_ProgressBar(f"training ({config.trainer})"))
    print(f"train accuracy: {accuracy(predict(params, X_train), Y_train):.4f}")
    print(f"dev accuracy: {history.final_dev_accuracy:.4f}")
    metadata = model_metadata(config, dataset, Y_train.size, Y_dev.size, history.final_dev_accuracy,
                              split_seed=config.seed)
    save_model(out, params, metadata)
    print(f"saved {out}")
    return 0


# ----------------------------------------------------------------------------
# nnfs evaluate
# ----------------------------------------------------------------------------

def _evaluation_data(args, metadata):
    """(X, Y, description) for evaluate's --data or --images/--labels."""
    from nnfs.data import load_dataset, load_idx, load_mnist_part

    if args.images is not None:
        X, Y = load_idx(args.images, args.labels)
        return X, Y, f"{args.images} with labels {args.labels} ({Y.size:,} digits)"
    if args.data == "mnist":
        X, Y = load_mnist_part("test", cache_dir=args.cache_dir)
        return X, Y, f"the MNIST test set ({Y.size:,} digits)"
    dataset = load_dataset(args.data, cache_dir=args.cache_dir, purpose="evaluation")
    return _unseen(dataset, metadata, args)


def _recorded_split(metadata, model):
    """The model's recorded split {"dataset", "seed", "dev_size", "n_examples"}, None if absent."""
    split = metadata.get("split")
    if split is None:
        return None
    fields = {"dataset": str, "seed": int, "dev_size": int, "n_examples": int}
    if not isinstance(split, dict) or any(type(split.get(k)) is not t for k, t in fields.items()):
        raise ValueError(f"{model}: its metadata 'split' is malformed; expected {{dataset, seed, dev_size, n_examples}}")
    return split


def _unseen(dataset, metadata, args):
    """(X, Y, description): the digits of ``dataset`` the model did not train on.

    The model's own dataset: only its dev digits, found again from the split it
    recorded. The sample: also refused for a model trained on MNIST's training
    set, which contains the sample's digits. Any other dataset: all of it.
    """
    import numpy as np

    from nnfs.data import train_dev_split

    model = args.model
    split = _recorded_split(metadata, model)
    trained = metadata.get("dataset") if isinstance(metadata.get("dataset"), dict) else {}
    if split is not None and split["dataset"] == dataset.identity:
        m = dataset.Y.size
        if split["n_examples"] != m:
            raise ValueError(f"{model}: recorded a split of {split['n_examples']:,} examples, "
                             f"but {args.data} now has {m:,}")
        _, _, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, split["dev_size"],
                                             rng=np.random.default_rng(split["seed"]))
        return X_dev, Y_dev, (f"{dataset.description}: only the {Y_dev.size:,} dev digits "
                              f"it did not train on (split seed {split['seed']})")
    if trained.get("identity") == dataset.identity or (dataset.name == "sample" and split is None):
        raise ValueError(
            f"{model}: its train/dev split was not recorded (saved by an older nnfs?), so evaluate cannot tell "
            f"which digits of {args.data} it trained on; use --data mnist (the MNIST test set)"
        )
    if dataset.name == "sample" and trained.get("name") == "mnist":
        raise ValueError(f"{model}: was trained on the MNIST training set, which contains every digit of the "
                         f"sample; use --data mnist (the MNIST test set)")
    return dataset.X, dataset.Y, dataset.description


def per_digit_table(pred, Y):
    """Lines of a table: digit, count, correct, accuracy, and a final 'all' row."""
    import numpy as np

    lines = [f"{'digit':>5}  {'count':>6}  {'correct':>7}  {'accuracy':>8}"]
    for digit in [*range(10), "all"]:
        mask = np.ones_like(Y, dtype=bool) if digit == "all" else Y == digit
        count, correct = int(mask.sum()), int((pred[mask] == Y[mask]).sum())
        rate = f"{correct / count:.4f}" if count else "-"
        lines.append(f"{digit:>5}  {count:>6}  {correct:>7}  {rate:>8}")
    return lines


def cmd_evaluate(args):
    from nnfs.model_io import load_model
    from nnfs.network import accuracy, predict

    if (args.data is None) == (args.images is None):
        args.parser.error("give either --data or --images (with --labels)")
    if (args.images is None) != (args.labels is None):
        args.parser.error("--images and --labels go together")
    params, metadata = load_model(args.model)
    with _Spinner("loading data"):
        X, Y, description = _evaluation_data(args, metadata)
    pred = predict(params, X)
    print(f"evaluated {args.model} on {description}")
    print(f"accuracy: {accuracy(pred, Y):.4f}")
    for line in per_digit_table(pred, Y):
        print(line)
    return 0


# ----------------------------------------------------------------------------
# nnfs predict
# ----------------------------------------------------------------------------

def _is_csv(path):
    return path.name.lower().endswith((".csv", ".csv.gz"))


def cmd_predict(args):
    from nnfs.data import load_csv
    from nnfs.image import load_png
    from nnfs.model_io import load_model
    from nnfs.network import forward

    path = Path(args.input)
    if args.row is not None and not _is_csv(path):
        raise ValueError(f"--row applies only to a CSV file, not to {path}")
    params, _metadata = load_model(args.model)
    label = None
    if _is_csv(path):
        X, Y = load_csv(path)
        row = 0 if args.row is None else args.row
        m = X.shape[1]
        if not 0 <= row < m:
            raise ValueError(f"--row {row} is out of range: {path} has {m:,} data rows (0..{m - 1})")
        x = X[:, row]
        label = None if Y is None else int(Y[row])
    else:
        x, notes = load_png(path)
        for note in notes:
            print(f"note: {note}")
    probabilities = forward(params, x.reshape(784, 1).astype(params["W1"].dtype))["A2"][:, 0]  # (10,)
    print(f"prediction: {int(probabilities.argmax())}")
    for digit, p in enumerate(probabilities):
        print(f"{digit:>3}  {p:.4f}")
    if label is not None:
        print(f"label: {label}")
    return 0


# ----------------------------------------------------------------------------
# nnfs check
# ----------------------------------------------------------------------------

def cmd_check(args):
    """Grade the reader's own network; exit 0 if every check passes, 1 if any fails."""
    import json

    from nnfs.check import Progress, check_file

    report = check_file(args.path, progress=Progress(sys.stderr))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.text())
    return report.exit_status


def _add_check_parser(commands):
    p = commands.add_parser("check", help="check your own from-scratch network (.py or .ipynb) and name its mistakes")
    p.add_argument("path", metavar="FILE.py|FILE.ipynb",
                   help="your code; only its imports of numpy/math, functions and constants are loaded, "
                        "its top-level code never runs")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_check, parser=p)


# ----------------------------------------------------------------------------
# Parser and entry point
# ----------------------------------------------------------------------------

def _default_help(text, dest):
    """Help text ending with TrainConfig's defaults for option `dest`, per trainer when they differ."""
    from nnfs.train import TrainConfig

    field = CONFIG_OPTIONS[dest]
    trainers = [t for t in ("gd", "fast") if dest not in IGNORED_BY[t]]
    values = {"gd": getattr(TrainConfig(), field), "fast": getattr(TrainConfig.fast(), field)}
    if len(trainers) == 1:
        return f"{trainers[0]} only: {text} (default: {values[trainers[0]]})"
    if values["gd"] == values["fast"]:
        return f"{text} (default: {values['gd']})"
    return f"{text} (default: gd {values['gd']}, fast {values['fast']})"


def _add_cache_dir(parser):
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="folder of the MNIST files (default: $NNFS_DATA_DIR or ~/.cache/nnfs)")


class UsageError(Exception):
    """A command line argparse refused: reported as one line, not the usage block."""


class _Parser(argparse.ArgumentParser):
    """argparse, with errors raised (one line in `main`) instead of printed with the usage block."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {_shorten_quotes(message)} (see {self.prog} --help)")


def _shorten_quotes(text):
    """Cut every quoted value in ``text`` to MAX_QUOTE characters."""
    return re.sub(rf"'([^']{{{MAX_QUOTE}}})[^']+'", r"'\1...'", text)


def build_parser():
    parser = _Parser(
        prog="nnfs", description="Train, evaluate and use a 784-10-10 digit classifier, built in NumPy."
    )
    parser.add_argument("--version", action="version", version=f"nnfs {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("train", help="train a network and save it to an .npz file")
    p.add_argument("--data", default="sample", metavar="sample|mnist|PATH.csv",
                   help="training data: the embedded 5,000-digit sample, MNIST's 60k training set, "
                        "or a Kaggle-style train CSV (default: sample)")
    p.add_argument("--trainer", choices=("gd", "fast"), default="gd",
                   help="gd: full-batch gradient descent as in the original notebook; "
                        "fast: mini-batch SGD (default: gd)")
    p.add_argument("--hidden", type=int, metavar="H", help=_default_help("hidden units", "hidden"))
    p.add_argument("--iterations", type=int, metavar="N",
                   help=_default_help("full-batch steps", "iterations"))
    p.add_argument("--epochs", type=int, metavar="N",
                   help=_default_help("passes over the training set", "epochs"))
    p.add_argument("--learning-rate", type=float, metavar="ALPHA",
                   help=_default_help("step size alpha", "learning_rate"))
    p.add_argument("--batch-size", type=int, metavar="B",
                   help=_default_help("examples per step", "batch_size"))
    p.add_argument("--optimizer", choices=("sgd", "adam"), help=_default_help("update rule", "optimizer"))
    p.add_argument("--init", choices=("he", "uniform"), help=_default_help("weight initialisation", "init"))
    p.add_argument("--seed", type=int, metavar="S",
                   help="seeds the dev split, the initial weights and the shuffling (default: 0)")
    p.add_argument("--dev-size", type=int, default=1000, metavar="N",
                   help="examples held out to measure accuracy (default: 1000)")
    _add_cache_dir(p)
    p.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the trained model")
    p.set_defaults(func=cmd_train, parser=p)

    p = commands.add_parser("evaluate", help="accuracy of a saved model, overall and per digit")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--data", metavar="sample|mnist|PATH.csv",
                   help="the whole sample, MNIST's 10k test set, or a Kaggle-style train CSV")
    p.add_argument("--images", metavar="IDX", help="an IDX image file (gzipped or raw), with --labels")
    p.add_argument("--labels", metavar="IDX", help="the IDX label file that goes with --images")
    _add_cache_dir(p)
    p.set_defaults(func=cmd_evaluate, parser=p)

    p = commands.add_parser("predict", help="classify one digit: a PNG, or a row of a Kaggle CSV")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("input", metavar="IMAGE.png|PATH.csv")
    p.add_argument("--row", type=int, help="CSV only: 0-based data row (default: 0)")
    p.set_defaults(func=cmd_predict, parser=p)
    _add_check_parser(commands)
    return parser


def _message(err):
    """One line describing an exception."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _report(prefix, text):
    """Print ``nnfs: <prefix>: <text>`` on stderr as one line of at most MAX_MESSAGE characters."""
    line = f"nnfs: {prefix}: {text}"
    if len(line) >= MAX_MESSAGE:
        line = line[:MAX_MESSAGE - 4] + "..."
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exc()
    print(line, file=sys.stderr)


def _interrupted(err, sigint_seen):
    """Was `err` caused by a Ctrl-C? Either a KeyboardInterrupt is in its chain, or a
    SIGINT arrived while it was raised: a module that fails to import because of a
    Ctrl-C (NumPy's C extensions) raises an ImportError that may not chain it."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return bool(sigint_seen)


def _watch_sigint():
    """Note every SIGINT, then act as Python's own handler does. Returns (the list of
    signals seen, a function that puts the previous handler back)."""
    import signal

    seen = []
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # not the main thread, or SIGINT ignored or left to the system
        return seen, lambda: None

    def on_sigint(signum, frame):
        seen.append(signum)
        previous(signum, frame)   # Python's: raises KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    return seen, lambda: signal.signal(signal.SIGINT, previous)


def main(argv=None):
    """Run the command line with ``argv`` (default: sys.argv[1:]). Returns the exit status."""
    sigint_seen, restore = _watch_sigint()
    try:
        return _main(argv, sigint_seen)
    finally:
        restore()


def _main(argv, sigint_seen):
    try:
        parser = build_parser()  # imports NumPy (through TrainConfig): inside the try, for Ctrl-C
        from nnfs.threads import limit_blas_threads

        limit_blas_threads()  # BLAS threads from the CPUs we may use and their load, not OpenBLAS's default
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as exit:  # argparse: --help and --version (0)
        return exit.code if isinstance(exit.code, int) else 2
    except UsageError as err:
        _report("error", str(err))
        return 2
    except (ValueError, OSError) as err:  # FileNotFoundError and PIL's UnidentifiedImageError are OSErrors
        _report("error", _message(err))
        return 2
    except MemoryError:
        _report("error", "out of memory; try a smaller dataset, model or image")
        return 2
    except KeyboardInterrupt:
        print("nnfs: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: every bad input above has its own message
        if _interrupted(err, sigint_seen):
            print("nnfs: interrupted", file=sys.stderr)
            return 130
        _report("internal error", f"{type(err).__name__}: {_message(err)[:150]} "
                                  f"(a bug in nnfs; rerun with {DEBUG_ENV}=1 for the traceback)")
        return 70
