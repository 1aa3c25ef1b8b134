"""Checks that teach: the shared machinery (core, contract, rules, models), the checks several
assignments use (common), and — imported from course/assignments/aNN_*/checks.py — each
assignment's own checks.

In a notebook: ``from course import checks`` then ``checks.outcome(q1, module="RNN", ...)`` or
``checks.a02_rnn_forward(rnn_forward, ...)``. Each check is an instance registered by name in
``REGISTRY`` (the grader replays checks by name), so a new assignment's checks.py only has to exist.
"""
import importlib
import pkgutil

from .core import REGISTRY, Check, CheckFailed  # noqa: F401  (the public names)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from ..assignments import load_checks  # noqa: E402  (after the shared checks: assignments use them)

load_checks()


def __getattr__(name):
    """checks.choice, checks.a05_gru_cell, ...: looked up when used, so a check registered while
    this package was still importing (an assignment module imported first) is found too."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise AttributeError(f"no check named {name!r} (course/checks or course/assignments/*/checks.py)") from None


def __dir__():
    return sorted(set(globals()) | set(REGISTRY))
