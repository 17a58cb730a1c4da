"""The code is formatted by black at the width of the rendered column
(tools/format_code.py), and no code line of a chapter is wider than
that column, comments and docstrings included."""

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from format_code import CELL, COLUMN, ROOT, format_chapter  # noqa: E402


def test_every_file_is_formatted():
    check = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "format_code.py"),
            "--check",
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_no_code_line_of_a_chapter_is_wider_than_the_column():
    wide = [
        f"{chapter.name}: {line.strip()[:50]}... ({len(line)}"
        " characters)"
        for chapter in sorted((ROOT / "book").glob("*.md"))
        for cell in CELL.finditer(chapter.read_text())
        for line in cell.group(2).splitlines()
        if len(line) > COLUMN
    ]
    assert not wide, f"wider than {COLUMN} characters: {wide}"


def test_the_formatter_touches_only_code_and_keeps_the_export_line():
    chapter = (
        "---\njupytext: {}\n---\n\nSome *prose*  with "
        " spaces.\n\n```{code-cell} ipython3\n:tags: [hide-input]\n\n#|"
        " export models\nx = {'a':1}\n```\n\n```python\ny ="
        " {'b':2}\n```\n"
    )
    result = format_chapter(chapter)
    assert result == chapter.replace("x = {'a':1}", 'x = {"a": 1}')
    assert re.search(r"^#\| export models$", result, re.M)


def literal_blocks(text):
    """The lines of each fenced block that the page shows as code as it
    is (```bash, ```python, ...): not code cells, which the formatter
    keeps to the column, and not directives such as admonitions, whose
    text wraps as prose does."""
    blocks, block = [], None
    for line in text.splitlines():
        if block is None and re.match(r"```[a-z]", line):
            block = []
        elif block is not None and line.strip() == "```":
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(line)
    return blocks


def test_no_literal_code_block_of_a_chapter_is_wider_than_the_column():
    wide = [
        f"{chapter.name}: {line.strip()[:50]}... ({len(line)}"
        " characters)"
        for chapter in sorted((ROOT / "book").glob("*.md"))
        for block in literal_blocks(chapter.read_text())
        for line in block
        if len(line) > COLUMN
    ]
    assert not wide, f"wider than {COLUMN} characters: {wide}"


def test_literal_blocks_are_found_and_directives_are_not():
    text = (
        "```bash\nmake test\n```\n\n```{admonition} Note\nprose\n```\n"
        "\n```{code-cell} ipython3\nx = 1\n```\n"
    )
    assert literal_blocks(text) == [["make test"]]
