"""The notebooks themselves: clean sources, checkable test cells, hints, and runnable releases.

The source notebooks are also run top to bottom by nbval (`make test` passes `--nbval-lax source`).
"""
import ast
from pathlib import Path

import nbformat
import pytest

from course.checks import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))
RELEASES = sorted((ROOT / "release").glob("*/*.ipynb"))


def ids(paths):
    return [f"{p.parent.name}/{p.name}" for p in paths]


def nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_source_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} carry outputs: clear them before committing"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_grade_ids_are_unique_and_readable(path):
    nb = nbformat.read(path, as_version=4)
    grade_ids = [nbgrader(c)["grade_id"] for c in nb.cells if "grade_id" in nbgrader(c)]
    assert len(grade_ids) == len(set(grade_ids))
    assert all(not g.startswith("cell-") for g in grade_ids), "use readable grade_ids"


def check_calls(source: str):
    """Yield (check name, call) for each statement; raise if a statement is not a check or print."""
    for stmt in ast.parse(source).body:
        call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
        if call is None:
            raise AssertionError(f"not a call: {ast.unparse(stmt)[:80]}")
        if isinstance(call.func, ast.Name) and call.func.id == "print":
            continue
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id == "checks"):
            raise AssertionError(f"test cells only call checks.NAME(...) or print: {ast.unparse(call)[:80]}")
        yield func.attr, call


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_test_cells_only_call_registered_checks_with_literal_arguments(path):
    """The contract that lets the grader replay every check outside the student's kernel."""
    nb = nbformat.read(path, as_version=4)
    tests = [c for c in nb.cells if nbgrader(c).get("grade") and not nbgrader(c).get("solution")]
    assert tests
    for cell in tests:
        calls = list(check_calls(cell.source))
        assert calls, f"{nbgrader(cell)['grade_id']} calls no check"
        for name, call in calls:
            assert name in REGISTRY, f"{nbgrader(cell)['grade_id']}: unknown check {name}"
            assert len(call.args) == 1, f"{nbgrader(cell)['grade_id']}: one positional argument (the answer)"
            for kw in call.keywords:
                ast.literal_eval(kw.value)  # raises if not a literal


@pytest.mark.parametrize("path", SOURCES, ids=ids(SOURCES))
def test_every_exercise_has_a_hint(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if nbgrader(cell).get("solution") and cell.cell_type == "code":
            before = [c.source for c in nb.cells[max(0, i - 4):i] if c.cell_type == "markdown"]
            assert any("Hint" in s for s in before), f"{nbgrader(cell)['grade_id']} has no hint above it"


@pytest.mark.slow
@pytest.mark.parametrize("path", RELEASES, ids=ids(RELEASES))
def test_release_runs_and_fails_only_where_answers_are_missing(path, tmp_path):
    """A student's first Run All: every failure is an unanswered exercise, nothing else is broken."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    allowed = {"NotImplementedError", "CheckFailed", "NameError"}
    errors = [(i, o.ename) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert any(e == "NotImplementedError" for _, e in errors), "no exercise left for the student?"
    unexpected = [(i, e) for i, e in errors if e not in allowed]
    assert not unexpected, f"cells fail for reasons other than missing answers: {unexpected}"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not nbgrader(cell):
            stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert not stderr, f"cell {i} writes to stderr: {stderr[0][:200]}"
