"""The whole nbgrader exchange life cycle of assignment 02, clicked through in JupyterLab.

Two `jupyter lab` servers share one local exchange folder, each with its own HOME, Jupyter dirs,
token and port, driven by Playwright in Debian's headless Chromium:

1. instructor (rooted at a scratch course: the repository's nbgrader_config.py, plus the exchange,
   and source/02_rnn_from_scratch): Formgrader -> Generate, Release;
2. student `zoe` (own root folder): Assignments tab -> Fetch, answer both exercises in the
   notebook, Validate, Submit;
3. instructor: Collect, Autograde, the submission's grading view, Generate and Release feedback;
4. student: Fetch Feedback and read the feedback page: full marks, the checks' messages, no line of
   any hidden test.

The gradebook of the scratch course must give zoe full marks. Every step leaves a screenshot in
<tmp>/workflow_shots/; a failing step adds one (``NN_step_FAILED.png``) and both servers' logs to
the assertion message. Needs /usr/bin/chromium and the PyPI package playwright, else it is skipped.
"""
from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from browser_lab import CHROMIUM, CHROMIUM_ARGS, Lab, saved

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
COURSE = "pytorch-rnn"
ASSIGNMENT = "02_rnn_from_scratch"
NOTEBOOK = "rnn_from_scratch.ipynb"
STUDENT = "zoe"
SHOTS = Path(tempfile.gettempdir()) / "workflow_shots"
# generous: CI runs this on a busy 2-core machine; a whole-notebook run (Validate, Autograde) is the
# slowest step
UI_MS = 120_000
RUN_MS = 420_000


# ----------------------------------------------------------------------------------- the notebook

def _source_cells():
    return json.loads((ROOT / "source" / ASSIGNMENT / NOTEBOOK).read_text())["cells"]


def _answers() -> list[str]:
    """Each answer cell of the source notebook with its solution markers dropped: correct code."""
    out = []
    for cell in _source_cells():
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            out.append("\n".join(l for l in lines if "### BEGIN SOLUTION" not in l
                                 and "### END SOLUTION" not in l) + "\n")
    return out


def _hidden_lines() -> list[str]:
    """Every non-blank line between ### BEGIN / END HIDDEN TESTS in the source notebook."""
    lines = []
    for cell in _source_cells():
        inside = False
        for line in "".join(cell["source"]).splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def _points() -> dict[str, float]:
    """grade_id -> points of every graded test cell."""
    return {m["grade_id"]: float(m["points"]) for m in
            (c["metadata"].get("nbgrader", {}) for c in _source_cells()) if m.get("grade")}


def _check_labels() -> list[str]:
    """The label= of every graded check call (a passing check prints "✓ <label>: ...")."""
    labels = []
    for cell in _source_cells():
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            labels += re.findall(r'label="([^"]+)"', "".join(cell["source"]).split("###")[0])
    return labels


# ------------------------------------------------------------------------------------ the servers

# -------------------------------------------------------------------------------- the browser side

class Steps:
    """Numbered steps: a screenshot after each; a failing one adds a screenshot, the dialog on the
    page and both servers' logs to the assertion message."""

    def __init__(self, labs):
        self.labs, self.n, self.stem, self.times = labs, 0, "", []
        shutil.rmtree(SHOTS, ignore_errors=True)
        SHOTS.mkdir(parents=True)

    @contextlib.contextmanager
    def __call__(self, name: str, page):
        self.n += 1
        self.stem, t0 = f"{self.n:02d}_{name}", time.time()
        page.bring_to_front()         # the other user's tab goes to the background
        try:
            yield
            page.screenshot(path=str(SHOTS / f"{self.stem}.png"))
        except Exception as exc:
            shot = SHOTS / f"{self.stem}_FAILED.png"
            dialogs = ""
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot))
                dialogs = "\n".join(page.locator(".jp-Dialog").all_inner_texts())[:3000]
            logs = "\n".join(f"----- {lab.name} server log (tail) -----\n{lab.log_tail()}"
                             for lab in self.labs)
            raise AssertionError(f"step {self.stem} failed: {type(exc).__name__}: {exc}\n"
                                 f"screenshot: {shot}\n"
                                 + (f"dialog on the page:\n{dialogs}\n" if dialogs else "")
                                 + logs) from exc
        self.times.append((self.stem, round(time.time() - t0, 1)))

    def shot(self, page, suffix: str):
        page.screenshot(path=str(SHOTS / f"{self.stem}_{suffix}.png"))


def _new_page(browser, stack):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_MS)
    stack.callback(page.close)
    return page


def _lab_ready(page):
    page.locator("#jp-main-dock-panel").wait_for()
    page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).wait_for()


def _until(act, shown, what: str, tries=3, each_ms=30_000):
    """``act()`` until the locator ``shown`` appears (a click that landed while the page was still
    wiring its handlers, or on a node that was being re-rendered, is repeated)."""
    for attempt in range(tries):
        act()
        try:
            shown.first.wait_for(timeout=each_ms)
            return
        except Exception:
            if attempt == tries - 1:
                raise AssertionError(f"{what}: nothing happened after {tries} tries") from None


def _menu(page, item: str):
    """Nbgrader menu -> item."""
    entry = page.locator(".lm-Menu-content .lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")))

    def open_menu():
        if not entry.count():        # a second click on an open menu would close it
            page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
    _until(open_menu, entry, "opening the Nbgrader menu")
    entry.click()


def _modal(step, page, frame, expect: str, timeout=UI_MS) -> str:
    """Wait for the formgrader's result dialog, screenshot it, fail with its log and traceback
    unless it is the success dialog saying ``expect``; close it. Returns its text."""
    modal = frame.locator("#success-modal.in, #error-modal.in").first    # .in: shown
    modal.wait_for(state="visible", timeout=timeout)
    # let its slide-in transition finish before the screenshot
    modal.evaluate("m => Promise.all(m.getAnimations({subtree: true}).map(a => a.finished))")
    step.shot(page, "dialog")
    text = modal.inner_text()
    (SHOTS / f"{step.stem}_dialog.txt").write_text(text)
    assert modal.get_attribute("id") == "success-modal" and expect in text, text[-5000:]
    modal.locator(".modal-footer button").click()
    modal.wait_for(state="detached")
    return text


def _row(frame, text: str):
    return frame.locator("#main-table tr").filter(has_text=text)


def _editor_text(cell) -> str:
    return "\n".join(line.rstrip() for line in
                     cell.locator(".cm-content").inner_text().replace("\u00a0", " ").splitlines())


def _fill_cell(page, cell, code: str):
    """Type ``code`` over the text of a code cell's editor; again if it did not take."""
    want = "\n".join(line.rstrip() for line in code.strip().splitlines())
    for _ in range(3):
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(code)
        if _editor_text(cell).strip() == want:
            return
    raise AssertionError(f"the cell's editor holds:\n{_editor_text(cell)}\ninstead of:\n{want}")


def _save(page, path: Path, answers: list[str], seconds: float):
    """Ctrl+S until the notebook on disk holds the answers (a keypress lost under load: again)."""
    deadline = time.time() + seconds
    while True:
        page.keyboard.press("Control+s")
        try:
            _wait_for(lambda: saved(path, answers), "the answers saved to disk",
                      min(20.0, max(0.0, deadline - time.time())))
            return
        except AssertionError:
            if time.time() > deadline:
                raise


def _html_text(page: str) -> str:
    """The text of an HTML page: no tags, no scripts or styles, entities decoded."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", page)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _check_feedback(text: str, max_score: float, points: dict, where: str):
    """Full marks, each check's message, and no line of any hidden test, in a feedback text."""
    total = re.search(rf"{Path(NOTEBOOK).stem} \(Score: ([\d.]+) / ([\d.]+)\)", text)
    assert total, f"{where}: no total score"
    assert float(total[1]) == float(total[2]) == max_score, f"{where}: {total[0]}"
    cells = re.findall(r"Test cell \(Score: ([\d.]+) / ([\d.]+)\)", text)
    full = sorted((p, p) for p in points.values())
    got = sorted((float(a), float(b)) for a, b in cells)
    assert got == full, f"{where}: per-cell scores {cells}"
    for label in _check_labels():           # what each passing check tells the student
        assert f"✓ {label}:" in text, f"{where}: no message of the check {label!r}"
    leaked = [line for line in _hidden_lines() if line in text]
    assert not leaked, f"{where} shows hidden test lines: {leaked}"
    assert "seed=None" not in text and "HIDDEN TESTS" not in text, where


def _wait_for(predicate, what: str, seconds: float):
    deadline = time.time() + seconds
    while not predicate():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.25)


# ------------------------------------------------------------------------------------------ test

@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium): cannot run the "
                    "browser test")
    pytest.importorskip("playwright.sync_api",
                        reason="the PyPI package playwright is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def test_release_submit_grade_feedback_through_the_browser(browser, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)        # what the README asks of a shared exchange
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    # the course's own config, copied at test time, with the exchange added (the repository's file
    # is never changed)
    config = (ROOT / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(
        config + f"\n# added by {Path(__file__).name}\nc.Exchange.root = {str(exchange)!r}\n")

    student_root = tmp_path / "zoe"
    student_root.mkdir()
    student_home = tmp_path / "zoe_home"
    (student_home / ".jupyter").mkdir(parents=True)
    # The student's own nbgrader config, in her JUPYTER_CONFIG_DIR (~/.jupyter). Both servers run as
    # the same OS user, and nbgrader 0.9.6 names a submission after `CourseDirectory.student_id`
    # when it is not its default "*" (exchange/default/submit.py, init_dest), else after the OS
    # user (utils.get_username()); collect then takes the student id from the file name
    # "<student>+<assignment>+<timestamp>+<random>" in the inbound folder. fetch_feedback and the
    # assignment list use the same student_id, so setting it here makes her `zoe` throughout.
    (student_home / ".jupyter" / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.CourseDirectory.student_id = {STUDENT!r}\n")

    instructor = Lab("instructor", course, tmp_path / "instructor_home")
    student = Lab("student", student_root, student_home)
    t_start = time.time()
    with contextlib.ExitStack() as stack:
        for lab in (instructor, student):
            lab.start()
            stack.callback(lab.stop)
        for lab in (instructor, student):
            lab.wait_ready()
        # closed before the servers stop (the stack unwinds last-in first-out)
        teacher, zoe = _new_page(browser, stack), _new_page(browser, stack)
        step = Steps([instructor, student])
        _workflow(step, teacher, zoe, instructor, student, course, student_root, exchange)
    print("step times:", step.times, f"total {time.time() - t_start:.1f} s")


def _workflow(step, teacher, zoe, instructor, student, course, student_root, exchange):
    points = _points()
    max_score = float(sum(points.values()))

    with step("labs_open", teacher):
        zoe.goto(student.url(), wait_until="commit")      # both load at once
        teacher.goto(instructor.url())
        _lab_ready(teacher)
        _lab_ready(zoe)
        teacher.locator(".jp-DirListing-item").filter(has_text="nbgrader_config.py").wait_for()

    # ---- 1. instructor: generate the student version and release it to the exchange
    with step("formgrader", teacher):
        _menu(teacher, "Formgrader")
        fg = teacher.frame_locator("#formgrader-iframe iframe")
        _row(fg, ASSIGNMENT).locator("td.status", has_text="draft").wait_for()
    with step("generated", teacher):
        _row(fg, ASSIGNMENT).locator("td.assign a").click()
        _modal(step, teacher, fg, f"Successfully created the student version of '{ASSIGNMENT}'",
               RUN_MS)
        _row(fg, ASSIGNMENT).locator("td.release a").wait_for()   # shown once release/ exists
        assert (course / "release" / ASSIGNMENT / NOTEBOOK).is_file()
    with step("released", teacher):
        _row(fg, ASSIGNMENT).locator("td.release a").click()
        _modal(step, teacher, fg, f"Successfully released '{ASSIGNMENT}'")
        _row(fg, ASSIGNMENT).locator("td.status", has_text="released").wait_for()
        assert (exchange / COURSE / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()

    # ---- 2. student: fetch, answer, validate, submit
    with step("assignments_tab", zoe):
        _menu(zoe, "Assignment List")
        released = zoe.locator("#released_assignments_list .list_item").filter(has_text=ASSIGNMENT)
        released.wait_for()
    with step("fetched", zoe):
        released.get_by_role("button", name="Fetch").click()
        fetched = zoe.locator("#fetched_assignments_list .list_item").filter(has_text=ASSIGNMENT)
        fetched.wait_for()
        assert (student_root / ASSIGNMENT / NOTEBOOK).is_file()
    with step("answered", zoe):
        fetched.get_by_text(ASSIGNMENT, exact=True).click()              # unfold its notebooks
        zoe.locator("#fetched_assignments_list").get_by_text(Path(NOTEBOOK).stem,
                                                             exact=True).click()
        nb = zoe.locator(".jp-NotebookPanel").filter(has_text="rnn_forward").first
        for code in _answers():
            cell = nb.locator(".jp-CodeCell").filter(has_text=code.splitlines()[0]).first
            _fill_cell(zoe, cell, code)
        _save(zoe, student_root / ASSIGNMENT / NOTEBOOK, _answers(), UI_MS / 1000)
        nb.locator(".jp-CodeCell").filter(has_text=_answers()[0].splitlines()[0]).first \
            .scroll_into_view_if_needed()
    with step("validated", zoe):
        nb.locator(".jp-Toolbar").get_by_role("button", name="Validate").click()
        dialog = zoe.locator(".jp-Dialog").filter(has_text="Validation Results")
        dialog.wait_for(timeout=RUN_MS)          # opens when the whole notebook has run
        text = dialog.inner_text()
        assert "Success! Your notebook passes all the tests." in text, text[:3000]
    with step("submitted", zoe):
        dialog.get_by_role("button", name="Ok").click()
        dialog.wait_for(state="detached")
        zoe.locator(".lm-TabBar-tab").filter(has_text="Assignments").click()
        fetched.get_by_role("button", name="Submit").click()
        zoe.locator("#submitted_assignments_list .list_item").filter(has_text=ASSIGNMENT).wait_for()
        inbound = [p.name for p in (exchange / COURSE / "inbound").iterdir()]
        assert len(inbound) == 1 and inbound[0].startswith(f"{STUDENT}+{ASSIGNMENT}+"), inbound

    # ---- 3. instructor: collect, autograde, the grading view, feedback
    with step("collected", teacher):
        _row(fg, ASSIGNMENT).locator("td.collect a").click()
        log = _modal(step, teacher, fg, f"Successfully collected submissions of '{ASSIGNMENT}'")
        assert f"Collecting submission: {STUDENT} {ASSIGNMENT}" in log, log
        _row(fg, ASSIGNMENT).locator("td.num-submissions a", has_text="1").wait_for()
        assert (course / "submitted" / STUDENT / ASSIGNMENT / NOTEBOOK).is_file()
    with step("autograded", teacher):
        _row(fg, ASSIGNMENT).locator("td.num-submissions a").click()   # -> Manage Submissions
        _row(fg, STUDENT).locator("td.autograde a").click()
        _modal(step, teacher, fg,
               f"Successfully autograded '{ASSIGNMENT}' for student '{STUDENT}'", RUN_MS)
        _row(fg, STUDENT).locator("td.status", has_text="graded").wait_for()
        score = _row(fg, STUDENT).locator("td.score")
        _wait_for(lambda: score.inner_text().strip() != "", "the score column", UI_MS / 1000)
        assert score.inner_text().strip() == f"{max_score:g} / {max_score:g}", score.inner_text()
    with step("grading_view", teacher):
        _row(fg, STUDENT).locator("td.student-name a").click()     # -> the student's notebooks
        _row(fg, Path(NOTEBOOK).stem).locator("a", has_text=Path(NOTEBOOK).stem).click()
        fg.locator("#notebook-container").first.wait_for()
        for grade_id, p in points.items():
            # each test cell's score box: the autograded score is its placeholder (the value is
            # left for a manual override)
            box = fg.locator(f"input.score#{grade_id}")
            _wait_for(lambda: box.get_attribute("placeholder"), f"the score of {grade_id}",
                      UI_MS / 1000)
            assert float(box.get_attribute("placeholder")) == p and box.input_value() == "", \
                (grade_id, box.get_attribute("placeholder"), box.input_value(), p)
        fg.locator(".cell").filter(has=fg.locator(f"input.score#{next(iter(points))}")).first \
            .scroll_into_view_if_needed()
    with step("feedback_generated", teacher):
        fg.get_by_role("link", name="Manual Grading").first.click()    # -> a page with the sidebar
        fg.get_by_role("link", name="Manage Assignments").first.click()
        _row(fg, ASSIGNMENT).locator("td.generate-feedback a").click()
        _modal(step, teacher, fg, f"Successfully generated feedback of '{ASSIGNMENT}'", RUN_MS)
        assert list((course / "feedback" / STUDENT / ASSIGNMENT).glob("*.html"))
    with step("feedback_released", teacher):
        _row(fg, ASSIGNMENT).locator("td.release-feedback a").click()
        _modal(step, teacher, fg, f"Successfully released feedback of '{ASSIGNMENT}'")
        assert list((exchange / COURSE / "feedback").glob("*.html"))

    # ---- 4. student: fetch the feedback and read it in JupyterLab
    with step("feedback_fetched", zoe):
        zoe.locator("#refresh_assignments_list").click()
        sub = zoe.locator("#submitted_assignments_list .list_item").filter(has_text=ASSIGNMENT)
        sub.get_by_text("feedback available to fetch").wait_for()
        sub.get_by_role("button", name="Fetch Feedback").click()
        sub.get_by_text("view feedback").wait_for()
        pages = list((student_root / ASSIGNMENT / "feedback").glob("*/*.html"))
        assert [p.name for p in pages] == [Path(NOTEBOOK).stem + ".html"], pages
    with step("feedback_page", zoe):
        sub.get_by_text("view feedback").click()       # the file browser goes to its folder
        viewer = zoe.frame_locator(".jp-HTMLViewer iframe")
        _until(zoe.locator(".jp-DirListing-item").filter(has_text=pages[0].name).dblclick,
               zoe.locator(".jp-HTMLViewer iframe"), "opening the feedback page")
        viewer.get_by_text(re.compile(r"\(Score: [\d.]+ / [\d.]+\)")).first.wait_for()
        shown = viewer.locator("body").inner_text()
        _check_feedback(shown, max_score, points, "the feedback page in JupyterLab")
        _check_feedback(_html_text(pages[0].read_text()), max_score, points, str(pages[0]))
    with step("feedback_test_cell", zoe):
        viewer.get_by_text(f"✓ {_check_labels()[0]}:").first.scroll_into_view_if_needed()

    # ---- the instructor's gradebook
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        submission = gb.find_submission(ASSIGNMENT, STUDENT)
        assert assignment.max_score == max_score
        assert submission.max_score == max_score
        assert submission.score == max_score, f"zoe got {submission.score} / {max_score}"
