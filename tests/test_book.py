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


def test_the_book_and_make_test_share_one_execution_cache():
    config_cache = re.search(
        r"^\s+cache:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M
    )
    make_cache = re.search(
        r"^EXECUTION_CACHE := (\S+)",
        (ROOT / "Makefile").read_text(),
        re.M,
    )
    assert config_cache and make_cache
    assert config_cache[1] == make_cache[1]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_book_finds_nbval_s_run_of_each_chapter(chapter, tmp_path):
    # make test caches the notebook nbval ran (jupytext's conversion);
    # the build looks it up by the hash of MyST-NB's own reading of the
    # chapter, so the two readings must hash alike, or every chapter
    # would run a second time.
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook

    config = load_jupytext_configuration_file(
        str(ROOT / "jupytext.toml")
    )
    text = chapter.read_text()
    cache = get_cache(tmp_path)
    cache.cache_notebook_bundle(
        CacheBundleIn(
            jupytext.reads(text, fmt="md:myst", config=config),
            str(chapter),
        ),
        check_validity=False,
    )
    as_the_book_reads_it = read_myst_markdown_notebook(text)
    assert cache.match_cache_notebook(as_the_book_reads_it)


def teaching_chapters():
    """The chapters listed before the appendices in `_toc.yml`."""
    toc = (ROOT / "_toc.yml").read_text()
    before = toc[: toc.index("caption: Appendices")]
    return [
        ROOT / f"{name}.md"
        for name in re.findall(r"-\s*file\s*:\s*(\S+)", before)
    ]


@pytest.mark.parametrize(
    "chapter", teaching_chapters(), ids=lambda p: p.stem
)
def test_the_command_line_stays_out_of_the_teaching_chapters(chapter):
    # the command-line appendix builds it on the chapters' registries
    code = "\n".join(
        re.findall(
            r"```\{code-cell\}[^\n]*\n(.*?)```",
            chapter.read_text(),
            re.S,
        )
    )
    machinery = re.findall(
        r"#\| export cli\b|^[ \t]*(?:import|from)"
        r" (?:argparse|filelock|fcntl)\b"
        r"|catvae_lit\.cli\b",
        code,
        re.M,
    )
    assert (
        not machinery
    ), f"{chapter.name} holds {sorted(set(machinery))}"
