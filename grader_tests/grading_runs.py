"""The long grading runs of ``make test``, made once per session and shared by the tests that read them
(conftest.py's session fixtures ``courses``, ``graded``, ``graded_run_all``; the adversarial run is
in adversarial/run.py).

Each getter is lazy and thread-safe: the first call makes the run for every assignment the session's
selected tests need (``-k a03`` grades 03 only), later calls wait for it and read it. conftest.py
starts them in a background thread as the session begins, so that the tests that need no grading run
meanwhile on the other core.
"""
from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor

from course import assignments
from harness import Course, course_grade_together, fixture_submissions

PACKAGES = assignments.names()                     # ["a01_rnn_layer", ...]
FIXTURES = {p: importlib.import_module(f"fixtures.{p}") for p in PACKAGES}  # tests only: solutions inside
WORKERS = 2
SUMMARY: list[str] = []                            # one line per run, printed at the end of the session


class Waiting:
    """A lock whose waiters still hear Ctrl-C (a plain ``with lock:`` blocks the main thread, signals
    included, until the background run lets go of it, minutes later)."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        while not self._lock.acquire(timeout=0.5):
            pass

    def __exit__(self, *exc):
        self._lock.release()


class Once:
    """A value made on first use, by whichever thread asks first; the others wait for it (an error
    is raised to every caller)."""

    def __init__(self, make):
        self.make, self.lock, self.value, self.error, self.made = make, Waiting(), None, None, False

    def __call__(self):
        with self.lock:
            if not self.made:
                try:
                    self.value = self.make()
                except BaseException as exc:
                    self.error = exc
                self.made = True
        if self.error is not None:
            raise self.error
        return self.value


def source_folder(package: str) -> str:
    """a01_rnn_layer -> 01_rnn_layer (source/ and release/ folder of the assignment)."""
    return package[1:]


class Graded:
    """One assignment after its grading run: the course copy, the run, full marks, its tables."""

    def __init__(self, course, run, fixtures):
        self.course, self.run, self.fx = course, run, fixtures
        self.full = course.max_scores()

    def scores(self, student):
        return self.run.scores(student)


def selected(session, fixture: str) -> list[str]:
    """The assignments whose selected tests in this session use ``fixture``: the packages one grading
    run is made for."""
    found = set()
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if fixture in getattr(item, "fixturenames", ()) and params.get("package") in PACKAGES:
            found.add(params["package"])
    return [p for p in PACKAGES if p in found]


def course_copies(session, tmp_path_factory):
    """package -> a temporary course copy with the assignment generated. The first use makes the
    copies of every assignment this session's selected tests need, WORKERS at a time (each is an
    ``nbgrader generate_assignment`` process); a failed copy fails only its assignment's tests."""
    made, lock = {}, Waiting()

    def build(item):
        package, root = item
        try:
            return Course(root, source_folder(package))
        except Exception as exc:  # raised again by every test that needs this course
            return exc

    def get(package):
        with lock:
            if package not in made:
                batch = [p for p in dict.fromkeys([package, *selected(session, "courses")]) if p not in made]
                roots = [(p, tmp_path_factory.mktemp(p[:3])) for p in batch]
                with ThreadPoolExecutor(WORKERS) as pool:
                    made.update(zip(batch, pool.map(build, roots)))
        if isinstance(made[package], Exception):
            raise made[package]
        return made[package]
    return get


def grading_runs(courses, session, tmp_path_factory, fixture, args=(), templates=lambda: None):
    """package -> Graded. The first use grades, in ONE run of course.grade, every assignment whose
    selected tests use ``fixture`` (and the one asked for): its solution, blank release, styles and
    mistakes."""
    done, lock = {}, Waiting()

    def grade(batch):
        jobs, fixtures = {}, {}
        for package in batch:
            try:
                course, fx = courses(package), FIXTURES[package]
            except Exception as exc:  # its course copy failed: only its own tests fail
                done[package] = exc
                continue
            jobs[course] = fixture_submissions(course, fx.MISTAKES, fx.STYLES)
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
        SUMMARY.append(f"course.grade{''.join(' ' + a for a in args)}: {sum(map(len, jobs.values()))} submissions "
                       f"of {len(runs)} assignment(s) in one run, {first.seconds:.0f} s ({WORKERS} workers, peak "
                       f"1-min load average {first.peak_load:.1f}) — {first.stdout.strip().splitlines()[0]}; "
                       f"worker time per assignment: {', '.join(f'{a}: {t}' for a, t in jobs_time.items())}")
        for assignment, run in runs.items():
            package, fx = fixtures[assignment]
            done[package] = Graded(run.course, run, fx)

    def get(package):
        with lock:
            if package not in done:
                grade([p for p in dict.fromkeys([package, *selected(session, fixture)]) if p not in done])
        if isinstance(done[package], Exception):
            raise done[package]
        return done[package]
    get.done = done
    return get
