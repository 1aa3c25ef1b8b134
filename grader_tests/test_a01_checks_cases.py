"""Assignment 01's random cases leave no blind spot: every plausible wrong answer fails on every seed
(0..50), by construction of the cases, and the right answers written other ways pass; each message
names the mistake it sees."""
import operator

import pytest
import torch
from torch import nn

from course.assignments.a01_rnn_layer import checks as a01
from course.checks import REGISTRY
from course.checks.core import decode, encode, run_probe

SEEDS = range(51)
OPS = {">": operator.gt, ">=": operator.ge}


def verdict(name, answer, **kw):
    """The messages the grader gives ``answer`` (empty: it passes)."""
    check = REGISTRY[name]
    return check.verdict(decode(*encode(run_probe(check, answer, kw))), kw)


def passing_seeds(name, answer, **kw):
    """The seeds (of 0..50) on which ``answer`` passes the check."""
    return [seed for seed in SEEDS if not verdict(name, answer, seed=seed, **kw)]


# ---- word lengths: "longer than 3" (long) and "longer than 4" (shout) ------------------------------
def comprehension(op, threshold, upper):
    def fn(words):
        return {(w.upper() if upper else w): len(w) for w in words if OPS[op](len(w), threshold)}
    return fn


KINDS = {"long": (3, False), "shout": (4, True)}
THRESHOLDS = [(kind, op, t) for kind in KINDS for op in OPS for t in range(0, 8)]


def right(kind, op, t):
    limit = KINDS[kind][0]
    return (op == ">" and t == limit) or (op == ">=" and t == limit + 1)


@pytest.mark.parametrize("kind,op,threshold", THRESHOLDS, ids=[f"{k}-len{o}{t}" for k, o, t in THRESHOLDS])
def test_every_wrong_threshold_fails_on_every_seed_and_the_right_ones_pass(kind, op, threshold):
    fn = comprehension(op, threshold, KINDS[kind][1])
    passing = passing_seeds("a01_word_lengths", fn, kind=kind)
    if right(kind, op, threshold):
        assert passing == list(SEEDS), f"len(word) {op} {threshold} is right for {kind}"
    else:
        assert passing == [], f"len(word) {op} {threshold} passes {kind} on seeds {passing}"


def test_every_case_holds_a_word_of_every_length_around_both_limits():
    for seed in SEEDS:
        for words in a01.word_cases(seed, n=3):
            assert {min(len(w), 6) for w in words} == {2, 3, 4, 5, 6}, words
            assert len(set(words)) == len(words) and 6 <= len(words) <= 13


@pytest.mark.parametrize("kind", KINDS)
def test_other_plausible_word_mistakes_fail_on_every_seed(kind):
    limit, upper = KINDS[kind]
    key = (lambda w: w) if upper else str.upper           # the other kind's keys
    wrong = {
        "keys in the other case": lambda ws: {key(w): len(w) for w in ws if len(w) > limit},
        "capitalised keys": lambda ws: {w.capitalize(): len(w) for w in ws if len(w) > limit},
        "word as value": lambda ws: {(w.upper() if upper else w): w for w in ws if len(w) > limit},
        "length off by one": lambda ws: {(w.upper() if upper else w): len(w) - 1 for w in ws if len(w) > limit},
        "the other exercise's limit": comprehension(">", 7 - limit, upper),
        "a list": lambda ws: [w for w in ws if len(w) > limit],
    }
    for what, fn in wrong.items():
        assert passing_seeds("a01_word_lengths", fn, kind=kind) == [], what


@pytest.mark.parametrize("kind,fn,phrase", [
    ("long", comprehension(">=", 3, False), ">= 3 also keeps the words of exactly 3 letters"),
    ("long", comprehension(">", 4, False), "> 4 (or >= 5) drops the words of exactly 4 letters"),
    ("long", comprehension(">", 1, False), "The condition is len(word) > 3."),
    ("shout", comprehension(">=", 4, True), ">= 4 also keeps the words of exactly 4 letters"),
    ("shout", comprehension(">", 5, True), "> 5 (or >= 6) drops the words of exactly 5 letters"),
    ("shout", comprehension(">", 4, False), "the keys should be the words in upper case, word.upper()"),
    ("long", comprehension(">", 3, True), "the keys should be the words as they are"),
    ("long", lambda ws: {w: w for w in ws if len(w) > 3}, "not to the word itself"),
    ("long", lambda ws: {w: len(w) + 1 for w in ws if len(w) > 3}, "should be its length, len(word)"),
    ("long", lambda ws: {"x" + w: len(w) for w in ws if len(w) > 3}, "is not one of the words"),
    ("shout", lambda ws: sorted(ws), "return a dict"),
])
def test_each_word_mistake_gets_its_own_message(kind, fn, phrase):
    messages = verdict("a01_word_lengths", fn, seed=1, kind=kind)
    assert len(messages) == 1 and phrase in messages[0], messages


def test_two_mistakes_at_once_are_both_named():
    [message] = verdict("a01_word_lengths", comprehension(">", 3, False), seed=2, kind="shout")
    # A3's answer for A4: lower-case keys, and "> 3" keeps the 4-letter words, as ">= 4" would
    assert "word.upper()" in message and ">= 4 also keeps the words of exactly 4 letters" in message


# ---- init_hidden ------------------------------------------------------------------------------------
def h0_maker(first, order=("first", "batch", "hidden")):
    def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
        sizes = {"first": first(num_layers, bidirectional), "batch": batch_size, "hidden": hidden_size}
        return torch.zeros(*(sizes[k] for k in order))
    return init_hidden


RIGHT_FIRST = lambda layers, bi: layers * (2 if bi else 1)  # noqa: E731
WRONG_H0 = {  # name: (init_hidden, directions on which it must fail on every seed)
    "layers + bidirectional": (h0_maker(lambda l, bi: l + int(bi)), ("bi", "both")),
    "forgets the layers": (h0_maker(lambda l, bi: 2 if bi else 1), ("uni", "bi", "both")),
    "forgets the directions": (h0_maker(lambda l, bi: l), ("bi", "both")),
    "precedence slip (layers * 2 if bi else 1)": (h0_maker(lambda l, bi: l * 2 if bi else 1), ("uni", "both")),
    "always two directions": (h0_maker(lambda l, bi: 2 * l), ("uni", "both")),
    "batch first": (h0_maker(RIGHT_FIRST, ("batch", "first", "hidden")), ("uni", "bi", "both")),
    "batch and hidden swapped": (h0_maker(RIGHT_FIRST, ("first", "hidden", "batch")), ("uni", "bi", "both")),
    "hidden in the middle": (h0_maker(RIGHT_FIRST, ("hidden", "batch", "first")), ("uni", "bi", "both")),
}


@pytest.mark.parametrize("what", WRONG_H0)
def test_every_wrong_h0_passing_seeds(what):
    fn, directions = WRONG_H0[what]
    for d in directions:
        assert passing_seeds("a01_init_hidden", fn, directions=d) == [], (what, d)
    assert passing_seeds("a01_init_hidden_runs", fn) == [], what


def test_the_right_h0_passes_on_every_seed_and_the_cases_cover_every_depth_and_layout():
    fn = h0_maker(RIGHT_FIRST)
    for d in ("uni", "bi", "both"):
        assert passing_seeds("a01_init_hidden", fn, directions=d) == list(SEEDS)
    assert passing_seeds("a01_init_hidden_runs", fn) == list(SEEDS)
    for seed in SEEDS:
        cases = a01.init_hidden_cases(seed, 6, "both")
        assert {(c["num_layers"], c["bidirectional"]) for c in cases} == {(l, b) for l in (1, 2, 3) for b in (0, 1)}
        for c in cases:
            first = c["num_layers"] * (2 if c["bidirectional"] else 1)
            assert len({first, c["batch_size"], c["hidden_size"], c["num_layers"]}) == (3 if first == c["num_layers"] else 4)


# ---- build_classifier --------------------------------------------------------------------------------
def classifier(rnn_in=None, rnn_hidden=None, head_in=None, head_out=None, batch_first=True):
    def build_classifier(num_features, num_classes, hidden_size=16):
        args = {"f": num_features, "c": num_classes, "h": hidden_size}
        pick = lambda v, default: args[v] if isinstance(v, str) else (default if v is None else v)  # noqa: E731
        hidden = pick(rnn_hidden, hidden_size)
        return (nn.RNN(pick(rnn_in, num_features), hidden, batch_first=batch_first),
                nn.Linear(pick(head_in, hidden), pick(head_out, num_classes)))
    return build_classifier


WRONG_CLASSIFIERS = {
    "input_size = seq_len": (classifier(rnn_in=10), "not time steps (10)"),
    "fixed hidden size": (classifier(rnn_hidden=16, head_in=16), "use the hidden_size argument"),
    "head reads the features": (classifier(head_in="f"), "in_features must be hidden_size"),
    "head outputs the features": (classifier(head_out="f"), "one score per class"),
    "head from classes to hidden": (classifier(head_in="c", head_out="h"), "one score per class"),
    "notebook's example hard-coded": (classifier(rnn_in=8, head_out=4), "features per time step"),
    "no batch_first": (classifier(batch_first=False), "set batch_first=True"),
}


@pytest.mark.parametrize("what", WRONG_CLASSIFIERS)
def test_every_wrong_classifier_fails_on_every_seed_with_its_message(what):
    fn, phrase = WRONG_CLASSIFIERS[what]
    assert passing_seeds("a01_build_classifier", fn) == [], what
    assert phrase in verdict("a01_build_classifier", fn, seed=1)[0]


def test_the_right_classifier_passes_and_the_cases_vary_the_hidden_size():
    assert passing_seeds("a01_build_classifier", classifier()) == list(SEEDS)
    for seed in SEEDS:
        cases = a01.classifier_cases(seed)
        assert sum("hidden_size" in c for c in cases) == 2
        for c in cases:
            sizes = [c["num_features"], c["num_classes"], c.get("hidden_size", 16)]
            assert len(set(sizes)) == 3 and 10 not in sizes


# ---- best_epoch ----------------------------------------------------------------------------------------
WRONG_BEST = {
    "0-based": (lambda v: min(range(len(v)), key=v.__getitem__), "add 1"),
    "highest loss": (lambda v: max(range(len(v)), key=v.__getitem__) + 1, "highest"),
    "one too far": (lambda v: min(range(len(v)), key=v.__getitem__) + 2, "counted from 1"),
    "last epoch": (lambda v: len(v), "epoch"),
    "a tensor": (lambda v: torch.tensor(v).argmin() + 1, "as an int"),
    "the loss itself": (lambda v: min(v), "as an int"),
}


@pytest.mark.parametrize("what", WRONG_BEST)
def test_every_wrong_best_epoch_passing_seeds(what):
    fn, phrase = WRONG_BEST[what]
    assert passing_seeds("a01_best_epoch", fn) == [], what
    assert phrase in verdict("a01_best_epoch", fn, seed=1)[0]


def test_the_right_best_epoch_passes_every_seed():
    assert passing_seeds("a01_best_epoch", lambda v: v.index(min(v)) + 1) == list(SEEDS)
