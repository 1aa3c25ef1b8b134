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
* skipping the cells no grade needs (the default) changes no score. The tables above were written for
  notebooks run in full, so every mistake graded with skipping already meets them; on top of that the
  solution, the blank release and every style are graded again with ``--run-all`` (again one run for
  every assignment) and every cell must score the same, with the same flags. ``EQUIVALENCE=all make
  test`` grades every mistake both ways too (about 14 more minutes on 2 cores: kept out of the
  default run for CI's time budget).

Plain ``nbgrader autograde`` is still documented, so assignment 01 also goes through it once (solution,
blank and one mistake), with ``harness.Course.autograde``.
"""
from __future__ import annotations

import html as html_
import importlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from course import assignments
from harness import (Course, LoadSampler, cell_outputs_text, course_grade_together, expect_lost,
                     feedback_table, fixture_submissions)

pytestmark = pytest.mark.slow

PACKAGES = assignments.names()                     # ["a01_rnn_layer", ...]
FIXTURES = {p: importlib.import_module(f"fixtures.{p}") for p in PACKAGES}  # tests only: solutions inside
WORKERS = 2
PLAIN = "a01_rnn_layer"                            # the one assignment also graded by plain nbgrader
PLAIN_MISTAKE = "h0_batch_first"
# Never in a student's notebook: solutions, hidden tests, multiple-choice keys, fresh-seed requests.
NOT_IN_RELEASE = ("BEGIN SOLUTION", "HIDDEN TESTS", "key=", "seed=None", "heldout_min")
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)


def source_folder(package: str) -> str:
    """a01_rnn_layer -> 01_rnn_layer (source/ and release/ folder of the assignment)."""
    return package[1:]


def cases(table: str) -> list:
    return [pytest.param(p, student, id=f"{p[:3]}-{student}")
            for p in PACKAGES for student in sorted(getattr(FIXTURES[p], table))]


FEEDBACK = {p: feedback_table(FIXTURES[p].FEEDBACK) for p in PACKAGES}
FEEDBACK_CASES = [pytest.param(p, student, grade_id, id=f"{p[:3]}-{student}-{grade_id}")
                  for p in PACKAGES for student, grade_id in sorted(FEEDBACK[p])]


def say(request, line: str) -> None:
    """Print past pytest's capture (the time of each grading run is part of the CI log)."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        print(line)
        return
    with capman.global_and_fixture_disabled():
        print(f"\n{line}", flush=True)


class Graded:
    """One assignment after its grading run: the course copy, the run, full marks, its tables."""

    def __init__(self, course, run, fixtures):
        self.course, self.run, self.fx = course, run, fixtures
        self.full = course.max_scores()

    def scores(self, student):
        return self.run.scores(student)


def selected(request, fixture: str) -> list[str]:
    """The assignments whose selected tests in this session use ``fixture`` (``-k a03`` grades 03
    only): the packages one grading run is made for."""
    found = set()
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if fixture in getattr(item, "fixturenames", ()) and params.get("package") in PACKAGES:
            found.add(params["package"])
    return [p for p in PACKAGES if p in found]


@pytest.fixture(scope="module")
def courses(tmp_path_factory, request):
    """package -> a temporary course copy with the assignment generated. The first use makes the
    copies of every assignment this session's selected tests need, WORKERS at a time (each is an
    ``nbgrader generate_assignment`` process); a failed copy fails only its assignment's tests."""
    made = {}

    def build(item):
        package, root = item
        try:
            return Course(root, source_folder(package))
        except Exception as exc:  # raised again by every test that needs this course
            return exc

    def get(package):
        if package not in made:
            batch = [p for p in dict.fromkeys([package, *selected(request, "courses")]) if p not in made]
            roots = [(p, tmp_path_factory.mktemp(p[:3])) for p in batch]
            with ThreadPoolExecutor(WORKERS) as pool:
                made.update(zip(batch, pool.map(build, roots)))
        if isinstance(made[package], Exception):
            raise made[package]
        return made[package]
    return get


def _grading_runs(courses, request, tmp_path_factory, fixture, args=(), mistakes=True, templates=lambda: None):
    """package -> Graded. The first use grades, in ONE run of course.grade, every assignment whose
    selected tests use ``fixture`` (and the one asked for)."""
    done = {}

    def grade(batch):
        jobs, fixtures = {}, {}
        for package in batch:
            try:
                course, fx = courses(package), FIXTURES[package]
            except Exception as exc:  # its course copy failed: only its own tests fail
                done[package] = exc
                continue
            jobs[course] = fixture_submissions(course, fx.MISTAKES if mistakes else {}, fx.STYLES)
            fixtures[course.assignment] = (package, fx)
        if not jobs:
            return
        try:
            runs = course_grade_together(tmp_path_factory.mktemp("cg_all"), jobs, workers=WORKERS, args=args,
                                         templates=templates())
        except Exception as exc:  # a failed run fails every test of its assignments: never run twice
            for package, _ in fixtures.values():
                done[package] = exc
            return
        first = next(iter(runs.values()))
        jobs_time = {a[:2]: f"{len(r.results)} in {sum(x.get('seconds') or 0 for x in r.results.values()):.0f} s"
                     for a, r in runs.items()}
        say(request, f"course.grade{''.join(' ' + a for a in args)}: {sum(map(len, jobs.values()))} submissions "
                     f"of {len(runs)} assignment(s) in one run, {first.seconds:.0f} s ({WORKERS} workers, peak "
                     f"1-min load average {first.peak_load:.1f}) — {first.stdout.strip().splitlines()[0]}; "
                     f"worker time per assignment: {', '.join(f'{a}: {t}' for a, t in jobs_time.items())}")
        for assignment, run in runs.items():
            package, fx = fixtures[assignment]
            done[package] = Graded(run.course, run, fx)

    def get(package):
        if package not in done:
            grade([p for p in dict.fromkeys([package, *selected(request, fixture)]) if p not in done])
        if isinstance(done[package], Exception):
            raise done[package]
        return done[package]
    get.done = done
    return get


@pytest.fixture(scope="module")
def graded(courses, request, tmp_path_factory):
    """package -> Graded: ONE course.grade run for every selected assignment (the default: cells no
    graded cell depends on are not re-run), made on first use and kept."""
    return _grading_runs(courses, request, tmp_path_factory, "graded")


@pytest.fixture(scope="module")
def graded_run_all(courses, graded, request, tmp_path_factory):
    """The solution, the blank release and the styles graded with --run-all (every cell re-run), in
    ONE run for every selected assignment. (The mistakes' tables already say what a full run gives:
    graded with skipping, they meet them.) Its template cache starts from the default run's, when that
    run was made: the same source/ and config give the same template gradebook."""
    def templates():
        runs = [g for g in graded.done.values() if isinstance(g, Graded)]
        return runs[0].run.out / ".templates" if runs else None
    return _grading_runs(courses, request, tmp_path_factory, "graded_run_all", ("--run-all",),
                         mistakes=os.environ.get("EQUIVALENCE") == "all", templates=templates)


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
    """The solution, the blank release and every style graded both ways: the same score for every
    cell, the same flags; and the default run did skip cells."""
    fast, full = graded(package), graded_run_all(package)
    assert set(full.run.results) <= set(fast.run.results)
    assert {"solution", "blank"} <= set(full.run.results)
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
def plain(courses, request):
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
    say(request, f"nbgrader autograde {source_folder(PLAIN)}: {len(subs)} submissions in "
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
