"""Site build budgets: cold and warm `mkdocs build --strict`, two builds at once, and
whether a busy machine changes the speed-ups the pages publish.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/site_build.py --update-readme

Every build is a whole `mkdocs build --strict` process on a throw-away copy of the
project (mkdocs.yml, docs, nnfs, overrides), with PYTHONPATH pointing at the copy,
so the repository's own caches are neither used nor disturbed:

1. cold, --cold-repeats times (default 3), each on a fresh copy: empty caches, so the
   build trains the network and executes every notebook. The first is "the quiet build".
2. warm, --warm-repeats times (default 5): one word of docs/softmax.md changed before
   each, caches kept: no training, no notebook, no executed block runs again.
3. nnfs/ edited: one comment added to nnfs/network.py: the cache key changes, so the
   build retrains and re-executes everything (it must, or outputs would go stale).
4. two at once: two fresh copies built at the same time, against one cold build alone.
5. busy: a fresh copy built next to two busy-loop processes. The Home page's speed-up
   and every speed-up of Going further's table are read from this build and from the
   quiet one, side by side.

Goals (issue 9): warm <= 2.5 s and warm / cold <= 0.06 (medians); cold <= 35 s (median);
two at once <= 2.3 x one alone; every published speed-up of the busy build within
1.5 x of the quiet build's.
"""

import argparse
import html.parser
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import resource

import readme  # bench/ is on sys.path when this file is run as a script

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"warm": 2.5, "warm/cold": 0.06, "cold": 35.0, "two at once": 2.3, "busy/quiet": 1.5}
COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/site_build.py --update-readme"


def fresh_copy(tmp, name):
    project = Path(tmp) / name
    project.mkdir()
    for item in ("mkdocs.yml", "docs", "nnfs", "overrides"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / item)
    return project


def start_build(project):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(project)}
    return subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(project / "site")],
                            cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _children_cpu():
    """CPU seconds of every finished child process and their waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def finish_build(process, project, t0, cpu0=None):
    _, stderr = process.communicate()
    seconds = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0 if cpu0 is not None else None
    if process.returncode:
        sys.exit(f"build failed in {project}:\n{stderr[-4000:]}")
    return {"seconds": seconds, "cpu": cpu,
            "notebooks": len(re.findall(r"nnfs: notebook \S+ done", stderr)),
            "trained": "nnfs: training for the site" in stderr,
            "blocks run": int(m.group(1)) if (m := re.search(r"executed blocks: \d+ from the cache, (\d+) run", stderr)) else None}


def build(project):
    t0, cpu0 = time.perf_counter(), _children_cpu()
    return finish_build(start_build(project), project, t0, cpu0)


def builds_at_once(projects):
    t0 = time.perf_counter()
    processes = [start_build(p) for p in projects]
    return [finish_build(process, p, t0) for process, p in zip(processes, projects)]


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


class _Tables(html.parser.HTMLParser):
    """Every <table> of a page as a list of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.row = []
            self.tables[-1].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def published_speedups(project):
    """{what: speed-up} as this build published them: the Home page's (from results.json)
    and each row of Going further's table."""
    site = project / "site"
    results = json.loads((site / "generated" / "results.json").read_text())
    speedups = {"Home: fast vs original": results["fast_speedup"]}
    parser = _Tables()
    parser.feed((site / "notebooks" / "going_further" / "index.html").read_text(encoding="utf-8"))
    for table in parser.tables:
        header = next((row for row in table if "speed-up" in row), None)
        if header is None:
            continue
        at, change = header.index("speed-up"), header.index("change")
        offset = len(header) - max(len(row) for row in table)  # a header row may carry an index cell
        for row in table:
            if row is header or len(row) <= at - offset:
                continue
            value = row[at - offset].rstrip("×")
            if re.fullmatch(r"[0-9.]+", value):
                speedups[f"Going further: {row[change - offset]}"] = float(value)
    return speedups, results


def busy_loops(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def median(rows):
    return statistics.median(r["seconds"] for r in rows)


def verdict(ok):
    return "PASS" if ok else "MISS"


SPEED_PROBE = """
import time
import numpy as np
from nnfs.data import load_sample, train_dev_split
from nnfs.network import backward, forward, init_params, update_params
X, Y = load_sample()
X_train, Y_train, _, _ = train_dev_split(X, Y, dev_size=1000, rng=np.random.default_rng(0))
X_train = np.ascontiguousarray(X_train, dtype=np.float32)                  # (784, 4000), as the pipeline trains
params = init_params(784, 10, 10, rng=np.random.default_rng(0), init="uniform", dtype=np.float32)
blocks = []
for _ in range(5):
    t = time.thread_time()
    for _ in range(20):
        params = update_params(params, backward(params, forward(params, X_train), X_train, Y_train), 0.1)
    blocks.append((time.thread_time() - t) / 20 * 1e3)
print(sorted(blocks)[2])
"""


def gd_step_ms():
    """This machine's speed now: the CPU ms of one full-batch step of the original trainer on
    the sample (784 x 4,000 float32, one BLAS thread), median of 5 blocks of 20 steps, in a
    process of its own. The VM these numbers come from drifts by up to 40% in an afternoon;
    the README gives it before and after the run, so that runs can be compared fairly."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", SPEED_PROBE], env=env, capture_output=True, text=True)
    if result.returncode != 0:   # the probe only describes the run: report it, keep the measurements
        print(f"machine-speed probe failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return float("nan")
    return float(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--warm-repeats", type=int, default=5)
    parser.add_argument("--skip-code-edit", action="store_true", help="skip the nnfs/-edited build")
    parser.add_argument("--skip-load", action="store_true", help="skip the two-at-once and busy builds")
    parser.add_argument("--update-readme", action="store_true", help="write the tables into README.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    step_before = gd_step_ms()
    with tempfile.TemporaryDirectory() as tmp:
        cold = []
        for i in range(args.cold_repeats):
            cold.append(build(fresh_copy(tmp, f"cold{i}")))
            print(f"cold {i + 1}: {cold[-1]['seconds']:.1f} s", flush=True)
        quiet = Path(tmp) / "cold0"
        quiet_speedups, quiet_results = published_speedups(quiet)
        softmax = quiet / "docs" / "softmax.md"
        warm = []
        for i in range(args.warm_repeats):
            edit(softmax, "# Softmax" + " (edited)" * i, "# Softmax" + " (edited)" * (i + 1))
            warm.append(build(quiet))
            print(f"warm {i + 1}: {warm[-1]['seconds']:.2f} s", flush=True)
        code = None
        if not args.skip_code_edit:
            edit(quiet / "nnfs" / "network.py", "# --8<-- [start:imports]", "# edited\n# --8<-- [start:imports]")
            code = build(quiet)
            print(f"nnfs/ edited: {code['seconds']:.1f} s", flush=True)
        pair = busy = None
        if not args.skip_load:
            pair = builds_at_once([fresh_copy(tmp, "pair0"), fresh_copy(tmp, "pair1")])
            print(f"two at once: {max(r['seconds'] for r in pair):.1f} s", flush=True)
            loops = busy_loops(2)
            try:
                busy = build(fresh_copy(tmp, "busy"))
            finally:
                for loop in loops:
                    loop.kill()
                    loop.wait()
            busy_speedups, busy_results = published_speedups(Path(tmp) / "busy")
            print(f"busy: {busy['seconds']:.1f} s", flush=True)

    text = report(cold, warm, code, pair, busy, quiet_results, quiet_speedups,
                  *((busy_results, busy_speedups) if busy else (None, None)))
    print("\n" + text)
    if args.update_readme:
        readme.update_section("site_build", (
            f"Produced by `{COMMAND}` on {os.cpu_count()} CPUs (load average {load_before:.2f} before the "
            f"run, {os.getloadavg()[0]:.2f} after; the machine's speed, one full-batch step of the original "
            f"trainer on the sample, {step_before:.1f} ms before and {gd_step_ms():.1f} ms after: this VM's "
            f"speed drifts, so compare runs by it), each a whole `mkdocs build --strict` process on a copy "
            f"of the project:\n\n" + text))


def _cpu_bound(cold):
    """Why a cold build cannot be shorter, from its CPU time: the work divided by the CPUs."""
    cpu = [r["cpu"] for r in cold if r.get("cpu") is not None]
    if not cpu:
        return ""
    work, cpus = statistics.median(cpu), len(os.sched_getaffinity(0))
    return (f" (its processes used {work:.0f} CPU s; on {cpus} CPUs no schedule of that work "
            f"takes under {work / cpus:.0f} s)")


def report(cold, warm, code, pair, busy, quiet_results, quiet_speedups, busy_results, busy_speedups):
    """The Markdown tables: builds, goals, and the published speed-ups side by side."""
    cold_s, warm_s = median(cold), median(warm)
    lines = [f"| build | runs | median s | all runs, s | CPU s, all processes | notebooks executed | trained | blocks run by mkdocs |",
             "| --- | ---: | ---: | --- | ---: | ---: | --- | ---: |"]

    def row(name, runs):
        last = runs[-1]
        every = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        cpu = [r["cpu"] for r in runs if r.get("cpu") is not None]
        cpu_text = f"{statistics.median(cpu):.1f}" if cpu else ""
        lines.append(f"| {name} | {len(runs)} | {median(runs):.2f} | {every} | {cpu_text} | "
                     f"{last['notebooks']} | {'yes' if last['trained'] else 'no'} | {last['blocks run']} |")

    row("cold (fresh copy)", cold)
    row("warm (one-word prose edit)", warm)
    if code:
        row("nnfs/ edited", [code])
    if pair:
        row("two cold builds at once", pair)
    if busy:
        row("cold, next to two busy loops", [busy])

    goals = ["", "| goal | measured | target | result |", "| --- | ---: | ---: | --- |",
             f"| warm rebuild (median of {len(warm)}) | {warm_s:.2f} s | ≤ {GOALS['warm']} s | {verdict(warm_s <= GOALS['warm'])} |",
             f"| warm / cold | {warm_s / cold_s:.3f} | ≤ {GOALS['warm/cold']} | {verdict(warm_s / cold_s <= GOALS['warm/cold'])} |",
             f"| cold build (median of {len(cold)}) | {cold_s:.1f} s | ≤ {GOALS['cold']:.0f} s | "
             f"{verdict(cold_s <= GOALS['cold'])}{_cpu_bound(cold)} |"]
    if pair:
        ratio = max(r["seconds"] for r in pair) / cold_s
        goals.append(f"| two builds at once / one alone | {ratio:.2f}× | ≤ {GOALS['two at once']}× | "
                     f"{verdict(ratio <= GOALS['two at once'])} |")
    speed = []
    if busy:
        speed = ["", f"Published speed-ups: the quiet build (cold 1; load average {quiet_results['build_load']:.1f} "
                     f"as it started, the original trainer got {quiet_results['gd_cpu_share']:.0%} of a core) and the "
                     f"busy one (two busy loops on {quiet_results['build_cpus']} CPUs; load average "
                     f"{busy_results['build_load']:.1f}, {busy_results['gd_cpu_share']:.0%} of a core):", "",
                 "| speed-up | quiet build | busy build | busy / quiet |", "| --- | ---: | ---: | ---: |"]
        worst = 1.0
        for name, value in quiet_speedups.items():
            other = busy_speedups.get(name)
            if other is None:
                speed.append(f"| {name} | {value:.1f}× | missing | |")
                worst = float("inf")
                continue
            ratio = other / value
            worst = max(worst, ratio, 1 / ratio)
            speed.append(f"| {name} | {value:.1f}× | {other:.1f}× | {ratio:.2f} |")
        goals.append(f"| every published speed-up, busy vs quiet | within {worst:.2f}× | within "
                     f"{GOALS['busy/quiet']}× | {verdict(worst <= GOALS['busy/quiet'])} |")
    return "\n".join(lines + goals + speed)


if __name__ == "__main__":
    main()
