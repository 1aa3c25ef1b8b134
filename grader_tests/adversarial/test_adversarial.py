"""Malicious and broken submissions, graded in ONE run of the real command (2 workers) in a temporary
course: none earns a point it did not earn honestly, the honest solution keeps full marks, and the
master gradebook, source/ and every other student's folder are byte-identical afterwards."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .build import ASSIGNMENT, NOTEBOOK, build, solution
from .cases import CASES, ORDER

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
A02, NB02 = "02_rnn_from_scratch", "rnn_from_scratch.ipynb"
A02_PRESENT = (ROOT / "release" / A02 / NB02).is_file() and (ROOT / "source" / A02 / NB02).is_file()
CALLS_NN_RNN = """
def rnn_forward(rnn, x, h0=None):
    return rnn(x) if h0 is None else rnn(x, h0)
"""
# The same shortcut, after switching off the probe's own guards inside the kernel: only the
# grader's scan of the submitted source (in the trusted process) can still see it.
HIDES_NN_RNN = """
import contextlib
import course.checks.rnn_scratch as _rs
_rs.static_shortcuts = lambda fn: []
_rs.guard_kernels = lambda log: contextlib.nullcontext(log)

def rnn_forward(rnn, x, h0=None):
    twin = nn.RNN(rnn.input_size, rnn.hidden_size, num_layers=rnn.num_layers,
                  nonlinearity=rnn.nonlinearity, bias=rnn.bias, batch_first=rnn.batch_first).to(x.dtype)
    twin.load_state_dict(rnn.state_dict())
    return twin(x) if h0 is None else twin(x, h0)
"""
TIMEOUT = 60  # the machine may be heavily shared: honest cells must never time out


def snapshot(*folders: Path) -> dict:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.is_dir() else [folder]:
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = tmp_path_factory.mktemp("adv")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for step in ("source", "release"):
        shutil.copytree(ROOT / step / ASSIGNMENT, course / step / ASSIGNMENT)
    (course / "gradebook.db").write_bytes(b"the course's master gradebook: must not change")
    subs = dict({name: build(ROOT, case) for name, case in CASES.items()})
    subs["honest"] = build(ROOT, {})
    import nbformat
    subs["other_student"] = nbformat.writes(solution(ROOT)).encode()
    for student, data in subs.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(data)
    if A02_PRESENT:  # calling nn.RNN inside rnn_forward (assignment 02), graded in the same run
        for step in ("source", "release"):
            shutil.copytree(ROOT / step / A02, course / step / A02)
        for student, case in (("honest02", {}), ("calls_nn_rnn", {"replace": {"rnn_forward": CALLS_NN_RNN}}),
                              ("hides_nn_rnn", {"replace": {"rnn_forward": HIDES_NN_RNN}})):
            folder = course / "submitted" / student / A02
            folder.mkdir(parents=True)
            (folder / NB02).write_bytes(build(ROOT, case, A02, NB02))
    # the repository's own assignment 01 too (other assignments are being edited while tests run)
    guarded = [course / "source", course / "gradebook.db", course / "submitted", ROOT / "source" / ASSIGNMENT,
               ROOT / "release" / ASSIGNMENT]
    # (the repository's root gradebook.db is not guarded here: `course.release` of other assignments
    # writes to it while this suite runs; the course copy's master gradebook stands in for it.)
    before = snapshot(*guarded)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(course / "out"), "--workers", "2", "--timeout", str(TIMEOUT),
                           "--memory-mb", "2048", "--quiet"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=1800)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((course / "out" / "reports" / "results.json").read_text())
    print(f"adversarial run: {len(subs)} submissions in {seconds:.0f} s\n{proc.stdout}")
    return {"course": course, "results": {r["student"]: r for r in results["submissions"]},
            "summary": results["summary"], "before": before, "after": snapshot(*guarded), "stdout": proc.stdout}


FULL = None


def full_marks(run):
    return {k: v for k, v in run["results"]["honest"]["scores"]["rnn_layer"].items()}


def test_honest_and_other_student_keep_full_marks(run):
    for student in ("honest", "other_student"):
        scores = run["results"][student]["scores"]["rnn_layer"]
        assert sorted(scores) == sorted(ORDER)
        assert sum(scores.values()) == 28, scores


def test_flags_point_at_the_tampering(run):
    res = run["results"]
    assert res["honest"]["flags"] == [] and res["other_student"]["flags"] == []
    for case in ("edited_metadata", "duplicated_test_cells", "infinite_loop", "os_exit_midway", "invalid_json"):
        assert res[case]["flags"], case


def test_nothing_outside_the_scratch_changed(run):
    changed = {k for k in set(run["before"]) | set(run["after"]) if run["before"].get(k) != run["after"].get(k)}
    assert not changed


def test_sandbox_was_on(run):
    assert run["summary"]["sandbox"] == "on"


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_earns_nothing_dishonest(run, case):
    spec = CASES[case]
    res = run["results"][case]
    full = {"test_init_hidden_uni": 2, "test_build_classifier": 2}
    if spec.get("raw"):
        assert res["status"] == "failed"
        assert sum(v or 0 for v in res["scores"].get("rnn_layer", {}).values()) == 0
        return
    scores = res["scores"]["rnn_layer"]
    problems = []
    for gid in ORDER:
        want = full.get(gid, 1)
        got = scores.get(gid) or 0
        if gid in spec["lost"]:
            if got != 0:
                problems.append(f"{gid}: {got} but must be 0")
        elif gid in spec.get("maybe", ()):
            if got > want:
                problems.append(f"{gid}: {got} > {want}")
        elif got != want:
            problems.append(f"{gid}: {got}, honest answer deserves {want}")
    assert not problems, (problems, res["flags"])


@pytest.mark.skipif(not A02_PRESENT, reason="assignment 02 (rnn_forward) is not in this checkout")
@pytest.mark.parametrize("student", ["calls_nn_rnn", "hides_nn_rnn"])
def test_calling_nn_rnn_inside_rnn_forward_earns_nothing(run, student):
    honest = run["results"]["honest02"]["scores"]["rnn_from_scratch"]
    cheat = run["results"][student]["scores"]["rnn_from_scratch"]
    forward = {g for g in honest if g.startswith("test_rnn_forward")}
    assert forward and all(honest[g] > 0 for g in forward)
    assert all((cheat[g] or 0) == 0 for g in forward), cheat
    assert all((cheat[g] or 0) == honest[g] for g in honest if g not in forward), cheat
