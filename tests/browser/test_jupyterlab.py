"""The chapters in JupyterLab, started by `make lab` itself, in headless
Chromium: a double-click on a chapter in the file browser opens it as a
notebook whose cells run and whose save gives back the same MyST
markdown. Through the server's contents API every page of the book is
the notebook jupytext reads, and saving it back after a run changes no
byte. The screenshot lands in _build/screenshots/."""

import difflib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import jupytext
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver import ActionChains, Keys
from selenium.webdriver.support.ui import WebDriverWait

# noqa: F401  (browser: the shared fixture)
from test_rendered_book import ROOT, SCREENSHOTS, browser

PAGES = sorted((ROOT / "book").glob("*.md"))
CHAPTER = ROOT / "book" / "data.md"  # the cheapest chapter to run
# The cells run in the browser: the chapter's set-up cells, then up to
# the first that reads MNIST, and what their outputs must show.
LAST_CELL_RUN = 'train_x, train_y = load_mnist("train")'
EXPECTED_OUTPUTS = ["computing on ", "torch.Size([60000, 784])"]
TOKEN = secrets.token_hex(16)
ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def api(lab, method, path, body=None):
    request = urllib.request.Request(
        f"{lab}/api/{path}",
        method=method,
        data=body and json.dumps(body).encode(),
        headers={
            "Authorization": f"token {TOKEN}",
            "Content-Type": "application/json",
        },
    )
    with NO_PROXY.open(request, timeout=120) as response:
        return json.loads(response.read() or "null")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a free port with a known token. The user's own
    Jupyter settings and workspaces are swapped for empty folders, so
    only what the project sets counts. Yields the server's address."""
    home = tmp_path_factory.mktemp("jupyter-home")
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    # `make lab` refuses root unless told (CI runs as root)
    as_root = " --allow-root" if os.geteuid() == 0 else ""
    options = (
        "LAB_OPTIONS=--no-browser --port=0"
        f" --IdentityProvider.token={TOKEN}{as_root}"
    )
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", options],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log = []
    # line by line, as printed
    threading.Thread(
        target=lambda: log.extend(server.stdout), daemon=True
    ).start()
    # The server prints its address a moment before it listens: wait for
    # both.
    address, deadline = None, time.monotonic() + 180
    while (
        address is None
        and server.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(1)
        if printed := ADDRESS.search("".join(log)):
            try:
                api(
                    f"http://127.0.0.1:{printed.group(1)}",
                    "GET",
                    "status",
                )
                address = f"http://127.0.0.1:{printed.group(1)}"
            except urllib.error.URLError:
                pass
    try:
        if address is None:
            pytest.fail(
                "`make lab` printed no http://127.0.0.1:PORT/lab address"
                " that answers:\n"
                + "".join(log[-30:])
            )
        yield address
        api(address, "POST", "shutdown")  # stops the kernels too
        server.wait(60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)


def double_click_in_file_browser(browser, name):
    """Double-click the file `name` in JupyterLab's file browser; False
    while it is not listed."""
    for item in browser.find_elements(
        "css selector", ".jp-DirListing-itemText"
    ):
        if item.text == name:
            ActionChains(browser).double_click(item).perform()
            return True
    return False


def test_double_click_opens_a_chapter_as_a_notebook_that_runs_and_saves_unchanged(
    lab, browser
):
    original, checkpoints = (
        CHAPTER.read_bytes(),
        CHAPTER.parent / ".ipynb_checkpoints",
    )
    leave_checkpoints = checkpoints.exists()
    # JupyterLab redraws its file list and cells as they load: an element
    # found may be gone when clicked.
    wait = WebDriverWait(
        browser, 120, ignored_exceptions=[StaleElementReferenceException]
    )
    try:
        browser.get(
            f"{lab}/lab/tree/{CHAPTER.parent.name}?token={TOKEN}"
        )
        wait.until(
            lambda b: double_click_in_file_browser(b, CHAPTER.name)
        )

        # A notebook, not the text editor: every cell of the chapter, its
        # name on the current tab, a kernel.
        wait.until(
            lambda b: b.find_elements(
                "css selector",
                ".jp-NotebookPanel .jp-Cell, .jp-FileEditor",
            )
        )
        assert not browser.find_elements(
            "css selector", ".jp-FileEditor"
        ), f"{CHAPTER.name} opened in the text editor"
        cells = jupytext.read(CHAPTER).cells
        wait.until(
            lambda b: len(
                b.find_elements(
                    "css selector", ".jp-NotebookPanel .jp-Cell"
                )
            )
            == len(cells)
        )
        assert (
            browser.find_element(
                "css selector", ".lm-TabBar-tab.jp-mod-current"
            ).text
            == CHAPTER.name
        )
        wait.until(
            lambda b: b.find_elements(
                "css selector",
                ".jp-Notebook-ExecutionIndicator[data-status='idle']",
            )
        )

        # Run the cells from the top with Shift+Enter, as a student does,
        # up to the first that reads MNIST; each key waits for the
        # previous one to have moved on to the next cell.
        last = next(
            i
            for i, cell in enumerate(cells)
            if LAST_CELL_RUN in cell.source
        )
        active = (
            "return [...document.querySelectorAll('.jp-NotebookPanel"
            " .jp-Cell')].findIndex(cell =>"
            " cell.classList.contains('jp-mod-active'))"
        )
        wait.until(
            lambda b: b.find_element(
                "css selector", ".jp-NotebookPanel .jp-Cell"
            ).click()
            or b.execute_script(active) == 0
        )
        for cell in range(last + 1):
            wait.until(lambda b: b.execute_script(active) == cell)
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(
                Keys.ENTER
            ).key_up(Keys.SHIFT).perform()
        # A traceback or a warning shows as stderr output; it stops the
        # wait too, as the cells after it never run.
        stderr = "document.querySelector('[data-mime-type=\"application/vnd.jupyter.stderr\"]')"
        WebDriverWait(browser, 300).until(
            lambda b: b.execute_script(
                "const prompt ="
                " document.querySelectorAll('.jp-NotebookPanel"
                " .jp-Cell')[arguments[0]].querySelector('.jp-InputPrompt').textContent;"
                f" return /\\[\\d+\\]/.test(prompt) || {stderr} !=="
                " null",
                last,
            )
        )
        outputs = browser.execute_script(
            "return [...document.querySelectorAll('.jp-NotebookPanel"
            " .jp-OutputArea-output')].map(e =>"
            " e.textContent).join('\\n')"
        )
        assert browser.execute_script(
            f"return {stderr} === null"
        ), f"a cell failed or warned:\n{outputs}"
        for expected in EXPECTED_OUTPUTS:
            assert expected in outputs
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "jupyterlab_data.png"))

        # Ctrl+S writes the chapter back: the same MyST markdown, no
        # outputs, the header untouched.
        saved_before = CHAPTER.stat().st_mtime_ns
        ActionChains(browser).key_down(Keys.CONTROL).send_keys(
            "s"
        ).key_up(Keys.CONTROL).perform()
        wait.until(
            lambda b: CHAPTER.stat().st_mtime_ns != saved_before
            and not b.find_elements(
                "css selector", ".lm-TabBar-tab.jp-mod-dirty"
            )
        )
        saved = CHAPTER.read_bytes()
        assert saved == original, "".join(
            difflib.unified_diff(
                original.decode().splitlines(True),
                saved.decode().splitlines(True),
                "chapter",
                "saved from JupyterLab",
            )
        )
    # a failed check must not leave a changed chapter, or checkpoints,
    # behind
    finally:
        if CHAPTER.read_bytes() != original:
            CHAPTER.write_bytes(original)
        if not leave_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)


@pytest.fixture(scope="module")
def copies():
    """A folder inside the server's root for copies of the pages that a
    save may overwrite."""
    folder = ROOT / "_build" / "jupyterlab-saves"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.stem)
def test_every_page_is_served_as_its_notebook_and_saved_back_unchanged(
    lab, copies, page
):
    model = api(lab, "GET", f"contents/book/{page.name}")
    assert model["type"] == "notebook"
    notebook = model["content"]
    served = [
        cell["source"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    ]
    assert served == [
        cell.source
        for cell in jupytext.read(page).cells
        if cell.cell_type == "code"
    ]

    # What JupyterLab sends after a run: the kernel's spec (replaced only
    # when it differs, as JupyterLab does), language_info and outputs;
    # saved over a copy of the page, which must come back byte for byte.
    spec = api(lab, "GET", "kernelspecs")["kernelspecs"]["python3"][
        "spec"
    ]
    kernel = {
        "name": "python3",
        "display_name": spec["display_name"],
        "language": spec["language"],
    }
    if notebook["metadata"].get("kernelspec") != kernel:
        notebook["metadata"]["kernelspec"] = kernel
    notebook["metadata"]["language_info"] = {
        "name": "python",
        "file_extension": ".py",
    }
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 1
            cell["outputs"] = [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "an output\n",
                }
            ]
    copy = copies / page.name
    shutil.copyfile(page, copy)
    api(
        lab,
        "PUT",
        f"contents/{copy.relative_to(ROOT).as_posix()}",
        {"type": "notebook", "content": notebook},
    )
    assert copy.read_text() == page.read_text()
