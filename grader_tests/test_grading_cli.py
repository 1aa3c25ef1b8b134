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
    assert totals["dan"] == 28 - 4                  # patched assert_close gains nothing
    rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["ada"] == 28 and rows["dan"] == 24
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


def test_demo_on_dask_local_cluster(tmp_path):
    from distributed import Client, LocalCluster

    from course import grade

    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        doc = grade.main(["--demo", "--out", str(tmp_path), "--quiet", "--course-dir", str(ROOT),
                          "--scheduler", cluster.scheduler_address])
    assert doc["meta"]["engine"] == "dask" and doc["meta"]["workers"] == 2
    _check(tmp_path)
    workers = {s["worker"] for s in doc["submissions"]}
    assert len(workers) >= 1
