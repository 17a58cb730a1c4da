"""The book's sources: chapters in canonical jupytext form, listed in
the toc, and dependencies in agreement."""

import re
import tomllib
from pathlib import Path

import jupytext
import pytest
from jupytext.config import load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parent.parent
TOC_FILES = re.findall(
    r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$",
    (ROOT / "_toc.yml").read_text(),
    re.M,
)
CHAPTERS = [
    ROOT / f"{name}.md"
    for name in TOC_FILES
    if "kernelspec" in (ROOT / f"{name}.md").read_text()
]


def test_toc_lists_every_page_of_the_book():
    assert all((ROOT / f"{name}.md").exists() for name in TOC_FILES)
    assert sorted(
        p.stem for p in (ROOT / "book").glob("*.md")
    ) == sorted(Path(n).name for n in TOC_FILES)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_survives_a_round_trip_through_jupyter(chapter):
    config = load_jupytext_configuration_file(
        str(ROOT / "jupytext.toml")
    )
    text = chapter.read_text()
    notebook = jupytext.reads(text, fmt="md:myst", config=config)
    assert (
        jupytext.writes(notebook, fmt="md:myst", config=config) == text
    )


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"
    ]
    pip_requirements = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pip_requirements |= set(extra)
    conda_pip = {
        line.strip()[2:]
        for line in (ROOT / "environment.yml").read_text().splitlines()
        if re.match(r"^\s{6}- ", line)
        and not line.strip().startswith("- -e")
    }
    assert (
        conda_pip == pip_requirements
    ), f"only in one of them: {conda_pip ^ pip_requirements}"
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


TIMING = re.compile(
    r"^\s*assert\b.*(perf_counter|monotonic|seconds|\btime\.|s/epoch)",
    re.M,
)


@pytest.mark.parametrize(
    "source",
    [*CHAPTERS, *sorted((ROOT / "tests").glob("*.py"))],
    ids=lambda p: p.name,
)
def test_nothing_asserts_on_wall_time(source):
    # Timings depend on the machine and its load; benchmarks/ measures
    # them, assert cells never do.
    assert not TIMING.findall(source.read_text())
