"""`nnfs check`: grade a reader's own network and name the exact mistake.

The reader's file is loaded by `nnfs.usercode.load_user_code`, which never runs
its top-level code. Functions are recognised by name in three styles: the nnfs
API (``forward(params, X)``), the Kaggle notebook's (``forward_prop(W1, b1, W2,
b2, X)``) and camelCase copies (``forwardPropagation``). Arguments are passed by
their names where we know them (``W1``, ``dZ2``, ``alpha``, ``params``...) and
otherwise in the Kaggle notebook's order.

Every check runs on real digits from the embedded sample, in float64, and gives
PASS, FAIL or SKIPPED with a one-line reason. A failure that matches a known
mistake carries a diagnosis: plain words and a link to the page that explains it.
The backward pass is diagnosed by comparing the reader's gradients with the
gradients each known mistake (and each combination) would give, computed from
the same forward values; finite differences through the reader's own forward
pass confirm which is right.
"""

import contextlib
import inspect
import io
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnfs.network import cross_entropy, forward, init_params, one_hot, relu, softmax
from nnfs.usercode import load_user_code

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"

# role -> names it goes by, nnfs first, then the Kaggle notebook's, then camelCase copies'
ROLES = {
    "init": ("init_params", "initiateParameters", "initParams", "initialize_parameters", "initializeParameters",
             "initialise_parameters", "init_parameters"),
    "relu": ("relu", "ReLU"),
    "relu_grad": ("relu_grad", "ReLU_deriv", "relu_deriv", "relu_derivative", "derivReLU", "deriv_ReLU",
                  "reluDerivative", "reluGrad", "relu_prime", "reluPrime", "dReLU"),
    "softmax": ("softmax",),
    "one_hot": ("one_hot", "oneHot", "one_hot_encode", "oneHotEncode"),
    "forward": ("forward", "forward_prop", "forwardProp", "forwardPropagation", "forward_propagation",
                "forward_pass", "forwardPass"),
    "backward": ("backward", "backward_prop", "backwardProp", "backwardPropagation", "backward_propagation",
                 "back_prop", "backProp", "backprop", "backpropagation", "backward_pass", "backwardPass"),
    "update": ("update_params", "updateParameters", "updateParams", "update_parameters"),
    "predictions": ("get_predictions", "getPredictions"),
    "accuracy": ("get_accuracy", "getAccuracy"),
    "gradient_descent": ("gradient_descent", "gradientDescent"),
}
OPTIONAL = ("predictions", "accuracy", "gradient_descent")  # not reported as missing
NOT_RUN = {"gradient_descent": "it trains for minutes; the checks train for a few steps instead"}


def _key(name):
    """Names compare without case or underscores: forward_prop == forwardProp."""
    return name.replace("_", "").lower()


# Known mistakes: id -> (page#anchor that explains the right way, how to cite it)
DIAGNOSES = {
    "db-sum": "errata.md#db-sum",
    "batch-m": "errata.md#batch-m",
    "softmax-overflow": "errata.md#softmax-overflow",
    "transposed-w2": "backprop.md#what-the-sizes-cannot-tell",
    "relu-gate": "backprop.md#back-into-the-hidden-layer",
    "softmax-axis": "softmax.md#definition",
    "one-hot-transposed": "loss.md#one-hot-labels",
    "one-hot-size": "loss.md#one-hot-labels",
    "update-sign": "backprop.md#the-update",
}


def cite(diagnosis):
    """'errata #db-sum' or 'backprop #the-update': where the site explains it."""
    page, anchor = DIAGNOSES[diagnosis].split("#")
    return f"{page.removesuffix('.md')} #{anchor}"


@dataclass(frozen=True)
class CheckConfig:
    """The sizes the checks use. Small, so a check takes milliseconds."""

    batch_size: int = 32        # m of the batch the gradients are checked on (every digit appears)
    n_train: int = 200          # digits of the short training run
    train_steps: int = 10       # full-batch steps of the short training run
    learning_rate: float = 0.1  # alpha of the training run: the Kaggle notebook's
    n_w1_entries: int = 120     # entries of W1 checked by finite differences (all of W2, b1, b2 are)
    eps: float = 1e-6           # central-difference step
    tolerance: float = 1e-5     # relative error below which a gradient agrees with finite differences
    time_limit: float = 20.0    # seconds one call of a reader's function may take
    seed: int = 0


@dataclass
class CheckResult:
    """One line of the report: ``FAIL  backward: db2 vs finite differences: <reason>``."""

    role: str
    name: str
    status: str
    reason: str
    diagnoses: tuple = ()

    def line(self):
        return f"{self.status:<7}  {self.name}: {self.reason}"


@dataclass
class Report:
    """Everything `check_file` found: the functions, what was not run, and each check's result."""

    path: Path
    style: str
    found: dict                 # role -> the reader's function name
    missing: list               # roles with no function
    unsupported: dict           # function name -> why it could not be used
    skipped: list               # top-level statements that were not run
    skipped_imports: list
    globals_given: dict         # global name -> (value, why)
    free_names: dict            # function -> names only top-level code defines
    data: str
    results: list = field(default_factory=list)

    @property
    def diagnoses(self):
        """The known mistakes found, in report order, each once."""
        return list(dict.fromkeys(d for r in self.results for d in r.diagnoses))

    @property
    def exit_status(self):
        return 1 if any(r.status == FAIL for r in self.results) else 0

    def counts(self):
        return {s: sum(r.status == s for r in self.results) for s in (PASS, FAIL, SKIPPED)}

    def header_lines(self):
        names = [f"{self.found[role]}" + (" (not run: " + NOT_RUN[role] + ")" if role in NOT_RUN else "")
                 for role in ROLES if role in self.found]
        lines = [f"nnfs check {self.path} ({self.style})", f"found: {', '.join(names)}"]
        if self.missing:
            lines.append("missing: " + ", ".join(f"{role} (looked for {' / '.join(ROLES[role][:3])})"
                                                 for role in self.missing))
        for name, why in self.unsupported.items():
            lines.append(f"unsupported: {name}: {why}")
        if self.skipped:
            shown = "; ".join(self.skipped[:3]) + ("; ..." if len(self.skipped) > 3 else "")
            lines.append(f"not run: {len(self.skipped)} top-level statement{'s' * (len(self.skipped) != 1)} ({shown})")
        if self.skipped_imports:
            lines.append(f"imports not loaded: {', '.join(self.skipped_imports)} (only numpy, math and a few standard modules are)")
        for name, (value, why) in self.globals_given.items():
            lines.append(f"global {name}: set by top-level code we do not run; {why}, so we set {name} = {value:,}")
        for function, names in self.free_names.items():
            if function in self.found.values():
                lines.append(f"note: {function} reads {', '.join(names)}, which only top-level code defines")
        lines.append(f"data: {self.data}")
        return lines

    def lines(self):
        c = self.counts()
        return [*self.header_lines(), "", *(r.line() for r in self.results), "",
                f"{len(self.results)} checks: {c[PASS]} passed, {c[FAIL]} failed, {c[SKIPPED]} skipped"]

    def text(self):
        return "\n".join(self.lines())

    def to_dict(self):
        return {
            "file": str(self.path), "style": self.style, "found": self.found, "missing": self.missing,
            "unsupported": self.unsupported, "not_run": self.skipped, "imports_not_loaded": self.skipped_imports,
            "globals_given": {k: v for k, (v, _) in self.globals_given.items()}, "data": self.data,
            "checks": [{"role": r.role, "name": r.name, "status": r.status, "reason": r.reason,
                        "diagnoses": [{"id": d, "link": DIAGNOSES[d]} for d in r.diagnoses]} for r in self.results],
            "diagnoses": self.diagnoses, "counts": self.counts(), "exit_status": self.exit_status,
        }


# ----------------------------------------------------------------------------
# Calling the reader's functions
# ----------------------------------------------------------------------------

class ReaderError(Exception):
    """A reader's function raised, took too long, or returned something unusable."""


class CannotCall(ReaderError):
    """nnfs check does not know what to pass to a function: its check is SKIPPED, not failed."""


class _TimeLimit(BaseException):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    """Stop a reader's call after `seconds` (main thread on Unix only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise _TimeLimit()

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# normalised argument name -> key in the values we pass
ALIASES = {
    "w1": "W1", "b1": "b1", "w2": "W2", "b2": "b2", "x": "X", "y": "Y", "labels": "Y",
    "z1": "Z1", "a1": "A1", "z2": "Z2", "a2": "A2", "z": "Z",
    "dw1": "dW1", "db1": "db1", "dw2": "dW2", "db2": "db2",
    "alpha": "alpha", "learningrate": "alpha", "lr": "alpha", "eta": "alpha",
    "params": "params", "parameters": "params", "cache": "cache", "grads": "grads", "gradients": "grads",
    "m": "m", "onehoty": "Y_one_hot", "yonehot": "Y_one_hot", "yhot": "Y_one_hot",
    "nin": "n_in", "nx": "n_in", "inputsize": "n_in", "nhidden": "n_hidden", "nh": "n_hidden",
    "hiddensize": "n_hidden", "nout": "n_out", "ny": "n_out", "outputsize": "n_out", "nclasses": "n_out",
    "numclasses": "n_out", "classes": "n_out", "rng": "rng", "seed": "seed",
    "predictions": "predictions", "pred": "predictions", "preds": "predictions",
}
# positional order per role when the argument names are not ones we know
ORDERS = {
    "forward": (("params", "X"), ("W1", "b1", "W2", "b2", "X")),
    "backward": (("params", "cache", "X", "Y"), ("Z1", "A1", "Z2", "A2", "W1", "W2", "X", "Y")),
    "update": (("params", "grads", "alpha"), ("W1", "b1", "W2", "b2", "dW1", "db1", "dW2", "db2", "alpha")),
    "accuracy": (("predictions", "Y"),),
}


class Reader:
    """The reader's functions by role, and a safe way to call each one."""

    def __init__(self, code, found, config):
        self.code, self.found, self.config = code, found, config

    def has(self, role):
        return role in self.found

    def name(self, role):
        return self.found[role]

    def _arguments(self, role, fn, values):
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return [values["Z"]] if "Z" in values else [], {}
        required = [p for p in signature.parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        keys = [ALIASES.get(_key(p.name)) for p in required]
        if all(k in values for k in keys):
            args = [values[k] for k, p in zip(keys, required) if p.kind != p.KEYWORD_ONLY]
            kwargs = {p.name: values[k] for k, p in zip(keys, required) if p.kind == p.KEYWORD_ONLY}
            return args, kwargs
        for order in ORDERS.get(role, ()):
            if len(order) == len(required) and all(k in values for k in order):
                return [values[k] for k in order], {}
        if len(required) == 1 and role in ("relu", "relu_grad", "softmax", "predictions") and "Z" in values:
            return [values["Z"]], {}
        if len(required) == 1 and role == "one_hot":
            return [values["Y"]], {}
        wanted = ", ".join(p.name for p in required)
        raise CannotCall(f"cannot call {self.found[role]}({wanted}): nnfs check does not know what to pass "
                          f"for {', '.join(p.name for p, k in zip(required, keys) if k not in values)}")

    def call(self, role, **values):
        """Call the reader's function for `role` with copies of `values`; ReaderError if it fails."""
        fn = self.code.namespace[self.found[role]]
        values = {k: (v.copy() if isinstance(v, np.ndarray) else
                      {n: a.copy() for n, a in v.items()} if isinstance(v, dict) else v) for k, v in values.items()}
        args, kwargs = self._arguments(role, fn, values)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                with _time_limit(self.config.time_limit):
                    return fn(*args, **kwargs)
            except _TimeLimit:
                raise ReaderError(f"{self.found[role]} took longer than {self.config.time_limit:g} s") from None
            except KeyboardInterrupt:
                raise
            except BaseException as err:  # the reader's code may raise anything, even SystemExit
                raise ReaderError(self._describe_error(role, err)) from None

    def _describe_error(self, role, err):
        where = ""
        for frame in reversed(traceback.extract_tb(err.__traceback__)):
            if frame.filename == str(self.code.path):
                where = f" ({self.code.where(frame.lineno)})"
                break
        message = " ".join(str(err).split()) or "no message"
        return f"{self.found[role]} raised {type(err).__name__}: {message[:200]}{where}"


def _unpack(result, names, function):
    """A dict or a tuple of arrays -> a dict of float64 arrays with keys `names`."""
    if isinstance(result, dict):
        by_key = {_key(str(k)): v for k, v in result.items()}
        missing = [n for n in names if _key(n) not in by_key]
        if missing:
            raise ReaderError(f"{function} returned a dict without {', '.join(missing)}")
        result = [by_key[_key(n)] for n in names]
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        kind = f"{len(result)} values" if isinstance(result, (tuple, list)) else type(result).__name__
        raise ReaderError(f"{function} returned {kind}; expected {', '.join(names)}")
    try:
        return {n: np.asarray(v, dtype=np.float64) for n, v in zip(names, result)}
    except (TypeError, ValueError) as err:
        raise ReaderError(f"{function} returned something that is not an array: {err}") from None


def _array(result, function):
    try:
        return np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ReaderError(f"{function} returned {type(result).__name__}, not an array: {err}") from None


def _shape(a):
    return str(tuple(np.shape(a)))


def _relative_error(a, b):
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0


def _close(a, b, tol=1e-7):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and _relative_error(a, b) < tol


# ----------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------

def _fail(role, name, reason, *diagnoses):
    if isinstance(reason, CannotCall):
        return CheckResult(role, name, SKIPPED, str(reason))
    text = str(reason)
    for d in diagnoses:
        text += f" ({cite(d)})" if f"({cite(d)})" not in text else ""
    return CheckResult(role, name, FAIL, text, tuple(diagnoses))


def _missing(role, name, needs):
    return CheckResult(role, name, SKIPPED, f"no {needs} function found")


class Grader:
    """Runs every check on the reader's functions and collects the results."""

    def __init__(self, reader, data, config, progress, globals_given=None):
        self.r, self.config, self.progress = reader, config, progress
        self.globals_given = globals_given or {}
        self.X, self.Y, self.X_train, self.Y_train = data
        self.m = self.X.shape[1]
        rng = np.random.default_rng(config.seed)
        self.params = init_params(784, 10, 10, rng=rng)                             # float64, He
        self.params["b1"] = rng.normal(0, 0.1, (10, 1))                             # non-zero biases:
        self.params["b2"] = rng.normal(0, 0.1, (10, 1))                             # every term matters
        self.cache = forward(self.params, self.X)
        self.results = []
        self.forward_ok = False    # the reader's forward matches the equations
        self.label_form = "ints"   # how the reader's backward takes Y

    def add(self, result):
        self.results.append(result)

    def run(self):
        steps = [("init", self.check_init), ("softmax", self.check_softmax), ("relu", self.check_relu),
                 ("one_hot", self.check_one_hot), ("forward", self.check_forward),
                 ("backward", self.check_backward), ("update", self.check_update),
                 ("predictions", self.check_predictions), ("training", self.check_training)]
        for label, step in steps:
            with self.progress(f"checking {label}"):
                step()
        return self.results

    # ---- init ---------------------------------------------------------------
    def check_init(self):
        name = "init: shapes of W1, b1, W2, b2"
        if not self.r.has("init"):
            return self.add(_missing("init", name, "init_params"))
        try:
            got = _unpack(self.r.call("init", n_in=784, n_hidden=10, n_out=10, rng=np.random.default_rng(0), seed=0),
                          ("W1", "b1", "W2", "b2"), self.r.name("init"))
        except ReaderError as err:
            return self.add(_fail("init", name, err))
        shapes = {n: tuple(a.shape) for n, a in got.items()}
        h = shapes["W1"][0] if len(shapes["W1"]) == 2 else None
        expected = {"W1": (h, 784), "b1": (h, 1), "W2": (10, h), "b2": (10, 1)}
        wrong = [f"{n} is {_shape(got[n])}, expected {expected[n]}" for n in expected if shapes[n] != expected[n]]
        if wrong:
            return self.add(_fail("init", name, "; ".join(wrong)))
        self.add(CheckResult("init", name, PASS, ", ".join(f"{n} {shapes[n]}" for n in shapes)))

    # ---- softmax ------------------------------------------------------------
    def check_softmax(self):
        name, name_big = "softmax: columns sum to 1", "softmax: finite at logits near 1000"
        if not self.r.has("softmax"):
            self.add(_missing("softmax", name, "softmax"))
            return self.add(_missing("softmax", name_big, "softmax"))
        Z = np.random.default_rng(1).normal(0, 3, (10, 7))  # 7 columns: rows and columns differ
        try:
            A = _array(self.r.call("softmax", Z=Z), self.r.name("softmax"))
        except ReaderError as err:
            self.add(_fail("softmax", name, err))
        else:
            self.add(self._softmax_result(name, Z, A))
        Z_big = 1000 + np.random.default_rng(2).normal(0, 1, (10, 7))
        try:
            A = _array(self.r.call("softmax", Z=Z_big), self.r.name("softmax"))
        except ReaderError as err:
            return self.add(_fail("softmax", name_big, err))
        if A.shape == Z_big.shape and np.all(np.isfinite(A)):
            return self.add(CheckResult("softmax", name_big, PASS, "no overflow: every value is finite"))
        bad = int(np.sum(~np.isfinite(A)))
        self.add(_fail("softmax", name_big, f"{bad} of {A.size} values are nan or inf: exp(1000) overflows to inf; "
                       "subtract each column's max before exp", "softmax-overflow"))

    def _softmax_result(self, name, Z, A):
        if A.shape != Z.shape:
            return _fail("softmax", name, f"softmax of a {_shape(Z)} array returned {_shape(A)}")
        if _close(A, softmax(Z)):
            return CheckResult("softmax", name, PASS, f"each column of a {_shape(Z)} input sums to 1")
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        if _close(A, E / E.sum(axis=1, keepdims=True)):
            return _fail("softmax", name, "each row sums to 1 instead: softmax normalises across the examples "
                         "(axis=1); normalise each column, axis=0", "softmax-axis")
        if _close(A, np.exp(Z) / np.exp(Z).sum()):
            return _fail("softmax", name, "the whole matrix sums to 1: divide by each column's sum, "
                         "np.sum(E, axis=0, keepdims=True), not by the total")
        sums = np.nansum(A, axis=0)
        return _fail("softmax", name, f"column sums range from {sums.min():.3g} to {sums.max():.3g}; "
                     f"relative error {_relative_error(A, softmax(Z)):.2g} against softmax")

    # ---- ReLU ---------------------------------------------------------------
    def check_relu(self):
        Z = np.random.default_rng(3).normal(0, 1, (10, 7))
        name = "relu: max(0, Z)"
        if not self.r.has("relu"):
            self.add(_missing("relu", name, "ReLU"))
        else:
            try:
                A = _array(self.r.call("relu", Z=Z), self.r.name("relu"))
                if _close(A, relu(Z)):
                    self.add(CheckResult("relu", name, PASS, "negative entries become 0, the others stay"))
                else:
                    self.add(_fail("relu", name, f"returned {_shape(A)}; relative error "
                                   f"{_relative_error(A, relu(Z)) if A.shape == Z.shape else 1:.2g} against max(0, Z)"))
            except ReaderError as err:
                self.add(_fail("relu", name, err))
        name = "relu_grad: 1 where Z > 0, else 0"
        if not self.r.has("relu_grad"):
            return self.add(_missing("relu_grad", name, "ReLU derivative"))
        try:
            D = _array(self.r.call("relu_grad", Z=Z), self.r.name("relu_grad"))
        except ReaderError as err:
            return self.add(_fail("relu_grad", name, err))
        if _close(D, (Z > 0).astype(float)):
            return self.add(CheckResult("relu_grad", name, PASS, "the slope of ReLU: 1 for Z > 0, 0 for Z < 0"))
        if _close(D, relu(Z)):
            return self.add(_fail("relu_grad", name, "returns ReLU(Z) itself, not its slope (Z > 0)"))
        self.add(_fail("relu_grad", name, f"returned {_shape(D)} that differs from (Z > 0) in "
                       f"{int(np.sum(D != (Z > 0))) if D.shape == Z.shape else D.size} entries"))

    # ---- one-hot ------------------------------------------------------------
    def check_one_hot(self):
        name, name_no9 = "one_hot: (10, m), one column per example", "one_hot: a batch with no 9"
        if not self.r.has("one_hot"):
            self.add(_missing("one_hot", name, "one_hot"))
            return self.add(_missing("one_hot", name_no9, "one_hot"))
        Y = np.array([3, 9, 0, 1, 7, 2, 5])  # m = 7, so (10, m) and (m, 10) differ
        try:
            H = _array(self.r.call("one_hot", Y=Y, n_out=10), self.r.name("one_hot"))
        except ReaderError as err:
            self.add(_fail("one_hot", name, err))
        else:
            if _close(H, one_hot(Y)):
                self.add(CheckResult("one_hot", name, PASS, "column j has its 1 in row Y[j]"))
            elif _close(H, one_hot(Y).T):
                self.add(_fail("one_hot", name, f"returned (m, 10) = {_shape(H)}, one row per example; the network "
                               "has one column per example, (10, m): transpose it", "one-hot-transposed"))
            else:
                self.add(_fail("one_hot", name, f"returned {_shape(H)}; expected (10, {Y.size}) with column j "
                               "holding a 1 in row Y[j]"))
        Y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 2])  # no 9
        try:
            H = _array(self.r.call("one_hot", Y=Y, n_out=10), self.r.name("one_hot"))
        except ReaderError as err:
            return self.add(_fail("one_hot", name_no9, err))
        if _close(H, one_hot(Y)) or _close(H, one_hot(Y).T):  # the layout is the other check's business
            return self.add(CheckResult("one_hot", name_no9, PASS, "still 10 classes when the batch has no 9"))
        if 9 in H.shape and 10 not in H.shape:
            return self.add(_fail("one_hot", name_no9, f"returned {_shape(H)}: it makes Y.max() + 1 classes, so a "
                                  "batch without a 9 has only 9; use 10", "one-hot-size"))
        self.add(_fail("one_hot", name_no9, f"returned {_shape(H)}; expected (10, {Y.size})"))

    # ---- forward ------------------------------------------------------------
    def _forward_values(self):
        return {**self.params, "params": self.params, "X": self.X}

    def check_forward(self):
        name = "forward: Z1, A1, Z2, A2"
        if not self.r.has("forward"):
            return self.add(_missing("forward", name, "forward"))
        try:
            got = _unpack(self.r.call("forward", **self._forward_values()), ("Z1", "A1", "Z2", "A2"),
                          self.r.name("forward"))
        except ReaderError as err:
            return self.add(_fail("forward", name, err))
        wrong_shapes = [f"{n} is {_shape(got[n])}, expected {_shape(self.cache[n])}"
                        for n in got if got[n].shape != self.cache[n].shape]
        if wrong_shapes:
            return self.add(_fail("forward", name, "; ".join(wrong_shapes)))
        for n in ("Z1", "A1", "Z2"):
            if not _close(got[n], self.cache[n]):
                return self.add(_fail("forward", name, f"{n} differs from the equations (relative error "
                                      f"{_relative_error(got[n], self.cache[n]):.2g})"))
        if not _close(got["A2"], self.cache["A2"]):
            Z2 = self.cache["Z2"]
            E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
            if _close(got["A2"], E / E.sum(axis=1, keepdims=True)):
                return self.add(_fail("forward", name, "A2's rows sum to 1, not its columns: its softmax "
                                      "normalises across the examples (axis=1)", "softmax-axis"))
            return self.add(_fail("forward", name, f"A2 is not softmax(Z2) (relative error "
                                  f"{_relative_error(got['A2'], self.cache['A2']):.2g})"))
        self.forward_ok = True
        shapes = ", ".join(f"{n} {_shape(a)}" for n, a in got.items())
        self.add(CheckResult("forward", name, PASS, f"{shapes} on m = {self.m} digits, as the equations give"))

    # ---- backward -----------------------------------------------------------
    def _backward(self, params, X, Y, label_form):
        cache = forward(params, X)  # the right forward values: the backward pass is checked on its own
        Yh = one_hot(Y)
        values = {**params, **cache, "params": params, "cache": cache, "X": X,
                  "Y": Y if label_form == "ints" else Yh, "Y_one_hot": Yh, "m": X.shape[1]}
        return _unpack(self.r.call("backward", **values), ("dW1", "db1", "dW2", "db2"), self.r.name("backward"))

    def _loss(self, params, X, Y):
        """Mean cross-entropy through the reader's forward pass if it is right, else through nnfs's."""
        if self.forward_ok:
            A2 = _unpack(self.r.call("forward", **params, params=params, X=X), ("Z1", "A1", "Z2", "A2"),
                         self.r.name("forward"))["A2"]
        else:
            A2 = forward(params, X)["A2"]
        return cross_entropy(A2, Y)

    def _numerical(self, name, entries):
        """Central differences of the loss for the given entries of params[name]."""
        params = {k: v.copy() for k, v in self.params.items()}
        out = np.zeros(len(entries))
        for i, idx in enumerate(entries):
            old = params[name][idx]
            params[name][idx] = old + self.config.eps
            up = self._loss(params, self.X, self.Y)
            params[name][idx] = old - self.config.eps
            down = self._loss(params, self.X, self.Y)
            params[name][idx] = old
            out[i] = (up - down) / (2 * self.config.eps)
        return out

    def _entries(self, name):
        shape = self.params[name].shape
        if name != "W1":
            return list(np.ndindex(shape))
        rng = np.random.default_rng(self.config.seed + 1)
        inked = np.flatnonzero(self.X.any(axis=1))                       # pixels with ink in this batch
        rows = rng.integers(0, shape[0], self.config.n_w1_entries)
        cols = rng.choice(inked, self.config.n_w1_entries)
        return list(zip(rows.tolist(), cols.tolist()))

    def _candidates(self):
        """Raw sums (before dividing by m) of each gradient, right and with each known mistake."""
        p, c, X = self.params, self.cache, self.X
        dZ2 = c["A2"] - one_hot(self.Y)                                  # (10, m)
        gate = (c["Z1"] > 0).astype(float)                               # (10, m)
        dZ1 = {(t, g): (p["W2"].T if t else p["W2"]) @ dZ2 * (gate if g else 1.0)
               for t in (True, False) for g in (True, False)}            # (transposed?, gated?) -> (10, m)
        return {
            "dW2": {(True, True): dZ2 @ c["A1"].T},
            "db2": {(True, True): dZ2.sum(axis=1, keepdims=True)},
            "dW1": {k: v @ X.T for k, v in dZ1.items()},
            "db1": {k: v.sum(axis=1, keepdims=True) for k, v in dZ1.items()},
        }, {"db2": {(True, True): dZ2.sum()}, "db1": {k: v.sum() for k, v in dZ1.items()}}

    def _explain(self, name, g, per_unit, whole):
        """(diagnoses, words) for a gradient that disagrees with finite differences."""
        target_shape = self.params[name[1:]].shape
        layer = name[-1]
        if name.startswith("db") and (g.size == 1 or (g.shape == target_shape and np.ptp(g) < 1e-12 * (1 + abs(g).max()))):
            return ["db-sum"], (f"{name} is one number for all ten biases: you summed dZ{layer} over the whole "
                                f"matrix; sum each row, dZ{layer}.sum(axis=1, keepdims=True) / m")
        if g.shape != target_shape:
            return [], f"{name} is {_shape(g)}, but {name[1:]} is {target_shape}: a gradient has its parameter's shape"
        best = None
        for (transposed, gated), S in per_unit[name].items():
            scale = float(np.vdot(g, S) / np.vdot(S, S)) if np.vdot(S, S) else 0.0
            residual = _relative_error(g, scale * S)
            if residual < 1e-6 and scale > 0 and (best is None or residual < best[0]):
                best = (residual, transposed, gated, scale)
        if best is None:
            return [], ""
        _, transposed, gated, scale = best
        diagnoses, words = [], []
        if not transposed:
            diagnoses.append("transposed-w2")
            words.append("dZ1 uses W2 where it needs W2.T: with 10 hidden units both are 10 x 10, "
                         f"so the shapes cannot tell ({cite('transposed-w2')})")
        if not gated:
            diagnoses.append("relu-gate")
            words.append(f"dZ1 lacks the ReLU' gate: multiply W2.T @ dZ2 by ReLU'(Z1), elementwise ({cite('relu-gate')})")
        divisor = 1 / scale
        if abs(divisor / self.m - 1) > 1e-6:
            diagnoses.append("batch-m")
            words.append(f"{name} is divided by {divisor:,.6g}, not by this batch's m = {self.m} columns: "
                         f"take m from the batch, m = X.shape[1] ({cite('batch-m')})")
        return diagnoses, "; ".join(words)

    def _choose_labels(self):
        """Run backward with ints, then with one-hot labels; keep the form that fits the gradients best."""
        tried, errors = {}, {}
        for form in ("ints", "one-hot"):
            try:
                tried[form] = self._backward(self.params, self.X, self.Y, form)
            except ReaderError as err:
                errors[form] = err
        if not tried:
            raise errors["ints"]
        per_unit, _ = self._candidates()
        S = per_unit["dW2"][(True, True)]

        def misfit(form):
            g = tried[form]["dW2"]
            if g.shape != S.shape:
                return 2.0
            scale = np.vdot(g, S) / np.vdot(S, S)
            return _relative_error(g, scale * S)

        form = min(tried, key=misfit)
        return form, tried[form]

    def check_backward(self):
        names = ("dW1", "db1", "dW2", "db2")
        if not self.r.has("backward"):
            self.add(_missing("backward", "backward: shapes", "backward"))
            for n in names:
                self.add(_missing("backward", f"backward: {n} vs finite differences", "backward"))
            return self.add(_missing("backward", "backward: gradient scale as the batch doubles", "backward"))
        try:
            self.label_form, grads = self._choose_labels()
        except ReaderError as err:
            if any("one-hot-transposed" in r.diagnoses for r in self.results) and not isinstance(err, CannotCall):
                err = ReaderError(f"{err}; one_hot's layout, above, is the likely cause")
            self.add(_fail("backward", "backward: shapes", err))
            for n in names:
                self.add(CheckResult("backward", f"backward: {n} vs finite differences", SKIPPED,
                                     f"{self.r.name('backward')} did not run"))
            return self.add(CheckResult("backward", "backward: gradient scale as the batch doubles", SKIPPED,
                                        f"{self.r.name('backward')} did not run"))
        labels = "labels as ints (m,)" if self.label_form == "ints" else "labels one-hot (10, m)"
        wrong = [(n, g) for n, g in grads.items() if g.shape != self.params[n[1:]].shape]
        if wrong:
            diagnoses = ["db-sum"] if any(n.startswith("db") and g.size == 1 for n, g in wrong) else []
            text = "; ".join(f"{n} is {_shape(g)}, {n[1:]} is {_shape(self.params[n[1:]])}" for n, g in wrong)
            self.add(_fail("backward", "backward: shapes", f"{text} ({labels})", *diagnoses))
        else:
            self.add(CheckResult("backward", "backward: shapes", PASS,
                                 f"each gradient has its parameter's shape ({labels})"))

        per_unit, whole = self._candidates()
        source = "your forward" if self.forward_ok else "nnfs.forward, since your forward failed"
        for n in names:
            name = f"backward: {n} vs finite differences"
            entries = self._entries(n[1:])
            try:
                numeric = self._numerical(n[1:], entries)
            except ReaderError as err:
                self.add(_fail("backward", name, f"the loss through your forward failed: {err}"))
                continue
            g = grads[n]
            try:
                analytic = np.broadcast_to(g, self.params[n[1:]].shape)[tuple(np.array(entries).T)]
            except ValueError:
                analytic = None
            error = 1.0 if analytic is None else _relative_error(analytic, numeric)
            count = f"{len(entries)} entries" if len(entries) < self.params[n[1:]].size else "every entry"
            if error < self.config.tolerance:
                self.add(CheckResult("backward", name, PASS, f"relative error {error:.1e} over {count} "
                                     f"(loss through {source})"))
                continue
            diagnoses, words = self._explain(n, g, per_unit, whole)
            reason = f"relative error {error:.2g} over {count}" + (f": {words}" if words else "")
            self.add(_fail("backward", name, reason, *diagnoses))
        self.check_batch_scale(grads)

    def check_batch_scale(self, grads):
        name = "backward: gradient scale as the batch doubles"
        X2, Y2 = np.concatenate([self.X, self.X], axis=1), np.concatenate([self.Y, self.Y])
        try:
            grads2 = self._backward(self.params, X2, Y2, self.label_form)
        except ReaderError as err:
            return self.add(_fail("backward", name, f"on the same digits twice: {err}"))
        try:
            g1 = np.concatenate([np.broadcast_to(grads[n], self.params[n[1:]].shape).ravel() for n in grads])
            g2 = np.concatenate([np.broadcast_to(grads2[n], self.params[n[1:]].shape).ravel() for n in grads])
        except ValueError:
            return self.add(CheckResult("backward", name, SKIPPED, "the gradients do not have their parameters' shapes"))
        norm1 = np.linalg.norm(g1)
        ratio = float(np.linalg.norm(g2) / norm1) if norm1 else float("nan")
        what = f"the same {self.m} digits twice ({2 * self.m} columns, the same mean loss)"
        if abs(ratio - 1) < 1e-6:
            return self.add(CheckResult("backward", name, PASS, f"{what} give the same gradients: m is the batch's"))
        if abs(ratio - 2) < 1e-6:
            origin = " (your m is a global)" if "m" in self.globals_given else ""
            return self.add(_fail("backward", name, f"{what} give gradients twice as large: the sums are divided by a "
                                  f"fixed m{origin}, not by the batch's column count, m = X.shape[1]", "batch-m"))
        self.add(_fail("backward", name, f"{what} change the gradients by a factor of {ratio:.3g}; it should be 1"))

    # ---- update -------------------------------------------------------------
    def check_update(self):
        name = "update: W - alpha dW"
        if not self.r.has("update"):
            return self.add(_missing("update", name, "update_params"))
        rng = np.random.default_rng(4)
        params = {n: rng.normal(0, 1, a.shape) for n, a in self.params.items()}
        grads = {"d" + n: rng.normal(0, 1, a.shape) for n, a in self.params.items()}
        alpha = 0.5
        try:
            new = _unpack(self.r.call("update", **params, **grads, params=params, grads=grads, alpha=alpha),
                          ("W1", "b1", "W2", "b2"), self.r.name("update"))
        except ReaderError as err:
            return self.add(_fail("update", name, err))
        added = [n for n in new if _close(new[n], params[n] + alpha * grads["d" + n])]
        if added:
            return self.add(_fail("update", name, f"{', '.join(added)} move{'s' * (len(added) == 1)} uphill: the "
                                  "update adds alpha * gradient; subtract it, W = W - alpha * dW", "update-sign"))
        wrong = [n for n in new if not _close(new[n], params[n] - alpha * grads["d" + n])]
        if wrong:
            return self.add(_fail("update", name, f"{', '.join(wrong)} differ{'s' * (len(wrong) == 1)} from "
                                  "W - alpha * dW"))
        self.add(CheckResult("update", name, PASS, "each parameter moves against its gradient, alpha times it"))

    # ---- predictions and accuracy -------------------------------------------
    def check_predictions(self):
        A2 = self.cache["A2"]
        if self.r.has("predictions"):
            name = "get_predictions: argmax of each column"
            try:
                pred = _array(self.r.call("predictions", Z=A2, A2=A2), self.r.name("predictions")).ravel()
                if pred.shape == (self.m,) and np.array_equal(pred, A2.argmax(axis=0)):
                    self.add(CheckResult("predictions", name, PASS, f"{self.m} digits for {self.m} columns"))
                else:
                    self.add(_fail("predictions", name, f"returned {_shape(pred)} that is not A2.argmax(axis=0)"))
            except ReaderError as err:
                self.add(_fail("predictions", name, err))
        if self.r.has("accuracy"):
            name = "get_accuracy: fraction correct"
            pred = A2.argmax(axis=0)
            try:
                value = float(_array(self.r.call("accuracy", predictions=pred, Y=self.Y), self.r.name("accuracy")))
                expected = float(np.mean(pred == self.Y))
                if abs(value - expected) < 1e-12:
                    self.add(CheckResult("accuracy", name, PASS, f"{value:.4f}, as expected"))
                else:
                    self.add(_fail("accuracy", name, f"returned {value:.4g}; expected {expected:.4g}"))
            except (ReaderError, TypeError, ValueError) as err:
                self.add(_fail("accuracy", name, err))

    # ---- a short training run -----------------------------------------------
    def check_training(self):
        cfg = self.config
        name = f"training: {cfg.train_steps} steps lower the loss"
        needs = [r for r in ("backward", "update") if not self.r.has(r)]
        if needs:
            return self.add(CheckResult("training", name, SKIPPED, f"no {' or '.join(needs)} function found"))
        X, Y = self.X_train, self.Y_train
        params = init_params(784, 10, 10, rng=np.random.default_rng(cfg.seed))
        before = cross_entropy(forward(params, X)["A2"], Y)
        try:
            for _ in range(cfg.train_steps):
                if self.forward_ok:
                    cache = _unpack(self.r.call("forward", **params, params=params, X=X), ("Z1", "A1", "Z2", "A2"),
                                    self.r.name("forward"))
                else:
                    cache = forward(params, X)
                Yh = one_hot(Y)
                grads = _unpack(self.r.call("backward", **params, **cache, params=params, cache=cache, X=X,
                                            Y=Y if self.label_form == "ints" else Yh, Y_one_hot=Yh, m=Y.size),
                                ("dW1", "db1", "dW2", "db2"), self.r.name("backward"))
                params = _unpack(self.r.call("update", **params, **grads, params=params, grads=grads,
                                             alpha=cfg.learning_rate), ("W1", "b1", "W2", "b2"), self.r.name("update"))
                params = {n: np.broadcast_to(a, self.params[n].shape).copy() for n, a in params.items()}
        except (ReaderError, ValueError) as err:
            return self.add(_fail("training", name, err))
        with np.errstate(all="ignore"):
            after = cross_entropy(forward(params, X)["A2"], Y)
        what = f"loss {before:.3f} -> {after:.3f} on {Y.size} digits, alpha = {cfg.learning_rate:g}"
        if not self.forward_ok:
            what += " (with nnfs.forward, since yours failed)"
        if np.isfinite(after) and after < before:
            return self.add(CheckResult("training", name, PASS, what))
        self.add(_fail("training", name, f"{what}: the loss did not go down"))


# ----------------------------------------------------------------------------
# Progress on a terminal
# ----------------------------------------------------------------------------

class Progress:
    """``| checking backward 1.4s`` on stderr, drawn only for a step that takes over `delay` seconds.

    Does nothing unless the stream is a terminal, so pipes, logs and --json stay clean.
    """

    FRAMES = "|/-\\"

    def __init__(self, stream=None, delay=1.0, force=False):
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = force or bool(isatty and isatty())

    @contextlib.contextmanager
    def __call__(self, label):
        if not self.enabled:
            yield
            return
        stop, drawn, t0 = threading.Event(), [], time.perf_counter()

        def draw():
            i = 0
            if stop.wait(self.delay):
                return
            while not stop.is_set():
                self.stream.write(f"\r\033[K{self.FRAMES[i % 4]} {label} {time.perf_counter() - t0:.1f}s")
                self.stream.flush()
                drawn.append(True)
                i += 1
                stop.wait(0.1)

        thread = threading.Thread(target=draw, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            if drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()


def _no_progress(label):
    return contextlib.nullcontext()


# ----------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------

def _find(code):
    """role -> the reader's function name, first match in ROLES order."""
    by_key = {_key(name): name for name in code.functions}
    found = {}
    for role, names in ROLES.items():
        for candidate in names:
            if _key(candidate) in by_key:
                found[role] = by_key[_key(candidate)]
                break
    return found


def _style(found):
    names = set(found.values())
    if any(any(c.isupper() for c in n) and "_" not in n and n != "ReLU" for n in names):
        return "camelCase names"
    if names & {"forward", "backward", "relu", "relu_grad"}:
        return "nnfs names"
    if names & {"forward_prop", "backward_prop", "ReLU", "ReLU_deriv", "get_predictions", "get_accuracy"}:
        return "Kaggle notebook names"
    return "names shared by nnfs and the Kaggle notebook"


def _sample_data(config):
    """A batch of `batch_size` digits with every class, and a training set of `n_train`, in float64."""
    from nnfs.data import load_sample

    X_all, Y_all = load_sample()                                   # (784, 5000), sorted by class
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(Y_all.size)
    first_of_each = [order[Y_all[order] == d][0] for d in range(10)]
    rest = [i for i in order if i not in set(first_of_each)]
    batch = np.array(first_of_each + rest[:config.batch_size - 10])
    train = np.array(rest[config.batch_size:config.batch_size + config.n_train])
    X, Y = X_all[:, batch].astype(np.float64), Y_all[batch]
    X_train, Y_train = X_all[:, train].astype(np.float64), Y_all[train]
    return (X, Y, X_train, Y_train), Y_all.size


def check_file(path, config=CheckConfig(), progress=None, display=None):
    """Grade the functions in a reader's .py file or .ipynb notebook. Returns a `Report`.

    `display` is the name the report gives the file (default: `path` as given).

    Raises FileNotFoundError or ValueError (one line, naming the file) if the file
    cannot be read or parsed, or has none of the functions nnfs check knows.
    """
    progress = progress or _no_progress
    path = Path(path)
    code = load_user_code(path)
    found = _find(code)
    if not found:
        known = ", ".join(names[0] for names in list(ROLES.values())[:4])  # a short line: the first few
        defined = ", ".join(code.functions) or "no functions at all"
        if len(defined) > 60:
            defined = defined[:57] + "..."
        raise ValueError(f"{path}: none of the functions nnfs check knows ({known}, ... or their Kaggle "
                         f"and camelCase names); found {defined}")
    with progress("loading the sample digits"):
        data, n_dataset = _sample_data(config)
    globals_given = {}
    # The Kaggle notebook's backward_prop divides by a global m, set at top level by `m, n = data.shape`.
    # We do not run that line, so we set m to the size of the dataset the digits come from, as it would be.
    if any("m" in code.free_names.get(found.get(role), []) for role in ("backward", "forward", "update")):
        code.namespace["m"] = n_dataset
        globals_given["m"] = (n_dataset, "it would be the number of examples in the data file")
    free_names = {f: [n for n in names if n not in globals_given] for f, names in code.free_names.items()}
    free_names = {f: names for f, names in free_names.items() if names}
    unsupported = {name: why for name, why in code.unsafe.items()
                   if any(_key(name) in {_key(n) for n in names} for names in ROLES.values())}
    report = Report(
        path=Path(display) if display else path, style=_style(found), found=found,
        missing=[role for role in ROLES if role not in found and role not in OPTIONAL],
        unsupported=unsupported, skipped=code.skipped, skipped_imports=code.skipped_imports,
        globals_given=globals_given, free_names=free_names,
        data=f"{data[0].shape[1]} sample digits for the gradients, {data[2].shape[1]} for training, float64",
    )
    reader = Reader(code, found, config)
    report.results = Grader(reader, data, config, progress, globals_given).run()
    return report
