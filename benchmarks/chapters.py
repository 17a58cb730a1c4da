"""Wall time to execute each chapter of the book, in table-of-contents order, on this machine.

    python benchmarks/chapters.py

Each chapter is converted from MyST markdown with jupytext and run top to bottom in a fresh kernel,
as a reader running it in Jupyter would (nbval in `make test` runs the same cells).
"""
import re
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def chapters():
    toc = (ROOT / "_toc.yml").read_text()
    return [ROOT / f"{name}.md" for name in re.findall(r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$", toc, re.M)]


def main():
    total = 0.0
    print(f"{'chapter':<20} {'seconds':>8}")
    for chapter in chapters():
        notebook = jupytext.read(chapter)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}},
                       skip_cells_with_tag="skip-execution").execute()
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{chapter.stem:<20} {seconds:8.1f}", flush=True)
    print(f"{'whole book':<20} {total:8.1f}")


if __name__ == "__main__":
    main()
