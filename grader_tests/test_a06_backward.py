"""course/assignments/a06_learning_through_time/checks_backward.py without nbgrader: rnn_backward
(backpropagation through time by hand) and train_step (a clipped step). The course's answers pass on
several seeds; each usual mistake, written the way a student writes it, fails with its own message."""
import textwrap

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from course import checks
from course.assignments.a06_learning_through_time import bptt, reference
from course.assignments.a06_learning_through_time.checks_backward import (
    AutogradUsed, guard_autograd, step_setup)
from course.checks import rules

BACKWARD = '''
def rnn_backward(d_output, cache):
    x, h = cache["x"], cache["h"]
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    dout = d_output.transpose(0, 1) if cache["batch_first"] else d_output
    dx = torch.zeros_like(x)
    dW_ih, dW_hh = torch.zeros_like(W_ih), torch.zeros_like(W_hh)
    db = torch.zeros(W_hh.shape[0], dtype=x.dtype)
    dh_next = torch.zeros_like(h[0])
    for t in reversed(range(x.shape[0])):
        dh = dout[t] + dh_next
        da = dh * (1 - h[t + 1] ** 2)
        dx[t] = da @ W_ih
        dW_ih += da.T @ x[t]
        dW_hh += da.T @ h[t]
        db += da.sum(0)
        dh_next = da @ W_hh
    dx = dx.transpose(0, 1) if cache["batch_first"] else dx
    has_bias = cache["b_ih"] is not None
    return {"x": dx, "h0": dh_next, "W_ih": dW_ih, "W_hh": dW_hh,
            "b_ih": db if has_bias else None, "b_hh": db if has_bias else None}
'''


def backward(*edits):
    """The student-style answer above with (old, new) text edits applied."""
    source = BACKWARD
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    space = {"torch": torch}
    exec(textwrap.dedent(source), space)  # noqa: S102  (test code builds its own mistaken answers)
    return space["rnn_backward"]


def message(check, fn, **kw):
    with pytest.raises(checks.CheckFailed) as info:
        check(fn, **kw)
    return str(info.value)


@pytest.mark.parametrize("seed", [1, 2, 3, None])
def test_right_answers_pass(seed, capsys):
    for part in ("step", "time"):
        checks.a06_rnn_backward(reference.rnn_backward, part=part, seed=seed)
        checks.a06_rnn_backward(backward(), part=part, seed=seed)
    checks.a06_train_step(reference.train_step, seed=seed)
    assert capsys.readouterr().out.count("✓") == 5


def test_the_step_cell_isolates_the_local_derivatives(capsys):
    """A mistake in the path through time keeps the one-step points; a wrong local derivative does not."""
    forgot_dh_next = backward(("dh = dout[t] + dh_next", "dh = dout[t]"))
    checks.a06_rnn_backward(forgot_dh_next, part="step", seed=7)
    assert "✓" in capsys.readouterr().out
    assert "from h_{t+1} back into h_t" in message(checks.a06_rnn_backward, forgot_dh_next, part="time", seed=7)
    wrong_deriv = backward(("da = dh * (1 - h[t + 1] ** 2)", "da = dh * h[t + 1]"))
    assert "1 - tanh(a_t)^2" in message(checks.a06_rnn_backward, wrong_deriv, part="step", seed=7)


def test_provided_forward_is_nn_rnn():
    torch.manual_seed(0)
    for batch_first in (False, True):
        rnn = torch.nn.RNN(3, 5, batch_first=batch_first, dtype=torch.float64)
        x = torch.randn(2, 4, 3, dtype=torch.float64)
        h0 = torch.randn(1, 4 if batch_first is False else 2, 5, dtype=torch.float64)
        h0 = torch.randn(1, x.shape[0] if batch_first else x.shape[1], 5, dtype=torch.float64)
        want, want_h_n = rnn(x, h0)
        got, cache = bptt.from_module(rnn, x, h0)
        assert torch.allclose(got, want) and torch.allclose(cache["h"][-1], want_h_n[0])
        assert cache["h"].shape[0] == cache["x"].shape[0] + 1 and not got.requires_grad


@pytest.mark.parametrize("edits,phrase", [
    ([("dh = dout[t] + dh_next", "dh = dout[t]")], "from h_{t+1} back into h_t is missing"),
    ([("da = dh * (1 - h[t + 1] ** 2)", "da = dh * h[t + 1]")], "1 - tanh(a_t)^2"),
    ([("da = dh * (1 - h[t + 1] ** 2)", "da = dh")], "derivative of tanh is missing"),
    ([("da = dh * (1 - h[t + 1] ** 2)", "da = dh * (1 - h[t] ** 2)")], "uses the wrong state"),
    ([("dW_hh += da.T @ h[t]", "dW_hh += h[t].T @ da")], "dW_hh is transposed"),
    ([("dW_hh += da.T @ h[t]", "dW_hh += da.T @ h[t + 1]")], "pairs da with the wrong state"),
    ([("db += da.sum(0)", "db = da.sum(0)")], "only one step's share"),
    ([("db += da.sum(0)", "db += da.mean(0)")], "the bias gradients are averaged"),
    ([("dh_next = da @ W_hh", "dh_next = da @ W_hh.T")], "not by its transpose"),
    ([('"h0": dh_next', '"h0": torch.zeros_like(dh_next)')], "h0's gradient is zero"),
    ([('"h0": dh_next', '"h0": dh')], "dL/dh_1"),
    ([('"b_hh": db if', '"b_hh": torch.zeros_like(db) if')], "b_hh gets no gradient"),
    ([('dW_ih += da.T @ x[t]', 'dW_ih += da.T @ x[t] / x.shape[1]'),
      ('dW_hh += da.T @ h[t]', 'dW_hh += da.T @ h[t] / x.shape[1]'),
      ('db += da.sum(0)', 'db += da.mean(0)')], "averaged over the batch"),
    ([("dx[t] = da @ W_ih", "dx[t] = (da @ W_ih).sum(0)")], "differ from autograd"),
])
def test_each_backward_mistake_is_named(edits, phrase):
    text = message(checks.a06_rnn_backward, backward(*edits), seed=4)
    assert phrase in text, text


def test_backward_shapes_and_batch_first_are_explained():
    no_transpose = backward(('dout = d_output.transpose(0, 1) if cache["batch_first"] else d_output',
                             'dout = d_output'))
    assert "d_output is (batch, seq_len, hidden_size)" in message(checks.a06_rnn_backward, no_transpose, seed=5) \
        or "has shape" in message(checks.a06_rnn_backward, no_transpose, seed=5)
    x_not_back = backward(('dx = dx.transpose(0, 1) if cache["batch_first"] else dx', 'dx = dx'))
    assert "transpose it back" in message(checks.a06_rnn_backward, x_not_back, seed=5)
    biases_zero = backward(('"b_ih": db if has_bias else None', '"b_ih": db'))
    assert "should be None" in message(checks.a06_rnn_backward, biases_zero, seed=5)
    assert "return the gradients of" in message(checks.a06_rnn_backward, lambda d, c: {"x": d}, seed=5)


def test_autograd_is_refused_in_the_kernel_and_from_the_source():
    def by_autograd(d_output, cache):
        x = cache["x"].clone().requires_grad_()
        out, _ = bptt.rnn_forward_cached(x, cache["h"][0], cache["W_ih"], cache["W_hh"])
        (out * d_output).sum().backward()
        return {}

    assert "compute the gradients by hand" in message(checks.a06_rnn_backward, by_autograd, seed=1)
    with guard_autograd(), pytest.raises(AutogradUsed):
        torch.ones(1, requires_grad=True).sum().backward()
    assert torch.ones(1, requires_grad=True).sum().requires_grad  # restored afterwards
    program = rules.Program([
        ("import torch\n", True),
        ("def rnn_backward(d_output, cache):\n    g = torch.autograd.grad\n    return g\n", True)])
    found = program.reaches("rnn_backward", rules.AUTOGRAD)
    assert found, found


STEP = '''
def train_step(model, batch, optimizer, max_norm):
    x, y = batch
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item(), norm
'''


def step(*edits):
    source = STEP
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    space = {"torch": torch, "F": F}
    exec(textwrap.dedent(source), space)  # noqa: S102
    return space["train_step"]


def test_step_inputs_make_clipping_matter():
    for seed in range(20):
        model, (batch, _), max_norm = step_setup(seed)
        F.cross_entropy(model(batch[0]), batch[1]).backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        assert norm > 3 * max_norm, (seed, norm, max_norm)


MOVE_CLIP_BEFORE_BACKWARD = [("    loss.backward()\n    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n",
                              "    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    loss.backward()\n")]
MOVE_CLIP_AFTER_STEP = [("    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n",
                         "    optimizer.step()\n    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n")]


@pytest.mark.parametrize("edits,phrase", [
    ([("norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)",
       "norm = torch.tensor(0.0)")], "not clipped"),
    (MOVE_CLIP_BEFORE_BACKWARD, "not clipped"),
    (MOVE_CLIP_AFTER_STEP, "not clipped"),
    ([("norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)",
       "norm = torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)")], "clip_grad_value_"),
    ([("clip_grad_norm_(model.parameters(), max_norm)", "clip_grad_norm_(model.parameters(), 1.0)")],
     "clipped to norm 1"),
    ([("clip_grad_norm_(model.parameters(), max_norm)", "clip_grad_norm_(model.rnn.parameters(), max_norm)")],
     "only the recurrent layer"),
    ([("    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n",
       "    norm = sum(torch.nn.utils.clip_grad_norm_([p], max_norm) for p in model.parameters())\n")],
     "clipped on its own"),
    ([("    optimizer.zero_grad()\n", "")], "zero_grad()"),
    ([("optimizer.step()", "pass")], "did not change"),
    ([("return loss.item(), norm", "return loss, norm")], "Python float"),
    ([("return loss.item(), norm", "return loss.item()")], "two numbers"),
    ([("return loss.item(), norm", "return F.cross_entropy(model(x), y).item(), norm")], "after the step"),
])
def test_each_step_mistake_is_named(edits, phrase):
    text = message(checks.a06_train_step, step(*edits), seed=3)
    assert phrase in text, text


def test_extra_keys_and_graph_carrying_gradients_are_refused():
    def extra(d_output, cache):
        return dict(reference.rnn_backward(d_output, cache), note="mine")

    def on_a_graph(d_output, cache):
        return {k: None if v is None else v.clone().requires_grad_()
                for k, v in reference.rnn_backward(d_output, cache).items()}

    assert "keys it should not have (note)" in message(checks.a06_rnn_backward, extra, seed=2)
    assert "requires grad" in message(checks.a06_rnn_backward, on_a_graph, seed=2)
