"""One folder per assignment: ``aNN_<name>/`` matches ``source/NN_<name>/``. Each holds the
assignment's checks (``checks.py``, every check named ``aNN_...``), the helpers its notebook imports,
and ``fixtures.py`` (the grading tests' tables). What several assignments share stays in ``course/``."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """The assignment folders, e.g. ["a01_rnn_layer", ...]."""
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.ispkg and m.name[:1] == "a")


def load_checks() -> None:
    """Import every assignment's checks.py (each check registers itself)."""
    for name in names():
        if (HERE / name / "checks.py").is_file():
            importlib.import_module(f"{__name__}.{name}.checks")
