"""bench/peers.py: it measures scikit-learn's real fit(), and reports the goals honestly."""

import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import peers  # noqa: E402
import readme  # noqa: E402

pytest.importorskip("sklearn")
from sklearn.neural_network import MLPClassifier  # noqa: E402


@pytest.fixture(scope="module")
def small():
    """400 training and 200 dev digits of the benchmark's split, as nnfs columns."""
    X, Y, X_dev, Y_dev = peers.load_split()
    return X[:, :400], Y[:400], X_dev[:, :200], Y_dev[:200]


def test_curve_helpers():
    curve = [(1.0, 0.80), (2.0, 0.86), (3.0, 0.85), (4.0, 0.90)]
    assert peers.seconds_to(curve, 0.86) == 2.0
    assert peers.seconds_before(curve, 0.86) == 1.0   # crossed somewhere in (1, 2]
    assert peers.seconds_before(curve, 0.70) == 0.0   # already there after the first epoch
    assert peers.seconds_to(curve, 0.95) is None and peers.seconds_before(curve, 0.95) is None


def test_summary_counts_never_as_infinitely_slow():
    s = peers.summary([1.0, None, 3.0])
    assert (s["median"], s["min"], s["max"], s["never"]) == (3.0, 1.0, 3.0, 1)
    assert peers.summary([None, None, 2.0])["median"] is None


def test_the_hook_records_the_real_fit_without_changing_it(small):
    """The timed subclass computes bit for bit the weights of a plain MLPClassifier.fit,
    and records one dev-accuracy point per epoch, the last one being the final accuracy."""
    X, Y, X_dev, Y_dev = peers._rows(small)
    settings = dict(solver="sgd", learning_rate_init=0.03, max_iter=4, n_iter_no_change=4)
    timed = peers.mlp_classifier(settings, 3, X_dev, Y_dev)
    timed.curve_, timed.paused_, timed.start_ = [], 0.0, 0.0
    plain = MLPClassifier(**peers.SAME_NETWORK, **settings, random_state=3)
    with pytest.warns(Warning):  # ConvergenceWarning: 4 epochs are not convergence
        timed.fit(X, Y)
    with pytest.warns(Warning):
        plain.fit(X, Y)
    for a, b in zip(timed.coefs_ + timed.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert timed.coefs_[0].dtype == np.float32  # it keeps our float32

    run = peers.run_sklearn(peers._rows(small), settings, 3)
    assert run["epochs"] == 4 == len(run["curve"]) and run["examples"] == 4 * 400
    seconds = [s for s, _ in run["curve"]]
    assert seconds == sorted(seconds) and 0 < seconds[-1] <= run["seconds"]
    assert run["curve"][-1][1] == run["final_dev_accuracy"] == np.mean(plain.predict(X_dev) == Y_dev)


def test_a_fit_that_skips_the_hook_is_an_error(small, monkeypatch):
    """If a scikit-learn release stops calling the hooked method, the benchmark says so."""
    monkeypatch.setattr(MLPClassifier, "_update_no_improvement_count", lambda self, *a, **k: None)
    monkeypatch.setattr(peers, "mlp_classifier",
                        lambda settings, seed, X_dev, Y_dev: MLPClassifier(**peers.SAME_NETWORK, **settings,
                                                                           random_state=seed))
    with pytest.raises(RuntimeError, match="per-epoch hook ran 0 times"):
        peers.run_sklearn(peers._rows(small), dict(max_iter=2, n_iter_no_change=2), 0)


def _report(sooner_s=(0.1, 1.0), rates=(300_000, 100_000), accuracies=(0.915, 0.900)):
    """A report with just what goals() and markdown() read."""
    def trainer(to, rate, acc):
        one = lambda v: {"median": v, "min": v, "max": v, "runs": [v], "never": 0 if v is not None else 1}  # noqa: E731
        return {"seconds": one(1.0), "epochs": one(30), "examples_per_second": one(rate),
                "final_dev_accuracy": one(acc), "seconds_to_target": one(to),
                "seconds_to_target_epoch_end": one(to), "peak_memory_bytes": 2**20, "dtype": "float32"}
    ours, peer = (trainer(t, r, a) for t, r, a in zip(sooner_s, rates, accuracies))
    report = {"settings": {"seeds": 1, "n_train": 4000, "n_dev": 1000, "split_seed": 0, "batch_size": 32,
                           "n_hidden": 10, "epochs": 30},
              "target_accuracy": 0.9, "best_sklearn": "adam", "nnfs": ours, "sklearn": peer,
              "sweep": {"adam": peer}, "torch": None}
    report["goals"] = peers.goals(report)
    report["defaults"] = peers.default_goals({"defaults": {10: [0.91, 0.92], 128: [0.97, 0.975]}, "alternative": None})
    return report


def test_goals_pass_when_met():
    table = peers.markdown(_report())
    assert table.count("| PASS |") == 5 and "MISS" not in table
    assert "| 10×" in table and "| 3.0×" in table and "+1.5 points" in table


@pytest.mark.parametrize("change, missed", [
    (dict(sooner_s=(0.21, 1.0)), "reaches 0.900 dev sooner"),        # 4.8x < 5x
    (dict(sooner_s=(None, 1.0)), "reaches 0.900 dev sooner"),        # never reached
    (dict(rates=(190_000, 100_000)), "examples/s"),                  # 1.9x < 2x
    (dict(accuracies=(0.909, 0.900)), "final dev accuracy"),         # +0.9 point < 1
])
def test_goals_miss_when_not_met(change, missed):
    table = peers.markdown(_report(**change))
    miss = [line for line in table.splitlines() if "MISS" in line]
    assert len(miss) == 1 and missed in miss[0]


def test_a_missed_sooner_goal_says_which_factor_falls_short():
    """3x sooner at 3x the throughput: the examples needed are the same, and the line says so."""
    miss = [line for line in peers.markdown(_report(sooner_s=(1 / 3, 1.0))).splitlines() if "MISS" in line]
    assert len(miss) == 1 and "3.0× the examples per second" in miss[0] and "1.00× as many" in miss[0]


def test_update_readme_writes_between_the_markers(tmp_path, monkeypatch):
    fake = tmp_path / "README.md"
    fake.write_text("before\n<!-- bench:peers -->\nold\n<!-- /bench:peers -->\nafter\n")
    monkeypatch.setattr(readme, "README", fake)
    env = {"cpus": 2, "python": "3.11", "numpy": "2", "sklearn": "1.9", "threadpools": [],
           "load_average_before": (0.5,), "load_average_after": (0.6,)}
    peers.update_readme(env, 1, "THE TABLES")
    text = fake.read_text()
    assert text.startswith("before\n<!-- bench:peers -->\nProduced by `env -u") and "old" not in text
    assert "THE TABLES\n<!-- /bench:peers -->\nafter\n" in text


def test_the_readme_has_the_peers_section():
    text = (ROOT / "README.md").read_text()
    assert text.count("<!-- bench:peers -->") == 1 and text.count("<!-- /bench:peers -->") == 1


def test_a_missed_default_goal_says_what_would_meet_it_and_what_that_costs():
    accuracies = {"defaults": {10: [0.91, 0.92], 128: [0.966, 0.968]},
                  "alternative": {10: [0.90, 0.906], 128: [0.971, 0.973]}}
    rows = {row["n_hidden"]: row for row in peers.default_goals(accuracies)}
    assert rows[10]["met"] and not rows[128]["met"] and rows[128]["mean"] == pytest.approx(0.967)
    why = rows[128]["why"]
    assert "fast(n_hidden=128, learning_rate=0.4, epochs=40) means 0.9720" in why
    assert "fast(n_hidden=10, learning_rate=0.4, epochs=40) means 0.9030 < 0.905" in why


def test_default_goals_are_measured_over_the_seeds(small):
    accuracies = peers.default_accuracies(small, seeds=2)
    assert set(accuracies["defaults"]) == set(peers.DEFAULT_GOALS)
    assert all(len(runs) == 2 and len(set(runs)) >= 1 for runs in accuracies["defaults"].values())


@pytest.mark.slow
def test_benchmark_end_to_end_on_a_small_copy(small):
    sweep = {"sgd": dict(solver="sgd", learning_rate_init=0.03, max_iter=2, n_iter_no_change=2),
             "adam": dict(solver="adam", learning_rate_init=0.003, max_iter=2, n_iter_no_change=2)}
    report = peers.benchmark(seeds=2, sweep=sweep, epochs=2, data=small)
    best = report["best_sklearn"]
    assert report["target_accuracy"] == report["sweep"][best]["final_dev_accuracy"]["median"]
    assert all(report["sweep"][best]["final_dev_accuracy"]["median"] >= r["final_dev_accuracy"]["median"]
               for r in report["sweep"].values())
    assert report["nnfs"]["epochs"]["median"] == 2 and len(report["nnfs"]["seconds"]["runs"]) == 2
    table = peers.markdown(report)
    assert f"{best} **(best)**" in table and table.count("PASS") + table.count("MISS") == 5
