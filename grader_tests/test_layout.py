"""Every assignment has all of its parts, in one place (README: "Adding assignment 07").

source/NN_<name>/ (the source notebook) ↔ release/NN_<name>/ (made by `make release`) ↔
course/assignments/aNN_<name>/ (checks.py with checks named aNN_..., and its helpers) ↔
grader_tests/fixtures/aNN_<name>.py (the grading tables: they hold correct answers, so they never
ship in the package). course/checks/ keeps only what several assignments share.
"""
from pathlib import Path

import pytest

from course import assignments
from course.checks import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir() and p.name[:2].isdigit())
SHARED_CHECK_MODULES = {"core", "contract", "rules", "models", "common", "support"}


def package_of(source_name: str) -> str:
    return f"a{source_name}"


@pytest.mark.parametrize("name", SOURCES)
def test_an_assignment_has_all_its_parts(name):
    folder = ROOT / "course" / "assignments" / package_of(name)
    missing = [part for part, path in (
        ("a source notebook", next((ROOT / "source" / name).glob("*.ipynb"), None)),
        ("a released notebook (make release)", next((ROOT / "release" / name).glob("*.ipynb"), None)),
        ("its checks (checks.py)", folder / "checks.py"),
        ("its grading tables (grader_tests/fixtures/)", ROOT / "grader_tests" / "fixtures" / f"{package_of(name)}.py"),
        ("a docstring saying what it holds (__init__.py)", folder / "__init__.py"),
    ) if path is None or not Path(path).is_file()]
    assert not missing, f"{name} misses: {', '.join(missing)}"


def test_every_assignment_folder_has_a_source():
    assert set(assignments.names()) == {package_of(name) for name in SOURCES}


@pytest.mark.parametrize("name", SOURCES)
def test_an_assignments_checks_carry_its_prefix(name):
    package = f"course.assignments.{package_of(name)}.checks"
    # checks.py, or the checks_*.py modules it imports (06 splits its checks by part)
    mine = {n for n, c in REGISTRY.items()
            if type(c).__module__ == package or type(c).__module__.startswith(package + "_")}
    assert mine, f"{package} registers no check"
    prefix = f"a{name[:2]}_"
    assert all(n.startswith(prefix) for n in mine), sorted(n for n in mine if not n.startswith(prefix))


def test_shared_checks_have_no_assignment_prefix_and_live_in_course_checks():
    for name, check in REGISTRY.items():
        module = type(check).__module__
        if module.startswith("course.checks."):
            assert module.rsplit(".", 1)[1] in SHARED_CHECK_MODULES, module
            assert not (name[:1] == "a" and name[1:3].isdigit()), f"{name} is shared but prefixed"
        else:
            assert module.startswith("course.assignments.a"), module


def test_no_solution_ships_in_the_package():
    """Grading tables hold correct answers: they live with the tests, never in course/."""
    assert not list((ROOT / "course").rglob("fixtures.py"))


def test_course_checks_holds_only_shared_modules():
    modules = {p.stem for p in (ROOT / "course" / "checks").glob("*.py")} - {"__init__"}
    assert modules <= SHARED_CHECK_MODULES, modules - SHARED_CHECK_MODULES
