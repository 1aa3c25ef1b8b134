"""Fast tests of assignment 05's checks (course/assignments/a05_gru_and_packing/checks.py): the result specs every probe must meet, the
judges on forged results, and the source rules (``scan``) that replaced the kernel-reported source."""
import copy
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from course.assignments.a05_gru_and_packing import checks as gru_checks
from course.assignments.a05_gru_and_packing import reference as a05_reference
from course.checks import REGISTRY, core
from course.checks.rules import Program
from fixtures import a05_gru_and_packing as a05_fixtures
from harness import strip_markers

ROOT = Path(__file__).resolve().parent.parent
SETUP = "import torch\nfrom torch import nn\nimport torch.nn.functional as F"
PART_A = "gru = nn.GRU(input_size=10, hidden_size=20)\noutput, hidden = gru(torch.randn(5, 3, 10))"


# ---- honest answers ---------------------------------------------------------------------------
# gru_cell and gru_forward are the grading fixtures' templates with no mistake in them.
_honest = {"torch": torch, "nn": nn}
exec(a05_fixtures.cell_with("torch.tanh(n_i + r * n_h)") + a05_fixtures.forward_with(), _honest)
gru_cell, gru_forward = _honest["gru_cell"], _honest["gru_forward"]


def lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    i, f, g, o = (x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


# the course's own answers (what practice.working stands in with)
collate, last_valid = a05_reference.collate, a05_reference.last_valid
PackedGRUClassifier = a05_reference.PackedGRUClassifier


OUTPUT = torch.randn(5, 3, 20)
HONEST = {  # check name: (answer, kw)
    "a05_gru_cell": (gru_cell, {"seed": 1}),
    "a05_gru_forward": (gru_forward, {"kind": "deep", "seed": 1}),
    "a05_lstm_cell": (lstm_cell, {"seed": 1}),
    "a05_collate": (collate, {"seed": 1}),
    "a05_last_valid": (last_valid, {"seed": 1}),
    "a05_packed_classifier": (PackedGRUClassifier, {"seed": 1}),
    "a05_last_step": ((OUTPUT, OUTPUT[-1]), {"batch_first": False}),
}


def outcome(name, answer=None, **kw):
    """What the grader receives for this answer: the probe's outcome over the wire."""
    answer = HONEST[name][0] if answer is None else answer
    kw = kw or HONEST[name][1]
    return core.decode(*core.encode(core.run_probe(REGISTRY[name], answer, kw))), kw


def verdict(name, got, kw):
    return REGISTRY[name].verdict({"ok": True, "got": got}, kw, name)


# ---- the result contract ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(HONEST))
def test_genuine_results_meet_the_contract_and_pass(name):
    out, kw = outcome(name)
    assert out["ok"], out
    assert REGISTRY[name].result(**kw).validate(out["got"]) is None
    assert verdict(name, out["got"], kw) == []


@pytest.mark.parametrize("name", sorted(set(HONEST) - {"a05_last_step"}))
def test_a_result_with_one_case_removed_fails_with_the_contract_message(name):
    out, kw = outcome(name)
    for forged in (out["got"]["results"][:-1], out["got"]["results"][1:]):
        messages = verdict(name, dict(out["got"], results=forged), kw)
        assert len(messages) == 1 and "could not accept what came back" in messages[0], messages
        assert "entries came back for" in messages[0]


def test_the_packed_classifier_states_one_logit_vector_per_sequence():
    out, kw = outcome("a05_packed_classifier")
    got = copy.deepcopy(out["got"])
    got["results"][0]["value"]["alone"].pop()
    assert "could not accept" in verdict("a05_packed_classifier", got, kw)[0]


@pytest.mark.parametrize("field, value", [
    ("requires_grad", True), ("dtype", []), ("dtype", {}), ("dtype", "float64"),
    ("data", np.array(["x"])), ("extra", 1)])
def test_forged_tensor_records_are_refused(field, value):
    out, kw = outcome("a05_gru_cell")
    got = copy.deepcopy(out["got"])
    got["results"][0]["value"][field] = value
    messages = verdict("a05_gru_cell", got, kw)
    assert messages and "could not accept" in messages[0], messages


def test_source_and_module_arg_are_no_longer_accepted():
    out, kw = outcome("a05_gru_forward")
    for key, value in (("source", "def gru_forward(gru, x): ..."), ("module_arg", "gru")):
        assert "could not accept" in verdict("a05_gru_forward", dict(out["got"], **{key: value}), kw)[0]


def test_any_plain_value_of_the_student_is_judged_not_crashed_on():
    out, kw = outcome("a05_gru_cell")
    for value in (float("nan"), [], {}, None, "x", [[1.0, 2.0]], {"__type__": "Foo", "repr": "Foo()"}):
        got = copy.deepcopy(out["got"])
        got["results"][2] = {"value": value}
        messages = verdict("a05_gru_cell", got, kw)
        assert messages and "could not be checked" not in messages[0], messages
    got = copy.deepcopy(out["got"])
    got["results"][1]["value"]["data"] = np.full_like(got["results"][1]["value"]["data"], np.nan)
    assert "differs from nn.GRUCell" in verdict("a05_gru_cell", got, kw)[0]


def test_a_forward_that_calls_the_module_is_still_told_so():
    def calls(gru, x, h0=None):
        return gru(x, h0)

    out, kw = outcome("a05_gru_forward", calls, kind="basic", seed=1)
    assert all(entry == {"called": True} for entry in out["got"]["results"])
    assert "called the module" in verdict("a05_gru_forward", out["got"], kw)[0]


def test_a_forward_without_bias_handling_is_told_about_bias_whatever_it_raised():
    ns = {"torch": torch, "nn": nn, "gru_cell": gru_cell}
    exec(a05_fixtures.forward_with(biases="b_ih, b_hh = weights[2], weights[3]"), ns)  # IndexError
    out, kw = outcome("a05_gru_forward", ns["gru_forward"], kind="options", seed=3)
    found = verdict("a05_gru_forward", out["got"], kw)
    assert found and "IndexError" in found[0] and "all_weights[k] holds only the two weights" in found[0]


def test_last_step_with_the_stated_shape_refuses_another_output():
    tiled = torch.cat([OUTPUT] * 3)
    out, kw = outcome("a05_last_step", (tiled, OUTPUT[-1]), batch_first=False)
    assert verdict("a05_last_step", out["got"], kw) == []  # without shape: a consistent pair
    kw = dict(kw, shape=[5, 3, 20])
    assert "should be a (5, 3, 20) tensor" in verdict("a05_last_step", out["got"], kw)[0]
    out, _ = outcome("a05_last_step", (OUTPUT, OUTPUT[-1]), batch_first=False)
    assert verdict("a05_last_step", out["got"], kw) == []


def test_collate_lengths_device_is_always_sent():
    out, kw = outcome("a05_collate")
    got = copy.deepcopy(out["got"])
    got["results"][0]["value"]["lengths_device"] = None
    assert "must stay on the CPU" in verdict("a05_collate", got, kw)[0]
    del got["results"][0]["value"]["lengths_device"]
    assert "could not accept" in verdict("a05_collate", got, kw)[0]


# ---- the source rules -----------------------------------------------------------------------------
OWN_CELL = """
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    r_i, z_i, n_i = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    r_h, z_h, n_h = (h_prev @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
    return (1 - z) * torch.tanh(n_i + r * n_h) + z * h_prev
"""
LOOP = """
def gru_forward(gru, x, h0=None):
    h = x.new_zeros(x.shape[1], gru.hidden_size) if h0 is None else h0[0]
    steps = []
    for t in range(x.shape[0]):
        h = gru_cell(x[t], h, gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        steps.append(h)
    output = torch.stack(steps)
    return output, h[None]
"""


def forward_scan(*cells, answer="gru_forward", check="a05_gru_forward"):
    program = Program([(SETUP, False), (PART_A, True), *[(c, True) for c in cells]])
    return REGISTRY[check].scan(program, answer, kind="basic", seed=1)


STEP = "gru_cell(x[t], h, {w_ih}, {w_hh}, {b_ih}, {b_hh})"
HONEST_FORWARDS = {
    "loop_with_own_gru_cell": (OWN_CELL, LOOP),
    "matmul": ("""
def gru_forward(gru, x, h0=None):
    H = gru.hidden_size
    h = x.new_zeros(x.shape[1], H) if h0 is None else h0[0]
    out = []
    for x_t in x:
        gi = x_t @ gru.weight_ih_l0.T + gru.bias_ih_l0
        gh = h @ gru.weight_hh_l0.T + gru.bias_hh_l0
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        out.append(h)
    return torch.stack(out), h[None]
""",),
    "F_linear_and_chunk": ("""
def gru_forward(gru, x, h0=None):
    h = x.new_zeros(x.shape[1], gru.hidden_size) if h0 is None else h0[0]
    out = []
    for x_t in x:
        r_i, z_i, n_i = F.linear(x_t, gru.weight_ih_l0, gru.bias_ih_l0).chunk(3, 1)
        r_h, z_h, n_h = F.linear(h, gru.weight_hh_l0, gru.bias_hh_l0).chunk(3, 1)
        r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
        h = (1 - z) * torch.tanh(n_i + r * n_h) + z * h
        out.append(h)
    return torch.stack(out), h[None]
""",),
    "einsum": ("""
def gru_forward(gru, x, h0=None):
    h = x.new_zeros(x.shape[1], gru.hidden_size) if h0 is None else h0[0]
    out = []
    for x_t in x:
        gi = torch.einsum("bi,gi->bg", x_t, gru.weight_ih_l0) + gru.bias_ih_l0
        gh = torch.einsum("bh,gh->bg", h, gru.weight_hh_l0) + gru.bias_hh_l0
        r_i, z_i, n_i = gi.chunk(3, dim=1)
        r_h, z_h, n_h = gh.chunk(3, dim=1)
        r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
        h = (1 - z) * torch.tanh(n_i + r * n_h) + z * h
        out.append(h)
    return torch.stack(out), h[None]
""",),
    "getattr_per_layer": (OWN_CELL, """
def gru_forward(gru, x, h0=None):
    layer_input, finals = x, []
    for k in range(gru.num_layers):
        W_ih, W_hh = getattr(gru, f"weight_ih_l{k}"), getattr(gru, f"weight_hh_l{k}")
        b_ih, b_hh = getattr(gru, f"bias_ih_l{k}"), getattr(gru, f"bias_hh_l{k}")
        h = h0[k]
        steps = []
        for t in range(x.shape[0]):
            h = gru_cell(layer_input[t], h, W_ih, W_hh, b_ih, b_hh)
            steps.append(h)
        layer_input = torch.stack(steps)
        finals.append(h)
    return layer_input, torch.stack(finals)
"""),
    "getattr_with_a_formatted_name_on_the_module": (OWN_CELL, """
def gru_forward(gru, x, h0=None):
    p = {name: getattr(gru, f"{name}_l0", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    h = h0[0]
    for t in range(x.shape[0]):
        h = gru_cell(x[t], h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    return x, h[None]
"""),
}


@pytest.mark.parametrize("style", sorted(HONEST_FORWARDS))
def test_honest_forwards_have_no_finding(style):
    """Part A's global `gru = nn.GRU(...)` and `output` are not gru_forward's parameter and locals."""
    assert forward_scan(*HONEST_FORWARDS[style]) == []


ATTACKS = {
    "helper_in_another_cell": ("def helper(m, x):\n    return nn.GRU(m.input_size, m.hidden_size)(x)",
                               "def gru_forward(gru, x, h0=None):\n    return helper(gru, x)"),
    "alias": ("G = nn.GRU",
              "def gru_forward(gru, x, h0=None):\n    return G(gru.input_size, gru.hidden_size)(x)"),
    "getattr_torch_with_a_computed_name": (
        "def gru_forward(gru, x, h0=None):\n    name = 'g' + 'ru'\n    return getattr(torch, name)(x)",),
    "torch_gru_cell": (LOOP.replace("gru_cell(", "torch.gru_cell("),),
    "calls_the_module": ("def gru_forward(gru, x, h0=None):\n    return gru(x, h0)",),
    "module_forward": ("def gru_forward(gru, x, h0=None):\n    return gru.forward(x, h0)",),
    "super_forward": ("def gru_forward(gru, x, h0=None):\n    f = super(type(gru), gru).forward\n    return f(x, h0)",),
    "VF": ("def gru_forward(gru, x, h0=None):\n    from torch import _VF\n"
           "    return _VF.gru(x, h0, gru._flat_weights, True, 1, 0.0, False, False, False)",),
    "rebound_module_with_a_computed_name": (
        "def gru_forward(gru, x, h0=None):\n    gru = torch\n    return getattr(gru, name)(x)",),
    "own_name_shadows_nothing_when_undefined": (LOOP,),  # no gru_cell defined: torch's would run
    # a name bound in a nested scope (comprehension, inner def, lambda) is not the function's own
    "comprehension_target_hides_a_helper": (
        "def helper(m, x):\n    return nn.GRU(3, 4)(x)",
        "def gru_forward(m, x, h0=None):\n    _ = [helper for helper in ()]\n    return helper(m, x)"),
    "inner_parameter_hides_a_helper": (
        "def helper(m, x):\n    return nn.GRU(3, 4)(x)",
        "def gru_forward(m, x, h0=None):\n    def unused(helper):\n        return 1\n    return helper(m, x)"),
    "lambda_parameter_hides_a_helper": (
        "def helper(m, x):\n    return nn.GRU(3, 4)(x)",
        "def gru_forward(m, x, h0=None):\n    f = lambda helper: 1\n    return helper(m, x)"),
    "default_value_is_read_outside": (
        "def gru_forward(m, x, h0=None, real=gru):\n    return real(x)",),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_kernel_shortcuts_are_refused_from_the_source(attack):
    found = forward_scan(*ATTACKS[attack])
    assert len(found) == 1 and "gru_forward must do the arithmetic itself" in found[0], found


def test_a_name_built_at_run_time_is_explained():
    found = forward_scan(*ATTACKS["getattr_torch_with_a_computed_name"])
    assert "getattr(torch, name) (a name the grader cannot read)" in found[0]
    assert "spell the attribute out" in found[0]
    assert "spell the attribute out" not in forward_scan(*ATTACKS["alias"])[0]


def test_a_parameter_named_like_a_kernel_is_not_the_kernel():
    """No notebook-level `gru` here: the parameter `gru` is still not torch's gru."""
    program = Program([(SETUP, False), (OWN_CELL, True), (LOOP, True)])
    assert REGISTRY["a05_gru_forward"].scan(program, "gru_forward", kind="basic", seed=1) == []


def test_gru_cell_and_lstm_cell_are_read_too():
    assert forward_scan("def gru_cell(x, h, a, b, c, d):\n    return torch.gru_cell(x, h, a, b, c, d)",
                        answer="gru_cell", check="a05_gru_cell")
    assert forward_scan(OWN_CELL, answer="gru_cell", check="a05_gru_cell") == []
    lstm = "def lstm_cell(x, state, a, b, c, d):\n    return nn.LSTMCell(3, 4)(x, state)"
    found = forward_scan(lstm, answer="lstm_cell", check="a05_lstm_cell")
    assert found and found[0].startswith("lstm_cell must do the arithmetic itself")


CLASSIFIER = a05_fixtures.CLASSIFIER_HEAD + "        {body}\n"


@pytest.mark.parametrize("body, packs", [
    ("return self.head(self.gru(padded)[0][:, -1])", False),
    ("packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)\n"
     "        return self.head(self.gru(packed)[1][-1])", True),
    ("return self.head(self.gru(pack(padded, lengths, batch_first=True, enforce_sorted=False))[1][-1])", True),
])
def test_the_packed_classifier_must_pack(body, packs):
    found = forward_scan("from torch.nn.utils.rnn import pack_padded_sequence as pack",
                         CLASSIFIER.replace("{body}", body), answer="PackedGRUClassifier",
                         check="a05_packed_classifier")
    assert (found == []) is packs
    if not packs:
        assert found == [gru_checks.PACKING] and "pack_padded_sequence" in found[0]


def test_the_scan_comes_before_the_judge_in_the_verdict():
    out, kw = outcome("a05_packed_classifier")
    program = Program([(SETUP, False), (CLASSIFIER.replace("{body}", "return self.gru(padded)"), True)])
    messages = REGISTRY["a05_packed_classifier"].verdict(out, kw, "clf", program, "PackedGRUClassifier")
    assert messages == ["clf: " + gru_checks.PACKING]


def test_the_source_notebooks_answers_have_no_finding():
    path = next((ROOT / "source").glob("05_*/*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.source = strip_markers(cell.source)
    program = Program.from_notebook(nb)
    for check, answer in (("a05_gru_cell", "gru_cell"), ("a05_gru_forward", "gru_forward"),
                          ("a05_lstm_cell", "lstm_cell"), ("a05_packed_classifier", "PackedGRUClassifier")):
        assert REGISTRY[check].scan(program, answer, seed=1) == [], check


# ---- each mistake a student-tester met gets a message that names it ---------------------------------
def _defined(code, name):
    ns = {"torch": torch, "nn": nn, "gru_cell": gru_cell}
    exec(code, ns)
    return ns[name]


@pytest.mark.parametrize("student, phrase", [("cell_without_b_hh", "your output ignores b_hh"),
                                             ("cell_z_tanh", "the update gate is a sigmoid")])
def test_gru_cell_mistakes_are_named(student, phrase):
    fn = _defined(a05_fixtures.MISTAKES[student][1], "gru_cell")
    for seed in (1, 2, 3):
        out, kw = outcome("a05_gru_cell", fn, seed=seed)
        found = verdict("a05_gru_cell", out["got"], kw)
        assert found and phrase in found[0], found
    out, kw = outcome("a05_gru_forward", lambda gru, x, h0=None: gru_checks.reference_forward(
        gru, x, h0, student.replace("cell_without_", "no_").replace("cell_", "")), kind="basic", seed=1)
    assert "the cell has a mistake" in verdict("a05_gru_forward", out["got"], kw)[0]


@pytest.mark.parametrize("kind", ["batch_first", "deep"])
def test_reshape_instead_of_transpose_is_named_in_every_layout_check(kind):
    ns = {"torch": torch, "nn": nn, "gru_cell": gru_cell}
    exec(a05_fixtures.MISTAKES["forward_reshape_batch_first"][1], ns)
    for seed in (1, 2, 3, 4, 5):
        out, kw = outcome("a05_gru_forward", ns["gru_forward"], kind=kind, seed=seed)
        found = verdict("a05_gru_forward", out["got"], kw)
        assert found and "use transpose, not reshape, for batch_first" in found[0], found
        assert "num_layers > 1, layer k reads" not in found[0]
    out, kw = outcome("a05_gru_forward", ns["gru_forward"], kind="basic", seed=1)
    assert verdict("a05_gru_forward", out["got"], kw) == []


def test_another_order_than_sorted_is_named_too():
    def reversed_collate(batch):
        return collate(batch[::-1])
    out, kw = outcome("a05_collate", reversed_collate, seed=1)
    found = verdict("a05_collate", out["got"], kw)
    assert "in another order" in found[0] or "sorted by length" in found[0], found


@pytest.mark.parametrize("mistake, answer, check, phrases, not_said", [
    ("collate_sorts_batch", "collate", "a05_collate", ("sorted by length", "keep the order of the batch"),
     "from step 0"),
    ("classifier_packs_then_reads_last_index", "PackedGRUClassifier", "a05_packed_classifier",
     ("last padded step", "h_n[-1]"), "the model reads padding"),
])
def test_the_mistake_is_named_on_every_seed(mistake, answer, check, phrases, not_said):
    fn = _defined(a05_fixtures.MISTAKES[mistake][1], answer)
    for seed in (1, 2, 3, 4, 5):
        out, kw = outcome(check, fn, seed=seed)
        found = verdict(check, out["got"], kw)
        assert found and all(p in found[0] for p in phrases) and not_said not in found[0], found


def test_indexing_the_packed_output_gets_a_hint():
    cls = _defined(a05_fixtures.CLASSIFIER_HEAD + """\
        packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        return self.head(self.gru(packed)[0][:, -1])
""", "PackedGRUClassifier")
    out, kw = outcome("a05_packed_classifier", cls, seed=1)
    found = verdict("a05_packed_classifier", out["got"], kw)
    assert found and "output is packed too" in found[0], found


@pytest.mark.parametrize("module, answer, phrase", [
    ("GRU", 1920, None), ("GRU", 1920.0, None), ("LSTM", 704, None),
    ("GRU", None, "not answered yet"), ("GRU", "1920", "whole number"), ("GRU", True, "whole number"),
    ("GRU", 640, "the count of an nn.RNN"), ("GRU", 2560, "the count of an nn.LSTM"),
    ("GRU", 1800, "left out the biases"), ("GRU", 1860, "two bias vectors"),
    ("GRU", 3 * (200 + 200 + 40), "weight_hh multiplies h"), ("LSTM", 528, "the count of an nn.GRU"),
    ("GRU", 1234, "count weight_ih_l0")])
def test_parameter_counts_name_each_slip(module, answer, phrase):
    kwargs = {"input_size": 10, "hidden_size": 20} if module == "GRU" else {"input_size": 12, "hidden_size": 8}
    kw = {"module": module, "kwargs": kwargs}
    out = core.decode(*core.encode(core.run_probe(REGISTRY["a05_param_count"], answer, kw)))
    assert REGISTRY["a05_param_count"].result(**kw).validate(out["got"]) is None
    found = verdict("a05_param_count", out["got"], kw)
    if phrase is None:
        assert found == []
    else:
        assert found and phrase in found[0], found


# ---- the course's own answers (reference.py) and the demonstrations that fall back on them ----------
def unanswered(*args, **kwargs):
    raise NotImplementedError()


DEEP = {"type": "GRU", "input_size": 10, "hidden_size": 20, "num_layers": 2, "batch_first": True}
FALLBACKS = [  # (check, grade_id, the course's answer's arguments, the honest answer, check kw)
    ("a05_collate", "collate", (), collate, {"seed": 1}),
    ("a05_last_valid", "last_valid", (), last_valid, {"seed": 1}),
    ("a05_packed_classifier", "packed_classifier", (), PackedGRUClassifier, {"seed": 1}),
    ("layer_config", "fill_gru_deep", (), nn.GRU(10, 20, num_layers=2, batch_first=True), {"expected": DEEP}),
]


@pytest.mark.parametrize("check, grade_id, args, honest, kw", FALLBACKS, ids=[f[1] for f in FALLBACKS])
def test_working_keeps_a_passing_answer_and_falls_back_on_the_course_answer(check, grade_id, args, honest,
                                                                            kw, capsys):
    from course.practice import working
    reference = a05_reference.answer(grade_id, *args)
    assert working(check, reference, None, **kw) is reference  # the course's answer passes its check
    assert working(check, honest, reference, label=grade_id, **kw) is honest
    assert capsys.readouterr().out == ""
    wrong = None if check == "layer_config" else unanswered
    assert working(check, wrong, reference, label=grade_id, **kw) is reference
    assert "the cells below use the course's own " + grade_id in capsys.readouterr().out


def test_a2s_output_falls_back_on_the_course_gru(capsys):
    from course.practice import working
    x = torch.randn(5, 3, 10)
    reference = a05_reference.answer("fill_call", x)
    kw = {"seq_len": 5, "batch": 3, "hidden_size": 20}
    assert working("runs_rnn", (None, None), reference, label="output, hidden", **kw) is reference
    assert "Note: output, hidden" in capsys.readouterr().out
    assert working("runs_rnn", reference, None, **kw) is reference


def test_the_stand_ins_are_used_by_locked_cells_only_and_earn_nothing():
    """Cells that reach the course's answers are locked; an answer borrowing one gets no credit."""
    nb = nbformat.read(next((ROOT / "source").glob("05_*/*.ipynb")), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "reference.answer(" in cell.source:
            assert cell.metadata["nbgrader"]["locked"], cell.metadata
    setup = "from course.assignments.a05_gru_and_packing import reference"
    found = REGISTRY["a05_collate"].scan(Program([(setup, False), ("collate = reference.answer('collate')", True)]),
                                         "collate")
    assert found and "the course's stand-in" in found[0]


def test_the_unanswered_classifier_is_told_so_not_told_to_pack():
    stub = (a05_fixtures.CLASSIFIER_HEAD.split("    def forward")[0]
            + "    def forward(self, padded, lengths):\n        # YOUR CODE HERE\n        raise NotImplementedError()\n")
    assert forward_scan(stub, answer="PackedGRUClassifier", check="a05_packed_classifier") == []
    real = CLASSIFIER.replace("{body}", "return self.head(self.gru(padded)[0][:, -1])")
    # a stub left in another cell does not hide a real forward that never packs
    assert forward_scan(stub, real, answer="PackedGRUClassifier", check="a05_packed_classifier") == \
        [gru_checks.PACKING]
    cls = _defined(stub, "PackedGRUClassifier")
    out, kw = outcome("a05_packed_classifier", cls, seed=1)
    assert out == {"ok": False, "kind": "not_implemented"}
    assert "not answered yet" in REGISTRY["a05_packed_classifier"].verdict(out, kw, "clf")[0]
