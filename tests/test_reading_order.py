"""A chapter uses only what it or an earlier chapter (in `_toc.yml`
order) exports.

The book is meant to be read front to back: a reader who runs a
chapter's cells has seen every function those cells import. A `from
catvae_lit.m import f` whose `f` first appears in a later chapter still
runs (the package is built from the whole book) but breaks that promise,
so nothing else would catch it.

Chapters and cells are found with tools/export.py's own parsing, so this
test and the package agree on what a chapter exports. A name counts as
exported by the first chapter that defines it; later chapters that
extend it (for example `MODELS["aae"] = AAE`) do not. Every import in
every code cell is checked, export cells included, and a chapter may
import a name it defines itself in a later cell."""

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "catvae_lit"


def load_exporter():
    spec = importlib.util.spec_from_file_location(
        "export", ROOT / "tools" / "export.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


exporter = load_exporter()


def chapter_name(chapter):
    return chapter.relative_to(ROOT).as_posix()


def first_exporters(chapters):
    """Map each module and each (module, name) to the first chapter that
    exports it."""
    modules, names = {}, {}
    for chapter in chapters:
        for module, _, code, _ in exporter.exported_cells(chapter):
            modules.setdefault(module, chapter)
            for name in exporter.public_names(code):
                names.setdefault((module, name), chapter)
    return modules, names


def package_imports(chapter):
    """Yield (module, name) for each package import in a chapter's code
    cells; name is None for `import m`."""
    for cell in exporter.CODE_CELL.finditer(chapter.read_text()):
        code = "\n".join(exporter.cell_source(cell.group(1)))
        for node in ast.walk(
            ast.parse(code, filename=chapter_name(chapter))
        ):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").split(".")[0] == PACKAGE
            ):
                module = node.module.partition(".")[2] or "__init__"
                yield from ((module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        yield alias.name.partition(".")[
                            2
                        ] or "__init__", None


def exporter_of(module, name, modules, names):
    """The chapter that first exports what an import asks for, or None
    if no chapter does."""
    if name is None:
        return modules.get(module)
    if (module, name) not in names and module == "__init__":
        # `from catvae_lit import models` imports a module
        return modules.get(name)
    return names.get((module, name))


def reading_order_violations():
    chapters = exporter.chapters_in_toc_order()
    modules, names = first_exporters(chapters)
    order = {chapter: index for index, chapter in enumerate(chapters)}
    violations = []
    for chapter in chapters:
        for module, name in dict.fromkeys(package_imports(chapter)):
            dotted = (
                PACKAGE
                if module == "__init__"
                else f"{PACKAGE}.{module}"
            )
            what = dotted if name is None else f"{name} from {dotted}"
            source = exporter_of(module, name, modules, names)
            if source is None:
                violations.append(
                    f"{chapter_name(chapter)} imports {what}, which no"
                    " chapter exports"
                )
            elif order[source] > order[chapter]:
                violations.append(
                    f"{chapter_name(chapter)} imports {what}, which only"
                    f" the later chapter {chapter_name(source)} exports"
                )
    return violations


def test_chapters_import_only_what_they_or_earlier_chapters_export():
    violations = reading_order_violations()
    if violations:
        pytest.fail(
            "imports ahead of the reading order:\n"
            + "\n".join(violations),
            pytrace=False,
        )
