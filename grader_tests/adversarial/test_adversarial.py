"""Malicious, broken and honest-but-unusual submissions of every assignment, graded in ONE run of
the real command (2 workers) in a temporary course: none earns a point it did not earn honestly,
honest solutions (and other honest styles) keep full marks with no flag, and the master gradebook,
source/ and every other student's folder are byte-identical afterwards."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from course.grading.sandbox import Sandbox

from .build import build, solution
from .cases import CASES

pytestmark = pytest.mark.slow
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


class LoadSampler(threading.Thread):
    """The 1-minute load average, read every second while the run lasts (its maximum is reported)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, float(Path("/proc/loadavg").read_text().split()[0]))
            self.stop.wait(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = tmp_path_factory.mktemp("adv")
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
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    sampler = LoadSampler()
    sampler.start()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(course / "out"), "--workers", "2", "--timeout", str(TIMEOUT),
                           "--memory-mb", "2048", "--quiet"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=2400)
    seconds = time.monotonic() - start
    sampler.stop.set()
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((course / "out" / "reports" / "results.json").read_text())
    print(f"adversarial run: {len(subs)} submissions over {len(CASES)} assignments in {seconds:.0f} s, "
          f"peak 1-min load average {sampler.peak:.1f}\n{proc.stdout}")
    return {"course": course, "subs": subs, "summary": results["summary"], "load": sampler.peak,
            "results": {(r["student"], r["assignment"]): r for r in results["submissions"]},
            "before": before, "after": snapshot(*guarded)}


def scores_of(res):
    (scores,) = res["scores"].values() or [{}]
    (maxes,) = res["max"].values() or [{}]
    return scores, maxes


CASE_IDS = [(a, c) for a, cases in CASES.items() for c in cases]


@pytest.mark.parametrize("assignment,case", CASE_IDS, ids=[f"{a[:2]}-{c}" for a, c in CASE_IDS])
def test_case_earns_nothing_dishonest(run, assignment, case):
    student = f"{assignment[:2]}_{case}"
    if student in REFUSED:
        pytest.skip(REFUSED[student])
    spec = CASES[assignment][case]
    res = run["results"][(student, assignment)]
    honest, full = scores_of(run["results"][(f"{assignment[:2]}_honest", assignment)])
    if spec.get("raw"):
        assert res["status"] == "failed"
        assert sum(v or 0 for s in res["scores"].values() for v in s.values()) == 0
        return
    scores, _ = scores_of(res)
    problems = []
    if spec.get("style"):
        if res["flags"]:
            problems.append(f"an honest style was flagged: {res['flags']}")
    if spec.get("flag"):
        if not any("needs review" in f for f in res["flags"]):
            problems.append(f"tampering not flagged for review: {res['flags']}")
    for gid, want in full.items():
        got = scores.get(gid) or 0
        if spec.get("flag") or gid in spec.get("lost", ()):
            if got != 0:
                problems.append(f"{gid}: {got} but must be 0")
        elif gid in spec.get("maybe", ()):
            if got > want:
                problems.append(f"{gid}: {got} > {want}")
        elif got != want:
            problems.append(f"{gid}: {got}, an honest answer deserves {want}")
    assert not problems, (problems, res["flags"])


@pytest.mark.parametrize("assignment", sorted(CASES))
def test_honest_solution_keeps_full_marks_unflagged(run, assignment):
    res = run["results"][(f"{assignment[:2]}_honest", assignment)]
    scores, maxes = scores_of(res)
    assert res["status"] == "graded" and res["flags"] == []
    assert scores == maxes


def test_other_student_untouched(run):
    res = run["results"][("01_other_student", "01_rnn_layer")]
    scores, maxes = scores_of(res)
    assert scores == maxes and res["flags"] == []


def test_every_submission_is_in_the_results(run):
    assert set(run["subs"]) == set(run["results"])


def test_nothing_outside_the_scratch_changed(run):
    changed = {k for k in set(run["before"]) | set(run["after"]) if run["before"].get(k) != run["after"].get(k)}
    assert not changed


def test_sandbox_was_on(run):
    assert run["summary"]["sandbox"] == "on"


def test_the_machine_was_never_starved(run):
    """An escaped fork bomb drives the load average into the hundreds (1,634 measured once)."""
    assert run["load"] < 50, run["load"]
