"""The trusted parent's side of the gradebook: template structure into the master, scores merged in,
grades.csv exported. Only this process ever opens the master gradebook."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def _url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def ensure_assignment(master: Path, template: bytes, assignment: str) -> None:
    """Give the master gradebook this assignment's notebooks and cells (copied from the template)."""
    from nbgrader.api import Gradebook, MissingEntry

    master = Path(master)
    if not master.exists():  # a fresh course: the template already is a valid gradebook
        master.parent.mkdir(parents=True, exist_ok=True)
        master.write_bytes(template)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tpath = Path(tmp) / "template.db"
        tpath.write_bytes(template)
        with Gradebook(_url(tpath)) as tgb, Gradebook(_url(master)) as gb:
            tas = tgb.find_assignment(assignment)
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                gb.update_or_create_assignment(assignment, duedate=tas.duedate)
            for tnb in tas.notebooks:
                gb.update_or_create_notebook(tnb.name, assignment)
                for c in tnb.grade_cells:
                    gb.update_or_create_grade_cell(c.name, tnb.name, assignment, max_score=c.max_score,
                                                   cell_type=c.cell_type)
                for c in tnb.solution_cells:
                    gb.update_or_create_solution_cell(c.name, tnb.name, assignment)
                for c in tnb.task_cells:
                    gb.update_or_create_task_cell(c.name, tnb.name, assignment, max_score=c.max_score,
                                                  cell_type=c.cell_type)
                for c in tnb.source_cells:
                    gb.update_or_create_source_cell(c.name, tnb.name, assignment, source=c.source,
                                                    cell_type=c.cell_type, locked=c.locked,
                                                    checksum=c.checksum)


def merge(master: Path, results: list[dict]) -> None:
    """Write each job's scores into the master gradebook (auto scores, flags, comments)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_url(master)) as gb:
        for res in results:
            student, assignment = res["student"], res["assignment"]
            # a name the id was derived from ("Zoë" -> Zo-3b1f0c) is kept where nbgrader shows names
            name = res.get("name")
            gb.update_or_create_student(student, **({"last_name": name} if name and name != student else {}))
            kw = {"timestamp": res["timestamp"]} if res.get("timestamp") else {}
            gb.update_or_create_submission(assignment, student, **kw)
            flagged = bool(res.get("flags")) or res["status"] != "graded"
            for nb in gb.find_assignment(assignment).notebooks:
                snb = gb.find_submission_notebook(nb.name, assignment, student)
                data = res.get("notebooks", {}).get(nb.name)
                for grade in snb.grades:
                    if data is None or res["status"] != "graded":
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = True
                        continue
                    grade.auto_score = data["scores"].get(grade.name)
                    grade.needs_manual_grade = (grade.name in data["needs_manual"]
                                                or grade.manual_score is not None)
                for comment in snb.comments:
                    if data is not None:
                        comment.auto_comment = data.get("comments", {}).get(comment.name)
                snb.flagged = flagged
            gb.db.commit()


def export_csv(master: Path, out: Path) -> None:
    """nbgrader's own CSV export of the master gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin()
    plugin.to = str(out)
    with Gradebook(_url(master)) as gb:
        plugin.export(gb)
