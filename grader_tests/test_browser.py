"""Assignments 02, 05 and 06 in a real JupyterLab, driven by Playwright in Debian's headless Chromium.

Starts `jupyter lab` on a free port with a token and a temporary root holding copies of the released
notebooks. In 02 it runs the time-step widget cell (it must render as a widget, not as the static
fallback, and its Play button must animate the figure to the last step), then types a correct rnn_cell
into its answer cell and clicks nbgrader's Validate button. In 05 it trains the small GRU and plays the
gate animation to its last frame. In 06 it measures the gradient norms and plays the gradient flowing
back through time (the heat map) to its last frame. Needs /usr/bin/chromium (`apt-get install chromium`);
without it the test is skipped with that reason.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from browser_lab import CHROMIUM, CHROMIUM_ARGS, Lab, saved

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "rnn_from_scratch.ipynb"
NOTEBOOK_05 = "gru_and_packing.ipynb"
NOTEBOOK_06 = "learning_through_time.ipynb"
SCREENSHOT = Path(tempfile.gettempdir()) / "a02_browser.png"
# generous: CI runs this on a busy 2-core machine (the kernel's first `import torch` alone can
# take a minute there)
RUN_S = 480

CORRECT_CELL = '''def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih
    if b_hh is not None:
        pre = pre + b_hh
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
'''


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium): cannot run the "
                    "browser test")
    pytest.importorskip("playwright.sync_api", reason="the PyPI package playwright is not installed")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "release" / "02_rnn_from_scratch" / NOTEBOOK, root / NOTEBOOK)
    shutil.copy(ROOT / "release" / "05_gru_and_packing" / NOTEBOOK_05, root / NOTEBOOK_05)
    shutil.copy(ROOT / "release" / "06_learning_through_time" / NOTEBOOK_06, root / NOTEBOOK_06)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    server = Lab("lab", root, tmp_path_factory.mktemp("home")).start()
    try:
        server.wait_ready(90)
        # reset: a fresh workspace holding only this notebook (otherwise Lab reopens 02's tab behind
        # 05's, and page-wide locators find 02's cells and its hidden execution indicator first)
        yield {"url": server.url(f"lab/tree/{NOTEBOOK}"), "url_05": server.url(f"lab/tree/{NOTEBOOK_05}"),
               "url_06": server.url(f"lab/tree/{NOTEBOOK_06}"),
               "root": root, "api": f"{server.base}/api", "token": server.token, "log": server.log_path}
    finally:
        server.stop()


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
    return pg


@pytest.fixture(scope="module")
def page(browser, lab):
    pg = _open(browser, lab["url"])
    yield pg
    pg.close()


def _code_cell(page, text):
    return page.locator(".jp-CodeCell").filter(has_text=text).first


def _kernel_state(lab, notebook) -> str:
    """The notebook's kernel as the server sees it: its execution state once the page is connected
    to it ("idle", "busy", ...), else why not ("no session yet", "no browser connected", ...)."""
    try:
        with urllib.request.urlopen(f"{lab['api']}/sessions?token={lab['token']}", timeout=10) as r:
            sessions = json.load(r)
    except OSError as exc:              # a server too busy to answer at once
        return f"server did not answer: {exc}"
    for s in sessions:
        if s.get("path", "").endswith(notebook) and s.get("kernel"):
            k = s["kernel"]
            return k["execution_state"] if k.get("connections", 0) > 0 else "no browser connected"
    return "no session yet"


def _wait_kernel_idle(page, lab, notebook, deadline):
    """Until the notebook's kernel is started, connected to this page and idle, and the page shows
    it idle."""
    state = ""
    while time.time() < deadline:
        state = _kernel_state(lab, notebook)
        if state == "idle":
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   state="attached", timeout=max(1, deadline - time.time()) * 1000)
            return
        page.wait_for_timeout(250)      # poll interval, not a synchronisation
    raise AssertionError(f"the kernel of {notebook} was not ready in time: {state}")


def _run(page, lab, notebook, cell, done, timeout_s=RUN_S):
    """Run a cell (click its editor, Shift+Enter) until ``done``, a locator in the cell that shows
    it did its work, is there (not for a prompt number). Waits until the server reports the kernel
    idle and connected to this page first; if the run was not taken (its prompt still [ ] 20 s later
    with the kernel idle: a lost keypress, a click that did not focus the editor), runs it again."""
    deadline = time.time() + timeout_s
    prompt = cell.locator(".jp-InputPrompt")
    for _attempt in range(3):
        _wait_kernel_idle(page, lab, notebook, deadline)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        started = time.time()
        while time.time() < deadline:
            if done.count():
                done.first.wait_for(state="attached")
                return
            text = prompt.inner_text()
            if re.search(r"\[\d+\]", text) and not done.count():
                # finished without the expected output: wait a little for late rendering (a widget's
                # view arrives after the execute reply), then say what the cell shows
                try:
                    done.first.wait_for(state="attached", timeout=60_000)
                    return
                except Exception:
                    pytest.fail(_explain(page, cell, f"the cell ran (prompt {text.strip()}) but "
                                         "did not show what the test waits for"))
            if "[ ]" in text.replace("\xa0", " ") and time.time() - started > 20 \
                    and _kernel_state(lab, notebook) == "idle":
                break                   # never started although the kernel is idle: run it again
            page.wait_for_timeout(250)  # poll interval, not a synchronisation
        else:
            break
    pytest.fail(_explain(page, cell, f"the cell did not finish in {timeout_s} s (kernel: "
                         f"{_kernel_state(lab, notebook)}); server log:\n"
                         + lab["log"].read_text(errors="replace")[-3000:]))


def _explain(page, cell, what):
    shot = SCREENSHOT.with_name("a02_browser_failure.png")
    page.screenshot(path=str(shot))
    return f"{what}; the cell's output reads:\n{cell.locator('.jp-OutputArea').inner_text()[:1500]}\n(screenshot: {shot})"


def _setup_cell(page):
    """The set-up cell (imports) and what it prints when it has run."""
    cell = page.locator(".jp-CodeCell").first
    return cell, cell.locator(".jp-OutputArea-output").filter(has_text="PyTorch")


def test_widget_animates_in_jupyterlab(page, lab):
    _run(page, lab, NOTEBOOK, *_setup_cell(page))
    cell = _code_cell(page, "widgets.rnn_steps(x_seq, rnn_demo);")
    # the interactive widget, not the static fallback (a figure outside any widget: checked below)
    play = cell.locator(".widget-play button").first
    _run(page, lab, NOTEBOOK, cell, play)
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
    _screenshot(page, lab, NOTEBOOK, cell, image, SCREENSHOT)


def _screenshot(page, lab, notebook, cell, image, path):
    """A screenshot of the cell once the last frame has landed: the kernel idle (it draws each
    frame) and the figure unchanged for a second, then loaded."""
    deadline, last, same = time.time() + 60, None, 0
    while time.time() < deadline and same < 4:
        src = image.get_attribute("src")
        same = same + 1 if src == last and _kernel_state(lab, notebook) == "idle" else 0
        last = src
        page.wait_for_timeout(250)      # poll interval, not a synchronisation
    cell.scroll_into_view_if_needed()
    image.evaluate("i => i.complete || new Promise(r => { i.onload = i.onerror = r; })")
    page.screenshot(path=str(path))


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


def test_validate_with_a_correct_rnn_cell(page, lab):
    answer = page.locator(".jp-CodeCell").filter(has_text="def rnn_cell(").first
    answer.scroll_into_view_if_needed()
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(CORRECT_CELL)
    # Validate checks the file on disk: save until it holds the answer (Ctrl+S again if a keypress
    # was lost under load)
    deadline = time.time() + RUN_S
    while not saved(lab["root"] / NOTEBOOK, [CORRECT_CELL]):
        assert time.time() < deadline, "the notebook was not saved with the answer"
        answer.locator(".cm-content").click()
        page.keyboard.press("Control+s")
        for _ in range(80):             # up to 20 s for this save to land, then press again
            if saved(lab["root"] / NOTEBOOK, [CORRECT_CELL]):
                break
            page.wait_for_timeout(250)  # poll interval, not a synchronisation
    page.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="Validate").click()
    # the dialog opens when the whole notebook has run
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    dialog.wait_for(timeout=RUN_S * 1000)
    text = dialog.inner_text()
    assert "Validation Results" in text
    # rnn_forward is still unanswered, so validation lists its failures, but not rnn_cell's
    assert "rnn_forward" in text
    assert "rnn_cell: " not in text, text[:2000]
    page.screenshot(path=str(SCREENSHOT.with_name("a02_validate.png")))


def _compute_then_play(browser, lab, url, notebook, compute, computed, player, screenshot, what):
    """Open ``notebook``, run its set-up, the cell holding ``compute`` (until it prints ``computed``),
    then the player cell holding ``player``; press Play and watch it go round to its last frame."""
    page = _open(browser, url)
    try:
        _run(page, lab, notebook, *_setup_cell(page))
        cell = _code_cell(page, compute)
        _run(page, lab, notebook, cell, cell.locator(".jp-OutputArea-output").filter(has_text=computed))
        cell = _code_cell(page, player)
        play = cell.locator(".widget-play button").first
        _run(page, lab, notebook, cell, play)
        readout = cell.locator(".widget-readout").first
        last = readout.inner_text().strip()          # the player starts on the last frame
        image = cell.locator(".widget-output img").first
        image.wait_for()
        first_src = image.get_attribute("src")
        seen, sources = _play(page, play, readout, image, last=last, seconds=120)
        assert readout.inner_text().strip() == last and len(seen) >= 3, seen
        assert len(sources - {first_src}) >= 1, f"the {what} did not change while playing"
        _screenshot(page, lab, notebook, cell, image, SCREENSHOT.with_name(screenshot))
    finally:
        page.close()


def test_gate_widget_animates_in_jupyterlab(browser, lab):
    """Assignment 05: train the small GRU (seconds), then play r, z, n and h over one utterance."""
    _compute_then_play(browser, lab, lab["url_05"], NOTEBOOK_05, "gates.train_speaker_gru(", "test accuracy",
                       "gates.gate_player(", "a05_gates.png", "gate figure")


def test_gradient_flow_widget_animates_in_jupyterlab(browser, lab):
    """Assignment 06: measure ‖∂L/∂h_t‖ for the four layers (seconds), then play the heat map that sends
    the gradient one more step back from the loss in each frame."""
    _compute_then_play(browser, lab, lab["url_06"], NOTEBOOK_06, "measured = gradients.measure_gradients()",
                       "test accuracy", "gradients.gradient_player(", "a06_gradient_flow.png", "heat map")
