"""course/assignments/a01_rnn_layer/checks.py without nbgrader: right answers pass, the result contract refuses forged
results, and a judge handles any plain value the student's code may return."""
import pytest
import torch
from torch import nn

from course import checks
from course.checks import REGISTRY
from course.checks.core import CONTRACT_MESSAGE, decode, encode, run_probe

HEAD = CONTRACT_MESSAGE.split("(")[0]


def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    return torch.zeros(num_layers * (2 if bidirectional else 1), batch_size, hidden_size)


def build_classifier(num_features, num_classes, hidden_size=16):
    return nn.RNN(num_features, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)


def long_word_lengths(words):
    return {w: len(w) for w in words if len(w) > 3}


def best_epoch(losses):
    return min(range(len(losses)), key=lambda i: losses[i]) + 1


RNN_B3 = {"type": "RNN", "input_size": 6, "hidden_size": 12, "num_layers": 2, "nonlinearity": "relu",
          "bias": False, "batch_first": True, "dropout": 0.2}
CALLS = [  # (check, answer, kw): each passes genuinely
    ("layer_config", nn.RNN(6, 12, num_layers=2, nonlinearity="relu", bias=False, batch_first=True,
                            dropout=0.2), {"expected": RNN_B3}),
    ("zeros_state", torch.zeros(1, 5, 20), {"shape": [1, 5, 20]}),
    ("a01_init_hidden", init_hidden, {"seed": 3, "directions": "both"}),
    ("a01_init_hidden_runs", init_hidden, {"seed": 3}),
    ("a01_build_classifier", build_classifier, {"seed": 3}),
    ("a01_word_lengths", long_word_lengths, {"seed": 3, "kind": "long"}),
    ("a01_best_epoch", best_epoch, {"seed": 3}),
]


def genuine(name, answer, kw):
    check = REGISTRY[name]
    outcome = decode(*encode(run_probe(check, answer, kw)))
    assert check.verdict(outcome, kw) == [], name
    return check, outcome["got"]


def verdict(check, got, kw):
    return check.verdict({"ok": True, "got": got}, kw)


@pytest.mark.parametrize("name,answer,kw", CALLS, ids=[c[0] for c in CALLS])
def test_genuine_passes_and_a_shape_change_fails_the_contract(name, answer, kw):
    check, got = genuine(name, answer, kw)
    extra = dict(got, kernels=[])
    messages = verdict(check, extra, kw)
    assert len(messages) == 1 and messages[0].startswith(HEAD), messages
    if "results" in got:
        for forged in (got["results"][:-1], got["results"][1:], got["results"] + got["results"][:1]):
            messages = verdict(check, {"results": forged}, kw)
            assert len(messages) == 1 and messages[0].startswith(HEAD) and "entries came back" in messages[0]


def test_layer_config_reports_only_what_the_task_names():
    kw = {"expected": {"type": "RNN", "input_size": 10, "hidden_size": 20, "num_layers": 1}}
    check, got = genuine("layer_config", nn.RNN(10, 20, dropout=0.0), kw)
    assert got == {"type": "RNN", "input_size": 10, "hidden_size": 20, "num_layers": 1}
    for key, value in (("num_layers", True), ("input_size", float("nan")), ("input_size", [10]),
                       ("input_size", "10"), ("hidden_size", None)):
        assert verdict(check, dict(got, **{key: value}), kw), (key, value)
    assert verdict(check, {"type": "RNN", "input_size": 10, "hidden_size": 20}, kw)[0].startswith(HEAD)
    with pytest.raises(checks.CheckFailed, match="bias is True, the task needs False"):
        checks.layer_config(nn.RNN(6, 12, num_layers=2, nonlinearity="relu", batch_first=True, dropout=0.2),
                            expected=RNN_B3)
    with pytest.raises(checks.CheckFailed, match="expected an nn.RNN, got GRU"):
        checks.layer_config(nn.GRU(6, 12), expected=RNN_B3)
    with pytest.raises(checks.CheckFailed, match="not answered yet"):  # the released placeholder
        checks.layer_config(None, expected=RNN_B3)


def test_a_state_that_requires_grad_is_refused():
    with pytest.raises(checks.CheckFailed, match="without requires_grad=True"):
        checks.zeros_state(torch.zeros(1, 5, 20, requires_grad=True), shape=[1, 5, 20])
    with pytest.raises(checks.CheckFailed, match="without requires_grad=True"):
        checks.a01_init_hidden(lambda *a, **k: init_hidden(*a, **k).requires_grad_(), seed=1)


def test_init_hidden_runs_refuses_nan():
    check, got = genuine("a01_init_hidden_runs", init_hidden, {"seed": 1})
    got["results"][-1]["data"][:] = float("nan")
    assert "NaN" in verdict(check, got, {"seed": 1})[0]


def test_build_classifier_judges_the_logits_too():
    check, got = genuine("a01_build_classifier", build_classifier, {"seed": 1})
    got["results"][0]["logits_shape"] = [3]
    assert "expected (3," in verdict(check, got, {"seed": 1})[0]
    _, got = genuine("a01_build_classifier", build_classifier, {"seed": 1})
    got["results"][0]["rnn"]["bidirectional"] = None
    assert "should be an nn.RNN" in verdict(check, got, {"seed": 1})[0]

    def time_steps_as_features(num_features, num_classes, hidden_size=16):
        return nn.RNN(10, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)

    with pytest.raises(checks.CheckFailed, match="not time steps"):
        checks.a01_build_classifier(time_steps_as_features, seed=1)


def test_runs_rnn_checks_the_hidden_state():
    rnn, x = nn.RNN(10, 20), torch.randn(8, 5, 10)
    output, hidden = rnn(x, torch.zeros(1, 5, 20))
    kw = {"seq_len": 8, "batch": 5, "hidden_size": 20}
    check, got = genuine("runs_rnn", (output, hidden), kw)
    tiled = dict(got["hidden"], data=got["hidden"]["data"].repeat(3, axis=0))
    assert "h_n has shape (3, 5, 20)" in verdict(check, dict(got, hidden=tiled), kw)[0]
    assert verdict(check, dict(got, hidden=None), kw)


@pytest.mark.parametrize("value", [float("nan"), [1, 2], {"__type__": "X", "repr": "x"}, None, True, "8",
                                   {"__tensor__": True, "dtype": "float32", "requires_grad": False,
                                    "data": torch.zeros(2).numpy()}])
def test_judges_handle_any_plain_value(value):
    for name, answer, kw in CALLS:
        check, got = genuine(name, answer, kw)
        if "results" in got:
            forged = {"results": [value] * len(got["results"])} if name != "a01_build_classifier" else None
            if forged is not None:
                messages = verdict(check, forged, kw)
                assert messages and "could not be checked" not in messages[0], (name, messages)
    check, got = genuine("a01_word_lengths", long_word_lengths, {"seed": 3, "kind": "long"})
    word = next(iter(got["results"][0]))
    got["results"][0][word] = value
    messages = verdict(check, got, {"seed": 3, "kind": "long"})
    assert messages and "could not be checked" not in messages[0]
