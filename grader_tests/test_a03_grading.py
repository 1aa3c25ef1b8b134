"""Assignment 03 through real nbgrader: full marks, zero, and one mistake at a time."""
import pytest

from harness import Course, cell_outputs_text, expect_lost, grade_fixtures

pytestmark = pytest.mark.slow

ASSIGNMENT = "03_sequence_classifier"

CLASSIFIER = '''
class SequenceClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=1, rnn_type="rnn"):
        super().__init__()
        layer = {{"rnn": nn.RNN, "gru": nn.GRU}}[rnn_type]
        self.rnn = layer(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return {readout}
'''
ARCHITECTURE = {"test_classifier", "test_classifier_deep", "test_classifier_gru"}
# The trained models are judged from their weights, rebuilt as the course's pipeline (input → RNN →
# last time step → Linear, checks.models): a model that is not that pipeline loses its accuracy cells.
ACCURACY = {"test_order_accuracy", "test_vowels_accuracy"}

# student -> (grade_id of the answer cell, its mistaken code, the test cells that must lose their points)
MISTAKES = {
    # (batch, seq, hidden)[0] is one sequence: the logits have the wrong batch size, training crashes.
    "output_first": ("sequence_classifier", CLASSIFIER.format(readout="self.head(output[0])"),
                     ARCHITECTURE | ACCURACY),
    # Silent: trains fine (the outputs late in time carry memory) but is not the architecture asked for.
    "mean_over_time": ("sequence_classifier", CLASSIFIER.format(readout="self.head(output.mean(dim=1))"),
                       ARCHITECTURE | ACCURACY),
    "softmax_before_loss": ("sequence_classifier",
                            CLASSIFIER.format(readout="self.head(h_n[-1]).softmax(dim=1)"),
                            ARCHITECTURE | ACCURACY),
    # Right for one layer, wrong for two.
    "h_n0_two_layers": ("sequence_classifier", CLASSIFIER.format(readout="self.head(h_n[0])"),
                        {"test_classifier_deep"}),
    "last_hidden_h_n0": ("last_hidden", """
def last_hidden(output, h_n, batch_first):
    return h_n[0]
""", {"test_last_hidden_deep", "test_classifier_deep"}),
    "evaluate_no_eval": ("evaluate", """
def evaluate(model, loader, loss_fn):
    total, correct, count = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        total += loss_fn(logits, y).item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
    return total / count, correct / count
""", {"test_evaluate_modes"}),
    "train_epoch_no_step": ("train_epoch", """
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        total += loss.item()
    return total / len(loader)
""", {"test_train_epoch", "test_fit"} | ACCURACY),
    "quiz_time_major": ("shape_rnn_output", "shape_rnn_output = (10, 1000, 8)", {"test_shape_rnn_output"}),
    "right_padding_is_fine": ("q_f5", 'q_f5 = "A"', {"test_q_f5"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_fixtures(Course(tmp_path_factory.mktemp("a03"), ASSIGNMENT), MISTAKES)


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


@pytest.mark.parametrize("student, grade_id, phrase", [
    ("softmax_before_loss", "test_classifier", "applies log-softmax itself"),
    ("mean_over_time", "test_classifier", "averages the outputs over time"),
    ("output_first", "test_classifier", "first sequence of the batch"),
    ("mean_over_time", "test_order_accuracy", "read the last time step"),
    ("h_n0_two_layers", "test_classifier_deep", "h_n[0], the first layer's final state"),
    ("last_hidden_h_n0", "test_last_hidden_deep", "final state of the *first* layer"),
    ("evaluate_no_eval", "test_evaluate_modes", "torch.no_grad()"),
    ("evaluate_no_eval", "test_evaluate_modes", "model.eval()"),
    ("train_epoch_no_step", "test_train_epoch", "optimizer.step()"),
    ("right_padding_is_fine", "test_q_f5", "a zero frame still updates the state"),
])
def test_feedback_names_the_mistake(graded, student, grade_id, phrase):
    course, scores, full = graded
    assert phrase in cell_outputs_text(course.autograded(student), grade_id)


def test_no_test_cell_writes_to_stderr(graded):
    course, scores, full = graded
    nb = course.autograded("solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert not [o for o in cell.get("outputs", []) if o.get("name") == "stderr"], \
                cell.metadata["nbgrader"]["grade_id"]


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
