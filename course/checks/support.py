"""What check modules share beyond the Check machinery (core.py): reading the tensor records of a
result, comparing numbers, calling student code, and the known model the checks hand to student code.

Judge side (trusted): ``is_tensor``, ``tensor_record``, ``tensor_data`` read what ``core.to_plain``
made of a tensor; ``close`` compares numbers with the one tolerance table, ``TOL``; ``number`` and
``same`` read a plain answer without mistaking True for 1.
Probe side (the student's kernel): ``attempt`` runs student code once and keeps what it returned, or
``core.capture``'s record of what it raised; ``capture_as`` is ``core.capture`` with the result under
a name of the probe's record; ``param_arrays`` copies a model's parameters;
``seeded_tensor`` draws the same numbers on both sides from a seed and a name;
``ProbeNet`` is the small classifier handed to the student's training and evaluation code.

A check module imports these and writes none of them again.
"""
from __future__ import annotations

import zlib

import numpy as np
import torch
from torch import nn

from .core import capture


# -- tensor records, as core.to_plain writes them ------------------------------------------------
def is_tensor(value) -> bool:
    """Whether a plain value is a tensor record ({"__tensor__": True, "dtype", "requires_grad", "data"})."""
    return isinstance(value, dict) and value.get("__tensor__") is True


def tensor_record(value) -> dict | None:
    """The tensor record, or None when the value is something else."""
    return value if is_tensor(value) else None


def tensor_data(value) -> np.ndarray | None:
    """The numbers of a tensor record, or None when the value is something else."""
    return value["data"] if is_tensor(value) else None


# -- numbers ------------------------------------------------------------------------------------
# One tolerance per dtype, for the student's numbers against a reference computed in that dtype:
# far above the rounding of a correct computation, far below any mistake a check names. float64 is
# tight enough that a computation done in float32 and cast back does not pass as float64.
TOL = {"float32": dict(rtol=1e-5, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}
_NUMERIC = "biufc"


def number(value) -> float | None:
    """A plain int or float answer as a float; None for anything else (True and False are not numbers
    here, nor are tensors, strings or an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _numbers(value) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in _NUMERIC and not value.dtype.hasobject else None
    value = number(value)
    return None if value is None else np.asarray(value)


def close(got, want, dtype: str | None = None, *, rtol: float | None = None,
          atol: float | None = None) -> bool:
    """Whether ``got`` (the student's numbers: an array or a plain number) has ``want``'s shape and is
    within the tolerance of ``dtype`` of it, element by element (|got − want| ≤ atol + rtol·|want|).

    ``dtype`` defaults to ``want``'s; a dtype without an entry in ``TOL`` uses float32's. ``rtol`` /
    ``atol`` replace the table's for a comparison that needs another tolerance (say why where you pass
    them). NaN is never close to anything; None, True/False and non-numbers never are either."""
    got = _numbers(got)
    want = None if want is None else np.asarray(want)
    if got is None or want is None or want.dtype.kind not in _NUMERIC or got.shape != want.shape:
        return False
    tol = dict(TOL.get(dtype or want.dtype.name, TOL["float32"]))
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    return bool(np.allclose(got, want, equal_nan=False, **tol))


def same(value, want) -> bool:
    """Whether a plain value from the student's code equals a literal of the test: bools and numbers
    kept apart (True is not 1, 2.0 is 2), NaN equal to nothing, containers compared item by item."""
    if isinstance(want, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(want, bool) and value == want
    if isinstance(want, (int, float)):
        return isinstance(value, (int, float)) and value == want
    if isinstance(want, str):
        return isinstance(value, str) and value == want
    if want is None:
        return value is None
    if isinstance(want, (list, tuple)):
        return (isinstance(value, list) and len(value) == len(want)
                and all(same(v, w) for v, w in zip(value, want)))
    if isinstance(want, dict):
        return (isinstance(value, dict) and set(value) == set(want)
                and all(same(value[k], w) for k, w in want.items()))
    return False


# -- calling student code (probe side) ----------------------------------------------------------
def attempt(fn, *args, **kwargs):
    """Call student code once, for a probe that still needs what it returned (a live object):
    ``(result, None)``, or ``(None, {"error": "Type: message"})`` as ``core.capture`` records the
    exception it raised. NotImplementedError propagates: the exercise is not answered yet."""
    kept = []
    record = capture(lambda: kept.append(fn(*args, **kwargs)))
    return (kept[0], None) if kept else (None, record)


def capture_as(key: str, fn, *args, **kwargs) -> dict:
    """``core.capture`` with the result under ``key``: {key: plain result} or {"error": "Type: message"}."""
    record = capture(fn, *args, **kwargs)
    return record if "error" in record else {key: record["value"]}


def param_arrays(model: nn.Module, dtype=None) -> dict:
    """Kernel side: {parameter name: a copy of its numbers as a NumPy array}, as ``dtype`` if given."""
    return {name: np.array(p.detach().cpu().numpy(), dtype=dtype, copy=True)
            for name, p in model.named_parameters()}


# -- seeded numbers (probe and judge draw the same) ------------------------------------------------
def seeded_tensor(seed: int, tag: str, shape, scale: float = 1.0) -> torch.Tensor:
    """Uniform(-scale, scale) numbers that depend only on (seed, tag, shape)."""
    g = torch.Generator().manual_seed((int(seed) * 7919 + zlib.crc32(tag.encode())) % 2**63)
    return (torch.rand(tuple(shape), generator=g) * 2 - 1) * scale


# -- the known model ----------------------------------------------------------------------------
class ProbeNet(nn.Module):
    """The small, known classifier the checks hand to student code (a training loop, evaluate, a layer
    swap): nn.RNN (batch_first) → its last time step → dropout → nn.Linear.

    ``dropout`` drops before the head (0: a run is fully determined by the weights); ``num_layers``
    and ``rnn_dropout`` go to the nn.RNN. The recurrent layer is ``.rnn`` and the head ``.head``;
    forward reads ``output[:, -1]``, which any nn.RNN / GRU / LSTM put in ``.rnn`` returns alike."""

    def __init__(self, input_size, hidden_size, num_classes, dropout=0.0, num_layers=1, rnn_dropout=0.0):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                          dropout=rnn_dropout)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(self.drop(output[:, -1]))
