"""Grade submissions in isolated, sandboxed, parallel jobs and write gradebook, grades.csv, feedback
and a class report.

    python -m course.grade [INPUT ...] [--out DIR] [--workers N | --scheduler ADDRESS] [--demo]

INPUT: a folder in nbgrader's layout (submitted/<student>/<assignment>/*.ipynb), a folder of downloaded
notebooks (<student>/<notebook>.ipynb or <student>_<notebook>.ipynb), or a zip of either; default
./submitted. --demo grades the demo submissions shipped in course/demo.
DIR (default grading_out) receives gradebook.db (unless --gradebook), autograded/, feedback/,
grades.csv and reports/ (report.html, PNGs, results.json). With --out . the course's own layout is used.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import course

from .grading import gradebook, inputs, job, report
from .grading.inputs import SAFE
from .grading.sandbox import Limits, bwrap_path, bwrap_problem

PACKAGE = Path(course.__file__).resolve().parent
DEMO = PACKAGE / "demo"


def base_config(course_dir: Path) -> dict:
    from traitlets.config.loader import PyFileConfigLoader

    path = course_dir / "nbgrader_config.py"
    cfg = PyFileConfigLoader(path.name, path=str(course_dir)).load_config() if path.is_file() else {}
    return json.loads(json.dumps(cfg, default=str))


def source_files(course_dir: Path, assignment: str, notebooks: bool) -> dict:
    root = course_dir / "source" / assignment
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (not path.is_file() or path.is_symlink() or ".ipynb_checkpoints" in rel.parts
                or (path.suffix == ".ipynb" and not notebooks)):
            continue
        files[str(rel)] = path.read_bytes()
    return files


def template_cache(out: Path, assignment: str, files: dict, config: dict) -> Path:
    """Where the template gradebook of this exact source/ and config is kept between runs."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for rel, data in files.items():
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return out / ".templates" / f"{assignment}-{digest.hexdigest()[:16]}.db"


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m course.grade", description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="*", type=Path)
    p.add_argument("--demo", action="store_true", help="grade the demo submissions in course/demo")
    p.add_argument("--out", type=Path, default=Path("grading_out"))
    p.add_argument("--gradebook", type=Path, help="master gradebook (default: OUT/gradebook.db)")
    p.add_argument("--course-dir", type=Path, help="folder with source/ and nbgrader_config.py")
    p.add_argument("--assignment", action="append", help="only these assignments")
    p.add_argument("--workers", type=int, help="local worker processes (default: CPU cores)")
    p.add_argument("--scheduler", help="Dask scheduler address: run the jobs on that cluster")
    p.add_argument("--timeout", type=int, help="seconds per cell (default: nbgrader_config's Execute.timeout)")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_mb)
    p.add_argument("--processes", type=int, default=Limits.processes)
    p.add_argument("--cpu-seconds", type=int, default=Limits.cpu_seconds)
    p.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap (limits still apply)")
    p.add_argument("--run-all", action="store_true",
                   help="re-run every cell, also those no graded cell depends on (slower, same grades)")
    p.add_argument("--no-template-cache", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv=None, *, client=None) -> dict:
    args = parse(argv)
    t0 = time.monotonic()
    import warnings
    warnings.filterwarnings("ignore")  # SQLAlchemy chatter from nbgrader's API
    course_dir = (args.course_dir or (Path.cwd() if (Path.cwd() / "source").is_dir() else PACKAGE.parent)).resolve()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    sources = [DEMO] if args.demo else (args.inputs or [Path("submitted")])
    known = sorted(set(inputs.known_notebooks(course_dir).values()))
    unknown = sorted(set(args.assignment or ()) - set(known))
    if unknown:
        raise SystemExit(f"unknown assignment {', '.join(unknown)} (this course has: {', '.join(known)})")
    subs, refused = inputs.collect(sources, course_dir, args.assignment)
    for r in refused:
        print(f"not graded: {r.path}: {r.reason}", file=sys.stderr)
    out = args.out.resolve()
    master = (args.gradebook or out / "gradebook.db").resolve()
    config = base_config(course_dir)
    options = {"timeout": args.timeout, "memory_mb": args.memory_mb, "processes": args.processes,
               "cpu_seconds": args.cpu_seconds, "sandbox": not args.no_sandbox,
               "skip_unneeded": not args.run_all}
    sandbox = "on" if (bwrap_path() and not args.no_sandbox) else "off"
    if sandbox == "off":
        print(f"sandbox: off ({'--no-sandbox' if args.no_sandbox else bwrap_problem()}); resource limits "
              "still apply", file=sys.stderr)
    if refused:
        _write_refused(refused, out)
    if not subs:
        where = ", ".join(map(str, sources))
        raise SystemExit(f"nothing to grade in {where}" + (f": {len(refused)} not graded, listed in "
                                                           f"{out / 'not_graded.csv'}" if refused else ""))
    from .grading.pool import make_pool

    pool = make_pool(args.workers, client or args.scheduler)
    results = []
    try:
        # 1. one template gradebook per assignment (cached by the hash of source/ and the config)
        templates, pending = {}, {}
        for assignment in sorted({s.assignment for s in subs}):
            files = source_files(course_dir, assignment, notebooks=True)
            cache = template_cache(out, assignment, files, config)
            if cache.is_file() and not args.no_template_cache:
                templates[assignment] = cache.read_bytes()
            else:
                pending[assignment] = (pool.submit(job.build_template, assignment, files, config), cache)
        for assignment, (fut, cache) in pending.items():
            templates[assignment] = fut.result()
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(templates[assignment])
        # 2. one job per submission
        futures, owner = [], {}
        for s in subs:
            payload = {"student": s.student, "name": s.name, "assignment": s.assignment, "files": s.files,
                       "timestamp": s.timestamp, "template": templates[s.assignment], "config": config,
                       "source_files": source_files(course_dir, s.assignment, notebooks=False),
                       "options": options}
            futures.append(pool.submit(job.grade, payload))
            owner[futures[-1]] = s
        for a in templates:  # meanwhile, in the parent: the master gradebook knows every assignment
            gradebook.ensure_assignment(master, templates[a], a)
        bar = None
        if not args.quiet:
            from tqdm import tqdm
            bar = tqdm(total=len(futures), desc="grading", unit="submission", file=sys.stderr)
        for fut in pool.as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # the worker died (killed, out of memory): report, never drop
                res = lost(owner[fut], exc)
            if res["status"] == "setup_error":
                for other in futures:
                    other.cancel()
                raise SystemExit(f"grading stopped, nobody was graded: {res['errors'][0]}")
            res["flags"] = report.flags_of(res)
            _write_files(res, out)
            results.append(res)
            if bar:
                bar.update(1)
                bar.set_postfix_str(f"{res['student']}: {res['status']}")
        if bar:
            bar.close()
        workers, engine = pool.workers, pool.kind
    finally:
        pool.close()
    # 3. the trusted parent merges, exports and reports
    gradebook.merge(master, results)
    gradebook.export_csv(master, out / "grades.csv")
    meta = {"workers": workers, "engine": engine, "seconds": time.monotonic() - t0, "gradebook": str(master),
            "sandbox": sandbox}
    doc = report.write(results, out / "reports", meta, refused=[vars(r) for r in refused])
    summ = doc["summary"]
    print(f"graded {summ['graded']}, failed {summ['failed']}, timed out {summ['timed_out']}, flagged "
          f"{summ['flagged']} of {summ['submissions']} submissions in {meta['seconds']:.1f} s "
          f"({workers} {engine} workers) — sandbox: {summ['sandbox'] if summ['graded'] else sandbox}")
    if refused:
        print(f"not graded: {len(refused)} (each with its reason in {out / 'not_graded.csv'} and the report)")
    print(f"report: {out / 'reports' / 'report.html'}   grades: {out / 'grades.csv'}   gradebook: {master}")
    return doc


def lost(sub, exc: BaseException) -> dict:
    """The result of a submission whose worker process was lost: failed, with the reason, graded 0."""
    return {"student": sub.student, "name": sub.name, "assignment": sub.assignment, "status": "failed",
            "errors": [f"the grading worker was lost ({type(exc).__name__}: {str(exc)[:200]}); "
                       "grade this submission again"],
            "notebooks": {}, "events": {}, "autograded": {}, "feedback": {}, "sandbox": None, "worker": "",
            "timestamp": sub.timestamp, "seconds": 0.0}


def _write_refused(refused: list, out: Path) -> None:
    """not_graded.csv: every notebook, path or zip entry found but not graded, with the reason."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "not_graded.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "assignment", "path", "reason"])
        for r in refused:
            writer.writerow([r.student, r.assignment, r.path, r.reason])


def _write_files(res: dict, out: Path) -> None:
    s, a = res["student"], res["assignment"]
    if not (SAFE.match(s) and SAFE.match(a)):
        return
    for step, files in (("autograded", res.get("autograded", {})), ("feedback", res.get("feedback", {}))):
        folder = out / step / s / a
        for name, text in files.items():
            if SAFE.match(name):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)


if __name__ == "__main__":
    main()
