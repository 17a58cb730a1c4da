"""A Sphinx extension that offers each chapter as a Jupyter notebook in
the page's download menu.

The chapters are MyST markdown notebooks. For every page that is one,
the page context names `<page>.ipynb` as its `ipynb_source`, for which
sphinx-book-theme adds an ".ipynb" entry to the download menu, and when
the build finishes jupytext converts the chapter into that file under
`_sources/`, without outputs: a student opens it in any Jupyter, or
uploads it to Colab, and runs it. (With launch buttons on, the theme
copies MyST-NB's executed notebook to the same place while it writes
each page; the conversion written at the end replaces it.) Loaded
through `sphinx: local_extensions` in _config.yml; pages that are not
notebooks (no kernelspec in their front matter) get no entry."""

from pathlib import Path

import jupytext


def chapter_source(app, pagename):
    """The chapter's MyST file if the page is a notebook, else None."""
    if pagename not in app.env.found_docs:
        return None
    source = Path(app.env.doc2path(pagename))
    front_matter = (
        source.read_text().split("\n---\n", 1)[0]
        if source.suffix == ".md"
        else ""
    )
    return source if "kernelspec:" in front_matter else None


def name_the_notebook(app, pagename, templatename, context, doctree):
    if chapter_source(app, pagename) is not None:
        context["ipynb_source"] = f"{pagename}.ipynb"


def write_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for pagename in sorted(app.env.found_docs):
        source = chapter_source(app, pagename)
        if source is not None:
            target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            jupytext.write(jupytext.read(source), target, fmt="ipynb")


def setup(app):
    # Before the theme builds its header buttons (priority 501), which
    # read ipynb_source.
    app.connect("html-page-context", name_the_notebook, priority=500)
    app.connect("build-finished", write_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
