"""A pytest plugin for `make test`: what nbval's run of a chapter printed
becomes the book's output, so the book's build does not run every chapter
a second time.

nbval executes each chapter and keeps every cell's outputs; once a chapter's
cells have all passed, its notebook, outputs filled in, goes into the
jupyter-cache folder named by --outputs-to. The book's build (execute mode
`cache`, the same folder in _config.yml) finds the chapter's code there and
shows those outputs instead of executing it. A chapter with a failed cell is
not cached, and an earlier record of the same code is removed, so the build
executes it itself rather than show outputs that no longer hold.

The outputs are those nbval collects: consecutive prints of a cell merged
into one stream, as a notebook shows them; none of the chapters clears or
updates a displayed output, which nbval would not replay.
"""

from collections import defaultdict

import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from nbval.plugin import IPyNbCell


class _ChapterRun:
    """What nbval's run of one chapter has shown so far."""

    def __init__(self):
        # cells run (or skipped by a tag) that passed
        self.cells_done = set()
        self.failed = False


_runs = defaultdict(_ChapterRun)


def pytest_addoption(parser):
    parser.addoption(
        "--outputs-to",
        metavar="FOLDER",
        help=(
            "jupyter-cache folder that receives each passing chapter"
            " with the outputs nbval saw"
        ),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if not isinstance(item, IPyNbCell):
        return
    run = _runs[item.parent]
    run.failed |= report.failed
    if call.when == "call" and not report.failed:
        item.cell.outputs = item.test_outputs or []
        run.cells_done.add(item.cell_num)


def _every_cell_passed(notebook, run):
    code_cells = sum(
        cell.cell_type == "code" for cell in notebook.nb.cells
    )
    return not run.failed and len(run.cells_done) == code_cells


def pytest_sessionfinish(session):
    folder = session.config.getoption("outputs_to")
    if not folder:
        return
    cache = get_cache(folder)
    for notebook, run in _runs.items():
        if _every_cell_passed(notebook, run):
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook.nb, str(notebook.path)),
                check_validity=False,
                overwrite=True,
            )
            continue
        # the same code may have passed before, with other data or models
        try:
            stale = cache.match_cache_notebook(notebook.nb)
        except KeyError:
            continue
        cache.remove_cache(stale.pk)
