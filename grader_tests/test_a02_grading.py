"""Assignment 02 through real nbgrader: full marks, zero, and one mistake at a time."""
import pytest

from harness import Course, cell_outputs_text, expect_lost, grade_fixtures

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_rnn_from_scratch"

CELL = {"test_rnn_cell", "test_rnn_cell_options"}
FORWARD = {"test_rnn_forward_single", "test_rnn_forward_layers", "test_rnn_forward_batch_first",
           "test_rnn_forward_h0"}

GOOD_FORWARD_HEAD = '''
def rnn_forward(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    seq_len, batch, _ = x.shape
    layer_input, h_n = x, []
    for k in range(rnn.num_layers):
        W_ih, W_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        b_ih = getattr(rnn, f"bias_ih_l{k}") if rnn.bias else None
        b_hh = getattr(rnn, f"bias_hh_l{k}") if rnn.bias else None
        h = x.new_zeros(batch, rnn.hidden_size) if h0 is None else h0[k]
        states = []
        for t in range(seq_len):
            h = rnn_cell(layer_input[t], h, W_ih, W_hh, b_ih, b_hh, rnn.nonlinearity)
            states.append(h)
        layer_input = torch.stack(states)
        h_n.append(h)
'''

# student -> (grade_id of the answer cell, its mistaken code, the test cells that must lose points,
#             a phrase the feedback of the first lost cell must contain)
MISTAKES = {
    "missing_b_hh": ("rnn_cell", '''
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
''', CELL | FORWARD, ("test_rnn_cell", "your output ignores b_hh")),
    "tanh_on_input_only": ("rnn_cell", '''
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    act = torch.relu if nonlinearity == "relu" else torch.tanh
    inp = x_t @ W_ih.T + (0 if b_ih is None else b_ih)
    return act(inp) + h_prev @ W_hh.T + (0 if b_hh is None else b_hh)
''', CELL | FORWARD, ("test_rnn_cell", "tanh was applied to the input term only")),
    "no_transpose": ("rnn_cell", '''
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih + h_prev @ W_hh
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)
''', CELL | FORWARD, ("test_rnn_cell", "x @ W_ih instead of x @ W_ih.T")),
    "relu_ignored": ("rnn_cell", '''
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.tanh(pre)
''', {"test_rnn_cell_options", "test_rnn_forward_single", "test_rnn_forward_layers",
      "test_rnn_forward_batch_first", "test_rnn_forward_h0"},
        ("test_rnn_cell_options", "nonlinearity='relu' was ignored")),
    "h_n_last_layer_only": ("rnn_forward", GOOD_FORWARD_HEAD + '''
    output = layer_input.transpose(0, 1) if rnn.batch_first else layer_input
    return output, h.unsqueeze(0)
''', {"test_rnn_forward_layers", "test_rnn_forward_h0"},
        ("test_rnn_forward_layers", "h_n is the last time step of every layer, not only the last layer")),
    "reshape_for_batch_first": ("rnn_forward", GOOD_FORWARD_HEAD.replace(
        "x = x.transpose(0, 1)", "x = x.reshape(x.shape[1], x.shape[0], x.shape[2])") + '''
    output = layer_input.reshape(batch, seq_len, -1) if rnn.batch_first else layer_input
    return output, torch.stack(h_n)
''', {"test_rnn_forward_batch_first"},
        ("test_rnn_forward_batch_first", "use transpose, not reshape, for batch_first")),
    "ignores_h0": ("rnn_forward", GOOD_FORWARD_HEAD.replace("if h0 is None else h0[k]", "") + '''
    output = layer_input.transpose(0, 1) if rnn.batch_first else layer_input
    return output, torch.stack(h_n)
''', {"test_rnn_forward_h0"}, ("test_rnn_forward_h0", "ignores h0")),
    "calls_nn_rnn": ("rnn_forward", '''
def rnn_forward(rnn, x, h0=None):
    return rnn(x, h0)
''', FORWARD, ("test_rnn_forward_single", "Use the parameters, not the module")),
    "copies_into_new_rnn": ("rnn_forward", '''
def rnn_forward(rnn, x, h0=None):
    twin = nn.RNN(rnn.input_size, rnn.hidden_size, rnn.num_layers, nonlinearity=rnn.nonlinearity,
                  bias=rnn.bias, batch_first=rnn.batch_first).to(x.dtype)
    twin.load_state_dict(rnn.state_dict())
    with torch.no_grad():
        return twin(x, h0)
''', FORWARD, ("test_rnn_forward_layers", "runs PyTorch's own RNN kernel")),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_fixtures(Course(tmp_path_factory.mktemp("a02"), ASSIGNMENT), MISTAKES)


def test_solution_gets_full_marks(graded):
    course, scores, full = graded
    assert scores["solution"] == full
    assert set(full) == CELL | FORWARD and sum(full.values()) == 9


def test_untouched_release_gets_zero(graded):
    course, scores, full = graded
    assert sum(scores["blank"].values()) == 0, scores["blank"]


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_one_mistake_loses_exactly_its_cells(graded, student):
    course, scores, full = graded
    assert expect_lost(scores[student], full, MISTAKES[student][2]) == []


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_feedback_names_the_mistake(graded, student):
    course, scores, full = graded
    grade_id, phrase = MISTAKES[student][3]
    assert phrase in cell_outputs_text(course.autograded(student), grade_id)


def test_hidden_tests_are_back_in_autograded(graded):
    course, scores, full = graded
    sources = "\n".join(c.source for c in course.autograded("solution").cells)
    assert sources.count("seed=None") == 6


def test_release_has_no_solutions_or_hidden_tests(graded):
    course, scores, full = graded
    for cell in course.release().cells:
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert "seed=None" not in cell.source
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
