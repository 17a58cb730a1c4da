"""Jupyter server settings of the project's environment; `make lab`
copies this file to .venv/etc/jupyter/, where every Jupyter server
started from .venv reads it."""

import re
import warnings
from pathlib import Path

FRONT_MATTER = re.compile(r"---\n.*?\n---\n\n?", re.S)


def keep_plain_markdown_plain(model, path, contents_manager, **kwargs):
    """Save a markdown file that had no front matter (README.md,
    book/teaching.md) without one. JupyterLab opens every .md as a
    notebook, and jupytext would then write a header into such a file on
    save, because the metadata filter of jupytext.toml wins over the
    file's own."""
    if (
        model["type"] != "file"
        or not path.endswith(".md")
        or not isinstance(model.get("content"), str)
    ):
        return
    on_disk = Path(contents_manager._get_os_path(path))
    if (
        on_disk.is_file()
        and not FRONT_MATTER.match(on_disk.read_text())
        and model["content"].startswith("---\njupyter:\n  jupytext:\n")
    ):
        model["content"] = FRONT_MATTER.sub(
            "", model["content"], count=1
        )


# noqa: F821  (c: the config Jupyter passes in)
c.ContentsManager.pre_save_hook = keep_plain_markdown_plain
# The server applies its configuration more than once, and each time
# after the first warns that this same hook overrides itself.
warnings.filterwarnings(
    "ignore",
    "Overriding existing pre_save_hook \\(keep_plain_markdown_plain\\)",
)
