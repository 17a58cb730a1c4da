"""No result is typed into a chapter's prose: numbers that a run
produced are glued from a cell.

A number typed into a sentence goes stale silently when a model is
retrained; one glued with MyST-NB's `{glue:text}` role is recomputed
with the page. This test reads the prose of every page (code cells,
math and inline code or roles left out) and fails on a decimal number,
such as 0.54 or 234.6, unless it is:

- a figure quoted from cited work: its sentence carries a `{cite:...}` role;
- a version of a piece of software ("PyTorch 2.6", "version 2.6");
- a constant of the setup, which the book writes as mathematics (`$p = 0.25$`),
and mathematics is not scanned.

Integers pass: counts of epochs, seeds, images and pixels are the
setup's."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import export  # noqa: E402

DECIMAL = re.compile(r"(?<![\w.\-/])\d+\.\d+(?!\w|\.\d)")
VERSION = re.compile(
    r"\b(?:version|versions|Python|PyTorch|torch|torchvision|Jupyter"
    r" Book)\s+\d+\.\d+"
)
CITATION = "\0CITE\0"


def prose(text):
    """The text a reader reads as sentences: no front matter, code
    cells (nor the code's own text on the API page), comments, math or
    inline code."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = export.CODE_CELL.sub(" ", text)
    # the API page's reStructuredText quotes the code's docstrings and
    # comments, as a code cell would
    text = re.sub(
        r"^```\{eval-rst\}\n.*?^```$", " ", text, flags=re.S | re.M
    )
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<![\\$])\$[^$]+?\$", " ", text)
    text = re.sub(r"\{cite:[a-z]+\}`[^`]*`", CITATION, text)
    text = re.sub(r"`[^`\n]*`", " ", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def typed_numbers(text):
    """(number, sentence) for each decimal number in the prose that is
    neither cited nor a version."""
    found = []
    for paragraph in re.split(r"\n\s*\n", prose(text)):
        for sentence in re.split(
            r"(?<=[.;:!?])\s+(?=[A-Z(*])", " ".join(paragraph.split())
        ):
            if CITATION in sentence:
                continue
            for number in DECIMAL.findall(VERSION.sub(" ", sentence)):
                found.append((number, sentence))
    return found


def test_the_scan_finds_typed_numbers_and_passes_the_others():
    page = "\n".join(
        [
            "The CatVAE clusters 0.54 of the images, k-means 0.55.",
            (
                "The paper reports 2.03 {cite:p}`pineau2018infocatvae`."
                " Ours is {glue:text}`ours:.2f`."
            ),
            (
                "Dropout $p = 0.25$, $$x = 1.5$$, `lr=1e-3`, PyTorch"
                " 2.6, and 60,000 images in 3 epochs."
            ),
            "```{code-cell} ipython3",
            "x = 0.75",
            "```",
        ]
    )
    assert [number for number, _ in typed_numbers(page)] == [
        "0.54",
        "0.55",
    ]


@pytest.mark.parametrize(
    "page", export.chapters_in_toc_order(), ids=lambda p: p.stem
)
def test_no_result_is_typed_into_the_prose(page):
    typed = typed_numbers(page.read_text())
    assert not typed, (
        f"{page.relative_to(ROOT)}: typed numbers (glue them from a"
        " cell, cite them, or write a constant as math):\n"
        + "\n".join(
            f"  {number}: {sentence[:160]}" for number, sentence in typed
        )
    )
