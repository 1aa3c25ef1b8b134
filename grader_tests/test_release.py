"""release/ comes only from `make release`: regenerate it and compare with what is committed."""
import json
import shutil
from pathlib import Path

import pytest

from course.release import assignments, generate, nbgrader_env

ROOT = Path(__file__).resolve().parent.parent


def tree(folder: Path) -> dict:
    """Relative path -> content (notebooks parsed, so only real differences count)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and ".ipynb_checkpoints" not in p.parts:
            out[str(p.relative_to(folder))] = (json.loads(p.read_text()) if p.suffix == ".ipynb"
                                               else p.read_bytes())
    return out


@pytest.mark.slow
def test_committed_release_matches_a_fresh_generation(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source", tmp_path / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    home = tmp_path / ".home"
    home.mkdir()
    names = assignments(tmp_path)
    generate(tmp_path, names, env=nbgrader_env(home))
    fresh, committed = tree(tmp_path / "release"), tree(ROOT / "release")
    assert sorted(fresh) == sorted(committed), "release/ has missing or extra files: run `make release`"
    for name in fresh:
        assert fresh[name] == committed[name], f"release/{name} differs from source/: run `make release`"


@pytest.mark.parametrize("name", assignments(ROOT))
def test_every_assignment_is_released(name):
    assert list((ROOT / "release" / name).glob("*.ipynb")), f"release/{name} is missing: run `make release`"


def test_release_holds_no_solutions_and_no_hidden_tests():
    for nb_path in (ROOT / "release").rglob("*.ipynb"):
        text = nb_path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{nb_path} contains {marker}"


def test_gradebook_is_never_committed():
    import subprocess
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    assert not any(line.endswith("gradebook.db") for line in tracked.splitlines())
