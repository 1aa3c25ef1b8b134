"""Benchmark: plain serial `nbgrader autograde` vs `python -m course.grade` vs the physical limit.

    python benchmarks/grading.py [-n 20] [--workers W] [--cold]

N synthetic submissions (solutions, some with mistakes, some untouched releases) across the
assignments that exist (source/<a> with a notebook). In one run, on the same inputs:
  * nbgrader_serial_s: one `nbgrader autograde <a> --force` per assignment (gradebook generated before,
    untimed, as an instructor would have it);
  * course_grade_s: `python -m course.grade` with W workers (template gradebooks built before, untimed,
    for the same reason; --cold times their construction too);
  * limit_s: each submitted notebook executed bare (nbclient, fresh kernel, no nbgrader), summed, / W.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


def env():
    e = dict(os.environ)
    e["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")])
    e.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return e


def assignments():
    out = []
    for src in sorted((ROOT / "source").iterdir()):
        nbs = sorted(src.glob("*.ipynb"))
        if nbs:
            out.append((src.name, nbs))
    return out


def synthetic(course: Path, release_nbs: dict, source_nbs: dict, i: int, rng) -> dict:
    """A submission: the solution, the solution with one answer cell blanked, or the release."""
    files = {}
    kind = ("solution", "mistake", "solution", "release")[i % 4]
    for name, release in release_nbs.items():
        nb = nbformat.reads(release, as_version=4)
        src = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.reads(source_nbs[name], as_version=4).cells}
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        blank = rng.choice(answers) if (kind == "mistake" and answers) else None
        if kind != "release":
            for c in answers:
                if c is not blank:
                    c.source = SOLUTION.sub(lambda m: m.group(1), src[c.metadata["nbgrader"]["grade_id"]].source)
        files[name] = nbformat.writes(nb)
    return files


def bare_run(path: Path) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        for f in path.parent.iterdir():
            if f.suffix != ".ipynb" and f.is_file():
                shutil.copy(f, tmp)
        start = time.monotonic()
        NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": tmp}}).execute()
        return time.monotonic() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--workers", type=int)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    from course.grading.pool import default_workers
    from course.grading.sandbox import bwrap_path
    workers = args.workers or default_workers()
    rng = random.Random(0)
    course = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    found = assignments()
    for a, _ in found:
        shutil.copytree(ROOT / "source" / a, course / "source" / a, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    ready = []
    for a, nbs in found:  # untimed: the instructor's gradebook (release step)
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force",
                               "--log-level=ERROR"], cwd=course, env=env(), capture_output=True, text=True)
        if proc.returncode == 0:
            ready.append((a, nbs))
        else:
            print(f"skipping {a}: generate_assignment failed", file=sys.stderr)
    notebooks = 0
    for i in range(args.n):
        a, nbs = ready[i % len(ready)]
        rel = {nb.name: (course / "release" / a / nb.name).read_text() for nb in nbs}
        src = {nb.name: nb.read_text() for nb in nbs}
        folder = course / "submitted" / f"s{i:03d}" / a
        folder.mkdir(parents=True)
        for name, text in synthetic(course, rel, src, i, rng).items():
            (folder / name).write_text(text)
            notebooks += 1
    out = course / "course_grade"
    if not args.cold:  # untimed: template gradebooks, as cached by an earlier run
        from course import grade
        from course.grading import job
        config = grade.base_config(course)
        for a, _ in ready:
            files = grade.source_files(course, a, notebooks=True)
            cache = grade.template_cache(out, a, files, config)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(job.build_template(a, files, config))
    # 1. plain serial nbgrader
    start = time.monotonic()
    for a, _ in ready:
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a, "--force", "--log-level=ERROR"],
                       cwd=course, env=env(), capture_output=True)
    nbgrader_s = time.monotonic() - start
    print(f"nbgrader autograde (serial): {nbgrader_s:.1f} s", file=sys.stderr)
    # 2. this command
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                           str(course), "--out", str(out), "--workers", str(workers), "--quiet"],
                          cwd=course, env=env(), capture_output=True, text=True)
    course_s = time.monotonic() - start
    print(proc.stdout.strip(), file=sys.stderr)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
    summary = json.loads((out / "reports" / "results.json").read_text())["summary"] if proc.returncode == 0 else {}
    # 3. the physical limit
    bare = [bare_run(p) for p in sorted((course / "submitted").rglob("*.ipynb"))]
    limit = sum(bare) / workers
    print(f"course.grade: {course_s:.1f} s; bare executions: {sum(bare):.1f} s total", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(course, ignore_errors=True)
    print(json.dumps({"submissions": args.n, "notebooks": notebooks, "workers": workers,
                      "nbgrader_serial_s": round(nbgrader_s, 1), "course_grade_s": round(course_s, 1),
                      "ratio": round(nbgrader_s / course_s, 2), "limit_s": round(limit, 1),
                      "efficiency": round(limit / course_s, 2),
                      "sandbox": summary.get("sandbox", "on" if bwrap_path() else "off"),
                      "assignments": [a for a, _ in ready]}))


if __name__ == "__main__":
    main()
