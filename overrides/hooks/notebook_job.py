"""Execute one notebook and store its page for nnfs_jupyter.py, in a process of its own.

`python notebook_job.py NOTEBOOK CACHE_FILE OPTIONS_JSON`

The hook (nnfs_site.py) runs one of these per notebook, several at once, before
mkdocs renders any page. Each does exactly what the mkdocs-jupyter 0.26 plugin does
when it renders a page (`Plugin.on_pre_page`'s `new_render`): `convert.nb2html`, then
the table of contents and title from `_get_nb_toc_tokens`, and stores them as the JSON
file that nnfs_jupyter.py reads. The file is written atomically, so a crash leaves no
half page behind. It also typesets the page's equations into nnfs_math's cache.
OPTIONS_JSON holds mkdocs.yml's extra.notebooks options (nnfs_jupyter.job_options()).
"""

import json
import sys
from pathlib import Path


def main(notebook, cache_file, options):
    from mkdocs_jupyter import convert
    from mkdocs_jupyter.plugin import _get_nb_toc_tokens

    content = convert.nb2html(
        notebook,
        execute=options["execute"],
        kernel_name=options["kernel_name"],
        theme=options["theme"],
        allow_errors=options["allow_errors"],
        show_input=options["show_input"],
        no_input=options["no_input"],
        no_prompt=options["no_prompt"],
        remove_tag_config=options["remove_tag_config"],
        highlight_extra_classes=options["highlight_extra_classes"],
        include_requirejs=options["include_requirejs"],
        custom_mathjax_url=options["custom_mathjax_url"],
    )
    toc_tokens, title = _get_nb_toc_tokens(notebook, options["toc_depth"])
    import nnfs_math  # this folder is sys.path[0]

    nnfs_math.typeset_page(content, Path(notebook).name)   # the page's equations, into the math cache
    cache = Path(cache_file)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.tmp")
    tmp.write_text(json.dumps({"content": content, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
    tmp.replace(cache)


if __name__ == "__main__":
    notebook, cache_file, options = sys.argv[1:]
    main(notebook, cache_file, json.loads(options))
