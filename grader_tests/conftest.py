import sys
import threading
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in CI
sys.path.insert(0, str(Path(__file__).parent))  # `import harness`

# nbval runs the notebooks in source/; notebooks kept here are test fixtures, never run as tests.
collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]


@pytest.fixture(scope="session")
def source_run(tmp_path_factory):
    """Run each source notebook (solutions, hidden tests) once per session, recording every check
    call: ``source_run("03")`` is the folder with the probe results and ``executed.ipynb``."""
    from forgery import record

    root, done = tmp_path_factory.mktemp("source_runs"), {}

    def run(number: str) -> Path:
        if number not in done:
            done[number] = record(number, root)
        return done[number]
    return run


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One PyTorch thread in the test process, for the whole session: tiny models are fastest on one
    (every notebook sets it too), and the grading runs in the background keep both cores busy, where
    a second thread only spins (test_forgery[04]: 48 s alone, 256 s with two threads next to them)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- the long grading runs, in the background ---------------------------------------------------------
# The course.grade runs (every fixture with and without skipping, the adversarial cases) are most of
# `make test` and keep two workers busy; most other tests keep one core busy. So the runs start in a
# background thread as the session begins, one after another, in this order; the tests that read them
# are moved to the end of the session, and everything else runs meanwhile.
BACKGROUND = ("graded", "graded_run_all", "adversarial_run")


def pytest_collection_modifyitems(items):
    def stage(item):  # 0: needs no grading run; else 1 + the last run it reads (nbval's cells use none)
        used = getattr(item, "fixturenames", ())
        return max([i + 1 for i, name in enumerate(BACKGROUND) if name in used], default=0)
    items.sort(key=stage)  # stable: each group keeps its usual order


@pytest.fixture(scope="session")
def courses(request, tmp_path_factory):
    """package -> a temporary course copy with the assignment generated (grading_runs.py)."""
    from grading_runs import course_copies
    return course_copies(request.session, tmp_path_factory)


@pytest.fixture(scope="session")
def graded(courses, request, tmp_path_factory):
    """package -> Graded: ONE course.grade run for every selected assignment's fixtures (the default:
    cells no graded cell depends on are not re-run)."""
    from grading_runs import grading_runs
    return grading_runs(courses, request.session, tmp_path_factory, "graded")


@pytest.fixture(scope="session")
def graded_run_all(courses, graded, request, tmp_path_factory):
    """The same submissions graded with --run-all (every cell re-run), in ONE run. Its template cache
    starts from the default run's: the same source/ and config give the same template gradebook."""
    from grading_runs import Graded, grading_runs

    def templates():
        runs = [g for g in graded.done.values() if isinstance(g, Graded)]
        return runs[0].run.out / ".templates" if runs else None
    return grading_runs(courses, request.session, tmp_path_factory, "graded_run_all", ("--run-all",),
                        templates=templates)


@pytest.fixture(scope="session")
def _adversarial_once(tmp_path_factory):
    from adversarial.run import grade_cases
    from grading_runs import SUMMARY, Once

    def make():
        res = grade_cases(tmp_path_factory.mktemp("adv"))
        SUMMARY.append(res["line"])
        return res
    return Once(make)


@pytest.fixture(scope="session")
def adversarial_run(_adversarial_once):
    """The adversarial cases graded in one course.grade run (adversarial/run.py)."""
    return _adversarial_once()


@pytest.fixture(scope="session", autouse=True)
def background_grading(request):
    """Start, in one thread, the grading runs the selected tests need (see BACKGROUND); stop what is
    still running when the session ends early."""
    from grading_runs import selected

    starts = []
    for name in BACKGROUND:
        if name == "adversarial_run":
            if any(name in getattr(item, "fixturenames", ()) for item in request.session.items):
                starts.append(request.getfixturevalue("_adversarial_once"))
        else:
            packages = selected(request.session, name)
            if packages:
                getter = request.getfixturevalue(name)
                starts.append(lambda getter=getter, first=packages[0]: getter(first))

    from harness import RUNNING, STOPPING, stop_group

    def work():
        for start in starts:
            if STOPPING.is_set():
                return
            try:
                start()
            except BaseException:  # kept by the getter: raised to the tests that read it
                pass
    thread = threading.Thread(target=work, name="grading runs", daemon=True)
    if starts:
        thread.start()
    yield
    STOPPING.set()
    if thread.is_alive():  # the session ended before the runs did (-x, Ctrl-C)
        for proc in list(RUNNING):
            stop_group(proc)
        thread.join(60)


def pytest_terminal_summary(terminalreporter):
    """The time of each grading run, for the CI log."""
    lines = sys.modules.get("grading_runs") and sys.modules["grading_runs"].SUMMARY
    if lines:
        terminalreporter.section("grading runs")
        for line in lines:
            terminalreporter.write_line(line)
