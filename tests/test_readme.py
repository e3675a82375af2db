"""The README's two commands are the ones CI runs and the ones that work."""

import re

from conftest import ROOT


def readme_commands():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_readme_gives_the_site_and_test_commands():
    commands = readme_commands()
    assert 'python -m pip install -e ".[docs]" && mkdocs serve' in commands
    assert 'python -m pip install -e ".[docs,test]" && python -m pytest' in commands


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = next(c for c in readme_commands() if "pytest" in c)
    pip, pytest = test_command.split(" && ")
    assert f"{pip.replace('pip install', 'pip install -q')} && {pytest}" in ci


def test_ci_fails_when_no_test_ran():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$status" -eq 5' in ci
