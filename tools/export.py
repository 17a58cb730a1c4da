"""Write the package `src/catvae_lit` from the book's chapters.

A code cell whose first line is ``#| export MODULE`` goes into
``src/catvae_lit/MODULE.py``. Chapters are read in the order of
``_toc.yml`` and cells in the order they appear, so the same chapters
always give the same bytes. Top-level imports of all cells of a module
are gathered, de-duplicated and sorted at the top of the module,
except imports from the module itself (a later chapter imports what it
extends, the module needs no such line); a docstring opening a
module's first cell becomes the module's docstring; ``__all__`` lists
the public functions, classes and upper-case constants.

A cell marked ``#| export MODULE replace`` may define again a plain
function (no decorators, constant defaults) that an earlier cell
exported into MODULE: the package keeps the later definition, in the
place of the first, so code that runs when the module is imported sees
the same names in the same order. This is how the engineering appendix
swaps a chapter's simple version of a piece for one that does less
work, which it checks against the simple one, while the chapter, run
as a notebook, keeps the version it teaches. Any other name defined
twice in a module is an error, and so is a replacement of nothing.

The same pass writes the book's API reference, ``book/api.md``: every
public name of every module, documented by Sphinx's autodoc from its
docstring, with a link to the chapter and section that export it.

    python tools/export.py          # write the package and the API page
    python tools/export.py --check  # fail if either differs from the chapters

Only the standard library is used, so the check runs before anything
is installed."""

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "catvae_lit"
DIRECTIVE = re.compile(
    r"^#\|\s*export\s+([A-Za-z_][A-Za-z0-9_]*)(\s+replace)?\s*$"
)
CODE_CELL = re.compile(
    r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M
)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)


def chapters_in_toc_order():
    """Chapter paths listed in `_toc.yml` (the root first), in reading
    order."""
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(
        r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$", toc, re.M
    )
    return [
        ROOT / f"{name}.md"
        for name in names
        if (ROOT / f"{name}.md").exists()
    ]


def cell_source(body):
    """Drop MyST cell options (`:tags: [...]` lines or a `---` YAML
    block)."""
    lines = body.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    while lines and (lines[0].startswith(":") or not lines[0].strip()):
        lines = lines[1:]
    return lines


def exported_cells(chapter):
    """Yield (module, section heading, code, replaces) for each
    exported cell of a chapter; `replaces` is True for a cell marked
    `#| export MODULE replace`."""
    text = chapter.read_text()
    # headings come from the prose only: a comment line in a code cell
    # looks like one
    prose = CODE_CELL.sub(lambda cell: " " * len(cell.group(0)), text)
    for match in CODE_CELL.finditer(text):
        lines = cell_source(match.group(1))
        directive = DIRECTIVE.match(lines[0]) if lines else None
        if directive is None:
            continue
        headings = HEADING.findall(prose, 0, match.start())
        section = headings[-1] if headings else chapter.stem
        yield directive.group(1), section, "\n".join(lines[1:]).strip(
            "\n"
        ), directive.group(2) is not None


def split_imports(code, where):
    """Separate top-level import statements from the rest of a cell."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        sys.exit(f"{where}: exported cell does not parse: {err}")
    lines = code.splitlines()
    skipped, imports, docstring = set(), [], None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skipped.update(range(node.lineno - 1, node.end_lineno))
            imports.append(ast.unparse(node))
    first = tree.body[0] if tree.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        docstring = "\n".join(lines[first.lineno - 1 : first.end_lineno])
        skipped.update(range(first.lineno - 1, first.end_lineno))
    body = [line for i, line in enumerate(lines) if i not in skipped]
    return imports, docstring, "\n".join(body).strip("\n")


def import_group(statement):
    """0 for the standard library (and __future__), 1 for third-party
    packages, 2 for this package."""
    top = statement.split()[1].split(".")[0]
    if top in ("catvae_lit", ""):
        return 2
    return (
        0 if top in sys.stdlib_module_names or top == "__future__" else 1
    )


def merge_from_imports(statements):
    """One `from m import a, b` line per module m, names sorted; other
    imports unchanged."""
    merged, names = [], {}
    for statement in statements:
        node = ast.parse(statement).body[0]
        if isinstance(node, ast.ImportFrom):
            key = "." * node.level + (node.module or "")
            if key not in names:
                names[key] = []
                merged.append(key)
            names[key] += [
                ast.unparse(alias)
                for alias in node.names
                if ast.unparse(alias) not in names[key]
            ]
        else:
            merged.append(statement)
    return [
        (
            f"from {s} import {', '.join(sorted(names[s]))}"
            if s in names
            else s
        )
        for s in merged
    ]


def import_sort_key(statement):
    """Sort by the imported module, `import x` before `from x import
    y`."""
    words = statement.split()
    return words[1], words[0] == "from", statement


def assigned_names(target):
    """The names an assignment target binds: `A`, or each of `A, B`."""
    elements = target.elts if isinstance(target, ast.Tuple) else [target]
    return [
        element.id
        for element in elements
        if isinstance(element, ast.Name)
    ]


def public_names(code):
    names = []
    for node in ast.parse(code).body:
        if isinstance(
            node, (ast.FunctionDef, ast.ClassDef)
        ) and not node.name.startswith("_"):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
            )
            names += [
                name
                for target in targets
                for name in assigned_names(target)
                if name.isupper()
            ]
    return names


def definitions(code):
    """Map each top-level function and class of `code` to its node."""
    return {
        node.name: node
        for node in ast.parse(code).body
        if isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        )
    }


def is_plain_function(node):
    """A function without decorators whose defaults are constants: it
    uses its module's names only when called."""
    if not isinstance(node, ast.FunctionDef) or node.decorator_list:
        return False
    defaults = node.args.defaults + [
        default
        for default in node.args.kw_defaults
        if default is not None
    ]
    return all(isinstance(default, ast.Constant) for default in defaults)


def apply_replacements(module, blocks):
    """The codes of `blocks`, a list of (origin, code, replaces), with
    each replacing function moved into the place of the definition it
    replaces, under a comment naming where it comes from."""
    found = [definitions(code) for _, code, _ in blocks]
    first, moves = {}, {}
    for index, ((origin, _, replaces), names) in enumerate(
        zip(blocks, found)
    ):
        for name, node in names.items():
            if name not in first:
                first[name] = index
            elif not replaces:
                sys.exit(
                    f"{origin}: `{name}` is already defined in {module}"
                    f" by {blocks[first[name]][0]}; mark the cell `#|"
                    f" export {module} replace` if it is meant to"
                    " replace it"
                )
            elif name in moves or not is_plain_function(node):
                sys.exit(
                    f"{origin}: `{name}` can replace one earlier"
                    f" definition in {module}, and only as a plain"
                    " function (no decorators, constant defaults)"
                )
            else:
                moves[name] = index
    for index, (origin, _, replaces) in enumerate(blocks):
        if replaces and index not in moves.values():
            sys.exit(
                f"{origin}: the cell is marked `#| export {module}"
                " replace` but replaces nothing"
            )
    edited = []
    for index, (_, code, _) in enumerate(blocks):
        lines, cut, inserts = code.splitlines(), set(), {}
        for name, node in found[index].items():
            if name not in moves:
                continue
            cut.update(range(node.lineno - 1, node.end_lineno))
            if index == first[name]:
                later_origin, later_code, _ = blocks[moves[name]]
                later = found[moves[name]][name]
                inserts[node.lineno - 1] = [
                    (
                        f"# From {later_origin}, which replaces the"
                        " version taught here"
                    ),
                    *later_code.splitlines()[
                        later.lineno - 1 : later.end_lineno
                    ],
                ]
        kept = []
        for number, line in enumerate(lines):
            kept += inserts.get(number, [])
            if number not in cut:
                kept.append(line)
        edited.append(
            re.sub(r"\n{3,}", "\n\n\n", "\n".join(kept)).strip("\n")
        )
    return edited


def render_module(module, cells):
    """The text of one module from its (chapter, section, code,
    replaces) cells."""
    sources = list(dict.fromkeys(chapter for chapter, _, _, _ in cells))
    header = [
        (
            "# Generated by tools/export.py from the book; do not edit"
            " by hand."
        ),
        "# Source: "
        + ", ".join(sources)
        + ". Edit the chapter, then run `python tools/export.py`.",
    ]
    imports, bodies, docstring = [], [], None
    for index, (chapter, section, code, replaces) in enumerate(cells):
        cell_imports, cell_doc, body = split_imports(
            code, f"{chapter} ({module})"
        )
        if cell_doc is not None and index == 0:
            docstring = cell_doc
        elif cell_doc is not None:
            body = cell_doc + ("\n" + body if body else "")
        own = (
            f"from catvae_lit.{module} import",
            f"import catvae_lit.{module}",
        )
        imports += [
            s
            for s in cell_imports
            if s not in imports and not s.startswith(own)
        ]
        bodies.append((f'{chapter}, "{section}"', body, replaces))
    blocks = [
        f"# From {origin}\n{body}"
        for (origin, _, _), body in zip(
            bodies, apply_replacements(module, bodies)
        )
        if body
    ]
    top = "\n".join(header) + ("\n" + docstring if docstring else "")
    imports = merge_from_imports(imports)
    groups = [
        sorted(
            (s for s in imports if import_group(s) == g),
            key=import_sort_key,
        )
        for g in range(3)
    ]
    top += "".join(
        "\n\n" + "\n".join(group) for group in groups if group
    )
    names = [name for block in blocks for name in public_names(block)]
    if names:
        top += (
            "\n\n__all__ = [" + ", ".join(f'"{n}"' for n in names) + "]"
        )
    return "\n\n\n".join([top, *blocks]) + "\n"


def exported_modules():
    """Map from module name to its (chapter, section, code, replaces)
    cells, modules in the order the book first exports them."""
    modules = {}
    for chapter in chapters_in_toc_order():
        for module, section, code, replaces in exported_cells(chapter):
            modules.setdefault(module, []).append(
                (
                    chapter.relative_to(ROOT).as_posix(),
                    section,
                    code,
                    replaces,
                )
            )
    if "__init__" not in modules:
        sys.exit(
            "no chapter exports `__init__`: the package would not be"
            " importable"
        )
    return modules


def exported_package(modules=None):
    """Map from file name to the text the chapters export into it
    (from `modules`, the cells of `exported_modules`, when given)."""
    return {
        f"{module}.py": render_module(module, cells)
        for module, cells in sorted(
            (modules or exported_modules()).items()
        )
    }


API_PAGE = ROOT / "book" / "api.md"
API_INTRO = """# API reference

Every public name of the package `catvae_lit` (each module's `__all__`),
module by module in the order the book introduces them, with its
signature and docstring and the chapter that derives it. The page is
written by `tools/export.py` from the chapters, like the package itself;
edit the chapters, not this page.
"""
AUTODOC = {
    ast.FunctionDef: "autofunction",
    ast.ClassDef: "autoclass",
    # autodoc would show a constant's type's docstring (dict's, say):
    # the plain directive shows the chapter's comment instead
    ast.Assign: "py:data",
    ast.AnnAssign: "py:data",
}


def comment_above(code, node):
    """The comment lines right above a top-level statement, as text:
    what the chapter says of a constant, which has no docstring."""
    lines = code.splitlines()[: node.lineno - 1]
    comment = []
    while lines and lines[-1].startswith("#"):
        comment.insert(0, lines.pop().lstrip("# "))
    # reStructuredText reads * and | as markup
    return re.sub(r"([*|\\])", r"\\\1", " ".join(comment))


def defined_names(node):
    """The names a top-level function, class or assignment defines."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [
            n for target in node.targets for n in assigned_names(target)
        ]
    if isinstance(node, ast.AnnAssign):
        return assigned_names(node.target)
    return []


def api_entries(module, cells):
    """The reStructuredText of each public name of a module, in the
    order of the package, the first definition only (a replacement
    keeps the place and the chapter of the version it replaces)."""
    entries, seen = [], set()
    for chapter, section, code, _ in cells:
        _, _, body = split_imports(code, f"{chapter} ({module})")
        if not body:
            continue
        public = set(public_names(body))
        for node in ast.parse(body).body:
            for name in defined_names(node):
                if name not in public or name in seen:
                    continue
                seen.add(name)
                directive = AUTODOC[type(node)]
                options = (
                    ["   :members:"] if directive == "autoclass" else []
                )
                note = (
                    comment_above(body, node)
                    if directive == "py:data"
                    else ""
                )
                entries.append(
                    "\n".join(
                        [
                            (
                                f".. {directive}::"
                                f" catvae_lit.{module}.{name}"
                            ),
                            *options,
                            "",
                            *([f"   {note}", ""] if note else []),
                            f"   Derived in :doc:`{Path(chapter).stem}`,"
                            f' section "{section}".',
                        ]
                    )
                )
    return entries


def api_page(modules):
    """The text of book/api.md."""
    parts = [API_INTRO]
    for module, cells in modules.items():
        entries = api_entries(module, cells)
        if entries:
            parts.append(
                f"## `catvae_lit.{module}`\n\n```{{eval-rst}}\n"
                f".. automodule:: catvae_lit.{module}\n"
                "   :no-members:\n\n"
                + "\n\n".join(entries)
                + "\n```\n"
            )
    return "\n".join(parts)


def check(expected):
    """Names of files whose committed text differs from the export,
    with the reason."""
    problems = []
    for name, text in expected.items():
        path = PACKAGE / name
        sources = re.search(
            r"^# Source: (.+?)\. Edit", text, re.M
        ).group(1)
        if not path.exists():
            problems.append(
                f"src/catvae_lit/{name} is missing; {sources} export it"
            )
        elif path.read_text() != text:
            problems.append(
                f"src/catvae_lit/{name} differs from what {sources}"
                " export"
            )
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name not in expected:
            problems.append(
                f"src/catvae_lit/{path.name} comes from no chapter (no"
                f" cell says `#| export {path.stem}`)"
            )
    return problems


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only compare; exit 1 on any difference",
    )
    args = parser.parse_args()
    modules = exported_modules()
    expected = exported_package(modules)
    page = api_page(modules)
    if args.check:
        problems = check(expected)
        if not API_PAGE.exists() or API_PAGE.read_text() != page:
            problems.append(
                "book/api.md differs from the API page the chapters give"
            )
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            sys.exit(
                "The package (or its API page) and the chapters"
                " disagree: edit the chapter, run `python"
                " tools/export.py`, and commit both."
            )
        print(
            f"export check: {len(expected)} modules agree with the"
            " chapters"
        )
        return
    PACKAGE.mkdir(parents=True, exist_ok=True)
    for path in PACKAGE.glob("*.py"):
        if path.name not in expected:
            path.unlink()
    for name, text in expected.items():
        (PACKAGE / name).write_text(text)
    API_PAGE.write_text(page)
    print(
        f"exported {len(expected)} modules to"
        f" {PACKAGE.relative_to(ROOT)} and their reference to"
        f" {API_PAGE.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
