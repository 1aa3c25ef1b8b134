"""Checks for assignment 05, "Inside the GRU, and sequences of different lengths".

Every check here follows core.py: the probe only calls the student's object on inputs rebuilt from
the literal kw and returns plain data; ``result`` states its exact shape; the judge rebuilds the same
inputs, computes the reference with the real nn.GRU / nn.GRUCell / nn.LSTMCell / pack_padded_sequence,
and names the mistake it sees. For gru_cell and lstm_cell the judge also computes each classic mistake
from the same inputs and names the one that matches the student's numbers.

What the student's *code* may use (no nn.GRU inside gru_forward, pack_padded_sequence in the packed
classifier) is decided by ``scan`` from the submission's source (rules.py), never from the kernel.
"""
from __future__ import annotations

import ast
import random
import warnings

import numpy as np
import torch
from torch import nn

from ...checks import contract, rules
from ...checks.contract import Bool, Cases, Mismatch, Nullable, OneOf, PerCase, Record, Returned, Str, Value
from ...checks.core import Check, capture, to_plain, type_name
from ...checks.support import attempt, close, is_tensor, tensor_record

DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def _distinct_sizes(rng, k, low=2, high=12):
    return rng.sample(range(low, high + 1), k)


def _detached(plain):
    """A plain value (core.to_plain) with every tensor record marked requires_grad=False: the judges
    never read it, so the probe sends one value only and a forged True is refused by ``Answer``."""
    if is_tensor(plain):
        return dict(plain, requires_grad=False)
    if isinstance(plain, dict):
        return {k: _detached(v) for k, v in plain.items()}
    if isinstance(plain, list):
        return [_detached(v) for v in plain]
    return plain


def _plain(value):
    return _detached(to_plain(value))


def _call(fn, *args):
    """core.capture under no_grad, tensors detached: {"value": ...} or {"error": "Type: message"}."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _detached(capture(fn, *args))


NUMPY_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int8": np.int8,
                "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
                "bool": np.bool_, "complex64": np.complex64, "complex128": np.complex128}


class Answer(contract.Value):
    """Whatever the student's code returned (contract.Value: judged on its merits), where a tensor
    record is exactly what the probe sends: detached (requires_grad False) and with data of the dtype
    it names."""

    def check(self, value, path, depth):
        if isinstance(value, dict) and "__tensor__" in value:
            where = path or "the result"
            if value.get("__tensor__") is not True or not isinstance(value.get("dtype"), str):
                raise Mismatch(f"{where}: a malformed tensor record")
            contract.Tensor().check(value, path, depth)
            if value["requires_grad"] is not False:
                raise Mismatch(f"{where}.requires_grad: the probe sends detached tensors")
            want = NUMPY_DTYPES.get(value["dtype"])
            if want is None or value["data"].dtype != np.dtype(want):
                raise Mismatch(f"{where}: data of dtype {value['data'].dtype} for a "
                               f"{value['dtype'][:20]} tensor")
            return
        super().check(value, path, depth)


def _weight_hint(error_text):
    if "mat1 and mat2" in error_text or "size mismatch" in error_text or "must match" in error_text:
        return (" — PyTorch stores weights as (out_features, in_features), e.g. W_ih is "
                "(3 × hidden, input): multiply x_t @ W_ih.T (or F.linear(x_t, W_ih, b_ih)).")
    return ""


def _forbidden_message(found, what):
    message = (f"{what} must do the arithmetic itself; it calls {', '.join(found)}, which runs "
               "PyTorch's own recurrent kernel. Use only matrix products, sigmoid and tanh "
               "(no credit for this cell until then).")
    if any("cannot read" in f for f in found):
        message += (" A name built at run time counts as a shortcut, because the grader cannot read "
                    "it: spell the attribute out, e.g. getattr(gru, f\"weight_ih_l{k}\").")
    return message


class HandWritten(Check):
    """A check whose answer must compute without PyTorch's recurrent kernels (``forbidden``)."""

    what = ""

    def scan(self, program, answer, **kw):
        found = program.reaches(answer, self.forbidden, module_param=self.module_param)
        return [self.shortcut_message(found)] if found else []

    def shortcut_message(self, found):
        return _forbidden_message(found, self.what or self.name)


# ---------------------------------------------------------------------------------------------
# GRU cell: reference and the classic mistakes
# ---------------------------------------------------------------------------------------------
def _linear(x, W, b):
    return x @ W.T + b


def _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh, order=(0, 1, 2)):
    gi = _linear(x, W_ih, b_ih).chunk(3, dim=1)
    gh = _linear(h, W_hh, b_hh).chunk(3, dim=1)
    r_i, z_i, n_i = (gi[k] for k in order)
    r_h, z_h, n_h = (gh[k] for k in order)
    return r_i, z_i, n_i, r_h, z_h, n_h


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh, mistake=None):
    """One GRU step as PyTorch computes it, or with one named mistake."""
    H = h.shape[1]
    order = {"z_r_swapped": (1, 0, 2), "chunks_n_r_z": (2, 0, 1), "chunks_r_n_z": (0, 2, 1),
             "chunks_n_z_r": (2, 1, 0), "chunks_z_n_r": (1, 2, 0)}.get(mistake, (0, 1, 2))
    if mistake == "no_b_ih":
        b_ih = torch.zeros_like(b_ih)
    if mistake == "no_b_hh":
        b_hh = torch.zeros_like(b_hh)
    r_i, z_i, n_i, r_h, z_h, n_h = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh, order)
    r = (torch.tanh if mistake == "r_tanh" else torch.sigmoid)(r_i + r_h)
    z = (torch.tanh if mistake == "z_tanh" else torch.sigmoid)(z_i + z_h)
    if mistake == "paper_candidate":  # Cho et al. / d2l: reset applied to h before the matmul
        W_hn = W_hh[2 * H:]
        n = torch.tanh(n_i + (r * h) @ W_hn.T + b_hh[2 * H:])
    elif mistake == "merged_bias":  # b_in + b_hn added outside the reset gate
        n = torch.tanh(n_i + b_hh[2 * H:] + r * (n_h - b_hh[2 * H:]))
    elif mistake == "no_reset":
        n = torch.tanh(n_i + n_h)
    elif mistake == "n_sigmoid":
        n = torch.sigmoid(n_i + r * n_h)
    else:
        n = torch.tanh(n_i + r * n_h)
    if mistake == "one_minus_z_swapped":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


GRU_MISTAKES = {
    "paper_candidate": "your candidate applies r before the matrix product, n = tanh(W_in x + b_in + "
                       "W_hn (r ⊙ h) + b_hn), as in the original GRU paper and d2l.ai. PyTorch "
                       "multiplies after it: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "merged_bias": "you add b_hn outside the reset gate (b_in + b_hn merged into one bias). In "
                   "PyTorch b_hn sits inside: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "z_r_swapped": "z and r are swapped: the chunks of W_ih and W_hh come in the order r, z, n "
                   "(reset, update, new), so the first chunk is r.",
    "one_minus_z_swapped": "(1 − z) multiplies the wrong term: PyTorch keeps the old state with z, "
                           "h' = (1 − z) ⊙ n + z ⊙ h, so z ≈ 1 means 'keep the memory'.",
    "chunks_n_r_z": "the chunks are in the wrong order: PyTorch stacks them r, z, n (rows 0:H are r, "
                    "H:2H are z, 2H:3H are n).",
    "chunks_r_n_z": "the chunks are in the wrong order: PyTorch stacks them r, z, n (rows 0:H are r, "
                    "H:2H are z, 2H:3H are n).",
    "chunks_n_z_r": "the chunks are in the wrong order: PyTorch stacks them r, z, n (rows 0:H are r, "
                    "H:2H are z, 2H:3H are n).",
    "chunks_z_n_r": "the chunks are in the wrong order: PyTorch stacks them r, z, n (rows 0:H are r, "
                    "H:2H are z, 2H:3H are n).",
    "no_reset": "the reset gate r is never used: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "no_b_hh": "your output ignores b_hh: add it to h_prev @ W_hh.T before splitting into r, z, n. Its "
               "last chunk, b_hn, sits inside the reset gate: r ⊙ (W_hn h + b_hn).",
    "no_b_ih": "your output ignores b_ih: add it to x_t @ W_ih.T before splitting into r, z, n.",
    "z_tanh": "z uses tanh, but the update gate is a sigmoid: z = σ(W_iz x + b_iz + W_hz h + b_hz), a "
              "weight in (0, 1) between the old state and the candidate. Only the candidate n uses tanh.",
    "r_tanh": "r uses tanh, but the reset gate is a sigmoid: r = σ(W_ir x + b_ir + W_hr h + b_hr), a "
              "factor in (0, 1). Only the candidate n uses tanh.",
    "n_sigmoid": "the candidate n uses σ, but it is tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), in (−1, 1): "
                 "with σ no unit could ever go negative.",
}


def gru_cell_cases(seed, n=5):
    """Distinct sizes; batch 1 and > 1; float32 and float64; weights large enough that mistakes show."""
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        batch, input_size, hidden = _distinct_sizes(rng, 3, 2, 9)
        if i == 0:
            batch = 1
        cases.append({"batch": batch, "input_size": input_size, "hidden_size": hidden,
                      "dtype": "float64" if i % 2 else "float32", "seed": rng.randrange(2**31)})
    return cases


def gru_cell_inputs(case, gates=3):
    g = torch.Generator().manual_seed(case["seed"])
    dtype = DTYPES[case["dtype"]]
    B, I, H = case["batch"], case["input_size"], case["hidden_size"]

    def rand(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype)

    return (rand(B, I), rand(B, H), rand(gates * H, I, scale=0.6), rand(gates * H, H, scale=0.6),
            rand(gates * H, scale=0.6), rand(gates * H, scale=0.6))


def _cell_call(case):
    return (f"batch {case['batch']}, input_size {case['input_size']}, hidden_size "
            f"{case['hidden_size']}, {case['dtype']}")


def _probe_cell(fn, cases, gates=3, lstm=False):
    results = []
    for case in cases:
        x, h, W_ih, W_hh, b_ih, b_hh = gru_cell_inputs(case, gates)
        state = h.clone()
        if lstm:
            state = (state, gru_cell_inputs(dict(case, seed=case["seed"] + 1), gates)[1].clone())
        results.append(_call(fn, x.clone(), state, W_ih.clone(), W_hh.clone(), b_ih.clone(),
                             b_hh.clone()))
    return {"results": results}


def _cell_result(n):
    """One core.capture record per case."""
    return Record(results=Cases(Returned(Answer()), n))


def _check_tensor(value, want_shape, dtype, what):
    """A message if value is not a tensor of that shape and dtype, else None."""
    t = tensor_record(value)
    if t is None:
        return f"{what} should be a torch.Tensor, got {type_name(value)}."
    shape = tuple(t["data"].shape)
    if shape != tuple(want_shape):
        return f"{what} has shape {shape}, expected {tuple(want_shape)}."
    if t["dtype"] != dtype:
        return (f"{what} is {t['dtype']} but the inputs were {dtype}: build every tensor from the "
                "inputs (no torch.zeros without dtype=...) so the dtype follows them.")
    return None


class _CellCheck(HandWritten):
    """A hand-written cell against PyTorch's own cell module on ``n`` random cases (see the subclasses)."""

    n = 5
    gates = 3
    module = nn.GRUCell

    def probe(self, fn, seed=0, n=None, **kw):
        return _probe_cell(fn, gru_cell_cases(seed, n or self.n), gates=self.gates, lstm=self.gates == 4)

    def result(self, seed=0, n=None, **kw):
        return _cell_result(len(gru_cell_cases(seed, n or self.n)))

    def judge(self, got, seed=0, n=None, **kw):
        for case, returned in zip(gru_cell_cases(seed, n or self.n), got["results"], strict=True):
            call = _cell_call(case)
            if "error" in returned:
                return [f"with {call} your {self.what} raised {returned['error']}"
                        f"{_weight_hint(returned['error'])}"]
            problem = self.judge_case(case, returned["value"], call)
            if problem:
                return [problem]
        return []

    def reference(self, case, weights):
        """PyTorch's cell holding the case's weights."""
        cell = self.module(case["input_size"], case["hidden_size"]).to(DTYPES[case["dtype"]])
        with torch.no_grad():
            for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), weights):
                p.copy_(v)
        return cell


class GRUCellCheck(_CellCheck):
    """``gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh) -> h_t`` against nn.GRUCell."""

    name = "a05_gru_cell"
    what = "gru_cell"
    forbidden = rules.GRU_KERNELS

    def judge_case(self, case, value, call):
        x, h, W_ih, W_hh, b_ih, b_hh = gru_cell_inputs(case)
        with torch.no_grad():
            want = self.reference(case, (W_ih, W_hh, b_ih, b_hh))(x, h)
        problem = _check_tensor(value, want.shape, case["dtype"], f"h_t ({call})")
        if problem:
            return problem
        mine = value["data"]
        if close(mine, want.numpy(), case["dtype"]):
            return None
        for mistake, message in GRU_MISTAKES.items():
            variant = gru_step(x, h, W_ih, W_hh, b_ih, b_hh, mistake).numpy()
            if close(mine, variant, case["dtype"]):
                return f"({call}) {message}"
        return (f"({call}) h_t differs from nn.GRUCell by up to "
                f"{np.abs(mine - want.numpy()).max():.3g}. Check, one at a time: the chunks r, z, "
                "n; r = σ(W_ir x + b_ir + W_hr h + b_hr); n = tanh(W_in x + b_in + r ⊙ (W_hn h + "
                "b_hn)); h' = (1 − z) ⊙ n + z ⊙ h.")

    def passed(self, got, n=5, **kw):
        return f"matches nn.GRUCell on {n} configurations (batch 1 and more, float32 and float64)."


# ---------------------------------------------------------------------------------------------
# gru_forward: a whole nn.GRU from its parameters
# ---------------------------------------------------------------------------------------------
class _ModuleCalled(Exception):
    pass


_CALLED = object()  # what _unless_called(fn) returns when fn called the module


def _unless_called(fn):
    """``fn``, returning _CALLED instead of raising when it called the GRUWithoutForward handed to it."""
    def run(*args):
        try:
            return fn(*args)
        except _ModuleCalled:
            return _CALLED
    return run


class GRUWithoutForward(nn.GRU):
    """A real nn.GRU whose forward refuses to run: gru_forward must read the weights, not call it."""

    def forward(self, *args, **kwargs):  # noqa: D401
        raise _ModuleCalled("gru_forward called the nn.GRU module itself")


def gru_forward_cases(seed, kind, n=4):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        seq_len, batch, input_size, hidden = _distinct_sizes(rng, 4, 2, 9)
        if i == 0:
            seq_len = 1
        if i == 1:
            batch = 1
        case = {"seq_len": seq_len, "batch": batch, "input_size": input_size, "hidden_size": hidden,
                "num_layers": 1, "batch_first": False, "bias": True, "dtype": "float32",
                "h0": i % 2 == 1, "seed": rng.randrange(2**31)}
        if kind == "batch_first":
            case["batch_first"] = True
        elif kind == "options":
            case["bias"] = i != 1
            case["dtype"] = "float32" if i == 2 else "float64"
        elif kind == "deep":
            case["num_layers"] = [2, 3, 2, 3][i % 4]
            case["batch_first"] = bool(i % 2)
            case["bias"] = i != 2
            case["dtype"] = "float64" if i == 3 else "float32"
            for key in ("input_size", "hidden_size"):  # keep every size distinct from num_layers
                if case[key] in (2, 3):
                    case[key] += 8
            if case["batch"] == case["num_layers"]:
                case["batch"] = 12 + i
        cases.append(case)
    return cases


def build_gru(case, cls=nn.GRU):
    with torch.random.fork_rng():
        torch.manual_seed(case["seed"])
        gru = cls(case["input_size"], case["hidden_size"], num_layers=case["num_layers"],
                  bias=case["bias"], batch_first=case["batch_first"])
    return gru.to(DTYPES[case["dtype"]])


def gru_forward_inputs(case):
    g = torch.Generator().manual_seed(case["seed"] + 1)
    dtype = DTYPES[case["dtype"]]
    T, B = case["seq_len"], case["batch"]
    shape = (B, T, case["input_size"]) if case["batch_first"] else (T, B, case["input_size"])
    x = torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)
    h0 = None
    if case["h0"]:
        h0 = torch.randn(case["num_layers"], B, case["hidden_size"], generator=g,
                         dtype=torch.float64).to(dtype)
    return x, h0


def reference_forward(gru, x, h0=None, mistake=None):
    """The GRU computed layer by layer with gru_step (mistake=None matches nn.GRU)."""
    if gru.batch_first:
        x = x.transpose(0, 1)
    output, h_n = _time_major_forward(gru, x, h0, mistake)
    return (output.transpose(0, 1) if gru.batch_first else output), h_n


def _time_major_forward(gru, x, h0=None, mistake=None):
    """The layers of ``gru`` over a time-major x (seq_len, batch, features), whatever gru.batch_first."""
    T, B, _ = x.shape
    H = gru.hidden_size
    if h0 is None:
        h0 = x.new_zeros(gru.num_layers, B, H)
    layer_input, finals = x, []
    for k in range(gru.num_layers):
        W_ih, W_hh = getattr(gru, f"weight_ih_l{k}"), getattr(gru, f"weight_hh_l{k}")
        if gru.bias:
            b_ih, b_hh = getattr(gru, f"bias_ih_l{k}"), getattr(gru, f"bias_hh_l{k}")
        else:
            b_ih = b_hh = W_ih.new_zeros(3 * H)
        h, steps = h0[k], []
        for t in range(T):
            h = gru_step(layer_input[t], h, W_ih, W_hh, b_ih, b_hh, mistake)
            steps.append(h)
        layer_input = torch.stack(steps)
        finals.append(h)
    return layer_input, torch.stack(finals)


def reshape_outputs(gru, x, h0=None):
    """The outputs of a batch-first GRU whose batch and time were swapped with reshape (or view)
    instead of transpose: on the way in, on the way out, or both (a right shape, scrambled data)."""
    B, T, _ = x.shape
    H = gru.hidden_size
    scrambled, _ = _time_major_forward(gru, x.reshape(T, B, -1), h0)
    right, _ = _time_major_forward(gru, x.transpose(0, 1), h0)
    return [scrambled.transpose(0, 1), scrambled.reshape(B, T, H), right.reshape(B, T, H)]


RESHAPE = ("with batch_first=True you swap batch and time with reshape (or view): the shape comes out "
           "right but the numbers are scrambled, because reshape keeps the memory order instead of moving "
           "the batch axis — use transpose, not reshape, for batch_first: x.transpose(0, 1) before the "
           "loop and output.transpose(0, 1) after it.")


def _describe(case):
    parts = [f"seq_len {case['seq_len']}", f"batch {case['batch']}", f"input_size {case['input_size']}",
             f"hidden_size {case['hidden_size']}", f"num_layers {case['num_layers']}",
             f"batch_first={case['batch_first']}", f"bias={case['bias']}", case["dtype"],
             "with h0" if case["h0"] else "h0=None"]
    return ", ".join(parts)


class GRUForward(HandWritten):
    """``gru_forward(gru, x, h0=None) -> (output, h_n)`` for any unidirectional nn.GRU.

    kw: kind ("basic", "batch_first", "options", "deep"), seed, n. The module handed in is a
    GRUWithoutForward; the source must not call it (module_param) nor reach a GRU kernel.
    """

    name = "a05_gru_forward"
    forbidden = rules.GRU_KERNELS
    module_param = True

    def probe(self, fn, kind="basic", seed=0, n=4, **kw):
        results = []
        for case in gru_forward_cases(seed, kind, n):
            gru = build_gru(case, GRUWithoutForward)
            x, h0 = gru_forward_inputs(case)
            args = (gru, x) if h0 is None else (gru, x, h0)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out, raised = attempt(_unless_called(fn), *args)
            if raised:
                results.append(raised)
            elif out is _CALLED:
                results.append({"called": True})
            elif not (isinstance(out, (tuple, list)) and len(out) == 2):
                results.append({"error": f"returned {type(out).__name__}, not a pair (output, h_n)"})
            else:
                results.append({"value": {"output": _plain(out[0]), "h_n": _plain(out[1])}})
        return {"results": results}

    def result(self, kind="basic", seed=0, n=4, **kw):
        pair = Record(output=Answer(), h_n=Answer())
        return Record(results=Cases(OneOf(Returned(pair), Record(called=Bool())),
                                    len(gru_forward_cases(seed, kind, n))))

    def judge(self, got, kind="basic", seed=0, n=4, **kw):
        failures = []
        for case, returned in zip(gru_forward_cases(seed, kind, n), got["results"], strict=True):
            call = _describe(case)
            if "called" in returned:
                return [f"({call}) gru_forward called the module (gru(x) / gru.forward): that runs "
                        "PyTorch's kernel, not yours. Read gru.weight_ih_l0 etc. and loop over time "
                        "with your gru_cell (no credit for this cell until then)."]
            if "error" in returned:
                msg = returned["error"]
                hint = ""
                bias_hint = (" — with bias=False the module has no bias_ih_l0/bias_hh_l0 attributes "
                             "(and all_weights[k] holds only the two weights): use zeros of size 3 × "
                             "hidden_size in their place.")
                if "bias_ih" in msg or "bias_hh" in msg or "NoneType" in msg:
                    hint = bias_hint
                elif case["num_layers"] > 1 and "mat1 and mat2" in msg:
                    hint = (" — layer k ≥ 1 reads the hidden_size outputs of layer k − 1 with its own "
                            "weights: getattr(gru, f\"weight_ih_l{k}\"), not weight_ih_l0.")
                elif not case["bias"]:  # only this case lacks biases: the likely cause of the error
                    hint = bias_hint
                return [f"({call}) gru_forward raised {msg}{hint or _weight_hint(msg)}"]
            value = returned["value"]
            gru = build_gru(case)
            x, h0 = gru_forward_inputs(case)
            with torch.no_grad():
                want_out, want_hn = gru(x, h0)
            problem = _check_tensor(value["output"], want_out.shape, case["dtype"], f"output ({call})")
            if problem:
                out = tensor_record(value["output"])
                if out is not None and case["batch_first"] and \
                        tuple(out["data"].shape) == tuple(want_out.transpose(0, 1).shape):
                    return [f"({call}) with batch_first=True the input and the output are "
                            "(batch, seq_len, features): transpose x to time-major before the loop "
                            "and the output back after it."]
                return [problem]
            problem = _check_tensor(value["h_n"], want_hn.shape, case["dtype"], f"h_n ({call})")
            if problem:
                hn = tensor_record(value["h_n"])
                if hn is not None and tuple(hn["data"].shape) == (case["batch"], case["num_layers"],
                                                                  case["hidden_size"]):
                    problem += (" h_n is (num_layers, batch, hidden_size) even when "
                                "batch_first=True: stack the layers' final states on dim 0.")
                elif hn is not None and tuple(hn["data"].shape) == (case["batch"], case["hidden_size"]):
                    problem += " Keep the layer axis: torch.stack(finals) gives (num_layers, batch, H)."
                return [problem]
            out, hn = value["output"]["data"], value["h_n"]["data"]
            ok_out = close(out, want_out.numpy(), case["dtype"])
            ok_hn = close(hn, want_hn.numpy(), case["dtype"])
            if ok_out and ok_hn:
                continue
            if ok_out:
                return [f"({call}) output is right but h_n is not: h_n[k] is the state of layer k "
                        "after the last time step."]
            # Which known mistakes reproduce this output? Keep the ones that fit *every* failing case
            # (with seq_len 1 and h0=None several cell mistakes give the same numbers).
            with torch.no_grad():
                fits = set()
                if h0 is not None and close(out, gru(x)[0].numpy(), case["dtype"]):
                    fits.add("ignores_h0")
                if case["batch_first"] and any(close(out, v.numpy(), case["dtype"])
                                               for v in reshape_outputs(gru, x, h0)):
                    fits.add("reshape")
                for mistake in GRU_MISTAKES:
                    if close(out, reference_forward(gru, x, h0, mistake)[0].numpy(), case["dtype"]):
                        fits.add(mistake)
            failures.append((call, case, fits, np.abs(out - want_out.numpy()).max()))
        if not failures:
            return []
        call, case, _, gap = failures[0]
        common = set.intersection(*(f[2] for f in failures))
        if "reshape" in common:
            return [f"({call}) {RESHAPE}"]
        if "ignores_h0" in common:
            return [f"({call}) your output ignores h0: when h0 is given, layer k starts from h0[k] "
                    "instead of zeros."]
        for mistake, message in GRU_MISTAKES.items():
            if mistake in common:
                return [f"({call}) the loop looks right, but the cell has a mistake — {message}"]
        if case["num_layers"] > 1:
            return [f"({call}) output differs from nn.GRU. With num_layers > 1, layer k reads the "
                    "outputs of layer k − 1 at every step, with its own weight_ih_l{k}, "
                    "weight_hh_l{k} and h0[k]; output comes from the top layer."]
        if case["batch_first"]:
            return [f"({call}) output differs from nn.GRU: with batch_first=True, time is dim 1 of "
                    "x; loop over x[:, t] (or transpose first)."]
        return [f"({call}) output differs from nn.GRU by up to {gap:.3g}: loop t = 0 .. seq_len − 1, "
                "feeding each step's h into the next."]

    def passed(self, got, kind="basic", n=4, **kw):
        return f"output and h_n match nn.GRU on {n} '{kind}' configurations."


# ---------------------------------------------------------------------------------------------
# Last time step of a GRU output (seed's fill-in)
# ---------------------------------------------------------------------------------------------
class LastStep(Check):
    """The answer is (output, last): last must be the last time step of output, for every sequence."""

    name = "a05_last_step"
    # The pair is (the output a locked cell gives, the student's selection from it): the output may be
    # the course's stand-in while the exercise it comes from is unanswered (course.practice.working);
    # the selection is judged against whatever output it was taken from.
    own_work = False

    def probe(self, answer, **kw):
        output, last = answer
        return {"output": _plain(output), "last": _plain(last)}

    def result(self, **kw):
        return Record(output=Answer(), last=Answer())

    def judge(self, got, batch_first=False, shape=None, **kw):
        """``shape`` (optional): the output's shape the exercise states, e.g. [5, 3, 20]."""
        out, last = tensor_record(got["output"]), tensor_record(got["last"])
        if out is None or last is None:
            return ["both the GRU output and your selection should be tensors."]
        o, l = out["data"], last["data"]
        layout = "(batch, seq_len, hidden)" if batch_first else "(seq_len, batch, hidden)"
        if o.ndim != 3 or 0 in o.shape or (shape is not None and tuple(o.shape) != tuple(shape)):
            want_shape = tuple(shape) if shape is not None else layout
            return [f"the GRU output should be a {want_shape} tensor, got shape {o.shape}: run the "
                    "cells above again, in order."]
        want = o[:, -1] if batch_first else o[-1]
        if l.shape == want.shape and np.array_equal(l, want):
            return []
        wrong = o[-1] if batch_first else o[:, -1]
        if l.shape == wrong.shape and np.array_equal(l, wrong):
            return [f"here the output is {layout}: you took the last "
                    f"{'sequence of the batch' if batch_first else 'sequence'} at every step. The last "
                    f"time step is {'output[:, -1]' if batch_first else 'output[-1]'}."]
        first = o[:, 0] if batch_first else o[0]
        if l.shape == first.shape and np.array_equal(l, first):
            return ["index 0 is the first time step; the last one is -1 (or seq_len − 1)."]
        return [f"expected a {want.shape} tensor holding the last time step of every sequence; the "
                f"output is {layout}."]

    def passed(self, got, **kw):
        return "the last time step of every sequence in the batch."


# ---------------------------------------------------------------------------------------------
# Variable-length batches
# ---------------------------------------------------------------------------------------------
def length_cases(seed, n=3):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        batch, features = _distinct_sizes(rng, 2, 3, 9)
        lengths = [rng.randint(1, 11) for _ in range(batch)]
        while len(set(lengths)) < 2 or sorted(lengths, reverse=True) == lengths:
            lengths = [rng.randint(1, 11) for _ in range(batch)]
        cases.append({"features": features, "lengths": lengths, "classes": rng.randint(3, 9),
                      "seed": rng.randrange(2**31)})
    return cases


def collate_input(case):
    g = torch.Generator().manual_seed(case["seed"])
    seqs = [torch.randn(L, case["features"], generator=g) + 0.5 for L in case["lengths"]]
    labels = torch.randint(0, case["classes"], (len(seqs),), generator=g)
    return [(s, int(y)) for s, y in zip(seqs, labels)]


def _row_order(padded, want):
    """The permutation (list) such that padded[i] == want[order[i]] for every row, if one exists."""
    order, free = [], list(range(len(want)))
    for row in padded:
        match = next((j for j in free if np.allclose(row, want[j])), None)
        if match is None:
            return None
        order.append(match)
        free.remove(match)
    return order


class Collate(Check):
    """``collate(batch) -> (padded, lengths, labels)``; batch is a list of (sequence, label) pairs."""

    name = "a05_collate"

    def probe(self, fn, seed=0, n=3, **kw):
        results = []
        for case in length_cases(seed, n):
            out, raised = attempt(fn, [(s.clone(), y) for s, y in collate_input(case)])
            if raised:
                results.append(raised)
                continue
            if not (isinstance(out, (tuple, list)) and len(out) == 3):
                results.append({"error": f"returned {type(out).__name__}, not a triple"})
                continue
            device = out[1].device.type if isinstance(out[1], torch.Tensor) else None
            results.append({"value": {"padded": _plain(out[0]), "lengths": _plain(out[1]),
                                      "labels": _plain(out[2]), "lengths_device": device}})
        return {"results": results}

    def result(self, seed=0, n=3, **kw):
        triple = Record(padded=Answer(), lengths=Answer(), labels=Answer(),
                        lengths_device=Nullable(Str(40)))
        return Record(results=Cases(Returned(triple), len(length_cases(seed, n))))

    def judge(self, got, seed=0, n=3, **kw):
        for case, returned in zip(length_cases(seed, n), got["results"], strict=True):
            call = f"a batch with lengths {case['lengths']}"
            if "error" in returned:
                return [f"for {call}, collate raised {returned['error']}"]
            value = returned["value"]
            batch = collate_input(case)
            seqs = [s for s, _ in batch]
            want = nn.utils.rnn.pad_sequence(seqs, batch_first=True).numpy()
            padded, lengths, labels = (tensor_record(value[k]) for k in ("padded", "lengths", "labels"))
            if padded is None:
                return [f"for {call}, padded should be a tensor, got {type_name(value['padded'])}."]
            p = padded["data"]
            if p.shape != want.shape:
                if p.shape == (want.shape[1], want.shape[0], want.shape[2]):
                    return [f"for {call}, padded is time-major {p.shape}; the course uses "
                            f"batch_first=True: (batch, longest, features) = {want.shape} "
                            "(pad_sequence(..., batch_first=True))."]
                return [f"for {call}, padded should be (batch, longest length, features) = "
                        f"{want.shape}, not {p.shape}."]
            if not np.allclose(p, want):
                left = np.stack([np.concatenate([np.zeros((want.shape[1] - len(s), s.shape[1])), s.numpy()])
                                 for s in seqs])
                if np.allclose(p, left):
                    return [f"for {call}, you padded on the left. Packing expects every sequence to "
                            "start at step 0: pad at the end (right padding)."]
                order = _row_order(p, want)
                if order is not None:
                    seen = [len(seqs[j]) for j in order]
                    how = ("sorted by length" if seen in (sorted(seen), sorted(seen, reverse=True))
                           else f"in another order (batch rows {order})")
                    return [f"for {call}, the rows of padded are {how}, not in the order of the batch. "
                            "collate must keep the order of the batch: row b of padded, lengths[b] and "
                            "labels[b] all belong to batch[b] — sort the sequences and each label no "
                            "longer lines up with its sequence. (pack_padded_sequence(..., "
                            "enforce_sorted=False) sorts inside and puts h_n back in the batch's order.)"]
                return [f"for {call}, padded should hold each sequence from step 0, then zeros."]
            if lengths is None:
                return [f"lengths should be a tensor (pack_padded_sequence wants a CPU int64 tensor), "
                        f"got {type_name(value['lengths'])}."]
            if lengths["dtype"] != "int64":
                return [f"lengths is {lengths['dtype']}: pack_padded_sequence wants int64 lengths "
                        "(torch.tensor([...], dtype=torch.long))."]
            if value["lengths_device"] != "cpu":
                return ["lengths must stay on the CPU, even when the data goes to a GPU."]
            if list(lengths["data"].reshape(-1)) != case["lengths"]:
                return [f"lengths should be {case['lengths']} (in batch order, not sorted), "
                        f"got {list(lengths['data'].reshape(-1))}."]
            if labels is None or labels["dtype"] != "int64" or \
                    list(labels["data"].reshape(-1)) != [y for _, y in batch]:
                return ["labels should be an int64 tensor of the batch's labels, in batch order "
                        "(CrossEntropyLoss needs int64 class indices)."]
        return []

    def passed(self, got, n=3, **kw):
        return f"right-padded batch, CPU int64 lengths and labels on {n} batches."


def last_valid_cases(seed, n=4):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        batch, hidden, T = _distinct_sizes(rng, 3, 3, 12)
        lengths = [rng.randint(1, T) for _ in range(batch)]
        lengths[rng.randrange(batch)] = T
        if len(set(lengths)) == 1:
            lengths[0] = max(1, T - 2)
        cases.append({"batch": batch, "hidden": hidden, "T": T, "lengths": lengths,
                      "batch_first": bool(i % 2 == 0), "seed": rng.randrange(2**31)})
    return cases


def last_valid_input(case):
    g = torch.Generator().manual_seed(case["seed"])
    out = torch.randn(case["batch"], case["T"], case["hidden"], generator=g)
    if not case["batch_first"]:
        out = out.transpose(0, 1).contiguous()
    return out, torch.tensor(case["lengths"], dtype=torch.int64)


class LastValid(Check):
    """``last_valid(output, lengths, batch_first) -> (batch, hidden)``: each sequence's last real step."""

    name = "a05_last_valid"

    def probe(self, fn, seed=0, n=4, **kw):
        results = []
        for case in last_valid_cases(seed, n):
            out, lengths = last_valid_input(case)
            results.append(_call(fn, out.clone(), lengths.clone(), case["batch_first"]))
        return {"results": results}

    def result(self, seed=0, n=4, **kw):
        return Record(results=Cases(Returned(Answer()), len(last_valid_cases(seed, n))))

    def judge(self, got, seed=0, n=4, **kw):
        for case, returned in zip(last_valid_cases(seed, n), got["results"], strict=True):
            call = f"batch_first={case['batch_first']}, lengths {case['lengths']}"
            if "error" in returned:
                hint = ""
                if "out of bounds" in returned["error"] or "out of range" in returned["error"]:
                    hint = " — a sequence of length L ends at index L − 1."
                return [f"({call}) last_valid raised {returned['error']}{hint}"]
            value = returned["value"]
            out, lengths = last_valid_input(case)
            bf = out if case["batch_first"] else out.transpose(0, 1)
            rows = torch.arange(case["batch"])
            want = bf[rows, lengths - 1].numpy()
            t = tensor_record(value)
            if t is None:
                return [f"({call}) return a tensor, not {type_name(value)}."]
            mine = t["data"]
            if mine.shape != want.shape:
                return [f"({call}) expected shape (batch, hidden) = {want.shape}, got {mine.shape}."]
            if np.allclose(mine, want):
                continue
            if np.allclose(mine, bf[:, -1].numpy()):
                return [f"({call}) that is output[:, -1], the last *padded* step: for every sequence "
                        "shorter than the batch it is the state after reading zeros. Index each row "
                        "at lengths − 1."]
            shifted = bf[rows, lengths.clamp(max=case["T"] - 1)].numpy()
            if np.allclose(mine, shifted):
                return [f"({call}) off by one: a sequence of length L ends at index L − 1."]
            return [f"({call}) row b should be output at time lengths[b] − 1 of sequence b; with "
                    f"batch_first={case['batch_first']} time is dim {1 if case['batch_first'] else 0}."]
        return []

    def passed(self, got, n=4, **kw):
        return f"each sequence's last real step, on {n} batches (both layouts)."


PACKING = ("forward never calls pack_padded_sequence: without packing the model reads padding (or "
           "needs masking by hand), and this exercise is about packing. Pack the batch "
           "(pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)) and "
           "classify from h_n[-1].")


def _batch_and_alone(cls, case):
    """Kernel side: the student's classifier's logits for a padded batch, and for each sequence alone."""
    with torch.random.fork_rng():
        torch.manual_seed(case["seed"])
        model = cls(case["features"], 7, case["classes"])
    model.eval()
    seqs = [s for s, _ in collate_input(case)]
    padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    lengths = torch.tensor(case["lengths"], dtype=torch.int64)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = model(padded, lengths)
        alone = [model(s[None], torch.tensor([len(s)])) for s in seqs]
    return {"batch": batch, "alone": alone}


def _unanswered_class(node) -> bool:
    """A class whose forward is still the released stub: a docstring at most, then
    ``raise NotImplementedError()``."""
    if not isinstance(node, ast.ClassDef):
        return False
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "forward":
            body = [b for b in item.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
            return (len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None
                    and "NotImplementedError" in ast.unparse(body[0].exc))
    return False


class PackedClassifier(Check):
    """A classifier ``cls(num_features, hidden_size, num_classes)`` whose ``forward(padded, lengths)``
    gives, for each sequence of a right-padded batch, the same logits as for that sequence alone.
    Its code must use pack_padded_sequence (``scan``: read from the source)."""

    name = "a05_packed_classifier"

    def probe(self, cls, seed=0, n=2, **kw):
        results = []
        for case in length_cases(seed, n):
            results.append(_detached(capture(_batch_and_alone, cls, case)))
        return {"results": results}

    def result(self, seed=0, n=2, **kw):
        return Record(results=PerCase(
            Returned(Record(batch=Answer(), alone=Cases(Answer(), len(case["lengths"]))))
            for case in length_cases(seed, n)))

    def scan(self, program, answer, **kw):
        try:
            roots = {n.id for n in ast.walk(ast.parse(answer, mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            roots = set()
        if roots and not any(program.definitions(name) for name in roots):
            # The class is in none of the cells read (a kernel that keeps no history, e.g. nbval):
            # nothing to read. A submission cannot bind the name without a cell that defines it
            # (exec, globals() and the like are tampering).
            return []
        definitions = [node for name in roots for node, _ in program.definitions(name)]
        if definitions and all(_unanswered_class(node) for node in definitions):
            return []  # the released stub: the probe says "not answered yet"
        return [] if program.uses(answer, "pack_padded_sequence") else [PACKING]

    def judge(self, got, seed=0, n=2, **kw):
        for case, returned in zip(length_cases(seed, n), got["results"], strict=True):
            call = f"a batch with lengths {case['lengths']} (not sorted)"
            if "error" in returned:
                msg = returned["error"]
                hint = ""
                if "sorted" in msg:
                    hint = (" — lengths of a real batch are not sorted: pass enforce_sorted=False and "
                            "PyTorch sorts (and unsorts h_n) for you.")
                elif "lengths" in msg and ("int64" in msg or "CPU" in msg or "cpu" in msg):
                    hint = " — lengths must be a CPU int64 tensor."
                elif "tuple indices" in msg or "PackedSequence" in msg:
                    hint = (" — on a PackedSequence the GRU's output is packed too: it cannot be indexed "
                            "like a tensor. Classify from h_n[-1], each sequence's state after its own "
                            "last step.")
                return [f"for {call}, the model raised {msg}{hint}"]
            value = returned["value"]
            batch = tensor_record(value["batch"])
            want_shape = (len(case["lengths"]), case["classes"])
            if batch is None or tuple(batch["data"].shape) != want_shape:
                shape = None if batch is None else tuple(batch["data"].shape)
                return [f"for {call}, forward should return logits of shape (batch, num_classes) = "
                        f"{want_shape}, got {shape}."]
            alone = []
            for a in value["alone"]:
                one = tensor_record(a)
                if one is None or tuple(one["data"].shape) != (1, case["classes"]):
                    shape = None if one is None else tuple(one["data"].shape)
                    return [f"for a batch of one sequence, forward should return logits of shape "
                            f"(1, num_classes) = (1, {case['classes']}), got {shape}."]
                alone.append(one["data"])
            alone = np.concatenate(alone)
            if not np.allclose(batch["data"], alone, rtol=1e-4, atol=1e-5):
                diff = [i for i in range(len(alone))
                        if not np.allclose(batch["data"][i], alone[i], rtol=1e-4, atol=1e-5)]
                shorter = [i for i, L in enumerate(case["lengths"]) if L < max(case["lengths"])]
                rows = batch["data"][shorter]
                if diff == shorter and len(shorter) > 1 and np.allclose(rows, rows[:1], rtol=1e-4, atol=1e-5):
                    return [f"for {call}, sequences {diff} — every one shorter than the longest — all get "
                            "the same logits in the batch, other than alone. Your forward packs the batch "
                            "but then reads the output at the last padded step: after "
                            "pad_packed_sequence, output[:, -1] is a row of padding (zeros) for every "
                            "sequence shorter than the longest. Classify from h_n[-1], the state after "
                            "each sequence's own last step (or read the unpacked output at lengths − 1)."]
                if diff == shorter:
                    return [f"for {call}, sequences {diff} — every one shorter than the longest — get "
                            "other logits in the batch than alone: padding reaches their result. Either "
                            "the output is read at the last padded step (output[:, -1] after "
                            "pad_packed_sequence is padding for them: classify from h_n[-1] instead), or "
                            "pack_padded_sequence did not get the real lengths."]
                return [f"for {call}, sequences {diff} get other logits in the batch than alone. Pack the "
                        "batch with the real lengths (pack_padded_sequence(padded, lengths, "
                        "batch_first=True, enforce_sorted=False)) and classify from h_n[-1]."]
        return []

    def passed(self, got, n=2, **kw):
        return f"each sequence gets the same logits in a padded, unsorted batch as alone ({n} batches)."


# ---------------------------------------------------------------------------------------------
# LSTM cell
# ---------------------------------------------------------------------------------------------
def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, mistake=None):
    gates = _linear(x, W_ih, b_ih) + _linear(h, W_hh, b_hh)
    order = {"ifog": (0, 1, 3, 2), "fi_swapped": (1, 0, 2, 3)}.get(mistake, (0, 1, 2, 3))
    chunks = gates.chunk(4, dim=1)
    i, f, g, o = (chunks[k] for k in order)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.sigmoid(g) if mistake == "g_sigmoid" else torch.tanh(g)
    c_new = f * c + i * g
    h_new = o * c_new if mistake == "no_tanh_c" else o * torch.tanh(c_new)
    return h_new, c_new


LSTM_MISTAKES = {
    "ifog": "the chunks are in CS231n's order i, f, o, g; PyTorch stacks them i, f, g, o "
            "(input, forget, cell candidate, output).",
    "fi_swapped": "i and f are swapped: the first chunk is the input gate i, the second the forget "
                  "gate f (c' = f ⊙ c + i ⊙ g).",
    "g_sigmoid": "the cell candidate g uses tanh, not sigmoid (only i, f and o are gates).",
    "no_tanh_c": "h' = o ⊙ tanh(c'): squash the new cell state before the output gate.",
}


class LSTMCellCheck(_CellCheck):
    """``lstm_cell(x_t, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h, c)`` against nn.LSTMCell."""

    name = "a05_lstm_cell"
    what = "lstm_cell"
    forbidden = rules.LSTM_KERNELS
    n, gates, module = 4, 4, nn.LSTMCell

    def judge_case(self, case, value, call):
        if not (isinstance(value, list) and len(value) == 2):
            return f"lstm_cell should return a pair (h, c), got {type_name(value)}."
        x, h, W_ih, W_hh, b_ih, b_hh = gru_cell_inputs(case, 4)
        c = gru_cell_inputs(dict(case, seed=case["seed"] + 1), 4)[1]
        with torch.no_grad():
            want_h, want_c = self.reference(case, (W_ih, W_hh, b_ih, b_hh))(x, (h, c))
        for what, mine, want in (("h", value[0], want_h), ("c", value[1], want_c)):
            problem = _check_tensor(mine, want.shape, case["dtype"], f"{what} ({call})")
            if problem:
                return problem
        mh, mc = value[0]["data"], value[1]["data"]
        if close(mh, want_h.numpy(), case["dtype"]) and close(mc, want_c.numpy(), case["dtype"]):
            return None
        for mistake, message in LSTM_MISTAKES.items():
            vh, vc = lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, mistake)
            if close(mh, vh.numpy(), case["dtype"]) and close(mc, vc.numpy(), case["dtype"]):
                return f"({call}) {message}"
        if close(mc, want_c.numpy(), case["dtype"]):
            return f"({call}) c is right but h is not: h' = o ⊙ tanh(c')."
        return (f"({call}) (h, c) differ from nn.LSTMCell: chunks i, f, g, o; c' = f ⊙ c + i ⊙ g; "
                "h' = o ⊙ tanh(c').")

    def passed(self, got, n=4, **kw):
        return f"matches nn.LSTMCell on {n} configurations."


# ---------------------------------------------------------------------------------------------
# How many numbers a recurrent layer learns
# ---------------------------------------------------------------------------------------------
BLOCKS = {"RNN": (1, "one block"), "GRU": (3, "three blocks, r, z and n"),
          "LSTM": (4, "four blocks, i, f, g and o")}


def parameter_count(module, input_size, hidden_size, blocks=None, biases=2, hh_columns=None):
    """One layer's count: blocks × (W_ih: H × input, W_hh: H × H, ``biases`` vectors of H)."""
    blocks = BLOCKS[module][0] if blocks is None else blocks
    H = hidden_size
    return blocks * (H * input_size + H * (H if hh_columns is None else hh_columns) + biases * H)


class ParamCount(Check):
    """Predict ``sum(p.numel() for p in layer.parameters())`` for a one-layer nn.RNN / GRU / LSTM.

    kw: module ("RNN", "GRU", "LSTM"), kwargs (input_size, hidden_size). The judge counts the real
    module's parameters and names the usual slips: an RNN's count (one block), another layer's
    number of blocks, no biases, one bias instead of two, W_hh read as (·, input_size).
    """

    name = "a05_param_count"

    def probe(self, answer, **kw):
        return {"answer": to_plain(answer)}

    def result(self, **kw):
        return Record(answer=Value())

    def judge(self, got, module, kwargs, **kw):
        answer = got["answer"]
        if answer is None:
            return ["not answered yet: set the variable to a whole number and run its cell again."]
        if isinstance(answer, float) and answer.is_integer():
            answer = int(answer)
        if isinstance(answer, bool) or not isinstance(answer, int):
            return [f"write the count as a whole number, e.g. 1234; got {type_name(answer)} {answer!r}."]
        with torch.random.fork_rng():
            torch.manual_seed(0)
            layer = getattr(nn, module)(**kwargs)
        if answer == sum(p.numel() for p in layer.parameters()):
            return []
        I, H = kwargs["input_size"], kwargs["hidden_size"]
        blocks, what = BLOCKS[module]
        for other, (n, other_what) in BLOCKS.items():
            if other != module and answer == parameter_count(module, I, H, blocks=n):
                extra = (f" nn.{module} computes {what}, each with its own rows of weight_ih, "
                         f"weight_hh and both biases: {blocks} × an RNN's count.")
                return [f"that is the count of an nn.{other} of the same sizes ({other_what})." + extra]
        if answer == parameter_count(module, I, H, biases=0):
            return ["you left out the biases: every block has two, b_ih and b_hh, of hidden_size numbers "
                    f"each ({2 * blocks * H} numbers here)."]
        if answer == parameter_count(module, I, H, biases=1):
            return ["PyTorch keeps two bias vectors per layer, bias_ih and bias_hh, not one (for the GRU "
                    "that is why b_in and b_hn both exist)."]
        if answer == parameter_count(module, I, H, hh_columns=I):
            return [f"weight_hh multiplies h (hidden_size numbers): it is ({blocks}·hidden, hidden), not "
                    f"({blocks}·hidden, input)."]
        return [f"count weight_ih_l0 ({blocks}·hidden × input), weight_hh_l0 ({blocks}·hidden × hidden) "
                f"and the two biases ({blocks}·hidden each), then add them up."]

    def passed(self, got, module="", **kw):
        return f"right: nn.{module} learns {got['answer']} numbers."

