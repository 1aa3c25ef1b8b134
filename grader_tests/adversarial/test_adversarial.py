"""Malicious, broken and honest-but-unusual submissions of every assignment, graded in ONE run of
the real command (2 workers) in a temporary course (adversarial/run.py): none earns a point it did not
earn honestly, honest solutions (and other honest styles) keep full marks with no flag, and the master
gradebook, source/ and every other student's folder are byte-identical afterwards."""
from __future__ import annotations

import pytest

from .cases import CASES
from .run import REFUSED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(adversarial_run):
    """The session's adversarial run (conftest.py starts it in the background)."""
    return adversarial_run


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
