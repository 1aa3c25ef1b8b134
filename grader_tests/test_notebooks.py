"""The notebooks themselves: clean sources, checkable test cells, hints, and runnable releases.

The source notebooks are also run top to bottom by nbval (`make test` passes `--nbval-lax source`).
"""
import ast
import re
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
    """A student's first Run All, nothing answered: only answer cells and their graded test cells fail;
    every demonstration after an exercise still runs (on the course's stand-in, saying so)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    failed = {i for i, _, _ in errors}
    free = [nbgrader(c)["grade_id"] for i, c in enumerate(nb.cells)
            if nbgrader(c).get("grade") and not nbgrader(c).get("solution") and i not in failed]
    assert not free, f"test cells that pass with nothing answered (free points): {free}"
    wrong = []
    for i, ename, evalue in errors:
        meta = nbgrader(nb.cells[i])
        if meta.get("solution"):
            ok = ename == "NotImplementedError"
        elif meta.get("grade"):
            ok = ename in ("CheckFailed", "NotImplementedError")  # NameError: an answer without placeholder
        else:
            ok = False
        if not ok:
            wrong.append(f"cell {i} ({meta.get('grade_id', 'demonstration')}): {ename}: {evalue[:200]}")
    assert not wrong, "cells fail for reasons other than missing answers:\n" + "\n".join(wrong)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not nbgrader(cell):
            stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert not stderr, f"cell {i} writes to stderr: {stderr[0][:200]}"


# ---- numbers in prose ----------------------------------------------------------------------------
# A percentage, a time or a ratio stated in markdown must be printed by some cell of the notebook.
STATED = re.compile(r"(?<![\w.^{])(\d+(?:\.\d+)?)\s*(%|×|ms\b|s\b|seconds?\b|minutes?\b)")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")


def output_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for kind in ("text/plain", "text/markdown", "text/html"):
                parts.append(out.get("data", {}).get(kind, ""))
    return "\n".join(parts)


def shown(value: str, unit: str, printed: list[float]) -> bool:
    """Is ``value`` (as written in prose, e.g. "84" with "%") the rounding of a printed number?"""
    step = 10 ** -len(value.partition(".")[2]) / 2 + 1e-9
    target = float(value)
    scales = (1, 100) if unit == "%" else (1, 1000) if unit == "ms" else (1,)
    return any(abs(x * k - target) <= step for x in printed for k in scales)


def unshown_numbers(nb) -> list[str]:
    printed = [float(m) for m in NUMBER.findall(output_text(nb))]
    missing = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in STATED.finditer(cell.source):
            if not shown(m.group(1), m.group(2), printed):
                line = cell.source[max(0, m.start() - 60):m.end() + 20].replace("\n", " ")
                missing.append(f"{m.group(0)!r} in: ...{line}...")
    return missing


def test_the_number_check_catches_a_stated_number_no_cell_prints():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("It reaches 84 % in about 15 s, 4× cheaper."),
        nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="accuracy 0.8412, 15.2 s, ratio 1.9\n")])])
    assert [m.split(" in:")[0] for m in unshown_numbers(nb)] == ["'4×'"]


@pytest.mark.slow
@pytest.mark.parametrize("number", [p.parent.name[:2] for p in SOURCES])
def test_numbers_in_prose_are_printed_by_a_cell(number, source_run):
    nb = nbformat.read(source_run(number) / "executed.ipynb", as_version=4)
    missing = unshown_numbers(nb)
    assert not missing, ("the markdown states numbers no cell prints (print them where they are "
                         "computed, or refer to the output):\n" + "\n".join(missing))


@pytest.mark.slow
@pytest.mark.parametrize("number", [p.parent.name[:2] for p in SOURCES])
def test_every_figure_has_alternative_text(number, source_run):
    """nbgrader's feedback HTML (nbconvert's classic template) takes a figure's alt from its cell's
    metadata "alt": every cell that draws must describe what it shows."""
    nb = nbformat.read(source_run(number) / "executed.ipynb", as_version=4)
    missing = [c.source.splitlines()[0][:70] for c in nb.cells if c.cell_type == "code"
               and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
               and len(c.metadata.get("alt", "")) < 30]
    assert not missing, f"figures without alt text (cell metadata 'alt'): {missing}"
