"""The rendered book in headless Chromium: every page typesets its math,
loads its images, shows no traceback or warning, and the navigation
reaches every chapter. Run after `make book`; each page's screenshot
lands in _build/screenshots/."""

import functools
import http.server
import os
import re
import shutil
import sys
import threading
import urllib.request
from pathlib import Path

import jupytext
import nbformat
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
# noqa: E402  (the exporter reads the table of contents)
from export import chapters_in_toc_order

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGES = [
    chapter.relative_to(ROOT).with_suffix("").as_posix()
    for chapter in chapters_in_toc_order()
]
# Flags that keep Chromium from calling home: this machine's network is
# closed.
QUIET_CHROMIUM = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
]
WARNING_OR_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|\b[A-Z]\w*Warning\b"
)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def executable(variable, name):
    path = os.environ.get(variable) or shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: install Debian's chromium and"
            " chromium-driver (`make test` does it with apt-get) or set"
            f" {variable} to its path"
        )
    return path


@pytest.fixture(scope="module")
def site():
    """The built book served over HTTP on a free localhost port (file://
    would hide broken paths)."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"no rendered book in {HTML}: run `make book` first")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(QuietHandler, directory=str(HTML)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = executable("CHROMIUM", "chromium")
    for flag in QUIET_CHROMIUM + [
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(executable("CHROMEDRIVER", "chromedriver")),
        options=options,
    )
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def open_page(browser, url):
    """Load `url` and wait until MathJax has typeset it; the browser log
    starts empty for each page."""
    browser.get_log("browser")
    browser.get(url)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];if (window.MathJax"
        " && MathJax.startup) MathJax.startup.promise.then(() =>"
        " done(true));else done(false);"
    )


def save_page_screenshots(browser, name, part_height=8000):
    """Screenshots of the whole page, top to bottom: NAME.png, then
    NAME-2.png and so on for a page taller than `part_height` pixels
    (Chromium cannot draw a window much taller than 16,000)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = browser.get_window_size()
    page_height = browser.execute_script(
        "return document.documentElement.scrollHeight"
    )
    frame = browser.execute_script(
        "return window.outerHeight - window.innerHeight"
    )
    browser.set_window_size(
        size["width"], min(page_height + frame, part_height)
    )
    step = browser.execute_script("return window.innerHeight")
    stem = name.replace("/", "_")
    for part, top in enumerate(range(0, page_height, step), start=1):
        browser.execute_script("window.scrollTo(0, arguments[0])", top)
        browser.save_screenshot(
            str(
                SCREENSHOTS
                / (f"{stem}.png" if part == 1 else f"{stem}-{part}.png")
            )
        )
    browser.execute_script("window.scrollTo(0, 0)")
    browser.set_window_size(size["width"], size["height"])


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_cleanly(site, browser, page):
    open_page(browser, f"{site}/{page}.html")
    article = browser.execute_script(
        "return document.querySelector('article').innerText"
    )
    source = (ROOT / f"{page}.md").read_text()

    # Math: MathJax replaced every $...$ and $$...$$ and reported no TeX
    # error.
    if re.search(r"\$[^$\n]+\$", source):
        assert (
            browser.execute_script(
                "return"
                " document.querySelectorAll('mjx-container').length"
            )
            > 0
        )
    prose = browser.execute_script(
        "const copy ="
        " document.querySelector('article').cloneNode(true);copy.querySelectorAll('pre,"
        " code, .cell_input, .cell_output').forEach(e =>"
        " e.remove());return copy.innerText"
    )
    raw_tex = re.search(r"\\\(|\\\[|\$\$|\\begin\{", prose)
    assert raw_tex is None, (
        "raw TeX left on the page:"
        f" {prose[raw_tex.start():raw_tex.start() + 80]!r}"
    )
    assert (
        browser.execute_script(
            "return document.querySelectorAll('mjx-merror').length"
        )
        == 0
    )
    too_wide = browser.execute_script(
        "return"
        " [...document.querySelectorAll('mjx-container[display=\"true\"]')].filter(e"
        " => e.scrollWidth > e.clientWidth + 1).map(e =>"
        " e.textContent.slice(0, 60))"
    )
    assert (
        not too_wide
    ), f"display equations wider than the text column: {too_wide}"

    # Figures: every image arrived and decoded.
    images = browser.execute_script(
        "return [...document.images].map(i => [i.currentSrc, i.complete"
        " && i.naturalWidth > 0])"
    )
    broken = [src for src, ok in images if not ok]
    assert not broken, f"images that did not load: {broken}"
    if "plt.show()" in source or "show_images(" in source:
        assert (
            images
        ), "the chapter draws figures but the page shows none"

    # Outputs: no traceback, no warning, no stderr stream.
    outputs = browser.execute_script(
        "return [...document.querySelectorAll('.cell_output')].map(e =>"
        " e.innerText).join('\\n')"
    )
    assert not WARNING_OR_TRACEBACK.search(
        outputs
    ), WARNING_OR_TRACEBACK.search(outputs).group(0)
    assert (
        browser.execute_script(
            "return document.querySelectorAll('.output.stderr,"
            " .output.traceback').length"
        )
        == 0
    )

    # Nothing the page asked for failed (a missing script, font or
    # stylesheet shows up here); the browser's own request for
    # /favicon.ico is not the page's.
    failures = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and "favicon.ico" not in entry["message"]
    ]
    assert not failures, failures
    assert article.strip()
    save_page_screenshots(browser, page)


NOTEBOOKS = [
    page
    for page in PAGES
    if "kernelspec:"
    in (ROOT / f"{page}.md").read_text().split("\n---\n", 1)[0]
]


@pytest.mark.parametrize("page", PAGES)
def test_no_code_block_scrolls_sideways(site, browser, page):
    """Every line of code shows in the column at the window's 1280 px
    (tools/format_code.py formats to that width); outputs may scroll."""
    open_page(browser, f"{site}/{page}.html")
    scrolling = browser.execute_script(
        "return [...document.querySelectorAll('article pre')]"
        ".filter(e => !e.closest('.cell_output'))"
        ".filter(e => e.scrollWidth > e.clientWidth)"
        ".map(e => e.textContent.split('\\n')"
        ".reduce((a, b) => (b.length > a.length ? b : a), ''))"
    )
    assert not scrolling, f"code wider than the column: {scrolling}"


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_shows_at_least_half_its_width(site, browser, page):
    """A figure drawn much wider than the column is shrunk until its
    labels cannot be read: each shows at half its width or more."""
    open_page(browser, f"{site}/{page}.html")
    shrunk = browser.execute_script(
        "return [...document.querySelectorAll('article .cell_output"
        " img')].filter(e => e.getBoundingClientRect().width < 0.5 *"
        " e.naturalWidth).map(e => [e.naturalWidth,"
        " e.getBoundingClientRect().width])"
    )
    assert not shrunk, f"figures [natural, shown] width in px: {shrunk}"


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_page_offers_its_chapter_as_a_notebook(site, browser, page):
    open_page(browser, f"{site}/{page}.html")
    links = browser.execute_script(
        "return"
        " [...document.querySelectorAll('.dropdown-download-buttons"
        " a')].filter(a => a.textContent.trim() === '.ipynb').map(a =>"
        " a.href)"
    )
    assert (
        len(links) == 1
    ), f"the download menu offers {len(links)} .ipynb links"
    with urllib.request.urlopen(links[0]) as response:
        notebook = nbformat.reads(response.read().decode(), as_version=4)
    nbformat.validate(notebook)
    chapter = jupytext.read(ROOT / f"{page}.md")
    code = [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    assert (
        code
        == [
            cell.source
            for cell in chapter.cells
            if cell.cell_type == "code"
        ]
        and code
    )
    assert all(
        not cell.outputs
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
    assert notebook.metadata.kernelspec.name == "python3"


def test_next_buttons_walk_through_every_chapter_in_order(site, browser):
    open_page(browser, f"{site}/{PAGES[0]}.html")
    visited = [PAGES[0]]
    for _ in PAGES:
        links = browser.find_elements("css selector", "a.right-next")
        if not links:
            break
        browser.get(links[0].get_attribute("href"))
        visited.append(
            browser.current_url.removeprefix(f"{site}/").removesuffix(
                ".html"
            )
        )
    assert visited == PAGES


def test_sidebar_links_every_chapter_from_the_front_page(site, browser):
    open_page(browser, f"{site}/{PAGES[0]}.html")
    hrefs = {
        a.get_attribute("href")
        for a in browser.find_elements(
            "css selector", "nav.bd-links a.reference"
        )
    }
    linked = {
        href.removeprefix(f"{site}/").split("#")[0].removesuffix(".html")
        for href in hrefs
    }
    assert (
        set(PAGES[1:]) <= linked
    ), f"not in the sidebar: {set(PAGES[1:]) - linked}"
