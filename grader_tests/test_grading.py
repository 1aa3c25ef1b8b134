"""Every assignment through the course's own grader, ``python -m course.grade`` (the command the README
tells instructors to use): full marks, zero, other correct styles, one mistake at a time.

The assignments are discovered with ``course.assignments.names()``; each one's tables live in
``grader_tests/fixtures/aNN_<name>.py`` (MISTAKES, STYLES, FEEDBACK, HIDDEN, MIN_POINTS). ONE run
of ``course.grade`` (2 workers) grades, for every assignment together (as an instructor grades a
class folder that holds several assignments), in a temporary copy of the course: each assignment's
solution, untouched release ("blank"), other correct styles and one submission per mistake; each
assignment's tests then look only at its own results. (One run instead of one per assignment: the
command's fixed start-up and the last notebook's tail are paid once, not five times.) Properties
asserted for every assignment:

* the solution gets full marks, unflagged; the untouched release scores zero;
* other correct styles get full marks with no flag;
* each mistake loses exactly its cells (every other cell keeps its points);
* the feedback names the mistake (a phrase in the output of the autograded test cell);
* the hidden tests are back in the autograded notebook, and no test cell writes to stderr;
* the release holds no solution, no hidden test, no key;
* skipping the cells no grade needs (the default) changes no score: every submission above is graded
  a second time with ``--run-all`` (again one run for every assignment) and every cell must score the
  same, with the same flags.

The grading runs are made once per session (grading_runs.py, conftest.py's fixtures ``courses``,
``graded``, ``graded_run_all``), started in the background as the session begins; the tests here that
read them run at the end of the session, when the other tests are done.

Plain ``nbgrader autograde`` is still documented, so assignment 01 also goes through it once (solution,
blank and one mistake), with ``harness.Course.autograde``.
"""
from __future__ import annotations

import html as html_
import re
import time

import nbformat
import pytest

from grading_runs import FIXTURES, PACKAGES, SUMMARY, source_folder
from harness import LoadSampler, cell_outputs_text, expect_lost, feedback_table

pytestmark = pytest.mark.slow

PLAIN = "a01_rnn_layer"                            # the one assignment also graded by plain nbgrader
PLAIN_MISTAKE = "h0_batch_first"
# Never in a student's notebook: solutions, hidden tests, multiple-choice keys, fresh-seed requests.
NOT_IN_RELEASE = ("BEGIN SOLUTION", "HIDDEN TESTS", "key=", "seed=None", "heldout_min")
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)


def cases(table: str) -> list:
    return [pytest.param(p, student, id=f"{p[:3]}-{student}")
            for p in PACKAGES for student in sorted(getattr(FIXTURES[p], table))]


FEEDBACK = {p: feedback_table(FIXTURES[p].FEEDBACK) for p in PACKAGES}
FEEDBACK_CASES = [pytest.param(p, student, grade_id, id=f"{p[:3]}-{student}-{grade_id}")
                  for p in PACKAGES for student, grade_id in sorted(FEEDBACK[p])]


# -- the release (generate_assignment only: no grading run needed) -------------------------------------
@pytest.mark.parametrize("package", PACKAGES)
def test_release_has_no_solutions_or_hidden_tests(courses, package):
    fx = FIXTURES[package]
    for cell in courses(package).release().cells:
        for text in NOT_IN_RELEASE + tuple(fx.HIDDEN):
            assert text not in cell.source, f"{text!r} leaked into the release"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


def test_a05_gate_widget_cell_is_locked_and_uses_the_player(courses):
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c
             for c in courses("a05_gru_and_packing").release().cells}
    assert "gates.gate_player(" in cells["gate_widget"].source
    assert cells["gate_widget"].metadata["nbgrader"]["locked"]


# -- full marks and zero ------------------------------------------------------------------------------
@pytest.mark.parametrize("package", PACKAGES)
def test_solution_gets_full_marks_unflagged(graded, package):
    g = graded(package)
    res = g.run.results["solution"]
    assert res["status"] == "graded" and res["flags"] == [], (res["status"], res["flags"], res["errors"])
    assert g.scores("solution") == g.full
    assert sum(g.full.values()) >= g.fx.MIN_POINTS
    if hasattr(g.fx, "POINTS"):
        assert sum(g.full.values()) == g.fx.POINTS
    if hasattr(g.fx, "TEST_CELLS"):
        assert set(g.full) == g.fx.TEST_CELLS


@pytest.mark.parametrize("package", PACKAGES)
def test_untouched_release_gets_zero(graded, package):
    g = graded(package)
    scores = g.scores("blank")
    assert g.run.results["blank"]["status"] == "graded", g.run.results["blank"]["errors"]
    assert set(scores) == set(g.full) and sum(scores.values()) == 0, scores


# -- other correct styles and one mistake at a time ---------------------------------------------------
@pytest.mark.parametrize("package, student", cases("STYLES"))
def test_other_correct_style_gets_full_marks_unflagged(graded, package, student):
    g = graded(package)
    assert g.run.flags(student) == []
    assert expect_lost(g.scores(student), g.full, set()) == []


@pytest.mark.parametrize("package, student", cases("MISTAKES"))
def test_one_mistake_loses_exactly_its_cells(graded, package, student):
    g = graded(package)
    lost = g.fx.MISTAKES[student][2]
    assert expect_lost(g.scores(student), g.full, lost) == [], g.run.flags(student)


@pytest.mark.parametrize("package, student, grade_id", FEEDBACK_CASES)
def test_feedback_names_the_mistake(graded, package, student, grade_id):
    g = graded(package)
    text = cell_outputs_text(g.run.autograded(student), grade_id)
    for phrase in FEEDBACK[package][(student, grade_id)]:
        assert phrase in text, (phrase, text)


# -- the autograded notebook ------------------------------------------------------------------------
@pytest.mark.parametrize("package", PACKAGES)
def test_hidden_tests_are_back_in_autograded(graded, package):
    g = graded(package)
    nb = g.run.autograded("solution")
    sources = "\n".join(c.source for c in nb.cells)
    for marker, count in g.fx.HIDDEN.items():
        if count is None:
            assert marker in sources, marker
        else:
            assert sources.count(marker) == count, (marker, sources.count(marker))
    # every hidden block of the source is back, in its own test cell
    graded_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    for cell in g.course.source().cells:
        for block in HIDDEN_BLOCK.findall(cell.source):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            assert block.strip() in graded_cells.get(grade_id, ""), grade_id


@pytest.mark.parametrize("package", PACKAGES)
def test_no_test_cell_writes_to_stderr(graded, package):
    nb = graded(package).run.autograded("solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert not [o for o in cell.get("outputs", []) if o.get("name") == "stderr"], \
                cell.metadata["nbgrader"]["grade_id"]


# -- skipping what no grade needs -------------------------------------------------------------------
@pytest.mark.parametrize("package", PACKAGES)
def test_skipping_cells_no_grade_needs_changes_no_score(graded, graded_run_all, package):
    """Every fixture (solution, blank release, styles, mistakes) graded both ways: the same score for
    every cell, the same flags; and the default run did skip cells."""
    fast, full = graded(package), graded_run_all(package)
    assert set(full.run.results) == set(fast.run.results)
    assert {"solution", "blank", *fast.fx.MISTAKES, *fast.fx.STYLES} == set(full.run.results)
    differ = {s: (fast.scores(s), full.scores(s)) for s in full.run.results
              if fast.scores(s) != full.scores(s)}
    assert not differ, differ
    assert {s: fast.run.flags(s) for s in full.run.results} == {s: full.run.flags(s) for s in full.run.results}
    skipped = fast.run.results["solution"]["skipped"]
    assert any(skipped.values()), "nothing was skipped in the solution"
    assert not any(full.run.results["solution"]["skipped"].values())
    # the student is told which cells were not re-run, in the feedback and in the cells themselves
    page = next((fast.run.out / "feedback" / "solution" / fast.course.assignment).rglob("*.html")).read_text()
    assert "were not re-run when grading" in page
    nb = fast.run.autograded("solution")
    notes = [i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and "not re-run when grading" in "".join(o.get("text", "") for o in c.get("outputs", []))]
    assert notes == sorted(n for cells in skipped.values() for n in cells)


# -- plain `nbgrader autograde` (still documented in the README): assignment 01 only --------------------
@pytest.fixture(scope="module")
def plain(courses):
    course, fx = courses(PLAIN), FIXTURES[PLAIN]
    grade_id, code, _ = fx.MISTAKES[PLAIN_MISTAKE]
    subs = {"solution": course.solution(), "blank": course.release(),
            PLAIN_MISTAKE: course.solution(**{grade_id: code})}
    load = LoadSampler()
    load.start()
    start = time.monotonic()
    try:
        scores = course.autograde(subs)
    finally:
        load.stop.set()
    SUMMARY.append(f"nbgrader autograde {source_folder(PLAIN)}: {len(subs)} submissions in "
                   f"{time.monotonic() - start:.0f} s (serial, peak 1-min load average {load.peak:.1f})")
    return course, scores, course.max_scores()


def test_plain_nbgrader_solution_full_blank_zero(plain):
    course, scores, full = plain
    assert scores["solution"] == full
    assert sum(full.values()) >= FIXTURES[PLAIN].MIN_POINTS
    assert set(scores["blank"]) == set(full) and sum(scores["blank"].values()) == 0, scores["blank"]
    for cell in course.autograded("solution").cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert not [o for o in cell.get("outputs", []) if o.get("name") == "stderr"], \
                cell.metadata["nbgrader"]["grade_id"]


def test_plain_nbgrader_mistake_loses_exactly_its_cells(plain):
    course, scores, full = plain
    assert expect_lost(scores[PLAIN_MISTAKE], full, FIXTURES[PLAIN].MISTAKES[PLAIN_MISTAKE][2]) == []
    for (student, grade_id), phrases in FEEDBACK[PLAIN].items():
        if student == PLAIN_MISTAKE:
            text = cell_outputs_text(course.autograded(student), grade_id)
            assert all(phrase in text for phrase in phrases), (phrases, text)


def test_plain_nbgrader_feedback_shows_no_hidden_test(plain):
    """`nbgrader generate_feedback`, as the README says: no line of any hidden test in any student's
    page (nbgrader_config.py adds course.grading.nbgrader_feedback.HideHiddenTests), while the
    check's teaching message and the score are still there."""
    course, scores, full = plain
    course.run("generate_feedback", course.assignment, "--force")
    source = nbformat.read(course.root / "source" / course.assignment / course.notebooks()[0], as_version=4)
    hidden = {line.strip() for cell in source.cells for block in HIDDEN_BLOCK.findall(cell.source)
              for line in block.splitlines() if len(line.strip()) > 12 and not line.strip().startswith("#")}
    visible = {line.strip() for cell in source.cells if cell.metadata.get("nbgrader", {}).get("grade")
               and not cell.metadata["nbgrader"].get("solution")
               for line in HIDDEN_BLOCK.sub("", cell.source).splitlines() if line.strip().startswith("checks.")}
    assert len(hidden) > 10 and visible
    # the page as text: syntax highlighting splits code into tags
    pages = {p.parent.parent.name: html_.unescape(re.sub(r"<[^>]+>", "", p.read_text()))
             for p in (course.root / "feedback").rglob("*.html")}
    assert set(pages) == {"solution", "blank", PLAIN_MISTAKE}
    assert all(line in pages["solution"] for line in visible)  # a line shown is found: the search works
    for student, page in pages.items():
        leaked = [line for line in hidden if line in page]
        assert not leaked, (student, leaked[:3])
    for (student, grade_id), phrases in FEEDBACK[PLAIN].items():
        if student == PLAIN_MISTAKE:
            assert all(phrase in pages[student] for phrase in phrases), phrases
