"""`python -m course.grade --demo` end to end (real kernels, real nbgrader), locally and on a real
Dask LocalCluster."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _check(out: Path):
    doc = json.loads((out / "reports" / "results.json").read_text())
    totals = {s["student"]: sum((v or 0) for v in s["scores"]["rnn_layer"].values()) for s in doc["submissions"]}
    assert totals["ada"] == 28 and totals["fay"] == 0
    assert totals["ben"] == 28 - 4 - 1 - 1          # h0 cells (2+1+1), shape_c1, q_h1
    assert totals["cleo"] == 28 - 1 - 2             # best_epoch, build_classifier
    assert totals["dan"] == 0                       # patched assert_close: flagged, nothing scored
    dan = next(s for s in doc["submissions"] if s["student"] == "dan")
    assert any("needs review" in f and "assert_close" in f for f in dan["flags"]), dan["flags"]
    assert doc["summary"]["needs_review"] == 1
    rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["ada"] == 28 and rows["dan"] == 0
    assert (out / "reports" / "report.html").read_text().count("<img") >= 2
    assert (out / "reports" / "01_rnn_layer_histogram.png").stat().st_size > 1000
    fb = (out / "feedback" / "ben" / "01_rnn_layer" / "rnn_layer.html").read_text()
    assert "even when batch_first=True" in fb
    assert 'key="' not in fb and "HIDDEN TESTS" not in fb and "explain=" not in fb
    graded = (out / "autograded" / "ada" / "01_rnn_layer" / "rnn_layer.ipynb").read_text()
    assert "seed=None" in graded  # the instructor's copy keeps the hidden tests
    return doc


def test_demo_local(tmp_path):
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    proc = subprocess.run([sys.executable, "-m", "course.grade", "--demo", "--out", str(tmp_path), "--workers", "2",
                           "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "graded 5, failed 0" in proc.stdout
    doc = _check(tmp_path)
    assert doc["meta"]["engine"] == "local"


def test_demo_on_a_dask_cluster_with_a_worker_killed_midway(tmp_path):
    """The README's commands: `dask scheduler`, two `dask worker` processes, then course.grade
    --scheduler. One worker is killed (SIGKILL, its whole process group) once the first submission
    is back: its job runs again on the other worker, and every grade is the one the local pool gives
    (_check holds the demo's known scores)."""
    import signal
    import threading
    import time

    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    dask = str(Path(sys.executable).parent / "dask")
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", str(sched_file), "--port", "0",
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        for _ in range(600):
            if sched_file.is_file() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--no-dashboard"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client
        with Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        grading = subprocess.Popen([sys.executable, "-m", "course.grade", "--demo", "--out", str(tmp_path / "out"),
                                    "--scheduler", address], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        killed = {}

        def watch():  # the progress bar on stderr: kill worker 1 when the first submission is back
            buf = ""
            while True:
                ch = grading.stderr.read(1)
                if not ch:
                    return
                buf = (buf + ch)[-200:]
                if not killed and "| 1/5" in buf:
                    os.killpg(procs[1].pid, signal.SIGKILL)
                    killed["at"] = buf
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        stdout = grading.stdout.read()  # stderr is the watcher's
        grading.wait(timeout=1200)
        watcher.join(10)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert grading.returncode == 0, stdout
    assert killed, "the worker was never killed: the batch ended before the first result was seen"
    assert "graded 5, failed 0" in stdout, stdout
    doc = _check(tmp_path / "out")
    assert doc["meta"]["engine"] == "dask"


def _course_copy(tmp_path, assignment="01_rnn_layer"):
    course = tmp_path / "course"
    for step in ("source", "release"):
        (course / step).mkdir(parents=True)
        subprocess.run(["cp", "-r", str(ROOT / step / assignment), str(course / step)], check=True)
    (course / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    sub = course / "submitted" / "ada" / assignment
    sub.mkdir(parents=True)
    sub.joinpath("rnn_layer.ipynb").write_bytes(
        (ROOT / "course" / "demo" / "submitted" / "ada" / assignment / "rnn_layer.ipynb").read_bytes())
    return course


def test_a_second_checkout_grades_with_its_own_course_package(tmp_path):
    """Grading from another checkout with this venv: the kernel must import the parent's `course`
    (the copy the command runs from), not the one the venv's editable install points to."""
    checkout = tmp_path / "second"
    checkout.mkdir()
    subprocess.run(["cp", "-r", str(ROOT / "course"), str(checkout / "course")], check=True)
    course = _course_copy(tmp_path)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    env.pop("PYTHONPATH", None)  # `cd second && ../first/.venv/bin/python -m course.grade`
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "out" / "reports" / "results.json").read_text())
    assert sum(v or 0 for v in doc["submissions"][0]["scores"]["rnn_layer"].values()) == 28


def test_a_broken_grading_environment_stops_the_batch(tmp_path):
    """A set-up cell that fails before any student code ran is the grader's fault: nobody is
    graded, the command exits non-zero and says why (it used to give everyone 0 with exit code 0)."""
    import nbformat
    course = _course_copy(tmp_path)
    path = course / "source" / "01_rnn_layer" / "rnn_layer.ipynb"
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source = "import course_that_is_not_installed\n" + setup.source
    nbformat.write(nb, path)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0
    assert "nobody was graded" in proc.stderr and "course_that_is_not_installed" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_without_a_sandbox_a_fork_bomb_is_refused_or_contained(tmp_path):
    """--no-sandbox: as root with no possible uid switch RLIMIT_NPROC cannot hold a fork bomb, so the
    grader refuses to run the flagged notebook and says why; otherwise the kernel runs under a uid the
    limit holds. Either way the machine is never starved."""
    sys.path.insert(0, str(ROOT / "grader_tests"))
    from adversarial.build import build
    from adversarial.cases import CASES01
    from course.grading.sandbox import Sandbox

    course = _course_copy(tmp_path)
    bomb = course / "submitted" / "bomb" / "01_rnn_layer"
    bomb.mkdir(parents=True)
    (bomb / "rnn_layer.ipynb").write_bytes(build(ROOT, CASES01["fork_bomb"]))
    contained = Sandbox(tmp_path, use_bwrap=False).contains_processes
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet",
                           "--no-sandbox", "--timeout", "60"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sandbox: off (--no-sandbox)" in proc.stderr
    doc = json.loads((tmp_path / "out" / "reports" / "results.json").read_text())
    res = {s["student"]: s for s in doc["submissions"]}
    assert sum(v or 0 for v in res["bomb"]["scores"]["rnn_layer"].values()) == 0
    assert sum(v or 0 for v in res["ada"]["scores"]["rnn_layer"].values()) == 28
    refused = [f for f in res["bomb"]["flags"] if "cannot contain the processes" in f]
    assert bool(refused) == (not contained), res["bomb"]["flags"]
    assert float(Path("/proc/loadavg").read_text().split()[0]) < 50


def test_bad_input_every_submission_graded_or_listed_with_its_reason(tmp_path):
    """Issue 11's bad-input table, one row each: every notebook found is graded or listed with its
    reason; a broken submission changes nobody else's grade; exit codes as the README says."""
    ada = (ROOT / "course" / "demo" / "submitted" / "ada" / "01_rnn_layer" / "rnn_layer.ipynb").read_bytes()
    nb = json.loads(ada)
    answer = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    answer["source"] = "for _ in range(60):\n    print('x' * (1 << 20))\n" + "".join(answer["source"])
    loud = json.dumps(nb).encode()
    folder = tmp_path / "in" / "submitted"
    rows = {"ada": ada, "Anna Maria": ada, "Zoë": ada, "..sneaky": ada, "bob": b"", "cy": b"{not json", "eve": loud}
    for student, data in rows.items():
        (folder / student / "01_rnn_layer").mkdir(parents=True)
        (folder / student / "01_rnn_layer" / "rnn_layer.ipynb").write_bytes(data)
    import zipfile
    with zipfile.ZipFile(tmp_path / "more.zip", "w") as zf:
        zf.writestr("../escaped/rnn_layer.ipynb", ada)
    scratch = tmp_path / "tmp"  # the zip's copy and the jobs' folders: all removed afterwards
    scratch.mkdir()
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
               TMPDIR=str(scratch))
    run = lambda *args: subprocess.run([sys.executable, "-m", "course.grade", *map(str, args), "--quiet"],  # noqa: E731
                                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    out = tmp_path / "out"
    proc = run(tmp_path / "in", tmp_path / "more.zip", tmp_path / "missing", "--out", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not graded: 3" in proc.stdout, proc.stdout
    doc = json.loads((out / "reports" / "results.json").read_text())
    subs = {s["name"]: s for s in doc["submissions"]}
    totals = {n: sum((v or 0) for v in s["scores"].get("rnn_layer", {}).values()) for n, s in subs.items()}
    # the same notebook under a name with a space or an accent: graded, same score, name kept
    assert totals["ada"] == totals["Anna Maria"] == totals["Zoë"] == totals["eve"] == 28
    assert subs["Anna Maria"]["student"].startswith("Anna_Maria-") and subs["Zoë"]["student"].startswith("Zoe-")
    assert not subs["ada"]["flags"] and not subs["Zoë"]["flags"]
    # unreadable notebooks: failed, 0, with the real reason in one line
    assert subs["bob"]["status"] == "failed" and "empty" in subs["bob"]["errors"][0]
    assert subs["cy"]["status"] == "failed" and "not valid JSON" in subs["cy"]["errors"][0]
    # an oversized output is flagged, and the cells still earn their points
    assert any("printed more than" in f for f in subs["eve"]["flags"]), subs["eve"]["flags"]
    # grades.csv has a row for every graded or failed student, with the name nbgrader shows
    grades = {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert {s["student"] for s in subs.values()} == set(grades)
    assert grades[subs["Zoë"]["student"]]["last_name"] == "Zoë"
    assert float(grades["bob"]["raw_score"]) == 0 and float(grades["ada"]["raw_score"]) == 28
    # not graded: listed with the reason, in not_graded.csv and the report
    listed = {r["path"]: r["reason"] for r in csv.DictReader(open(out / "not_graded.csv"))}
    assert any("..sneaky" in p and "could act as a path" in why for p, why in listed.items()), listed
    assert any("escaped" in p and "leaves the archive" in why for p, why in listed.items()), listed
    assert listed[str(tmp_path / "missing")] == "no such file or folder"
    assert len(listed) == doc["summary"]["not_graded"] == 3
    assert "..sneaky" in (out / "reports" / "report.html").read_text()
    assert not list(scratch.iterdir()), "temporary copies left behind"
    # nothing to grade: a missing folder, an unknown assignment -> non-zero exit with the reason
    proc = run(tmp_path / "missing", "--out", tmp_path / "o2")
    assert proc.returncode != 0 and "nothing to grade" in proc.stderr and "no such file" in proc.stderr
    proc = run(tmp_path / "in", "--assignment", "09_nope", "--out", tmp_path / "o3")
    assert proc.returncode != 0 and "unknown assignment 09_nope" in proc.stderr
