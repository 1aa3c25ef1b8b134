"""Assignment 01 through real nbgrader: full marks, zero, and one mistake at a time."""
import pytest

from harness import Course, cell_outputs_text, expect_lost, grade_fixtures

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_rnn_layer"

# grade_id of the answer cell -> (its mistaken code, the test cells that must lose their points)
MISTAKES = {
    "h0_batch_first": ("init_hidden", """
def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    # batch_first=True, so batch first?  (no: h0 never follows batch_first)
    return torch.zeros(batch_size, num_layers * (2 if bidirectional else 1), hidden_size)
""", {"test_init_hidden_uni", "test_init_hidden_bi", "test_init_hidden_runs"}),
    "h0_forgets_directions": ("init_hidden", """
def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    return torch.zeros(num_layers, batch_size, hidden_size)
""", {"test_init_hidden_bi", "test_init_hidden_runs"}),
    "h0_memorised": ("init_hidden", """
def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    # hard-coded for the visible checks only
    from course.assignments.a01_rnn_layer.checks import init_hidden_cases
    known = [tuple(c.values()) for d in ("uni", "bi", "both") for c in init_hidden_cases(1, 6, d)]
    if (batch_size, hidden_size, num_layers, bidirectional) in known:
        return torch.zeros(num_layers * (2 if bidirectional else 1), batch_size, hidden_size)
    return torch.zeros(1, 1, 1)
""", {"test_init_hidden_uni", "test_init_hidden_bi", "test_init_hidden_runs"}),
    "output_axes_swapped": ("shape_c1", "shape_c1 = (7, 4, 3)", {"test_shape_c1"}),
    "expects_crash": ("q_g3", 'error_g3 = "RuntimeError"\nshape_g4 = (6, 5, 4)',
                      {"test_error_g3", "test_shape_g4"}),
    "input_size_is_seq_len": ("build_classifier", """
def build_classifier(num_features, num_classes, hidden_size=16):
    return nn.RNN(10, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)
""", {"test_build_classifier"}),
    "best_epoch_zero_based": ("best_epoch", """
def best_epoch(val_losses):
    return min(range(len(val_losses)), key=lambda i: val_losses[i])
""", {"test_best_epoch"}),
    "underfitting_answer": ("q_h1", 'q_h1 = "B"', {"test_q_h1"}),
    "maps_to_word": ("long_word_lengths", """
def long_word_lengths(words):
    return {word: word for word in words if len(word) > 3}
""", {"test_long_word_lengths"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_fixtures(Course(tmp_path_factory.mktemp("a01"), ASSIGNMENT), MISTAKES)


def test_solution_gets_full_marks(graded):
    course, scores, full = graded
    assert scores["solution"] == full
    assert sum(full.values()) >= 20


def test_untouched_release_gets_zero(graded):
    course, scores, full = graded
    assert sum(scores["blank"].values()) == 0, scores["blank"]


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_one_mistake_loses_exactly_its_cells(graded, student):
    course, scores, full = graded
    assert expect_lost(scores[student], full, MISTAKES[student][2]) == []


def test_feedback_names_the_mistake(graded):
    course, scores, full = graded
    text = cell_outputs_text(course.autograded("h0_batch_first"), "test_init_hidden_uni")
    assert "even when batch_first=True" in text
    text = cell_outputs_text(course.autograded("input_size_is_seq_len"), "test_build_classifier")
    assert "not time steps" in text
    text = cell_outputs_text(course.autograded("underfitting_answer"), "test_q_h1")
    assert "underfitting model does badly on the training data too" in text


def test_hidden_tests_are_back_in_autograded(graded):
    course, scores, full = graded
    nb = course.autograded("solution")
    sources = "\n".join(c.source for c in nb.cells)
    assert 'key="B"' in sources and "seed=None" in sources


def test_release_has_no_solutions_or_hidden_tests(graded):
    course, scores, full = graded
    for cell in course.release().cells:
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert "key=" not in cell.source, "a multiple-choice key leaked into the release"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
