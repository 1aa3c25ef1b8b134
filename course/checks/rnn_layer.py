"""Checks for assignment 01, "The nn.RNN layer"."""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from .core import Check, as_shape, to_plain, type_name

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


class LayerConfig(Check):
    """The answer is a layer whose constructor arguments must match ``expected``."""

    name = "layer_config"

    def probe(self, answer, **kw):
        return layer_config(answer)

    def judge(self, got, expected, **kw):
        if got["type"] != expected.get("type", got["type"]):
            return [f"expected an nn.{expected['type']}, got {got['type']}."]
        problems = []
        for key, want in expected.items():
            if key != "type" and got.get(key) != want:
                problems.append(f"{key} is {got.get(key)!r}, the task needs {want!r}.")
        return problems

    def passed(self, got, **kw):
        return f"nn.{got['type']} with the right arguments."


class ZerosState(Check):
    """The answer is a zero initial hidden state of a given shape."""

    name = "zeros_state"

    def probe(self, answer, **kw):
        return {"value": to_plain(answer)}

    def judge(self, got, shape, **kw):
        value = got["value"]
        if not (isinstance(value, dict) and value.get("__tensor__")):
            return [f"expected a tensor, got {type_name(value)}."]
        data = value["data"]
        if tuple(data.shape) != tuple(shape):
            return [state_shape_hint(tuple(data.shape), tuple(shape))]
        if np.any(data != 0):
            return ["the initial state should be all zeros (torch.zeros)."]
        return []

    def passed(self, got, shape, **kw):
        return f"a zero state of shape {tuple(shape)}."


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

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for case, value in zip(init_hidden_cases(seed, n, directions), got["results"]):
            call = _call(case)
            if not (isinstance(value, dict) and value.get("__tensor__")):
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
        return []

    def passed(self, got, n=6, **kw):
        return f"right shape, zeros and float32 on {n} configurations."


class InitHiddenRuns(InitHidden):
    """The real nn.RNN (batch_first both ways) accepts init_hidden's state as h0."""

    name = "init_hidden_runs"

    def judge(self, got, seed=0, n=6, directions="both", **kw):
        for i, (case, value) in enumerate(zip(init_hidden_cases(seed, n, directions), got["results"])):
            if not (isinstance(value, dict) and value.get("__tensor__")):
                return [f"{_call(case)} should return a torch.Tensor, not {type_name(value)}."]
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

    def judge(self, got, seq_len, batch, hidden_size, **kw):
        out, hid = got["output"], got["hidden"]
        if not (isinstance(out, dict) and out.get("__tensor__")):
            return ["output should be the tensor the RNN returns."]
        if tuple(out["data"].shape) != (seq_len, batch, hidden_size):
            return [f"output has shape {tuple(out['data'].shape)}, expected (seq_len, batch, hidden) = "
                    f"{(seq_len, batch, hidden_size)}: the first argument is the input sequence."]
        if not np.allclose(out["data"][-1], hid["data"][-1], atol=1e-6):
            return ["the last output step should equal the final hidden state; rerun the cells in order."]
        return []

    def passed(self, got, **kw):
        return "the RNN read the input sequence, starting from your hidden state."


def classifier_cases(seed, n=4):
    rng = random.Random(seed)
    return [{"num_features": f, "num_classes": c}
            for f, c in (rng.sample(range(2, 20), 2) for _ in range(n))]


class BuildClassifier(Check):
    """``build_classifier(num_features, num_classes) -> (rnn, head)`` for (batch, seq, features) data."""

    name = "build_classifier"

    def probe(self, fn, seed=0, n=4, **kw):
        results = []
        for case in classifier_cases(seed, n):
            rnn, head = fn(**case)
            entry = {"rnn": layer_config(rnn), "head": layer_config(head)}
            try:  # run the pair on a batch laid out as the task gives it: (batch, seq_len, features)
                x = torch.randn(3, 10, case["num_features"])
                output, h_n = rnn(x)
                entry["logits_shape"] = list(head(h_n[-1]).shape)
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
            results.append(entry)
        return {"results": results}

    def judge(self, got, seed=0, n=4, **kw):
        for case, entry in zip(classifier_cases(seed, n), got["results"]):
            call = "build_classifier({num_features}, {num_classes})".format(**case)
            rnn, head = entry["rnn"], entry["head"]
            if rnn["type"] != "RNN":
                return [f"{call}: the first item should be an nn.RNN, got {rnn['type']}."]
            if head["type"] != "Linear":
                return [f"{call}: the second item should be an nn.Linear, got {head['type']}."]
            if rnn["input_size"] != case["num_features"]:
                if rnn["input_size"] == 10:
                    return [f"{call}: input_size counts features per time step "
                            f"({case['num_features']}), not time steps (10)."]
                return [f"{call}: input_size must equal the features per time step, "
                        f"{case['num_features']}, not {rnn['input_size']}."]
            if not rnn.get("batch_first"):
                return [f"{call}: the data comes as (batch, seq_len, features): set batch_first=True."]
            if head["out_features"] != case["num_classes"]:
                return [f"{call}: the linear head must output one score per class "
                        f"({case['num_classes']}), not {head['out_features']}."]
            width = rnn["hidden_size"] * (2 if rnn.get("bidirectional") else 1)
            if head["in_features"] != width:
                return [f"{call}: the head reads the last hidden state, so in_features must be "
                        f"hidden_size = {width}, not {head['in_features']}."]
            if "error" in entry:
                return [f"{call}: running the pair failed with {entry['error']}"]
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

    def judge(self, got, kind, seed=0, n=3, **kw):
        limit, upper = {"long": (3, False), "shout": (4, True)}[kind]
        for words, result in zip(word_cases(seed, n), got["results"]):
            want = {(w.upper() if upper else w): len(w) for w in words if len(w) > limit}
            if not isinstance(result, dict):
                return [f"return a dict (a dictionary comprehension), not {type_name(result)}."]
            if result == want:
                continue
            if set(result) == set(want) and set(result.values()) <= set(words):
                return ["map each word to its length, len(word), not to the word itself."]
            plain = {w: len(w) for w in words if len(w) > limit}
            if upper and result == plain:
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

    def judge(self, got, seed=0, n=4, **kw):
        for losses, result in zip(epoch_cases(seed, n), got["results"]):
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
