"""One folder per assignment: ``aNN_<name>/`` matches ``source/NN_<name>/``. Each holds the
assignment's checks (``checks.py``, every check named ``aNN_...``) and the helpers its notebook
imports. What several assignments share stays in ``course/``. Its grading tables hold correct answers,
so they live with the tests, never in this package: ``grader_tests/fixtures/aNN_<name>.py``, plain data
graded by grader_tests/test_grading.py through ``python -m course.grade``:

MIN_POINTS  the assignment is worth at least this many points (POINTS: exactly, TEST_CELLS: its
            graded cells, when a table pins them)
MISTAKES    student -> (grade_id of the answer cell, its mistaken code, the test cells that must lose
            their points; every other cell keeps full marks)
STYLES      other correct ways to answer: student -> {grade_id: code}; full marks, no flag
FEEDBACK    a text table, one row per line: student | grade_id of a test cell | phrase [| phrase]:
            the phrases that cell's output must contain
HIDDEN      strings the hidden tests put back into the autograded solution -> how many times
            (None: at least once); the release holds none of them
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """The assignment folders, e.g. ["a01_rnn_layer", ...]: a package aNN_<name> with its checks.py
    (an assignment being written is not one until its checks exist)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                  if m.ispkg and m.name[:1] == "a" and (HERE / m.name / "checks.py").is_file())


def load_checks() -> None:
    """Import every assignment's checks.py (each check registers itself)."""
    for name in names():
        if (HERE / name / "checks.py").is_file():
            importlib.import_module(f"{__name__}.{name}.checks")
