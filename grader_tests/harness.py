"""Real grading runs in a throw-away copy of the course, for the grading tests.

``Course(root, "01_rnn_layer")`` copies the assignment's source and runs ``generate_assignment``;
``fixture_submissions`` builds the solution, the untouched release ("blank"), other correct styles and
one submission per mistake of an assignment's tables (grader_tests/fixtures/aNN_<name>.py).
They are graded either by plain ``nbgrader autograde`` (``Course.autograde``, ``grade_fixtures``) or by
the course's own grader, ``python -m course.grade`` (``Course.course_grade``), in one run each:

    course = Course(tmp_path_factory.mktemp("a01"), "01_rnn_layer")
    run = course.course_grade(fixture_submissions(course, fixtures.MISTAKES, fixtures.STYLES))
    run.scores("solution") == course.max_scores()

or several assignments in ONE run (``course_grade_together``, as test_grading.py does: the command's
start-up and its last notebook's tail are paid once):

    runs = course_grade_together(tmp_path_factory.mktemp("all"), {a01: subs01, a02: subs02})
    runs["01_rnn_layer"].scores("solution") == a01.max_scores()
"""
from __future__ import annotations

import copy
import json
import os
import re
import signal
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat

from course.release import nbgrader_env

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?",
                            re.S | re.M)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


def strip_markers(source: str) -> str:
    """The solution source as a student who got it right would submit it (markers removed)."""
    return SOLUTION_BLOCK.sub(lambda m: m.group(1), source)


class Course:
    """A temporary course directory with a fresh gradebook and an isolated Jupyter config."""

    def __init__(self, root: Path, assignment: str):
        self.root, self.assignment = Path(root), assignment
        shutil.copy(ROOT / "nbgrader_config.py", self.root / "nbgrader_config.py")
        shutil.copytree(ROOT / "source" / assignment, self.root / "source" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self.home = self.root / ".home"
        self.home.mkdir()
        self.env = nbgrader_env(self.home)
        self.run("generate_assignment", assignment, "--force")

    # -- running nbgrader -------------------------------------------------------------------------
    def run(self, *args, check=True, log_level="WARN", env=None):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--log-level={log_level}"],
                              cwd=self.root, env={**self.env, **(env or {})}, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    # -- notebooks --------------------------------------------------------------------------------
    def notebooks(self) -> list[str]:
        return sorted(p.name for p in (self.root / "source" / self.assignment).glob("*.ipynb"))

    def _read(self, step: str, name: str | None):
        name = name or self.notebooks()[0]
        return nbformat.read(self.root / step / self.assignment / name, as_version=4)

    def source(self, name: str | None = None):
        """The source notebook (solutions and hidden tests), as copied."""
        return self._read("source", name)

    def release(self, name: str | None = None):
        """The student's starting notebook, as generated."""
        return self._read("release", name)

    def solution(self, name: str | None = None, **replacements: str):
        """The release notebook with every answer cell filled in from source/ — the right answers —
        except the answer cells named in ``replacements`` (grade_id=code), which get that code."""
        release = self.release(name)
        source = {c.metadata.get("nbgrader", {}).get("grade_id"): c
                  for c in self._read("source", name).cells}
        unknown = set(replacements) - set(source)
        if unknown:
            raise KeyError(f"no cells with grade_id {sorted(unknown)}")
        for cell in release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                grade_id = meta["grade_id"]
                cell.source = replacements.get(grade_id, strip_markers(source[grade_id].source))
        return release

    # -- grading ----------------------------------------------------------------------------------
    def submit(self, submissions: dict, folder: Path | None = None, name: str | None = None) -> Path:
        """Write each notebook (or raw text, for broken JSON) as its own student's submission, in
        nbgrader's layout: folder/<student>/<assignment>/<notebook> (default folder: submitted/)."""
        folder = Path(folder or self.root / "submitted")
        name = name or self.notebooks()[0]
        for student, nb in submissions.items():
            target = folder / student / self.assignment
            target.mkdir(parents=True, exist_ok=True)
            text = nb if isinstance(nb, str) else nbformat.writes(nb)
            (target / name).write_text(text)
        return folder

    def autograde(self, submissions: dict, name: str | None = None) -> dict:
        """Submit each notebook (or raw text, for broken JSON) as its own student; autograde them
        all in one plain ``nbgrader autograde`` run; return {student: {grade_id: score}} read from
        the gradebook."""
        name = name or self.notebooks()[0]
        self.submit(submissions, name=name)
        self.run("autograde", self.assignment, "--force")
        return self.scores(list(submissions), name)

    def course_grade(self, submissions: dict, *, workers: int = 2, name: str | None = None,
                     args: tuple = (), timeout: float = 3600) -> "GradeRun":
        """Grade the submissions in ONE run of ``python -m course.grade`` (the command instructors
        are told to use), with this course as --course-dir and its config's per-cell timeout."""
        tag = f"cg{len(list(self.root.glob('cg*')))}"
        submitted = self.submit(submissions, self.root / tag / "submitted", name)
        out = self.root / tag / "out"
        seconds, stdout, peak = run_course_grade(self.root, submitted, out, workers=workers, args=args,
                                                 timeout=timeout)
        run = GradeRun(self, out, seconds, stdout, name or self.notebooks()[0])
        run.peak_load = peak
        return run

    def scores(self, students, name: str | None = None) -> dict:
        from nbgrader.api import Gradebook, MissingEntry

        name = (name or self.notebooks()[0]).removesuffix(".ipynb")
        result = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            for student in students:
                try:
                    nb = gb.find_submission_notebook(name, self.assignment, student)
                except MissingEntry:
                    result[student] = None  # not graded at all (e.g. invalid JSON)
                    continue
                result[student] = {g.name: g.score for g in nb.grades}
        return result

    def max_scores(self, name: str | None = None) -> dict:
        from nbgrader.api import Gradebook

        name = (name or self.notebooks()[0]).removesuffix(".ipynb")
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            nb = gb.find_notebook(name, self.assignment)
            return {c.name: c.max_score for c in nb.grade_cells}

    def autograded(self, student: str, name: str | None = None):
        return nbformat.read(self.root / "autograded" / student / self.assignment /
                             (name or self.notebooks()[0]), as_version=4)


def run_course_grade(course_dir: Path, submitted: Path, out: Path, *, workers: int = 2, args: tuple = (),
                     timeout: float = 3600) -> tuple[float, str, float]:
    """One run of ``python -m course.grade SUBMITTED --course-dir COURSE_DIR --out OUT``, as an
    instructor runs it; returns (seconds, stdout, peak 1-min load average). Raises if it fails."""
    env = nbgrader_env()  # the instructor's own environment (HOME included), venv first on PATH
    load = LoadSampler()
    load.start()
    start = time.monotonic()
    # its own process group, so that a session that ends early (a run in the background) stops it whole
    proc = subprocess.Popen([sys.executable, "-m", "course.grade", str(submitted), "--course-dir",
                             str(course_dir), "--out", str(out), "--workers", str(workers), "--quiet",
                             *args], cwd=course_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    RUNNING.add(proc)
    if STOPPING.is_set():  # the session ended while this run was being prepared
        stop_group(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(proc)
        stdout, stderr = proc.communicate()
    finally:
        RUNNING.discard(proc)
        seconds = time.monotonic() - start
        load.stop.set()
    if proc.returncode != 0:
        raise RuntimeError(f"course.grade failed ({proc.returncode}) after {seconds:.0f} s:\n"
                           f"{stdout}\n{stderr[-5000:]}")
    return seconds, stdout, load.peak


RUNNING: set = set()  # course.grade processes still running (see run_course_grade)
STOPPING = threading.Event()  # set when the test session ends: no run starts after it


def stop_group(proc) -> None:
    """Kill a course.grade run with its workers and kernels (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def course_grade_together(root: Path, jobs: dict, *, workers: int = 2, args: tuple = (), timeout: float = 3600,
                          templates: Path | None = None) -> dict:
    """Grade several assignments' submissions in ONE run of ``python -m course.grade``: ``jobs`` is
    {Course: {student: notebook}}. ``root`` becomes a course holding every one of those assignments'
    source/ (copied from each Course) and nbgrader_config.py, with root/submitted/<student>/<assignment>/
    in nbgrader's layout (the same student name may appear in several assignments). ``templates``: a
    ``.templates`` folder of an earlier run to start the template cache from (course.grade keys each
    template by a hash of the assignment's source/ and the config, so only an identical one is used).
    Returns {assignment: GradeRun}, each seeing only its assignment's results."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    submitted, out = root / "submitted", root / "out"
    for course, submissions in jobs.items():
        shutil.copytree(course.root / "source" / course.assignment, root / "source" / course.assignment)
        course.submit(submissions, submitted)
    if templates is not None and Path(templates).is_dir():
        shutil.copytree(templates, out / ".templates")
    seconds, stdout, peak = run_course_grade(root, submitted, out, workers=workers, args=args, timeout=timeout)
    runs = {}
    for course in jobs:
        runs[course.assignment] = run = GradeRun(course, out, seconds, stdout, course.notebooks()[0])
        run.peak_load = peak
    return runs


class LoadSampler(threading.Thread):
    """The 1-minute load average, read every second while a run lasts (its peak says how shared the
    machine was: timings are reported with it, never asserted)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, float(Path("/proc/loadavg").read_text().split()[0]))
            except OSError:  # not Linux
                return
            self.stop.wait(1)


class GradeRun:
    """What one run of ``python -m course.grade`` wrote: OUT/reports/results.json and
    OUT/autograded/<student>/<assignment>/<notebook>."""

    def __init__(self, course: Course, out: Path, seconds: float, stdout: str, name: str):
        self.course, self.out, self.seconds, self.stdout, self.name = course, Path(out), seconds, stdout, name
        self.peak_load = 0.0
        doc = json.loads((self.out / "reports" / "results.json").read_text())
        self.summary = doc["summary"]
        self.results = {r["student"]: r for r in doc["submissions"] if r["assignment"] == course.assignment}

    def scores(self, student: str) -> dict | None:
        """{grade_id: score} of the student's notebook (None: not graded at all)."""
        return self.results[student]["scores"].get(self.name.removesuffix(".ipynb"))

    def flags(self, student: str) -> list[str]:
        return self.results[student]["flags"]

    def autograded(self, student: str):
        return nbformat.read(self.out / "autograded" / student / self.course.assignment / self.name, as_version=4)


def fixture_submissions(course: Course, mistakes: dict, styles: dict | None = None) -> dict:
    """The solution, the untouched release ("blank"), other correct styles (student -> {grade_id:
    code}) and one submission per mistake (student -> (grade_id, code, lost cells, ...))."""
    subs = {"solution": course.solution(), "blank": course.release()}
    for student, replacements in (styles or {}).items():
        subs[student] = course.solution(**replacements)
    for student, (grade_id, code, *_) in mistakes.items():
        subs[student] = course.solution(**{grade_id: code})
    return subs


def grade_fixtures(course: Course, mistakes: dict, styles: dict | None = None):
    """Autograde the fixture submissions in one plain nbgrader run. Returns (course, {student:
    {grade_id: score}}, {grade_id: max score})."""
    return course, course.autograde(fixture_submissions(course, mistakes, styles)), course.max_scores()


def expect_lost(scores: dict, full: dict, lost: set[str]) -> list[str]:
    """Which cells differ from 'full marks except exactly the cells in ``lost`` score 0'."""
    wrong = []
    for grade_id, max_score in full.items():
        want = 0 if grade_id in lost else max_score
        if scores.get(grade_id) != want:
            wrong.append(f"{grade_id}: got {scores.get(grade_id)}, expected {want}")
    return wrong


def cell_outputs_text(nb, grade_id: str) -> str:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            parts = []
            for out in cell.get("outputs", []):
                parts.append(out.get("text", "") or "\n".join(out.get("traceback", [])) or
                             json.dumps(out.get("data", {})))
            return "\n".join(parts)
    raise KeyError(grade_id)


def without_hidden(source: str) -> str:
    return HIDDEN_BLOCK.sub("", source)


def clone(nb):
    return copy.deepcopy(nb)


def feedback_table(text: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """A fixture's FEEDBACK, one row per line: ``student | grade_id | phrase [| phrase ...]``."""
    rows = {}
    for line in text.strip().splitlines():
        student, grade_id, *phrases = (part.strip() for part in line.split(" | "))
        if not phrases or (student, grade_id) in rows:
            raise ValueError(f"FEEDBACK row needs student | grade_id | phrase, once each: {line!r}")
        rows[(student, grade_id)] = tuple(phrases)
    return rows
