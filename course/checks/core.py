"""The check machinery every assignment shares.

A check has two halves so that grading can keep the judge out of the student's process:

* ``probe(answer, **kw) -> dict`` runs where the student's code runs. It only reads or calls the
  student's answer and returns plain data: numbers, strings, lists, dicts and NumPy arrays.
* ``judge(got, **kw) -> list[str]`` is trusted. It rebuilds its inputs from ``kw``, computes the
  reference with the real PyTorch modules and returns the teaching messages of what is wrong
  (an empty list means pass).
* ``result(**kw) -> contract.Spec`` states the exact shape of a genuine probe result (keys, number
  of cases, types). Whatever the probe sends back is validated against it before ``judge`` sees it:
  the probe runs in the student's kernel, so its result is data the student could have chosen.
* ``scan(program, answer, **kw)`` (optional) judges the student's *source*, read by the trusted side
  (see rules.py): e.g. "this answer reaches PyTorch's own RNN kernel".

``kw`` holds only literals (numbers, strings, tuples, lists, dicts, None), so a grader can read a
test cell's call with ``ast.literal_eval`` and replay it: probe in a sandbox, judge in the parent.
``verdict`` is the one place that turns a probe's outcome into messages; the notebook's immediate
check and the sealed grader both call it, so a student sees in the notebook what the grader decides.
In a notebook a check prints its verdict to stdout (nbgrader scores any stderr output as a failure)
or raises :class:`CheckFailed`, shown as one short message.

``seed=None`` in a check's ``kw`` means "draw fresh random cases": hidden tests use it so that a
hard-coded answer cannot pass.
"""
from __future__ import annotations

import json
import random

import numpy as np

from . import contract

REGISTRY: dict[str, "Check"] = {}
STAND_INS = frozenset({"reference", "working"})  # course.assignments.*.reference, course.practice.working
CONTRACT_MESSAGE = ("the check could not accept what came back from your kernel ({}). Restart the "
                    "kernel and run the notebook from the top; a notebook that changes the checks "
                    "themselves gets no credit.")


class CheckFailed(AssertionError):
    """A check found a mistake; the message says which one and how to fix it."""

    def _render_traceback_(self):  # IPython: show the message alone, not the course's frames
        return [f"\x1b[0;31m✗ {self}\x1b[0m"]


class Check:
    """Base class: subclasses set ``name`` and implement ``probe``, ``result`` and ``judge``."""

    name = ""
    # scan(): names the answer must not reach (rules.RNN_KERNELS, ...); module_param: the answer's
    # first parameter is the module itself and must not be called.
    forbidden: frozenset = frozenset()
    module_param = False
    # The answer is the student's own code: it must not reach the course's stand-ins for stuck students
    # (course.assignments.*.reference, practice.working). False where the answer is a model a locked
    # demonstration cell trained (its cell checks the student's functions first).
    own_work = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls()

    def probe(self, answer, **kw) -> dict:
        raise NotImplementedError

    def result(self, **kw) -> contract.Spec:
        raise NotImplementedError(f"check {self.name!r} states no result contract")

    def judge(self, got: dict, **kw) -> list[str]:
        raise NotImplementedError

    def scan(self, program, answer: str, **kw) -> list[str]:
        """Trusted: messages about the student's code read as text, never run (``program`` is a
        rules.Program of the submission). By default: the answer must not reach ``forbidden``."""
        if self.own_work:
            borrowed = program.reaches(answer, STAND_INS, calls=False)
            if borrowed:
                return [f"your answer uses {', '.join(sorted(set(borrowed)))}: the course's stand-in, "
                        "there so that the demonstrations run while an exercise is unfinished. Write "
                        "your own — no credit for this part until then."]
        if not self.forbidden:
            return []
        found = program.reaches(answer, self.forbidden, module_param=self.module_param)
        return [self.shortcut_message(found)] if found else []

    def shortcut_message(self, found: list[str]) -> str:
        return (f"your answer uses {', '.join(found)}, which runs PyTorch's own recurrent kernel "
                "(or a name the grader cannot read): write it with tensor operations — no credit "
                "for this part until then.")

    def passed(self, got: dict, **kw) -> str:
        """The line printed on success."""
        return "all good"

    # -- the one verdict --------------------------------------------------------------------------
    def verdict(self, outcome: dict, kw: dict, label: str = "", program=None, answer: str = "") -> list[str]:
        """Messages (empty = pass) for a probe outcome as ``run_probe`` returns it, decoded."""
        head = f"{label}: " if label else ""
        if program is not None and answer:
            found = self.scan(program, answer, **kw)
            if found:
                return [head + "\n  ".join(str(m) for m in found)]
        if not isinstance(outcome, dict) or not isinstance(outcome.get("ok"), bool):
            return [head + CONTRACT_MESSAGE.format("no readable outcome")]
        if not outcome["ok"]:
            kind = outcome.get("kind")
            error = str(outcome.get("error", ""))[:1000]
            if kind == "not_implemented":
                return [f"{label or 'this exercise'}: not answered yet (the cell still raises "
                        "NotImplementedError)."]
            if kind == "failed":
                return [head + error]
            return [f"{label or 'your code'} raised {error}"]
        got = outcome.get("got")
        problem = self.result(**kw).validate(got)
        if problem:
            return [head + CONTRACT_MESSAGE.format(problem)]
        try:
            problems = list(self.judge(got, **kw))
        except Exception as exc:  # a judge must not crash on any result of the right shape
            problems = [f"what your code returned could not be checked ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); return the type the exercise asks for."]
        if problems:
            return [head + "\n  ".join(str(p) for p in problems)]
        return []

    def passed_line(self, outcome: dict, kw: dict, label: str = "") -> str:
        try:
            line = self.passed(outcome["got"], **kw)
        except Exception:
            line = "all good"
        return f"✓ {label + ': ' if label else ''}{line}"

    def __call__(self, answer, label: str = "", **kw):
        __tracebackhide__ = True  # pytest: show the message, not this frame
        kw = resolve_seed(kw)
        outcome = decode(*encode(run_probe(self, answer, kw)))  # exactly what the grader receives
        from .rules import Program
        reads_source = bool(self.forbidden) or self.own_work or type(self).scan is not Check.scan
        messages = self.verdict(outcome, kw, label, Program.from_history() if reads_source else None,
                                _answer_name(answer))
        if messages:
            raise CheckFailed("\n".join(messages))
        print(self.passed_line(outcome, kw, label))


def _answer_name(answer) -> str:
    """The name the notebook gave the answer (functions and classes know it)."""
    name = getattr(answer, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else ""


def run_probe(check: Check, answer, kw: dict) -> dict:
    """Run the probe where the student's code runs; never raises. The outcome is plain data:
    {"ok": True, "got": ...} or {"ok": False, "kind": "not_implemented" | "failed" | "raised", ...}."""
    try:
        return {"ok": True, "got": check.probe(answer, **kw)}
    except NotImplementedError:
        return {"ok": False, "kind": "not_implemented"}
    except CheckFailed as exc:
        return {"ok": False, "kind": "failed", "error": str(exc)[:1000]}
    except BaseException as exc:  # the student's code raised: say so, with the exception
        return {"ok": False, "kind": "raised", "error": f"{type(exc).__name__}: {str(exc)[:500]}"}


def capture(fn, *args, **kwargs) -> dict:
    """Call student code once: {"value": plain result} or {"error": "Type: message"} (contract.Returned).
    NotImplementedError propagates: the exercise is not answered yet."""
    try:
        return {"value": to_plain(fn(*args, **kwargs))}
    except NotImplementedError:
        raise
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        return {"error": f"{type(exc).__name__}: {text[:300]}"}


def resolve_seed(kw: dict) -> dict:
    """Replace seed=None by a fresh seed, so the probe and the judge see the same cases."""
    if "seed" in kw and kw["seed"] is None:
        kw = dict(kw, seed=random.SystemRandom().randrange(2**31))
    return kw


# ---- the wire: what crosses from the kernel to the judge ------------------------------------------
def encode(value, max_depth: int = 40) -> tuple[dict, dict]:
    """(JSON-able header, {name: ndarray}): NumPy arrays travel beside a JSON header, never pickled."""
    arrays: dict = {}

    def enc(v, depth):
        if depth > max_depth:
            return {"__type__": "too deep", "repr": ""}
        if isinstance(v, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = np.ascontiguousarray(v)
            return {"__ndarray__": key}
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, dict):
            return {str(k): enc(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [enc(x, depth + 1) for x in v]
        for plain in (bool, int, float, str):  # subclasses (a str whose __eq__ lies) lose their class
            if isinstance(v, plain):
                return plain(v)
        if v is None:
            return None
        return {"__type__": type(v).__name__, "repr": repr(v)[:200]}

    return {"value": enc(value, 0)}, arrays


class BadResult(ValueError):
    """What came back cannot be decoded."""


def decode(header: dict, arrays: dict, max_depth: int = 48):
    """The value ``encode`` wrote (JSON round trip: tuples become lists, as on the wire)."""
    def dec(v, depth):
        if depth > max_depth:
            raise BadResult("nested too deeply")
        if isinstance(v, dict):
            if set(v) == {"__ndarray__"}:
                key = v["__ndarray__"]
                if not isinstance(key, str) or key not in arrays:
                    raise BadResult(f"missing array {str(key)[:20]!r}")
                return arrays[key]
            return {k: dec(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        return v

    if not isinstance(header, dict) or "value" not in header:
        raise BadResult("the result header is malformed")
    try:
        plain = json.loads(json.dumps(header["value"]))
    except (TypeError, ValueError, RecursionError):
        raise BadResult("the result header is not JSON") from None
    try:
        return dec(plain, 0)
    except RecursionError:
        raise BadResult("nested too deeply") from None


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
