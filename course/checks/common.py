"""Checks that every assignment uses: multiple choice, and "predict what PyTorch does"."""
from __future__ import annotations

import torch
from torch import nn

from .contract import Record, Value
from .core import Check, as_shape, to_plain, type_name

LAYERS = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM, "Linear": nn.Linear}


class Choice(Check):
    """A multiple-choice answer held in a variable, e.g. ``q3 = "B"``.

    Without ``key`` only the form is checked (students see this); the hidden test passes the key
    and, per wrong option, what that option gets wrong.
    """

    name = "choice"

    def probe(self, answer, **kw):
        return {"answer": to_plain(answer)}

    def result(self, **kw):
        return Record(answer=Value())

    def judge(self, got, key=None, options="ABCD", explain=None, **kw):
        answer = got["answer"]
        letters = ", ".join(options)
        if not isinstance(answer, str) or answer.strip().upper() not in set(options):
            return [f"answer with one letter among {letters}, as a string (for example q = \"B\"); "
                    f"got {answer!r}."]
        if key is None:
            return []
        answer = answer.strip().upper()
        if answer != key:
            why = (explain or {}).get(answer, "that option does not hold; reread the section above.")
            return [f"{answer} is not right: {why}"]
        return []

    def passed(self, got, key=None, **kw):
        return "answer recorded (graded after submission)." if key is None else "correct."


def _run_layer(module, kwargs, input, h0=None):
    """Build the layer with fixed weights and run it; return its outputs or the exception."""
    torch.manual_seed(0)
    layer = LAYERS[module](**kwargs)
    x = torch.randn(*input)
    try:
        with torch.no_grad():
            if module == "Linear":
                return layer, layer(x), None
            out = layer(x) if h0 is None else layer(x, torch.zeros(*h0))
        return layer, out, None
    except Exception as exc:  # the error is the lesson here
        return layer, None, exc


def actual_outcome(module, kwargs, input, what, h0=None):
    """What PyTorch really does: a shape tuple, or the exception's class name."""
    layer, out, exc = _run_layer(module, kwargs, input, h0)
    if what.startswith("param:"):
        return tuple(getattr(layer, what[6:]).shape)
    if what == "error":
        return None if exc is None else type(exc).__name__
    if exc is not None:
        raise RuntimeError(f"this experiment raises {type(exc).__name__}: {exc}")
    if module == "Linear":
        return tuple(out.shape)
    output, h_n = out
    if module == "LSTM" and what in ("h_n", "c_n"):
        return tuple(h_n[0 if what == "h_n" else 1].shape)
    return tuple(output.shape if what == "output" else h_n.shape)


def _shape_hints(module, kwargs, input, what, answer, actual):
    batch_first = kwargs.get("batch_first", False)
    hidden = kwargs.get("hidden_size")
    in_size = kwargs.get("input_size")
    layers = kwargs.get("num_layers", 1)
    dirs = 2 if kwargs.get("bidirectional") else 1
    hints = []
    if len(answer) != len(actual):
        hints.append(f"this tensor has {len(actual)} dimensions, your answer has {len(answer)}.")
    elif sorted(answer) == sorted(actual):
        if what == "output":
            order = "(batch, seq_len, D × hidden_size)" if batch_first else "(seq_len, batch, D × hidden_size)"
            hints.append(f"right sizes, wrong order: with batch_first={batch_first} the output is {order}.")
        elif what in ("h_n", "c_n"):
            hints.append(f"right sizes, wrong order: {what} is (num_layers × directions, batch, hidden_size) "
                         "even when batch_first=True.")
        else:
            hints.append("right sizes, wrong order.")
    else:
        if what == "output" and answer[-1] == in_size and in_size != hidden:
            hints.append("the last dimension of the output is hidden_size (× 2 if bidirectional), "
                         "not input_size: each step's input vector becomes a hidden vector.")
        if what == "output" and layers > 1 and answer[-1] == hidden * layers * dirs and dirs == 1:
            hints.append("output holds only the last layer's hidden states; num_layers shows up in h_n, "
                         "not in output.")
        if what in ("h_n", "c_n") and answer[0] != actual[0]:
            hints.append(f"the first dimension of {what} counts layers × directions "
                         f"(here {layers} × {dirs}); it does not depend on batch_first.")
        if what.startswith("param:"):
            hints.append("weights are stored as (out_features, in_features): (hidden_size, input_size) "
                         "for layer 0, (hidden_size, D × hidden_size) for deeper layers.")
    if not hints:
        hints.append("PyTorch returns a different shape. Work it out from the rule in the text, "
                     "then run the code to see.")
    return hints


class Outcome(Check):
    """Predict what a PyTorch layer returns: a shape tuple, or the name of the error it raises.

    kw: module ("RNN", "GRU", "LSTM", "Linear"), kwargs (constructor arguments), input (input shape),
    h0 (shape of a zero initial state or None), what ("output", "h_n", "c_n", "error",
    "param:<name>").
    """

    name = "outcome"

    def probe(self, answer, **kw):
        return {"answer": to_plain(answer)}

    def result(self, **kw):
        return Record(answer=Value())

    def judge(self, got, module, kwargs, input, what, h0=None, **kw):
        answer = got["answer"]
        actual = actual_outcome(module, kwargs, input, what, h0)
        if what == "error":
            if actual is None:
                if answer is None:
                    return []
                return [f"this code runs without any error. {module} only checks that the last input "
                        "dimension equals input_size; it cannot know which of the other two you meant "
                        "as batch and which as time."]
            if answer is None:
                return [f"this code raises an error: compare the input's last dimension with input_size."]
            if not isinstance(answer, str):
                return [f"name the exception as a string, e.g. \"ValueError\", or None; got {answer!r}."]
            if answer.strip() != actual:
                return [f"it does raise, but not {answer.strip()}: PyTorch reports shape mismatches "
                        "inside a layer as RuntimeError."]
            return []
        shape = as_shape(answer)
        if shape is None:
            return [f"write the shape as a tuple of ints, like (2, 3, 4); got {type_name(answer)} "
                    f"{answer!r}."]
        if shape != actual:
            return _shape_hints(module, kwargs, input, what, shape, actual)
        return []

    def passed(self, got, what="", **kw):
        answer = got["answer"]
        if what == "error":
            return "right: it runs without error." if answer is None else f"right: it raises {answer}."
        return f"right: PyTorch gives {tuple(answer)}."
