"""course/assignments/a02_rnn_from_scratch/checks.py without nbgrader: references, mistake names, the result contract and
the shortcut rules (read from the source by the trusted side) and guards (inside the kernel)."""
import textwrap

import pytest
import torch
from torch import nn

from course import checks
from course.checks import REGISTRY, rules
from course.checks.core import CONTRACT_MESSAGE, decode, encode, run_probe
from course.assignments.a02_rnn_from_scratch.checks import guard_kernels


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
    checks.a02_rnn_cell(cell, seed=seed)
    checks.a02_rnn_cell(cell, kind="options", seed=seed)
    for part in ("single", "layers", "batch_first", "h0"):
        checks.a02_rnn_forward(forward, part=part, seed=seed)
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
    assert phrase in message(checks.a02_rnn_cell, namespace["wrong"], seed=3)


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

    assert "not only the last layer" in message(checks.a02_rnn_forward, last_layer_only, part="layers", seed=1)
    assert "use transpose, not reshape" in message(checks.a02_rnn_forward, reshaped, part="batch_first", seed=1)
    assert "ignores h0" in message(checks.a02_rnn_forward, no_h0, part="h0", seed=1)


SETUP = "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
CELL = """
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
"""
LOOP = """
def rnn_forward(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    layer_input, h_n = x, []
    for k in range(rnn.num_layers):
        W_ih, W_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        b_ih = getattr(rnn, f"bias_ih_l{k}") if rnn.bias else None
        b_hh = getattr(rnn, f"bias_hh_l{k}") if rnn.bias else None
        h = x.new_zeros(x.shape[1], rnn.hidden_size) if h0 is None else h0[k]
        states = []
        for t in range(x.shape[0]):
            h = rnn_cell(layer_input[t], h, W_ih, W_hh, b_ih, b_hh, rnn.nonlinearity)
            states.append(h)
        layer_input = torch.stack(states)
        h_n.append(h)
    return (layer_input.transpose(0, 1) if rnn.batch_first else layer_input), torch.stack(h_n)
"""


def scan(*cells, answer="rnn_forward", check="a02_rnn_forward"):
    """What the trusted side finds in these student cells (after the locked setup cell)."""
    program = rules.Program([(SETUP, False)] + [(textwrap.dedent(c), True) for c in cells])
    return REGISTRY[check].scan(program, answer, part="single")


@pytest.mark.parametrize("cells", [
    # a helper in another cell that calls nn.RNN
    ["""
     def run_layer(rnn, x):
         twin = nn.RNN(rnn.input_size, rnn.hidden_size)
         twin.load_state_dict(rnn.state_dict())
         return twin(x)
     """, "def rnn_forward(rnn, x, h0=None):\n    return run_layer(rnn, x)\n"],
    # an alias of the class
    ["R = nn.RNN\n", "def rnn_forward(rnn, x, h0=None):\n    return R(3, 4)(x)\n"],
    # a name the grader cannot read
    ["def rnn_forward(rnn, x, h0=None):\n    name = 'rnn' + '_tanh'\n    return getattr(torch, name)(x)\n"],
    # the module it was given, called or its forward
    ["def rnn_forward(rnn, x, h0=None):\n    return rnn(x, h0)\n"],
    ["def rnn_forward(rnn, x, h0=None):\n    return rnn.forward(x, h0)\n"],
    # the kernel function, imported under another name
    ["from torch import _VF as kernels\n", "def rnn_forward(rnn, x, h0=None):\n    return kernels.rnn_tanh(x)\n"],
])
def test_forward_shortcuts_are_refused_from_the_source(cells):
    found = scan(*cells)
    assert len(found) == 1 and "which runs PyTorch's own RNN kernel" in found[0]
    assert "Use the parameters, not the module" in found[0]


@pytest.mark.parametrize("forward", [
    LOOP,
    # F.linear and torch.einsum instead of @, one layer
    """
    def rnn_forward(rnn, x, h0=None):
        h = x.new_zeros(x.shape[1], rnn.hidden_size) if h0 is None else h0[0]
        outs = []
        for x_t in x:
            pre = F.linear(x_t, rnn.weight_ih_l0, rnn.bias_ih_l0) + torch.einsum("bh,oh->bo", h, rnn.weight_hh_l0)
            h = torch.tanh(pre + rnn.bias_hh_l0)
            outs.append(h)
        return torch.stack(outs), h.unsqueeze(0)
    """,
    # a helper of their own, defined in another cell
    """
    def params(rnn, k):
        return (getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}"),
                getattr(rnn, f"bias_ih_l{k}", None), getattr(rnn, "bias_hh_l" + str(k), None))

    def rnn_forward(rnn, x, h0=None):
        W_ih, W_hh, b_ih, b_hh = params(rnn, 0)
        h = x.new_zeros(x.shape[1], rnn.hidden_size)
        outs = [h := rnn_cell(x_t, h, W_ih, W_hh, b_ih, b_hh, rnn.nonlinearity) for x_t in x]
        return torch.stack(outs), h[None]
    """,
])
def test_honest_forwards_have_no_finding(forward):
    assert scan(CELL, forward) == []


def test_a_name_built_at_run_time_is_explained():
    found = scan("def rnn_forward(rnn, x, h0=None):\n"
                 "    step = getattr(torch, f'{rnn.mode.lower()}_cell')\n"
                 "    return step(x), None\n")
    assert len(found) == 1 and "the grader cannot read it" in found[0]
    # on the module handed in (which refuses to run) a looked-up name is fine, as in assignment 05
    assert scan("def rnn_forward(rnn, x, h0=None):\n"
                "    W = [getattr(rnn, f'{n}_l0') for n in ('weight_ih', 'weight_hh')]\n"
                "    return x @ W[0].T, None\n") == []


def test_cell_shortcut_keeps_its_wording():
    found = scan("def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity='tanh'):\n"
                 "    return torch.rnn_tanh_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)\n",
                 answer="rnn_cell", check="a02_rnn_cell")
    assert found == ["rnn_cell calls torch.rnn_tanh_cell: write the step with tensor operations (@, +, "
                     "torch.tanh / torch.relu) — use the parameters, not the module."]
    assert scan(CELL, answer="rnn_cell", check="a02_rnn_cell") == []


def test_verdict_refuses_a_shortcut_the_kernel_hid():
    """A genuine-looking result does not help: the parent reads the source first."""
    check, kw = REGISTRY["a02_rnn_forward"], {"part": "single", "seed": 1}
    outcome = decode(*encode(run_probe(check, forward, kw)))
    assert check.verdict(outcome, kw, "rnn_forward") == []
    program = rules.Program([(SETUP, False), (CELL, True),
                             ("def rnn_forward(rnn, x, h0=None):\n    return rnn(x, h0)\n", True)])
    messages = check.verdict(outcome, kw, "rnn_forward", program, "rnn_forward")
    assert len(messages) == 1 and "Use the parameters, not the module" in messages[0]


def test_kernel_guard_still_fails_a_shortcut():
    def calls_module(rnn, x, h0=None):
        return rnn(x, h0)

    assert "the nn.RNN module itself was called" in message(checks.a02_rnn_forward, calls_module, seed=1)


@pytest.mark.parametrize("name,kw,fn", [("a02_rnn_cell", {"seed": 2}, cell),
                                        ("a02_rnn_cell", {"seed": 2, "kind": "options"}, cell),
                                        ("a02_rnn_forward", {"seed": 2, "part": "h0"}, forward)])
def test_forged_results_fail_the_contract(name, kw, fn):
    check = REGISTRY[name]
    outcome = decode(*encode(run_probe(check, fn, kw)))
    assert check.verdict(outcome, kw) == []
    head = CONTRACT_MESSAGE.split("(")[0]
    for forged in ({"results": outcome["got"]["results"][:-1]},          # one case removed
                   {"results": outcome["got"]["results"], "kernels": []},  # the old, trusted-looking field
                   {"results": outcome["got"]["results"] + outcome["got"]["results"][:1]}):
        messages = check.verdict({"ok": True, "got": forged}, kw)
        assert len(messages) == 1 and messages[0].startswith(head), messages
    assert "entries came back for" in check.verdict({"ok": True, "got": {"results": outcome["got"]["results"][1:]}}, kw)[0]


def test_nan_is_never_close():
    check, kw = REGISTRY["a02_rnn_cell"], {"seed": 2}
    got = decode(*encode(run_probe(check, cell, kw)))["got"]
    got["results"][0]["value"]["data"][:] = float("nan")
    assert check.verdict({"ok": True, "got": got}, kw)


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
