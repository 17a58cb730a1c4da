"""Wall time to execute each chapter of the book, in table-of-contents
order, on this machine.

    python benchmarks/chapters.py              # every chapter
    python benchmarks/chapters.py beyond       # only the chapters named; the others keep their times

Each chapter is converted from MyST markdown with jupytext and run top
to bottom in a fresh kernel, as a reader running it in Jupyter would
(nbval in `make test` runs the same cells). The times are written to
benchmarks/chapter_times.json with a description of the machine; the
teaching page reads them to plan a course."""

import json
import os
import platform
import re
import sys
import time
from datetime import date
from pathlib import Path

import jupytext
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "chapter_times.json"


def chapters():
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(
        r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$", toc, re.M
    )
    return [
        ROOT / f"{name}.md"
        for name in names
        if "kernelspec:" in (ROOT / f"{name}.md").read_text()
    ]


def main(names):
    machine = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": date.today().isoformat(),
    }
    timed = [
        chapter
        for chapter in chapters()
        if not names or chapter.stem in names
    ]
    if len(timed) < len(set(names)):
        sys.exit(
            "unknown chapters"
            f" {sorted(set(names) - {chapter.stem for chapter in timed})}"
        )
    seconds = json.loads(RESULTS.read_text())["seconds"] if names else {}
    print(f"{'chapter':<20} {'seconds':>8}")
    for chapter in timed:
        notebook = jupytext.read(chapter)
        start = time.perf_counter()
        NotebookClient(
            notebook,
            timeout=1800,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT / "book")}},
            skip_cells_with_tag="skip-execution",
        ).execute()
        seconds[chapter.stem] = round(time.perf_counter() - start, 1)
        print(
            f"{chapter.stem:<20} {seconds[chapter.stem]:8.1f}",
            flush=True,
        )
        # Written after each chapter: the teaching page, which reads the
        # file, runs after every chapter it plans.
        RESULTS.write_text(
            json.dumps(
                {"machine": machine, "seconds": seconds}, indent=1
            )
            + "\n"
        )
    print(f"{'whole book':<20} {sum(seconds.values()):8.1f}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
