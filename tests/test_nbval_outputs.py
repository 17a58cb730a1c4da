"""tools/nbval_outputs.py: a chapter that passes under nbval reaches the
book's cache with its outputs; one that fails leaves no record there, not
even an earlier one of the same code."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parent.parent


def run_nbval(notebook, cache, passes):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(notebook),
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-p",
            "tools.nbval_outputs",
            f"--outputs-to={cache}",
        ],
        cwd=ROOT,
        env=dict(os.environ, CHAPTER_PASSES=passes),
        capture_output=True,
        text=True,
    )


def test_a_passing_chapter_is_cached_and_a_failing_one_is_not(tmp_path):
    notebook = tmp_path / "chapter.ipynb"
    chapter = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("print('the first cell')"),
            nbformat.v4.new_code_cell(
                "import os\nassert os.environ['CHAPTER_PASSES'] == 'yes'"
            ),
        ],
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        },
    )
    nbformat.write(chapter, notebook)
    cache = tmp_path / "cache"

    passed = run_nbval(notebook, cache, "yes")
    assert passed.returncode == 0, passed.stdout
    cached = get_cache(cache).match_cache_notebook(chapter)
    first = get_cache(cache).get_cache_bundle(cached.pk).nb.cells[0]
    assert first.outputs[0]["text"] == "the first cell\n"

    failed = run_nbval(notebook, cache, "no")
    assert failed.returncode == 1, failed.stdout
    assert get_cache(cache).list_cache_records() == []
