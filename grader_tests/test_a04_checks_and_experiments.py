"""Fast tests of assignment 04: course/assignments/a04_overfitting/ (experiments.py and checks.py).

Each check must accept a right answer and reject the classic mistakes with a message naming them.
"""
import copy

import pytest
import torch
from torch import nn

from course import checks
from course.assignments.a04_overfitting import experiments
from course.checks import CheckFailed
from course.assignments.a04_overfitting.checks import diagnose_cases, reference_stopping, stopping_cases


# --- data -----------------------------------------------------------------------------------------

def test_task_shapes_noise_and_no_heldout_labels():
    data = experiments.load_task()
    assert data["x_train"].shape == (270, 29, 12)
    assert data["x_val"].shape[1:] == data["x_heldout"].shape[1:] == (29, 12)
    assert len(data["x_val"]) + len(data["x_heldout"]) == 370
    assert int(data["flipped"].sum()) == 54
    assert torch.equal(data["y_train"] != data["y_train_clean"], data["flipped"])
    assert not any("heldout" in k and k.startswith("y") for k in data)


def test_task_is_deterministic_and_left_padded():
    a, b = experiments.load_task(), experiments.load_task()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # left padding: every utterance ends at the last step, short ones start with zeros
    assert (a["x_train"][:, -1].abs().sum(1) > 0).all()
    assert (a["x_train"][:, 0].abs().sum(1) == 0).any()


def test_heldout_split_matches_task():
    x_val, y_val, x_heldout, y_heldout = experiments.split_test()
    data = experiments.load_task()
    assert torch.equal(x_val, data["x_val"]) and torch.equal(x_heldout, data["x_heldout"])
    assert len(y_heldout) == len(x_heldout)


def test_progress_never_writes_to_stderr(capsys):
    list(experiments.progress(range(3), desc="x"))
    assert capsys.readouterr().err == ""


# --- reference answers (what the solution notebook does) --------------------------------------------

def evaluate(model, inputs, labels):
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
        return nn.functional.cross_entropy(logits, labels).item(), \
            (logits.argmax(1) == labels).float().mean().item()


class EarlyStopping:
    def __init__(self, patience, min_delta=0.0, strict=True, copy_state=True):
        self.patience, self.min_delta, self.strict, self.copy_state = patience, min_delta, strict, copy_state
        self.best, self.best_epoch, self.counter, self.epoch, self.best_state = float("inf"), 0, 0, 0, None

    def step(self, val_loss, model):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.counter = val_loss, self.epoch, 0
            state = model.state_dict()
            self.best_state = copy.deepcopy(state) if self.copy_state else state
        else:
            self.counter += 1
        return self.counter >= self.patience if self.strict else self.counter > self.patience

    def restore(self, model):
        model.load_state_dict(self.best_state)


def make_fit(watch="val", restore=True, ev=evaluate):
    def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):
        torch.manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
        for _ in range(epochs):
            model.train()
            opt.zero_grad()
            nn.functional.cross_entropy(model(data["x_train"]), data["y_train"]).backward()
            opt.step()
            tl, ta = ev(model, data["x_train"], data["y_train"])
            vl, va = ev(model, data["x_val"], data["y_val"])
            for k, v in zip(("train_loss", "val_loss", "train_acc", "val_acc"), (tl, vl, ta, va)):
                history[k].append(v)
            if stopper is not None and stopper.step(vl if watch == "val" else tl, model):
                break
        if stopper is not None and restore:
            stopper.restore(model)
        history["best_epoch"] = stopper.best_epoch if stopper is not None else len(history["val_loss"])
        return history
    return fit


class RegularizedRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=2, dropout=0.3, force_layers=None,
                 read="last"):
        super().__init__()
        self.read = read
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=force_layers or num_layers, dropout=dropout,
                          batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(self.dropout(output[:, -1] if self.read == "last" else output[:, 0]))


def diagnose(history, low=0.70, gap=0.10, rise=0.10, use_best=True):
    k = history.get("best_epoch", len(history["val_loss"])) if use_best else len(history["val_loss"])
    if history["train_acc"][k - 1] < low:
        return "underfitting"
    if (history["train_acc"][k - 1] - history["val_acc"][k - 1] > gap
            or history["val_loss"][k - 1] > (1 + rise) * min(history["val_loss"][:k])):
        return "overfitting"
    return "good fit"


def swap(model, kind, keep_dropout=True):
    old = model.rnn
    model.rnn = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[kind](
        old.input_size, old.hidden_size, num_layers=old.num_layers,
        dropout=old.dropout if keep_dropout else 0.0, batch_first=True)
    return model


def fails(check, answer, phrase, **kw):
    with pytest.raises(CheckFailed) as info:
        check(answer, **kw)
    assert phrase in str(info.value), str(info.value)


SEEDS = [1, 7, 12345]


# --- the checks accept right answers ----------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_checks_pass_the_reference(seed, capsys):
    checks.a04_evaluate(evaluate, seed=seed)
    checks.a04_fit(make_fit(), seed=seed)
    checks.a04_early_stopping(EarlyStopping, seed=seed)
    checks.a04_early_stopping_min_delta(EarlyStopping, seed=seed)
    checks.a04_early_stopping_restore(EarlyStopping, seed=seed)
    checks.a04_regularized_rnn(RegularizedRNN, seed=seed)
    checks.a04_diagnose(diagnose, seed=seed)
    checks.a04_swap_layer(swap, seed=seed)
    out = capsys.readouterr()
    assert out.err == "" and out.out.count("✓") == 8


def test_stopping_cases_stop_and_have_ties():
    for seed in SEEDS:
        for kind in ("patience", "min_delta"):
            for case in stopping_cases(seed, kind):
                trace = reference_stopping(case["values"], case["patience"], case["min_delta"])
                assert any(stop for stop, _, _ in trace)


def test_diagnose_cases_cover_all_verdicts():
    verdicts = {v for _, _, v in diagnose_cases(3)}
    assert verdicts == {"overfitting", "underfitting", "good fit"}


# --- and reject the mistakes, naming them ---------------------------------------------------------

def test_evaluate_mistakes():
    def no_eval(model, x, y):
        with torch.no_grad():
            logits = model(x)
        return nn.functional.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    def tensors(model, x, y):
        model.eval()
        logits = model(x)
        return nn.functional.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

    def percent(model, x, y):
        loss, acc = evaluate(model, x, y)
        return loss, 100 * acc

    fails(checks.a04_evaluate, no_eval, "model.eval()", seed=1)
    fails(checks.a04_evaluate, tensors, "plain Python numbers", seed=1)
    fails(checks.a04_evaluate, percent, "not a percentage", seed=1)


def test_fit_mistakes():
    fails(checks.a04_fit, make_fit(watch="train"), "*training* loss", seed=1)
    fails(checks.a04_fit, make_fit(restore=False), "stopper.restore(model)", seed=1)


def test_early_stopping_mistakes():
    late = lambda p, min_delta=0.0: EarlyStopping(p, min_delta, strict=False)
    fails(checks.a04_early_stopping, late, "one epoch too late", seed=1)
    nocopy = lambda p, min_delta=0.0: EarlyStopping(p, min_delta, copy_state=False)
    fails(checks.a04_early_stopping_restore, nocopy, "live tensors", seed=1)
    checks.a04_early_stopping(nocopy, seed=1)        # each mistake costs only its own cell
    checks.a04_early_stopping_restore(late, seed=1)
    no_delta = lambda p, min_delta=0.0: EarlyStopping(p, 0.0)
    fails(checks.a04_early_stopping_min_delta, no_delta, "min_delta", seed=1)


def test_regularized_rnn_mistakes(capsys):
    one_layer = lambda *a, **k: RegularizedRNN(*a, force_layers=1, **k)
    fails(checks.a04_regularized_rnn, one_layer, "dropout after all but last recurrent layer", seed=1)
    first = lambda *a, **k: RegularizedRNN(*a, read="first", **k)
    fails(checks.a04_regularized_rnn, first, "output[:, 0]", seed=1)
    assert capsys.readouterr().err == ""


def test_diagnose_mistakes():
    fails(checks.a04_diagnose, lambda h: diagnose(h, use_best=False), "early-stopped", seed=1)
    fails(checks.a04_diagnose, lambda h: diagnose(h, rise=10.0), "Look at the losses", seed=1)


def test_swap_mistakes():
    fails(checks.a04_swap_layer, lambda m, k: swap(m, k, keep_dropout=False), "dropout", seed=1)
    fails(checks.a04_swap_layer, lambda m, k: swap(m, k).rnn, "should return the model", seed=1)


def test_final_model_check_on_an_untrained_model():
    torch.manual_seed(0)
    model = RegularizedRNN(12, 8, 9)
    fails(checks.a04_final_model, model, "validation accuracy", label_noise=0.2, noise_seed=0)


# --- the final model is judged from its parameters, never from predictions the kernel sends -------

def final_kw(**extra):
    return dict(label_noise=0.2, noise_seed=0, **extra)


def described(model):
    """What the final-model probe sends back for ``model``, as the grader receives it."""
    from course.checks import core
    check = checks.REGISTRY["a04_final_model"]
    return core.decode(*core.encode(core.run_probe(check, model, final_kw())))


def test_final_model_labels_as_predictions_cannot_pass():
    from course.checks.models import describe
    check = checks.REGISTRY["a04_final_model"]
    data = experiments.load_task()
    y_heldout = experiments.split_test()[3]
    # the old format: "predictions" that are simply the labels, read from the data splits
    labels = {"train": data["y_train"].tolist(), "val": data["y_val"].tolist(), "heldout": y_heldout.tolist()}
    messages = check.verdict({"ok": True, "got": labels}, final_kw(heldout_min=0.8))
    assert messages and "could not accept" in messages[0]
    # random, untrained parameters with their own (consistent) scores: the parent measures accuracy
    torch.manual_seed(0)
    model = RegularizedRNN(12, 8, 9)
    outcome = described(model)
    messages = check.verdict(outcome, final_kw(heldout_min=0.8))
    assert messages and "validation accuracy" in messages[0] and "held-out" in messages[0]
    # scores that "predict" the true labels, but are not what these parameters compute
    x = data["x_val"][:16]
    forged = dict(outcome["got"], scores=10.0 * nn.functional.one_hot(data["y_val"][:16], 9).double().numpy())
    messages = check.verdict({"ok": True, "got": forged}, final_kw())
    assert messages and "other scores than your model" in messages[0]
    # another model's parameters next to this model's scores
    torch.manual_seed(1)
    other = describe(RegularizedRNN(12, 8, 9), x)
    forged = dict(outcome["got"], params=other["params"])
    messages = check.verdict({"ok": True, "got": forged}, final_kw())
    assert messages and "other scores than your model" in messages[0]


def test_final_model_targets_come_from_the_arguments():
    check = checks.REGISTRY["a04_final_model"]
    torch.manual_seed(0)
    outcome = described(RegularizedRNN(12, 8, 9))
    kw = final_kw(min_val=0.0, max_train=0.99)
    assert check.verdict(outcome, kw) == []
    line = check.passed_line(outcome, kw)
    assert "(< 99 %)" in line and "(≥ 0 %)" in line and "92" not in line


def test_final_model_must_be_the_course_pipeline():
    check = checks.REGISTRY["a04_final_model"]
    torch.manual_seed(0)
    first_step = RegularizedRNN(12, 8, 9, read="first")
    messages = check.verdict(described(first_step), final_kw(min_val=0.0, max_train=1.01))
    assert messages and "last time step" in messages[0]

    class TwoHeads(RegularizedRNN):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.extra = nn.Linear(9, 9)

        def forward(self, x):
            return self.extra(super().forward(x))

    messages = check.verdict(described(TwoHeads(12, 8, 9)), final_kw(min_val=0.0, max_train=1.01))
    assert messages and "2 Linear layer(s)" in messages[0]


def test_student_values_nan_is_never_close(capsys):
    nan = float("nan")
    fails(checks.a04_evaluate, lambda m, x, y: (nan, nan), "cross-entropy", seed=1)

    class NanBest(EarlyStopping):
        def step(self, val_loss, model):
            stop = super().step(val_loss, model)
            self.best = nan
            return stop

    fails(checks.a04_early_stopping_min_delta, NanBest, "best should be", seed=1)
    fails(checks.a04_diagnose, lambda h: ["overfitting"], "return one of", seed=1)
    assert capsys.readouterr().err == ""


def test_result_specs_fit_the_probes_and_count_the_cases():
    """Each check states the exact shape its probe returns: the reference passes it, one case less
    or more does not."""
    from course.checks import core
    answers = {"a04_evaluate": evaluate, "a04_fit": make_fit(), "a04_early_stopping": EarlyStopping,
               "a04_early_stopping_min_delta": EarlyStopping, "a04_early_stopping_restore": EarlyStopping,
               "a04_regularized_rnn": RegularizedRNN, "a04_diagnose": diagnose, "a04_swap_layer": swap}
    for name, answer in answers.items():
        check = checks.REGISTRY[name]
        got = core.decode(*core.encode(core.run_probe(check, answer, {"seed": 3})))["got"]
        spec = check.result(seed=3)
        assert spec.validate(got) is None, name
        key, cases = next((k, v) for k, v in got.items() if isinstance(v, list))
        if name != "a04_fit":
            assert spec.validate(dict(got, **{key: cases[:-1]})) is not None, name
            assert spec.validate(dict(got, **{key: cases + cases[-1:]})) is not None, name
        assert spec.validate(dict(got, forged=1)) is not None, name
