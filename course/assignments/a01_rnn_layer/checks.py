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

LAYER_CYCLE = (1, 2, 3)


def init_hidden_cases(seed, n=6, directions="both"):
    """Cases in which every plausible wrong h0 fails, by construction (not by luck of the seed).

    directions: "uni" (bidirectional=False), "bi" (True) or "both" (alternating, uni first).
    Each direction meets 1, 2 and 3 layers (so ``num_layers + bidirectional`` or ``2 if bidirectional
    else 1`` fail), and batch and hidden differ from each other and from num_layers and 2 × num_layers
    (so no two dimensions of the right h0 are equal and a swapped or misplaced one always shows).
    """
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        if directions == "both":
            bidirectional, layers = bool(i % 2), LAYER_CYCLE[(i // 2) % 3]
        else:
            bidirectional, layers = directions == "bi", LAYER_CYCLE[i % 3]
        batch, hidden = rng.sample([v for v in range(2, 13) if v not in (layers, 2 * layers)], 2)
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
            batch_first = (i // 2) % 2 == 0  # both layouts for each direction
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


SEQ_LEN = 10          # the time steps of _logits_shape's batch (and of the notebook's task)
DEFAULT_HIDDEN = 16   # build_classifier's default hidden_size


def classifier_cases(seed, n=4):
    """Every other case passes its own hidden_size. Features, classes and hidden size are distinct and
    never 10 (the sequence length) or 16 (the default hidden size), so a head or an RNN built from the
    wrong number always shows."""
    rng = random.Random(seed)
    pool = [v for v in range(2, 20) if v not in (SEQ_LEN, DEFAULT_HIDDEN)]
    cases = []
    for i in range(n):
        features, classes, hidden = rng.sample(pool, 3)
        case = {"num_features": features, "num_classes": classes}
        if i % 2:
            case["hidden_size"] = hidden
        cases.append(case)
    return cases


def _classifier_call(case):
    extra = f", hidden_size={case['hidden_size']}" if "hidden_size" in case else ""
    return f"build_classifier({case['num_features']}, {case['num_classes']}{extra})"


CLASSIFIER_RNN = ("input_size", "hidden_size", "batch_first", "bidirectional")
CLASSIFIER_HEAD = ("in_features", "out_features")
BATCH = 3  # the batch build_classifier's pair is run on


def _logits_shape(rnn, head, num_features):
    """The pair run on a batch laid out as the task gives it: (batch, seq_len, features)."""
    x = torch.randn(BATCH, SEQ_LEN, num_features)
    output, h_n = rnn(x)
    return [int(d) for d in head(h_n[-1]).shape]


class BuildClassifier(Check):
    """``build_classifier(num_features, num_classes, hidden_size=16) -> (rnn, head)`` for (batch, seq,
    features) data."""

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
            call = _classifier_call(case)
            hidden = case.get("hidden_size", DEFAULT_HIDDEN)
            rnn, head = entry["rnn"], entry["head"]
            if rnn["type"] != "RNN" or rnn["hidden_size"] is None or rnn["bidirectional"] is None:
                return [f"{call}: the first item should be an nn.RNN, got {rnn['type']}."]
            if head["type"] != "Linear":
                return [f"{call}: the second item should be an nn.Linear, got {head['type']}."]
            if not same(rnn["input_size"], case["num_features"]):
                if same(rnn["input_size"], SEQ_LEN):
                    return [f"{call}: input_size counts features per time step "
                            f"({case['num_features']}), not time steps ({SEQ_LEN})."]
                return [f"{call}: input_size must equal the features per time step, "
                        f"{case['num_features']}, not {rnn['input_size']}."]
            if rnn["batch_first"] is not True:
                return [f"{call}: the data comes as (batch, seq_len, features): set batch_first=True."]
            if rnn["hidden_size"] != hidden:
                where = ("the call passes hidden_size=" if "hidden_size" in case
                         else "the default is hidden_size=")
                return [f"{call}: the RNN's hidden_size is {rnn['hidden_size']}, but {where}{hidden}: "
                        "use the hidden_size argument, do not write a fixed number."]
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


# Words by length. Every case holds at least one word of each length (2, 3, 4, 5, and 6 or more), so
# each comparison with the wrong number or the wrong operator (> 2, >= 3, > 4, >= 5, ... for "longer
# than 3"; >= 4, > 5, ... for "longer than 4") keeps or drops a word it should not, on every seed.
WORDS_BY_LENGTH = {
    2: "in of to on at up by is".split(),
    3: "the rnn gru sum max new old end".split(),
    4: "time step word gate cell loss test past next read long".split(),
    5: "state token input layer batch vocab train model shape order short".split(),
    6: "hidden memory output tensor weight sequence dropout sentence".split(),
}
WORDS = [w for words in WORDS_BY_LENGTH.values() for w in words]
WORD_LIMITS = {"long": (3, False), "shout": (4, True)}   # kind -> (keep words longer than, upper-case keys)


def word_cases(seed, n=3):
    """n word lists of 6 to 13 distinct words, each with a word of every length in WORDS_BY_LENGTH."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        words = [rng.choice(group) for group in WORDS_BY_LENGTH.values()]
        rest = [w for w in WORDS if w not in words]
        words += rng.sample(rest, rng.randrange(6, 14) - len(words))
        rng.shuffle(words)
        cases.append(words)
    return cases


def _comparison_hint(limit, word, kept):
    """What a wrong threshold did to one word, and the comparison that keeps "longer than limit"."""
    n = len(word)
    if kept:
        why = f"you kept {word!r}, which has {n} letters"
        fix = f": >= {limit} also keeps the words of exactly {limit} letters" if n == limit else ""
    else:
        why = f"you left out {word!r}, which has {n} letters"
        fix = (f": > {limit + 1} (or >= {limit + 2}) drops the words of exactly {limit + 1} letters"
               if n == limit + 1 else "")
    return (f"only words longer than {limit} letters belong in the dict, and all of them: {why}. "
            f"The condition is len(word) > {limit}{fix}.")


def word_lengths_problems(words, result, kind):
    """Messages for one word list (empty when ``result`` is right)."""
    limit, upper = WORD_LIMITS[kind]
    want = {(w.upper() if upper else w): len(w) for w in words if len(w) > limit}
    if not isinstance(result, dict) or is_tensor(result) or "__type__" in result:
        return [f"return a dict (a dictionary comprehension), not {type_name(result)}."]
    if same(result, want):
        return []
    problems = []
    by_key = {}                    # each key of the result -> the word it stands for (any case)
    for key in result:
        word = next((w for w in words if w.upper() == key.upper()), None)
        if word is None:
            return [f"{key!r} is not one of the words in {words}: the keys are the words themselves"
                    + (", in upper case." if upper else ".")]
        by_key[key] = word
    cased = [(k, w) for k, w in by_key.items() if k != (w.upper() if upper else w)]
    if cased:
        key, word = cased[0]
        problems.append(f"the keys should be the words in upper case, word.upper(): {word.upper()!r}, "
                        f"not {key!r}." if upper else
                        f"the keys should be the words as they are: {word!r}, not {key!r} (upper case is "
                        "for A4).")
    kept = set(by_key.values())
    # the word farthest from the limit: the ">= limit" / "> limit + 1" note only when it is the one slip
    extra = sorted((w for w in kept if len(w) <= limit), key=lambda w: (len(w), w))
    missing = sorted((w for w in words if len(w) > limit and w not in kept), key=lambda w: (-len(w), w))
    if extra:
        problems.append(_comparison_hint(limit, extra[0], kept=True))
    elif missing:
        problems.append(_comparison_hint(limit, missing[0], kept=False))
    values = list(result.values())
    if values and all(isinstance(v, str) for v in values):
        problems.append("map each word to its length, len(word), not to the word itself.")
    else:
        wrong = [(k, v) for k, v in result.items() if not same(v, len(by_key[k]))]
        if wrong:
            key, value = wrong[0]
            problems.append(f"the value for {key!r} should be its length, len(word) = {len(by_key[key])}, "
                            f"not {value!r}.")
    return problems or [f"for {words} the result should be {want}; yours is {result}."]


class WordLengths(Check):
    """Dictionary comprehensions over a word list, checked against a reference on random lists.

    kind="long": words longer than 3 letters -> length; kind="shout": longer than 4, keys upper case.
    """

    name = "a01_word_lengths"

    def probe(self, fn, seed=0, n=3, **kw):
        return {"results": [to_plain(fn(list(words))) for words in word_cases(seed, n)]}

    def result(self, seed=0, n=3, **kw):
        return Record(results=Cases(Value(), len(word_cases(seed, n))))

    def judge(self, got, kind, seed=0, n=3, **kw):
        for words, result in zip(word_cases(seed, n), got["results"], strict=True):
            problems = word_lengths_problems(words, result, kind)
            if problems:
                return problems
        return []

    def passed(self, got, n=3, **kw):
        return f"matches on {n} word lists, with words of every length around the limit."


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
                return [f"for validation losses {losses} the lowest value, {min(losses)}, is at list index "
                        f"{want - 1}, so the best epoch (counted from 1) is {want}, not {result}."]
        return []

    def passed(self, got, n=4, **kw):
        return f"the right epoch on {n} loss curves."
