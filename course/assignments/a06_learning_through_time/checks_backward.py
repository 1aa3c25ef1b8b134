"""Checks for assignment 06, Parts A and D: ``rnn_backward`` (backpropagation through time by hand)
and ``train_step`` (a clipped training step).

The probes build their inputs from the seed and only call the student's function. The judges rebuild
the same inputs and compute the reference with the real ``nn.RNN`` and ``torch.autograd``; when the
answer differs, they compute the usual mistakes one at a time (in NumPy, or with PyTorch for the
training step) to say which one it is.
"""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...checks import rules
from ...checks.contract import Array, Cases, Record, Returned, Value
from ...checks.core import Check, capture, to_plain, type_name
from ...checks.support import ProbeNet, close, is_tensor, number, param_arrays, tensor_data
from . import bptt

GRADS = ("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh")


# ---------------------------------------------------------------------------------------------
# Part A: rnn_backward(d_output, cache) -> {"x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"}
# ---------------------------------------------------------------------------------------------
class AutogradUsed(RuntimeError):
    """Raised inside the student's code when it asks autograd for the gradients."""


@contextlib.contextmanager
def guard_autograd():
    """While active, Tensor.backward, torch.autograd.backward and torch.autograd.grad raise: Part A's
    gradients are to be computed by hand (the trusted scan refuses such answers from the source too)."""
    patched = []

    def patch(owner, name, label):
        original = getattr(owner, name)

        def refused(*args, **kwargs):
            raise AutogradUsed(f"{label} was called: compute the gradients by hand, without autograd")

        setattr(owner, name, refused)
        patched.append((owner, name, original))

    patch(torch.Tensor, "backward", "Tensor.backward()")
    patch(torch.autograd, "backward", "torch.autograd.backward")
    patch(torch.autograd, "grad", "torch.autograd.grad")
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def backward_cases(seed, part="time"):
    """One-layer tanh RNN configurations, all sizes distinct, float64 (so rounding never hides a mistake).
    part="step": single time steps only (the local derivatives); "time": the gradient through time."""
    pick = random.Random(seed)

    def conf(desc, batch_first=False, bias=True, loss="every", seq_len=None):
        seq, batch, in_size, hidden = pick.sample(range(2, 9), 4)
        if seq == 1:
            seq = 9
        return {"seq_len": seq if seq_len is None else seq_len, "batch": batch, "input_size": in_size,
                "hidden_size": hidden, "batch_first": batch_first, "bias": bias, "loss": loss,
                "desc": desc}

    if part == "step":
        return [conf("a single time step: no gradient travels through time", seq_len=1),
                conf("a single time step with bias=False: b_ih and b_hh are None", seq_len=1, bias=False),
                conf("a single time step, batch_first=True", seq_len=1, batch_first=True)]
    if part == "time":
        return [conf("the loss reads every output"),
                conf("the loss reads only the last output (as a classifier's head does), so every earlier "
                     "step gets its gradient through h_{t+1} alone", loss="last"),
                conf("batch_first=True", batch_first=True),
                conf("bias=False: b_ih and b_hh are None", bias=False)]
    raise ValueError(f"unknown part {part!r}")


def backward_data(case, index, seed):
    """x, h0, weights and d_output of one case as float64 NumPy arrays (the same in probe and judge)."""
    rng = np.random.default_rng([seed, index, 6])
    T, B, I, H = case["seq_len"], case["batch"], case["input_size"], case["hidden_size"]
    k = 1.5 / np.sqrt(H)   # a bit above nn.RNN's init, so that tanh' is far from 1 and every term counts
    u = lambda *shape: rng.uniform(-k, k, shape)
    data = {"W_ih": u(H, I), "W_hh": u(H, H), "b_ih": u(H) if case["bias"] else None,
            "b_hh": u(H) if case["bias"] else None,
            "x": rng.standard_normal((B, T, I) if case["batch_first"] else (T, B, I)),
            "h0": rng.standard_normal((B, H)) * 0.5}
    d_out = rng.standard_normal((T, B, H))
    if case["loss"] == "last":
        d_out[:-1] = 0.0
    data["d_output"] = np.swapaxes(d_out, 0, 1).copy() if case["batch_first"] else d_out
    return data


def _t(a):
    return None if a is None else torch.from_numpy(np.array(a, copy=True))


def reference_grads(case, data):
    """The gradients from the real nn.RNN and torch.autograd, for loss = sum(output * d_output)."""
    rnn = nn.RNN(case["input_size"], case["hidden_size"], bias=case["bias"],
                 batch_first=case["batch_first"], dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(_t(data["W_ih"]))
        rnn.weight_hh_l0.copy_(_t(data["W_hh"]))
        if case["bias"]:
            rnn.bias_ih_l0.copy_(_t(data["b_ih"]))
            rnn.bias_hh_l0.copy_(_t(data["b_hh"]))
    x = _t(data["x"]).requires_grad_()
    h0 = _t(data["h0"]).requires_grad_()
    output, _ = rnn(x, h0.unsqueeze(0))
    (output * _t(data["d_output"])).sum().backward()
    grads = {"x": x.grad.numpy(), "h0": h0.grad.numpy(), "W_ih": rnn.weight_ih_l0.grad.numpy(),
             "W_hh": rnn.weight_hh_l0.grad.numpy(), "b_ih": None, "b_hh": None}
    if case["bias"]:
        grads["b_ih"], grads["b_hh"] = rnn.bias_ih_l0.grad.numpy(), rnn.bias_hh_l0.grad.numpy()
    return grads


def np_backward(case, data, recurrent=True, deriv="1-h2", back="W_hh", dW_hh="da.T@h_prev",
                batch="sum", h0="da@W_hh", biases="both"):
    """BPTT in NumPy with one step of it done the wrong way (the keyword names what is done)."""
    bf = case["batch_first"]
    x = np.swapaxes(data["x"], 0, 1) if bf else data["x"]
    dout = np.swapaxes(data["d_output"], 0, 1) if bf else data["d_output"]
    W_ih, W_hh, b = data["W_ih"], data["W_hh"], data["b_ih"]
    pre_bias = 0.0 if b is None else b + data["b_hh"]
    hs = [data["h0"]]
    for t in range(x.shape[0]):
        hs.append(np.tanh(x[t] @ W_ih.T + hs[-1] @ W_hh.T + pre_bias))
    dx, dW_ih, dWhh, db = np.zeros_like(x), np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh_next = np.zeros_like(hs[0])
    dh = da = None
    for t in reversed(range(x.shape[0])):
        dh = dout[t] + (dh_next if recurrent else 0.0)
        da = {"1-h2": dh * (1 - hs[t + 1] ** 2), "h": dh * hs[t + 1], "none": dh,
              "1-h_prev2": dh * (1 - hs[t] ** 2)}[deriv]
        dx[t] = da @ W_ih
        dW_ih += da.T @ x[t]
        dWhh += {"da.T@h_prev": da.T @ hs[t], "h_prev.T@da": hs[t].T @ da, "da.T@h": da.T @ hs[t + 1]}[dW_hh]
        db += da.sum(0)
        dh_next = da @ (W_hh if back == "W_hh" else W_hh.T)
    if batch == "mean":
        B = x.shape[1]
        dW_ih, dWhh, db = dW_ih / B, dWhh / B, db / B
    elif batch == "mean_bias":
        db = db / x.shape[1]
    if biases == "last_step":              # db = da.sum(0) inside the loop: only step 0's share is left
        db = da.sum(0)
    dh0 = {"da@W_hh": dh_next, "zero": np.zeros_like(dh_next), "dh": dh}[h0]
    grads = {"x": np.swapaxes(dx, 0, 1) if bf else dx, "h0": dh0, "W_ih": dW_ih, "W_hh": dWhh,
             "b_ih": None, "b_hh": None}
    if b is not None:
        grads["b_ih"] = db
        grads["b_hh"] = np.zeros_like(db) if biases == "b_ih" else db
    return grads


# name -> (the NumPy variant's keywords, the message)
BACKWARD_MISTAKES = {
    "no_recurrent": (dict(recurrent=False),
                     "the gradient flowing from h_{t+1} back into h_t is missing: at step t, "
                     "dL/dh_t = d_output[t] + (what step t+1 sent back, da_{t+1} @ W_hh). Without it "
                     "only the loss at the same step reaches the weights — nothing is learnt through time."),
    "deriv_h": (dict(deriv="h"),
                "you multiplied by tanh(a_t) = h_t: the derivative of tanh is 1 - tanh(a_t)^2, so "
                "da_t = dh_t * (1 - h_t**2)."),
    "deriv_none": (dict(deriv="none"),
                   "the derivative of tanh is missing: before it reaches the weights the gradient "
                   "passes through tanh, da_t = dh_t * (1 - h_t**2)."),
    "deriv_prev": (dict(deriv="1-h_prev2"),
                   "tanh's derivative uses the wrong state: cache[\"h\"] starts with h_0, so step t "
                   "wrote cache[\"h\"][t + 1]; da = dh * (1 - cache[\"h\"][t + 1]**2)."),
    "dW_hh_T": (dict(dW_hh="h_prev.T@da"),
                "dW_hh is transposed: W_hh is stored (out, in), so its gradient is da.T @ h_t "
                "(a square matrix hides this from the shapes)."),
    "dW_hh_h": (dict(dW_hh="da.T@h"),
                "dW_hh pairs da with the wrong state: W_hh multiplied the state that went *into* "
                "step t, h_t = cache[\"h\"][t] (not the one it wrote, cache[\"h\"][t + 1]), so "
                "dW_hh += da.T @ cache[\"h\"][t]."),
    "back_T": (dict(back="W_hh.T"),
               "the gradient sent back to h_{t-1} is da_t @ W_hh: the forward pass used h_{t-1} @ W_hh.T, "
               "so the backward pass multiplies by W_hh itself, not by its transpose."),
    "mean_batch": (dict(batch="mean"),
                   "the weight and bias gradients are averaged over the batch: the loss adds up every "
                   "sequence's terms, so sum over the batch (as autograd does), like dx, which stays per "
                   "sequence."),
    "mean_batch_bias": (dict(batch="mean_bias"),
                        "the bias gradients are averaged over the batch (da.mean(0)): the loss adds up "
                        "every sequence's terms, so sum them, da.sum(0), as for the weights."),
    "bias_not_accumulated": (dict(biases="last_step"),
                             "the bias gradients hold only one step's share: b_ih and b_hh are used at "
                             "every step, so add up da.sum(0) over all the steps (db += ...), as for "
                             "the weights."),
    "h0_zero": (dict(h0="zero"),
                "h0's gradient is zero: h0 fed step 0, so it receives what step 0 sends back, "
                "da_0 @ W_hh — the dh_next left after the loop."),
    "h0_dh": (dict(h0="dh"),
              "your h0 gradient is dL/dh_1 (the state *after* step 0): pass it back through step 0 too, "
              "dL/dh0 = da_0 @ W_hh."),
    "one_bias": (dict(biases="b_ih"),
                 "b_hh gets no gradient: b_ih and b_hh are added at the same place, so both get the sum "
                 "of da_t over the batch and the time steps."),
}


def _np(value):
    data = tensor_data(value)
    return None if data is None else np.asarray(data)


def _shape_problem(key, got, want, case):
    if got.shape == want.shape:
        return ""
    T, B, I, H = case["seq_len"], case["batch"], case["input_size"], case["hidden_size"]
    layout = "(batch, seq_len, input_size)" if case["batch_first"] else "(seq_len, batch, input_size)"
    hints = {"x": f"the gradient of x has x's shape, {layout} = {want.shape}"
                  + (" — with batch_first=True transpose it back at the end" if case["batch_first"] else "")
                  + (": keep one gradient per sequence (no sum over the batch)" if len(got.shape) == 2 else ""),
             "h0": f"the gradient of h0 has h0's shape, (batch, hidden_size) = {want.shape}",
             "W_ih": f"dW_ih has W_ih's shape, (hidden_size, input_size) = {want.shape}: da_t.T @ x_t",
             "W_hh": f"dW_hh has W_hh's shape, (hidden_size, hidden_size) = {want.shape}",
             "b_ih": f"db_ih has b_ih's shape, (hidden_size,) = {want.shape}: sum da_t over the batch",
             "b_hh": f"db_hh has b_hh's shape, (hidden_size,) = {want.shape}: sum da_t over the batch"}
    return f"{key} has shape {got.shape}; {hints[key]}."


def backward_error_hint(err, case):
    if case["batch_first"] and ("size" in err or "shape" in err or "match" in err):
        return (f"{err}. With batch_first=True, d_output is (batch, seq_len, hidden_size): make it "
                "time-major first, d_output.transpose(0, 1) (cache[\"x\"] already is).")
    if "NoneType" in err:
        return f"{err}. With bias=False cache[\"b_ih\"] is None: return None for both bias gradients."
    if "mat1 and mat2" in err:
        return (f"{err}. Check each product's shapes: da_t is (batch, hidden), x_t (batch, input), "
                "W_ih (hidden, input), W_hh (hidden, hidden).")
    return err


class RNNBackwardCheck(Check):
    """``rnn_backward(d_output, cache) -> dict`` of the gradients of x, h0, W_ih, W_hh, b_ih, b_hh."""

    name = "a06_rnn_backward"
    forbidden = rules.AUTOGRAD | rules.RNN_KERNELS

    def probe(self, fn, seed=0, part="time", **kw):
        results = []
        for i, case in enumerate(backward_cases(seed, part)):
            d = backward_data(case, i, seed)
            _, cache = bptt.rnn_forward_cached(_t(d["x"]), _t(d["h0"]), _t(d["W_ih"]), _t(d["W_hh"]),
                                               _t(d["b_ih"]), _t(d["b_hh"]), case["batch_first"])
            with guard_autograd():
                results.append(capture(fn, _t(d["d_output"]), cache))
        return {"results": results}

    def result(self, seed=0, part="time", **kw):
        return Record(results=Cases(Returned(), len(backward_cases(seed, part))))

    def shortcut_message(self, found):
        return (f"rnn_backward uses {', '.join(found)}: the point of Part A is to compute the gradients "
                "by hand, walking back through time — no autograd (.backward(), torch.autograd) and no "
                "nn.RNN. The check compares your numbers with autograd's.")

    def judge(self, got, seed=0, part="time", **kw):
        cases = backward_cases(seed, part)
        answers = []
        for i, (case, res) in enumerate(zip(cases, got["results"], strict=True)):
            call = f"on the case: {case['desc']}"
            if "error" in res:
                return [f"rnn_backward raised {call}: {backward_error_hint(res['error'], case)}"]
            value = res["value"]
            if not isinstance(value, dict) or is_tensor(value):
                return [f"rnn_backward should return a dict with the keys {', '.join(GRADS)}, not "
                        f"{type_name(value)}."]
            missing = [k for k in GRADS if k not in value]
            if missing:
                return [f"the returned dict lacks {', '.join(missing)}: return the gradients of "
                        f"{', '.join(GRADS)} (None for the biases when there are none)."]
            extra = sorted(str(k) for k in value if k not in GRADS)
            if extra:
                return [f"the returned dict has keys it should not have ({', '.join(extra)[:80]}): return "
                        f"exactly {', '.join(GRADS)}."]
            want = reference_grads(case, backward_data(case, i, seed))
            answer = {}
            for key in GRADS:
                if want[key] is None:
                    if value[key] is not None:
                        return [f"{call}: {key} should be None — the RNN has no biases."]
                    answer[key] = None
                    continue
                data = _np(value[key])
                if data is None:
                    return [f"{call}: {key} should be a tensor, not {type_name(value[key])}."]
                if value[key].get("requires_grad"):
                    return [f"{call}: the gradient of {key} requires grad, so it was computed on a graph: "
                            "build it from the cache's tensors with plain tensor operations (they carry "
                            "no graph), not from parameters or tensors that require grad."]
                problem = _shape_problem(key, data, want[key], case)
                if problem:
                    return [f"{call}: {problem}"]
                answer[key] = data
            answers.append((case, backward_data(case, i, seed), answer, want))
        for case, data, answer, want in answers:
            wrong = [k for k in GRADS if want[k] is not None and not close(answer[k], want[k], "float64")]
            if not wrong:
                continue
            for name, (kwargs, message) in BACKWARD_MISTAKES.items():
                variant = np_backward(case, data, **kwargs)
                if all(close(answer[k], variant[k], "float64") for k in GRADS if want[k] is not None):
                    where = self._most_isolating(answers, kwargs)
                    return [message + (f" (Seen on the case: {where}.)" if where else "")]
            diff = max(float(np.max(np.abs(answer[k] - want[k]))) for k in wrong)
            return [f"on the case: {case['desc']}, the gradients of {', '.join(wrong)} differ from "
                    f"autograd's (largest difference {diff:.3g}). Walk back from t = T-1 to 0 with "
                    "h = cache[\"h\"]: dh = d_output[t] + dh_next; da = dh * (1 - h[t + 1]**2); "
                    "dx[t] = da @ W_ih; dW_ih += da.T @ x[t]; dW_hh += da.T @ h[t]; db += da.sum(0); "
                    "dh_next = da @ W_hh."]
        return []

    @staticmethod
    def _most_isolating(answers, kwargs):
        """The description of the case where this mistake shows most plainly (the last-output loss
        isolates the path through time)."""
        for case, data, _, want in sorted(answers, key=lambda a: a[0]["loss"] != "last"):
            variant = np_backward(case, data, **kwargs)
            if any(want[k] is not None and not close(variant[k], want[k], "float64") for k in GRADS):
                return case["desc"]
        return ""

    def passed(self, got, part="time", **kw):
        what = ("one time step (with and without biases, batch_first)" if part == "step" else
                "whole sequences (a loss on every step or on the last only, batch_first, no biases)")
        return f"equals autograd on nn.RNN for all six gradients, on {len(got['results'])} cases: {what}."


# ---------------------------------------------------------------------------------------------
# Part D: train_step(model, batch, optimizer, max_norm) -> (loss, norm)
# ---------------------------------------------------------------------------------------------
def step_setup(seed):
    """A seeded model whose gradients are far above max_norm (W_hh scaled up), two batches, max_norm."""
    pick = random.Random(seed)
    I, H, C, B, T = pick.sample(range(2, 10), 5)
    rng = np.random.default_rng([seed, 60])
    model = ProbeNet(I, H, C)   # the course's known classifier: nn.RNN → last step → nn.Linear
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 2.5 / np.sqrt(H) if name == "rnn.weight_hh_l0" else 1.0 / np.sqrt(H)
            p.copy_(torch.from_numpy(rng.uniform(-scale, scale, tuple(p.shape)).astype("float32")))
    batches = [(torch.from_numpy((rng.standard_normal((B, T, I)) * 2).astype("float32")),
                torch.from_numpy(rng.integers(0, C, B)).long()) for _ in range(2)]
    max_norm = float(pick.choice([0.02, 0.05, 0.1]))
    return model, batches, max_norm


LR = 0.5


def reference_steps(seed, clip="after_backward", zero_grad=True, loss_after=False, params="all",
                    max_norm=None):
    """Two steps of the reference (or of a mistaken variant): [(loss, norm)], [params after each]."""
    model, batches, default_norm = step_setup(seed)
    max_norm = default_norm if max_norm is None else max_norm
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    returned, after = [], []
    clipped = list(model.parameters()) if params == "all" else list(model.rnn.parameters())
    for x, y in batches:
        if zero_grad:
            opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))  # measure only
        if clip == "after_backward":
            torch.nn.utils.clip_grad_norm_(clipped, max_norm)
        elif clip == "value":
            torch.nn.utils.clip_grad_value_(clipped, max_norm)
        elif clip == "each":
            for p in clipped:
                torch.nn.utils.clip_grad_norm_([p], max_norm)
        opt.step()
        if loss_after:
            with torch.no_grad():
                loss = F.cross_entropy(model(x), y)
        returned.append((loss.item(), norm))
        after.append(param_arrays(model))
    return returned, after


# name -> (the variant's keywords, the message)
STEP_MISTAKES = {
    "no_clip": (dict(clip=None),
                "the update was not clipped: call torch.nn.utils.clip_grad_norm_(model.parameters(), "
                "max_norm) after loss.backward() (the gradients exist only then) and before "
                "optimizer.step() (which uses them). Clipping before backward() or after step() changes "
                "nothing."),
    "value": (dict(clip="value"),
              "that is clip_grad_value_, which clamps every number on its own and changes the gradient's "
              "direction; clip_grad_norm_ rescales the whole gradient vector so its norm is at most "
              "max_norm."),
    "each": (dict(clip="each"),
             "each parameter tensor was clipped on its own: clip them all as one vector, "
             "clip_grad_norm_(model.parameters(), max_norm), so the update keeps its direction and its "
             "total norm is max_norm."),
    "max_norm_1": (dict(max_norm=1.0),
                   "the gradient was clipped to norm 1, not to the max_norm you were given: pass max_norm "
                   "on to clip_grad_norm_."),
    "some_params": (dict(params="rnn"),
                    "only the recurrent layer's gradients were clipped: clip model.parameters(), all of "
                    "them together, so the whole update is rescaled as one vector."),
    "no_zero_grad": (dict(zero_grad=False),
                     "the second step used the gradients of both batches: call optimizer.zero_grad() at "
                     "the start of every step (backward() adds to .grad)."),
}


class TrainStepCheck(Check):
    """``train_step(model, batch, optimizer, max_norm) -> (loss, norm)``, called twice on a known model
    whose gradients are far above max_norm; the parameters after each call are compared."""

    name = "a06_train_step"

    def probe(self, fn, seed=0, **kw):
        model, batches, max_norm = step_setup(seed)
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        calls, params = [], []
        for batch in batches:
            calls.append(capture(fn, model, batch, opt, max_norm))
            params.append(param_arrays(model))
        return {"calls": calls, "params": params}

    def result(self, seed=0, **kw):
        model, _, _ = step_setup(seed)
        spec = Record({name: Array("f", shape=tuple(p.shape)) for name, p in model.named_parameters()})
        return Record(calls=Cases(Returned(), 2), params=Cases(spec, 2))

    def judge(self, got, seed=0, **kw):
        for i, call in enumerate(got["calls"]):
            if "error" in call:
                return [f"train_step raised on call {i + 1}: {call['error']}"]
        returned, want = reference_steps(seed)
        params = got["params"]

        def same(a, b):
            return set(a) == set(b) and all(close(a[k], b[k], atol=1e-5, rtol=1e-4) for k in a)

        if not same(params[0], want[0]) or not same(params[1], want[1]):
            start = param_arrays(step_setup(seed)[0])
            if same(params[0], start):
                return ["the weights did not change: call loss.backward(), then clip, then "
                        "optimizer.step()."]
            for name, (kwargs, message) in STEP_MISTAKES.items():
                _, variant = reference_steps(seed, **kwargs)
                if same(params[0], variant[0]) and same(params[1], variant[1]):
                    return [message]
            return ["after the step the weights differ from one clipped SGD step (zero_grad → forward → "
                    "cross_entropy → backward → clip_grad_norm_(model.parameters(), max_norm) → step)."]
        for i, call in enumerate(got["calls"]):
            value = call["value"]
            if not isinstance(value, list) or len(value) != 2:
                return ["return two numbers, (loss, norm): loss.item() and what clip_grad_norm_ returned "
                        f"(the norm before clipping); got {type_name(value)}."]
            loss, norm = value
            if is_tensor(loss):
                return ["return the loss as a Python float (loss.item()), not a tensor that keeps the "
                        "graph alive."]
            norm_data = tensor_data(norm)
            norm_value = (float(norm_data.reshape(-1)[0]) if norm_data is not None and norm_data.size == 1
                          else number(norm))
            if number(loss) is None or norm_value is None:
                return [f"return (loss, norm) as two numbers; got ({type_name(loss)}, {type_name(norm)})."]
            want_loss, want_norm = returned[i]
            if not np.isclose(loss, want_loss, rtol=1e-4, atol=1e-5):
                late = reference_steps(seed, loss_after=True)[0][i][0]
                if np.isclose(loss, late, rtol=1e-4, atol=1e-5):
                    return ["that loss was computed after the step: return the loss of the forward pass "
                            "the gradients came from."]
                return [f"call {i + 1}: the loss of this batch is {want_loss:.4f}, not {loss:.4f}."]
            if not np.isclose(norm_value, want_norm, rtol=1e-4, atol=1e-5):
                return [f"call {i + 1}: the gradient norm before clipping is {want_norm:.4f}, not "
                        f"{norm_value:.4f}: return what clip_grad_norm_ returns (the total norm it "
                        "measured before rescaling)."]
        return []

    def passed(self, got, **kw):
        return ("two steps equal clipped SGD (zero_grad → backward → clip_grad_norm_ → step), "
                "loss and pre-clipping norm returned.")
