"""Checks for assignment 01, "The nn.RNN layer"."""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from ...checks.common import CONSTANT_STATE, fields_spec, layer_fields, state_shape_hint
from ...checks.contract import Cases, Int, ListOf, OneOf, Record, Str, Value
from ...checks.core import Check, capture, to_plain, type_name
from ...checks.support import capture_as, is_tensor, same

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

    name = "a01_init_hidden"

    def probe(self, fn, seed=0, n=6, directions="both", **kw):
        return {"results": [to_plain(fn(**case)) for case in init_hidden_cases(seed, n, directions)]}

    def result(self, seed=0, n=6, directions="both", **kw):
        return Record(results=Cases(Value(), len(init_hidden_cases(seed, n, directions))))

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for case, value in zip(init_hidden_cases(seed, n, directions), got["results"], strict=True):
            call = _call(case)
            if not is_tensor(value):
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

    name = "a01_init_hidden_runs"

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for i, (case, value) in enumerate(zip(init_hidden_cases(seed, n, directions), got["results"],
                                              strict=True)):
            if not is_tensor(value):
                return [f"{_call(case)} should return a torch.Tensor, not {type_name(value)}."]
            if not np.all(np.isfinite(value["data"])):
                return [f"{_call(case)} holds NaN or infinity: an initial state is zeros."]
            if value["requires_grad"]:
                return [f"{_call(case)}: {CONSTANT_STATE}"]
            batch_first = bool(i % 2 == 0)
            rnn = nn.RNN(4, case["hidden_size"], num_layers=case["num_layers"], batch_first=batch_first,
                         bidirectional=case["bidirectional"])
            x = torch.randn(case["batch_size"], 5, 4) if batch_first else torch.randn(5, case["batch_size"], 4)
            with torch.no_grad():
                ran = capture(rnn, x, torch.as_tensor(value["data"]))
            if "error" in ran:
                return [f"nn.RNN(4, {case['hidden_size']}, num_layers={case['num_layers']}, "
                        f"batch_first={batch_first}, bidirectional={case['bidirectional']}) rejects "
                        f"{_call(case)} as h0: {ran['error']}"]
        return []

    def passed(self, got, n=6, **kw):
        return f"accepted as h0 by {n} real nn.RNN layers, batch_first both ways."


def classifier_cases(seed, n=4):
    rng = random.Random(seed)
    return [{"num_features": f, "num_classes": c}
            for f, c in (rng.sample(range(2, 20), 2) for _ in range(n))]


CLASSIFIER_RNN = ("input_size", "hidden_size", "batch_first", "bidirectional")
CLASSIFIER_HEAD = ("in_features", "out_features")
BATCH = 3  # the batch build_classifier's pair is run on


def _logits_shape(rnn, head, num_features):
    """The pair run on a batch laid out as the task gives it: (batch, seq_len, features)."""
    x = torch.randn(BATCH, 10, num_features)
    output, h_n = rnn(x)
    return [int(d) for d in head(h_n[-1]).shape]


class BuildClassifier(Check):
    """``build_classifier(num_features, num_classes) -> (rnn, head)`` for (batch, seq, features) data."""

    name = "a01_build_classifier"

    def probe(self, fn, seed=0, n=4, **kw):
        results = []
        for case in classifier_cases(seed, n):
            rnn, head = fn(**case)
            entry = {"rnn": layer_fields(rnn, CLASSIFIER_RNN), "head": layer_fields(head, CLASSIFIER_HEAD)}
            entry.update(capture_as("logits_shape", _logits_shape, rnn, head, case["num_features"]))
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
            if not same(rnn["input_size"], case["num_features"]):
                if same(rnn["input_size"], 10):
                    return [f"{call}: input_size counts features per time step "
                            f"({case['num_features']}), not time steps (10)."]
                return [f"{call}: input_size must equal the features per time step, "
                        f"{case['num_features']}, not {rnn['input_size']}."]
            if rnn["batch_first"] is not True:
                return [f"{call}: the data comes as (batch, seq_len, features): set batch_first=True."]
            if not same(head["out_features"], case["num_classes"]):
                return [f"{call}: the linear head must output one score per class "
                        f"({case['num_classes']}), not {head['out_features']}."]
            width = rnn["hidden_size"] * (2 if rnn["bidirectional"] else 1)
            if not same(head["in_features"], width):
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

    name = "a01_word_lengths"

    def probe(self, fn, seed=0, n=3, **kw):
        return {"results": [to_plain(fn(list(words))) for words in word_cases(seed, n)]}

    def result(self, seed=0, n=3, **kw):
        return Record(results=Cases(Value(), len(word_cases(seed, n))))

    def judge(self, got, kind, seed=0, n=3, **kw):
        limit, upper = {"long": (3, False), "shout": (4, True)}[kind]
        for words, result in zip(word_cases(seed, n), got["results"], strict=True):
            want = {(w.upper() if upper else w): len(w) for w in words if len(w) > limit}
            if not isinstance(result, dict) or is_tensor(result) or "__type__" in result:
                return [f"return a dict (a dictionary comprehension), not {type_name(result)}."]
            if same(result, want):
                continue
            if set(result) == set(want) and all(isinstance(v, str) and v in words for v in result.values()):
                return ["map each word to its length, len(word), not to the word itself."]
            plain = {w: len(w) for w in words if len(w) > limit}
            if upper and same(result, plain):
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

    name = "a01_best_epoch"

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
