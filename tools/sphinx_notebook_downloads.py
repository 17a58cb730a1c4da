"""A Sphinx extension that offers each chapter as a Jupyter notebook in the page's download menu.

The chapters are MyST markdown notebooks. When a page is written, jupytext converts its chapter into an
`.ipynb` (without outputs: a student runs it) beside the page's copied source in `_sources/`, and the
page context names it as `ipynb_source`, for which sphinx-book-theme adds an ".ipynb" entry to its download
menu. A student can then open the chapter in any Jupyter, or upload it to Colab, without the repository.
Loaded through `sphinx: local_extensions` in _config.yml; pages that are not notebooks (no kernelspec in
their front matter) get no entry.
"""
from pathlib import Path

import jupytext


def chapter_source(app, pagename):
    """The chapter's MyST file if the page is a notebook, else None."""
    if pagename not in app.env.found_docs:
        return None
    source = Path(app.env.doc2path(pagename))
    front_matter = source.read_text().split("\n---\n", 1)[0] if source.suffix == ".md" else ""
    return source if "kernelspec:" in front_matter else None


def offer_notebook(app, pagename, templatename, context, doctree):
    source = chapter_source(app, pagename)
    if source is None:
        return
    name = f"{pagename}.ipynb"
    target = Path(app.outdir) / "_sources" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(source), target, fmt="ipynb")
    context["ipynb_source"] = name


def setup(app):
    # Before the theme builds its header buttons (priority 501), which reads ipynb_source.
    app.connect("html-page-context", offer_notebook, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
