"""Before nbgrader sees a submission: put the nbgrader metadata of every known cell back as the
gradebook says it is, strip it from duplicates and from cells claiming unknown grade_ids, and say so.
(nbgrader itself aborts the whole submission on duplicated or contradictory metadata, which would
cost the student the points they did earn.)"""
from __future__ import annotations

import json


def normalize(data: bytes, gradebook_path: str, assignment: str, notebook: str) -> tuple[bytes, list[str]]:
    from nbgrader.api import Gradebook

    try:
        nb = json.loads(data)
        cells = nb["cells"]
        assert isinstance(cells, list)
    except Exception:
        return data, []  # nbgrader reports broken files itself
    with Gradebook(f"sqlite:///{gradebook_path}") as gb:
        tnb = gb.find_notebook(notebook, assignment)
        grades = {c.name: c.max_score for c in tnb.grade_cells}
        solutions = {c.name for c in tnb.solution_cells}
        tasks = {c.name: c.max_score for c in tnb.task_cells}
        sources = {c.name: (c.locked, c.cell_type) for c in tnb.source_cells}
    flags, seen, ids = [], set(), set()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        meta = cell.setdefault("metadata", {})
        if not isinstance(meta, dict):
            cell["metadata"] = meta = {}
        cid = cell.get("id")
        if cid in ids:
            cell.pop("id", None)
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
        meta["nbgrader"] = want
    return json.dumps(nb).encode(), flags
