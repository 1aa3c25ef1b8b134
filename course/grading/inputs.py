"""Finding submissions: nbgrader's layout (submitted/<student>/<assignment>/*.ipynb), a folder of
downloaded notebooks (<student>/<notebook>.ipynb or <student>_<notebook>.ipynb), or a zip of either.

No student is dropped without a word: every notebook found is either part of a Submission or listed
in ``refused`` with its reason (the report and ``not_graded.csv`` show them). A name with spaces or
accents ("Anna Maria", "Zoë") is graded under a safe id derived from it (``Anna_Maria-1f3a9c``) and
keeps its name; a name that could act as a path (``..x``, ``.hidden``) is refused.
"""
from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
LAYOUTS = ("submitted/<student>/<assignment>/<notebook>.ipynb, <student>/<notebook>.ipynb or "
           "<student>_<notebook>.ipynb")


@dataclass
class Submission:
    student: str                                  # a SAFE id: folder and gradebook name
    assignment: str
    files: dict = field(default_factory=dict)     # notebook file name -> bytes
    timestamp: str | None = None
    origin: str = ""
    name: str = ""                                # as the student's folder or file spelled it


@dataclass
class Refused:
    path: str
    reason: str
    student: str = ""
    assignment: str = ""


def student_id(raw: str) -> tuple[str, str]:
    """(safe id, "") or ("", why the name is refused)."""
    if SAFE.match(raw) and ".." not in raw:
        return raw, ""
    if not raw.strip() or raw.startswith(".") or any(c in raw for c in "/\\\0") or ".." in raw:
        return "", f"the student name {raw!r} could act as a path (it starts with '.', holds '..' or a slash)"
    ascii_ = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.@+-]+", "_", ascii_).strip("_.-+@")[:80] or "student"
    return f"{slug}-{hashlib.sha256(raw.encode()).hexdigest()[:6]}", ""


def known_notebooks(course_dir: Path) -> dict:
    """notebook stem -> assignment, from source/."""
    found = {}
    for nb in sorted((Path(course_dir) / "source").glob("*/*.ipynb")):
        found[nb.stem] = nb.parent.name
    return found


def _extract(zpath: Path, dest: Path, refused: list) -> Path:
    """Unpack the entries that stay inside ``dest``; every other notebook entry is listed in refused."""
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        refused.append(Refused(str(zpath), f"not a readable zip file ({exc})"))
        return dest
    with zf:
        for info in zf.infolist():
            name = Path(info.filename)
            why = ("its path leaves the archive" if name.is_absolute() or ".." in name.parts else
                   "it is a symbolic link" if (info.external_attr >> 16) & 0o170000 == 0o120000 else
                   "it is larger than 200 MB" if info.file_size > 200 * 2**20 else "")
            if info.is_dir():
                continue
            if why:
                if name.suffix == ".ipynb" or ".." in name.parts or name.is_absolute():
                    refused.append(Refused(f"{zpath}:{info.filename}", f"zip entry not extracted: {why}"))
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return dest


def collect(paths: list[Path], course_dir: Path, assignments: list[str] | None = None) -> tuple[list, list]:
    """All submissions under ``paths``; returns (submissions, refused: a Refused per notebook, path or
    zip entry that is not graded, with its reason). Zips are unpacked into a temporary folder that is
    removed before returning (the submissions hold the notebooks' bytes)."""
    with tempfile.TemporaryDirectory(prefix="cg-zip-") as tmp:
        return _collect(paths, course_dir, assignments, Path(tmp))


def _collect(paths, course_dir, assignments, tmp):
    notebooks = known_notebooks(course_dir)
    subs: dict[tuple, Submission] = {}
    refused = []
    for number, base in enumerate(paths):
        base = Path(base)
        if not base.exists():
            refused.append(Refused(str(base), "no such file or folder"))
            continue
        if base.is_file() and base.suffix == ".zip":
            base = _extract(base, tmp / str(number), refused)
        elif base.is_file() and base.suffix != ".ipynb":
            refused.append(Refused(str(base), "neither a notebook, a folder nor a zip file"))
            continue
        if (base / "submitted").is_dir():
            base = base / "submitted"
        files = [base] if base.is_file() else sorted(base.rglob("*.ipynb"))
        for path in files:
            if ".ipynb_checkpoints" in path.parts:
                continue
            if path.is_symlink() or not path.is_file():
                refused.append(Refused(str(path), "a symbolic link or not a regular file"))
                continue
            rel = path.relative_to(base) if path != base else Path(path.name)
            student = assignment = None
            stem = path.stem
            if len(rel.parts) >= 3 and rel.parts[-2] in notebooks.values():
                student, assignment = rel.parts[-3], rel.parts[-2]
            elif stem in notebooks and len(rel.parts) >= 2:
                student, assignment = rel.parts[-2], notebooks[stem]
            else:
                for nb_stem in sorted(notebooks, key=len, reverse=True):
                    if stem.endswith(nb_stem) and len(stem) > len(nb_stem):
                        student = stem[: -len(nb_stem)].rstrip("_-. ")
                        assignment, stem = notebooks[nb_stem], nb_stem
                        break
            if not student or assignment is None:
                refused.append(Refused(str(path), f"cannot tell the student and the assignment (expected {LAYOUTS})"))
                continue
            if assignments and assignment not in assignments:
                continue
            sid, why = student_id(student)
            if why:
                refused.append(Refused(str(path), why, student, assignment))
                continue
            sub = subs.setdefault((sid, assignment), Submission(sid, assignment, origin=str(path.parent), name=student))
            if sub.name != student:  # two spellings mapped to one id: never merge two people
                refused.append(Refused(str(path), f"another student's name maps to the same id {sid!r}",
                                       student, assignment))
                continue
            sub.files[f"{stem}.ipynb"] = path.read_bytes()
            ts = path.parent / "timestamp.txt"
            if ts.is_file() and not ts.is_symlink():
                sub.timestamp = ts.read_text()[:64].strip() or None
    return sorted(subs.values(), key=lambda s: (s.assignment, s.student)), refused
