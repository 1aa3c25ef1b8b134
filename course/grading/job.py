"""One grading job: data in, data out, so that it runs the same in a local process pool or on a Dask
worker on another machine.

A job carries the submission's notebooks (bytes), the assignment's template gradebook (bytes) and the
nbgrader config. The worker builds a private scratch course (template gradebook copy, submitted/,
source/ with only the assignment's non-notebook files), runs nbgrader's Autograde converter in-process
with the sealed executor, and returns scores, the autograded notebooks, the feedback HTML and events.
Nothing of the course root is visible to the worker's kernels; the scratch is deleted afterwards.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

_WARM = False


def warm() -> None:
    """Import the heavy parts once per worker process (nbgrader ≈ 4.7 s, torch ≈ 2.4 s)."""
    global _WARM
    if _WARM:
        return
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    import warnings
    warnings.filterwarnings("ignore")
    import matplotlib
    matplotlib.use("Agg")
    import nbgrader.converters  # noqa: F401
    import torch  # noqa: F401
    from .. import checks  # noqa: F401
    from . import feedback, sealed  # noqa: F401
    torch.set_num_threads(1)
    _WARM = True


def _config(base: dict, root: Path, work: Path, options: dict):
    from traitlets.config import Config
    from .nbgrader_autograde import seal

    cfg = Config(json.loads(json.dumps(base)))
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    seal(cfg, repaired=True)  # never taken from the course's config file; grade() ran tamper.normalize
    cfg.SealedExecute.workroot = str(work)
    cfg.SealedExecute.use_bwrap = bool(options.get("sandbox", True))
    # course.grade decides about a missing sandbox itself: it says so once and grades with limits
    cfg.SealedExecute.require_sandbox = False
    cfg.SealedExecute.skip_unneeded = bool(options.get("skip_unneeded", True))
    for key in ("timeout", "memory_mb", "processes", "cpu_seconds", "output_kb"):
        if options.get(key) is not None:
            setattr(cfg.SealedExecute, key, options[key])
    if "timeout" not in options or options["timeout"] is None:
        cfg.SealedExecute.timeout = base.get("Execute", {}).get("timeout", 180)
    return cfg


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage()[:500])


def build_template(assignment: str, source_files: dict, base_config: dict) -> bytes:
    """generate_assignment in a private build dir: the template gradebook for this assignment."""
    warm()
    from traitlets.config import Config
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.converters import GenerateAssignment

    with tempfile.TemporaryDirectory(prefix="cg-tpl-") as tmp:
        root = Path(tmp)
        for rel, data in source_files.items():
            dest = root / "source" / assignment / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        cfg = Config(json.loads(json.dumps(base_config)))
        cfg.CourseDirectory.root = str(root)
        cfg.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        cfg.GenerateAssignment.create_assignment = True
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = assignment
        app = GenerateAssignment(coursedir=coursedir, config=cfg)
        app.force = True
        app.log.setLevel(logging.ERROR)
        app.start()
        return (root / "gradebook.db").read_bytes()


def _unreadable(data: bytes) -> str:
    """Why these bytes are not a notebook nbgrader can grade ("" when they are)."""
    import nbformat

    if not data.strip():
        return "the file is empty, not a notebook"
    try:
        nb = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not a notebook: the file is not valid JSON ({exc})"[:300]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "not a notebook: the JSON has no list of cells"
    try:
        nbformat.reads(data.decode(), as_version=4)
    except Exception as exc:
        return f"not a notebook nbformat can read ({type(exc).__name__}: {exc})"[:300]
    return ""


def grade(job: dict) -> dict:
    """Grade one submission. Never raises: failures come back as status "failed"."""
    warm()
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from .feedback import feedback_html

    t0 = time.monotonic()
    student, assignment = job["student"], job["assignment"]
    result = {"student": student, "name": job.get("name") or student, "assignment": assignment,
              "status": "graded", "errors": [],
              "notebooks": {}, "events": {}, "autograded": {}, "feedback": {}, "sandbox": None,
              "worker": f"{os.uname().nodename}:{os.getpid()}", "timestamp": job.get("timestamp")}
    scratch = Path(tempfile.mkdtemp(prefix="cg-", dir=job.get("scratch_dir")))
    try:
        root, work = scratch / "course", scratch / "w"
        root.mkdir()
        work.mkdir()
        # others may pass through (not list): a kernel that runs as a fresh uid without bwrap must
        # reach its own folder; the course copy next to it stays private
        os.chmod(scratch, 0o711)
        os.chmod(work, 0o711)
        os.chmod(root, 0o700)
        (root / "gradebook.db").write_bytes(job["template"])
        for rel, data in job.get("source_files", {}).items():  # data files only, no notebooks
            dest = root / "source" / assignment / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        (root / "source" / assignment).mkdir(parents=True, exist_ok=True)
        sub = root / "submitted" / student / assignment
        sub.mkdir(parents=True)
        from .tamper import normalize
        result["tamper"] = []
        unreadable = [f"{name}: {why}" for name, data in job["files"].items() if (why := _unreadable(data))]
        if unreadable:  # nbgrader would only say "see the above traceback"
            result["status"] = "failed"
            result["errors"] += unreadable
            result["seconds"] = round(time.monotonic() - t0, 3)
            return result
        for name, data in job["files"].items():
            data, flags = normalize(data, str(root / "gradebook.db"), assignment, name.removesuffix(".ipynb"))
            result["tamper"] += [f"{name}: {f}" for f in flags]
            (sub / name).write_bytes(data)
        if job.get("timestamp"):
            (sub / "timestamp.txt").write_text(job["timestamp"])
        cfg = _config(job["config"], root, work, job.get("options", {}))
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        app = Autograde(coursedir=coursedir, config=cfg)
        app.force = True
        app.create_student = True
        capture = _Capture()
        app.log.addHandler(capture)
        app.log.setLevel(logging.WARNING)
        app.log.propagate = False
        try:
            app.start()
        except BaseException as exc:  # nbgrader raises after logging which notebook failed
            result["status"] = "failed"
            result["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
        finally:
            app.log.removeHandler(capture)
        result["errors"] += [l for l in capture.lines if "rror" in l][:10]
        result["log"] = capture.lines[:30]
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            for nb in gb.find_assignment(assignment).notebooks:
                try:
                    snb = gb.find_submission_notebook(nb.name, assignment, student)
                except Exception:
                    continue
                result["notebooks"][nb.name] = {
                    "scores": {g.name: g.auto_score for g in snb.grades},
                    "max": {g.name: g.max_score for g in snb.grades},
                    "needs_manual": sorted(g.name for g in snb.grades if g.needs_manual_grade),
                    "comments": {c.name: c.auto_comment for c in snb.comments},
                }
        for name in job["files"]:
            stem = name.removesuffix(".ipynb")
            ev = work / f"{stem}.events.json"
            if ev.is_file() and not ev.is_symlink():
                result["events"][stem] = json.loads(ev.read_text())
                result["sandbox"] = result["events"][stem].get("sandbox")
            graded = root / "autograded" / student / assignment / name
            if graded.is_file() and not graded.is_symlink():
                text = graded.read_text()
                result["autograded"][name] = text
                try:
                    result["feedback"][stem + ".html"] = feedback_html(
                        text, result["events"].get(stem, {}), result["notebooks"].get(stem, {}),
                        student, assignment)
                except Exception as exc:
                    result["errors"].append(f"feedback: {type(exc).__name__}: {exc}"[:300])
            elif result["status"] == "graded":
                result["status"] = "failed"
                result["errors"].append(f"{name}: not autograded")
        setup = [ev.get("setup_error") for ev in result["events"].values() if ev.get("setup_error")]
        if setup:  # the grading environment is broken, not the submission: the parent stops the batch
            result["status"] = "setup_error"
            result["errors"] = setup[:1]
        if result["status"] == "graded" and not result["notebooks"]:
            result["status"] = "failed"
    except BaseException as exc:
        result["status"] = "failed"
        result["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - t0, 3)
    return result
