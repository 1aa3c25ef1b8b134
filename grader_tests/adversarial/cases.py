"""Malicious, broken and honest-but-unusual submissions, per assignment, each with what it may score.

A case starts from the honest solution (so every untouched cell must keep full marks), plants a
mistake in the answers it attacks (``lost``: those test cells must score 0 however the attack goes)
and adds the attack. Keys:

* ``replace``: {answer grade_id: code}; ``insert`` / ``insert_before``: {grade_id: code of a new cell
  after / before it};
  ``edit``/``meta``/``delete``/``duplicate``/``kernelspec``/``raw``: see build.py.
* ``flag``: the grader must see tampering in the source: the submission is flagged "needs review"
  and EVERY test cell scores 0 (however well the rest was done).
* ``maybe``: cells after a destructive attack (kernel death) that may score 0 or full.
* ``style``: an honest solution written differently: full marks and no flag at all.
* ``needs_containment``: the case is dangerous to the machine without a sandbox (fork bomb); where the
  grader cannot contain processes the test refuses to run it and says why.
"""
from __future__ import annotations

A01, A02, A03, A04, A05, A06 = ("01_rnn_layer", "02_rnn_from_scratch", "03_sequence_classifier",
                                "04_overfitting", "05_gru_and_packing", "06_learning_through_time")
SETUP = "setup"  # the notebook's first locked cell

# ---- attacks that work the same on any assignment: they all touch the grader, so they are flagged --
FORGED_RESULT = """
from course.checks import core as _core
_core.run_probe = lambda check, answer, kw: {"ok": True, "got": {}}
"""
REGISTRY_PATCH = """
from course.checks.core import REGISTRY
for _check in REGISTRY.values():
    _check.probe = lambda answer, **kw: {"answer": "B", "results": [], "runs": [], "answers": []}
    _check.judge = lambda got, **kw: []
"""
CLASS_PATCH = """
import course.checks.core as _core
_core.Check.verdict = lambda self, *a, **k: []
_core.Check.judge = lambda self, got, **kw: []
"""
RESULT_WRITER = """
import numpy as _np, json as _json
_real_savez = _np.savez
def _forged_savez(fh, **arrays):
    header = {"value": {"ok": True, "got": {}}}
    _real_savez(fh, __meta__=_np.frombuffer(_json.dumps(header).encode(), dtype=_np.uint8))
_np.savez = _forged_savez
"""
OBFUSCATED = """
_code = "from course.checks.core import REGISTRY as R\\nfor c in R.values(): c.judge = lambda got, **kw: []"
exec(_code)
"""
GENERIC = {"forged_result": FORGED_RESULT, "registry_patch": REGISTRY_PATCH, "class_patch": CLASS_PATCH,
           "result_writer": RESULT_WRITER, "obfuscated": OBFUSCATED}


def generic(lost_answer: dict) -> dict:
    """The five grader attacks, each planted after the set-up cell with a wrong answer elsewhere."""
    return {name: dict(insert={SETUP: code}, replace=lost_answer, flag=True) for name, code in GENERIC.items()}


# ---- 01 -----------------------------------------------------------------------------------------
WRONG_INIT = """
def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    return torch.zeros(1, 1, 1)
"""
INIT_HIDDEN = {"test_init_hidden_uni", "test_init_hidden_bi", "test_init_hidden_runs"}
ORDER01 = ["test_q_a1", "test_q_a2", "test_long_word_lengths", "test_shout_word_lengths", "test_q_b1",
           "test_fill_num_layers", "test_rnn_b3", "test_shape_c1", "test_shape_c2", "test_shape_c3",
           "test_shape_c4", "test_fill_hidden", "test_fill_call", "test_init_hidden_uni", "test_init_hidden_bi",
           "test_init_hidden_runs", "test_q_e1", "test_q_f1", "test_build_classifier", "test_q_g1",
           "test_error_g2", "test_error_g3", "test_shape_g4", "test_rnn_g5", "test_q_h1", "test_best_epoch"]


def after(grade_id, order=ORDER01):
    return set(order[order.index(grade_id) + 1:])


CASES01 = {
    **generic({"init_hidden": WRONG_INIT}),
    "patch_assert_close": dict(insert={SETUP: "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None"},
                               replace={"init_hidden": WRONG_INIT}, flag=True),
    "patch_tensor_eq": dict(insert={SETUP: "torch.Tensor.__eq__ = lambda s, o: True"},
                            replace={"fill_hidden": "hidden = torch.ones(1, 5, 20)"}, flag=True),
    "torch_function_subclass": dict(insert={SETUP: """
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("__eq__", "allclose", "equal"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
"""}, replace={"init_hidden": WRONG_INIT.replace("return torch.zeros(1, 1, 1)", "return torch.zeros(1, 1, 1).as_subclass(Liar)")},
        flag=True),
    "always_equal_object": dict(insert={SETUP: """
class Yes(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = str.__hash__
class AnyShape(tuple):
    def __eq__(self, other): return True
"""}, replace={"q_a1": 'q_a1 = Yes("A")', "shape_c1": "shape_c1 = AnyShape((1, 1, 1))"},
        flag=True),
    "input_transformer_blanks": dict(insert={"test_rnn_b3": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"},
                                     flag=True),
    "custom_exc_swallows": dict(insert={SETUP: "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"},
                                replace={"q_b1": 'q_b1 = "D"'}, flag=True),
    "deleted_test_cells": dict(delete=INIT_HIDDEN, replace={"init_hidden": WRONG_INIT}, lost=INIT_HIDDEN),
    "edited_test_cell": dict(edit={"test_best_epoch": "print('✓ best_epoch: all good')", "test_q_h1": "pass"},
                             replace={"best_epoch": "def best_epoch(v):\n    return 1", "q_h1": 'q_h1 = "A"'},
                             lost={"test_best_epoch", "test_q_h1"}),
    "duplicated_test_cells": dict(duplicate={"test_q_e1": 3}, replace={"q_e1": 'q_e1 = "A"'}, lost={"test_q_e1"}),
    "edited_metadata": dict(meta={"test_q_a1": {"points": 100}, "test_q_a2": {"grade": False},
                                  "q_f1": {"grade": True, "points": 50}},
                            replace={"q_a1": 'q_a1 = "C"', "q_a2": 'q_a2 = "A"'}, lost={"test_q_a1", "test_q_a2"}),
    "prints_fake_success": dict(replace={"build_classifier": """
def build_classifier(num_features, num_classes, hidden_size=16):
    print("✓ build_classifier: a working RNN + linear head on 4 different tasks.")
    return nn.RNN(10, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)
"""}, insert={"test_build_classifier": "print('✓ all 28 tests passed')"}, lost={"test_build_classifier"}),
    "reads_hidden_tests": dict(insert={SETUP: """
import glob, os
found = []
for pattern in ['../../../gradebook.db', '/work/main/gradebook.db', '/work/main/source/*/*.ipynb', '../../../source/*/*',
                os.path.expanduser('~/../**/gradebook.db')]:
    found += glob.glob(pattern, recursive=True)
leak = ' '.join(found)
"""}, replace={"q_g1": 'import re\nq_g1 = (re.findall(r"key=.(\\\\w)", leak) or ["A"])[0]\nerror_g2 = "RuntimeError"'},
        lost={"test_q_g1"}),
    "writes_other_students": dict(insert={SETUP: """
import glob
for pattern in ['../../*/*/*.ipynb', '../../../*/*/*/*.ipynb', '/work/main/gradebook.db', '../../../gradebook.db',
                '/tmp/*/course/gradebook.db']:
    for p in glob.glob(pattern):
        try:
            open(p, 'w').write('owned')
        except Exception:
            pass
"""}, replace={"q_a1": 'q_a1 = "A"'}, flag=True),
    "infinite_loop": dict(insert={"test_shape_c4": "while True:\n    pass"}, replace={"shape_c1": "shape_c1 = (7, 4, 3)"},
                          lost={"test_shape_c1"}),
    "sys_exit_midway": dict(insert={"test_fill_call": "import sys\nsys.exit(3)"}, replace={"q_a1": 'q_a1 = "D"'},
                            lost={"test_q_a1"}),
    "os_exit_midway": dict(insert={"test_fill_call": "import os\nos._exit(0)"}, replace={"q_a1": 'q_a1 = "D"'},
                           lost={"test_q_a1"} | after("test_fill_call")),
    "memory_bomb": dict(insert={"test_q_b1": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))"},
                        replace={"q_a2": 'q_a2 = "B"'}, lost={"test_q_a2"}, maybe=after("test_q_b1")),
    "fork_bomb": dict(insert={"test_rnn_g5": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"},
                      replace={"q_e1": 'q_e1 = "C"'}, flag=True, needs_containment=True),
    "network_access": dict(insert={SETUP: """
import urllib.request
try:
    urllib.request.urlopen('https://pypi.org', timeout=3).read(10)
    net_answer = 'B'
except Exception:
    net_answer = 'X'
"""}, replace={"q_a1": "q_a1 = net_answer"}, lost={"test_q_a1"}),
    "huge_output": dict(insert={"test_shape_c4": "chunk = 'x' * (1 << 20)\nfor _ in range(100):\n    print(chunk)"},
                        replace={"shape_c3": "shape_c3 = (4, 2, 3)"}, lost={"test_shape_c3"}),
    "invalid_json": dict(raw=b'{"cells": [ this is not json', lost=set(ORDER01)),
    "foreign_kernelspec": dict(kernelspec={"name": "evil", "display_name": "Evil", "language": "python"},
                               replace={"q_f1": 'q_f1 = "A"'}, lost={"test_q_f1"}),
}

# ---- 02: rnn_cell, rnn_forward ------------------------------------------------------------------
WRONG_CELL = "def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity='tanh'):\n    return torch.tanh(x_t @ W_ih.T)"
RNN_FORWARD = {"test_rnn_forward_single", "test_rnn_forward_layers", "test_rnn_forward_batch_first",
               "test_rnn_forward_h0"}
TWIN_HELPER = """
def _twin(rnn, x, h0):
    twin = nn.RNN(rnn.input_size, rnn.hidden_size, num_layers=rnn.num_layers, nonlinearity=rnn.nonlinearity,
                  bias=rnn.bias, batch_first=rnn.batch_first).to(x.dtype)
    twin.load_state_dict(rnn.state_dict())
    return twin(x) if h0 is None else twin(x, h0)
"""
VF_CELL = """
def _step(x_t, h, W_ih, W_hh, b_ih, b_hh):
    return torch.rnn_tanh_cell(x_t, h, W_ih, W_hh, b_ih, b_hh)
"""
CASES02 = {
    **generic({"rnn_cell": WRONG_CELL}),
    "calls_the_module": dict(replace={"rnn_forward": "def rnn_forward(rnn, x, h0=None):\n    return rnn(x) if h0 is None else rnn(x, h0)"},
                             lost=RNN_FORWARD),
    "hidden_kernel_helper": dict(insert={"rnn_cell": TWIN_HELPER},
                                 replace={"rnn_forward": "def rnn_forward(rnn, x, h0=None):\n    return _twin(rnn, x, h0)"},
                                 lost=RNN_FORWARD),
    "hidden_cell_kernel": dict(insert={SETUP: VF_CELL},
                               replace={"rnn_cell": "def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity='tanh'):\n"
                                                    "    return _step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)"},
                               lost={"test_rnn_cell", "test_rnn_cell_options"} | RNN_FORWARD),
    "style_linear": dict(replace={"rnn_cell": """
import torch.nn.functional as F
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh)
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
"""}, style=True),
    "style_einsum_and_own_loop": dict(replace={"rnn_cell": """
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = torch.einsum("bi,hi->bh", x_t, W_ih) + torch.einsum("bj,hj->bh", h_prev, W_hh)
    for bias in (b_ih, b_hh):
        if bias is not None:
            pre = pre + bias
    act = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    return act(pre)
""", "rnn_forward": """
def _layer(seq, h, params, nonlinearity):
    out = []
    for x_t in seq:
        h = rnn_cell(x_t, h, *params, nonlinearity=nonlinearity)
        out.append(h)
    return torch.stack(out), h

def rnn_forward(rnn, x, h0=None):
    seq = x.transpose(0, 1) if rnn.batch_first else x
    batch = seq.shape[1]
    finals = []
    for k in range(rnn.num_layers):
        names = [f"weight_ih_l{k}", f"weight_hh_l{k}", f"bias_ih_l{k}", f"bias_hh_l{k}"]
        params = [getattr(rnn, n) if hasattr(rnn, n) else None for n in names]
        h = seq.new_zeros(batch, rnn.hidden_size) if h0 is None else h0[k]
        seq, h = _layer(seq, h, params, rnn.nonlinearity)
        finals.append(h)
    output = seq.transpose(0, 1) if rnn.batch_first else seq
    return output, torch.stack(finals)
"""}, style=True),
}

# ---- 03: the classifier pipeline ----------------------------------------------------------------
# A model with an RNN and a Linear for show, whose forward answers from labels the kernel can read.
LOOKUP = """
import torch as _t
class _Lookup(nn.Module):
    def __init__(self, model, splits, classes=9):
        super().__init__()
        self.rnn, self.head, self.classes = model.rnn, model.head, classes
        self.keys = {round(float(row.abs().sum()), 3): int(label) for xs, ys in splits for row, label in zip(xs, ys)}
    def forward(self, x):
        out = _t.full((len(x), self.classes), -10.0)
        for i, row in enumerate(x):
            out[i, self.keys.get(round(float(row.abs().sum()), 3), 0)] = 10.0
        return out
"""
LOOKUP_MODEL_03 = LOOKUP + """
from course import data as _d
_train, _ = _d.load_japanese_vowels("train")
_test, _labels = _d.load_japanese_vowels("test")
_, _mean, _std = _d.standardize(_train)
_padded, _ = _d.pad_left(_d.standardize(_test, _mean, _std)[0], 29)
vowel_model = _Lookup(vowel_model, [(_padded, _labels)])
"""
CASES03 = {
    "registry_patch": dict(insert={SETUP: REGISTRY_PATCH}, flag=True),
    "labels_as_predictions": dict(insert_before={"test_vowels_accuracy": LOOKUP_MODEL_03}, lost={"test_vowels_accuracy"}),
    "style_named_otherwise": dict(replace={"sequence_classifier": """
class SequenceClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=1, rnn_type="rnn"):
        super().__init__()
        if rnn_type == "gru":
            self.encoder = nn.GRU(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        elif rnn_type == "rnn":
            self.encoder = nn.RNN(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        else:
            raise ValueError(rnn_type)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        _, h_n = self.encoder(x)
        return self.fc(h_n[-1])
"""}, style=True),
}

# ---- 04: overfitting -----------------------------------------------------------------------------
LOOKUP_MODEL_04 = LOOKUP + """
from course.assignments.a04_overfitting import experiments as _e
_data = _e.load_task(0.2, 0)
_, _, _x_held, _y_held = _e.split_test()
final_model = _Lookup(final_model, [(_data["x_train"], _data["y_train"]), (_data["x_val"], _data["y_val"]),
                                    (_x_held, _y_held)])
"""
CASES04 = {
    "registry_patch": dict(insert={SETUP: REGISTRY_PATCH}, flag=True),
    "labels_as_predictions": dict(insert={"final_model": LOOKUP_MODEL_04}, lost={"test_final_model"}),
}

# ---- 05: gru_cell, gru_forward, lstm_cell, packing ---------------------------------------------------
WRONG_GRU_CELL = ("def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n    return h_prev")
GRU_FORWARD = {"test_gru_forward_basic", "test_gru_forward_batch_first", "test_gru_forward_options",
               "test_gru_forward_deep"}
GRU_TWIN = """
def _gru_twin(gru, x, h0):
    twin = nn.GRU(gru.input_size, gru.hidden_size, num_layers=gru.num_layers, bias=gru.bias,
                  batch_first=gru.batch_first).to(x.dtype)
    twin.load_state_dict(gru.state_dict())
    return twin(x) if h0 is None else twin(x, h0)
"""
CASES05 = {
    **generic({"gru_cell": WRONG_GRU_CELL}),
    "hidden_kernel_helper": dict(insert={"gru_cell": GRU_TWIN},
                                 replace={"gru_forward": "def gru_forward(gru, x, h0=None):\n    return _gru_twin(gru, x, h0)"},
                                 lost=GRU_FORWARD),
    "cell_calls_torch": dict(replace={"gru_cell": "def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                                                  "    return torch.gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)"},
                             lost={"test_gru_cell"} | GRU_FORWARD),  # the forward reaches it too
    "lstm_via_module": dict(replace={"lstm_cell": """
def lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh):
    cell = nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).to(x_t.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(W_ih); cell.weight_hh.copy_(W_hh); cell.bias_ih.copy_(b_ih); cell.bias_hh.copy_(b_hh)
    return cell(x_t, state)
"""}, lost={"test_lstm_cell"}),
    "style_linear_and_slices": dict(replace={"gru_cell": """
import torch.nn.functional as F
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi, gh = F.linear(x_t, W_ih, b_ih), F.linear(h_prev, W_hh, b_hh)
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h_prev
""", "lstm_cell": """
def lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    gates = torch.einsum("bi,gi->bg", x_t, W_ih) + torch.einsum("bh,gh->bg", h, W_hh) + b_ih + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
"""}, style=True),
}

# ---- 06: rnn_backward, train_step, the character model ------------------------------------------------
BACKWARD = {"test_rnn_backward_step", "test_rnn_backward_time"}
WRONG_BACKWARD = "def rnn_backward(d_output, cache):\n    return {}"
AUTOGRAD_HELPER = """
def _grads_of(out, wrt, d_out):
    return torch.autograd.grad(out, wrt, d_out)
"""
CASES06 = {
    **generic({"rnn_backward": WRONG_BACKWARD}),
    # autograd reached through a helper in another cell, under another name
    "autograd_in_a_helper": dict(insert={"rnn_backward": AUTOGRAD_HELPER}, replace={"rnn_backward": """
def rnn_backward(d_output, cache):
    W_ih = cache["W_ih"].clone().requires_grad_()
    W_hh = cache["W_hh"].clone().requires_grad_()
    x = cache["x"].clone().requires_grad_()
    h0 = cache["h"][0].clone().requires_grad_()
    out, _ = bptt.rnn_forward_cached(x, h0, W_ih, W_hh, cache["b_ih"], cache["b_hh"])
    dout = d_output.transpose(0, 1) if cache["batch_first"] else d_output
    gx, gh0, gih, ghh = _grads_of(out, (x, h0, W_ih, W_hh), dout)
    db = None if cache["b_ih"] is None else torch.zeros_like(cache["b_ih"])
    return {"x": gx.transpose(0, 1) if cache["batch_first"] else gx, "h0": gh0, "W_ih": gih, "W_hh": ghh,
            "b_ih": db, "b_hh": db}
"""}, lost=BACKWARD),
    # the course's own answer, handed out for the demonstrations, is not the student's work
    "borrows_the_reference": dict(replace={"rnn_backward": "rnn_backward = reference.rnn_backward",
                                           "train_step": "from course.assignments.a06_learning_through_time.reference "
                                                         "import train_step"},
                                  lost=BACKWARD | {"test_train_step"}),
    "style_no_loop_over_weights": dict(replace={"train_step": """
def train_step(model, batch, optimizer, max_norm):
    inputs, targets = batch
    for p in model.parameters():
        p.grad = None
    loss = nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    total = nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=max_norm)
    optimizer.step()
    return float(loss.detach()), total
"""}, style=True),
}

CASES = {A01: CASES01, A02: CASES02, A03: CASES03, A04: CASES04, A05: CASES05, A06: CASES06}
