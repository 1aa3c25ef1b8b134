"""Fast tests of assignment 04: course/assignments/a04_overfitting/ (experiments.py and checks.py).

Each check must accept a right answer and reject the classic mistakes with a message naming them.
"""
import copy

import pytest
import torch
from torch import nn

from course import checks
from course.assignments.a04_overfitting import experiments
from course.assignments.a04_overfitting import reference as a04_reference
from fixtures import a04_overfitting as a04_fixtures
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
    fails(checks.a04_early_stopping, late, "One epoch too late", seed=1)
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


# --- the course's own answers (reference.py): right, and out of bounds for graded answers ----------

def test_the_course_references_pass_every_check(capsys):
    from course.assignments.a04_overfitting import reference
    for seed in (1, 5):
        checks.a04_evaluate(reference.evaluate, seed=seed)
        checks.a04_fit(reference.fit, seed=seed)
        for name in ("a04_early_stopping", "a04_early_stopping_min_delta", "a04_early_stopping_restore"):
            checks.REGISTRY[name](reference.EarlyStopping, seed=seed)
        checks.a04_regularized_rnn(reference.RegularizedRNN, seed=seed)
        checks.a04_diagnose(reference.diagnose, seed=seed)
        checks.a04_swap_layer(reference.swap_recurrent_layer, seed=seed)
    out = capsys.readouterr()
    assert out.err == "" and out.out.count("✓") == 16


SETUP = ("from course.assignments.a04_overfitting import experiments\n"
         "from course.assignments.a04_overfitting import reference\n")


def scan(check_name, cells, answer):
    from course.checks.rules import Program
    program = Program([(SETUP, False)] + [(cell, True) for cell in cells])
    return checks.REGISTRY[check_name].scan(program, answer)


def test_an_answer_that_reaches_the_reference_gets_no_credit():
    direct = "def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):\n" \
             "    return reference.fit(model, data, epochs, lr, stopper, seed, progress)\n"
    assert "the course's stand-in" in scan("a04_fit", [direct], "fit")[0]
    # through a demonstration's stand-in: train is reference.fit while the student's fit does not pass
    demo = 'train = practice.working("a04_fit", fit, reference.fit, label="fit", seed=1)\n'
    helper = "def evaluate(model, inputs, labels):\n    return train.__name__, 0.0\n"
    assert scan("a04_evaluate", [demo, helper], "evaluate")
    subclass = "class RegularizedRNN(reference.RegularizedRNN):\n    pass\n"
    assert scan("a04_regularized_rnn", [subclass], "RegularizedRNN")
    own_import = "from course.assignments.a04_overfitting.reference import diagnose as d\n" \
                 "def diagnose(history):\n    return d(history)\n"
    assert scan("a04_diagnose", [own_import], "diagnose")


def test_honest_answers_are_not_flagged_by_the_reference_rule():
    # experiments (imported on its own line), .forward and dynamic names are fine in 04
    fit = "def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):\n" \
          "    for _ in experiments.progress(range(epochs), enabled=progress):\n" \
          "        model.forward(data['x_train'])\n    return {}\n"
    assert scan("a04_fit", [fit], "fit") == []
    swap = "def swap_recurrent_layer(model, kind):\n    reference = getattr(nn, kind)\n" \
           "    model.rnn = reference(3, 4)\n    return model\n"
    assert scan("a04_swap_layer", [swap], "swap_recurrent_layer") == []


def test_the_source_notebook_keeps_the_reference_out_of_every_answer():
    """Its set-up imports `reference` on a line of its own (an answer using `experiments` must not
    reach it), and no demonstration rebinds an answer's name."""
    import nbformat
    from pathlib import Path
    from course.checks.rules import Program
    path = Path(__file__).resolve().parent.parent / "source" / "04_overfitting" / "overfitting.ipynb"
    program = Program.from_notebook(nbformat.read(path, as_version=4))
    answers = {"a04_evaluate": "evaluate", "a04_fit": "fit", "a04_early_stopping": "EarlyStopping",
               "a04_regularized_rnn": "RegularizedRNN", "a04_diagnose": "diagnose",
               "a04_swap_layer": "swap_recurrent_layer", "a04_final_model": "final_model"}
    for name, answer in answers.items():
        assert checks.REGISTRY[name].scan(program, answer) == [], name


# --- multiple choice and the final model: unanswered, or not a model --------------------------------

def test_an_unanswered_choice_says_so():
    fails(checks.choice, None, "not answered yet", label="q_a2")


def test_final_model_placeholder_and_wrong_types_say_what_is_wrong():
    fails(checks.a04_final_model, None, "not answered yet", **final_kw())
    fails(checks.a04_final_model, {"train": 0.8}, "should be your trained model", **final_kw())


def test_final_model_that_has_not_learned_yet_is_told_to_train_longer():
    torch.manual_seed(0)
    model = RegularizedRNN(12, 8, 9)               # untrained: low training accuracy too
    check = checks.REGISTRY["a04_final_model"]
    messages = check.verdict(described(model), final_kw())
    assert "underfitting" in messages[0] and "Train longer" in messages[0]
    assert "regularise more" not in messages[0]


def test_final_model_lines_write_shares_as_the_notebook_does():
    check = checks.REGISTRY["a04_final_model"]
    torch.manual_seed(0)
    outcome = described(RegularizedRNN(12, 8, 9))
    line = check.passed_line(outcome, final_kw(min_val=0.0, max_train=1.01, heldout_min=0.0))
    assert "(≥ 0 %)" in line and "%)" in line and "%(" not in line
    import re
    assert not re.search(r"\d%", line), line       # "93.5 %", never "93.5%"


# --- diagnose: one clear sentence per mistake -------------------------------------------------------

def test_diagnose_messages_say_the_verdict_and_the_rule():
    for seed in SEEDS:
        wrong = {"overfitting": "good fit", "underfitting": "overfitting", "good fit": "overfitting"}
        cases = diagnose_cases(seed)
        answers = {kind: wrong[verdict] for kind, _, verdict in cases}

        def always_wrong(history, answers=answers, cases=cases):
            kind = next(k for k, h, _ in cases if h["val_loss"] == history["val_loss"])
            return answers[kind]

        with pytest.raises(CheckFailed) as info:
            checks.a04_diagnose(always_wrong, seed=seed)
        text = str(info.value)
        assert "the rules give" in text and text.count(", but") == 0, text


# --- experiments: the replayed runs are the runs ------------------------------------------------------

def tiny_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"x_train": torch.randn(40, 6, 5, generator=g), "y_train": torch.randint(0, 3, (40,), generator=g),
            "x_val": torch.randn(30, 6, 5, generator=g), "y_val": torch.randint(0, 3, (30,), generator=g)}


@pytest.mark.parametrize("patience, epochs", [(2, 40), (3, 12), (None, 25)])
def test_replay_equals_a_run_with_its_own_stopper(patience, epochs):
    """Early stopping never changes the path: a run without a stopper, replayed, is the stopped run."""
    from course.assignments.a04_overfitting.experiments import replay
    data, fit = tiny_data(), make_fit()
    torch.manual_seed(0)
    real = fit(RegularizedRNN(5, 12, 3, dropout=0.3), data, epochs=epochs, lr=0.03,
               stopper=EarlyStopping(patience) if patience else None, seed=0)
    torch.manual_seed(0)
    long = fit(RegularizedRNN(5, 12, 3, dropout=0.3), data, epochs=40, lr=0.03, seed=0)
    assert replay(long, EarlyStopping, patience, epochs) == real
    if patience == 2:
        assert len(real["val_loss"]) < epochs           # the stopper did fire in this case


def test_run_settings_trains_each_path_once():
    from course.assignments.a04_overfitting.experiments import run_settings
    data, real_fit, calls = tiny_data(), make_fit(), []

    def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):
        calls.append((lr, epochs, stopper is not None))
        return real_fit(model, data, epochs, lr, stopper, seed)

    base = dict(hidden_size=8, num_layers=2, dropout=0.2, lr=0.03, patience=2, epochs=30, seed=0)
    settings = {"stopped": base, "not stopped": dict(base, patience=None),
                "short": dict(base, epochs=10), "alone": dict(base, lr=0.01)}
    runs = run_settings(settings, lambda h, layers, p: RegularizedRNN(5, h, 3, num_layers=layers, dropout=p),
                        fit, EarlyStopping, data, show_progress=False)
    assert sorted(calls) == [(0.01, 30, True), (0.03, 30, False)]
    assert list(runs) == list(settings)
    assert len(runs["not stopped"]["val_loss"]) == 30 and runs["not stopped"]["best_epoch"] == 30
    assert len(runs["short"]["val_loss"]) <= 10
    torch.manual_seed(0)
    alone = real_fit(RegularizedRNN(5, 8, 3, dropout=0.2), data, 30, 0.01, EarlyStopping(2), seed=0)
    assert runs["alone"] == alone


def test_tables_write_shares_and_epochs():
    history = {"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "train_acc": [0.5, 0.8125],
               "val_acc": [0.4, 0.75], "best_epoch": 2}
    table = experiments.results_table({"run": history, "reported": experiments.SEED_003_REPORTED["before"]})
    assert "81.2 %" in table and "98.0 %" in table and table.splitlines()[1].split()[-2:] == ["2", "2"]
    lines = experiments.milestones(dict(history, train_acc=[0.5, 1.0])).splitlines()
    assert "epoch 2" in lines[0] and "reaches 80 %" in lines[1] and lines[2].endswith("at epoch 2")


# --- mistakes a student tester typed in, each named by its message ----------------------------------

def _stopper_variant(*pairs):
    """The course's EarlyStopping with (old, new) edits: a student's version of it."""
    namespace = {"copy": copy, "torch": torch, "nn": nn}
    exec(a04_fixtures._edited(a04_reference.EarlyStopping, *pairs), namespace)
    return namespace["EarlyStopping"]


def test_a_tie_is_no_improvement_and_costs_only_the_patience_cell():
    tie = _stopper_variant(("val_loss < self.best", "val_loss <= self.best"))  # a tie resets the counter
    for seed in SEEDS:
        fails(checks.a04_early_stopping, tie, "use <, not <=", seed=seed)
        checks.a04_early_stopping_restore(tie, seed=seed)
        checks.a04_early_stopping_min_delta(tie, seed=seed)


def test_comparing_with_the_previous_epoch_is_caught_on_every_seed():
    previous = _stopper_variant(("if val_loss < self.best - self.min_delta:",
                                 'improved = val_loss < getattr(self, "previous", float("inf"))\n'
                                 "        self.previous = val_loss\n        if improved:"))
    for seed in SEEDS:
        fails(checks.a04_early_stopping, previous, "compare with the best loss so far", seed=seed)


def test_stopping_cases_have_one_tie_curve_and_one_dip():
    for seed in SEEDS:
        cases = stopping_cases(seed, "patience")
        assert [c["tie"] for c in cases] == [False, True, False]
        assert not any(c["tie"] for c in stopping_cases(seed, "restore"))
        dip = cases[2]["values"]
        best = reference_stopping(dip, cases[2]["patience"])[-1][2]
        assert dip[best - 1] < dip[best + 1] < dip[best]     # lower than the epoch before, above the best


def test_evaluate_returning_accuracy_first_is_named():
    def swapped(model, x, y):
        loss, acc = evaluate(model, x, y)
        return acc, loss
    fails(checks.a04_evaluate, swapped, "the order is (loss, accuracy)", seed=1)


def test_diagnose_that_raises_gets_the_index_hint():
    def one_based(history, low=0.70, gap=0.10, rise=0.10):
        k = history.get("best_epoch", len(history["val_loss"]))
        return "overfitting" if history["train_acc"][k] > 2 else "good fit"   # index k: one too far
    fails(checks.a04_diagnose, one_based, "epoch k is history[...][k - 1]", seed=1)


def test_regularized_rnn_that_never_applies_its_dropout_is_named(capsys):
    class NoHeadDropout(RegularizedRNN):
        def forward(self, x):
            output, _ = self.rnn(x)
            return self.head(output[:, -1])
    fails(checks.a04_regularized_rnn, NoHeadDropout, "forward never applies self.dropout", seed=1)
    assert capsys.readouterr().err == ""
