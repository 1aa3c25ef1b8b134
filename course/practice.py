"""Help for a student who is practising or stuck, in the student's own run (never part of a grade).

``quiz``     a practice multiple-choice question with its own key: immediate feedback, why each wrong
             option is wrong. (The graded questions stay graded after submission.)
``working``  for a demonstration after an exercise: the student's answer when it passes its check,
             otherwise the course's reference, said plainly, so that a stuck student can read on.
``try_it``   for a "try your function" cell: an unanswered exercise prints a line instead of failing.
"""
from __future__ import annotations

import contextlib

from .checks import REGISTRY, core


def quiz(answer, key: str, why: dict[str, str], options: str = "ABCD") -> None:
    """Print whether ``answer`` is ``key``; ``why[letter]`` explains every option (the key's too)."""
    letters = ", ".join(options)
    if answer is None:
        print(f"Not answered yet: set the variable to one letter among {letters}, then run this cell.")
        return
    if not isinstance(answer, str) or answer.strip().upper() not in set(options):
        print(f"Answer with one letter among {letters}, as a string; got {answer!r}.")
        return
    answer = answer.strip().upper()
    if answer == key:
        print(f"✓ {answer} is right: {why.get(answer, '')}".rstrip(": "))
    else:
        print(f"✗ {answer} is not right: {why.get(answer, 'reread the section above.')} Try again.")


def working(check: str, answer, reference, label: str = "", **kw):
    """``answer`` if it passes ``check`` (run quietly with ``kw``), else ``reference`` with a note."""
    name = label or getattr(answer, "__name__", "your answer")
    outcome = core.decode(*core.encode(core.run_probe(REGISTRY[check], answer, core.resolve_seed(kw))))
    problems = REGISTRY[check].verdict(outcome, kw, name)
    if not problems:
        return answer
    first = problems[0].splitlines()[0]
    if len(first) > 160:
        first = first[:157] + "..."
    print(f"Note: {first}\nSo that you can read on, the cells below use the course's own {name} "
          "(your code is not changed). Fix yours above, then rerun from there to see your own results.")
    return reference


@contextlib.contextmanager
def try_it(what: str = "the exercise above"):
    """``with practice.try_it("rnn_cell"): ...``: runs the block; NotImplementedError (the exercise
    is not answered yet) prints one line instead of a traceback. Any other error shows as usual."""
    try:
        yield
    except NotImplementedError:
        print(f"{what} is not answered yet: write it above, run its cell, then run this cell again.")
