"""Checks that teach: one module per assignment, plus the shared machinery.

In a notebook: ``from course import checks`` then ``checks.outcome(q1, module="RNN", ...)``.
Each check is an instance registered by name in ``REGISTRY`` (the grader replays checks by name);
importing an assignment's module below is all it takes to add its checks here.
"""
from .core import REGISTRY, Check, CheckFailed
from . import common, rnn_layer  # noqa: F401  (registers their checks)

globals().update(REGISTRY)  # checks.choice, checks.outcome, ...
