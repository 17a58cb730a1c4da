"""Report how long each chapter took to execute under nbval (a table
after the test run)."""

from collections import defaultdict
from pathlib import Path

_chapter_seconds = defaultdict(float)


def pytest_runtest_logreport(report):
    path = Path(report.location[0])
    if path.suffix == ".ipynb":
        _chapter_seconds[path.stem] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _chapter_seconds:
        return
    terminalreporter.section(
        "chapter execution time (nbval, this machine)"
    )
    for chapter, seconds in _chapter_seconds.items():
        terminalreporter.write_line(f"{chapter:<24} {seconds:8.1f} s")
    terminalreporter.write_line(
        f"{'whole book':<24} {sum(_chapter_seconds.values()):8.1f} s"
    )
