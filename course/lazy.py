"""Libraries imported on first use, not when a notebook's set-up cell imports the course.

Grading re-runs few of a notebook's plotting cells, and ``import matplotlib.pyplot`` costs about a
second of CPU in every kernel: ``plt.subplots(...)`` through this module imports it then.
"""
from __future__ import annotations

import importlib


class LazyModule:
    """Stands for a module; the first attribute read imports it."""

    def __init__(self, name: str):
        self._name, self._module = name, None

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # copy, pickle and inspect probing must not import it
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


plt = LazyModule("matplotlib.pyplot")
patches = LazyModule("matplotlib.patches")
ticker = LazyModule("matplotlib.ticker")
