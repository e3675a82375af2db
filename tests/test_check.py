"""`nnfs check`: a library of deliberately wrong networks, each with its exact diagnosis.

The library is generated from two templates in tests/data/check/, one in the
Kaggle notebook's snake_case style and one in a camelCase copy's style (with
its own argument order and names). Each {{SLOT}} is filled with the right code
or with one known mistake; every mistake is tested alone and in combinations,
in both styles, as a .py file and as an .ipynb notebook.
"""

import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

from conftest import ROOT
from nnfs.check import DIAGNOSES, FAIL, PASS, SKIPPED, CheckConfig, Progress, check_file
from nnfs.cli import main

TEMPLATES = ROOT / "tests" / "data" / "check"

# mistake -> slot -> (right, wrong), per style; the softmax slot depends on two mistakes at once
SOFTMAX = {
    (False, False): "E = np.exp(Z - np.max(Z, axis=0, keepdims=True)); A = E / np.sum(E, axis=0, keepdims=True)",
    (True, False): "A = np.exp(Z) / sum(np.exp(Z))",                                  # the Kaggle original
    (False, True): "E = np.exp(Z - np.max(Z, axis=1, keepdims=True)); A = E / np.sum(E, axis=1, keepdims=True)",
    (True, True): "A = np.exp(Z) / np.sum(np.exp(Z), axis=1, keepdims=True)",
}
SLOTS = {
    "kaggle": {
        "one-hot-size": {"N_CLASSES": ("10", "Y.max() + 1")},
        "one-hot-transposed": {"ONE_HOT_T": (".T", "")},
        "batch-m": {"M": ("m = Y.size", "")},
        "db-sum": {"DB2": ("np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2)"),
                   "DB1": ("np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1)")},
        "transposed-w2": {"W2T": ("W2.T", "W2")},
        "relu-gate": {"GATE": (" * ReLU_deriv(Z1)", "")},
        "update-sign": {"SIGN": ("-", "+")},
    },
    "camel": {
        "one-hot-size": {"N_CLASSES": ("10", "np.max(Y) + 1")},
        "one-hot-transposed": {"ONE_HOT_T": (".T", "")},
        "batch-m": {"M": ("m = X.shape[1]", "")},
        "db-sum": {"DB2": ("np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2)"),
                   "DB1": ("np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1)")},
        "transposed-w2": {"W2T": ("W2.T", "W2")},
        "relu-gate": {"GATE": (" * derivReLU(Z1)", "")},
        "update-sign": {"SIGN": ("-", "+")},
    },
}
MISTAKES = ("softmax-overflow", "softmax-axis", *SLOTS["kaggle"])
BACKWARD = ("db-sum", "batch-m", "transposed-w2", "relu-gate")  # a tuple: test ids stay the same run to run
KAGGLE_ORIGINAL = ("softmax-overflow", "one-hot-size", "batch-m", "db-sum")


def source(style, mistakes=()):
    """The template of `style` with `mistakes` made and everything else right."""
    assert set(mistakes) <= set(MISTAKES), mistakes
    text = (TEMPLATES / f"{style}.py.tmpl").read_text()
    fills = {"SOFTMAX": SOFTMAX["softmax-overflow" in mistakes, "softmax-axis" in mistakes]}
    for mistake, slots in SLOTS[style].items():
        for slot, (right, wrong) in slots.items():
            fills[slot] = wrong if mistake in mistakes else right
    text = re.sub(r"\{\{(\w+)\}\}", lambda match: fills[match[1]], text)
    assert "{{" not in text
    return text


def notebook(text):
    """A Kaggle-like .ipynb of `text`: one code cell per `# %%`, a markdown cell and IPython magics."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# My MNIST network\n"]}]
    for i, chunk in enumerate(text.split("# %%\n")):
        if i == 1:
            chunk = "%matplotlib inline\n!ls /kaggle/input\n" + chunk
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": chunk.splitlines(keepends=True)})
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 4})


def write(tmp_path, style, mistakes=(), suffix=".py"):
    text = source(style, mistakes)
    path = tmp_path / f"{style}-{'-'.join(sorted(mistakes)) or 'right'}{suffix}"
    path.write_text(notebook(text) if suffix == ".ipynb" else text)
    return path


def expected(mistakes):
    """The exact diagnoses: with a transposed one-hot, backward cannot run, so its mistakes stay unseen."""
    found = set(mistakes)
    if "one-hot-transposed" in found:
        found -= set(BACKWARD)
    return found


def by_name(report):
    return {r.name: r for r in report.results}


# ---- right implementations pass --------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
@pytest.mark.parametrize("style", ["kaggle", "camel"])
def test_a_right_implementation_passes_every_check(tmp_path, style, suffix):
    report = check_file(write(tmp_path, style, (), suffix))
    assert [r.line() for r in report.results if r.status != PASS] == []
    assert report.exit_status == 0 and report.diagnoses == []
    assert len(report.results) == 18
    assert report.style == {"kaggle": "Kaggle notebook names", "camel": "camelCase names"}[style]
    assert report.missing == []


def test_nnfs_itself_passes_in_the_nnfs_style():
    report = check_file(ROOT / "nnfs" / "network.py")
    assert report.style == "nnfs names"
    assert [r.line() for r in report.results if r.status == FAIL] == []
    assert report.found["forward"] == "forward" and report.found["backward"] == "backward"
    assert report.found["init"] == "init_params" and report.found["one_hot"] == "one_hot"
    assert report.exit_status == 0


# ---- each mistake alone, then in combinations ------------------------------------------------


@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
@pytest.mark.parametrize("style", ["kaggle", "camel"])
@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_alone_gets_its_exact_diagnosis(tmp_path, mistake, style, suffix):
    report = check_file(write(tmp_path, style, (mistake,), suffix))
    assert set(report.diagnoses) == {mistake}, report.text()
    assert report.exit_status == 1
    failed = [r for r in report.results if r.status == FAIL]
    assert all(f"({DIAGNOSES[mistake].replace('.md#', ' #')})" in r.reason
               for r in failed if mistake in r.diagnoses)


COMBINATIONS = [KAGGLE_ORIGINAL, BACKWARD, ("transposed-w2", "relu-gate"),
                tuple(m for m in MISTAKES if m != "one-hot-transposed"), MISTAKES]


@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
@pytest.mark.parametrize("style", ["kaggle", "camel"])
@pytest.mark.parametrize("mistakes", COMBINATIONS, ids="+".join)
def test_combinations_get_every_diagnosis(tmp_path, mistakes, style, suffix):
    report = check_file(write(tmp_path, style, mistakes, suffix))
    assert set(report.diagnoses) == expected(mistakes), report.text()
    assert report.exit_status == 1


@pytest.mark.slow
@pytest.mark.parametrize("mistakes", list(itertools.combinations(MISTAKES, 2)), ids="+".join)
def test_every_pair_of_mistakes(tmp_path, mistakes):
    for style in ("kaggle", "camel"):
        report = check_file(write(tmp_path, style, mistakes))
        assert set(report.diagnoses) == expected(mistakes), report.text()


# ---- the words of a diagnosis ----------------------------------------------------------------


def test_the_kaggle_original_reads_as_the_errata_say(tmp_path):
    report = check_file(write(tmp_path, "kaggle", KAGGLE_ORIGINAL))
    lines = by_name(report)
    assert lines["backward: db2 vs finite differences"].reason.endswith(
        "db2 is one number for all ten biases: you summed dZ2 over the whole matrix; "
        "sum each row, dZ2.sum(axis=1, keepdims=True) / m (errata #db-sum)")
    scale = lines["backward: gradient scale as the batch doubles"]
    assert scale.status == FAIL and "twice as large" in scale.reason and "(your m is a global)" in scale.reason
    assert scale.reason.endswith("(errata #batch-m)")
    assert "is divided by 5,000, not by this batch's m = 32 columns" in lines[
        "backward: dW1 vs finite differences"].reason
    assert lines["softmax: finite at logits near 1000"].reason.endswith("(errata #softmax-overflow)")
    assert "global m: set by top-level code we do not run" in report.text()
    assert "imports not loaded: pandas, matplotlib" in report.text()


def test_a_transposed_one_hot_is_named_as_the_cause_when_backward_fails(tmp_path):
    lines = by_name(check_file(write(tmp_path, "kaggle", ("one-hot-transposed",))))
    shapes = lines["backward: shapes"]
    assert shapes.status == FAIL and shapes.diagnoses == ()
    assert re.fullmatch(r"backward_prop raised ValueError: operands could not be broadcast together with shapes "
                        r"\(10,32\) \(32,10\) \(line \d+\); one_hot's layout, above, is the likely cause",
                        shapes.reason), shapes.reason
    assert lines["backward: dW1 vs finite differences"].status == SKIPPED


def test_a_transposed_w2_is_found_although_the_shapes_agree(tmp_path):
    report = check_file(write(tmp_path, "kaggle", ("transposed-w2",)))
    lines = by_name(report)
    assert lines["backward: shapes"].status == PASS            # 10 hidden units: W2 and W2.T are both 10 x 10
    for name in ("dW1", "db1"):
        assert "dZ1 uses W2 where it needs W2.T" in lines[f"backward: {name} vs finite differences"].reason
    for name in ("dW2", "db2"):
        assert lines[f"backward: {name} vs finite differences"].status == PASS


def test_every_cited_anchor_exists_on_its_page():
    for diagnosis, link in DIAGNOSES.items():
        page, anchor = link.split("#")
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        headings = re.findall(r"^#+ (.+)$", text, re.M)
        anchors = {slugify(re.sub(r"\s*\{.*\}\s*$", "", h), "-") for h in headings}
        anchors |= set(re.findall(r"\{[^}]*#([\w-]+)[^}]*\}", text))
        assert anchor in anchors, f"{diagnosis}: {page} has no #{anchor}"


# ---- never run the reader's top level --------------------------------------------------------


def test_the_top_level_is_never_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.py"
    path.write_text(source("kaggle") + f"""
import os
open({str(marker)!r}, "w").write("top level ran")
os.system("touch {marker}")
m = open({str(marker)!r}, "w")

def make_marker(fn):
    open({str(marker)!r}, "w").write("decorator ran")
    return fn

@make_marker
def decorated():
    pass

def default_value(x=open({str(marker)!r}, "w")):
    pass

def annotated(x: open({str(marker)!r}, "w")) -> open({str(marker)!r}, "w"):
    return x

class Body:
    open({str(marker)!r}, "w").write("class body ran")

if __name__ == "__main__":
    open({str(marker)!r}, "w").write("main ran")
raise SystemExit("the top level ran")
""")
    report = check_file(path)
    assert not marker.exists()
    assert report.exit_status == 0, report.text()
    assert "unsupported" not in report.text()  # decorated/default_value are not functions nnfs check knows
    assert any("function decorated: has decorators" in s for s in report.skipped)
    assert any("function default_value: has a default value" in s for s in report.skipped)
    assert any("raise SystemExit" in s for s in report.skipped)


def test_imports_outside_the_allow_list_are_not_loaded(tmp_path):
    path = tmp_path / "imports.py"
    path.write_text("import numpy as np\nimport os, antigravity\nfrom subprocess import run\n\n"
                    "def softmax(Z):\n    E = np.exp(Z - Z.max(axis=0))\n    return E / E.sum(axis=0)\n")
    report = check_file(path)
    assert report.skipped_imports == ["os", "antigravity", "subprocess"]
    assert by_name(report)["softmax: columns sum to 1"].status == PASS


# ---- clear one-line errors -------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_syntax_error_is_one_line_naming_the_line(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("import numpy as np\n\ndef softmax(Z)\n    return Z\n")
    code, out, err = run(capsys, "check", path)
    assert code == 2 and out == ""
    assert err == f"nnfs: error: {path}: line 3: syntax error: expected ':'\n"


def test_a_syntax_error_in_a_notebook_names_the_cell(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    path.write_text(notebook("import numpy as np\n# %%\nx = 1\n\ndef softmax(Z) return Z\n"))
    code, out, err = run(capsys, "check", path)
    assert code == 2
    assert err == f"nnfs: error: {path}: cell 3, line 5: syntax error: expected ':'\n"


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not a notebook: invalid JSON at line 1, column 2"),
    ('{"metadata": {}}', "not a notebook: no 'cells' list"),
])
def test_unreadable_notebooks_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "nb.ipynb"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "check", path)
    assert (code, out) == (2, "")
    assert err == f"nnfs: error: {path}: {message}\n"


def test_a_file_with_none_of_the_functions_exits_2(tmp_path, capsys):
    path = tmp_path / "other.py"
    path.write_text("import numpy as np\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n")
    code, out, err = run(capsys, "check", path)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"nnfs: error: {path}: none of the functions nnfs check knows (init_params, relu, ")
    assert err.endswith("; found sigmoid\n")


def test_missing_functions_are_skipped_with_a_reason(tmp_path, capsys):
    path = tmp_path / "softmax_only.py"
    path.write_text("import numpy as np\n\ndef softmax(Z):\n    E = np.exp(Z - Z.max(axis=0))\n"
                    "    return E / E.sum(axis=0)\n")
    code, out, err = run(capsys, "check", path)
    assert code == 0 and err == ""
    assert "PASS     softmax: columns sum to 1: each column of a (10, 7) input sums to 1\n" in out
    assert "SKIPPED  backward: dW1 vs finite differences: no backward function found\n" in out
    assert "missing: init (looked for init_params / initiateParameters / initParams), relu " in out
    assert out.rstrip().endswith("16 checks: 2 passed, 0 failed, 14 skipped")


def test_a_function_that_raises_is_one_failed_line_naming_its_line(tmp_path):
    text = source("kaggle").replace("    Z1 = W1.dot(X) + b1\n", "    Z1 = W1.dot(X) + b1\n    1 / 0\n")
    path = tmp_path / "raises.py"
    path.write_text(text)
    line = text.splitlines().index("    1 / 0") + 1
    lines = by_name(check_file(path))
    assert lines["forward: Z1, A1, Z2, A2"].line() == (
        f"FAIL     forward: Z1, A1, Z2, A2: forward_prop raised ZeroDivisionError: division by zero (line {line})")
    # the backward pass is still checked, on the right forward values
    assert lines["backward: dW1 vs finite differences"].status == PASS
    assert "through nnfs.forward, since your forward failed" in lines["backward: dW1 vs finite differences"].reason


def test_a_function_that_never_returns_is_stopped(tmp_path):
    path = tmp_path / "loops.py"
    path.write_text("import numpy as np\n\ndef softmax(Z):\n    while True:\n        pass\n")
    report = check_file(path, CheckConfig(time_limit=0.5))
    assert by_name(report)["softmax: columns sum to 1"].line() == (
        "FAIL     softmax: columns sum to 1: softmax took longer than 0.5 s")


def test_labels_may_arrive_one_hot(tmp_path):
    text = source("kaggle").replace("    one_hot_Y = one_hot(Y)\n", "    one_hot_Y = Y\n").replace("m = Y.size", "m = X.shape[1]")
    path = tmp_path / "one_hot_labels.py"
    path.write_text(text)
    report = check_file(path)
    assert "(labels one-hot (10, m))" in by_name(report)["backward: shapes"].reason
    assert report.exit_status == 0, report.text()


# ---- the command line ------------------------------------------------------------------------


def test_json_output(tmp_path, capsys):
    path = write(tmp_path, "kaggle", ("update-sign",))
    code, out, err = run(capsys, "check", "--json", path)
    result = json.loads(out)
    assert code == result["exit_status"] == 1
    assert result["diagnoses"] == ["update-sign"]
    [update] = [c for c in result["checks"] if c["role"] == "update"]
    assert update["status"] == FAIL and update["diagnoses"] == [{"id": "update-sign", "link": "backprop.md#the-update"}]
    assert result["counts"][PASS] + result["counts"][FAIL] + result["counts"][SKIPPED] == len(result["checks"])
    assert result["found"]["backward"] == "backward_prop" and result["globals_given"] == {}


def test_the_readers_prints_do_not_reach_the_output(tmp_path, capsys):
    path = write(tmp_path, "kaggle")                 # its get_accuracy prints the predictions
    code, out, err = run(capsys, "check", "--json", path)
    assert code == 0 and json.loads(out)["exit_status"] == 0


def test_python_m_nnfs_check_runs_in_a_subprocess(tmp_path):
    path = write(tmp_path, "camel", ("db-sum",), ".ipynb")
    result = subprocess.run([sys.executable, "-m", "nnfs", "check", str(path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1 and result.stderr == ""
    assert "(camelCase names)" in result.stdout and "(errata #db-sum)" in result.stdout


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_drawn_only_for_a_slow_step_on_a_terminal():
    import time

    terminal, pipe = FakeTerminal(), io.StringIO()
    with Progress(terminal, delay=0.2)("quick step"):
        pass
    with Progress(terminal, delay=0.2)("slow step"):
        time.sleep(0.6)
    with Progress(pipe, delay=0.0)("piped step"):
        time.sleep(0.3)
    assert "quick step" not in terminal.getvalue()
    assert re.search(r"\r\x1b\[K[|/\\-] slow step \d+\.\ds", terminal.getvalue())
    assert terminal.getvalue().endswith("\r\x1b[K")           # the line is cleared when the step ends
    assert pipe.getvalue() == ""


# ---- the page ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_shows_the_checkers_real_output(built_site):
    import html as html_module

    html = (built_site / "build-it-yourself" / "index.html").read_text(encoding="utf-8")
    text = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    starter = check_file(ROOT / "docs" / "assets" / "starter.py", display="starter.py")
    for result in starter.results:                    # every line of the report, as this checker gives it
        assert result.line() in text
    assert html.count('<details class="success"') == 4  # one collapsed solution per exercise
    for link in DIAGNOSES.values():                   # the table of mistakes links to headings that exist
        page, anchor = link.split(".md#")
        assert f'href="../{page}/#{anchor}"' in html
        assert f'id="{anchor}"' in (built_site / page / "index.html").read_text(encoding="utf-8")
    assert 'download="starter.py"' in html
    assert (built_site / "assets" / "starter.py").read_bytes() == (ROOT / "docs" / "assets" / "starter.py").read_bytes()
