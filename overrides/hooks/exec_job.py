"""Run the executed blocks of every Markdown page into the exec cache, in a process of its own.

`python exec_job.py MKDOCS_YML`

On a cold build the hook starts this next to the pipeline and the notebooks, so the
Markdown pages' blocks (markdown-exec) run on a core of their own instead of one
after another in mkdocs' process once the jobs are done. It loads the same
configuration as the build, runs every plugin's on_config (markdown-exec registers
its fences there; nnfs_site's on_config, seeing NNFS_SITE_EXEC_JOB, only installs the
exec cache), and converts each Markdown page, in the build's page order, with the
build's Markdown extensions. Each block's output lands in the cache under the very
key the build computes, so the build finds it there. A block whose key differs in the
build (say, a {{ placeholder }} inside its code) simply runs again in the build.
It also typesets each page's equations into nnfs_math's cache, the same way.
"""

import os
import sys

EXEC_JOB_ENV = "NNFS_SITE_EXEC_JOB"


def warm_up(calls):
    """Before jobs.py forks this job: import what it needs, start MathJax."""
    import markdown  # noqa: F401
    import mkdocs.config  # noqa: F401
    import mkdocs.structure.files  # noqa: F401
    import nnfs_math

    nnfs_math.start()


def main(config_file):
    import markdown
    import nnfs_math  # this folder is sys.path[0]
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    os.environ[EXEC_JOB_ENV] = "1"
    config = load_config(config_file)
    config = config.plugins.on_config(config)
    for file in get_files(config).documentation_pages():
        if not file.src_uri.endswith(".md"):
            continue
        source = file.content_string
        if source.startswith("---"):  # YAML front matter is not Markdown
            source = source.split("---", 2)[-1]
        md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
        nnfs_math.typeset_page(md.convert(source), file.src_uri)   # fills the math cache too


if __name__ == "__main__":
    main(sys.argv[1])
