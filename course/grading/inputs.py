"""Finding submissions: nbgrader's layout (submitted/<student>/<assignment>/*.ipynb), a folder of
downloaded notebooks (<student>/<notebook>.ipynb or <student>_<notebook>.ipynb), or a zip of either."""
from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass
class Submission:
    student: str
    assignment: str
    files: dict = field(default_factory=dict)     # notebook file name -> bytes
    timestamp: str | None = None
    origin: str = ""


def known_notebooks(course_dir: Path) -> dict:
    """notebook stem -> assignment, from source/."""
    found = {}
    for nb in sorted((Path(course_dir) / "source").glob("*/*.ipynb")):
        found[nb.stem] = nb.parent.name
    return found


def _extract(zpath: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zpath) as zf:
        for info in zf.infolist():
            name = Path(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts or info.file_size > 200 * 2**20:
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:  # symlink entry
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return dest


def collect(paths: list[Path], course_dir: Path, assignments: list[str] | None = None) -> tuple[list, list]:
    """All submissions under ``paths``; returns (submissions, skipped-file messages)."""
    notebooks = known_notebooks(course_dir)
    subs: dict[tuple, Submission] = {}
    skipped = []
    for base in paths:
        base = Path(base)
        if base.is_file() and base.suffix == ".zip":
            base = _extract(base, Path(tempfile.mkdtemp(prefix="cg-zip-")))
        if (base / "submitted").is_dir():
            base = base / "submitted"
        files = [base] if base.is_file() else sorted(base.rglob("*.ipynb"))
        for path in files:
            if path.is_symlink() or ".ipynb_checkpoints" in path.parts or not path.is_file():
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
            if not student or not SAFE.match(student) or assignment is None:
                skipped.append(f"{path}: cannot tell student and assignment")
                continue
            if assignments and assignment not in assignments:
                continue
            sub = subs.setdefault((student, assignment), Submission(student, assignment, origin=str(path.parent)))
            sub.files[f"{stem}.ipynb"] = path.read_bytes()
            ts = path.parent / "timestamp.txt"
            if ts.is_file() and not ts.is_symlink():
                sub.timestamp = ts.read_text()[:64].strip() or None
    return sorted(subs.values(), key=lambda s: (s.assignment, s.student)), skipped
