"""Assignments 02 and 05 in a real JupyterLab, driven by Playwright in Debian's headless Chromium.

Starts `jupyter lab` on a free port with a token and a temporary root holding copies of the released
notebooks. In 02 it runs the time-step widget cell (it must render as a widget, not as the static
fallback, and its Play button must animate the figure to the last step), then types a correct rnn_cell
into its answer cell and clicks nbgrader's Validate button. In 05 it trains the small GRU and plays the
gate animation to its last frame. Needs /usr/bin/chromium (`apt-get install chromium`);
without it the test is skipped with that reason.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from course.release import nbgrader_env

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
NOTEBOOK = "rnn_from_scratch.ipynb"
NOTEBOOK_05 = "gru_and_packing.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(tempfile.gettempdir()) / "a02_browser.png"

CORRECT_CELL = '''def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih
    if b_hh is not None:
        pre = pre + b_hh
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium): cannot run the "
                    "browser test")
    pytest.importorskip("playwright.sync_api", reason="the PyPI package playwright is not installed")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "release" / "02_rnn_from_scratch" / NOTEBOOK, root / NOTEBOOK)
    shutil.copy(ROOT / "release" / "05_gru_and_packing" / NOTEBOOK_05, root / NOTEBOOK_05)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    home = tmp_path_factory.mktemp("home")
    env = nbgrader_env(home)
    env.pop("COURSE_WIDGETS", None)
    # every cell stays rendered: with the default "contentVisibility" a cell scrolled out of view
    # counts as hidden for Playwright, and running a cell scrolls to the next one
    settings = home / "lab-settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(root.parent / "lab.log", "w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.open_browser=False", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n" +
                                       (root.parent / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        # reset: a fresh workspace holding only this notebook (otherwise Lab reopens 02's tab behind
        # 05's, and page-wide locators find 02's cells and its hidden execution indicator first)
        yield {"url": f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}",
               "url_05": f"{base}/lab/tree/{NOTEBOOK_05}?reset&token={token}", "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser, url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.set_default_timeout(60_000)
    pg.goto(url)
    pg.locator(".jp-Notebook .jp-Cell").first.wait_for()
    pg.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
    return pg


@pytest.fixture(scope="module")
def page(browser, lab):
    pg = _open(browser, lab["url"])
    yield pg
    pg.close()


def _code_cell(page, text):
    return page.locator(".jp-CodeCell").filter(has_text=text).first


def _run(page, cell, timeout_s=240):
    """Run one cell (click its editor, Shift+Enter) and wait until its prompt shows [n]."""
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    # "attached" as well: the prompt counts, wherever the notebook has scrolled to
    cell.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(
        state="attached", timeout=timeout_s * 1000)


def _explain(page, cell, what):
    shot = SCREENSHOT.with_name("a02_browser_failure.png")
    page.screenshot(path=str(shot))
    return f"{what}; the cell's output reads:\n{cell.locator('.jp-OutputArea').inner_text()[:1500]}\n(screenshot: {shot})"


def test_widget_animates_in_jupyterlab(page):
    _run(page, page.locator(".jp-CodeCell").first)   # the set-up cell (imports)
    cell = _code_cell(page, "widgets.rnn_steps(x_seq, rnn_demo);")
    _run(page, cell)
    play = cell.locator(".widget-play button").first
    try:  # the interactive widget, not the static fallback
        play.wait_for(timeout=60_000)
    except Exception:
        pytest.fail(_explain(page, cell, "no Play widget appeared (static fallback, or an error?)"))
    readout = cell.locator(".widget-readout").first
    image = cell.locator(".widget-output img").first
    image.wait_for()
    assert readout.inner_text().strip() == "7"
    first_src = image.get_attribute("src")
    # the static fallback would be an image outside any widget output
    outside = cell.evaluate("c => [...c.querySelectorAll('.jp-OutputArea-output img')]"
                            ".filter(i => !i.closest('.widget-output')).length")
    assert outside == 0, "the static fallback figure was shown next to the widget"
    seen, sources = _play(page, play, readout, image, last="7", seconds=90)
    assert readout.inner_text().strip() == "7", seen
    assert len(seen) >= 3, f"the slider did not move through the steps: {seen}"
    assert len(sources - {first_src}) >= 1, "the figure did not change while playing"
    page.wait_for_timeout(1500)          # let the last redraw land before the screenshot
    cell.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT))


def _play(page, play, readout, image, last: str, seconds: int):
    """Press Play and watch until the slider is back on ``last`` after moving: (steps seen, figures)."""
    play.click()
    seen, sources = set(), set()
    deadline = time.time() + seconds
    while time.time() < deadline:
        seen.add(readout.inner_text().strip())
        sources.add(image.get_attribute("src"))
        if len(seen) > 2 and readout.inner_text().strip() == last:
            break
        page.wait_for_timeout(150)
    return seen, sources


def test_validate_with_a_correct_rnn_cell(page):
    answer = page.locator(".jp-CodeCell").filter(has_text="def rnn_cell(").first
    answer.scroll_into_view_if_needed()
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(CORRECT_CELL)
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)
    text = dialog.inner_text()
    assert "Validation Results" in text
    # rnn_forward is still unanswered, so validation lists its failures, but not rnn_cell's
    assert "rnn_forward" in text
    assert "rnn_cell: " not in text, text[:2000]
    page.screenshot(path=str(SCREENSHOT.with_name("a02_validate.png")))


def test_gate_widget_animates_in_jupyterlab(browser, lab):
    """Assignment 05: train the small GRU (seconds), then play r, z, n and h over one utterance."""
    page = _open(browser, lab["url_05"])
    try:
        _run(page, page.locator(".jp-CodeCell").first)   # the set-up cell (imports)
        _run(page, _code_cell(page, "gates.train_speaker_gru("))
        cell = _code_cell(page, "gates.gate_player(")
        _run(page, cell)
        play = cell.locator(".widget-play button").first
        try:
            play.wait_for(timeout=60_000)
        except Exception:
            pytest.fail(_explain(page, cell, "no Play widget appeared for the gates"))
        readout = cell.locator(".widget-readout").first
        last = readout.inner_text().strip()          # the player starts on the last frame
        image = cell.locator(".widget-output img").first
        image.wait_for()
        first_src = image.get_attribute("src")
        seen, sources = _play(page, play, readout, image, last=last, seconds=120)
        assert readout.inner_text().strip() == last and len(seen) >= 3, seen
        assert len(sources - {first_src}) >= 1, "the gate figure did not change while playing"
        page.wait_for_timeout(1500)
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT.with_name("a05_gates.png")))
    finally:
        page.close()
