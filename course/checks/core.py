"""The check machinery every assignment shares.

A check has two halves so that grading can keep the judge out of the student's process:

* ``probe(answer, **kw) -> dict`` runs where the student's code runs. It only reads or calls the
  student's answer and returns plain data: numbers, strings, lists, dicts and NumPy arrays.
* ``judge(got, **kw) -> list[str]`` is trusted. It rebuilds its inputs from ``kw``, computes the
  reference with the real PyTorch modules and returns the teaching messages of what is wrong
  (an empty list means pass).

``kw`` holds only literals (numbers, strings, tuples, lists, dicts, None), so a grader can read a
test cell's call with ``ast.literal_eval`` and replay it: probe in a sandbox, judge in the parent.
In a notebook, calling the check runs both halves in the kernel and prints the verdict to stdout
(nbgrader scores any stderr output as a failure) or raises :class:`CheckFailed`.

``seed=None`` in a check's ``kw`` means "draw fresh random cases": hidden tests use it so that a
hard-coded answer cannot pass.
"""
from __future__ import annotations

import random

import numpy as np

REGISTRY: dict[str, "Check"] = {}


class CheckFailed(AssertionError):
    """A check found a mistake; the message says which one and how to fix it."""


class Check:
    """Base class: subclasses set ``name`` and implement ``probe`` and ``judge``."""

    name = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls()

    def probe(self, answer, **kw) -> dict:
        raise NotImplementedError

    def judge(self, got: dict, **kw) -> list[str]:
        raise NotImplementedError

    def scan(self, source: str, **kw) -> list[str]:
        """Optional, trusted: messages about the student's code read as text, never run. The sealed
        grader passes the source that defines the answer (e.g. the ``def rnn_forward``), parsed in
        its own process, so a student cannot switch this test off from inside the kernel."""
        return []

    def passed(self, got: dict, **kw) -> str:
        """The line printed on success."""
        return "all good"

    def __call__(self, answer, label: str = "", **kw):
        __tracebackhide__ = True  # IPython and pytest: show the message, not this frame
        kw = resolve_seed(kw)
        try:
            got = self.probe(answer, **kw)
        except CheckFailed:
            raise
        except NotImplementedError:
            raise CheckFailed(f"{label or 'this exercise'}: not answered yet "
                              "(the cell still raises NotImplementedError).") from None
        except Exception as exc:  # the student's code raised: say so, with the exception
            raise CheckFailed(f"{label or 'your code'} raised {type(exc).__name__}: {exc}") from None
        problems = self.judge(got, **kw)
        if problems:
            head = f"{label}: " if label else ""
            raise CheckFailed(head + "\n  ".join(problems))
        print(f"✓ {label + ': ' if label else ''}{self.passed(got, **kw)}")


def resolve_seed(kw: dict) -> dict:
    """Replace seed=None by a fresh seed, so the probe and the judge see the same cases."""
    if "seed" in kw and kw["seed"] is None:
        kw = dict(kw, seed=random.SystemRandom().randrange(2**31))
    return kw


def to_plain(value):
    """Convert what student code returned into plain data (never keeps a live object)."""
    try:
        import torch
        if isinstance(value, torch.Tensor):
            return {"__tensor__": True,
                    "dtype": str(value.dtype).replace("torch.", ""),
                    "requires_grad": bool(value.requires_grad),
                    "data": np.array(value.detach().cpu().numpy(), copy=True)}
        if isinstance(value, torch.Size):
            return [int(v) for v in value]
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return {"__type__": type(value).__name__, "repr": repr(value)[:200]}


def type_name(value) -> str:
    if isinstance(value, dict) and "__type__" in value:
        return value["__type__"]
    if isinstance(value, dict) and value.get("__tensor__"):
        return "Tensor"
    return type(value).__name__


def as_shape(value):
    """A shape answer as a tuple of ints, or None if it is not one."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in value):
        return tuple(value)
    return None
