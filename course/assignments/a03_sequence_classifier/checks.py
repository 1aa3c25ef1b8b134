"""Checks for assignment 03, "The sequence-classifier pipeline".

Probes build their inputs from the seed (weights are drawn per parameter name, so the same seed gives
the same numbers in any process), call the student's code and return plain arrays. Judges rebuild the
same weights in the real PyTorch modules, compute the reference, and — when the answer is wrong —
compare it with the answers the usual mistakes give, to say which mistake it is.

Each check's ``result`` states exactly what its probe sends (one entry per case, only what the judge
reads), so a judge sees nothing it does not check. Trained models are never judged on predictions
from the kernel: the probes send weights, and the trusted side measures (see models.py).
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ... import data as course_data
from ...checks import models
from ...checks.contract import Array, Bool, Cases, Int, ListOf, OneOf, Record, Str, Value
from ...checks.core import CONTRACT_MESSAGE, Check, CheckFailed, to_plain, type_name
from ...checks.support import ProbeNet, close, is_tensor, number, param_arrays, seeded_tensor, tensor_data

VOWEL_LENGTH = 29  # the longest Japanese Vowels utterance: every sequence is left-padded to this
KINDS = {"rnn": nn.RNN, "gru": nn.GRU}


# -- seeded numbers, identical in the probe and in the judge -------------------------------------
def load_seeded(module: nn.Module, seed: int, prefix: str) -> None:
    """Overwrite every parameter of ``module`` with seeded numbers (named prefix.param_name)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(seeded_tensor(seed, f"{prefix}.{name}", p.shape, scale=0.6))


# Scores of a model the student wrote (or of one of the usual mistakes) against the reference's: the
# same layers may run in another order of operations, so more than float32 rounding is allowed.
SCORES_ATOL = 1e-4


# -- what the probes send back ---------------------------------------------------------------------
def tensor_answer(value) -> dict:
    """Kernel side: a returned tensor as its numbers, anything else as the name of its type."""
    plain = to_plain(value)
    data = tensor_data(plain)
    return {"returned": type_name(plain)[:200]} if data is None else {"tensor": data}


TENSOR_ANSWER = OneOf(Record(tensor=Array()), Record(returned=Str(200)))


def params_spec(model: nn.Module) -> Record:
    """Exactly the parameters of ``model`` (a course-built module): names, shapes, float arrays."""
    return Record({name: Array("f", shape=tuple(p.shape)) for name, p in model.named_parameters()})


# -- last_hidden(output, h_n, batch_first) -----------------------------------------------------------
def last_hidden_cases(seed, n=4, deep=False):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        batch, seq_len, input_size, hidden = rng.sample(range(2, 13), 4)
        layers = rng.choice([2, 3]) if deep else 1
        cases.append({"batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden": hidden,
                      "num_layers": layers, "batch_first": i % 2 == 0})
    return cases


def run_case_rnn(case, seed, i):
    """The nn.RNN run whose (output, h_n) last_hidden receives, rebuilt the same everywhere."""
    rnn = nn.RNN(case["input_size"], case["hidden"], num_layers=case["num_layers"],
                 batch_first=case["batch_first"])
    load_seeded(rnn, seed + i, "rnn")
    shape = ((case["batch"], case["seq_len"]) if case["batch_first"] else
             (case["seq_len"], case["batch"])) + (case["input_size"],)
    with torch.no_grad():
        return rnn(seeded_tensor(seed + i, "x", shape))


def _last_hidden_mistake(got, output, h_n, batch_first):
    """Name the mistake whose result equals ``got``, or None."""
    time_axis = 1 if batch_first else 0
    first_step = output[:, 0] if batch_first else output[0]
    candidates = [
        (output[0], "output[0] is the first *sequence* of the batch (all its time steps) when "
                    "batch_first=True" if batch_first else
                    "output[0] is the hidden state after the *first* time step (time-major layout)"),
        (first_step, "that is the hidden state after the first time step, before the RNN has read "
                     "the rest of the sequence"),
        (output.mean(dim=time_axis), "that is the mean over time of the outputs: the class must come "
                                     "from the state after the *last* step, which has read everything"),
        (output[-1], "output[-1] with batch_first=True is the last *sequence* of the batch, not the last "
                     "time step; use output[:, -1] or h_n[-1]"),
        (h_n, "h_n holds one final state per layer, (num_layers, batch, hidden): take the last layer's"),
        (output, "that is the whole output tensor: keep only the last time step"),
    ]
    if len(h_n) > 1:
        candidates.insert(0, (h_n[0], "h_n[0] is the final state of the *first* layer; with "
                                      "num_layers > 1 the last layer's is h_n[-1]"))
    for value, message in candidates:
        if close(got, value.numpy(), atol=SCORES_ATOL):
            return message
    return None


class LastHidden(Check):
    """``last_hidden(output, h_n, batch_first) -> Tensor`` (batch, hidden): the last layer's final state."""

    name = "a03_last_hidden"

    def probe(self, fn, seed=0, n=4, deep=False, **kw):
        results = []
        for i, case in enumerate(last_hidden_cases(seed, n, deep)):
            output, h_n = run_case_rnn(case, seed, i)
            results.append(tensor_answer(fn(output, h_n, case["batch_first"])))
        return {"results": results}

    def result(self, seed=0, n=4, deep=False, **kw):
        return Record(results=Cases(TENSOR_ANSWER, len(last_hidden_cases(seed, n, deep))))

    def judge(self, got, seed=0, n=4, deep=False, **kw):
        for i, (case, value) in enumerate(zip(last_hidden_cases(seed, n, deep), got["results"],
                                              strict=True)):
            output, h_n = run_case_rnn(case, seed, i)
            call = (f"nn.RNN({case['input_size']}, {case['hidden']}, num_layers={case['num_layers']}, "
                    f"batch_first={case['batch_first']}) on a batch of {case['batch']} sequences of "
                    f"{case['seq_len']} steps")
            if "tensor" not in value:
                return [f"{call}: return a tensor, not {value['returned']}."]
            array = value["tensor"]
            want = h_n[-1].numpy()
            if close(array, want, atol=1e-6):
                continue
            mistake = _last_hidden_mistake(array, output, h_n, case["batch_first"])
            if mistake:
                return [f"{call}: {mistake}."]
            if array.shape != want.shape:
                return [f"{call}: the result should be (batch, hidden_size) = {want.shape}, not "
                        f"{array.shape}."]
            return [f"{call}: the values are not the last layer's state after the last step "
                    "(h_n[-1], which equals output[:, -1] when batch_first=True)."]
        return []

    def passed(self, got, n=4, deep=False, **kw):
        depth = "stacked (2–3 layer)" if deep else "one-layer"
        return f"the last layer's final state on {n} {depth} RNNs, batch_first both ways."


# -- SequenceClassifier(input_size, hidden_size, num_classes, num_layers=1, rnn_type="rnn") --------
def classifier_cases(seed, n=3, num_layers=1, rnn_type="rnn"):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        input_size, hidden, classes, batch, seq_len = rng.sample(range(2, 15), 5)
        cases.append({"input_size": input_size, "hidden_size": hidden, "num_classes": classes,
                      "num_layers": num_layers, "rnn_type": rnn_type, "batch": batch,
                      "seq_len": seq_len})
    return cases


def _find(model):
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return rnns, heads


def _rnn_entry(layer) -> dict:
    """Kernel side: what the judge reads of a recurrent layer (nn.RNNBase checks these types itself)."""
    return {"type": type(layer).__name__[:100], "input_size": int(layer.input_size),
            "hidden_size": int(layer.hidden_size), "num_layers": int(layer.num_layers),
            "bidirectional": bool(layer.bidirectional), "batch_first": bool(layer.batch_first)}


def _head_entry(layer) -> dict:
    return {"in_features": int(layer.in_features), "out_features": int(layer.out_features)}


MAX_LAYERS = 64
RNN_ENTRY = Record(type=Str(100), input_size=Int(1), hidden_size=Int(1), num_layers=Int(1),
                   bidirectional=Bool(), batch_first=Bool())
HEAD_ENTRY = Record(in_features=Int(0), out_features=Int(0))


def _build_args(case):
    return {k: case[k] for k in ("input_size", "hidden_size", "num_classes", "num_layers", "rnn_type")}


def reference_classifier(case, seed, i):
    """The reference: the RNN, its (output, h_n), and the head, with the seeded weights."""
    rnn = KINDS[case["rnn_type"]](case["input_size"], case["hidden_size"],
                                  num_layers=case["num_layers"], batch_first=True)
    head = nn.Linear(case["hidden_size"], case["num_classes"])
    load_seeded(rnn, seed + i, "rnn")
    load_seeded(head, seed + i, "head")
    x = seeded_tensor(seed + i, "x", (case["batch"], case["seq_len"], case["input_size"]))
    with torch.no_grad():
        output, h_n = rnn(x)
    return output, h_n, head


def _signature(case):
    return ("SequenceClassifier({input_size}, {hidden_size}, {num_classes}, num_layers={num_layers}, "
            "rnn_type={rnn_type!r})").format(**case)


class Classifier(Check):
    """The student's SequenceClassifier class, built from seeded sizes, with seeded weights loaded
    into its recurrent layer and its linear head; its forward output on a seeded batch is returned."""

    name = "a03_classifier"

    def probe(self, cls, seed=0, n=3, num_layers=1, rnn_type="rnn", **kw):
        results = []
        for i, case in enumerate(classifier_cases(seed, n, num_layers, rnn_type)):
            torch.manual_seed(0)
            model = cls(**_build_args(case))
            rnns, heads = _find(model)
            entry = {"is_module": isinstance(model, nn.Module),
                     "rnns": [_rnn_entry(m) for m in rnns], "heads": [_head_entry(m) for m in heads]}
            if len(rnns) == 1 and len(heads) == 1:
                load_seeded(rnns[0], seed + i, "rnn")
                load_seeded(heads[0], seed + i, "head")
                x = seeded_tensor(seed + i, "x", (case["batch"], case["seq_len"], case["input_size"]))
                model.eval()
                with torch.no_grad():
                    entry["out"] = tensor_answer(model(x))
            results.append(entry)
        return {"results": results}

    def result(self, seed=0, n=3, num_layers=1, rnn_type="rnn", **kw):
        entry = Record({"is_module": Bool(), "rnns": ListOf(RNN_ENTRY, max_len=MAX_LAYERS),
                        "heads": ListOf(HEAD_ENTRY, max_len=MAX_LAYERS)}, optional={"out": TENSOR_ANSWER})
        return Record(results=Cases(entry, len(classifier_cases(seed, n, num_layers, rnn_type))))

    def judge(self, got, seed=0, n=3, num_layers=1, rnn_type="rnn", **kw):
        for i, (case, entry) in enumerate(zip(classifier_cases(seed, n, num_layers, rnn_type),
                                              got["results"], strict=True)):
            call = _signature(case)
            problem = self._structure(case, entry)
            if problem:
                return [f"{call}: {problem}"]
            output, h_n, head = reference_classifier(case, seed, i)
            if "tensor" not in entry["out"]:
                return [f"{call}: forward should return a tensor of class scores, not "
                        f"{entry['out']['returned']}."]
            out = entry["out"]["tensor"]
            with torch.no_grad():
                want = head(h_n[-1]).numpy()
            if close(out, want, atol=SCORES_ATOL):
                continue
            return [f"{call}: {self._mistake(out, want, output, h_n, head, case)}"]
        return []

    @staticmethod
    def _structure(case, entry):
        if not entry["is_module"]:
            return "SequenceClassifier must subclass nn.Module."
        rnns, heads = entry["rnns"], entry["heads"]
        want_type = {"rnn": "RNN", "gru": "GRU"}[case["rnn_type"]]
        if len(rnns) != 1:
            return (f"the model should hold exactly one recurrent layer (nn.{want_type} with "
                    f"num_layers={case['num_layers']}); found {len(rnns)}.")
        if len(heads) != 1:
            return f"the model should hold exactly one nn.Linear head; found {len(heads)}."
        rnn, lin = rnns[0], heads[0]
        if rnn["type"] != want_type:
            return f"rnn_type={case['rnn_type']!r} should build an nn.{want_type}, not nn.{rnn['type']}."
        for key, want in (("input_size", case["input_size"]), ("hidden_size", case["hidden_size"]),
                          ("num_layers", case["num_layers"])):
            if rnn.get(key) != want:
                return f"the recurrent layer's {key} is {rnn.get(key)}, it should be {want}."
        if rnn.get("bidirectional"):
            return "this model reads left to right only: leave bidirectional=False."
        if not rnn["batch_first"]:
            return (f"build the recurrent layer with batch_first=True: x arrives as (batch, seq_len, "
                    f"input_size), and without it nn.{want_type} reads dimension 0 as time, so the "
                    "batch and the steps are swapped.")
        if lin["in_features"] != case["hidden_size"] or lin["out_features"] != case["num_classes"]:
            return (f"the head should be nn.Linear(hidden_size, num_classes) = "
                    f"nn.Linear({case['hidden_size']}, {case['num_classes']}), not "
                    f"nn.Linear({lin['in_features']}, {lin['out_features']}).")
        if "out" not in entry:
            return "the model could not be run."
        return None

    @staticmethod
    def _mistake(out, want, output, h_n, head, case):
        batch, classes = want.shape
        if out.ndim == 2 and out.shape[1] == classes and np.all(out >= 0) and \
                np.allclose(out.sum(axis=1), 1, atol=1e-4):
            return ("forward returns probabilities (each row is ≥ 0 and sums to 1): it applies softmax. "
                    "nn.CrossEntropyLoss applies log-softmax itself, so forward must return the raw "
                    "scores (logits); softmax belongs only at inference time, e.g. "
                    "model(x).softmax(dim=1).")
        with torch.no_grad():
            variants = [
                (head(output[0]), "it reads output[0], which (batch_first=True) is the first "
                                  "sequence of the batch, all its steps — use the last time step of "
                                  "every sequence: last_hidden(output, h_n, batch_first=True)"),
                (head(output[:, 0]), "it reads the hidden state after the *first* time step: the "
                                     "class must come from the state after the last step"),
                (head(output.mean(dim=1)), "it averages the outputs over time: the classifier should "
                                           "read the final hidden state (after the last step) only"),
                (head(h_n[0]), "it reads h_n[0], the first layer's final state: with "
                               f"num_layers={case['num_layers']} the last layer's is h_n[-1]"),
                (head(output[-1]), "it reads output[-1], the last *sequence* of the batch: with "
                                   "batch_first=True the last time step is output[:, -1]"),
            ]
        if case["num_layers"] == 1:
            variants.pop(3)  # h_n[0] is right for one layer
        for value, message in variants:
            if close(out, value.numpy(), atol=SCORES_ATOL):
                return message + "."
        if out.shape != want.shape:
            return (f"for a batch of {batch} sequences forward should return ({batch}, {classes}) "
                    f"class scores; it returns {out.shape}.")
        return ("with the same weights, the scores differ from head(h_n[-1]): the input should go "
                "through the recurrent layer, the last layer's final hidden state through the head, "
                "and nothing else (no activation after the head).")

    def passed(self, got, n=3, num_layers=1, rnn_type="rnn", **kw):
        return (f"same logits as nn.{rnn_type.upper()}(num_layers={num_layers}) → h_n[-1] → nn.Linear "
                f"on {n} configurations.")


# -- the training loop: train_epoch, evaluate, fit --------------------------------------------------
def probe_setup(seed, n=96, dropout=0.0, batch_size=16):
    """Seeded model (4 features, hidden 6, 3 classes) and a seeded order-task data set of n sequences."""
    x, y = course_data.make_order_task(n, seq_len=6, num_features=4, seed=seed)
    model = ProbeNet(4, 6, 3, dropout)
    load_seeded(model, seed, "net")
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)
    return model, loader, x, y


def reference_epoch(model, loader, lr, zero_grad=True):
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for x, y in loader:
        if zero_grad:
            optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def _same_params(a, b):
    return set(a) == set(b) and all(close(a[k], b[k], atol=1e-5) for k in a)


class TrainEpoch(Check):
    """``train_epoch(model, loader, loss_fn, optimizer) -> float``: one pass over the loader, one
    optimiser step per batch; returns the mean training loss. Probed with SGD on a known model."""

    name = "a03_train_epoch"
    lr = 0.5

    def probe(self, fn, seed=0, **kw):
        model, loader, _, _ = probe_setup(seed)
        optimiser = torch.optim.SGD(model.parameters(), lr=self.lr)
        model.eval()  # as evaluate() leaves it: train_epoch must switch back
        loss = fn(model, loader, nn.CrossEntropyLoss(), optimiser)
        return {"loss": to_plain(loss), "training": bool(model.training), "params": param_arrays(model)}

    def result(self, seed=0, **kw):
        return Record(loss=Value(), training=Bool(), params=params_spec(ProbeNet(4, 6, 3)))

    def judge(self, got, seed=0, **kw):
        start, loader, _, _ = probe_setup(seed)
        before = param_arrays(start)
        losses = reference_epoch(start, loader, self.lr)
        want = param_arrays(start)
        params = got["params"]
        if not _same_params(params, want):
            if _same_params(params, before):
                return ["the weights did not change: call loss.backward() and then optimizer.step() "
                        "for every batch."]
            sloppy, loader, _, _ = probe_setup(seed)
            reference_epoch(sloppy, loader, self.lr, zero_grad=False)
            if _same_params(params, param_arrays(sloppy)):
                return ["gradients pile up from batch to batch: call optimizer.zero_grad() before "
                        "loss.backward() in every step."]
            return ["after one epoch the weights differ from one SGD step per batch (zero_grad → "
                    "forward → loss → backward → step, in that order, on every batch of the loader)."]
        loss = got["loss"]
        if is_tensor(loss):
            return ["return the mean loss as a Python float (loss.item()): a tensor keeps the "
                    "computation graph of the batch alive."]
        if number(loss) is None:
            return [f"return the mean loss as a float, not {type_name(loss)}."]
        mean = float(np.mean(losses))
        if not np.isclose(loss, mean, atol=1e-5):
            if np.isclose(loss, losses[-1], atol=1e-5):
                return ["that is the loss of the last batch only: return the mean over all batches."]
            if np.isclose(loss, sum(losses), atol=1e-4):
                return ["that is the sum of the batch losses: divide by the number of batches."]
            return [f"the mean training loss of this epoch is {mean:.4f}, not {loss:.4f}: average "
                    "loss.item() over the batches."]
        if not got["training"]:
            return ["call model.train() at the start: evaluate() puts the model in eval mode, and "
                    "dropout would stay switched off for training."]
        return []

    def passed(self, got, **kw):
        return "one optimiser step per batch, mean loss returned as a float, model in training mode."


class _RecordingLoss(nn.Module):
    """Cross-entropy that notes whether autograd was recording when it was called."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.inner = nn.CrossEntropyLoss()

    def forward(self, logits, target):
        self.calls.append(bool(torch.is_grad_enabled() and logits.requires_grad))
        return self.inner(logits, target)


def reference_evaluate(model, loader):
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += loss_fn(logits, y).item()
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
    return total / count, correct / count


class Evaluate(Check):
    """``evaluate(model, loader, loss_fn) -> (mean loss, accuracy)`` on a known model.

    modes=False: the values (a model without dropout). modes=True: a model with dropout in training
    mode, evaluated twice under different random seeds — eval mode makes the two results equal — with
    a loss function that notes whether autograd was recording (it must not: torch.no_grad())."""

    name = "a03_evaluate"

    def probe(self, fn, seed=0, modes=False, **kw):
        model, loader, _, _ = probe_setup(seed, n=80, dropout=0.5 if modes else 0.0)
        model.train()
        loss_fn = _RecordingLoss()
        torch.manual_seed(seed)
        first = to_plain(fn(model, loader, loss_fn))
        if not modes:
            return {"first": first}
        model.train()
        torch.manual_seed(seed + 1)
        second = to_plain(fn(model, loader, loss_fn))
        return {"first": first, "second": second, "loss_fn_called": bool(loss_fn.calls),
                "autograd_recorded": any(loss_fn.calls)}

    def result(self, modes=False, **kw):
        if not modes:
            return Record(first=Value())
        return Record(first=Value(), second=Value(), loss_fn_called=Bool(), autograd_recorded=Bool())

    def judge(self, got, seed=0, modes=False, **kw):
        model, loader, _, _ = probe_setup(seed, n=80, dropout=0.5 if modes else 0.0)
        want_loss, want_acc = reference_evaluate(model, loader)
        first = got["first"]
        if not (isinstance(first, list) and len(first) == 2):
            return [f"return a pair (mean loss, accuracy), not {type_name(first)} {first!r}."[:300]]
        loss, acc = first
        for name, value in (("loss", loss), ("accuracy", acc)):
            if is_tensor(value):
                return [f"return the {name} as a Python float (.item()), not a tensor."]
            if number(value) is None:
                return [f"the {name} should be a float, not {type_name(value)}."]
        if modes:
            problems = []
            if not got["loss_fn_called"]:
                return ["evaluate should compute the loss with the loss_fn it is given."]
            if got["autograd_recorded"]:
                problems.append("autograd recorded the evaluation: wrap the loop in `with "
                                "torch.no_grad():` — no gradients are needed, and recording costs "
                                "memory and time.")
            second = got["second"]
            same = isinstance(second, list) and len(second) == 2 and \
                all(number(v) is not None for v in second) and \
                np.isclose(loss, second[0]) and np.isclose(acc, second[1])
            if not same:
                problems.append("the result changes from one call to the next on the same data: "
                                "dropout is still active. Call model.eval() first (fit switches back "
                                "with model.train() in train_epoch).")
            if problems:
                return problems
            # stable across calls: from here on the values are judged as without dropout
        if np.isclose(loss, want_acc, atol=1e-6) and np.isclose(acc, want_loss, atol=1e-4):
            return ["the pair is the wrong way round: return (loss, accuracy)."]
        if np.isclose(acc, 100 * want_acc, atol=1e-4) and want_acc > 0:
            return ["give the accuracy as a fraction between 0 and 1, not a percentage."]
        if not np.isclose(acc, want_acc, atol=1e-6):
            return [f"the accuracy on these {len(loader.dataset)} sequences is {want_acc:.4f}, not "
                    f"{acc:.4f}: count argmax(logits) == label over all batches, divide by the number "
                    "of sequences."]
        if not np.isclose(loss, want_loss, atol=1e-4):
            return [f"the mean loss is {want_loss:.4f}, not {loss:.4f}: average the loss over all "
                    "sequences (or batches of equal size)."]
        return []

    def passed(self, got, modes=False, **kw):
        if modes:
            return "eval mode and no autograd: the same answer every time."
        return "the right mean loss and accuracy."


HISTORY_KEYS = ("train_loss", "val_loss", "val_acc")
MAX_SNAPSHOTS = 64


class _WatchedLoader:
    """A DataLoader stand-in that notes the model's weights each time a pass over it begins."""

    def __init__(self, loader, model, snapshots):
        self._loader, self._model, self._snapshots = loader, model, snapshots

    def __iter__(self):
        _snapshot(self._model, self._snapshots)
        return iter(self._loader)

    def __len__(self):
        return len(self._loader)

    def __getattr__(self, name):  # dataset, batch_size, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._loader, name)


def _snapshot(model, snapshots, last=False):
    """Append the model's weights unless they equal the last ones noted. Passes over the validation
    loader are noted up to MAX_SNAPSHOTS - 1 times; the weights after fit (``last``) always are."""
    params = param_arrays(model)
    if snapshots and _identical(snapshots[-1], params):
        return
    if last or len(snapshots) < MAX_SNAPSHOTS - 1:
        snapshots.append(params)


def _identical(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _loaded(params):
    """A ProbeNet holding these weights (the shapes were checked by the result contract)."""
    model = ProbeNet(4, 6, 3)
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in params.items()})
    model.eval()
    return model


def _metrics(model, x, y):
    """(mean cross-entropy, accuracy) of a model on (x, y), as evaluate() computes them."""
    with torch.no_grad():
        logits = model(x)
        return float(nn.functional.cross_entropy(logits, y)), float((logits.argmax(dim=1) == y).float().mean())


class Fit(Check):
    """``fit(model, train_loader, val_loader, epochs, lr) -> history`` on a known model and a
    seeded task: the history has one entry per epoch, the training loss falls, and the validation
    numbers in the history are the ones the judge computes from the model's weights.

    The probe notes the weights each time a pass over the validation loader begins, and once more
    after fit returns (consecutive equal weights are noted once); the judge measures the loss and
    accuracy of those weights itself."""

    name = "a03_fit"
    epochs = 6
    train_slack = 0.1  # a mean training loss lies between the losses before and after its epoch

    def probe(self, fn, seed=0, **kw):
        from ... import training
        model, _, x, y = probe_setup(seed, n=240)
        g = torch.Generator().manual_seed(seed)
        train = DataLoader(TensorDataset(x[:160], y[:160]), batch_size=16, shuffle=True, generator=g)
        snapshots = []
        val = _WatchedLoader(DataLoader(TensorDataset(x[160:], y[160:]), batch_size=40), model, snapshots)
        torch.manual_seed(seed)
        with training.quiet():
            history = fn(model, train, val, epochs=self.epochs, lr=1e-2)
        _snapshot(model, snapshots, last=True)
        if isinstance(history, dict) and all(key in history for key in HISTORY_KEYS):
            history = {key: history[key] for key in HISTORY_KEYS}  # the judge reads nothing else
        return {"history": to_plain(history), "snapshots": snapshots}

    def result(self, **kw):
        return Record(history=Value(),
                      snapshots=ListOf(params_spec(ProbeNet(4, 6, 3)), max_len=MAX_SNAPSHOTS))

    def judge(self, got, seed=0, **kw):
        history = got["history"]
        if not isinstance(history, dict):
            return [f"fit should return the history dict, not {type_name(history)}."]
        for key in HISTORY_KEYS:
            values = history.get(key)
            if not isinstance(values, list):
                return [f"the history needs a list under {key!r} (keys: {sorted(history)})."]
            if len(values) != self.epochs:
                return [f"fit(..., epochs={self.epochs}) should record one {key} per epoch; the list "
                        f"has {len(values)}."]
            if not all(number(v) is not None for v in values):
                return [f"store plain floats in history[{key!r}] (use .item() or the floats "
                        "train_epoch and evaluate return)."]
        snapshots = got["snapshots"]
        if set(history) != set(HISTORY_KEYS) or not snapshots or any(
                _identical(a, b) for i, a in enumerate(snapshots) for b in snapshots[i + 1:]):
            return [CONTRACT_MESSAGE.format("the history or the weights noted are not what the probe "
                                            "sends")]
        losses = history["train_loss"]
        if not losses[-1] < 0.97 * losses[0]:
            return [f"the training loss did not fall ({losses[0]:.3f} → {losses[-1]:.3f}): fit should "
                    "train the model it is given, with torch.optim.Adam(model.parameters(), lr=lr), "
                    "calling train_epoch once per epoch."]
        if not all(np.all(np.isfinite(v)) for params in snapshots for v in params.values()):
            return ["the model's weights hold NaN or infinite values: the training diverged."]
        start, _, x, y = probe_setup(seed, n=240)
        weights = [_loaded(params) for params in snapshots]
        val = [_metrics(model, x[160:], y[160:]) for model in weights]
        accuracy = val[-1][1]
        if not np.isclose(history["val_acc"][-1], accuracy, atol=1e-6):
            return [f"after training, the model gets {accuracy:.3f} of the validation sequences right, "
                    f"but history['val_acc'][-1] says {history['val_acc'][-1]:.3f}: record what "
                    "evaluate(model, val_loader, loss_fn) returns after each epoch, for this model."]
        # every epoch's validation numbers come from the weights of one validation pass, in order
        before = [_metrics(start, x[:160], y[:160])[0]]
        taken = -1
        for epoch, (val_loss, val_acc) in enumerate(zip(history["val_loss"], history["val_acc"],
                                                        strict=True)):
            match = next((i for i in range(taken + 1, len(val))
                          if np.isclose(val_loss, val[i][0], rtol=0, atol=1e-4)
                          and np.isclose(val_acc, val[i][1], rtol=0, atol=1e-6)), None)
            if match is None:
                return [f"history['val_loss'][{epoch}], history['val_acc'][{epoch}] = {val_loss:.4f}, "
                        f"{val_acc:.4f} are not what evaluate(model, val_loader, loss_fn) gives for the "
                        "model at any point of training: record the (loss, accuracy) evaluate returns "
                        "after each epoch."]
            taken = match
            before.append(_metrics(weights[match], x[:160], y[:160])[0])
        for epoch, loss in enumerate(losses):
            low, high = sorted(before[epoch:epoch + 2])
            slack = self.train_slack * (1 + high)
            if not low - slack <= loss <= high + slack:
                return [f"history['train_loss'][{epoch}] = {loss:.4f}, but the model's training loss "
                        f"is {before[epoch]:.4f} before that epoch and {before[epoch + 1]:.4f} after it: "
                        "record the mean loss train_epoch returns for each epoch."]
        return []

    def passed(self, got, **kw):
        losses = got["history"]["train_loss"]
        return f"training loss {losses[0]:.3f} → {losses[-1]:.3f}, history complete."


# -- accuracy of the student's trained models ---------------------------------------------------------
def order_inputs(seed, n):
    """Held-out order-task sequences (never the training seed 0). Only the judge uses the labels."""
    return course_data.make_order_task(n, seed=1000 + seed)


def vowel_test_inputs(seed, n):
    """The Japanese Vowels test split as the notebook feeds it: standardised with the statistics of
    the whole training split, left-padded to 29 frames; a seeded subset of n utterances."""
    train, _ = course_data.load_japanese_vowels("train")
    test, labels = course_data.load_japanese_vowels("test")
    _, mean, std = course_data.standardize(train)
    test, _, _ = course_data.standardize(test, mean, std)
    padded, _ = course_data.pad_left(test, VOWEL_LENGTH)
    index = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n]
    return padded[index], labels[index]


PROBE_INPUTS = 16  # the student's model describes itself on this many of the graded inputs


class HeldOutAccuracy(Check):
    """The student's trained model, judged from its weights on held-out sequences.

    task="order": order-task sequences of a fresh seed; task="vowels": Japanese Vowels test
    utterances (a seeded subset). The probe sends the model's structure, its weights and its scores
    on the first few graded inputs (models.describe); the judge rebuilds the course's pipeline with
    those weights, checks that it gives the same scores, and measures the accuracy on all the graded
    inputs itself: no prediction from the kernel is taken at its word."""

    name = "a03_accuracy"
    own_work = False  # the model a locked cell trained; its cell checks the classifier and fit first

    @staticmethod
    def _inputs(task, seed, n):
        return order_inputs(seed, n) if task == "order" else vowel_test_inputs(seed, n)

    @staticmethod
    def _classes(task):
        return 3 if task == "order" else course_data.JAPANESE_VOWELS_CLASSES

    def probe(self, model, task="order", seed=0, n=300, **kw):
        x, _ = self._inputs(task, seed, n)
        classes = self._classes(task)
        model.eval()
        with torch.no_grad():
            scores = model(x)
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else None
        if shape != (len(x), classes):
            raise CheckFailed(f"for {len(x)} sequences the model should return ({len(x)}, {classes}) "
                              f"class scores, not {shape or 'a ' + type(scores).__name__}.")
        return models.describe(model, x[:PROBE_INPUTS])

    def result(self, task="order", seed=0, n=300, **kw):
        return models.result_spec(min(PROBE_INPUTS, n), self._classes(task))

    def judge(self, got, task="order", seed=0, n=300, minimum=0.9, **kw):
        x, labels = self._inputs(task, seed, n)
        classes = self._classes(task)
        accuracy, problem = self._accuracy(got, x, labels)
        if problem:
            return [problem]
        if accuracy >= minimum:
            return []
        if accuracy < 1.5 / classes:
            return [f"held-out accuracy {accuracy:.1%}, about chance ({1 / classes:.0%}): is the model "
                    "trained (run the training cell), and does it read the last hidden state?"]
        return [f"held-out accuracy {accuracy:.1%}, below the {minimum:.0%} needed: train with the "
                "settings given in the notebook (Adam, lr 1e-2, the epochs shown) and check that the "
                "model reads the final hidden state."]

    @staticmethod
    def _accuracy(got, x, labels):
        """(accuracy of the rebuilt model on all of x, None) or (None, why it cannot be measured)."""
        model, problem = models.rebuild(got)
        if problem:
            return None, problem
        problem = models.same_model(model, x[:PROBE_INPUTS], got["scores"])
        if problem:
            return None, problem
        return models.accuracy(model, x, labels), None

    def passed(self, got, task="order", seed=0, n=300, minimum=0.9, **kw):
        x, labels = self._inputs(task, seed, n)
        accuracy, _ = self._accuracy(got, x, labels)
        return (f"held-out accuracy {accuracy:.1%} on {len(labels)} sequences it never saw "
                f"(at least {minimum:.0%} needed).")
