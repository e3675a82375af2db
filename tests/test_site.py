"""The site builds strictly, and the build fails on what would make the docs lie."""

import json
import re
import shutil

import numpy as np
import pytest

from conftest import ROOT, mkdocs_build

pytestmark = pytest.mark.slow

PAGES = ["index", "data", "neurons", "forward", "softmax", "loss", "backprop", "shapes", "errata", "use-it",
         "notebooks/training", "notebooks/results", "notebooks/going_further", "playground"]


def page_html(site, page):
    return (site / ("index.html" if page == "index" else f"{page}/index.html")).read_text(encoding="utf-8")


def test_every_page_is_built(built_site):
    for page in PAGES:
        assert len(page_html(built_site, page)) > 1000, page


def test_no_placeholder_or_raw_math_is_left(built_site):
    for page in PAGES:
        text = re.sub(r"<(script|style|code|pre)\b.*?</\1>", "", page_html(built_site, page), flags=re.S)
        assert "{{" not in text, page
        assert "$$" not in text and "\\(" not in text and "\\[" not in text, page


def test_math_is_svg_with_mathml(built_site):
    for page in ["index", "neurons", "forward", "softmax", "loss", "backprop", "notebooks/training"]:
        html = page_html(built_site, page)
        assert len(re.findall(r'class="math-(?:inline|display)" data-tex="[^"]*"><svg ', html)) >= 2, page
        assert html.count("<math ") >= 2, page  # hidden, for screen readers


def test_home_page_shows_the_build_accuracy(built_site):
    results = json.loads((built_site / "generated" / "results.json").read_text())
    assert f"{results['dev_accuracy']:.1%}" in page_html(built_site, "index")
    assert (built_site / "generated" / "predictions.png").stat().st_size > 1000


def page_text(site, page):
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    import html

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html(site, page), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_one_run_one_figure_on_every_page(built_site):
    """Issue 12, item 9: the original trainer is timed once per build, and Home, Training and
    Going further all quote that figure, with the machine and load it was measured under."""
    results = json.loads((built_site / "generated" / "results.json").read_text())
    gd = results["gd_seconds"]
    home = page_text(built_site, "index")
    assert f"against {gd:.1f} s for the original algorithm: {results['fast_vs_gd']}." in home
    assert results["build_conditions"] in home
    training = page_text(built_site, "notebooks/training")
    assert f"training time: {gd:.1f} CPU seconds (the site build's one timed run of it" in training
    assert re.search(rf"\b1000 [0-9.]+ [0-9.]+% [0-9.]+% {gd:.1f}\b", training), "checkpoint table, iteration 1000"
    further = page_text(built_site, "notebooks/going_further")
    row = re.search(r"original TrainConfig\(\) [0-9.]+% ([0-9.]+) ([0-9.]+)×", further)
    assert row and row.group(1) == f"{gd:.2f}" and row.group(2) == "1.0"
    assert results["build_conditions"] in further


def test_prose_on_the_wide_network_follows_its_speed_up(built_site):
    further = page_text(built_site, "notebooks/going_further")
    sentence = re.search(r"The 128-unit run without shifts trained for [0-9.]+ times as long as the same run "
                         r"with 10 units\. (Mini-batches still keep the run short|That cost eats most|That cost outweighs)"
                         r"[^×]*? ([0-9.]+) times (faster|as long)", further)
    assert sentence, "the generated sentence on the 128-unit run is missing"
    row = re.search(r"128 hidden fast\(n_hidden=128, shift=False\) [0-9.]+% [0-9.]+ ([0-9.]+)×", further)
    speedup = float(row.group(1))
    expected = ("Mini-batches still keep the run short" if speedup >= 2 else
                "That cost eats most" if speedup >= 1 else "That cost outweighs")
    assert sentence.group(1) == expected


def test_prose_on_the_learning_rates_follows_their_table(built_site):
    """Training's sentence on the largest learning rate: how many hidden units died, as the
    table counts them (it once said all of them had died when 3 of 10 were still alive)."""
    training = page_text(built_site, "notebooks/training")
    rows = re.findall(r"\b([0-9.]+) ([0-9.]+) [0-9.]+% [0-9.]+% (?:never|\d+) (\d+)\b",
                      training[training.index("live hidden units α"):])[:5]
    assert len(rows) == 5, "the learning-rate table is missing"
    alpha, loss, live = rows[-1]
    dead = 10 - int(live)
    expected = (f"all 10 of its hidden units died, and its loss of {loss}" if dead == 10 else
                f"{dead} of its 10 hidden units died. The {live} still alive keep its loss of {loss}" if dead else
                f"none of its hidden units died, and its loss ended at {loss}")
    assert f"With the largest, α = {float(alpha):g}, {expected}" in training


def test_playground_model_is_the_build_model(built_site):
    """The exported JSON holds the weights the build trained, not a separate model."""
    from threadpoolctl import threadpool_limits

    import nnfs
    from nnfs.data import load_dataset, train_dev_split

    exported = json.loads((built_site / "generated" / "model.json").read_text())
    dataset = load_dataset("sample")
    X_train, Y_train, X_dev, Y_dev = train_dev_split(dataset.X, dataset.Y, dev_size=1000, rng=np.random.default_rng(0))
    with threadpool_limits(1, user_api="blas"):  # as in the build: float32 sums round by thread count
        params, _ = nnfs.gradient_descent(X_train, Y_train, nnfs.TrainConfig())
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(np.asarray(exported[name], np.float32).reshape(params[name].shape), params[name])


def test_no_page_loads_anything_from_another_host(built_site):
    loads = re.compile(r'<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc="(https?://[^"]+)"'
                       r'|<link\b[^>]*\bhref="(https?://[^"]+)"|import\(\s*"(https?://[^"]+)"')
    for html in built_site.rglob("*.html"):
        for match in loads.finditer(html.read_text(encoding="utf-8")):
            assert False, f"{html.relative_to(built_site)} loads {''.join(g for g in match.groups() if g)}"
    for css in built_site.rglob("*.css"):
        assert "fonts.googleapis" not in css.read_text(encoding="utf-8"), css


# ---- the build must fail when the docs would lie ------------------------------------------


@pytest.fixture
def project_copy(tmp_path, built_site):
    """A copy of the project, with the build caches, that a test may break."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("mkdocs.yml", "docs", "nnfs", "overrides", ".cache"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, copy / name)
    return copy


def test_copy_builds(project_copy, tmp_path):
    result = mkdocs_build(project_copy, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]


def test_removed_snippet_section_fails_the_build(project_copy, tmp_path):
    network = project_copy / "nnfs" / "network.py"
    text = network.read_text()
    assert "# --8<-- [start:softmax]" in text
    network.write_text(text.replace("# --8<-- [start:softmax]\n", "").replace("# --8<-- [end:softmax]\n", ""))
    result = mkdocs_build(project_copy, tmp_path / "site")
    assert result.returncode != 0
    assert "softmax" in result.stderr


# Each breakage appends text to a file; the build must fail and say what is wrong.
BREAKAGES = {
    "failing notebook cell": ("docs/notebooks/training.py",
                              '\n# %%\nraise RuntimeError("this cell fails on purpose")\n', "this cell fails on purpose"),
    "broken internal link": ("docs/softmax.md",
                             "\nSee [a page that does not exist](no-such-page.md).\n", "no-such-page.md"),
    "unknown placeholder": ("docs/loss.md", "\nAccuracy: {{ no_such_number:.1% }}\n", "no_such_number"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_breakage_fails_the_build(breakage, project_copy, tmp_path):
    name, added, message = BREAKAGES[breakage]
    path = project_copy / name
    path.write_text(path.read_text() + added)
    result = mkdocs_build(project_copy, tmp_path / "site")
    assert result.returncode != 0
    assert message in result.stderr
    again = mkdocs_build(project_copy, tmp_path / "again")   # nothing of a failed build is kept as good
    assert again.returncode != 0 and message in again.stderr


def test_every_executed_block_ran_in_a_job_or_came_from_the_cache(built_site):
    """On a cold build (CI's clean clone) exec_job.py runs each Markdown page's blocks in a
    job of its own, under the keys the build computes: mkdocs' own process runs none."""
    log = (built_site.parent / "build.log").read_text()
    found = re.search(r"nnfs: executed blocks: (\d+) from the cache, (\d+) run", log)
    converted = re.search(r"(\d+) Markdown pages converted", log)
    assert found and converted, log[-3000:]
    assert found.group(2) == "0"
    assert int(found.group(1)) > 50 or converted.group(1) == "0"   # or every page's HTML came from nnfs_cache


def test_pages_were_rendered_while_the_jobs_ran(built_site):
    """On a cold build mkdocs renders each page as soon as the jobs it needs are done, beside
    the others, instead of waiting for all of them first (nnfs_site.on_pre_page)."""
    import os

    log = (built_site.parent / "build.log").read_text()
    found = re.search(r"nnfs: \d+ jobs on .* mkdocs rendered (\d+) pages meanwhile", log)
    if found is None and os.environ.get("CI", "").strip().lower() in ("", "0", "false", "no"):
        pytest.skip("the session's build was warm (.cache from an earlier run): no jobs ran; CI's clean clone is cold")
    assert found, log[-3000:]
    assert int(found.group(1)) >= 5


def test_the_site_publishes_exactly_what_the_pipeline_lists(built_site):
    """nnfs_site adds pipeline.py's OUTPUTS to the site before the pipeline has written them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("nnfs_site_outputs", ROOT / "overrides" / "hooks" / "nnfs_site.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert sorted(p.name for p in (built_site / "generated").iterdir()) == sorted(hook.pipeline_outputs())


def test_nothing_set_aside_is_left_in_a_page(built_site):
    """nnfs_math sets SVGs, styles and images aside while the search plugin reads a page."""
    for html in built_site.rglob("*.html"):
        assert "nnfs-aside:" not in html.read_text(encoding="utf-8"), html.relative_to(built_site)
    index = (built_site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "<svg" not in index and "nnfs-aside" not in index and "base64," not in index


def test_search_entries_from_the_cache_equal_a_fresh_parse(project_copy, tmp_path):
    """nnfs_cache reuses a page's search entries only while the page is unchanged."""
    word = "zyzzogeton"                       # in no page yet
    softmax = project_copy / "docs" / "softmax.md"
    softmax.write_text(softmax.read_text() + f"\nA prose edit: {word}.\n")
    cached = mkdocs_build(project_copy, tmp_path / "cached")
    assert cached.returncode == 0, cached.stderr[-3000:]
    assert re.search(r"nnfs_cache: \d+ pages indexed for search from the cache, 1 parsed", cached.stderr)
    shutil.rmtree(project_copy / ".cache" / "search")
    fresh = mkdocs_build(project_copy, tmp_path / "fresh")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    index = (tmp_path / "cached" / "search" / "search_index.json").read_text(encoding="utf-8")
    assert word in index
    assert index == (tmp_path / "fresh" / "search" / "search_index.json").read_text(encoding="utf-8")


def test_markdown_pages_from_the_cache_equal_fresh_conversions(project_copy, tmp_path):
    """nnfs_cache converts a Markdown page again only when something it depends on changed,
    and a page read from the cache is byte for byte the page mkdocs converts without it."""
    softmax = project_copy / "docs" / "softmax.md"
    softmax.write_text(softmax.read_text() + "\nA prose edit: zyzzogeton.\n")
    cached = mkdocs_build(project_copy, tmp_path / "cached")
    assert cached.returncode == 0, cached.stderr[-3000:]
    assert "1 Markdown pages converted, 14 from the cache" in cached.stderr   # the edited page alone
    shutil.rmtree(project_copy / ".cache" / "pages")
    fresh = mkdocs_build(project_copy, tmp_path / "fresh")
    assert "15 Markdown pages converted, 0 from the cache" in fresh.stderr
    pages = sorted(p.relative_to(tmp_path / "fresh") for p in (tmp_path / "fresh").rglob("*.html"))
    assert len(pages) > 15 and "zyzzogeton" in (tmp_path / "cached" / "softmax" / "index.html").read_text()
    for page in pages:
        assert (tmp_path / "cached" / page).read_bytes() == (tmp_path / "fresh" / page).read_bytes(), page

    starter = project_copy / "docs" / "assets" / "starter.py"   # a file a page quotes through a snippet
    starter.write_text(starter.read_text().replace("# --8<-- [start:softmax]\n",
                                                   "# --8<-- [start:softmax]\n# zyzzogeton was here\n"))
    quoted = mkdocs_build(project_copy, tmp_path / "quoted")
    assert quoted.returncode == 0, quoted.stderr[-3000:]
    assert "zyzzogeton was here" in (tmp_path / "quoted" / "build-it-yourself" / "index.html").read_text()


def test_a_warm_build_imports_no_notebook_machinery(project_copy, tmp_path):
    """nnfs_jupyter.py serves the notebook pages from the jobs' stored pages: a warm build never
    imports mkdocs-jupyter, nbconvert or jupytext (1.3 s, over half of a warm rebuild)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from mkdocs.commands.build import build\n"
            "from mkdocs.config import load_config\n"
            f"build(load_config('mkdocs.yml', site_dir={str(tmp_path / 'site')!r}))\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'mkdocs_jupyter', 'nbconvert', 'jupytext'}))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=project_copy, capture_output=True, text=True,
                            env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
    page = (tmp_path / "site" / "notebooks" / "training" / "index.html").read_text(encoding="utf-8")
    assert "<title>Training - " in page and 'href="training.py"' in page
    assert (tmp_path / "site" / "notebooks" / "training" / "training.py").is_file()
