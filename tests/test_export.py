import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_exporter():
    spec = importlib.util.spec_from_file_location(
        "export", ROOT / "tools" / "export.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_package_matches_chapters():
    result = subprocess.run(
        [sys.executable, "tools/export.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_export_is_deterministic():
    exporter = load_exporter()
    assert exporter.exported_package() == exporter.exported_package()


def test_check_names_module_and_chapter(tmp_path, monkeypatch):
    exporter = load_exporter()
    package = tmp_path / "catvae_lit"
    shutil.copytree(
        ROOT / "src" / "catvae_lit",
        package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (package / "losses.py").write_text(
        (package / "losses.py").read_text() + "\n# an edit by hand\n"
    )
    (package / "stray.py").write_text("x = 1\n")
    monkeypatch.setattr(exporter, "PACKAGE", package)
    problems = exporter.check(exporter.exported_package())
    assert any("losses.py" in p and "book/vae.md" in p for p in problems)
    assert any("stray.py" in p and "no chapter" in p for p in problems)
    assert len(problems) == 2


def test_every_module_names_its_chapter():
    for path in (ROOT / "src" / "catvae_lit").glob("*.py"):
        header = path.read_text().splitlines()[:2]
        assert (
            "do not edit by hand" in header[0] and "book/" in header[1]
        ), path.name


def test_a_replacing_function_takes_the_place_of_the_first_definition():
    exporter = load_exporter()
    cells = [
        (
            "book/a.md",
            "A",
            "def f():\n    return 1\n\n\nFIRST = f()",
            False,
        ),
        (
            "book/b.md",
            "B",
            "def g():\n    return 3\n\n\ndef f():\n    return 2",
            True,
        ),
    ]
    text = exporter.render_module("m", cells)
    namespace = {}
    exec(text, namespace)
    assert (
        namespace["FIRST"] == 2
    ), "code run at import sees the replacing definition"
    assert text.count("def f(") == 1 and text.index(
        "return 2"
    ) < text.index("FIRST = f()")
    assert 'From book/b.md, "B", which replaces' in text and namespace[
        "__all__"
    ] == ["f", "FIRST", "g"]


@pytest.mark.parametrize(
    "later, replaces, message",
    [
        # a repeated name without the marker
        ("def f():\n    return 2", False, "already defined"),
        # decorated: needs names at import
        (
            "@staticmethod\ndef f():\n    return 2",
            True,
            "plain function",
        ),
        # a default evaluated at import
        ("def f(x=FIRST):\n    return x", True, "plain function"),
        ("def h():\n    return 2", True, "replaces nothing"),
    ],
)
def test_replacements_that_could_go_wrong_are_refused(
    later, replaces, message
):
    exporter = load_exporter()
    cells = [
        (
            "book/a.md",
            "A",
            "def f():\n    return 1\n\n\nFIRST = f()",
            False,
        ),
        ("book/b.md", "B", later, replaces),
    ]
    with pytest.raises(SystemExit, match=message):
        exporter.render_module("m", cells)


def test_api_page_documents_every_public_name_with_its_chapter():
    """book/api.md holds one entry per name of each module's __all__,
    each linked to a chapter of the book, and nothing else."""
    import re

    import catvae_lit

    page = (ROOT / "book" / "api.md").read_text()
    documented = re.findall(
        r"^\.\. (?:autofunction|autoclass|py:data)::"
        r" catvae_lit\.(\w+)\.(\w+)$",
        page,
        re.M,
    )
    public = [
        (module.stem, name)
        for module in sorted(
            Path(catvae_lit.__file__).parent.glob("*.py")
        )
        # importing __main__ would run the command line
        if module.stem != "__main__"
        for name in importlib.import_module(
            f"catvae_lit.{module.stem}"
        ).__dict__.get("__all__", [])
    ]
    assert sorted(documented) == sorted(public)
    chapters = set(re.findall(r"Derived in :doc:`(\w+)`", page))
    assert len(re.findall(r"Derived in :doc:", page)) == len(public)
    assert all((ROOT / "book" / f"{c}.md").exists() for c in chapters)


def test_check_fails_when_the_api_page_is_stale(tmp_path, monkeypatch):
    exporter = load_exporter()
    page = tmp_path / "api.md"
    page.write_text((ROOT / "book" / "api.md").read_text() + "\nstale\n")
    monkeypatch.setattr(exporter, "API_PAGE", page)
    monkeypatch.setattr(sys, "argv", ["export.py", "--check"])
    with pytest.raises(SystemExit):
        exporter.main()
