"""The book's repository is named in one place, `repository: url:` in
_config.yml, and nowhere else."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = [
    *sorted((ROOT / "book").glob("*.md")),
    ROOT / "README.md",
    ROOT / "checkpoints" / "README.md",
]
CLONE = re.compile(r"git clone\s+(https?://\S+|git@\S+)")
# the address earlier editions wrote out, which never existed
OWN = re.compile(r"github\.com/catvae-lit\b", re.I)


def test_no_page_writes_out_the_repository_address():
    url = (CONFIG["repository"]["url"] or "").rstrip("/")
    found = [
        f"{page.relative_to(ROOT)}: {match}"
        for page in PAGES
        for text in [page.read_text()]
        for match in [
            *CLONE.findall(text),
            *OWN.findall(text),
            *([url] if url and url in text else []),
        ]
    ]
    assert (
        not found
    ), "read the address from _config.yml instead:\n" + "\n".join(found)


def test_the_launch_buttons_are_off_while_the_repository_is_unset():
    if not CONFIG["repository"]["url"]:
        buttons = CONFIG.get("launch_buttons", {})
        assert (
            not buttons.get("binderhub_url")
            and not buttons.get("jupyterhub_url")
            and not buttons.get("colab_url")
        )
