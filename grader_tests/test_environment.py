"""pyproject.toml and environment.yml describe the same environment."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pip_section(text: str) -> list[str]:
    """The requirement lines under `- pip:` in environment.yml (a tiny reader: no YAML dependency)."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^\s*-\s*pip:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s{4,}-\s*(\S.*?)\s*$", line)
            if not m:
                break
            lines.append(m.group(1))
    return lines


def test_environment_yml_matches_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (ROOT / "environment.yml").read_text()
    assert pip_section(env), "environment.yml has no pip section"
    assert sorted(pip_section(env)) == sorted(deps)
    assert re.search(r"^\s*-\s*python=3\.11\s*$", env, re.M), "environment.yml must pin python=3.11"


def test_torch_is_pinned_to_the_cpu_wheel():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps, "any other torch spec downloads a multi-GB CUDA build here"


def test_pip_section_reader_sees_a_difference(tmp_path):
    env = "dependencies:\n  - python=3.11\n  - pip:\n      - torch==2.13.0\n      - numpy\n"
    assert pip_section(env) == ["torch==2.13.0", "numpy"]
