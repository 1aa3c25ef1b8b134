"""Checks for assignment 02, "An RNN from scratch": ``rnn_cell`` and ``rnn_forward``.

The probes build their inputs from the seed and only call the student's function; the judges
rebuild the same inputs, compute the reference with the real ``nn.RNNCell`` / ``nn.RNN`` and, when
the answer differs, compute the typical mistakes one by one (in NumPy) to say which one it is.
"""
from __future__ import annotations

import contextlib
import random
import warnings

import numpy as np
import torch
from torch import nn

from ...checks import rules
from ...checks.contract import Cases, OneOf, Record, Returned, Str, Value
from ...checks.core import Check, capture, to_plain, type_name
from ...checks.support import attempt, close, tensor_data


# ---------------------------------------------------------------------------------------------
# Forbidden shortcuts: PyTorch's own RNN kernels. The grader refuses them from the submission's
# source (rules.Program.reaches, in the trusted process); inside the kernel the probes also make
# them raise, so that such an answer fails early however it got there.
# ---------------------------------------------------------------------------------------------
class ShortcutUsed(RuntimeError):
    """Raised inside the student's code when it reaches one of PyTorch's RNN kernels."""


KERNEL_NAMES = ("rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell")


@contextlib.contextmanager
def guard_kernels(log: list):
    """While active, nn.RNN / nn.RNNCell modules and torch's rnn functions raise ShortcutUsed
    ("use the parameters, not the module") and record what was called in ``log``."""
    patched = []

    def patch(owner, name, label):
        try:
            had = name in vars(owner)
            original = getattr(owner, name)
        except (AttributeError, TypeError):
            return

        def guarded(*args, **kwargs):
            log.append(label)
            raise ShortcutUsed(f"{label} was called: use the parameters, not the module")

        try:
            setattr(owner, name, guarded)
        except (AttributeError, TypeError):
            return
        patched.append((owner, name, original, had))

    patch(nn.RNN, "forward", "the nn.RNN module itself")
    patch(nn.RNNCell, "forward", "nn.RNNCell")
    for name in KERNEL_NAMES:
        patch(torch._VF, name, f"torch._VF.{name}")
        patch(torch, name, f"torch.{name}")
    try:
        yield log
    finally:
        for owner, name, original, had in reversed(patched):
            if had:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


# ---------------------------------------------------------------------------------------------
# rnn_cell
# ---------------------------------------------------------------------------------------------
def _act(name):
    return np.tanh if name == "tanh" else (lambda a: np.maximum(a, 0.0))


def cell_cases(seed, kind="tanh"):
    """Inputs for rnn_cell, as NumPy arrays. Several cases switch all but one term off."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    batch, in_size, hidden = pick.sample(range(2, 9), 3)

    def draw(b=batch, i=in_size, h=hidden, dtype="float32", nl="tanh", scale=1.0, bias=True):
        f = lambda *shape: (rng.standard_normal(shape) * scale).astype(dtype)
        return {"x": f(b, i), "h_prev": f(b, h), "W_ih": f(h, i) * 0.5, "W_hh": f(h, h) * 0.5,
                "b_ih": f(h) if bias else None, "b_hh": f(h) if bias else None, "nonlinearity": nl,
                "desc": ""}

    def zero(case, *names):
        for n in names:
            case[n] = np.zeros_like(case[n])
        return case

    if kind == "tanh":
        cases = [dict(draw(), desc="all terms at once")]
        cases.append(dict(zero(draw(), "h_prev", "b_ih", "b_hh"),
                          desc="h_prev = 0 and both biases 0, so only the input term W_ih x_t is left"))
        cases.append(dict(zero(draw(), "x", "b_ih", "b_hh"),
                          desc="x_t = 0 and both biases 0, so only the recurrent term W_hh h_prev is left"))
        cases.append(dict(zero(draw(), "x", "h_prev"),
                          desc="x_t = 0 and h_prev = 0, so h_t must be tanh(b_ih + b_hh)"))
        cases.append(dict(zero(draw(), "x", "h_prev", "b_ih"),
                          desc="x_t = 0, h_prev = 0 and b_ih = 0, so only b_hh is left"))
        square = draw(i=hidden)
        cases.append(dict(square, desc="input_size == hidden_size, where a missing .T does not crash"))
        ident = zero(draw(), "x", "b_ih", "b_hh")
        ident["W_hh"] = np.eye(hidden, dtype="float32")
        cases.append(dict(ident, desc="W_hh = identity and x_t = 0, so h_t = tanh(h_prev)"))
    else:  # the options: relu, biases None, float64
        cases = [dict(draw(nl="relu", scale=1.5), desc="nonlinearity='relu'"),
                 dict(draw(bias=False), desc="b_ih = b_hh = None (an RNN built with bias=False)"),
                 dict(draw(nl="relu", bias=False, dtype="float64"),
                      desc="relu, no biases, float64"),
                 dict(zero(draw(nl="relu"), "x", "h_prev"),
                      desc="relu with x_t = 0 and h_prev = 0, so h_t = relu(b_ih + b_hh)")]
    return cases


def _t(a):
    return None if a is None else torch.from_numpy(np.array(a, copy=True))


ARGS = ("x", "h_prev", "W_ih", "W_hh", "b_ih", "b_hh")


def reference_cell(case):
    """h_t from the real nn.RNNCell with the case's weights."""
    h, i = case["W_ih"].shape
    bias = case["b_ih"] is not None
    cell = nn.RNNCell(i, h, bias=bias, nonlinearity=case["nonlinearity"], dtype=_t(case["x"]).dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(_t(case["W_ih"]))
        cell.weight_hh.copy_(_t(case["W_hh"]))
        if bias:
            cell.bias_ih.copy_(_t(case["b_ih"]))
            cell.bias_hh.copy_(_t(case["b_hh"]))
        return cell(_t(case["x"]), _t(case["h_prev"])).numpy()


def _z(b, like):
    return np.zeros(like.shape[0], like.dtype) if b is None else b


# name -> (function of the case, the teaching message). Each is one typical mistake.
def _cell_mistakes():
    def parts(c):
        bi, bh = _z(c["b_ih"], c["W_ih"]), _z(c["b_hh"], c["W_hh"])
        return c["x"] @ c["W_ih"].T, bi, c["h_prev"] @ c["W_hh"].T, bh, _act(c["nonlinearity"])

    def square_only(f):
        return lambda c: f(c) if c["W_ih"].shape[0] == c["W_ih"].shape[1] else None

    m = {}
    m["no_b_hh"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + bi + hh))(*parts(c)),
                    "your output ignores b_hh: PyTorch adds two biases, b_ih and b_hh, inside the "
                    "nonlinearity.")
    m["no_b_ih"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + hh + bh))(*parts(c)),
                    "your output ignores b_ih: add it to the input term, W_ih x_t + b_ih.")
    m["no_bias"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + hh))(*parts(c)),
                    "your output ignores both biases, b_ih and b_hh.")
    m["no_h"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + bi + bh))(*parts(c)),
                 "your output ignores h_prev: the recurrent term W_hh h_prev + b_hh is what gives "
                 "the RNN its memory.")
    m["no_x"] = (lambda c: (lambda xi, bi, hh, bh, a: a(bi + hh + bh))(*parts(c)),
                 "your output ignores x_t: add the input term x_t @ W_ih.T.")
    m["act_input_only"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + bi) + hh + bh)(*parts(c)),
                           "tanh was applied to the input term only: the nonlinearity wraps the sum "
                           "of both terms, tanh(W_ih x_t + b_ih + W_hh h_prev + b_hh).")
    m["act_hidden_only"] = (lambda c: (lambda xi, bi, hh, bh, a: xi + bi + a(hh + bh))(*parts(c)),
                            "tanh was applied to the recurrent term only: the nonlinearity wraps the "
                            "sum of both terms.")
    m["act_each_term"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + bi) + a(hh + bh))(*parts(c)),
                          "the nonlinearity was applied to each term separately: apply it once, to "
                          "their sum.")
    m["no_act"] = (lambda c: (lambda xi, bi, hh, bh, a: xi + bi + hh + bh)(*parts(c)),
                   "no nonlinearity: h_t = tanh(...) (or relu), not the plain sum.")
    m["always_tanh"] = (lambda c: None if c["nonlinearity"] == "tanh" else
                        (lambda xi, bi, hh, bh, a: np.tanh(xi + bi + hh + bh))(*parts(c)),
                        "nonlinearity='relu' was ignored: use torch.relu when nonlinearity is "
                        "\"relu\" and torch.tanh otherwise.")
    m["no_T_ih"] = (square_only(lambda c: (lambda xi, bi, hh, bh, a: a(c["x"] @ c["W_ih"] + bi + hh + bh))(*parts(c))),
                    "x @ W_ih instead of x @ W_ih.T: PyTorch stores W_ih as (hidden_size, input_size), "
                    "so the product is x_t @ W_ih.T.")
    m["no_T_hh"] = (lambda c: (lambda xi, bi, hh, bh, a: a(xi + bi + c["h_prev"] @ c["W_hh"] + bh))(*parts(c)),
                    "h_prev @ W_hh instead of h_prev @ W_hh.T: W_hh is (hidden_size, hidden_size) "
                    "stored as (out, in), so the product is h_prev @ W_hh.T (a square matrix hides "
                    "this mistake from the shapes).")
    return m


CELL_MISTAKES = _cell_mistakes()


def error_hint(err: str) -> str:
    if "mat1 and mat2 shapes cannot be multiplied" in err or "size mismatch" in err:
        return ("x @ W_ih instead of x @ W_ih.T? PyTorch stores weights as (out, in): W_ih is "
                "(hidden_size, input_size), so the products are x_t @ W_ih.T and h_prev @ W_hh.T "
                f"({err}).")
    if "NoneType" in err:
        return ("b_ih and b_hh are None for an RNN built with bias=False: add each bias only when it "
                f"is not None ({err}).")
    return err


def _unreadable(found) -> str:
    """The extra sentence when a finding is a name looked up at run time (rules.Program.reaches)."""
    if any("cannot read" in f for f in found):
        return (" A name built at run time counts as a shortcut, because the grader cannot read it: "
                "spell the attribute out, e.g. getattr(rnn, f\"weight_ih_l{k}\").")
    return ""


class RNNCellCheck(Check):
    """``rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh") -> h_t``."""

    name = "a02_rnn_cell"
    forbidden = rules.RNN_KERNELS

    def probe(self, fn, seed=0, kind="tanh", **kw):
        results = []
        for case in cell_cases(seed, kind):
            args = [_t(case[a]) for a in ARGS]
            with warnings.catch_warnings(), guard_kernels([]):
                warnings.simplefilter("ignore")
                results.append(capture(fn, *args, nonlinearity=case["nonlinearity"]))
        return {"results": results}

    def result(self, seed=0, kind="tanh", **kw):
        return Record(results=Cases(Returned(), len(cell_cases(seed, kind))))

    def shortcut_message(self, found):
        return (f"rnn_cell calls {', '.join(found)}: write the step with tensor operations (@, +, "
                "torch.tanh / torch.relu) — use the parameters, not the module." + _unreadable(found))

    def judge(self, got, seed=0, kind="tanh", **kw):
        cases = cell_cases(seed, kind)
        datas = []
        for case, res in zip(cases, got["results"], strict=True):
            call = f"rnn_cell on a case where {case['desc']}"
            if "error" in res:
                return [f"{call} raised: {error_hint(res['error'])}"]
            value = res["value"]
            data = tensor_data(value)
            if data is None:
                return [f"rnn_cell should return a torch.Tensor (h_t), not {type_name(value)}."]
            want_shape = (case["x"].shape[0], case["W_hh"].shape[0])
            if data.shape != want_shape:
                return [f"{call}: h_t has shape {data.shape}; it should be (batch, hidden_size) = "
                        f"{want_shape}, like h_prev."]
            dtype = str(case["x"].dtype)
            if value["dtype"] != dtype:
                return [f"{call}: the inputs are {dtype} but h_t is {value['dtype']}: build h_t from "
                        "the inputs only (no new float32 tensors)."]
            if value["requires_grad"]:
                return [f"{call}: h_t requires grad although none of the inputs does: build h_t from "
                        "the inputs only (no new tensors with requires_grad=True, no nn.Parameter)."]
            datas.append(data)
        refs = [reference_cell(c) for c in cases]
        bad = [i for i, (d, r, c) in enumerate(zip(datas, refs, cases)) if not close(d, r, str(c["x"].dtype))]
        if not bad:
            return []
        for name, (variant, message) in CELL_MISTAKES.items():
            outs = [variant(c) for c in cases]
            usable = [i for i, o in enumerate(outs) if o is not None]
            if bad[0] in usable and all(close(datas[i], outs[i], str(cases[i]["x"].dtype)) for i in usable):
                order = [i for i in usable if i > 0] + [i for i in usable if i == 0]
                where = next((cases[i]["desc"] for i in order  # the most isolating case first
                              if not close(outs[i], refs[i], str(cases[i]["x"].dtype))), "")
                return [message + (f" (seen on the case where {where}.)" if where else "")]
        i = bad[0]
        diff = float(np.max(np.abs(datas[i] - refs[i])))
        return [f"rnn_cell differs from nn.RNNCell on the case where {cases[i]['desc']} (largest "
                f"difference {diff:.3g}). Compare your line with h_t = {cases[i]['nonlinearity']}"
                "(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)."]

    def passed(self, got, kind="tanh", **kw):
        return (f"matches nn.RNNCell on {len(got['results'])} cases"
                + (", each term switched on alone once." if kind == "tanh" else
                   " (relu, no biases, float64)."))


# ---------------------------------------------------------------------------------------------
# rnn_forward
# ---------------------------------------------------------------------------------------------
def forward_cases(seed, part="single"):
    """nn.RNN configurations with all-distinct sizes (so swapped dimensions cannot pass)."""
    pick = random.Random(seed)

    def conf(num_layers=1, batch_first=False, nonlinearity="tanh", bias=True, dtype="float32",
             h0=False, seq_len=None, batch=None):
        in_size, hidden, seq, b = pick.sample(range(4, 11), 4)
        return {"input_size": in_size, "hidden_size": hidden, "num_layers": num_layers,
                "nonlinearity": nonlinearity, "bias": bias, "batch_first": batch_first,
                "seq_len": seq if seq_len is None else seq_len, "batch": b if batch is None else batch,
                "dtype": dtype, "h0": h0}

    if part == "single":
        return [conf(), conf(seq_len=1, batch=1), conf(nonlinearity="relu", bias=False, dtype="float64"),
                conf(nonlinearity="relu", batch=1), conf(seq_len=1, dtype="float64")]
    if part == "layers":
        return [conf(num_layers=2), conf(num_layers=3, dtype="float64"),
                conf(num_layers=2, nonlinearity="relu", bias=False), conf(num_layers=3, seq_len=1)]
    if part == "batch_first":
        return [conf(batch_first=True), conf(batch_first=True, dtype="float64", nonlinearity="relu"),
                conf(batch_first=True, bias=False, seq_len=1)]
    if part == "h0":
        return [conf(h0=True), conf(h0=True, num_layers=2, dtype="float64"),
                conf(h0=True, num_layers=3, nonlinearity="relu"), conf(h0=True, seq_len=1, batch=1)]
    raise ValueError(f"unknown part {part!r}")


def forward_data(case, index, seed):
    """Weights, x and h0 of one case, as NumPy arrays (the same in the probe and the judge)."""
    rng = np.random.default_rng([seed, index])
    H, L, dt = case["hidden_size"], case["num_layers"], case["dtype"]
    k = 1 / np.sqrt(H)
    u = lambda *shape: rng.uniform(-k, k, shape).astype(dt)
    params = {}
    for layer in range(L):
        width = case["input_size"] if layer == 0 else H
        params[f"weight_ih_l{layer}"] = u(H, width)
        params[f"weight_hh_l{layer}"] = u(H, H)
        if case["bias"]:
            params[f"bias_ih_l{layer}"] = u(H)
            params[f"bias_hh_l{layer}"] = u(H)
    T, B = case["seq_len"], case["batch"]
    x_shape = (B, T, case["input_size"]) if case["batch_first"] else (T, B, case["input_size"])
    x = rng.standard_normal(x_shape).astype(dt)
    h0 = (rng.standard_normal((L, B, H)) * 0.5).astype(dt) if case["h0"] else None
    return params, x, h0


def build_rnn(case, params):
    rnn = nn.RNN(case["input_size"], case["hidden_size"], num_layers=case["num_layers"],
                 nonlinearity=case["nonlinearity"], bias=case["bias"], batch_first=case["batch_first"],
                 dtype=getattr(torch, case["dtype"]))
    with torch.no_grad():
        for name, value in params.items():
            getattr(rnn, name).copy_(_t(value))
    return rnn


def describe(case):
    parts = [f"nn.RNN({case['input_size']}, {case['hidden_size']}"]
    for key, default in (("num_layers", 1), ("nonlinearity", "tanh"), ("bias", True),
                         ("batch_first", False)):
        if case[key] != default:
            parts.append(f"{key}={case[key]!r}")
    shape = ((case["batch"], case["seq_len"]) if case["batch_first"] else (case["seq_len"], case["batch"]))
    text = ", ".join(parts) + f") on a {case['dtype']} input of shape {shape + (case['input_size'],)}"
    return text + (" with an h0" if case["h0"] else "")


def np_forward(case, params, x, h0, cell=None):
    """The recurrence in NumPy (for the judge's mistake variants): (output, h_n, per-layer outputs)."""
    act = _act(case["nonlinearity"])
    cell = cell or (lambda c: act(c["x"] @ c["W_ih"].T + _z(c["b_ih"], c["W_ih"]) + c["h_prev"] @ c["W_hh"].T
                                  + _z(c["b_hh"], c["W_hh"])))
    seq = np.swapaxes(x, 0, 1) if case["batch_first"] else x
    L, B, H = case["num_layers"], case["batch"], case["hidden_size"]
    h_n, layers = [], []
    for layer in range(L):
        h = np.zeros((B, H), x.dtype) if h0 is None else h0[layer]
        outs = []
        for t in range(seq.shape[0]):
            h = cell({"x": seq[t], "h_prev": h, "W_ih": params[f"weight_ih_l{layer}"],
                      "W_hh": params[f"weight_hh_l{layer}"], "b_ih": params.get(f"bias_ih_l{layer}"),
                      "b_hh": params.get(f"bias_hh_l{layer}"), "nonlinearity": case["nonlinearity"]})
            if h is None:
                return None
            outs.append(h)
        seq = np.stack(outs)
        layers.append(seq)
        h_n.append(h)
    out = np.swapaxes(seq, 0, 1) if case["batch_first"] else seq
    return out, np.stack(h_n), layers


def forward_mistakes(case, params, x, h0):
    """(output, h_n, message) for the typical rnn_forward mistakes that fit this case."""
    found = []
    T, B, I, H = case["seq_len"], case["batch"], case["input_size"], case["hidden_size"]
    if case["batch_first"] and T > 1 and B > 1:
        wrong_in = dict(case, batch_first=False)
        out_tm, hn, _ = np_forward(wrong_in, params, x.reshape(T, B, I), h0)
        found.append((out_tm.reshape(B, T, H), hn,
                      "use transpose, not reshape, for batch_first: x.reshape(seq_len, batch, ...) "
                      "keeps the right shape but mixes up the time steps of different sequences. "
                      "x.transpose(0, 1) swaps the axes (and swap the output back the same way)."))
        out_tm, hn, _ = np_forward(dict(case, batch_first=False), params, np.swapaxes(x, 0, 1), h0)
        found.append((out_tm.reshape(B, T, H), hn,
                      "use transpose, not reshape, for batch_first: your input is right, but the "
                      "output was reshaped to (batch, seq_len, hidden), which scrambles its rows; "
                      "use output.transpose(0, 1)."))
    if h0 is not None:
        out, hn, _ = np_forward(case, params, x, None)
        found.append((out, hn, "your rnn_forward ignores h0: each layer must start from its own "
                               "slice, h0[layer], when h0 is given (zeros only when h0 is None)."))
        if case["num_layers"] > 1:
            h0_first = np.zeros_like(h0)
            h0_first[0] = h0[0]
            out, hn, _ = np_forward(case, params, x, h0_first)
            found.append((out, hn, "only layer 0 starts from h0: layer k starts from h0[k]."))
            h0_same = np.stack([h0[0]] * case["num_layers"])
            out, hn, _ = np_forward(case, params, x, h0_same)
            found.append((out, hn, "every layer starts from h0[0]: layer k starts from h0[k]."))
    if case["num_layers"] > 1:
        out, hn, layers = np_forward(case, params, x, h0)
        first = np.swapaxes(layers[0], 0, 1) if case["batch_first"] else layers[0]
        found.append((first, None, "output holds the hidden states of the *last* layer at every "
                                   "step; yours holds layer 0's."))
    for name, (variant, message) in CELL_MISTAKES.items():
        res = np_forward(case, params, x, h0, cell=variant)
        if res is not None:
            found.append((res[0], res[1], "the loop may be right, but the values match an rnn_cell "
                                          "with this mistake — " + message + " Fix rnn_cell first."))
    return found


class RNNForwardCheck(Check):
    """``rnn_forward(rnn, x, h0=None) -> (output, h_n)`` against the real nn.RNN."""

    name = "a02_rnn_forward"
    forbidden = rules.RNN_KERNELS
    module_param = True  # rnn_forward(rnn, ...): calling rnn itself is the shortcut

    def probe(self, fn, seed=0, part="single", **kw):
        results = []
        for index, case in enumerate(forward_cases(seed, part)):
            params, x, h0 = forward_data(case, index, seed)
            rnn = build_rnn(case, params)
            args = (rnn, _t(x)) if h0 is None else (rnn, _t(x), _t(h0))
            with warnings.catch_warnings(), guard_kernels([]):
                warnings.simplefilter("ignore")
                answer, raised = attempt(fn, *args)
            if raised:
                results.append(raised)
            elif not isinstance(answer, (tuple, list)) or len(answer) != 2:
                results.append({"error": f"rnn_forward should return a pair (output, h_n), got "
                                         f"{type(answer).__name__}"})
            else:
                results.append({"output": to_plain(answer[0]), "h_n": to_plain(answer[1])})
        return {"results": results}

    def result(self, seed=0, part="single", **kw):
        entry = OneOf(Record(output=Value(), h_n=Value()), Record(error=Str()))
        return Record(results=Cases(entry, len(forward_cases(seed, part))))

    def shortcut_message(self, found):
        return (f"rnn_forward uses {', '.join(found)}, which runs PyTorch's own RNN kernel — no credit "
                "for this part. Use the parameters, not the module: read rnn.weight_ih_l0, "
                "rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0 (and _l1, _l2, ...) and loop over "
                "time with your rnn_cell." + _unreadable(found))

    def judge(self, got, seed=0, part="single", **kw):
        for index, (case, res) in enumerate(zip(forward_cases(seed, part), got["results"], strict=True)):
            problem = self._judge_case(case, index, seed, res)
            if problem:
                return [f"{describe(case)}: {problem}"]
        return []

    def _judge_case(self, case, index, seed, res):
        if "error" in res:
            return f"rnn_forward raised {error_hint(res['error'])}"
        out, hn = tensor_data(res["output"]), tensor_data(res["h_n"])
        if out is None or hn is None:
            return (f"return (output, h_n), two tensors; got ({type_name(res['output'])}, "
                    f"{type_name(res['h_n'])}).")
        params, x, h0 = forward_data(case, index, seed)
        rnn = build_rnn(case, params)
        with torch.no_grad():
            ref_out, ref_hn = rnn(_t(x)) if h0 is None else rnn(_t(x), _t(h0))
        ref_out, ref_hn = ref_out.numpy(), ref_hn.numpy()
        L, B, T, H = case["num_layers"], case["batch"], case["seq_len"], case["hidden_size"]
        if out.shape != ref_out.shape:
            if out.shape == (ref_out.shape[1], ref_out.shape[0], H):
                return (f"output has shape {out.shape}, expected {ref_out.shape}: output comes back in "
                        "the input's layout — (batch, seq_len, hidden) when batch_first=True.")
            return f"output has shape {out.shape}, expected {ref_out.shape}."
        if hn.shape != ref_hn.shape:
            if L > 1 and hn.shape in ((1, B, H), (B, H)):
                return ("h_n is the last time step of every layer, not only the last layer: its shape "
                        f"is (num_layers, batch, hidden_size) = {ref_hn.shape}, not {hn.shape}.")
            if hn.shape == (B, L, H):
                return ("h_n is (num_layers, batch, hidden_size) even when batch_first=True: "
                        f"expected {ref_hn.shape}, got {hn.shape}.")
            return f"h_n has shape {hn.shape}, expected (num_layers, batch, hidden_size) = {ref_hn.shape}."
        dtype = case["dtype"]
        for label, value in (("output", res["output"]), ("h_n", res["h_n"])):
            if value["dtype"] != dtype:
                return (f"{label} is {value['dtype']} but the layer and x are {dtype}: create new "
                        "tensors with x.new_zeros(...) or dtype=x.dtype.")
        ok_out, ok_hn = close(out, ref_out, dtype), close(hn, ref_hn, dtype)
        if ok_out and ok_hn:
            return None
        for v_out, v_hn, message in forward_mistakes(case, params, x, h0):
            if close(out, v_out, dtype) and (v_hn is None or close(hn, v_hn, dtype)):
                return message
        if ok_out and L > 1 and close(hn, np.stack([ref_hn[-1]] * L), dtype):
            return ("h_n is the last time step of every layer, not only the last layer: "
                    "h_n[k] is layer k's final hidden state.")
        which = "h_n" if ok_out else "output"
        want, have = (ref_hn, hn) if ok_out else (ref_out, out)
        return (f"{which} differs from nn.RNN's (largest difference "
                f"{float(np.max(np.abs(want - have))):.3g}).")

    def passed(self, got, part="single", **kw):
        return f"matches the real nn.RNN on {len(got['results'])} configurations ({part})."
