"""Checks for assignment 04, "Overfitting and its cures".

Every probe result is validated against the check's ``result(**kw)`` contract before its judge runs,
so judges walk their cases with ``zip(..., strict=True)``. Values that are the student's own answer
(``Value()``) are judged on their merits: NaN is never close to anything, an empty list is never fine.
The final model is judged from its parameters (models.py): accuracies are measured by the trusted side.
"""
from __future__ import annotations

import math
import random
import warnings

import numpy as np
import torch
from torch import nn

from ...checks import models
from ...checks.contract import (Array, Bool, Cases, Float, Int, ListOf, OneOf, PerCase, Record, Returned,
                                Str, Value)
from ...checks.core import Check, CheckFailed, capture, to_plain, type_name
from ...checks.common import CONFIG_KEYS
from ...checks.support import ProbeNet, capture_as, close, is_tensor, number, param_arrays, same

LAYER_KINDS = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}


# A module's settings as plain data: what the judges of this assignment compare.
CONFIG = Record(type=Str(200), optional={key: Value() for key in
                                         CONFIG_KEYS + ("in_features", "out_features", "p")})


def module_config(module) -> dict:
    """Kernel side: a layer's type and settings (nn.RNN/GRU/LSTM: its constructor arguments; nn.Linear:
    its sizes and whether it has a bias; dropout: p). Anything else: its type name only."""
    if not isinstance(module, nn.Module):
        return {"type": type_name(to_plain(module))}
    conf = {"type": type(module).__name__}
    if isinstance(module, nn.RNNBase):
        for key in CONFIG_KEYS:
            if hasattr(module, key):
                conf[key] = to_plain(getattr(module, key))
    elif isinstance(module, nn.Linear):
        conf.update(in_features=int(module.in_features), out_features=int(module.out_features),
                    bias=module.bias is not None)
    elif isinstance(module, nn.modules.dropout._DropoutNd):
        conf["p"] = to_plain(module.p)
    return conf


def _logits(value):
    """Kernel side: a returned tensor as a float array, else the name of what came back instead."""
    if isinstance(value, torch.Tensor) and not value.is_complex():
        return np.array(value.detach().cpu().to(torch.float64).numpy(), copy=True)
    return {"returned": type_name(to_plain(value))}


LOGITS = OneOf(Array("f"), Record(returned=Str(200)))


def _silently(fn, *args, **kw):
    """Call student code with Python warnings recorded, not printed (test cells must keep stderr
    empty). Returns (result, [warning messages])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kw)
    return result, [str(w.message) for w in caught]


# -- evaluate(model, inputs, labels) -> (loss, accuracy) --------------------------------------------

def evaluate_case(seed):
    rng = random.Random(seed)
    n, seq, feat, hidden, classes = 40 + rng.randrange(20), rng.choice([6, 8]), 5, rng.choice([9, 11]), 3
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, seq, feat, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    torch.manual_seed(seed)  # strong dropout: evaluating in training mode is visibly random
    return ProbeNet(feat, hidden, classes, dropout=0.5), x, y


class Evaluate(Check):
    """``evaluate(model, inputs, labels) -> (loss, accuracy)`` in evaluation mode, as floats."""

    name = "a04_evaluate"

    def probe(self, fn, seed=0, **kw):
        model, x, y = evaluate_case(seed)
        results = []
        for _ in range(3):
            model.train()  # as after a training step
            results.append(to_plain(_silently(fn, model, x, y)[0]))
        return {"results": results, "grad_left": any(p.grad is not None for p in model.parameters())}

    def result(self, **kw):
        return Record(results=Cases(Value(), 3), grad_left=Bool())

    def judge(self, got, seed=0, **kw):
        model, x, y = evaluate_case(seed)
        model.eval()
        with torch.no_grad():
            logits = model(x)
        want_loss = nn.functional.cross_entropy(logits, y).item()
        want_acc = (logits.argmax(1) == y).float().mean().item()
        first = got["results"][0]
        if not isinstance(first, list) or len(first) != 2:
            return [f"return a pair (loss, accuracy); got {type_name(first)} {first!r}."]
        if any(map(is_tensor, first)):
            return ["return plain Python numbers: loss.item() and a float accuracy, not tensors "
                    "(a tensor keeps the whole computation graph alive)."]
        values = [[number(v) for v in r] if isinstance(r, list) else [None, None] for r in got["results"]]
        if any(v is None for r in values for v in r):
            return [f"loss and accuracy should be numbers; got {first!r}."]
        if any(len(r) != 2 or not all(v == w or (math.isnan(v) and math.isnan(w))
                                      for v, w in zip(r, values[0])) for r in values):
            return ["three calls on the same model and data gave different results: dropout was still "
                    "active. Call model.eval() before computing validation results (and model.train() "
                    "again before the next training step)."]
        loss, acc = values[0]
        if close(loss, want_acc, rtol=0, atol=1e-6) and close(acc, want_loss, rtol=0, atol=1e-4):
            return [f"you return (accuracy, loss) = ({loss:.4f}, {acc:.4f}); the order is (loss, accuracy)."]
        if not close(loss, want_loss, rtol=0, atol=1e-4):
            return [f"the loss should be the mean cross-entropy of the model's logits in evaluation "
                    f"mode ({want_loss:.4f}); yours is {loss:.4f}. Use nn.CrossEntropyLoss() on the raw "
                    "logits (no softmax first), after model.eval()."]
        if abs(acc - 100 * want_acc) < 1e-4 and want_acc > 0:
            return ["give the accuracy as a share between 0 and 1, not a percentage."]
        if not close(acc, want_acc, rtol=0, atol=1e-6):
            return [f"the accuracy is the share of sequences whose largest logit is the true class "
                    f"((logits.argmax(1) == labels).float().mean()): {want_acc:.4f}, not {acc:.4f}."]
        if got["grad_left"]:
            return ["evaluation should not compute gradients: wrap it in torch.no_grad() and do not "
                    "call backward()."]
        return []

    def passed(self, got, **kw):
        return "loss and accuracy of the model in evaluation mode, as plain numbers."


# -- EarlyStopping(patience, min_delta=0.0) --------------------------------------------------------

def reference_stopping(values, patience, min_delta=0.0):
    """Per step: (stop?, best, best_epoch) of the early stopping the assignment asks for."""
    best, best_epoch, counter, trace = float("inf"), 0, 0, []
    for epoch, value in enumerate(values, 1):
        if value < best - min_delta:
            best, best_epoch, counter = value, epoch, 0
        else:
            counter += 1
        trace.append((counter >= patience, best, best_epoch))
    return trace


def stopping_cases(seed, kind):
    """Validation-loss curves: a fall, a pause shorter than patience (opening with a tie to the best),
    a new best, then a rise.

    kind "patience": min_delta = 0. A tie is no improvement: in the second curve a tie to the new best
    also opens the rise, so a stopper comparing with <= stops one epoch late there and only there. In
    the third curve the rise dips once (still above the best): a stopper that compares with the
    previous epoch instead of the best resets its counter there.
    kind "restore": the same curves without the tie after the new best.
    kind "min_delta": some improvements are smaller than min_delta and must not count.
    """
    rng = random.Random(seed)
    cases = []
    for index, patience in enumerate(rng.sample([2, 3, 4, 5, 6], 3)):
        min_delta = rng.choice([0.01, 0.02, 0.05]) if kind == "min_delta" else 0.0
        v = 1.5 + rng.random()
        values = []
        for _ in range(rng.randrange(2, 5)):            # falling
            v -= 0.1 + 0.1 * rng.random()
            values.append(round(v, 4))
        best = v
        for i in range(patience - 1):                     # a pause, shorter than patience
            values.append(round(best if i == 0 else best + 0.03 + 0.05 * rng.random(), 4))
        if kind == "min_delta":                           # improvements too small to count
            values.append(round(best - min_delta / 2, 4))
        v = best - min_delta - 0.05 - 0.05 * rng.random()  # a real new best
        values.append(round(v, 4))
        best = v
        tie = kind == "patience" and index == 1
        dip = kind in ("patience", "restore") and index == 2
        if tie:                                           # the rise opens with a tie to the best
            values.append(round(best, 4))
        for step in range(patience + 3 - tie):            # rising: overfitting
            if dip and step == 1:                         # lower than the epoch before, not the best
                v = best + (v - best) / 2
            else:
                v += 0.02 + 0.05 * rng.random()
            values.append(round(v, 4))
        cases.append({"patience": patience, "min_delta": min_delta, "values": values, "tie": tie})
    return cases


def _drive_stopper(cls, patience, min_delta, values, restore, fields):
    """Kernel side: feed every one of ``values`` to a new stopper (what it answers does not change the
    run, so the run is the same for every stopper), then ``restore`` if asked; keep only ``fields``."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    stopper = cls(patience, min_delta=min_delta)
    returns, bests, best_epochs = [], [], []
    for epoch, value in enumerate(values, 1):
        with torch.no_grad():  # each epoch leaves its number in the weights
            model.weight.fill_(float(epoch))
            model.bias.fill_(-float(epoch))
        answer = stopper.step(value, model)
        returns.append(to_plain(bool(answer)) if isinstance(answer, (bool, np.bool_)) else to_plain(answer))
        bests.append(to_plain(getattr(stopper, "best", None)))
        best_epochs.append(to_plain(getattr(stopper, "best_epoch", None)))
    restored = None
    if restore:
        stopper.restore(model)
        restored = [float(model.weight.detach()[0, 0]), float(model.bias.detach()[0])]
    run = {"returns": returns, "bests": bests, "best_epochs": best_epochs, "restored": restored}
    return {key: run[key] for key in fields}


class EarlyStoppingPatience(Check):
    """``EarlyStopping(patience).step(val_loss, model)`` returns True after ``patience`` epochs
    without improvement."""

    name = "a04_early_stopping"
    kind = "patience"
    fields = ("returns",)           # what this check judges, and so all its probe sends back

    def probe(self, cls, seed=0, **kw):
        return {"runs": [_drive_stopper(cls, c["patience"], c["min_delta"], c["values"],
                                        "restored" in self.fields, self.fields)
                         for c in stopping_cases(seed, self.kind)]}

    def result(self, seed=0, **kw):
        # one entry per validation loss of each case
        return Record(runs=PerCase(Record({key: Cases(Value(), len(c["values"])) for key in self.fields})
                                   for c in stopping_cases(seed, self.kind)))

    def judge(self, got, seed=0, **kw):
        pairs = list(zip(stopping_cases(seed, self.kind), got["runs"], strict=True))
        for case, run in sorted(pairs, key=lambda pair: pair[0]["tie"]):  # the tie curve last
            trace = reference_stopping(case["values"], case["patience"], case["min_delta"])
            head = f"with patience={case['patience']} and validation losses {case['values']}"
            bad = [r for r in run["returns"] if not isinstance(r, bool)]
            if bad:
                return [f"step() must return True (stop) or False (go on); it returned {bad[0]!r}."]
            want = next(e for e, (stop, _, _) in enumerate(trace, 1) if stop)
            mine = next((e for e, r in enumerate(run["returns"], 1) if r), None)
            if mine != want:
                best_epoch = trace[want - 1][2]
                if mine == want + 1 and case["tie"]:
                    return [f"{head}: the loss of epoch {best_epoch + 1} only equals the best so far "
                            f"({case['values'][best_epoch - 1]}, epoch {best_epoch}). An equal loss is no "
                            "improvement (val_loss < best - min_delta, strictly: use <, not <=), so "
                            f"step() should first return True at epoch {want}; yours did at epoch {mine}."]
                if mine == want + 1:
                    why = ("One epoch too late: count each epoch without improvement and stop as soon "
                           "as the counter reaches patience (counter >= patience).")
                elif mine == want - 1:
                    why = ("One epoch too early: patience epochs must pass *without* improvement "
                           "after the best one before stopping.")
                elif mine is None:
                    why = "It never returned True."
                else:
                    why = ("Did you reset the counter to 0 at every improvement, and compare with the "
                           "best loss so far (not the previous epoch's)?")
                return [f"{head}: the best epoch is {best_epoch}, so step() should first return True "
                        f"at epoch {want} ({case['patience']} epochs without improvement); yours "
                        f"{'never did' if mine is None else f'did at epoch {mine}'}. {why}"]
        return []

    def passed(self, got, **kw):
        return "stops exactly when patience runs out, on 3 curves."


class EarlyStoppingMinDelta(EarlyStoppingPatience):
    """``best`` and ``best_epoch`` follow only improvements larger than ``min_delta``."""

    name = "a04_early_stopping_min_delta"
    kind = "min_delta"
    fields = ("bests", "best_epochs")

    def judge(self, got, seed=0, **kw):
        for case, run in zip(stopping_cases(seed, self.kind), got["runs"], strict=True):
            trace = reference_stopping(case["values"], case["patience"], case["min_delta"])
            for epoch, ((_, best, best_epoch), mine, mine_epoch) in enumerate(
                    zip(trace, run["bests"], run["best_epochs"], strict=True), 1):
                if number(mine) is None or number(mine_epoch) is None:
                    return ["keep the best validation loss so far in self.best and its epoch (counted "
                            f"from 1) in self.best_epoch; got best={mine!r}, best_epoch={mine_epoch!r}."]
                if not (same(mine_epoch, best_epoch) and close(mine, best, rtol=0, atol=1e-9)):
                    value = case["values"][epoch - 1]
                    prev = trace[epoch - 2][1] if epoch > 1 else float("inf")
                    if mine_epoch == epoch and value >= prev - case["min_delta"]:
                        return [f"epoch {epoch}: {value} is not an improvement on {prev} with "
                                f"min_delta={case['min_delta']} — it must be lower than best − min_delta "
                                f"({prev - case['min_delta']:.4f}). A tiny gain is noise, not progress."]
                    return [f"with min_delta={case['min_delta']} and losses {case['values']}: after "
                            f"epoch {epoch} best should be {best} from epoch {best_epoch}; yours is "
                            f"{mine} from epoch {mine_epoch}."]
        return []

    def passed(self, got, **kw):
        return "best and best_epoch ignore improvements smaller than min_delta."


class EarlyStoppingRestore(EarlyStoppingPatience):
    """After training, ``restore(model)`` puts the best epoch's weights back (the stopper sees the whole
    curve, so when it says stop is not judged here: that is the patience check's job)."""

    name = "a04_early_stopping_restore"
    kind = "restore"
    fields = ("restored",)

    def result(self, seed=0, **kw):
        return Record(runs=Cases(Record(restored=ListOf(Float(), n=2)), len(stopping_cases(seed, self.kind))))

    def judge(self, got, seed=0, **kw):
        for case, run in zip(stopping_cases(seed, self.kind), got["runs"], strict=True):
            last = len(case["values"])
            best_epoch = reference_stopping(case["values"], case["patience"])[-1][2]
            restored = run["restored"]
            if restored == [best_epoch, -best_epoch]:
                continue
            if restored == [last, -last]:
                return [f"after restore() the model still has the weights of epoch {last}, the last one, "
                        f"not those of epoch {best_epoch} with the best validation loss. model.state_dict() "
                        "returns the live tensors, which keep changing as training goes on: save a copy "
                        "(copy.deepcopy(model.state_dict()), or {k: v.clone() for k, v in ...}) and load it "
                        "back with model.load_state_dict()."]
            return [f"after restore() the model should have the weights of epoch {best_epoch} (the best "
                    f"validation loss); it has those of epoch {restored[0]:g}. Save a copy of the "
                    "state_dict at each improvement, and load that copy in restore()."]
        return []

    def passed(self, got, **kw):
        return "restore() brings back the weights of the best epoch."


# -- fit(model, data, epochs, lr, stopper=None, seed=0, progress=True) -> history ------------------

def fit_case(seed):
    """Random labels: nothing to learn but a lot to memorise, so validation loss rises soon."""
    rng = random.Random(seed)
    n_train, n_val, seq, feat, hidden, classes = 48, 36, 6, 5, rng.choice([16, 24]), 3
    g = torch.Generator().manual_seed(seed)
    data = {"x_train": torch.randn(n_train, seq, feat, generator=g),
            "y_train": torch.randint(0, classes, (n_train,), generator=g),
            "x_val": torch.randn(n_val, seq, feat, generator=g),
            "y_val": torch.randint(0, classes, (n_val,), generator=g)}
    torch.manual_seed(seed)  # no dropout: a training run is fully determined by the initial weights
    return ProbeNet(feat, hidden, classes), data, rng.choice([0.01, 0.02])


class _SpyStopper:
    """Stands in for an early stopper: records what the loop gives it, says stop after n calls."""

    def __init__(self, stop_after, best_epoch):
        self.stop_after, self.best_epoch = stop_after, best_epoch
        self.values, self.got_model, self.restored_after = [], [], []
        self.best = None

    def step(self, value, model=None):
        self.values.append(float(value))
        self.got_model.append(isinstance(model, nn.Module))
        return len(self.values) >= self.stop_after

    def restore(self, model):
        self.restored_after.append(len(self.values))


def reference_fit(model, data, epochs, lr):
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "train_loss_in_step": [], "val_loss": [], "val_acc": [], "train_acc": [],
               "train_acc_in_step": []}
    for _ in range(epochs):
        model.train()
        optimiser.zero_grad()
        logits = model(data["x_train"])
        loss = loss_fn(logits, data["y_train"])
        loss.backward()
        optimiser.step()
        model.eval()
        with torch.no_grad():
            train_logits, val_logits = model(data["x_train"]), model(data["x_val"])
        history["train_loss_in_step"].append(loss.item())
        history["train_acc_in_step"].append((logits.argmax(1) == data["y_train"]).float().mean().item())
        history["train_loss"].append(loss_fn(train_logits, data["y_train"]).item())
        history["train_acc"].append((train_logits.argmax(1) == data["y_train"]).float().mean().item())
        history["val_loss"].append(loss_fn(val_logits, data["y_val"]).item())
        history["val_acc"].append((val_logits.argmax(1) == data["y_val"]).float().mean().item())
    return history


HISTORY_FIELDS = ("train_loss", "val_loss", "train_acc", "val_acc", "best_epoch")
# fit's return value, as the probe reads it: the fields the exercise names (those present), or the
# type of what came back instead of a dict
HISTORY = OneOf(Record(optional={key: Value() for key in HISTORY_FIELDS}), Record(not_a_dict=Str(200)))


def _history(history) -> dict:
    """Kernel side: the named fields of the history fit returned."""
    if not isinstance(history, dict):
        return {"not_a_dict": type_name(to_plain(history))}
    return {key: to_plain(history[key]) for key in HISTORY_FIELDS if key in history}


def _history_problem(history, n):
    if "not_a_dict" in history:
        return f"fit should return the history dict, not {history['not_a_dict']}."
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        values = history.get(key)
        if not isinstance(values, list) or any(number(v) is None for v in values):
            return (f"history['{key}'] should be a list of plain floats (use .item()); got "
                    f"{type_name(values)}.")
        if len(values) != n:
            return f"history['{key}'] has {len(values)} entries; this run should have {n} (one per epoch)."
    if number(history.get("best_epoch")) is None:
        return ("history['best_epoch'] should say which epoch's weights the model ends with (1-based): "
                "the stopper's best_epoch, or the last epoch without early stopping.")
    return None


def _epochs_problem(history, ref, lr):
    """The first epoch whose numbers differ from the reference run's, as a message (or None)."""
    for e in range(len(history["val_loss"])):
        if not close(history["val_loss"][e], ref["val_loss"][e], rtol=0, atol=1e-4):
            return (f"epoch {e + 1}: validation loss {history['val_loss'][e]:.4f}, a reference run (Adam "
                    f"with lr={lr}, one full-batch step per epoch, CrossEntropyLoss) gives "
                    f"{ref['val_loss'][e]:.4f}. Check optimiser.zero_grad() before backward(), one "
                    "optimiser.step() per epoch, and that you evaluate after the step.")
        if not any(close(history["train_loss"][e], ref[k][e], rtol=0, atol=1e-4)
                   for k in ("train_loss", "train_loss_in_step")):
            return (f"epoch {e + 1}: training loss {history['train_loss'][e]:.4f} is neither the loss of "
                    f"the training step ({ref['train_loss_in_step'][e]:.4f}) nor evaluate() on the "
                    f"training data after it ({ref['train_loss'][e]:.4f}).")
        if not close(history["val_acc"][e], ref["val_acc"][e], rtol=0, atol=1e-6):
            return (f"epoch {e + 1}: validation accuracy {history['val_acc'][e]:.4f}, expected "
                    f"{ref['val_acc'][e]:.4f}.")
        if not any(close(history["train_acc"][e], ref[k][e], rtol=0, atol=1e-6)
                   for k in ("train_acc", "train_acc_in_step")):
            return (f"epoch {e + 1}: training accuracy {history['train_acc'][e]:.4f}, expected "
                    f"{ref['train_acc'][e]:.4f} (evaluate() on the training data after the step).")
    return None


class Fit(Check):
    """The training loop: full-batch Adam, evaluation after each step, early stopping, restore."""

    name = "a04_fit"

    def probe(self, fn, seed=0, epochs=8, stop_after=5, best_epoch=2, **kw):
        model, data, lr = fit_case(seed)
        plain = _history(_silently(fn, model, data, epochs=epochs, lr=lr, stopper=None, seed=0,
                                   progress=False)[0])
        model, data, lr = fit_case(seed)
        spy = _SpyStopper(stop_after, best_epoch)
        stopped = _history(_silently(fn, model, data, epochs=epochs + 10, lr=lr, stopper=spy, seed=0,
                                     progress=False)[0])
        return {"plain": plain, "stopped": stopped,
                "spy_steps": [{"value": v, "model": m} for v, m in zip(spy.values, spy.got_model)],
                "spy_restored": spy.restored_after}

    def result(self, **kw):
        return Record(plain=HISTORY, stopped=HISTORY,
                      spy_steps=ListOf(Record(value=Float(), model=Bool())),
                      spy_restored=ListOf(Int(0)))

    def judge(self, got, seed=0, epochs=8, stop_after=5, best_epoch=2, **kw):
        model, data, lr = fit_case(seed)
        ref = reference_fit(model, data, epochs + 10, lr)
        plain, stopped = got["plain"], got["stopped"]
        problem = _history_problem(plain, epochs)
        if problem:
            return [f"without a stopper, {problem}"]
        if not same(plain["best_epoch"], epochs):
            return [f"without a stopper the model keeps its last weights: history['best_epoch'] should be "
                    f"{epochs}, not {plain['best_epoch']}."]
        problem = _epochs_problem(plain, ref, lr)
        if problem:
            return [problem]
        values = [step["value"] for step in got["spy_steps"]]
        if not values:
            return ["with a stopper, call stopper.step(val_loss, model) once per epoch; yours never did."]
        ran = stopped.get("val_loss")
        if isinstance(ran, list) and len(ran) != len(values):
            return [f"the loop ran {len(ran)} epochs but called stopper.step "
                    f"{len(values)} times: call it exactly once per epoch."]
        problem = _history_problem(stopped, len(values))
        if problem:
            return [f"with a stopper, {problem}"]
        if np.allclose(values, stopped["train_loss"], atol=1e-6) and not np.allclose(
                values, stopped["val_loss"], atol=1e-6):
            return ["you pass the *training* loss to stopper.step(). Training loss keeps falling while the "
                    "model memorises, so it never says stop; early stopping must watch the validation "
                    "loss: stopper.step(val_loss, model)."]
        if not np.allclose(values, stopped["val_loss"], atol=1e-6):
            return [f"stopper.step got {values[:3]}…, which is not the epoch's validation loss "
                    f"({stopped['val_loss'][:3]}…)."]
        if not all(step["model"] for step in got["spy_steps"]):
            return ["pass the model too, stopper.step(val_loss, model), so the stopper can keep a copy of "
                    "the best weights."]
        if len(values) > stop_after:
            return [f"stopper.step returned True at epoch {stop_after} but the loop went on to epoch "
                    f"{len(values)}: break out of the loop as soon as it returns True."]
        if len(values) < stop_after:
            return [f"the loop stopped at epoch {len(values)} although stopper.step had not returned True."]
        problem = _epochs_problem(stopped, ref, lr)
        if problem:
            return [f"with a stopper, {problem}"]
        if got["spy_restored"] != [stop_after]:
            return ["after the loop, call stopper.restore(model) once, so the model ends with the best "
                    "weights rather than those of the last epoch"
                    + (f" (restore was called {len(got['spy_restored'])} times)." if got["spy_restored"]
                       else ".")]
        if not same(stopped["best_epoch"], best_epoch):
            return [f"with early stopping history['best_epoch'] should be stopper.best_epoch "
                    f"({best_epoch}), not {stopped['best_epoch']}."]
        return []

    def passed(self, got, epochs=8, **kw):
        return ("matches a reference run epoch by epoch, watches the validation loss, breaks on True "
                "and restores the best weights.")


# -- RegularizedRNN ---------------------------------------------------------------------------------

def regularized_cases(seed, n=3):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        input_size, hidden, classes = rng.sample(range(3, 15), 3)
        cases.append({"input_size": input_size, "hidden_size": hidden, "num_classes": classes,
                      "num_layers": rng.choice([2, 3]), "dropout": rng.choice([0.2, 0.25, 0.4, 0.5])})
    return cases


def _reference_logits(case, state, x):
    """head(output[:, -1]), head(output[:, 0]) and head(h_n[0]) of the course's layers loaded with the
    student's parameters, as float64 arrays; None when the parameters do not fit those layers."""
    rnn = nn.RNN(case["input_size"], case["hidden_size"], num_layers=case["num_layers"], batch_first=True,
                 dtype=torch.float64)
    head = nn.Linear(case["hidden_size"], case["num_classes"], dtype=torch.float64)
    try:
        rnn.load_state_dict({k[4:]: torch.as_tensor(v, dtype=torch.float64)
                             for k, v in state.items() if k.startswith("rnn.")})
        head.load_state_dict({k[5:]: torch.as_tensor(v, dtype=torch.float64)
                              for k, v in state.items() if k.startswith("head.")})
    except RuntimeError:
        return None
    with torch.no_grad():
        output, h_n = rnn(x.to(torch.float64))
        return {"last": head(output[:, -1]).numpy(), "first": head(output[:, 0]).numpy(),
                "h_n[0]": head(h_n[0]).numpy()}


class RegularizedRNNCheck(Check):
    """``RegularizedRNN(input_size, hidden_size, num_classes, num_layers=2, dropout=0.3)``."""

    name = "a04_regularized_rnn"

    def probe(self, cls, seed=0, **kw):
        results = []
        for i, case in enumerate(regularized_cases(seed)):
            torch.manual_seed(i)
            model, caught = _silently(cls, **case)
            entry = {"warnings": caught}
            for part in ("rnn", "dropout", "head"):
                entry[part] = module_config(getattr(model, part, None))
            x = torch.randn(5, 7, case["input_size"], generator=torch.Generator().manual_seed(i))
            model.eval()
            with torch.no_grad():
                entry["eval_out"] = _logits(_silently(model, x)[0])
                model.train()
                entry["train_out"] = _logits(_silently(model, x)[0])
                # the same with the dropout inside nn.RNN switched off: what is left is self.dropout's
                rnn = getattr(model, "rnn", None)
                entry["train_out_head"] = {"returned": "no nn.RNN with a dropout setting in model.rnn"}
                if isinstance(rnn, nn.RNNBase) and isinstance(getattr(rnn, "dropout", None), (int, float)):
                    inner, rnn.dropout = rnn.dropout, 0.0
                    try:
                        entry["train_out_head"] = _logits(_silently(model, x)[0])
                    finally:
                        rnn.dropout = inner
            entry["state"] = param_arrays(model, np.float64)
            results.append(entry)
        return {"results": results}

    def result(self, **kw):
        return Record(results=Cases(Record(warnings=ListOf(Str(), max_len=100), rnn=CONFIG, dropout=CONFIG,
                                           head=CONFIG, eval_out=LOGITS, train_out=LOGITS,
                                           train_out_head=LOGITS, state=models.ParamDict()), 3))

    def judge(self, got, seed=0, **kw):
        for i, (case, e) in enumerate(zip(regularized_cases(seed), got["results"], strict=True)):
            call = ("RegularizedRNN({input_size}, {hidden_size}, {num_classes}, num_layers={num_layers}, "
                    "dropout={dropout})").format(**case)
            rnn, head = e["rnn"], e["head"]
            if rnn["type"] != "RNN" or head["type"] != "Linear" or e["dropout"]["type"] != "Dropout":
                return [f"{call}: keep the layers in self.rnn (nn.RNN), self.dropout (nn.Dropout) and "
                        f"self.head (nn.Linear); found {rnn['type']}, {e['dropout']['type']}, "
                        f"{head['type']}."]
            if same(rnn.get("num_layers"), 1) and (number(rnn.get("dropout")) or 0) > 0:
                warned = next((w for w in e["warnings"] if "dropout" in w), None)
                return [f"{call}: your nn.RNN has num_layers=1 with dropout={rnn['dropout']}. nn.RNN "
                        "applies its dropout *between* stacked layers only, so with one layer it does "
                        "nothing" + (f" — PyTorch even warned: \"{warned.splitlines()[0]}\"" if warned
                                     else "") + ". Pass num_layers on to nn.RNN."]
            for key, want in (("input_size", case["input_size"]), ("hidden_size", case["hidden_size"]),
                              ("num_layers", case["num_layers"]), ("dropout", case["dropout"]),
                              ("batch_first", True), ("nonlinearity", "tanh"), ("bias", True),
                              ("bidirectional", False)):
                if not same(rnn.get(key), want):
                    return [f"{call}: the nn.RNN has {key}={rnn.get(key)!r}, it needs {want!r}."]
            if not same(e["dropout"].get("p"), case["dropout"]):
                return [f"{call}: the nn.Dropout after the RNN should drop with p={case['dropout']}, "
                        f"not {e['dropout'].get('p')}."]
            if not (same(head.get("in_features"), case["hidden_size"])
                    and same(head.get("out_features"), case["num_classes"])):
                return [f"{call}: the head maps hidden_size → num_classes, nn.Linear({case['hidden_size']}, "
                        f"{case['num_classes']}); yours is nn.Linear({head.get('in_features')}, "
                        f"{head.get('out_features')})."]
            if head.get("bias") is not True:
                return [f"{call}: keep the head's bias: nn.Linear({case['hidden_size']}, "
                        f"{case['num_classes']})."]
            x = torch.randn(5, 7, case["input_size"], generator=torch.Generator().manual_seed(i))
            ref = _reference_logits(case, e["state"], x)
            if ref is None:
                return [f"{call}: the model's parameters do not fit an nn.RNN and an nn.Linear of these "
                        "sizes; keep only self.rnn, self.dropout and self.head."]
            out = e["eval_out"]
            if not isinstance(out, np.ndarray):
                return [f"{call}: forward should return the logits tensor, not {out['returned']}."]
            if tuple(out.shape) != (5, case["num_classes"]):
                return [f"{call}: on a batch of shape (5, 7, {case['input_size']}) forward should return "
                        f"(5, {case['num_classes']}) logits, not {tuple(out.shape)}."]
            if not close(out, ref["last"], "float32", atol=1e-5):
                if close(out, ref["first"], "float32", atol=1e-5):
                    return [f"{call}: you classify from output[:, 0], the first time step. The data is "
                            "left-padded, so the last step output[:, -1] is the one that has read the "
                            "whole utterance."]
                if close(out, ref["h_n[0]"], "float32", atol=1e-5):
                    return [f"{call}: h_n[0] is the state of the *first* layer; read the top layer: "
                            "output[:, -1] (or h_n[-1])."]
                return [f"{call}: in eval mode the logits should be head(output[:, -1]) of the RNN's "
                        "output; yours differ."]
            train_out = e["train_out"]
            if not isinstance(train_out, np.ndarray) or train_out.shape != out.shape:
                what = train_out["returned"] if isinstance(train_out, dict) else f"shape {train_out.shape}"
                return [f"{call}: in training mode forward should return logits of shape {out.shape} "
                        f"too, not {what}."]
            if not np.all(np.isfinite(train_out)):
                return [f"{call}: in training mode the logits hold NaN or infinite values."]
            if close(train_out, out, "float32", atol=1e-6):
                return [f"{call}: in training mode the output should change with dropout; yours is the "
                        "same as in eval mode. Apply self.dropout to output[:, -1] in forward."]
            head_only = e["train_out_head"]
            if not isinstance(head_only, np.ndarray) or head_only.shape != out.shape \
                    or not np.all(np.isfinite(head_only)):
                what = head_only["returned"] if isinstance(head_only, dict) else f"shape {head_only.shape}"
                return [f"{call}: in training mode, with the dropout inside nn.RNN switched off, forward "
                        f"should still return finite logits of shape {out.shape}; got {what}."]
            if close(head_only, out, "float32", atol=1e-6):
                return [f"{call}: forward never applies self.dropout: in training mode, with the dropout "
                        "inside nn.RNN switched off, your output equals the eval-mode output. Return "
                        "self.head(self.dropout(output[:, -1])) — with one layer, that is the only dropout "
                        "the model has."]
        return []

    def passed(self, got, **kw):
        return "dropout inside the stacked nn.RNN and after it, logits from the last time step."


# -- diagnose(history) -------------------------------------------------------------------------------

def _curve(rng, n, start, end, bend=None, rise=0.0):
    """A smooth curve from start to end; with bend, it turns at that index and rises by `rise`."""
    values = []
    for t in range(n):
        if bend is None or t <= bend:
            frac = t / max(1, (bend if bend is not None else n - 1))
            v = start + (end - start) * (1 - (1 - frac) ** 2)
        else:
            v = end + rise * (t - bend) / (n - 1 - bend)
        values.append(round(v + rng.uniform(-0.003, 0.003), 4))
    return values


def diagnose_cases(seed):
    """Histories with a known verdict, each far from the thresholds."""
    rng = random.Random(seed)
    cases = []
    kinds = ["overfit_rise", "overfit_gap", "overfit_rise_only", "underfit", "good", "good_stopped"]
    rng.shuffle(kinds)
    for kind in kinds:
        n = rng.randrange(25, 45)
        bend = rng.randrange(6, n // 2)
        h = {"train_loss": _curve(rng, n, 2.2, 0.05 if kind.startswith("overfit") else 0.4)}
        if kind == "overfit_rise":
            h.update(val_loss=_curve(rng, n, 2.2, 0.45, bend, 0.6),
                     train_acc=_curve(rng, n, 0.2, 0.99), val_acc=_curve(rng, n, 0.2, 0.74, bend, -0.05))
            verdict = "overfitting"
        elif kind == "overfit_gap":
            h.update(val_loss=_curve(rng, n, 2.2, 0.6),
                     train_acc=_curve(rng, n, 0.2, 0.99), val_acc=_curve(rng, n, 0.2, 0.82))
            verdict = "overfitting"
        elif kind == "overfit_rise_only":
            h.update(val_loss=_curve(rng, n, 2.2, 0.5, bend, 0.35),
                     train_acc=_curve(rng, n, 0.2, 0.93), val_acc=_curve(rng, n, 0.2, 0.9))
            verdict = "overfitting"
        elif kind == "underfit":
            h = {"train_loss": _curve(rng, n, 2.2, 1.6), "val_loss": _curve(rng, n, 2.2, 1.65),
                 "train_acc": _curve(rng, n, 0.12, 0.45), "val_acc": _curve(rng, n, 0.12, 0.43)}
            verdict = "underfitting"
        elif kind == "good":
            h.update(val_loss=_curve(rng, n, 2.2, 0.42),
                     train_acc=_curve(rng, n, 0.2, 0.9), val_acc=_curve(rng, n, 0.2, 0.88))
            verdict = "good fit"
        else:  # early-stopped: bad at the end, but the model keeps the best epoch
            best = bend + 1
            h = {"train_loss": _curve(rng, n, 2.2, 0.1),
                 "val_loss": _curve(rng, n, 2.2, 0.4, bend, 0.4),
                 "train_acc": _curve(rng, n, 0.2, 0.99),
                 "val_acc": _curve(rng, n, 0.2, 0.9, bend, -0.1)}
            h["train_acc"][:best] = _curve(rng, best, 0.2, 0.88)
            h["best_epoch"] = best
            verdict = "good fit"
        if "best_epoch" not in h and rng.random() < 0.5:
            h["best_epoch"] = n
        cases.append((kind, h, verdict))
    return cases


WHY = {
    "overfit_rise": "Rule 2 applies: training accuracy is {gap} above validation accuracy, and the "
                    "validation loss ended {rise} above its lowest value (epoch {turn}) while the training "
                    "loss kept falling.",
    "overfit_gap": "Rule 2 applies: training accuracy is {gap} above validation accuracy, more than "
                   "gap = 0.10 — the model does much better on what it has seen.",
    "overfit_rise_only": "Rule 2 applies through its loss condition: the accuracies are within gap = 0.10 "
                         "of each other, yet the validation loss at epoch {best} is {rise} above its lowest "
                         "value (epoch {turn}), more than rise = 0.10. Look at the losses, not only the "
                         "accuracies.",
    "underfit": "Rule 1 applies, and it comes first: training accuracy is only {train}, below low = 0.70 — "
                "the model has not even learned the training data (more capacity, more epochs or a "
                "higher learning rate would help).",
    "good": "Neither rule applies: training accuracy ({train}) is above low = 0.70, within gap = 0.10 of "
            "validation accuracy, and the validation loss at epoch {best} is at its lowest.",
    "good_stopped": "This run was early-stopped: the model keeps the weights of epoch {best} "
                    "(history['best_epoch']), where validation loss was lowest and the accuracies were "
                    "close. Judge that epoch, not the last one.",
}


class Diagnose(Check):
    """``diagnose(history) -> "overfitting" | "underfitting" | "good fit"``."""

    name = "a04_diagnose"

    def probe(self, fn, seed=0, **kw):
        return {"answers": [capture(fn, dict(h)) for _, h, _ in diagnose_cases(seed)]}

    def result(self, seed=0, **kw):
        return Record(answers=Cases(Returned(), len(diagnose_cases(seed))))

    def judge(self, got, seed=0, **kw):
        for (kind, h, verdict), returned in zip(diagnose_cases(seed), got["answers"], strict=True):
            n, kept = len(h["val_loss"]), (f"best_epoch {h['best_epoch']}" if "best_epoch" in h
                                            else "no best_epoch")
            if "error" in returned:
                hint = (" Lists count from 0: epoch k is history[...][k - 1], and the last epoch is "
                        "len(history['val_loss'])." if returned["error"].startswith("IndexError") else "")
                return [f"on a history of {n} epochs ({kept}) your diagnose raised {returned['error']}.{hint}"]
            answer = returned["value"]
            if not isinstance(answer, str) or answer not in ("overfitting", "underfitting", "good fit"):
                return [f'return one of "overfitting", "underfitting", "good fit"; got {answer!r}.']
            if answer != verdict:
                k = h.get("best_epoch", len(h["val_loss"]))
                turn = min(range(k), key=lambda i: h["val_loss"][i]) + 1
                why = WHY[kind].format(
                    turn=turn, best=k, gap=_percent(h["train_acc"][k - 1] - h["val_acc"][k - 1], 0),
                    rise=_percent(h["val_loss"][k - 1] / min(h["val_loss"][:k]) - 1, 0),
                    train=_percent(h["train_acc"][k - 1], 0))
                return [f"a history of {n} epochs ({kept}): you answered {answer!r}, the rules give "
                        f"{verdict!r}. {why}"]
        return []

    def passed(self, got, **kw):
        return "the right verdict on 6 training histories."


# -- swap_recurrent_layer(model, kind) ---------------------------------------------------------------

def swap_cases(seed):
    rng = random.Random(seed)
    kinds = ["LSTM", "GRU", rng.choice(["LSTM", "GRU", "RNN"])]
    cases = []
    for kind in kinds:
        input_size, hidden, classes = rng.sample(range(3, 15), 3)
        cases.append({"kind": kind, "input_size": input_size, "hidden_size": hidden,
                      "num_classes": classes, "num_layers": rng.choice([2, 3]),
                      "dropout": rng.choice([0.1, 0.3, 0.45])})
    return cases


def _out_shape(model, input_size):
    """The shape of what the model returns for a batch of 4 sequences of 6 steps."""
    x = torch.randn(4, 6, input_size)
    return [int(n) for n in _silently(model, x)[0].shape]


class SwapLayer(Check):
    """``swap_recurrent_layer(model, kind)`` replaces model.rnn by nn.RNN/GRU/LSTM, same settings."""

    name = "a04_swap_layer"

    def probe(self, fn, seed=0, **kw):
        results = []
        for case in swap_cases(seed):
            model = ProbeNet(case["input_size"], case["hidden_size"], case["num_classes"],
                             num_layers=case["num_layers"], rnn_dropout=case["dropout"])
            head = model.head
            new = _silently(fn, model, case["kind"])[0]
            if not isinstance(new, nn.Module):
                results.append({"returned": type_name(to_plain(new))})
                continue
            entry = {"rnn": module_config(getattr(new, "rnn", None)),
                     "same_head": getattr(new, "head", None) is head}
            with torch.no_grad():
                entry.update(capture_as("out_shape", _out_shape, new, case["input_size"]))
            results.append(entry)
        return {"results": results}

    def result(self, seed=0, **kw):
        model = dict(rnn=CONFIG, same_head=Bool())
        entry = OneOf(Record(returned=Str(200)),
                      Record(model, out_shape=ListOf(Int(0), max_len=16)),
                      Record(model, error=Str(600)))
        return Record(results=Cases(entry, len(swap_cases(seed))))

    def judge(self, got, seed=0, **kw):
        for case, e in zip(swap_cases(seed), got["results"], strict=True):
            call = f"swap_recurrent_layer(model, {case['kind']!r})"
            if "returned" in e:
                return [f"{call} should return the model (with its new layer), not {e['returned']}."]
            rnn = e["rnn"]
            if rnn["type"] == "NoneType":
                return [f"{call} should return the model (with its new layer in model.rnn); the module "
                        "it returned has no .rnn."]
            if rnn["type"] != case["kind"]:
                return [f"{call}: model.rnn is an nn.{rnn['type']}; it should be a new nn.{case['kind']}."]
            keep = [(key, True if key == "batch_first" else case[key])
                    for key in ("input_size", "hidden_size", "num_layers", "dropout", "batch_first")]
            keep += [("bias", True), ("bidirectional", False)]
            if case["kind"] == "RNN":
                keep.append(("nonlinearity", "tanh"))
            for key, want in keep:
                if not same(rnn.get(key), want):
                    return [f"{call}: the new layer must keep the old one's settings; {key} is "
                            f"{rnn.get(key)!r}, the old layer had {want!r} (read them from model.rnn)."]
            if not e["same_head"]:
                return [f"{call}: keep the rest of the model (the head) as it is; swap only model.rnn."]
            if "error" in e:
                return [f"{call}: the model no longer runs: {e['error']}"]
            if e["out_shape"] != [4, case["num_classes"]]:
                return [f"{call}: the model now returns shape {e['out_shape']}, expected "
                        f"[4, {case['num_classes']}]."]
        return []

    def passed(self, got, **kw):
        return "the layer is swapped, with the same sizes, depth, dropout and layout."


# -- the final model ----------------------------------------------------------------------------------

PROBE_SEQUENCES = 16  # the final model's scores on the first validation sequences tie it to its weights
UNDERFIT = 0.70       # training accuracy below this: not learned yet (diagnose's `low`)


def _probe_inputs(label_noise, noise_seed):
    from .experiments import load_task

    data = load_task(label_noise, noise_seed)
    return data, data["x_val"][:PROBE_SEQUENCES]


class FinalModel(Check):
    """The student's trained model: the seed's targets on train/validation, and (hidden) held-out.

    The probe sends the model's parameters (and its scores on a few validation sequences); the parent
    rebuilds it and measures every accuracy itself, so no prediction from the kernel is trusted."""

    name = "a04_final_model"

    def probe(self, model, label_noise=0.2, noise_seed=0, **kw):
        if model is None:
            raise CheckFailed("not answered yet: final_model is still None. Train your model in the cell "
                              "above and store it in final_model.")
        if not isinstance(model, nn.Module):
            raise CheckFailed(f"final_model should be your trained model (an nn.Module such as a "
                              f"RegularizedRNN), not {type_name(to_plain(model))}.")
        _, x = _probe_inputs(label_noise, noise_seed)
        return _silently(models.describe, model, x)[0]

    def result(self, **kw):
        from ...data import JAPANESE_VOWELS_CLASSES

        return models.result_spec(PROBE_SEQUENCES, JAPANESE_VOWELS_CLASSES)

    def judge(self, got, label_noise=0.2, noise_seed=0, min_val=0.85, max_train=0.92, heldout_min=None,
              **kw):
        acc = final_accuracies(got, label_noise, noise_seed)
        if isinstance(acc, str):
            return [acc]
        problems = []
        if acc["val"] < min_val and acc["train"] < UNDERFIT:
            problems.append(f"validation accuracy is {_percent(acc['val'], 1)}; the task asks for at least "
                            f"{_percent(min_val)}. Training accuracy is only {_percent(acc['train'], 1)} "
                            "too: the model has not learned the speakers yet (underfitting). Train longer — "
                            "more epochs, more patience — or with a higher learning rate.")
        elif acc["val"] < min_val:
            problems.append(f"validation accuracy is {_percent(acc['val'], 1)}; the task asks for at least "
                            f"{_percent(min_val)}. Keep the best epoch (early stopping with restore) and "
                            "regularise more.")
        if acc["train"] >= max_train:
            problems.append(f"training accuracy (on the noisy labels) is {_percent(acc['train'], 1)}; the "
                            f"task asks for less than {_percent(max_train)}. Above 1 − noise = "
                            f"{_percent(1 - label_noise)} the model is memorising wrong labels: more dropout, "
                            "a smaller hidden size, a lower learning rate or an earlier stop.")
        if heldout_min is not None and acc["heldout"] < heldout_min:
            problems.append(f"on the held-out half of the test data (never used for training or early "
                            f"stopping) your model reaches {_percent(acc['heldout'], 1)}; it needs at least "
                            f"{_percent(heldout_min)}. A choice tuned to the validation half alone does not "
                            "generalise: prefer the simpler, more regularised setting.")
        return problems

    def passed(self, got, label_noise=0.2, noise_seed=0, min_val=0.85, max_train=0.92, heldout_min=None,
               **kw):
        acc = final_accuracies(got, label_noise, noise_seed)
        text = (f"training {_percent(acc['train'], 1)} (< {_percent(max_train)}), "
                f"validation {_percent(acc['val'], 1)} (≥ {_percent(min_val)})")
        if heldout_min is not None:
            text += f", held-out {_percent(acc['heldout'], 1)} (≥ {_percent(heldout_min)})"
        return text + "."


def _percent(share, digits=None) -> str:
    """0.92 -> "92 %", 0.9351 with digits=1 -> "93.5 %" (as the notebook writes shares)."""
    return f"{100 * share:g} %" if digits is None else f"{100 * share:.{digits}f} %"


def final_accuracies(got, label_noise, noise_seed):
    """Train / val / held-out accuracies of the model the probe described, measured here from its
    parameters; or the message saying why it cannot be scored."""
    from .experiments import split_test

    model, why = models.rebuild(got)
    if model is None:
        return why
    data, x = _probe_inputs(label_noise, noise_seed)
    problem = models.same_model(model, x, got["scores"])
    if problem:
        return problem
    y_heldout = split_test()[3]
    return {"train": models.accuracy(model, data["x_train"], data["y_train"]),
            "val": models.accuracy(model, data["x_val"], data["y_val"]),
            "heldout": models.accuracy(model, data["x_heldout"], y_heldout)}
