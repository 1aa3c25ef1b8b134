"""A student's trained classifier, judged by the trusted side from its *parameters*.

A probe that returned predictions could return the labels instead (the kernel can read every split).
So the probe returns what the model is (its recurrent layer's settings, its Linear head, every
parameter as an array) plus its scores on a few inputs; the parent rebuilds the course's pipeline —
input → recurrent layer → last time step → Linear — with exactly those weights, checks that the
rebuild reproduces the student's scores (so it *is* the student's model), and measures accuracy itself.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .contract import Array, Bool, Int, ListOf, Record, Str
from .support import close, is_tensor, param_arrays

RECURRENT = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
SETTINGS = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional")
MAX_PARAMS = 64
PIPELINE = ("the graded model must be the course's pipeline: input → one nn.RNN/GRU/LSTM → its last "
            "time step → one nn.Linear (dropout is fine)")


def describe(model, x) -> dict:
    """Kernel side: the model as plain data, and its scores on ``x`` (eval mode, no grad)."""
    recurrent, linear, other = [], [], []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False)]
        if isinstance(module, nn.RNNBase):
            entry = {"name": name, "type": type(module).__name__,
                     "nonlinearity": str(getattr(module, "nonlinearity", "tanh"))}
            entry.update({key: getattr(module, key) for key in SETTINGS})
            recurrent.append(entry)
        elif isinstance(module, nn.Linear):
            linear.append({"name": name, "in_features": module.in_features,
                           "out_features": module.out_features, "bias": module.bias is not None})
        elif own:
            other.append(name or type(module).__name__)
    model.eval()
    with torch.no_grad():
        scores = model(x)
    if isinstance(scores, (tuple, list)):
        scores = scores[0]
    return {"recurrent": recurrent, "linear": linear, "other": other,
            "params": param_arrays(model, np.float64),
            "scores": scores.detach().cpu().numpy().astype(np.float64)}


def result_spec(n: int, classes: int) -> Record:
    layer = Record(name=Str(200), type=Str(20), nonlinearity=Str(20), input_size=Int(1, 10_000),
                   hidden_size=Int(1, 10_000), num_layers=Int(1, 16), bias=Bool(), batch_first=Bool(),
                   bidirectional=Bool())
    head = Record(name=Str(200), in_features=Int(1, 100_000), out_features=Int(1, 100_000), bias=Bool())
    return Record(recurrent=ListOf(layer, max_len=8), linear=ListOf(head, max_len=8),
                  other=ListOf(Str(200), max_len=MAX_PARAMS),
                  params=ParamDict(), scores=Array("f", ndim=2, shape=(n, classes)))


class ParamDict(Record):
    """{parameter name: float array}, at most MAX_PARAMS of them."""

    def __init__(self):
        super().__init__()

    def check(self, value, path, depth):
        from .contract import Mismatch
        if not isinstance(value, dict) or is_tensor(value):
            raise Mismatch(f"{path}: expected a dict of parameter arrays")
        if len(value) > MAX_PARAMS:
            raise Mismatch(f"{path}: {len(value)} parameters")
        for key, item in value.items():
            Array("f").check(item, f"{path}.{key}", depth + 1)


def expected_shapes(layer: dict, head: dict) -> dict:
    """{Pipeline parameter name: shape} for these settings, computed without allocating anything."""
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[layer["type"]]
    H, dirs = layer["hidden_size"], 2 if layer["bidirectional"] else 1
    shapes = {}
    for k in range(layer["num_layers"]):
        width = layer["input_size"] if k == 0 else H * dirs
        for suffix in ("", "_reverse")[:dirs]:
            shapes[f"rnn.weight_ih_l{k}{suffix}"] = (gates * H, width)
            shapes[f"rnn.weight_hh_l{k}{suffix}"] = (gates * H, H)
            if layer["bias"]:
                shapes[f"rnn.bias_ih_l{k}{suffix}"] = (gates * H,)
                shapes[f"rnn.bias_hh_l{k}{suffix}"] = (gates * H,)
    shapes["head.weight"] = (head["out_features"], head["in_features"])
    if head["bias"]:
        shapes["head.bias"] = (head["out_features"],)
    return shapes


class Pipeline(nn.Module):
    """The course's classifier, built by the trusted side."""

    def __init__(self, layer: dict, head: dict):
        super().__init__()
        kind = RECURRENT[layer["type"]]
        extra = {"nonlinearity": layer["nonlinearity"]} if layer["type"] == "RNN" else {}
        self.rnn = kind(layer["input_size"], layer["hidden_size"], num_layers=layer["num_layers"],
                        bias=layer["bias"], batch_first=layer["batch_first"],
                        bidirectional=layer["bidirectional"], dtype=torch.float64, **extra)
        self.head = nn.Linear(head["in_features"], head["out_features"], bias=head["bias"],
                              dtype=torch.float64)

    def forward(self, x):
        output, _ = self.rnn(x.to(torch.float64))
        return self.head(output[:, -1] if self.rnn.batch_first else output[-1])


def rebuild(got: dict) -> tuple[Pipeline | None, str | None]:
    """The pipeline with the student's weights, or why it cannot be rebuilt (a teaching message)."""
    if len(got["recurrent"]) != 1 or len(got["linear"]) != 1 or got["other"]:
        parts = [f"{len(got['recurrent'])} recurrent layer(s)", f"{len(got['linear'])} Linear layer(s)"]
        if got["other"]:
            parts.append("other layers with weights: " + ", ".join(got["other"][:4]))
        return None, f"{PIPELINE}; yours has {', '.join(parts)}."
    layer, head = got["recurrent"][0], got["linear"][0]
    if layer["type"] not in RECURRENT or layer["nonlinearity"] not in ("tanh", "relu"):
        return None, f"{PIPELINE}; yours uses {layer['type']}."
    width = layer["hidden_size"] * (2 if layer["bidirectional"] else 1)
    if head["in_features"] != width:
        return None, (f"the Linear head reads {head['in_features']} features but the recurrent layer's "
                      f"last step has {width}: {PIPELINE}.")
    prefix = {"rnn": layer["name"], "head": head["name"]}
    expected = expected_shapes(layer, head)
    for name, shape in expected.items():  # before building anything: sizes come from the kernel
        owner, _, leaf = name.partition(".")
        key = f"{prefix[owner]}.{leaf}" if prefix[owner] else leaf
        value = got["params"].get(key)
        if value is None or tuple(value.shape) != shape:
            return None, f"{PIPELINE}; the parameter {key} is missing or has another shape."
    try:
        model = Pipeline(layer, head)
    except (ValueError, RuntimeError, TypeError) as exc:
        return None, f"the recurrent layer's settings are not valid ({exc})."
    state = {}
    for name, param in model.named_parameters():
        owner, _, leaf = name.partition(".")
        key = f"{prefix[owner]}.{leaf}" if prefix[owner] else leaf
        value = got["params"].get(key)
        if value is None or tuple(value.shape) != tuple(param.shape):
            return None, f"{PIPELINE}; the parameter {key} is missing or has another shape."
        if not np.all(np.isfinite(value)):
            return None, f"the parameter {key} holds NaN or infinite values: the training diverged."
        state[name] = torch.from_numpy(np.array(value, dtype=np.float64))
    if set(got["params"]) != {f"{prefix[n.partition('.')[0]]}.{n.partition('.')[2]}".lstrip(".")
                              for n, _ in model.named_parameters()}:
        return None, f"{PIPELINE}; your model has parameters outside those two layers."
    model.load_state_dict(state)
    model.eval()
    return model, None


def scores(model: Pipeline, x) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy()


def same_model(model: Pipeline, x, reported: np.ndarray) -> str | None:
    """None when the rebuilt pipeline gives the scores the student's model gave, else why not."""
    mine = scores(model, x)
    if mine.shape != reported.shape:
        return f"the model returned scores of shape {reported.shape}, expected {mine.shape}."
    # The student's model runs in float32 (with whatever kernels it picked), the rebuild in float64:
    # a looser tolerance than float32's own, and still far below what another pipeline gives.
    if not close(mine, reported, rtol=1e-3, atol=1e-3):
        shifted = mine - mine.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if close(np.exp(log_probs), reported, rtol=1e-3, atol=1e-4) or \
                close(log_probs, reported, rtol=1e-3, atol=1e-3):
            return ("your model applies softmax (or log_softmax) in forward: return the raw scores of "
                    "the Linear layer — nn.CrossEntropyLoss applies log-softmax itself, and a second "
                    "softmax flattens the gradients.")
        return (f"{PIPELINE}: read the last time step (output[:, -1] with batch_first=True, or h_n[-1]) "
                "and pass it to the Linear layer — rebuilt that way, your weights give other scores "
                f"than your model (largest difference {float(np.max(np.abs(mine - reported))):.3g}).")
    return None


def accuracy(model: Pipeline, x, labels) -> float:
    predictions = scores(model, x).argmax(axis=1)
    return float(np.mean(predictions == np.asarray(labels)))
