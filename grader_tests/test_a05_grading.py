"""Assignment 05 through real nbgrader: full marks, zero, other correct styles, one mistake at a time."""
import pytest

from harness import Course, cell_outputs_text, expect_lost, grade_fixtures

pytestmark = pytest.mark.slow

ASSIGNMENT = "05_gru_and_packing"

GRU_FORWARD_CELLS = {"test_gru_forward_basic", "test_gru_forward_batch_first",
                     "test_gru_forward_options", "test_gru_forward_deep"}
# gru_forward calls gru_cell, so a wrong cell costs the forward cells too.
CELL_AND_FORWARD = {"test_gru_cell"} | GRU_FORWARD_CELLS


def cell_with(candidate, update="(1 - z) * n + z * h_prev", order="r, z, n"):
    return f"""
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    {order.replace('r', 'r_i').replace('z', 'z_i').replace('n', 'n_i')} = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    {order.replace('r', 'r_h').replace('z', 'z_h').replace('n', 'n_h')} = (h_prev @ W_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(r_i + r_h)
    z = torch.sigmoid(z_i + z_h)
    n = {candidate}
    return {update}
"""


FORWARD = """
def gru_forward(gru, x, h0=None):
    {transpose}
    seq_len, batch, _ = x.shape
    H = gru.hidden_size
    if h0 is None:
        h0 = x.new_zeros(gru.num_layers, batch, H)
    layer_input, h_n = x, []
    for k in range(gru.num_layers):
        W_ih = getattr(gru, f"weight_ih_l{layer}")
        W_hh = getattr(gru, f"weight_hh_l{layer}")
        {biases}
        h, steps = h0[k], []
        for t in range(seq_len):
            h = gru_cell(layer_input[t], h, W_ih, W_hh, b_ih, b_hh)
            steps.append(h)
        layer_input = torch.stack(steps)
        h_n.append(h)
    output = layer_input.transpose(0, 1) if gru.batch_first else layer_input
    return output, torch.stack(h_n)
"""
BIASES = """if gru.bias:
            b_ih, b_hh = getattr(gru, f"bias_ih_l{k}"), getattr(gru, f"bias_hh_l{k}")
        else:
            b_ih = b_hh = W_ih.new_zeros(3 * H)"""


def forward_with(transpose="if gru.batch_first:\n        x = x.transpose(0, 1)", layer="{k}", biases=BIASES):
    return FORWARD.replace("{transpose}", transpose).replace("{layer}", layer).replace("{biases}", biases)


# Other correct ways to write the answers: each must get full marks.
CORRECT_STYLES = {
    "cell_explicit_slices": {"gru_cell": """
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi = x_t @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h_prev - n)
"""},
    "cell_one_fused_matmul": {"gru_cell": """
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    # one block-diagonal weight: [x, h] @ W.T gives the input and hidden parts side by side
    H, I = h_prev.shape[1], x_t.shape[1]
    W = torch.zeros(6 * H, I + H, dtype=W_ih.dtype)
    W[:3 * H, :I] = W_ih
    W[3 * H:, I:] = W_hh
    g = torch.cat([x_t, h_prev], dim=1) @ W.T + torch.cat([b_ih, b_hh])
    r_i, z_i, n_i, r_h, z_h, n_h = g.split(H, dim=1)
    r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
    n = torch.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h_prev
"""},
    "functional_and_batch_first_loop": {
        "gru_cell": """
import torch.nn.functional as F
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    gi, gh = F.linear(x_t, W_ih, b_ih), F.linear(h_prev, W_hh, b_hh)
    i_r, i_z, i_n = torch.split(gi, gi.shape[1] // 3, dim=1)
    h_r, h_z, h_n = torch.split(gh, gh.shape[1] // 3, dim=1)
    resetgate, updategate = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    newgate = torch.tanh(i_n + resetgate * h_n)
    return newgate + updategate * (h_prev - newgate)
""",
        "gru_forward": """
def gru_forward(gru, x, h0=None):
    time_dim = 1 if gru.batch_first else 0
    batch = x.shape[1 - time_dim]
    states = [torch.zeros(batch, gru.hidden_size, dtype=x.dtype) if h0 is None else h0[k]
              for k in range(gru.num_layers)]
    outputs = []
    for t in range(x.shape[time_dim]):
        inp = x.select(time_dim, t)
        for k in range(gru.num_layers):
            p = {name: getattr(gru, f"{name}_l{k}", None)
                 for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            zeros = torch.zeros(3 * gru.hidden_size, dtype=x.dtype)
            states[k] = gru_cell(inp, states[k], p["weight_ih"], p["weight_hh"],
                                 p["bias_ih"] if gru.bias else zeros,
                                 p["bias_hh"] if gru.bias else zeros)
            inp = states[k]
        outputs.append(inp)
    return torch.stack(outputs, dim=time_dim), torch.stack(states)
"""},
}

MISTAKES = {
    # --- gru_cell: the judge names each one --------------------------------------------------
    "paper_candidate": ("gru_cell", cell_with("torch.tanh(n_i + (r * h_prev) @ W_hh[2 * h_prev.shape[1]:].T"
                                              " + b_hh[2 * h_prev.shape[1]:])"), CELL_AND_FORWARD),
    "z_r_swapped": ("gru_cell", cell_with("torch.tanh(n_i + r * n_h)", order="z, r, n"), CELL_AND_FORWARD),
    "merged_bias": ("gru_cell", cell_with("torch.tanh(n_i + b_hh[2 * h_prev.shape[1]:] + "
                                          "r * (n_h - b_hh[2 * h_prev.shape[1]:]))"), CELL_AND_FORWARD),
    "one_minus_z_wrong_term": ("gru_cell", cell_with("torch.tanh(n_i + r * n_h)",
                                                     update="z * n + (1 - z) * h_prev"), CELL_AND_FORWARD),
    "chunk_order_n_r_z": ("gru_cell", cell_with("torch.tanh(n_i + r * n_h)", order="n, r, z"),
                          CELL_AND_FORWARD),
    "weights_not_transposed": ("gru_cell", cell_with("torch.tanh(n_i + r * n_h)").replace(
        "W_ih.T", "W_ih").replace("W_hh.T", "W_hh"), CELL_AND_FORWARD),
    "cell_calls_torch_gru_cell": ("gru_cell", """
def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return torch.gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
""", CELL_AND_FORWARD),  # gru_forward reaches torch.gru_cell through it: no credit there either
    # --- gru_forward ---------------------------------------------------------------------------
    "forward_calls_module": ("gru_forward", """
def gru_forward(gru, x, h0=None):
    return nn.GRU.forward(gru, x, h0)
""", GRU_FORWARD_CELLS),
    "forward_uses_VF": ("gru_forward", """
def gru_forward(gru, x, h0=None):
    from torch import _VF
    if h0 is None:
        h0 = x.new_zeros(gru.num_layers, x.shape[0 if gru.batch_first else 1], gru.hidden_size)
    out, h_n = _VF.gru(x, h0, gru._flat_weights, gru.bias, gru.num_layers, 0.0, False, False,
                       gru.batch_first)
    return out, h_n
""", GRU_FORWARD_CELLS),
    "forward_ignores_batch_first": ("gru_forward", forward_with(transpose="pass"),
                                    {"test_gru_forward_batch_first", "test_gru_forward_deep"}),
    "forward_reuses_layer0": ("gru_forward", forward_with(layer="0"), {"test_gru_forward_deep"}),
    "forward_needs_bias": ("gru_forward", forward_with(
        biases='b_ih, b_hh = getattr(gru, f"bias_ih_l{k}"), getattr(gru, f"bias_hh_l{k}")'),
        {"test_gru_forward_options", "test_gru_forward_deep"}),
    # --- variable lengths ----------------------------------------------------------------------
    "collate_float_lengths": ("collate", """
def collate(batch):
    sequences = [s for s, _ in batch]
    padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    lengths = torch.tensor([float(len(s)) for s in sequences])
    return padded, lengths, torch.tensor([y for _, y in batch])
""", {"test_collate"}),
    "last_valid_reads_padding": ("last_valid", """
def last_valid(output, lengths, batch_first):
    return output[:, -1] if batch_first else output[-1]
""", {"test_last_valid"}),
    "classifier_sorted_lengths": ("packed_classifier", """
class PackedGRUClassifier(nn.Module):
    def __init__(self, num_features, hidden_size, num_classes):
        super().__init__()
        self.gru = nn.GRU(num_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, padded, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True)
        return self.head(self.gru(packed)[1][-1])
""", {"test_packed_classifier"}),
    "classifier_no_packing": ("packed_classifier", """
class PackedGRUClassifier(nn.Module):
    def __init__(self, num_features, hidden_size, num_classes):
        super().__init__()
        self.gru = nn.GRU(num_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, padded, lengths):
        return self.head(self.gru(padded)[0][:, -1])
""", {"test_packed_classifier"}),
    # --- LSTM and the quiz -----------------------------------------------------------------------
    "lstm_cs231n_order": ("lstm_cell", """
def lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    i, f, o, g = (x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
""", {"test_lstm_cell"}),
    "last_step_batch_first_index": ("last_bf", "last_bf = out_bf[-1]", {"test_last_bf"}),
    "h0_follows_batch_first": ("q_shapes", "shape_p3 = (4, 7, 3)\nshape_p4 = (5, 10, 4)\n"
                               "shape_p6 = (3, 2, 20)", {"test_shape_p6"}),
    "gate_z_means_overwrite": ("q_c1", 'q_c1 = "A"', {"test_q_c1"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_fixtures(Course(tmp_path_factory.mktemp("a05"), ASSIGNMENT), MISTAKES, CORRECT_STYLES)


def test_solution_gets_full_marks(graded):
    course, scores, full = graded
    assert scores["solution"] == full
    assert sum(full.values()) >= 30


def test_untouched_release_gets_zero(graded):
    course, scores, full = graded
    assert sum(scores["blank"].values()) == 0, scores["blank"]


@pytest.mark.parametrize("student", sorted(CORRECT_STYLES))
def test_other_correct_styles_get_full_marks(graded, student):
    course, scores, full = graded
    assert expect_lost(scores[student], full, set()) == []


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_one_mistake_loses_exactly_its_cells(graded, student):
    course, scores, full = graded
    assert expect_lost(scores[student], full, MISTAKES[student][2]) == []


FEEDBACK = {
    ("paper_candidate", "test_gru_cell"): "original GRU paper and d2l.ai",
    ("paper_candidate", "test_gru_forward_basic"): "the cell has a mistake",
    ("z_r_swapped", "test_gru_cell"): "z and r are swapped",
    ("merged_bias", "test_gru_cell"): "b_in + b_hn merged",
    ("one_minus_z_wrong_term", "test_gru_cell"): "(1 − z) multiplies the wrong term",
    ("chunk_order_n_r_z", "test_gru_cell"): "chunks are in the wrong order",
    ("weights_not_transposed", "test_gru_cell"): "(out_features, in_features)",
    ("cell_calls_torch_gru_cell", "test_gru_cell"): "must do the arithmetic itself",
    ("forward_calls_module", "test_gru_forward_basic"): "must do the arithmetic itself",
    ("forward_uses_VF", "test_gru_forward_deep"): "_VF",
    ("forward_ignores_batch_first", "test_gru_forward_batch_first"): "batch_first=True",
    ("forward_reuses_layer0", "test_gru_forward_deep"): "not weight_ih_l0",
    ("forward_needs_bias", "test_gru_forward_options"): "with bias=False the module has no bias_ih_l0",
    ("collate_float_lengths", "test_collate"): "int64",
    ("last_valid_reads_padding", "test_last_valid"): "the last *padded* step",
    ("classifier_sorted_lengths", "test_packed_classifier"): "enforce_sorted=False",
    ("classifier_no_packing", "test_packed_classifier"): "the model reads padding",
    ("lstm_cs231n_order", "test_lstm_cell"): "CS231n's order",
    ("last_step_batch_first_index", "test_last_bf"): "output[:, -1]",
    ("h0_follows_batch_first", "test_shape_p6"): "even when batch_first=True",
    ("gate_z_means_overwrite", "test_q_c1"): "z ≈ 1 means keep",
}


@pytest.mark.parametrize("student, grade_id", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student, grade_id):
    course, scores, full = graded
    text = cell_outputs_text(course.autograded(student), grade_id)
    assert FEEDBACK[(student, grade_id)] in text, text


def test_hidden_tests_are_back_in_autograded(graded):
    course, scores, full = graded
    sources = "\n".join(c.source for c in course.autograded("solution").cells)
    assert 'key="B"' in sources and "seed=None" in sources


def test_release_has_no_solutions_or_hidden_tests(graded):
    course, scores, full = graded
    for cell in course.release().cells:
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert "key=" not in cell.source, "a multiple-choice key leaked into the release"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


def test_gate_widget_cell_is_locked_and_uses_the_player(graded):
    course, scores, full = graded
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in course.release().cells}
    assert "gates.gate_player(" in cells["gate_widget"].source
    assert cells["gate_widget"].metadata["nbgrader"]["locked"]
