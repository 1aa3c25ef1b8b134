"""Before nbgrader sees a submission: put the nbgrader metadata of every known cell back as the
gradebook says it is, strip it from duplicates and from cells claiming unknown grade_ids, and say so.
(nbgrader itself aborts the whole submission on duplicated or contradictory metadata, which would
cost the student the points they did earn; a duplicated grade_id even aborts the whole batch, as an
"old metadata format".) ``normalize`` works on a file's bytes (course.grade's jobs); ``repair`` on the
cells of a notebook nbgrader has read (``RestoreMetadata`` in nbgrader_config.py)."""
from __future__ import annotations

import json
import secrets

from nbformat import NotebookNode


def known_cells(db_url: str, assignment: str, notebook: str) -> dict:
    """What the gradebook says of every cell of this notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        tnb = gb.find_notebook(notebook, assignment)
        return {"grades": {c.name: c.max_score for c in tnb.grade_cells},
                "solutions": {c.name for c in tnb.solution_cells},
                "tasks": {c.name: c.max_score for c in tnb.task_cells},
                "sources": {c.name: (c.locked, c.cell_type) for c in tnb.source_cells}}


def repair(cells: list, known: dict) -> list[str]:
    """Restore the nbgrader metadata of ``cells`` in place; returns what was changed."""
    grades, solutions, tasks, sources = known["grades"], known["solutions"], known["tasks"], known["sources"]
    flags, seen, ids = [], set(), set()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata")
        if not isinstance(meta, dict):
            cell["metadata"] = meta = NotebookNode()
        cid = cell.get("id")
        if cid in ids:  # a copied cell: nbformat wants every id once
            cell["id"] = secrets.token_hex(6)
        ids.add(cid)
        nbg = meta.get("nbgrader")
        if not isinstance(nbg, dict):
            meta.pop("nbgrader", None)
            continue
        gid = nbg.get("grade_id")
        if gid not in sources or gid in seen:
            flags.append(f"cell metadata removed: {'duplicate' if gid in seen else 'unknown'} grade_id {gid!r}")
            meta.pop("nbgrader", None)
            continue
        seen.add(gid)
        want = {"grade": gid in grades, "solution": gid in solutions, "locked": bool(sources[gid][0]),
                "grade_id": gid, "schema_version": 3}
        if gid in grades:
            want["points"] = grades[gid]
        if gid in tasks:
            want["task"], want["points"] = True, tasks[gid]
        for keep in ("checksum", "cell_type"):  # nbgrader's own bookkeeping, checked by nbgrader
            if keep in nbg:
                want[keep] = nbg[keep]
        changed = sorted(k for k in set(want) | set(nbg) if nbg.get(k) != want.get(k))
        if changed:
            flags.append(f"{gid}: nbgrader metadata edited ({', '.join(changed)}), restored")
        meta["nbgrader"] = NotebookNode(want)
    return flags


def normalize(data: bytes, gradebook_path: str, assignment: str, notebook: str) -> tuple[bytes, list[str]]:
    try:
        nb = json.loads(data)
        cells = nb["cells"]
        assert isinstance(cells, list)
    except Exception:
        return data, []  # nbgrader reports broken files itself
    flags = repair(cells, known_cells(f"sqlite:///{gradebook_path}", assignment, notebook))
    return json.dumps(nb).encode(), flags
