"""Checks that teach: one module per assignment, plus the shared machinery.

In a notebook: ``from course import checks`` then ``checks.outcome(q1, module="RNN", ...)``.
Each check is an instance registered by name in ``REGISTRY`` (the grader replays checks by name).
Every module of this package is imported here, so a new assignment's module only has to exist.
"""
import importlib
import pkgutil

from .core import REGISTRY, Check, CheckFailed

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

globals().update(REGISTRY)  # checks.choice, checks.outcome, ...
