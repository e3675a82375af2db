"""Two ways to train the network, both built on `forward`, `backward` and `update_params`.

* `gradient_descent`: the original notebook's algorithm, with its errata fixed: every step
  uses the whole training set (full batch), alpha = 0.10, 1000 iterations.
* `minibatch_sgd`: the fast trainer: shuffled mini-batches, He init, optional
  Adam and ±1-pixel shift augmentation. Same maths, many more (cheaper) steps.

Both return ``(params, history)``. Library code never prints: the CLI and the
notebooks display the history.
"""

# --8<-- [start:imports]
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from nnfs.network import accuracy, backward, cross_entropy, forward, init_params, predict, update_params
# --8<-- [end:imports]
from nnfs import memo


# --8<-- [start:TrainConfig]
@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Same config + same data = same weights, bit for bit."""

    trainer: str = "gd"          # "gd": full-batch gradient descent (the original); "fast": mini-batch SGD
    n_hidden: int = 10           # hidden ReLU units; the original has 10
    learning_rate: float = 0.10  # alpha; the original's 0.10
    iterations: int = 1000       # gd only: full-batch steps, as in the original notebook
    epochs: int = 3              # fast only: passes over the training set
    batch_size: int = 32         # fast only: examples per step (m in the gradient formulas)
    optimizer: str = "sgd"       # "sgd" (W <- W - alpha dW) or "adam" (per-weight step sizes)
    init: str = "uniform"        # "uniform": rand - 0.5 as in the original; "he": N(0, 2 / fan_in)
    schedule: str = "constant"   # fast only: "constant" alpha, or "linear" decay from alpha to 0
    shift: bool = False          # fast only: move each digit by a random ±1 pixel every epoch...
    shift_start: int = 2         # ...from this epoch on (0-based): first learn the plain digits, fast
    seed: int = 0                # seeds the one rng used for init, shuffling and shifts
    dtype: str = "float32"       # float32 halves memory traffic; gradient checks use float64
    eval_every: int = 10         # steps between history rows (each row evaluates the dev set)

    def __post_init__(self):
        checks = [
            ("trainer", self.trainer in ("gd", "fast"), "must be 'gd' or 'fast'"),
            ("n_hidden", self.n_hidden >= 1, "must be at least 1"),
            ("learning_rate", 0 < self.learning_rate <= 10, "must be in (0, 10]"),
            ("iterations", self.iterations >= 1, "must be at least 1"),
            ("epochs", self.epochs >= 1, "must be at least 1"),
            ("shift_start", self.shift_start >= 0, "must be at least 0"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            ("optimizer", self.optimizer in ("sgd", "adam"), "must be 'sgd' or 'adam'"),
            ("schedule", self.schedule in ("constant", "linear"), "must be 'constant' or 'linear'"),
            ("init", self.init in ("uniform", "he"), "must be 'uniform' or 'he'"),
            ("dtype", self.dtype in ("float32", "float64"), "must be 'float32' or 'float64'"),
            ("eval_every", self.eval_every >= 1, "must be at least 1"),
            ("seed", self.seed >= 0, "must be at least 0"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"TrainConfig.{name} {rule}, got {getattr(self, name)!r}")

    @classmethod
    def fast(cls, **overrides):
        """The fast trainer's defaults: 30 epochs of mini-batches of 32, He init,
        plain SGD with alpha decaying linearly from 0.2 to 0, and ±1-pixel shifts
        from the third epoch on. On the 5,000-digit sample this passes the original
        algorithm's accuracy within two epochs and ends at about 0.90-0.92 dev
        accuracy, in about half a second."""
        base = dict(trainer="fast", init="he", learning_rate=0.2, batch_size=32, epochs=30,
                    schedule="linear", shift=True, eval_every=25)
        return cls(**{**base, **overrides})

    def to_dict(self):
        return asdict(self)

    def replace(self, **changes):
        return replace(self, **changes)
# --8<-- [end:TrainConfig]


# --8<-- [start:History]
@dataclass
class History:
    """One row every `eval_every` steps.

    loss, train_accuracy: means over the batches since the previous row.
    dev_accuracy: on the whole dev set at that step (NaN without a dev set).
    seconds: training time so far, not counting the evaluations.
    cpu_seconds: the same in CPU time of this thread, which other programs cannot inflate
        (with one BLAS thread it is all the training's work; more threads' work is not in it).
    update_W1, update_W2: ||W_new - W|| / ||W|| of the row's last step, for each weight matrix
        (how much of the layer that step rewrote; the Results page plots it).
    """

    step: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    dev_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    cpu_seconds: list = field(default_factory=list)
    update_W1: list = field(default_factory=list)
    update_W2: list = field(default_factory=list)

    def to_frame(self):
        import pandas as pd  # here, not at the top: `import nnfs` stays fast

        return pd.DataFrame(self.__dict__)

    @property
    def final_dev_accuracy(self):
        return self.dev_accuracy[-1] if self.dev_accuracy else float("nan")
# --8<-- [end:History]


class _Recorder:
    """Accumulates batch losses between rows and times training without evaluation."""

    def __init__(self, config, X_dev, Y_dev, total_steps, callback):
        self.config, self.X_dev, self.Y_dev = config, X_dev, Y_dev
        self.total_steps, self.callback = total_steps, callback
        self.history = History()
        self.losses, self.accuracies = [], []
        self.train_seconds, self.t0 = 0.0, time.perf_counter()
        self.train_cpu_seconds, self.c0 = 0.0, time.thread_time()

    def batch(self, A2, Y):
        self.losses.append(cross_entropy(A2, Y))
        self.accuracies.append(accuracy(A2.argmax(axis=0), Y))

    def row(self, params, previous, step, epoch):
        """Record a row after a step that took the weights from `previous` to `params`."""
        now, cpu_now = time.perf_counter(), time.thread_time()
        self.train_seconds += now - self.t0
        self.train_cpu_seconds += cpu_now - self.c0
        h = self.history
        h.step.append(step)
        h.epoch.append(epoch)
        h.loss.append(float(np.mean(self.losses)))
        h.train_accuracy.append(float(np.mean(self.accuracies)))
        dev = accuracy(predict(params, self.X_dev), self.Y_dev) if self.X_dev is not None else float("nan")
        h.dev_accuracy.append(dev)
        h.seconds.append(self.train_seconds)
        h.cpu_seconds.append(self.train_cpu_seconds)
        for name in ("W1", "W2"):
            change = np.linalg.norm(params[name] - previous[name]) / np.linalg.norm(previous[name])
            getattr(h, f"update_{name}").append(float(change))
        self.losses, self.accuracies = [], []
        if self.callback is not None:
            self.callback(h, self.total_steps)
        self.t0, self.c0 = time.perf_counter(), time.thread_time()


def _prepare(X, Y, config, X_dev, Y_dev):
    dtype = np.dtype(config.dtype)
    X = np.ascontiguousarray(X, dtype=dtype)                 # C order: W1 @ X runs fastest
    Y = np.asarray(Y)
    if X.ndim != 2 or X.shape[0] != 784:
        raise ValueError(f"X must have shape (784, m), one example per column; got {X.shape}")
    if Y.shape != (X.shape[1],):
        raise ValueError(f"Y must have shape ({X.shape[1]},) to match X; got {Y.shape}")
    if (X_dev is None) != (Y_dev is None):
        raise ValueError("give both X_dev and Y_dev, or neither")
    if X_dev is not None:
        X_dev, Y_dev = np.ascontiguousarray(X_dev, dtype=dtype), np.asarray(Y_dev)
        if X_dev.ndim != 2 or X_dev.shape[0] != 784 or Y_dev.shape != (X_dev.shape[1],):
            raise ValueError(f"X_dev must be (784, n) and Y_dev (n,); got {X_dev.shape} and {Y_dev.shape}")
    return X, Y, X_dev, Y_dev


# --8<-- [start:bare_loop]
def descend(params, X, Y, learning_rate, iterations):
    """The whole algorithm, bare: `iterations` steps of forward, backward, update.

    params: W1, b1, W2, b2; X (784, m), Y (m,). Returns the new params.
    `gradient_descent` below is this loop plus a config, a start and a history.
    """
    for _ in range(iterations):
        cache = forward(params, X)                              # Z1, A1, Z2, A2
        grads = backward(params, cache, X, Y)                   # dW1, db1, dW2, db2
        params = update_params(params, grads, learning_rate)    # W <- W - alpha dW
    return params
# --8<-- [end:bare_loop]


# --8<-- [start:gradient_descent]
def gradient_descent(X, Y, config=TrainConfig(), X_dev=None, Y_dev=None, *, rng=None, callback=None):
    """The original algorithm: `config.iterations` full-batch steps of size alpha.

    X (784, m) in [0, 1], Y (m,) ints. Returns (params, History).
    `callback(history, total_steps)`, if given, runs after every history row.
    """
    X, Y, X_dev, Y_dev = _prepare(X, Y, config, X_dev, Y_dev)
    rng = np.random.default_rng(config.seed) if rng is None else rng
    params = init_params(784, config.n_hidden, 10, rng=rng, init=config.init, dtype=X.dtype)
    record = _Recorder(config, X_dev, Y_dev, config.iterations, callback)
    for i in range(1, config.iterations + 1):
        cache = forward(params, X)
        grads = backward(params, cache, X, Y)          # m = X.shape[1], the whole set
        params, previous = update_params(params, grads, config.learning_rate), params
        record.batch(cache["A2"], Y)
        if i % config.eval_every == 0 or i == config.iterations:
            record.row(params, previous, step=i, epoch=float(i))
    return params, record.history
# --8<-- [end:gradient_descent]


# --8<-- [start:shift]
def pad_images(XT):
    """Examples as rows, XT (m, 784) -> images with a zero border, (m, 30, 30)."""
    return np.pad(XT.reshape(-1, 28, 28), ((0, 0), (1, 1), (1, 1)))


def shifted_rows(padded, order, rng):
    """Rows `order` of `padded` (m, 30, 30), each moved by a random -1, 0 or +1 pixel
    in y and x: returns (len(order), 784), one example per row. Vacated pixels are 0."""
    dy, dx = rng.integers(-1, 2, size=(2, len(order)))
    out = np.empty((len(order), 28, 28), padded.dtype)
    for sy in (-1, 0, 1):                                     # 9 vectorised groups
        for sx in (-1, 0, 1):
            pos = np.flatnonzero((dy == sy) & (dx == sx))
            out[pos] = padded[order[pos], 1 - sy:29 - sy, 1 - sx:29 - sx]
    return out.reshape(len(order), 784)


def shift_images(X, rng):
    """Move every digit in X (784, m) by a random -1, 0 or +1 pixel in x and y.

    Vacated pixels become 0 (background). Returns a new (784, m) array.
    """
    return shifted_rows(pad_images(X.T), np.arange(X.shape[1]), rng).T
# --8<-- [end:shift]


# --8<-- [start:adam]
def adam_update(params, grads, state, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step. `state` holds the running moments and the step count t.

    m <- b1 m + (1 - b1) dW;  v <- b2 v + (1 - b2) dW^2
    W <- W - alpha * m_hat / (sqrt(v_hat) + eps), with bias-corrected m_hat, v_hat.
    """
    t = state["t"] = state.get("t", 0) + 1
    new = {}
    for name, W in params.items():
        dW = grads["d" + name]
        m = state[name + ".m"] = beta1 * state.get(name + ".m", 0) + (1 - beta1) * dW
        v = state[name + ".v"] = beta2 * state.get(name + ".v", 0) + (1 - beta2) * dW * dW
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        new[name] = (W - learning_rate * m_hat / (np.sqrt(v_hat) + eps)).astype(W.dtype)
    return new
# --8<-- [end:adam]


# --8<-- [start:minibatch_sgd]
def minibatch_sgd(X, Y, config=TrainConfig.fast(), X_dev=None, Y_dev=None, *, rng=None, callback=None):
    """Mini-batch SGD: each epoch shuffles the columns and steps on every
    `batch_size` of them. X (784, m) in [0, 1], Y (m,) ints. Returns (params, History).
    `callback(history, total_steps)`, if given, runs after every history row.
    """
    X, Y, X_dev, Y_dev = _prepare(X, Y, config, X_dev, Y_dev)
    rng = np.random.default_rng(config.seed) if rng is None else rng
    params = init_params(784, config.n_hidden, 10, rng=rng, init=config.init, dtype=X.dtype)
    m, B = X.shape[1], config.batch_size
    total_steps = config.epochs * -(-m // B)                  # ceil(m / B) steps per epoch
    record, adam_state, step = _Recorder(config, X_dev, Y_dev, total_steps, callback), {}, 0
    XT = np.ascontiguousarray(X.T)                         # (m, 784): a batch is a gather of rows
    padded = shifted = None
    for epoch in range(config.epochs):
        order = rng.permutation(m)
        if config.shift and epoch >= config.shift_start:   # shuffle and shift in one gather
            padded = pad_images(XT) if padded is None else padded  # once, when shifts begin
            shifted = shifted_rows(padded, order, rng)     # (m, 784), rows in `order`
        for start in range(0, m, B):
            batch = order[start:start + B]
            Xb = (XT[batch] if shifted is None else shifted[start:start + B]).T  # (784, B)
            Yb = Y[batch]
            cache = forward(params, Xb)
            grads = backward(params, cache, Xb, Yb)        # m = Xb.shape[1], this batch
            alpha = config.learning_rate
            if config.schedule == "linear":
                alpha *= 1 - step / total_steps                # from alpha down to alpha / total_steps
            previous = params
            if config.optimizer == "adam":
                params = adam_update(params, grads, adam_state, alpha)
            else:
                params = update_params(params, grads, alpha)
            record.batch(cache["A2"], Yb)
            step += 1
            last = epoch == config.epochs - 1 and start + B >= m
            if step % config.eval_every == 0 or last:
                record.row(params, previous, step=step, epoch=epoch + min(start + B, m) / m)
    return params, record.history
# --8<-- [end:minibatch_sgd]


def train(X, Y, config=TrainConfig(), X_dev=None, Y_dev=None, *, rng=None, callback=None):
    """Run the trainer that `config.trainer` names. Returns (params, History)."""
    fit = gradient_descent if config.trainer == "gd" else minibatch_sgd
    return fit(X, Y, config, X_dev, Y_dev, rng=rng, callback=callback)


def trainer_name(config):
    """The name of the function `train` runs for `config`."""
    return "gradient_descent" if config.trainer == "gd" else "minibatch_sgd"


# Inside the site build (NNFS_TRAIN_CACHE set), a run that another page already trained
# is read back instead of trained again; elsewhere these are the functions above, unchanged.
gradient_descent = memo.reuse(gradient_descent, History)
minibatch_sgd = memo.reuse(minibatch_sgd, History)
