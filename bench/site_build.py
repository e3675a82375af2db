"""Site build budgets: a cold `mkdocs build --strict` and a warm rebuild after a prose edit.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/site_build.py

Works on a throw-away copy of the project, so the repository's own caches are
neither used nor disturbed:

1. cold: empty caches, so the build trains the network and executes every notebook;
2. warm: one sentence of docs/softmax.md changed, caches kept: no training, no
   notebook runs, only Markdown;
3. code: one comment in nnfs/network.py changed: the cache key changes, so the build
   retrains and re-executes the notebooks (it must, or outputs would go stale).

Targets on the 2-core machine: cold under 90 s, warm under 5 s. The third row shows
that an edit to nnfs/ really invalidates the caches (it costs about as much as cold).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import readme  # bench/ is on sys.path when this file is run as a script

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 90.0, "warm (prose edit)": 5.0}


def build(project):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(project / "site")],
                            cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if result.returncode:
        sys.exit(f"build failed in {project}:\n{result.stderr[-4000:]}")
    return seconds, result.stderr.count("Converting notebook"), "nnfs: training" in result.stderr


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-code-edit", action="store_true", help="skip the third (slow) build")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        for name in ("mkdocs.yml", "docs", "nnfs", "overrides"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
        rows = [("cold", *build(project))]
        edit(project / "docs" / "softmax.md", "# Softmax", "# Softmax (edited)")
        rows.append(("warm (prose edit)", *build(project)))
        if not args.skip_code_edit:
            edit(project / "nnfs" / "network.py", "# --8<-- [start:imports]", "# edited\n# --8<-- [start:imports]")
            rows.append(("nnfs/ edited", *build(project)))

    lines = ["| build | seconds | notebooks executed | trained | target | |",
             "| --- | ---: | ---: | --- | ---: | --- |"]
    for name, seconds, notebooks, trained in rows:
        target = TARGETS.get(name)
        verdict = "" if target is None else ("PASS" if seconds < target else "MISS")
        lines.append(f"| {name} | {seconds:.1f} | {notebooks} | {'yes' if trained else 'no'} | "
                     f"{'' if target is None else f'< {target:.0f} s'} | {verdict} |")
    cold, warm = rows[0][1], rows[1][1]
    lines.append(f"\nwarm / cold = {warm / cold:.3f}")
    print("\n".join(lines))
    if args.update_readme:
        readme.update_section("site_build", (
            f"Produced by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/site_build.py "
            f"--update-readme` on {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.2f} after "
            f"the run), each a whole `mkdocs build --strict` process on a copy of the project:\n\n"
            + "\n".join(lines)))


if __name__ == "__main__":
    main()
