"""Run the executed blocks of one Markdown page into the exec cache: a job of the build.

`python exec_job.py MKDOCS_YML PAGE` (PAGE as docs/ names it, say softmax.md)

On a cold build the hook starts one of these per Markdown page, next to the pipeline
and the notebooks, so the pages' blocks (markdown-exec) run on the cores the jobs share
instead of one after another in mkdocs' process once the jobs are done. A page whose
blocks wait for a run the pipeline is training (the Home page's fast run) holds up no
other page. Before jobs.py forks these jobs, `warm_up` loads the same configuration as
the build, once, and runs every plugin's on_config (markdown-exec registers its fences
there; nnfs_site's on_config, seeing NNFS_SITE_EXEC_JOB, only installs the exec cache).
Each job then converts its page with the build's Markdown extensions. Every session of
markdown-exec lives on one page, so a page's blocks see the state they see in the build,
and each block's output lands in the cache under the very key the build computes: the
build finds it there. A block whose key differs in the build (say, a {{ placeholder }}
inside its code) simply runs again in the build. The job also typesets the page's
equations into nnfs_math's cache, the same way.
"""

import os
import sys

EXEC_JOB_ENV = "NNFS_SITE_EXEC_JOB"
_config = []   # the build's configuration, loaded once per process


# What every page's conversion loads on first use (pygments' lexers, markdown-exec's own
# Markdown, MathJax's fonts): converted once before the fork, so no job pays for it again.
SAMPLE_PAGE = """\
# A page

Inline $a_{k'}$ and display math:

$$
\\frac{\\partial \\ell}{\\partial z} = a - y
$$

```python
print("highlighted")
```

```bash
nnfs train
```

```js
const x = 1;
```

```python exec="true" source="above" result="text"
print("executed")
```
"""


def warm_up(calls):
    """Before jobs.py forks these jobs: load the configuration (and its plugins), parse the
    sample, start MathJax, and convert SAMPLE_PAGE as a page."""
    import markdown
    import nnfs_math  # this folder is sys.path[0]

    import notebook_job

    config = build_config(calls[0][0])
    notebook_job.load_sample_once()
    nnfs_math.start()
    md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
    nnfs_math.typeset_page(md.convert(SAMPLE_PAGE), "exec_job.py")


def build_config(config_file):
    """mkdocs' configuration after every plugin's on_config, as in the build, once."""
    if not _config:
        from mkdocs.config import load_config

        os.environ[EXEC_JOB_ENV] = "1"
        try:
            config = load_config(config_file)
            _config.append(config.plugins.on_config(config))
        finally:
            del os.environ[EXEC_JOB_ENV]
    return _config[0]


def main(config_file, page):
    import markdown
    import nnfs_math  # this folder is sys.path[0]
    from mkdocs.structure.files import get_files

    config = build_config(config_file)
    file = get_files(config).get_file_from_path(page)
    if file is None:
        raise FileNotFoundError(f"{page}: no such page in {config['docs_dir']}")
    source = file.content_string
    if source.startswith("---"):  # YAML front matter is not Markdown
        source = source.split("---", 2)[-1]
    md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
    nnfs_math.typeset_page(md.convert(source), file.src_uri)   # fills the math cache too


if __name__ == "__main__":
    main(*sys.argv[1:])
