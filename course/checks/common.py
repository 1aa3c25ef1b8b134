"""Checks that more than one assignment uses: multiple choice, "predict what PyTorch does", a layer's
constructor arguments, a zero initial state, and the (output, hidden) of a call."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .contract import Bool, Float, Int, Nullable, Record, Str, Value
from .core import Check, as_shape, to_plain, type_name
from .support import close, is_tensor, same

LAYERS = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM, "Linear": nn.Linear}
NOT_ANSWERED = "not answered yet: replace the placeholder with your answer and run its cell again."


def placeholder(answer, none_too=True) -> bool:
    """The released answer cells start as ``q = None`` or ``q = ...`` (for error questions, where None
    is an answer: "no error")."""
    return (none_too and answer is None) or (isinstance(answer, dict) and answer.get("__type__") == "ellipsis")


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
        if placeholder(answer):
            return [f"not answered yet: set the variable to one letter among {letters} (for example "
                    "q = \"B\") and run its cell again."]
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
        if placeholder(answer, none_too=what != "error"):
            return [NOT_ANSWERED]
        actual = actual_outcome(module, kwargs, input, what, h0)
        if what == "error":
            if actual is None:
                if answer is None:
                    return []
                if isinstance(answer, str) and answer.strip() == "None":
                    return ["right idea, but write None without quotes: the value None, not the string "
                            "\"None\"."]
                return [f"this code runs without any error. {module} only checks that the last input "
                        "dimension equals input_size; it cannot know which of the other two you meant "
                        "as batch and which as time."]
            if answer is None:
                return ["this code raises an error: compare the input's last dimension with input_size."]
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


CONFIG_KEYS = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first",
               "dropout", "bidirectional")


# What a layer's fields are, as ``layer_fields`` reports them (None: the layer has no such field).
# nn.RNN checks hidden_size, num_layers, nonlinearity and dropout itself, uses bias, batch_first and
# bidirectional as flags (their truth is what counts) and takes input_size as given.
FLAGS = ("bias", "batch_first", "bidirectional")
FIELD_SPECS = {"input_size": Value(), "hidden_size": Nullable(Int()), "num_layers": Nullable(Int()),
               "nonlinearity": Nullable(Str(100)), "bias": Nullable(Bool()), "batch_first": Nullable(Bool()),
               "dropout": Nullable(Float()), "bidirectional": Nullable(Bool()),
               "in_features": Nullable(Int()), "out_features": Nullable(Int())}


def _field(layer, key):
    """One field of a layer as plain data of the field's own type, or None."""
    if not isinstance(layer, nn.Module) or not hasattr(layer, key):
        return None
    value = getattr(layer, key)
    if key in FLAGS:
        return bool(value) if value is None or isinstance(value, (bool, int, float, str)) else None
    if key == "dropout":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if key == "nonlinearity":
        return value[:100] if isinstance(value, str) else None
    if key in FIELD_SPECS and key != "input_size":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return to_plain(value)


def layer_fields(layer, keys) -> dict:
    """``{"type": class name, key: value or None for each key}``: exactly these keys, whatever the layer."""
    kind = type(layer).__name__ if isinstance(layer, nn.Module) else type_name(to_plain(layer))
    return {"type": kind, **{key: _field(layer, key) for key in keys}}


def fields_spec(keys) -> Record:
    """The contract of ``layer_fields(layer, keys)``."""
    return Record({"type": Str(200), **{key: FIELD_SPECS.get(key, Value()) for key in keys}})


def _config_keys(expected) -> list[str]:
    return [key for key in expected if key != "type"]


class LayerConfig(Check):
    """The answer is a layer whose constructor arguments must match ``expected``."""

    name = "layer_config"

    def probe(self, answer, expected, **kw):
        return layer_fields(answer, _config_keys(expected))

    def result(self, expected, **kw):
        return fields_spec(_config_keys(expected))

    def judge(self, got, expected, **kw):
        if got["type"] in ("NoneType", "ellipsis"):
            return [NOT_ANSWERED]
        if got["type"] != expected.get("type", got["type"]):
            return [f"expected an nn.{expected['type']}, got {got['type']}."]
        problems = []
        for key in _config_keys(expected):
            if not same(got[key], expected[key]):
                problems.append(f"{key} is {got[key]!r}, the task needs {expected[key]!r}.")
        return problems

    def passed(self, got, **kw):
        return f"nn.{got['type']} with the right arguments."


class ZerosState(Check):
    """The answer is a zero initial hidden state of a given shape."""

    name = "zeros_state"

    def probe(self, answer, **kw):
        return {"value": to_plain(answer)}

    def result(self, **kw):
        return Record(value=Value())

    def judge(self, got, shape, **kw):
        value = got["value"]
        if placeholder(value):
            return [NOT_ANSWERED]
        if not is_tensor(value):
            return [f"expected a tensor, got {type_name(value)}."]
        data = value["data"]
        if tuple(data.shape) != tuple(shape):
            return [state_shape_hint(tuple(data.shape), tuple(shape))]
        if np.any(data != 0):
            return ["the initial state should be all zeros (torch.zeros)."]
        if value["requires_grad"]:
            return [CONSTANT_STATE]
        return []

    def passed(self, got, shape, **kw):
        return f"a zero state of shape {tuple(shape)}."


CONSTANT_STATE = ("the initial state is a constant, not something to train: create it without "
                  "requires_grad=True.")


def state_shape_hint(got, want, batch_first_hint=True):
    """The teaching message for a wrong h0 shape. want = (layers × directions, batch, hidden)."""
    if len(got) != 3:
        return (f"h0 must be 3-D, (num_layers × directions, batch, hidden_size) = {want}; yours has "
                f"{len(got)} dimensions, shape {got}.")
    if got == (want[1], want[0], want[2]):
        return ("h0 is (num_layers × directions, batch, hidden_size) even when batch_first=True: "
                "the layer dimension comes first; yours has batch first.")
    if got[1:] == want[1:] and got[0] * 2 == want[0]:
        return ("a bidirectional RNN keeps one state per layer *and* per direction: the first "
                "dimension is 2 × num_layers.")
    if got[1:] == want[1:]:
        return f"the first dimension counts layers × directions: {want[0]} here, not {got[0]}."
    if got[0] == want[0] and got[2] == want[2]:
        return f"the middle dimension is the batch size ({want[1]}), not {got[1]}."
    if got[:2] == want[:2]:
        return f"the last dimension is hidden_size ({want[2]}), not {got[2]}."
    return f"h0 should have shape (num_layers × directions, batch, hidden_size) = {want}, not {got}."



class RunsRNN(Check):
    """The fill-in ``output, h_n = rnn(___, h0)``: the answer is (output, h_n)."""

    name = "runs_rnn"

    def probe(self, answer, **kw):
        if answer is None or answer is Ellipsis:  # the released placeholder
            return {"output": None, "hidden": None}
        output, hidden = answer
        return {"output": to_plain(output), "hidden": to_plain(hidden)}

    def result(self, **kw):
        return Record(output=Value(), hidden=Value())

    def judge(self, got, seq_len, batch, hidden_size, num_layers=1, **kw):
        out, hid = got["output"], got["hidden"]
        if out is None and hid is None:
            return [NOT_ANSWERED]
        if not is_tensor(out):
            return ["output should be the tensor the RNN returns."]
        if tuple(out["data"].shape) != (seq_len, batch, hidden_size):
            return [f"output has shape {tuple(out['data'].shape)}, expected (seq_len, batch, hidden) = "
                    f"{(seq_len, batch, hidden_size)}: the first argument is the input sequence."]
        if not is_tensor(hid):
            return ["h_n should be the tensor the RNN returns second, its final hidden state."]
        if tuple(hid["data"].shape) != (num_layers, batch, hidden_size):
            return [f"h_n has shape {tuple(hid['data'].shape)}, expected (num_layers, batch, hidden) = "
                    f"{(num_layers, batch, hidden_size)}: it is the second thing the RNN returns."]
        if not close(out["data"][-1], hid["data"][-1], atol=1e-6):
            return ["the last output step should equal the final hidden state; rerun the cells in order."]
        return []

    def passed(self, got, **kw):
        return "the RNN read the input sequence, starting from your hidden state."
