"""Shared fixtures: the repository root and one strict build of the site per test session."""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mkdocs_build(project_dir, site_dir):
    """Run `mkdocs build --strict` in project_dir; returns the CompletedProcess."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project_dir, env=env, capture_output=True, text=True, timeout=900,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The site, built once per session exactly as a reader's `mkdocs build --strict` would."""
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT, site)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    (site.parent / "build.log").write_text(result.stderr)   # what the build logged, for tests that read it
    return site


def pytest_configure(config):
    """One Hypothesis seed for the whole run (tests/test_fuzz.py), chosen here unless given."""
    try:
        from hypothesis import core
    except ImportError:
        return
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        seed = random.randrange(2 ** 32)
        core.global_force_seed = seed
    config.nnfs_hypothesis_seed = seed


def pytest_report_header(config):
    seed = getattr(config, "nnfs_hypothesis_seed", None)
    if seed is not None:
        return f"hypothesis seed: {seed} (reproduce a fuzz failure with --hypothesis-seed={seed})"


def pytest_terminal_summary(terminalreporter, config):
    """The seed again at the end, where -q output and CI logs show it."""
    seed = getattr(config, "nnfs_hypothesis_seed", None)
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    if seed is not None and any("test_fuzz.py" in report.nodeid for report in reports):
        terminalreporter.write_line(f"hypothesis seed: {seed} (reproduce with --hypothesis-seed={seed})")
