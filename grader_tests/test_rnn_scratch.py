"""course.checks.rnn_scratch without nbgrader: references, mistake names, the shortcut guards."""
import pytest
import torch
from torch import nn

from course import checks
from course.checks.rnn_scratch import guard_kernels, static_shortcuts


def cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    pre = pre + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)


def forward(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    layer_input, h_n = x, []
    for k in range(rnn.num_layers):
        p = [getattr(rnn, f"{n}_l{k}") if rnn.bias or n.startswith("w") else None
             for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h = x.new_zeros(x.shape[1], rnn.hidden_size) if h0 is None else h0[k]
        states = []
        for t in range(x.shape[0]):
            h = cell(layer_input[t], h, *p, nonlinearity=rnn.nonlinearity)
            states.append(h)
        layer_input = torch.stack(states)
        h_n.append(h)
    return (layer_input.transpose(0, 1) if rnn.batch_first else layer_input), torch.stack(h_n)


def message(check, fn, **kw):
    with pytest.raises(checks.CheckFailed) as info:
        check(fn, **kw)
    return str(info.value)


@pytest.mark.parametrize("seed", [1, 2, None])
def test_right_answers_pass(seed, capsys):
    checks.scratch_cell(cell, seed=seed)
    checks.scratch_cell(cell, kind="options", seed=seed)
    for part in ("single", "layers", "batch_first", "h0"):
        checks.scratch_forward(forward, part=part, seed=seed)
    assert capsys.readouterr().out.count("✓") == 6


@pytest.mark.parametrize("body,phrase", [
    ("torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T)", "ignores b_hh"),
    ("torch.tanh(x_t @ W_ih.T + b_ih + b_hh)", "ignores h_prev"),
    ("torch.tanh(x_t @ W_ih.T + b_ih) + h_prev @ W_hh.T + b_hh", "tanh was applied to the input term only"),
    ("x_t @ W_ih.T + b_ih + torch.tanh(h_prev @ W_hh.T + b_hh)", "recurrent term only"),
    ("torch.tanh(x_t @ W_ih + b_ih + h_prev @ W_hh.T + b_hh)", "x @ W_ih instead of x @ W_ih.T"),
    ("torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh + b_hh)", "h_prev @ W_hh instead"),
])
def test_cell_mistakes_are_named(body, phrase):
    namespace = {"torch": torch}
    exec(f"def wrong(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity='tanh'):\n"
         f"    return {body}\n", namespace)
    assert phrase in message(checks.scratch_cell, namespace["wrong"], seed=3)


def test_forward_mistakes_are_named():
    def last_layer_only(rnn, x, h0=None):
        out, h_n = forward(rnn, x, h0)
        return out, h_n[-1:]

    def reshaped(rnn, x, h0=None):
        if not rnn.batch_first:
            return forward(rnn, x, h0)
        B, T, _ = x.shape
        plain = nn.Module()
        plain.__dict__.update(rnn.__dict__)
        plain.batch_first = False
        out, h_n = forward(plain, x.reshape(T, B, -1), h0)
        return out.reshape(B, T, -1), h_n

    def no_h0(rnn, x, h0=None):
        return forward(rnn, x)

    assert "not only the last layer" in message(checks.scratch_forward, last_layer_only, part="layers", seed=1)
    assert "use transpose, not reshape" in message(checks.scratch_forward, reshaped, part="batch_first", seed=1)
    assert "ignores h0" in message(checks.scratch_forward, no_h0, part="h0", seed=1)


def test_shortcuts_are_refused():
    def calls_module(rnn, x, h0=None):
        return rnn(x, h0)

    assert "Use the parameters, not the module" in message(checks.scratch_forward, calls_module, seed=1)
    assert "nn.RNN(...)" in static_shortcuts(lambda rnn, x: nn.RNN(3, 4)(x))
    assert "rnn(...) (it calls the module)" in static_shortcuts(calls_module)
    assert static_shortcuts(forward) == []


def test_guard_restores_everything():
    rnn = nn.RNN(3, 4)
    x = torch.randn(2, 1, 3)
    log = []
    with guard_kernels(log):
        with pytest.raises(RuntimeError, match="use the parameters, not the module"):
            rnn(x)
        with pytest.raises(RuntimeError):
            torch._VF.rnn_tanh
            torch._VF.rnn_tanh(x, torch.zeros(1, 1, 4), list(rnn.parameters()), True, 1, 0.0, False,
                               False, False)
    assert log[0] == "the nn.RNN module itself"
    out, h_n = rnn(x)  # works again
    assert out.shape == (2, 1, 4) and "rnn_tanh" not in vars(torch._VF)
