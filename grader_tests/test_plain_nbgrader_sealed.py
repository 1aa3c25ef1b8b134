"""Plain ``nbgrader autograde``, as the README's "For instructors" section runs it, grades sealed:
nbgrader_config.py puts course.grading.sealed.SealedExecute and the metadata repair of
course.grading.nbgrader_autograde in nbgrader's own pipeline (the formgrader's Autograde button runs
the same converter with the same config).

One run of ``nbgrader autograde`` on assignment 02 grades, in this order, two honest students around
five who cheat or break things: one plants files for the next student (a ``course`` package next to
the notebook, writes outside its folder) and edits a locked test cell; one looks for the gradebook,
the source notebooks and other students' work; one patches the check registry; one submits a copied
answer cell (which made nbgrader abort the whole batch as an "old metadata format"); one deleted a
test cell. Asserted: no unearned point, the honest students untouched, nothing written outside the
student's own throw-away folder, the one real locked-cell edit warned about and no "checksum" noise
for anyone else, the events in nbgrader's output. Without a sandbox it refuses, with the reason,
unless the instructor opts out.
"""
from __future__ import annotations

import copy
import json
import re

import pytest
from nbformat.v4 import new_code_cell

from harness import Course

pytestmark = pytest.mark.slow

A = "02_rnn_from_scratch"
STUDENTS = ["a_honest", "b_planter", "c_reader", "d_patcher", "e_copied_cell", "f_deleted_test", "g_honest"]

PLANT = '''import os, pathlib
os.makedirs("course", exist_ok=True)
pathlib.Path("course/__init__.py").write_text("raise SystemExit('planted by b_planter')")
pathlib.Path("torch.py").write_text("raise SystemExit('planted by b_planter')")
for target in ["../course/__init__.py", "../../g_honest/{a}/course/__init__.py",
               "{root}/autograded/g_honest/{a}/course/__init__.py", "{root}/source/{a}/course/__init__.py",
               "/tmp/course/__init__.py"]:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        pathlib.Path(target).write_text("raise SystemExit('planted by b_planter')")
        print("PLANTED", target)
    except OSError as exc:
        print("refused", target, type(exc).__name__)
'''

READ = '''import glob, os, sqlite3
found = []
for pattern in ["../../../gradebook.db", "../../gradebook.db", "../gradebook.db", "{root}/gradebook.db",
                "{root}/source/*/*.ipynb", "{root}/submitted/*/*/*.ipynb", "../../*/{a}/*.ipynb"]:
    found += glob.glob(pattern)
print("FOUND", sorted(found))
keys = []
for db in [f for f in found if f.endswith(".db")]:
    keys += [row[0] for row in sqlite3.connect(db).execute("select source from source_cells")]
print("hidden tests read:", len(keys))
rnn_cell = None if keys else (lambda *args, **kwargs: None)  # what it found would decide its answer
'''

PATCH = '''from course.checks import REGISTRY
for _check in REGISTRY.values():
    _check.judge = lambda *args, **kwargs: []
'''


def _cell(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("plain02"), A)
    root = str(course.root)
    subs = {s: course.solution() for s in STUDENTS}
    planter = subs["b_planter"]
    planter.cells.insert(_cell(planter, "rnn_cell") + 1, new_code_cell(PLANT.format(a=A, root=root)))
    planter.cells[_cell(planter, "test_rnn_cell")].source = "pass  # no test here"
    reader = subs["c_reader"] = course.release()
    reader.cells.insert(_cell(reader, "rnn_cell") + 1, new_code_cell(READ.format(a=A, root=root)))
    patcher = subs["d_patcher"] = course.solution(
        rnn_cell="def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity='tanh'):\n"
                 "    return h_prev\n",
        rnn_forward="def rnn_forward(rnn, x, h0=None):\n    return x, h0\n")
    patcher.cells.insert(_cell(patcher, "rnn_cell") + 1, new_code_cell(PATCH))
    copied = subs["e_copied_cell"]
    twin = copy.deepcopy(copied.cells[_cell(copied, "rnn_cell")])
    twin["id"] = "copied-cell"
    copied.cells.insert(_cell(copied, "rnn_cell") + 1, twin)
    deleted = subs["f_deleted_test"]
    del deleted.cells[_cell(deleted, "test_rnn_forward_h0")]
    course.submit(subs)
    planted = course.root / "submitted" / "b_planter" / A / "course"
    planted.mkdir()
    (planted / "__init__.py").write_text("raise SystemExit('planted by b_planter')")
    before = sorted(p.relative_to(course.root) for p in (course.root / "source").rglob("*"))
    proc = course.run("autograde", A, "--force", check=False, log_level="INFO")
    return course, proc, course.scores(STUDENTS), course.max_scores(), before


def _log(proc) -> str:
    return proc.stdout + proc.stderr


def test_no_unearned_point_and_honest_students_untouched(plain):
    course, proc, scores, full, _ = plain
    assert proc.returncode == 0, _log(proc)[-3000:]
    for student in ("a_honest", "g_honest", "b_planter", "e_copied_cell", "f_deleted_test"):
        assert scores[student] == full, (student, scores[student])   # their answers are right
    for student in ("c_reader", "d_patcher"):
        assert sum(scores[student].values()) == 0, (student, scores[student])


def test_the_kernel_sees_only_its_own_folder(plain):
    course, proc, scores, full, before = plain
    assert sorted(p.relative_to(course.root) for p in (course.root / "source").rglob("*")) == before
    assert not list(course.root.glob("autograded/g_honest/**/course"))
    out = _outputs(course, "c_reader")
    assert "FOUND []" in out and "hidden tests read: 0" in out, out
    out = _outputs(course, "b_planter")
    assert "refused" in out and "PLANTED ../" not in out and f"PLANTED {course.root}" not in out, out


def test_flags_and_events_are_in_nbgraders_output(plain):
    course, proc, *_ = plain
    log = _log(proc)
    # every notebook is graded in the sandbox, and says so
    assert len(re.findall(r"sealed grading of \w+, rnn_from_scratch: sandbox on", log)) == len(STUDENTS), log[-3000:]
    assert "files submitted next to the notebook were not used when grading: course/__init__.py" in log
    assert "needs review" in log                                   # the registry patch
    assert "cell metadata removed: duplicate grade_id 'rnn_cell'" in log
    assert "Missing grade cell test_rnn_forward_h0" in log
    # a hidden test's passed line says it is one (it may repeat the visible line, on new cases)
    assert "[hidden test]" in _outputs(course, "a_honest")
    # the one locked cell really edited is reported; the hidden tests the release left out are not
    changed = re.findall(r"Attribute 'checksum' for cell (\w+) has changed", log)
    assert changed == ["test_rnn_cell"], changed


def test_refuses_without_a_sandbox_unless_told(plain):
    course = plain[0]
    course.submit({"zoe": course.solution()})
    off = {"COURSE_GRADE_SANDBOX": "off"}
    refused = course.run("autograde", A, "--student", "zoe", "--force", check=False, env=off)
    assert refused.returncode != 0 and "not graded: no sandbox (switched off by COURSE_GRADE_SANDBOX)" in _log(refused)
    assert not (course.root / "autograded" / "zoe" / A / "rnn_from_scratch.ipynb").exists()
    allowed = course.run("autograde", A, "--student", "zoe", "--force", "--SealedExecute.require_sandbox=False",
                         check=False, env=off, log_level="INFO")
    assert allowed.returncode == 0, _log(allowed)[-3000:]
    assert "sealed grading of zoe, rnn_from_scratch: sandbox OFF" in _log(allowed)
    assert course.scores(["zoe"])["zoe"] == course.max_scores()


def _outputs(course, student) -> str:
    nb = course.autograded(student)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
