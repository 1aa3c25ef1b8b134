"""The adversarial run: malicious, broken and honest-but-unusual submissions of every assignment (the
cases of cases.py), graded in ONE run of the real command (2 workers) in a temporary course. Made once
per session by conftest.py's ``adversarial_run`` fixture (started in the background as the session
begins); test_adversarial.py judges it."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat

from course.grading.sandbox import Sandbox
from harness import run_course_grade

from .build import build, solution
from .cases import CASES

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90  # the machine may be heavily shared: honest cells must never time out
CONTAINED = Sandbox(Path("/tmp")).contains_processes
REFUSED = {} if CONTAINED else {
    f"{a[:2]}_{name}": "this grader cannot contain a fork bomb here (root, no sandbox, no uid switch): not run"
    for a, cases in CASES.items() for name, case in cases.items() if case.get("needs_containment")}


def notebook(assignment: str) -> str:
    return next((ROOT / "source" / assignment).glob("*.ipynb")).name


def snapshot(*folders: Path) -> dict:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.is_dir() else [folder]:
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def submissions() -> dict:
    """(student, assignment) -> (notebook name, bytes, case spec)."""
    subs = {}
    for assignment, cases in CASES.items():
        name = notebook(assignment)
        prefix = assignment[:2]
        subs[(f"{prefix}_honest", assignment)] = (name, build(ROOT, {}, assignment, name), {"style": True})
        for case, spec in cases.items():
            student = f"{prefix}_{case}"
            if student not in REFUSED:
                subs[(student, assignment)] = (name, build(ROOT, spec, assignment, name), spec)
    subs[("01_other_student", "01_rnn_layer")] = ("rnn_layer.ipynb", nbformat.writes(solution(ROOT)).encode(),
                                                   {"style": True})
    return subs


def grade_cases(course: Path) -> dict:
    """Grade every case in a course made in the empty folder ``course``; what the tests judge."""
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in CASES:
        for step in ("source", "release"):
            shutil.copytree(ROOT / step / assignment, course / step / assignment)
    (course / "gradebook.db").write_bytes(b"the course's master gradebook: must not change")
    subs = submissions()
    for (student, assignment), (name, data, _) in subs.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
    guarded = [course / "source", course / "gradebook.db", course / "submitted"] + \
              [ROOT / step / a for a in CASES for step in ("source", "release")]
    before = snapshot(*guarded)
    seconds, stdout, peak = run_course_grade(course, course / "submitted", course / "out", workers=2,
                                             args=("--timeout", str(TIMEOUT), "--memory-mb", "2048"), timeout=2400)
    results = json.loads((course / "out" / "reports" / "results.json").read_text())
    summary = (f"adversarial run: {len(subs)} submissions over {len(CASES)} assignments in {seconds:.0f} s, "
               f"peak 1-min load average {peak:.1f} — {stdout.strip().splitlines()[0]}")
    return {"course": course, "subs": subs, "summary": results["summary"], "load": peak, "line": summary,
            "results": {(r["student"], r["assignment"]): r for r in results["submissions"]},
            "before": before, "after": snapshot(*guarded)}
