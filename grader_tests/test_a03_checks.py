"""Fast tests of assignment 03's checks (course/assignments/a03_sequence_classifier/checks.py): the judges on genuine results of
right and wrong answers, run in this process exactly as the grader's wire carries them, and on forged
results — which the result contract or the judge must refuse."""
import contextlib
import copy

import numpy as np

import pytest
import torch
from torch import nn

from course import data as course_data
from course.checks import REGISTRY, models
from course.checks.core import decode, encode, run_probe
from course.assignments.a03_sequence_classifier import reference
from course.assignments.a03_sequence_classifier.checks import PROBE_INPUTS, order_inputs
from fixtures import a03_sequence_classifier as a03_fixtures

CONTRACT = "could not accept what came back from your kernel"


def outcome_of(name, answer, **kw):
    """What the grader receives from the probe (through the wire's encoding)."""
    return decode(*encode(run_probe(REGISTRY[name], answer, kw)))


def messages(name, answer, **kw):
    return REGISTRY[name].verdict(outcome_of(name, answer, **kw), kw, "answer")


def got_of(name, answer, **kw):
    outcome = outcome_of(name, answer, **kw)
    assert outcome["ok"] and REGISTRY[name].verdict(outcome, kw) == [], outcome
    return outcome["got"]


def judged(name, got, **kw):
    return REGISTRY[name].verdict({"ok": True, "got": got}, kw, "answer")


def text(found):
    return "\n".join(found)


# -- the student's code, right and wrong ------------------------------------------------------------
def last_hidden(output, h_n, batch_first):
    return h_n[-1]


class SequenceClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=1, rnn_type="rnn"):
        super().__init__()
        self.rnn = {"rnn": nn.RNN, "gru": nn.GRU}[rnn_type](input_size, hidden_size,
                                                          num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return self.head(h_n[-1])


class MeanOverTime(SequenceClassifier):
    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output.mean(dim=1))


_honest = {"torch": torch, "nn": nn}
exec(a03_fixtures.TRAIN_EPOCH, _honest)  # the grading fixtures' right answer
train_epoch = _honest["train_epoch"]


def evaluate(model, loader, loss_fn, modes=True):
    """The right answer, all batches at once; modes=False is the classic mistake (no eval(), no no_grad())."""
    if modes:
        model.eval()
    with torch.no_grad() if modes else contextlib.nullcontext():
        pairs = [(model(x), y) for x, y in loader]
    logits, labels = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
    return loss_fn(logits, labels).item(), (logits.argmax(dim=1) == labels).float().mean().item()


fit = reference.fit  # the course's own (what practice.working stands in with)


# -- last_hidden ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("deep", [False, True])
def test_last_hidden_right_answer_passes(deep):
    assert messages("a03_last_hidden", last_hidden, seed=3, deep=deep) == []


@pytest.mark.parametrize("answer, phrase", [
    (lambda output, h_n, batch_first: h_n[0], "final state of the *first* layer"),
    (lambda output, h_n, batch_first: output[:, 0] if batch_first else output[0], "first time step"),
    (lambda output, h_n, batch_first: h_n[-1].tolist(), "return a tensor, not list"),
    (lambda output, h_n, batch_first: h_n[-1] * 2, "not the last layer's state"),
])
def test_last_hidden_names_the_mistake(answer, phrase):
    found = messages("a03_last_hidden", answer, seed=3, deep=True)
    assert found and phrase in text(found)


def test_last_hidden_refuses_forged_results():
    got = got_of("a03_last_hidden", last_hidden, seed=3)
    assert CONTRACT in text(judged("a03_last_hidden", dict(got, results=got["results"][:-1]), seed=3))
    assert CONTRACT in text(judged("a03_last_hidden", {"results": got["results"] * 2}, seed=3))
    old_format = {"results": [{"__tensor__": True, "dtype": "float32", "requires_grad": False,
                               "data": r["tensor"]} for r in got["results"]]}
    assert CONTRACT in text(judged("a03_last_hidden", old_format, seed=3))
    nan = copy.deepcopy(got)
    nan["results"][0]["tensor"] = np.full_like(nan["results"][0]["tensor"], np.nan)
    assert judged("a03_last_hidden", nan, seed=3)


# -- SequenceClassifier ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"rnn_type": "gru"}])
def test_classifier_right_answer_passes(kw):
    assert messages("a03_classifier", SequenceClassifier, seed=4, **kw) == []


def test_classifier_names_the_mistake():
    found = messages("a03_classifier", MeanOverTime, seed=4)
    assert "averages the outputs over time" in text(found)

    class TwoHeads(SequenceClassifier):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = nn.Linear(2, 2)

    assert "exactly one nn.Linear head; found 2" in text(messages("a03_classifier", TwoHeads, seed=4))


def test_classifier_refuses_forged_results():
    got = got_of("a03_classifier", SequenceClassifier, seed=4)
    for field, value in [("bidirectional", None), ("num_layers", True), ("hidden_size", 2.5)]:
        forged = copy.deepcopy(got)
        forged["results"][0]["rnns"][0][field] = value
        assert CONTRACT in text(judged("a03_classifier", forged, seed=4)), field
    forged = copy.deepcopy(got)
    del forged["results"][-1]["out"]
    assert "could not be run" in text(judged("a03_classifier", forged, seed=4))
    forged = copy.deepcopy(got)
    forged["results"][1]["out"] = {"returned": "tuple"}
    assert "not tuple" in text(judged("a03_classifier", forged, seed=4))


# -- train_epoch, evaluate ------------------------------------------------------------------------------
def test_train_epoch_right_and_wrong():
    assert messages("a03_train_epoch", train_epoch, seed=5) == []

    def no_step(model, loader, loss_fn, optimizer):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
        return 1.0

    assert "optimizer.step()" in text(messages("a03_train_epoch", no_step, seed=5))

    def returns_tensor(model, loader, loss_fn, optimizer):
        return torch.tensor(train_epoch(model, loader, loss_fn, optimizer))

    assert "Python float" in text(messages("a03_train_epoch", returns_tensor, seed=5))


def test_train_epoch_refuses_forged_results():
    got = got_of("a03_train_epoch", train_epoch, seed=5)
    assert judged("a03_train_epoch", dict(got, loss=float("nan")), seed=5)
    assert judged("a03_train_epoch", dict(got, loss=True), seed=5)
    params = dict(got["params"])
    params.pop("head.bias")
    assert CONTRACT in text(judged("a03_train_epoch", dict(got, params=params), seed=5))
    assert CONTRACT in text(judged("a03_train_epoch", dict(got, training=1), seed=5))


@pytest.mark.parametrize("modes", [False, True])
def test_evaluate_right_answer_passes(modes):
    assert messages("a03_evaluate", evaluate, seed=6, modes=modes) == []


def test_evaluate_names_the_mistakes():
    def swapped(model, loader, loss_fn):
        loss, acc = evaluate(model, loader, loss_fn)
        return acc, loss

    assert "wrong way round" in text(messages("a03_evaluate", swapped, seed=6))

    def no_eval(model, loader, loss_fn):
        return evaluate(model, loader, loss_fn, modes=False)

    found = text(messages("a03_evaluate", no_eval, seed=6, modes=True))
    assert "torch.no_grad()" in found and "model.eval()" in found
    assert messages("a03_evaluate", no_eval, seed=6) == []  # without dropout the values are right


def test_evaluate_refuses_forged_results():
    got = got_of("a03_evaluate", evaluate, seed=6, modes=True)
    assert judged("a03_evaluate", dict(got, second=got["second"] + got["second"][-1:]), seed=6, modes=True)
    assert judged("a03_evaluate", dict(got, second=[got["second"][0], True]), seed=6, modes=True)
    assert judged("a03_evaluate", dict(got, autograd_recorded=True), seed=6, modes=True)
    assert CONTRACT in text(judged("a03_evaluate", dict(got, loss_fn_called=[False] * 9), seed=6,
                                   modes=True))
    plain = got_of("a03_evaluate", evaluate, seed=6)
    assert CONTRACT in text(judged("a03_evaluate", got, seed=6))  # the modes=True result
    assert judged("a03_evaluate", {"first": [float("nan"), plain["first"][1]]}, seed=6)


# -- fit -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fit_got():
    return got_of("a03_fit", fit, seed=7)


def test_fit_right_answer_passes(fit_got):
    assert len(fit_got["snapshots"]) == 6  # one validation pass per epoch; the last is the final model
    assert set(fit_got["history"]) == {"train_loss", "val_loss", "val_acc"}


def test_fit_accepts_other_right_ways():
    def extra_key_and_double_evaluate(model, train_loader, val_loader, epochs=30, lr=1e-2):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        evaluate(model, val_loader, loss_fn)  # the starting point, not recorded
        history = {"train_loss": [], "val_loss": [], "val_acc": [], "lr": []}
        for _ in range(epochs):
            history["train_loss"].append(train_epoch(model, train_loader, loss_fn, optimizer))
            history["val_loss"].append(evaluate(model, val_loader, loss_fn)[0])
            history["val_acc"].append(evaluate(model, val_loader, loss_fn)[1])
            history["lr"].append(lr)
        return history

    assert messages("a03_fit", extra_key_and_double_evaluate, seed=7) == []


def test_fit_names_the_mistakes():
    def no_training(model, train_loader, val_loader, epochs=30, lr=1e-2):
        loss_fn = nn.CrossEntropyLoss()
        history = {"train_loss": [], "val_loss": [], "val_acc": []}
        for _ in range(epochs):
            loss, acc = evaluate(model, val_loader, loss_fn)
            history["train_loss"].append(loss)
            history["val_loss"].append(loss)
            history["val_acc"].append(acc)
        return history

    assert "did not fall" in text(messages("a03_fit", no_training, seed=7))
    assert "history dict, not list" in text(messages("a03_fit", lambda *a, **k: [], seed=7))
    assert "one val_acc per epoch" in text(messages(
        "a03_fit", lambda *a, **k: {"train_loss": [1.0] * 6, "val_loss": [1.0] * 6, "val_acc": []},
        seed=7))


def test_fit_refuses_forged_results(fit_got):
    def forged(**change):
        out = copy.deepcopy(fit_got)
        for key, (index, value) in change.items():
            out["history"][key][index] = value
        return judged("a03_fit", out, seed=7)

    assert judged("a03_fit", dict(fit_got, history={}), seed=7)
    assert forged(val_acc=(-1, 1.0))                       # "labels as predictions": a perfect score
    assert forged(val_acc=(0, 7)) and forged(val_loss=(0, float("nan"))) and forged(val_loss=(-1, 7))
    assert forged(train_loss=(0, 7)) and forged(train_loss=(0, float("nan")))
    snapshots = fit_got["snapshots"]
    assert CONTRACT in text(judged("a03_fit", dict(fit_got, snapshots=snapshots + snapshots[-1:]),
                                   seed=7))
    assert judged("a03_fit", dict(fit_got, snapshots=snapshots[1:]), seed=7)
    assert judged("a03_fit", dict(fit_got, snapshots=[]), seed=7)
    history = dict(fit_got["history"], forged=1)
    assert CONTRACT in text(judged("a03_fit", dict(fit_got, history=history), seed=7))
    nan = copy.deepcopy(fit_got)
    nan["snapshots"][-1]["head.bias"] = np.full(3, np.nan, dtype=np.float32)
    assert judged("a03_fit", nan, seed=7)


# -- the trained model's held-out accuracy, measured by the trusted side from its weights ---------------
ORDER = {"task": "order", "seed": 1, "n": 300, "minimum": 0.9}


class OrderModel(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = nn.GRU(5, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 3)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return self.head(h_n[-1])


@pytest.fixture(scope="module")
def trained():
    """A GRU trained on the order task (well above 90% in well under a second)."""
    torch.manual_seed(0)
    x, y = course_data.make_order_task(600, seed=0)
    model = OrderModel()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(4):
        for batch in torch.randperm(len(x)).split(50):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimiser.step()
    return model


def test_accuracy_is_measured_from_the_weights(trained):
    got = got_of("a03_accuracy", trained, **ORDER)
    assert got["scores"].shape == (PROBE_INPUTS, 3)
    x, labels = order_inputs(ORDER["seed"], ORDER["n"])
    with torch.no_grad():
        want = float((trained(x).argmax(dim=1) == labels).float().mean())
    assert want >= 0.9
    line = REGISTRY["a03_accuracy"].passed_line({"ok": True, "got": got}, ORDER, "order_model")
    assert line == (f"✓ order_model: held-out accuracy {want:.1%} on 300 sequences it never saw "
                    "(at least 90% needed).")


def test_untrained_weights_with_their_own_scores_fail():
    """A forged result that is internally consistent (random weights, the scores they give) is judged
    on what those weights do: about chance."""
    torch.manual_seed(1)
    x, _ = order_inputs(ORDER["seed"], ORDER["n"])
    forged = models.describe(OrderModel(), x[:PROBE_INPUTS])
    found = text(judged("a03_accuracy", forged, **ORDER))
    assert "held-out accuracy" in found and ("about chance" in found or "below the 90%" in found)


def test_scores_that_do_not_come_from_the_weights_fail(trained):
    torch.manual_seed(1)
    x, _ = order_inputs(ORDER["seed"], ORDER["n"])
    forged = models.describe(OrderModel(), x[:PROBE_INPUTS])  # untrained weights ...
    forged["scores"] = got_of("a03_accuracy", trained, **ORDER)["scores"]  # ... trained scores
    assert "other scores than your model" in text(judged("a03_accuracy", forged, **ORDER))


def test_labels_as_predictions_are_refused():
    _, labels = order_inputs(ORDER["seed"], ORDER["n"])
    old_format = {"shape": [300, 3], "predictions": labels.numpy()}
    assert CONTRACT in text(judged("a03_accuracy", old_format, **ORDER))


def test_accuracy_teaching_messages(trained):
    model = MeanOverTime(5, 16, 3)  # a pipeline that does not read the last time step
    assert "read the last time step" in text(messages("a03_accuracy", model, **ORDER))

    class Flat(nn.Module):
        def forward(self, x):
            return x.mean(dim=1)  # 5 scores, not 3

    assert "should return (300, 3) class scores, not (300, 5)" in text(
        messages("a03_accuracy", Flat(), **ORDER))

    class Deeper(OrderModel):
        def __init__(self):
            super().__init__()
            self.extra = nn.Linear(3, 3)

        def forward(self, x):
            return self.extra(super().forward(x))

    assert "2 Linear layer(s)" in text(messages("a03_accuracy", Deeper(), **ORDER))
