"""Turn the cases into submitted notebooks (from the committed release + the source's solutions)."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)
ASSIGNMENT, NOTEBOOK = "01_rnn_layer", "rnn_layer.ipynb"


def solution(root: Path, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK):
    release = nbformat.read(root / "release" / assignment / notebook, as_version=4)
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c
              for c in nbformat.read(root / "source" / assignment / notebook, as_version=4).cells}
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = SOLUTION_BLOCK.sub(lambda m: m.group(1), source[meta["grade_id"]].source)
    return release


def build(root: Path, case: dict, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> bytes:
    if "raw" in case:
        return case["raw"]
    nb = copy.deepcopy(solution(root, assignment, notebook))
    gid = lambda c: c.metadata.get("nbgrader", {}).get("grade_id")  # noqa: E731
    for cell in nb.cells:
        if gid(cell) in case.get("replace", {}):
            cell.source = case["replace"][gid(cell)]
        if gid(cell) in case.get("edit", {}):
            cell.source = case["edit"][gid(cell)]
        if gid(cell) in case.get("meta", {}):
            cell.metadata["nbgrader"].update(case["meta"][gid(cell)])
    cells = []
    for cell in nb.cells:
        if gid(cell) in case.get("delete", ()):
            continue
        if gid(cell) in case.get("insert_before", {}):
            cells.append(new_code_cell(case["insert_before"][gid(cell)]))
        cells.append(cell)
        for _ in range(case.get("duplicate", {}).get(gid(cell), 0)):
            cells.append(copy.deepcopy(cell))
        if gid(cell) in case.get("insert", {}):
            cells.append(new_code_cell(case["insert"][gid(cell)]))
    nb.cells = cells
    if "kernelspec" in case:
        nb.metadata["kernelspec"] = case["kernelspec"]
    return nbformat.writes(nb).encode()
