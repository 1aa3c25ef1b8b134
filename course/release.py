"""`make release`: regenerate release/ from source/ with nbgrader, every assignment.

    python -m course.release [--course-dir DIR] [ASSIGNMENT ...]

release/ is committed and must only ever come from here (a test regenerates it and compares).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignments(course_dir: Path) -> list[str]:
    return sorted(p.name for p in (course_dir / "source").iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def nbgrader_env(home: Path | None = None) -> dict:
    """Environment for an nbgrader subprocess: the venv's bin first (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if home is not None:  # keep ~/.jupyter/nbgrader_config.py and friends out
        for var, sub in (("HOME", ""), ("JUPYTER_CONFIG_DIR", ".jupyter"),
                         ("JUPYTER_DATA_DIR", ".local/share/jupyter"), ("IPYTHONDIR", ".ipython"),
                         ("MPLCONFIGDIR", ".mpl")):
            env[var] = str(home / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def generate(course_dir: Path, names: list[str], env: dict | None = None) -> None:
    for name in names:
        # A stale release folder would keep files that source/ no longer has.
        shutil.rmtree(course_dir / "release" / name, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
                        "--log-level=WARN"], cwd=course_dir, env=env or nbgrader_env(), check=True)
        for junk in (course_dir / "release" / name).rglob(".ipynb_checkpoints"):
            shutil.rmtree(junk)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    parser.add_argument("--course-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    names = args.assignments or assignments(args.course_dir)
    generate(args.course_dir, names)
    print(f"release/ regenerated for: {', '.join(names)}")


if __name__ == "__main__":
    main()
