"""Benchmark: plain serial `nbgrader autograde` vs `python -m course.grade` vs the physical limit.

    python benchmarks/grading.py [-n 20] [--workers W] [--cold]

N synthetic submissions (solutions, some with mistakes, some untouched releases) across the
assignments that exist (source/<a> with a notebook). In one run, on the same inputs:
  * nbgrader_serial_s: one `nbgrader autograde <a> --force` per assignment, nbgrader as shipped (the
    course's nbgrader_config.py without its seal(): every cell re-run in one unsandboxed kernel;
    gradebook generated before, untimed, as an instructor would have it);
  * course_grade_s: `python -m course.grade` with W workers (template gradebooks built before, untimed,
    for the same reason; --cold times their construction too), as it grades by default: cells that no
    graded cell depends on are not re-run; course_grade_run_all_s: the same with --run-all;
  * limit_s: each submitted notebook executed bare (nbclient, fresh kernel, no nbgrader), summed, / W.
Then a table per assignment and per notebook: bare Run-All, plain nbgrader, one course.grade job with
and without skipping, cells skipped, sandbox + kernel start, the imports cell, and the machine hours a
class of 1,000 would take on N cores (--cores). cpu_busy: the share of the machine's cores busy while
course.grade ran (from /proc/stat; run it on a quiet machine): what is idle is all that a kernel
started ahead of time could still win. The last line is one JSON object.
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


def stock_config() -> str:
    """nbgrader_config.py up to (not including) its sealing: plain nbgrader with the course's settings."""
    text = (ROOT / "nbgrader_config.py").read_text()
    cut = text.index("from course.grading.nbgrader_autograde import seal")
    assert "seal(" not in text[:cut], "the sealing moved: update stock_config()"
    return text[:cut]


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


def _cpu_times() -> tuple[int, int]:
    """(all, idle + iowait) jiffies of the whole machine, from /proc/stat: the share of the cores
    kept busy while grading (the machine is assumed otherwise quiet)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


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
    p.add_argument("--course-grade-only", action="store_true",
                   help="time only course.grade (both modes): for trying a change quickly")
    p.add_argument("--cores", type=int, nargs="+", default=[2, 32],
                   help="core counts for the class-of-1,000 projection")
    args = p.parse_args()
    from course.grading.pool import default_workers
    from course.grading.sandbox import bwrap_path
    workers = args.workers or default_workers()
    rng = random.Random(0)
    course = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    # The baseline is nbgrader as shipped: the course's config without its last step, seal(), which makes
    # `nbgrader autograde` grade sealed and skip cells like course.grade (course.grade seals its jobs
    # itself, never from the config file, so both runs below read this same file).
    (course / "nbgrader_config.py").write_text(stock_config())
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
    # 1. plain serial nbgrader, one assignment at a time
    per = {a: {"nbgrader_s": 0.0} for a, _ in ready}
    start = time.monotonic()
    for a, _ in ([] if args.course_grade_only else ready):
        t = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a, "--force", "--log-level=ERROR"],
                              cwd=course, env=env(), capture_output=True, text=True)
        graded = list((course / "autograded").glob(f"*/{a}/*.ipynb"))
        if proc.returncode != 0 or not graded:  # a time of nothing graded is no baseline
            raise SystemExit(f"nbgrader autograde {a} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        per[a]["nbgrader_s"] = time.monotonic() - t
    nbgrader_s = time.monotonic() - start
    print(f"nbgrader autograde (serial): {nbgrader_s:.1f} s", file=sys.stderr)
    # 2. this command: default (cells no grade needs are not re-run), then --run-all
    runs = {}
    for mode, extra in (("skip", []), ("run_all", ["--run-all"])):
        before = _cpu_times()
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "course.grade", str(course / "submitted"), "--course-dir",
                               str(course), "--out", str(out), "--workers", str(workers), "--quiet", *extra],
                              cwd=course, env=env(), capture_output=True, text=True)
        wall = time.monotonic() - start
        after = _cpu_times()
        busy = 1 - (after[1] - before[1]) / max(1, after[0] - before[0])
        print(f"course.grade ({mode}): {wall:.1f} s, CPU busy {busy:.0%}", file=sys.stderr)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"course.grade failed in mode {mode}")
        doc = json.loads((out / "reports" / "results.json").read_text())
        runs[mode] = {"wall": wall, "cpu_busy": busy, "doc": doc}
        for r in doc["submissions"]:
            d = per[r["assignment"]].setdefault(mode, {"job_s": [], "startup_s": [], "first_cell_s": [],
                                                       "skipped": []})
            d["job_s"].append(r["seconds"])
            for nb, t in r.get("timing", {}).items():
                d["startup_s"].append(t.get("startup_s") or 0)
                d["first_cell_s"].append(t.get("first_cell_s") or 0)
                d["skipped"].append(len(r.get("skipped", {}).get(nb, [])))
    # 3. the physical limit: each notebook executed bare, once
    bare = {}
    for path in [] if args.course_grade_only else sorted((course / "submitted").rglob("*.ipynb")):
        bare.setdefault(path.parent.name, []).append(bare_run(path))
    limit = sum(map(sum, bare.values())) / workers
    if not args.keep:
        shutil.rmtree(course, ignore_errors=True)

    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    print(f"\nper notebook, seconds (mean over submissions; course.grade = one job in one worker). "
          "A class of 1,000 on N cores: 1000 x job seconds / N, in hours.", file=sys.stderr)
    head = (f"{'assignment':24} {'subs':>4} {'bare':>6} {'nbgrader':>8} {'job all':>8} {'job skip':>8} "
            f"{'skipped':>7} {'start':>6} {'imports':>7}  " + "  ".join(f"1000@{n} all/skip" for n in args.cores))
    print(head, file=sys.stderr)
    table = {}
    for a, _ in ready:
        n = len(bare.get(a, [])) or 1
        row = {"submissions": n, "bare_s": mean(bare.get(a, [])), "nbgrader_s": per[a]["nbgrader_s"] / n,
               "job_run_all_s": mean(per[a]["run_all"]["job_s"]), "job_skip_s": mean(per[a]["skip"]["job_s"]),
               "cells_skipped": mean(per[a]["skip"]["skipped"]), "startup_s": mean(per[a]["skip"]["startup_s"]),
               "first_cell_s": mean(per[a]["skip"]["first_cell_s"])}
        row["class_1000_hours"] = {str(c): [round(1000 * row["job_run_all_s"] / c / 3600, 2),
                                            round(1000 * row["job_skip_s"] / c / 3600, 2)] for c in args.cores}
        table[a] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
        print(f"{a:24} {n:4d} {row['bare_s']:6.1f} {row['nbgrader_s']:8.1f} {row['job_run_all_s']:8.1f} "
              f"{row['job_skip_s']:8.1f} {row['cells_skipped']:7.1f} {row['startup_s']:6.1f} "
              f"{row['first_cell_s']:7.1f}  " + "  ".join(f"{h[0]:>7.2f}/{h[1]:<5.2f}" for h in
                                                         row["class_1000_hours"].values()), file=sys.stderr)
    skip_s, all_s = runs["skip"]["wall"], runs["run_all"]["wall"]
    print(json.dumps({"submissions": args.n, "notebooks": notebooks, "workers": workers,
                      "nbgrader_serial_s": round(nbgrader_s, 1), "course_grade_s": round(skip_s, 1),
                      "course_grade_run_all_s": round(all_s, 1),
                      "ratio": round(nbgrader_s / skip_s, 2) if nbgrader_s else None,
                      "ratio_run_all": round(nbgrader_s / all_s, 2) if nbgrader_s else None,
                      "cpu_busy": round(runs["skip"]["cpu_busy"], 2),
                      "cpu_busy_run_all": round(runs["run_all"]["cpu_busy"], 2),
                      "limit_s": round(limit, 1), "efficiency_run_all": round(limit / all_s, 2) if limit else None,
                      "sandbox": runs["skip"]["doc"]["summary"].get("sandbox", "on" if bwrap_path() else "off"),
                      "per_assignment": table}))


if __name__ == "__main__":
    main()
