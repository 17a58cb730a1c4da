"""Format the project's Python with black, at the width of the rendered
book's code column.

    python tools/format_code.py          # rewrite, in place
    python tools/format_code.py --check  # name what is not formatted

In the chapters only the code inside ```{code-cell} fences changes; the
markdown, the cell options and the jupytext header stay byte for byte (a
round trip through a notebook would rewrite them). The tools, tests and
benchmarks are formatted whole, with the same settings. The width is
measured, not chosen: at 1280 px the rendered book shows 75 characters
of a code line without a scrollbar, and 73 in a folded cell
(tests/browser/test_rendered_book.py checks that no code block
scrolls). Black does not rewrap comments and docstrings, so
tests/test_format.py checks the chapters' lines for length too."""

import re
import sys
from pathlib import Path

import black

ROOT = Path(__file__).resolve().parents[1]
# characters of code a folded cell (the narrowest) shows at 1280 px
COLUMN = 73
# Black's stable style, and its splitting of long strings, which the
# stable style leaves long.
MODE = black.Mode(
    line_length=COLUMN,
    enabled_features={black.mode.Preview.string_processing},
)
# A code cell: the fence, its option lines (":tags: [...]"), a blank line
# after options, the code, the fence.
CELL = re.compile(
    r"(^```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*(?:\n(?=.))?)(.*?)(^```$)",
    re.S | re.M,
)
PYTHON_FOLDERS = ["tools", "tests", "benchmarks"]


def format_cell(code):
    """The code of one cell, formatted; black ends it with one newline,
    as the fence expects. The exporter's `#| export MODULE` line stays
    as it is (black would write `# | export`)."""
    if not code.strip():
        return code
    directive, _, rest = (
        code.partition("\n")
        if code.startswith("#| ")
        else ("", "", code)
    )
    return (directive + "\n" if directive else "") + black.format_str(
        rest, mode=MODE
    )


def format_chapter(text):
    """The chapter's text with every code cell formatted."""
    return CELL.sub(
        lambda m: m.group(1) + format_cell(m.group(2)) + m.group(3), text
    )


def formatted(path):
    """The text of `path` as it should be: a chapter's cells formatted,
    or a whole Python file."""
    text = path.read_text()
    return (
        format_chapter(text)
        if path.suffix == ".md"
        else black.format_str(text, mode=MODE)
    )


def project_files():
    """The chapters, then every Python file of the tools, tests and
    benchmarks, and the root conftest."""
    python = [
        path
        for folder in PYTHON_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]
    return [
        *sorted((ROOT / "book").glob("*.md")),
        *python,
        ROOT / "conftest.py",
    ]


def main(argv):
    if argv not in ([], ["--check"]):
        sys.exit("usage: python tools/format_code.py [--check]")
    files = project_files()
    wanted = {path: formatted(path) for path in files}
    unformatted = [
        path for path in files if wanted[path] != path.read_text()
    ]
    names = ", ".join(
        path.relative_to(ROOT).as_posix() for path in unformatted
    )
    if argv == ["--check"]:
        if unformatted:
            sys.exit(
                f"not formatted: {names}; run python"
                " tools/format_code.py"
            )
        print(f"{len(files)} files formatted")
        return
    for path in unformatted:
        path.write_text(wanted[path])
    print(
        f"rewrote {len(unformatted)} of {len(files)} files"
        + (f": {names}" if names else "")
    )


if __name__ == "__main__":
    main(sys.argv[1:])
