"""Peers: nnfs's fast trainer next to scikit-learn's MLPClassifier, the same network on the same data.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/peers.py [--seeds N] [--blas-threads N]
        [--json OUT] [--update-readme]

Both train a 784-10-10 network (10 ReLU hidden units, softmax output,
cross-entropy) with mini-batches of 32 on the embedded sample's 4,000 / 1,000
split (`train_dev_split` with `np.random.default_rng(0)`), from the very same
float32 array (scikit-learn keeps float32 input in float32). Seeds 0..N-1 vary
the initial weights and the shuffling, never the split.

scikit-learn gets its best honest settings: a small sweep (SWEEP below) over
its solver and learning rate, each run with `fit()` for as many epochs as
`TrainConfig.fast()`, with its loss-plateau stop turned off; plus its own
defaults (Adam 1e-3, stop when the training loss stalls, at most 200 epochs)
and its `early_stopping=True` (which trains on 90% and stops on the other 10%).
The entry with the highest median final dev accuracy is the one compared.

Measured over N seeds (default 5), as medians with the range across seeds:

* examples/s: examples processed / training seconds of `fit()` (nnfs:
  `History.seconds`, which leaves the dev evaluations out);
* time to the target, the best scikit-learn entry's median final dev accuracy:
  nnfs checks the dev set every 5 steps; scikit-learn at the end of every
  epoch of its own `fit()` (a subclass hooks the method fit() calls there and
  stops the clock while it evaluates). scikit-learn is credited with the
  *start* of the epoch in which it crossed: the benefit of the doubt goes to
  the peer;
* final dev accuracy; peak memory (tracemalloc, one extra run each).

BLAS threads are set explicitly for both with threadpoolctl (default 1: on a
shared machine a waiting multi-threaded BLAS spins; `--blas-threads 2` to
compare with two), and runs are interleaved: seed 0 of every trainer, then seed 1...

Goals, reported PASS/MISS, never asserted (the exit code is 0 unless something crashes):
(1) nnfs reaches scikit-learn's final dev accuracy at least 5x sooner;
(2) nnfs processes at least 2x the examples per second, at the same batch size;
(3) nnfs's final dev accuracy is at least 1 point higher.
And the accuracy goals of nnfs's own defaults, mean final dev accuracy over the same seeds:
(4) TrainConfig.fast() >= 0.905; (5) TrainConfig.fast(n_hidden=128) >= 0.970. A MISS
says why, from numbers this run measures: the settings that would meet it, and what
they would cost the other goal if they became fast()'s defaults.

PyTorch gets an optional row if it happens to be importable; it is never required.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np

import nnfs
import readme  # bench/ is on sys.path when this file is run as a script
from nnfs.data import load_sample, train_dev_split
from train_speed import blas_pools, environment

N_DEV = 1000
SPLIT_SEED = 0
SEEDS = 5
SOONER_GOAL, THROUGHPUT_GOAL, ACCURACY_GOAL = 5.0, 2.0, 0.01
DEFAULT_GOALS = {10: 0.905, 128: 0.970}      # n_hidden -> mean final dev accuracy of fast(n_hidden=...)
# Tried when the wide goal misses: the wide network takes a larger step (with He init its
# output layer's weights, and so the hidden units' gradients, shrink as 1 / sqrt(n_hidden)).
WIDE_ALTERNATIVE = dict(learning_rate=0.4, epochs=40)

# nnfs's fast defaults, checking the dev set every 5 steps instead of 25: the same
# weights bit for bit (History.seconds leaves evaluation out), a finer time-to-target.
FAST_CONFIG = nnfs.TrainConfig.fast(eval_every=5)
N_HIDDEN, BATCH, EPOCHS = FAST_CONFIG.n_hidden, FAST_CONFIG.batch_size, FAST_CONFIG.epochs

# scikit-learn's side of the same network. alpha (its L2 penalty, 1e-4) and Adam's
# betas stay at the library's defaults, as a user would leave them.
SAME_NETWORK = dict(hidden_layer_sizes=(N_HIDDEN,), activation="relu", batch_size=BATCH)
FIXED_EPOCHS = dict(max_iter=EPOCHS, n_iter_no_change=EPOCHS)  # exactly EPOCHS epochs: no plateau stop
SWEEP = {
    "sgd, α 0.01": dict(solver="sgd", learning_rate_init=0.01, **FIXED_EPOCHS),
    "sgd, α 0.03": dict(solver="sgd", learning_rate_init=0.03, **FIXED_EPOCHS),
    "sgd, α 0.1": dict(solver="sgd", learning_rate_init=0.1, **FIXED_EPOCHS),
    "adam, α 0.001": dict(solver="adam", learning_rate_init=0.001, **FIXED_EPOCHS),
    "adam, α 0.003": dict(solver="adam", learning_rate_init=0.003, **FIXED_EPOCHS),
    "adam, α 0.01": dict(solver="adam", learning_rate_init=0.01, **FIXED_EPOCHS),
    "defaults (adam, α 0.001, stops on a loss plateau, ≤ 200 epochs)": dict(),
    "defaults + early_stopping=True (90% train, 10% to stop on)": dict(early_stopping=True),
}
# sgd: scikit-learn's default momentum 0.9 (Nesterov), constant α.


def load_split():
    X, Y = load_sample()
    return train_dev_split(X, Y, N_DEV, rng=np.random.default_rng(SPLIT_SEED))


def _rows(data):
    """nnfs's (784, m) columns as scikit-learn's (m, 784) rows, still float32."""
    X, Y, X_dev, Y_dev = data
    return np.ascontiguousarray(X.T), Y, np.ascontiguousarray(X_dev.T), Y_dev


# --- nnfs ---------------------------------------------------------------------

def run_nnfs(data, seed, epochs=EPOCHS):
    X, Y, X_dev, Y_dev = data
    _, h = nnfs.minibatch_sgd(X, Y, FAST_CONFIG.replace(seed=seed, epochs=epochs), X_dev, Y_dev)
    return {"seconds": h.seconds[-1], "epochs": h.epoch[-1], "examples": round(h.epoch[-1] * X.shape[1]),
            "final_dev_accuracy": h.final_dev_accuracy, "curve": list(zip(h.seconds, h.dev_accuracy))}


# --- scikit-learn -------------------------------------------------------------

def mlp_classifier(settings, seed, X_dev, Y_dev):
    """An MLPClassifier that records, at the end of every epoch of its own fit(), the
    training seconds so far and the dev accuracy, with its clock stopped while it
    evaluates: the curve of the real fit(), with no change to what fit() computes."""
    from sklearn.neural_network import MLPClassifier

    class TimedMLPClassifier(MLPClassifier):
        # fit() calls this once at the end of every epoch, in every version we know of;
        # run_sklearn checks that it did (one curve point per epoch).
        def _update_no_improvement_count(self, *args, **kwargs):
            now = time.perf_counter()
            dev_accuracy = float(np.mean(self.predict(X_dev) == Y_dev))
            self.curve_.append((now - self.start_ - self.paused_, dev_accuracy))
            self.paused_ += time.perf_counter() - now
            return super()._update_no_improvement_count(*args, **kwargs)  # its own cost counts

    return TimedMLPClassifier(**SAME_NETWORK, **settings, random_state=seed)


def run_sklearn(rows, settings, seed):
    """One `fit()`: its training seconds (dev evaluations left out), curve and final accuracy."""
    X, Y, X_dev, Y_dev = rows
    model = mlp_classifier(settings, seed, X_dev, Y_dev)
    model.curve_, model.paused_ = [], 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, which is the point
        model.start_ = time.perf_counter()
        model.fit(X, Y)
        seconds = time.perf_counter() - model.start_ - model.paused_
    if len(model.curve_) != model.n_iter_:
        raise RuntimeError(f"scikit-learn {_sklearn_version()}: fit() ran {model.n_iter_} epochs but "
                           f"the per-epoch hook ran {len(model.curve_)} times; update bench/peers.py")
    # With early_stopping it trains on 90% and keeps the best epoch's weights at the end.
    n_fit = X.shape[0] - (math.ceil(model.validation_fraction * X.shape[0]) if model.early_stopping else 0)
    return {"seconds": seconds, "epochs": model.n_iter_, "examples": model.n_iter_ * n_fit,
            "final_dev_accuracy": float(np.mean(model.predict(X_dev) == Y_dev)), "curve": model.curve_,
            "dtype": str(model.coefs_[0].dtype)}


def _sklearn_version():
    import sklearn

    return sklearn.__version__


# --- PyTorch, only if it is installed -------------------------------------------

def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run_torch(data, seed, epochs=EPOCHS, threads=1):
    """The fast trainer's recipe in PyTorch: He init, SGD with α decaying linearly
    from 0.2, batches of 32, float32, `threads` CPU threads (as BLAS gets); no shifts."""
    import torch

    torch.set_num_threads(threads)
    X, Y, X_dev, Y_dev = (torch.from_numpy(np.ascontiguousarray(a)) for a in _rows(data))
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, N_HIDDEN), torch.nn.ReLU(), torch.nn.Linear(N_HIDDEN, 10))
    for layer in (model[0], model[2]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=FAST_CONFIG.learning_rate)
    m = X.shape[0]
    total = epochs * -(-m // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total)
    loss_fn, seconds, curve = torch.nn.CrossEntropyLoss(), 0.0, []
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(m, generator=generator)
        for start in range(0, m, BATCH):
            batch = order[start:start + BATCH]
            optimizer.zero_grad()
            loss_fn(model(X[batch]), Y[batch]).backward()
            optimizer.step()
            schedule.step()
        seconds += time.perf_counter() - t0
        with torch.no_grad():
            curve.append((seconds, float((model(X_dev).argmax(1) == Y_dev).double().mean())))
    return {"seconds": seconds, "epochs": epochs, "examples": epochs * m,
            "final_dev_accuracy": curve[-1][1], "curve": curve}


# --- measuring ----------------------------------------------------------------

def seconds_to(curve, target):
    """Training seconds at the first point with dev accuracy >= target, or None."""
    return next((s for s, acc in curve if acc >= target), None)


def seconds_before(curve, target):
    """Seconds at the point *before* the first one at or above target (0 if the first
    one is): the target was crossed somewhere after this. None if never reached."""
    previous = 0.0
    for s, acc in curve:
        if acc >= target:
            return previous
        previous = s
    return None


def summary(values):
    """{'median', 'min', 'max', 'runs'}; None counts as never (+inf) in the median."""
    finite = [v for v in values if v is not None]
    med = statistics.median(math.inf if v is None else v for v in values)
    return {"median": None if med == math.inf else med, "min": min(finite, default=None),
            "max": max(finite, default=None), "runs": list(values), "never": len(values) - len(finite)}


def peak_memory(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def benchmark(seeds=SEEDS, sweep=SWEEP, epochs=EPOCHS, data=None, threads=1):
    """Every number of the comparison, as a dict (markdown() turns it into tables)."""
    data = load_split() if data is None else data
    rows = _rows(data)
    with_torch = torch_available()
    # warm-up: imports, first-touch pages, BLAS threads
    run_nnfs(data, 0, epochs=1)
    run_sklearn(rows, dict(sweep[next(iter(sweep))], max_iter=1), 0)

    nnfs_runs, fits, torch_runs = [], {name: [] for name in sweep}, []
    for seed in range(seeds):  # interleaved: seed 0 of everyone, then seed 1, ...
        nnfs_runs.append(run_nnfs(data, seed, epochs))
        for name, settings in sweep.items():
            fits[name].append(run_sklearn(rows, settings, seed))
        if with_torch:
            torch_runs.append(run_torch(data, seed, epochs, threads))

    sweep_report = {name: _trainer_summary(runs) for name, runs in fits.items()}
    # best = highest median final dev accuracy; the faster one if two tie
    best = max(sweep, key=lambda n: (sweep_report[n]["final_dev_accuracy"]["median"],
                                     -sweep_report[n]["seconds"]["median"]))
    target = sweep_report[best]["final_dev_accuracy"]["median"]

    nnfs_report = _trainer_summary(nnfs_runs)
    nnfs_report["seconds_to_target"] = summary([seconds_to(r["curve"], target) for r in nnfs_runs])
    peer = sweep_report[best]
    # Benefit of the doubt: the start of the epoch in which scikit-learn crossed.
    peer["seconds_to_target"] = summary([seconds_before(r["curve"], target) for r in fits[best]])
    peer["seconds_to_target_epoch_end"] = summary([seconds_to(r["curve"], target) for r in fits[best]])
    peer["dtype"] = fits[best][0]["dtype"]
    peer["curve_seed0"] = fits[best][0]["curve"]
    nnfs_report["peak_memory_bytes"] = peak_memory(lambda: run_nnfs(data, 0, epochs))
    peer["peak_memory_bytes"] = peak_memory(lambda: run_sklearn(rows, sweep[best], 0))
    report = {
        "settings": {"seeds": seeds, "n_train": data[0].shape[1], "n_dev": data[2].shape[1],
                     "split_seed": SPLIT_SEED, "batch_size": BATCH, "n_hidden": N_HIDDEN, "epochs": epochs,
                     "blas_threads": threads,
                     "nnfs_config": FAST_CONFIG.replace(epochs=epochs).to_dict(),
                     "sklearn_sweep": {n: {**SAME_NETWORK, **s} for n, s in sweep.items()}},
        "target_accuracy": target, "best_sklearn": best,
        "nnfs": nnfs_report, "sklearn": peer, "sweep": sweep_report, "torch": None,
    }
    if with_torch:
        report["torch"] = _trainer_summary(torch_runs)
        report["torch"]["seconds_to_target"] = summary([seconds_to(r["curve"], target) for r in torch_runs])
    report["goals"] = goals(report)
    report["defaults"] = default_goals(default_accuracies(data, seeds))
    return report


def default_accuracies(data, seeds):
    """Final dev accuracy of fast(n_hidden=h) for each goal's h and seed, and, for a goal
    missed, of WIDE_ALTERNATIVE at every width: what changing the defaults would do."""
    X, Y, X_dev, Y_dev = data

    def final(n_hidden, **changes):
        return [nnfs.minibatch_sgd(X, Y, nnfs.TrainConfig.fast(n_hidden=n_hidden, seed=seed, **changes), X_dev,
                                   Y_dev)[1].final_dev_accuracy for seed in range(seeds)]

    out = {"defaults": {h: final(h) for h in DEFAULT_GOALS}, "alternative": None}
    if any(statistics.mean(out["defaults"][h]) < goal for h, goal in DEFAULT_GOALS.items()):
        out["alternative"] = {h: final(h, **WIDE_ALTERNATIVE) for h in DEFAULT_GOALS}
    return out


def default_goals(accuracies):
    """PASS/MISS rows for DEFAULT_GOALS, each MISS with its reason, from the numbers."""
    rows = []
    alternative = accuracies["alternative"]
    for h, goal in DEFAULT_GOALS.items():
        runs = accuracies["defaults"][h]
        mean = statistics.mean(runs)
        row = {"n_hidden": h, "goal": goal, "mean": mean, "min": min(runs), "max": max(runs),
               "met": round(1000 * mean) >= round(1000 * goal), "why": ""}
        if not row["met"] and alternative is not None:
            change = ", ".join(f"{k}={v!r}" for k, v in WIDE_ALTERNATIVE.items())
            own = statistics.mean(alternative[h])
            others = [f"fast(n_hidden={o}, {change}) means {statistics.mean(alternative[o]):.4f}"
                      f"{' < ' if statistics.mean(alternative[o]) < g else ' ≥ '}{g}"
                      for o, g in DEFAULT_GOALS.items() if o != h]
            row["why"] = (f"fast(n_hidden={h}, {change}) means {own:.4f}; as fast()'s defaults for every width, "
                          f"{'; '.join(others)}, so the defaults stay one set for both widths")
        rows.append(row)
    return rows


def _trainer_summary(runs):
    return {
        "seconds": summary([r["seconds"] for r in runs]),
        "epochs": summary([r["epochs"] for r in runs]),
        "examples_per_second": summary([r["examples"] / r["seconds"] for r in runs]),
        "final_dev_accuracy": summary([r["final_dev_accuracy"] for r in runs]),
    }


def goals(report):
    ours, peer = report["nnfs"], report["sklearn"]
    ours_to, peer_to = ours["seconds_to_target"]["median"], peer["seconds_to_target"]["median"]
    sooner = peer_to / ours_to if ours_to and peer_to is not None else None
    throughput = ours["examples_per_second"]["median"] / peer["examples_per_second"]["median"]
    gain = ours["final_dev_accuracy"]["median"] - peer["final_dev_accuracy"]["median"]
    return {
        "sooner": {"ratio": sooner, "nnfs_seconds": ours_to, "sklearn_seconds": peer_to, "goal": SOONER_GOAL,
                   "met": sooner is not None and sooner >= SOONER_GOAL,
                   "why": _why_sooner(ours_to, peer_to) or (
                       "" if sooner is None or sooner >= SOONER_GOAL else _why_not_sooner(ours, peer, throughput))},
        "throughput": {"ratio": throughput, "goal": THROUGHPUT_GOAL, "met": throughput >= THROUGHPUT_GOAL},
        "accuracy": {"points": 100 * gain, "goal": 100 * ACCURACY_GOAL,
                     # round to the dev set's resolution (1 digit = 0.1 point) before comparing
                     "met": round(1000 * gain) >= round(1000 * ACCURACY_GOAL)},
    }


def _why_not_sooner(ours, peer, throughput):
    """Time to target = examples to target / examples per second: say which factor falls short."""
    ours_examples = ours["seconds_to_target"]["median"] * ours["examples_per_second"]["median"]
    peer_examples = peer["seconds_to_target"]["median"] * peer["examples_per_second"]["median"]
    return (f"nnfs processes {throughput:.1f}× the examples per second, but needs {ours_examples:,.0f} examples "
            f"to reach the target against scikit-learn's {peer_examples:,.0f} (credited from the start of its epoch), "
            f"{ours_examples / peer_examples:.2f}× as many")


def _why_sooner(ours_to, peer_to):
    if ours_to is None:
        return "nnfs never reached the target in most seeds"
    if peer_to is None:
        return "scikit-learn's curve never reached its own median in most seeds"
    if peer_to == 0:
        return "scikit-learn crossed the target in its first epoch: no lower bound above 0"
    return ""


# --- tables -------------------------------------------------------------------

def _sec(s):
    return "never" if s["median"] is None else (
        f"{s['median']:.2f} s ({s['min']:.2f}–{s['max']:.2f})"
        + (f", never in {s['never']}" if s["never"] else ""))


def _acc(s):
    return f"{s['median']:.3f} ({s['min']:.3f}–{s['max']:.3f})"


def _rate(s):
    return f"{s['median']:,.0f} ({s['min']:,.0f}–{s['max']:,.0f})"


def _epochs(s):
    return f"{s['median']:g}" if s["min"] == s["max"] else f"{s['median']:g} ({s['min']:g}–{s['max']:g})"


def _x(ratio):
    return "—" if ratio is None else f"{ratio:.1f}×" if ratio < 10 else f"{ratio:.0f}×"


def markdown(report):
    st, target = report["settings"], report["target_accuracy"]
    ours, peer, best = report["nnfs"], report["sklearn"], report["best_sklearn"]
    lines = [
        f"Sample split {st['n_train']:,} train / {st['n_dev']:,} dev (split seed {st['split_seed']}); "
        f"784-{st['n_hidden']}-10, ReLU, softmax, batches of {st['batch_size']}, float32 for both; "
        f"median (range) over seeds 0–{st['seeds'] - 1}, runs interleaved. "
        f"Target = scikit-learn's best median final dev accuracy, {target:.3f}.",
        "",
        f"| trainer | epochs | train time | examples/s | peak memory | final dev acc. | time to {target:.3f} dev |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(f"nnfs.minibatch_sgd, TrainConfig.fast(eval_every=5)", ours),
            (f"sklearn MLPClassifier, best of the sweep: {best}", peer)]
    if report["torch"]:
        rows.append(("PyTorch, the same recipe without shifts (optional)", report["torch"]))
    for label, r in rows:
        memory = f"{r['peak_memory_bytes'] / 2**20:.1f} MiB" if "peak_memory_bytes" in r else "—"
        lines.append(f"| {label} | {_epochs(r['epochs'])} | {_sec(r['seconds'])} "
                     f"| {_rate(r['examples_per_second'])} | {memory} | {_acc(r['final_dev_accuracy'])} "
                     f"| {_sec(r['seconds_to_target'])} |")
    lines += [
        "",
        f"Training seconds leave the dev evaluations out, for both. nnfs checks the dev set "
        f"every 5 steps; scikit-learn at the end of each epoch of its `fit()`, and its time to "
        f"target is the *start* of the epoch in which it crossed (at that epoch's end: "
        f"{_sec(peer['seconds_to_target_epoch_end'])}). scikit-learn computed in {peer['dtype']}.",
    ]
    g = report["goals"]
    verdict = lambda met: "PASS" if met else "MISS"  # noqa: E731
    why = f" ({g['sooner']['why']})" if g["sooner"]["why"] else ""
    lines += [
        "",
        "| goal | measured | target | result |",
        "|---|---|---|---|",
        f"| nnfs reaches {target:.3f} dev sooner | {_x(g['sooner']['ratio'])} | ≥ {SOONER_GOAL:.0f}× "
        f"| {verdict(g['sooner']['met'])}{why} |",
        f"| nnfs examples/s, both at batch {st['batch_size']} | {_x(g['throughput']['ratio'])} "
        f"| ≥ {THROUGHPUT_GOAL:.0f}× | {verdict(g['throughput']['met'])} |",
        f"| nnfs final dev accuracy − scikit-learn's | {g['accuracy']['points']:+.1f} points "
        f"| ≥ +{g['accuracy']['goal']:.0f} point | {verdict(g['accuracy']['met'])} |",
    ]
    for row in report["defaults"]:
        why = f" ({row['why']})" if row["why"] else ""
        call = "fast()" if row["n_hidden"] == N_HIDDEN else f"fast(n_hidden={row['n_hidden']})"
        lines.append(f"| `TrainConfig.{call}` mean final dev accuracy, seeds 0–{st['seeds'] - 1} "
                     f"| {row['mean']:.4f} ({row['min']:.3f}–{row['max']:.3f}) | ≥ {row['goal']:.3f} "
                     f"| {verdict(row['met'])}{why} |")
    lines += [
        "",
        f"The scikit-learn sweep (`MLPClassifier(hidden_layer_sizes=({st['n_hidden']},), "
        f"batch_size={st['batch_size']}, ...)`, `fit()`; fixed-epoch entries run {st['epochs']} "
        f"epochs with the plateau stop off; alpha = 1e-4, the default, throughout):",
        "",
        "| settings | epochs | train time | examples/s | final dev acc. |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in report["sweep"].items():
        mark = " **(best)**" if name == best else ""
        lines.append(f"| {name}{mark} | {_epochs(r['epochs'])} | {_sec(r['seconds'])} "
                     f"| {_rate(r['examples_per_second'])} | {_acc(r['final_dev_accuracy'])} |")
    if not report["torch"]:
        lines += ["", "PyTorch is not installed here, so it has no row (it is optional, never required)."]
    return "\n".join(lines)


def update_readme(env, blas_threads, tables):
    pools = blas_pools(env)
    readme.update_section("peers", (
        f"Produced by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/peers.py "
        f"--update-readme` on {env['cpus']} CPUs (Python {env['python']}, NumPy {env['numpy']}, "
        f"scikit-learn {env['sklearn']}; BLAS limited to {blas_threads} thread(s) for every trainer"
        f"{': ' + pools if pools else ''}; load average {env['load_average_before'][0]:.2f} before "
        f"the run, {env['load_average_after'][0]:.2f} after).\n\n{tables}"
    ))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds 0..N-1 (default {SEEDS})")
    parser.add_argument("--blas-threads", type=int, default=1, metavar="N",
                        help="BLAS threads for every trainer, through threadpoolctl (default 1)")
    parser.add_argument("--json", metavar="OUT", help="write every number to this JSON file")
    parser.add_argument("--update-readme", action="store_true",
                        help="write the tables into README.md's peers section")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.blas_threads < 1:
        parser.error("--blas-threads must be at least 1")

    import sklearn
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.blas_threads, user_api="blas"):
        env = environment()  # inside the limit: it reports the thread counts in force
        env["sklearn"] = sklearn.__version__
        print(f"Python {env['python']}, NumPy {env['numpy']}, scikit-learn {env['sklearn']}, "
              f"{env['cpus']} CPUs, load average {env['load_average_before'][0]:.2f}; "
              f"PyTorch {'found' if torch_available() else 'not installed'}")
        for pool in env["threadpools"] or []:
            print(f"  {pool['user_api']}: {pool['internal_api']} {pool['version']}, "
                  f"{pool['num_threads']} threads")
        if env["slow_env_set"]:
            print(f"  warning: {', '.join(env['slow_env_set'])} set; NumPy may be slow. Run with "
                  "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/peers.py")
        print()
        report = benchmark(args.seeds, threads=args.blas_threads)
    env["load_average_after"] = os.getloadavg()
    tables = markdown(report)
    print(tables)
    print(f"\nload average after: {env['load_average_after'][0]:.2f} (1 min), on {env['cpus']} CPUs")
    if args.update_readme:
        update_readme(env, args.blas_threads, tables)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, **report}, f, indent=2, default=float)
            f.write("\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
