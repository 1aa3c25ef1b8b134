"""Checks for assignment 01, "The nn.RNN layer"."""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from .contract import Bool, Cases, Float, Int, ListOf, Nullable, OneOf, Record, Str, Value
from .core import Check, to_plain, type_name

CONFIG_KEYS = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first",
               "dropout", "bidirectional")


def layer_config(layer) -> dict:
    """The constructor arguments a recurrent layer remembers, as plain data."""
    if not isinstance(layer, nn.Module):
        return {"type": type_name(to_plain(layer))}
    conf = {"type": type(layer).__name__}
    for key in CONFIG_KEYS:
        if hasattr(layer, key):
            conf[key] = to_plain(getattr(layer, key))
    if isinstance(layer, nn.Linear):
        conf.update(in_features=layer.in_features, out_features=layer.out_features)
    return conf


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


def _same(value, want) -> bool:
    """Whether a plain value from the student's code equals a literal of the test: bools and numbers
    kept apart, NaN equal to nothing, containers compared item by item."""
    if isinstance(want, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(want, bool) and value == want
    if isinstance(want, (int, float)):
        return isinstance(value, (int, float)) and value == want
    if isinstance(want, str):
        return isinstance(value, str) and value == want
    if want is None:
        return value is None
    if isinstance(want, (list, tuple)):
        return (isinstance(value, list) and len(value) == len(want)
                and all(_same(v, w) for v, w in zip(value, want)))
    if isinstance(want, dict):
        return (isinstance(value, dict) and set(value) == set(want)
                and all(_same(value[k], w) for k, w in want.items()))
    return False


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
        if got["type"] != expected.get("type", got["type"]):
            return [f"expected an nn.{expected['type']}, got {got['type']}."]
        problems = []
        for key in _config_keys(expected):
            if not _same(got[key], expected[key]):
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
        if not _is_tensor(value):
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


def _is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get("__tensor__") is True


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


def init_hidden_cases(seed, n=6, directions="both"):
    """Distinct sizes, so that swapped dimensions cannot pass; several depths.

    directions: "uni" (bidirectional=False), "bi" (True) or "both" (alternating).
    """
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        batch, hidden = rng.sample(range(2, 13), 2)
        layers = rng.choice([l for l in (1, 2, 3) if l not in (batch, hidden)] or [1])
        bidirectional = {"uni": False, "bi": True}.get(directions, bool(i % 2))
        cases.append({"batch_size": batch, "hidden_size": hidden, "num_layers": layers,
                      "bidirectional": bidirectional})
    return cases


def _call(case):
    return ("init_hidden({batch_size}, {hidden_size}, num_layers={num_layers}, "
            "bidirectional={bidirectional})").format(**case)


class InitHidden(Check):
    """``init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False) -> Tensor``."""

    name = "init_hidden"

    def probe(self, fn, seed=0, n=6, directions="both", **kw):
        return {"results": [to_plain(fn(**case)) for case in init_hidden_cases(seed, n, directions)]}

    def result(self, seed=0, n=6, directions="both", **kw):
        return Record(results=Cases(Value(), len(init_hidden_cases(seed, n, directions))))

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for case, value in zip(init_hidden_cases(seed, n, directions), got["results"], strict=True):
            call = _call(case)
            if not _is_tensor(value):
                return [f"{call} should return a torch.Tensor, not {type_name(value)}."]
            want = (case["num_layers"] * (2 if case["bidirectional"] else 1), case["batch_size"],
                    case["hidden_size"])
            shape = tuple(value["data"].shape)
            if shape != want:
                return [f"{call}: {state_shape_hint(shape, want)}"]
            if np.any(value["data"] != 0):
                return [f"{call}: the initial state should be all zeros."]
            if value["dtype"] != "float32":
                return [f"{call}: nn.RNN's weights are float32, so h0 must be float32 too "
                        f"(yours is {value['dtype']})."]
            if value["requires_grad"]:
                return [f"{call}: {CONSTANT_STATE}"]
        return []

    def passed(self, got, n=6, **kw):
        return f"right shape, zeros and float32 on {n} configurations."


class InitHiddenRuns(InitHidden):
    """The real nn.RNN (batch_first both ways) accepts init_hidden's state as h0."""

    name = "init_hidden_runs"

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for i, (case, value) in enumerate(zip(init_hidden_cases(seed, n, directions), got["results"],
                                              strict=True)):
            if not _is_tensor(value):
                return [f"{_call(case)} should return a torch.Tensor, not {type_name(value)}."]
            if not np.all(np.isfinite(value["data"])):
                return [f"{_call(case)} holds NaN or infinity: an initial state is zeros."]
            if value["requires_grad"]:
                return [f"{_call(case)}: {CONSTANT_STATE}"]
            batch_first = bool(i % 2 == 0)
            rnn = nn.RNN(4, case["hidden_size"], num_layers=case["num_layers"], batch_first=batch_first,
                         bidirectional=case["bidirectional"])
            x = torch.randn(case["batch_size"], 5, 4) if batch_first else torch.randn(5, case["batch_size"], 4)
            try:
                with torch.no_grad():
                    rnn(x, torch.as_tensor(value["data"]))
            except Exception as exc:
                return [f"nn.RNN(4, {case['hidden_size']}, num_layers={case['num_layers']}, "
                        f"batch_first={batch_first}, bidirectional={case['bidirectional']}) rejects "
                        f"{_call(case)} as h0: {type(exc).__name__}: {str(exc).splitlines()[0]}"]
        return []

    def passed(self, got, n=6, **kw):
        return f"accepted as h0 by {n} real nn.RNN layers, batch_first both ways."


class RunsRNN(Check):
    """The fill-in ``output, hidden = rnn(___, hidden)``: the answer is (output, hidden)."""

    name = "runs_rnn"

    def probe(self, answer, **kw):
        output, hidden = answer
        return {"output": to_plain(output), "hidden": to_plain(hidden)}

    def result(self, **kw):
        return Record(output=Value(), hidden=Value())

    def judge(self, got, seq_len, batch, hidden_size, num_layers=1, **kw):
        out, hid = got["output"], got["hidden"]
        if not _is_tensor(out):
            return ["output should be the tensor the RNN returns."]
        if tuple(out["data"].shape) != (seq_len, batch, hidden_size):
            return [f"output has shape {tuple(out['data'].shape)}, expected (seq_len, batch, hidden) = "
                    f"{(seq_len, batch, hidden_size)}: the first argument is the input sequence."]
        if not _is_tensor(hid):
            return ["hidden should be the tensor the RNN returns, its final hidden state."]
        if tuple(hid["data"].shape) != (num_layers, batch, hidden_size):
            return [f"hidden has shape {tuple(hid['data'].shape)}, expected (num_layers, batch, hidden) = "
                    f"{(num_layers, batch, hidden_size)}: it is the second thing the RNN returns."]
        if not np.allclose(out["data"][-1], hid["data"][-1], atol=1e-6):
            return ["the last output step should equal the final hidden state; rerun the cells in order."]
        return []

    def passed(self, got, **kw):
        return "the RNN read the input sequence, starting from your hidden state."


def classifier_cases(seed, n=4):
    rng = random.Random(seed)
    return [{"num_features": f, "num_classes": c}
            for f, c in (rng.sample(range(2, 20), 2) for _ in range(n))]


CLASSIFIER_RNN = ("input_size", "hidden_size", "batch_first", "bidirectional")
CLASSIFIER_HEAD = ("in_features", "out_features")
BATCH = 3  # the batch build_classifier's pair is run on


class BuildClassifier(Check):
    """``build_classifier(num_features, num_classes) -> (rnn, head)`` for (batch, seq, features) data."""

    name = "build_classifier"

    def probe(self, fn, seed=0, n=4, **kw):
        results = []
        for case in classifier_cases(seed, n):
            rnn, head = fn(**case)
            entry = {"rnn": layer_fields(rnn, CLASSIFIER_RNN), "head": layer_fields(head, CLASSIFIER_HEAD)}
            try:  # run the pair on a batch laid out as the task gives it: (batch, seq_len, features)
                x = torch.randn(BATCH, 10, case["num_features"])
                output, h_n = rnn(x)
                entry["logits_shape"] = [int(d) for d in head(h_n[-1]).shape]
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"[:1000]
            results.append(entry)
        return {"results": results}

    def result(self, seed=0, n=4, **kw):
        pair = dict(rnn=fields_spec(CLASSIFIER_RNN), head=fields_spec(CLASSIFIER_HEAD))
        entry = OneOf(Record(pair, logits_shape=ListOf(Int(low=0), max_len=8)),
                      Record(pair, error=Str()))
        return Record(results=Cases(entry, len(classifier_cases(seed, n))))

    def judge(self, got, seed=0, n=4, **kw):
        for case, entry in zip(classifier_cases(seed, n), got["results"], strict=True):
            call = "build_classifier({num_features}, {num_classes})".format(**case)
            rnn, head = entry["rnn"], entry["head"]
            if rnn["type"] != "RNN" or rnn["hidden_size"] is None or rnn["bidirectional"] is None:
                return [f"{call}: the first item should be an nn.RNN, got {rnn['type']}."]
            if head["type"] != "Linear":
                return [f"{call}: the second item should be an nn.Linear, got {head['type']}."]
            if not _same(rnn["input_size"], case["num_features"]):
                if _same(rnn["input_size"], 10):
                    return [f"{call}: input_size counts features per time step "
                            f"({case['num_features']}), not time steps (10)."]
                return [f"{call}: input_size must equal the features per time step, "
                        f"{case['num_features']}, not {rnn['input_size']}."]
            if rnn["batch_first"] is not True:
                return [f"{call}: the data comes as (batch, seq_len, features): set batch_first=True."]
            if not _same(head["out_features"], case["num_classes"]):
                return [f"{call}: the linear head must output one score per class "
                        f"({case['num_classes']}), not {head['out_features']}."]
            width = rnn["hidden_size"] * (2 if rnn["bidirectional"] else 1)
            if not _same(head["in_features"], width):
                return [f"{call}: the head reads the last hidden state, so in_features must be "
                        f"hidden_size = {width}, not {head['in_features']}."]
            if "error" in entry:
                return [f"{call}: running the pair failed with {entry['error']}"]
            if entry["logits_shape"] != [BATCH, case["num_classes"]]:
                return [f"{call}: on a batch of {BATCH} sequences the head's scores have shape "
                        f"{tuple(entry['logits_shape'])}, expected ({BATCH}, {case['num_classes']})."]
        return []

    def passed(self, got, n=4, **kw):
        return f"a working RNN + linear head on {n} different tasks."


WORDS = ("sequence time step hidden state memory token input output layer batch tensor vocab word "
         "gate cell loss train test model shape order past next read long short").split()


def word_cases(seed, n=3):
    rng = random.Random(seed)
    return [rng.sample(WORDS, rng.randrange(6, 14)) for _ in range(n)]


class WordLengths(Check):
    """Dictionary comprehensions over a word list, checked against a reference on random lists."""

    name = "word_lengths"

    def probe(self, fn, seed=0, n=3, **kw):
        return {"results": [to_plain(fn(list(words))) for words in word_cases(seed, n)]}

    def result(self, seed=0, n=3, **kw):
        return Record(results=Cases(Value(), len(word_cases(seed, n))))

    def judge(self, got, kind, seed=0, n=3, **kw):
        limit, upper = {"long": (3, False), "shout": (4, True)}[kind]
        for words, result in zip(word_cases(seed, n), got["results"], strict=True):
            want = {(w.upper() if upper else w): len(w) for w in words if len(w) > limit}
            if not isinstance(result, dict) or _is_tensor(result) or "__type__" in result:
                return [f"return a dict (a dictionary comprehension), not {type_name(result)}."]
            if _same(result, want):
                continue
            if set(result) == set(want) and all(isinstance(v, str) and v in words for v in result.values()):
                return ["map each word to its length, len(word), not to the word itself."]
            plain = {w: len(w) for w in words if len(w) > limit}
            if upper and _same(result, plain):
                return ["the keys should be the words in upper case: word.upper()."]
            short = [k for k, v in result.items() if isinstance(v, int) and v <= limit]
            if short:
                return [f"only words longer than {limit} letters belong in the dict (you kept "
                        f"{short[0]!r}): use len(word) > {limit}."]
            return [f"for {words} the result should have {len(want)} entries; yours has {len(result)}."]
        return []

    def passed(self, got, n=3, **kw):
        return f"matches on {n} word lists."


def epoch_cases(seed, n=4):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        epochs = int(rng.integers(8, 30))
        best = int(rng.integers(1, epochs - 1))
        t = np.arange(epochs)
        val = 1.0 + 0.02 * (t - best) ** 2 + rng.uniform(0, 0.005, epochs)
        val[best] = val.min() - 0.01
        cases.append([round(float(v), 4) for v in val])
    return cases


class BestEpoch(Check):
    """``best_epoch(val_losses) -> int``: the 1-based epoch with the lowest validation loss."""

    name = "best_epoch"

    def probe(self, fn, seed=0, n=4, **kw):
        return {"results": [to_plain(fn(list(losses))) for losses in epoch_cases(seed, n)]}

    def result(self, seed=0, n=4, **kw):
        return Record(results=Cases(Value(), len(epoch_cases(seed, n))))

    def judge(self, got, seed=0, n=4, **kw):
        for losses, result in zip(epoch_cases(seed, n), got["results"], strict=True):
            want = int(np.argmin(losses)) + 1
            if not isinstance(result, int) or isinstance(result, bool):
                return [f"return the epoch as an int, not {type_name(result)}."]
            if result == want - 1:
                return ["epochs are counted from 1 in the history table: add 1 to the list index."]
            if result == int(np.argmax(losses)) + 1:
                return ["that is the epoch with the *highest* validation loss: you want the lowest."]
            if result != want:
                return [f"for validation losses {losses} the best epoch is not {result}."]
        return []

    def passed(self, got, n=4, **kw):
        return f"the right epoch on {n} loss curves."
