"""Assignment 04 through real nbgrader: full marks, zero, and one mistake at a time.

Each mistake fixture replaces one answer cell. It loses the test cell of that answer and, where the
mistake really changes the trained final model, the final-model cell too (measured, deterministic on
CPU with one thread; the reason is given next to each fixture).
"""
import pytest

from harness import Course, cell_outputs_text, expect_lost, grade_fixtures

pytestmark = pytest.mark.slow

ASSIGNMENT = "04_overfitting"

EARLY_STOPPING = '''
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.counter, self.epoch = float("inf"), 0, 0, 0
        self.best_state = None

    def step(self, val_loss, model):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.counter = val_loss, self.epoch, 0
            self.best_state = {SAVE}
        else:
            self.counter += 1
        return self.counter {COMPARE} self.patience

    def restore(self, model):
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
'''

FIT = '''
def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in experiments.progress(range(epochs), enabled=progress):
        model.train()
        optimiser.zero_grad()
        loss = loss_fn(model(data["x_train"]), data["y_train"])
        loss.backward()
        optimiser.step()
        train_loss, train_acc = evaluate(model, data["x_train"], data["y_train"])
        val_loss, val_acc = evaluate(model, data["x_val"], data["y_val"])
        for key, value in zip(("train_loss", "val_loss", "train_acc", "val_acc"),
                              (train_loss, val_loss, train_acc, val_acc)):
            history[key].append(value)
        if stopper is not None and stopper.step(train_loss, model):   # watches the wrong curve
            break
    if stopper is not None:
        stopper.restore(model)
        history["best_epoch"] = stopper.best_epoch
    else:
        history["best_epoch"] = len(history["val_loss"])
    return history
'''

# student -> (grade_id of the answer cell, its mistaken code, the test cells that must lose their points)
MISTAKES = {
    "patience_off_by_one": ("early_stopping",
                            EARLY_STOPPING.format(SAVE="copy.deepcopy(model.state_dict())", COMPARE=">"),
                            {"test_early_stopping_patience"}),
    # The training loss keeps falling, so the stopper never fires: the final model trains all 200
    # epochs and memorises wrong labels (training accuracy above 92 %), so the final model fails too.
    "stops_on_training_loss": ("fit", FIT, {"test_fit", "test_final_model"}),
    "dropout_one_layer": ("regularized_rnn", '''
class RegularizedRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=2, dropout=0.3):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=1, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(self.dropout(output[:, -1]))
''', {"test_regularized_rnn"}),
    # state_dict() without a copy: "restore" loads the last epoch's weights, 20 epochs past the best.
    "no_restore_copy": ("early_stopping",
                        EARLY_STOPPING.format(SAVE="model.state_dict()", COMPARE=">="),
                        {"test_early_stopping_restore"}),
    "no_eval_in_validation": ("evaluate", '''
def evaluate(model, inputs, labels):
    with torch.no_grad():                      # but dropout is still on
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
    return loss.item(), accuracy.item()
''', {"test_evaluate"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_fixtures(Course(tmp_path_factory.mktemp("a04"), ASSIGNMENT), MISTAKES)


def test_solution_gets_full_marks(graded):
    course, scores, full = graded
    assert scores["solution"] == full
    assert sum(full.values()) >= 15


def test_untouched_release_gets_zero(graded):
    course, scores, full = graded
    assert sum(scores["blank"].values()) == 0, scores["blank"]


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_one_mistake_loses_exactly_its_cells(graded, student):
    course, scores, full = graded
    assert expect_lost(scores[student], full, MISTAKES[student][2]) == []


def test_feedback_names_the_mistake(graded):
    course, scores, full = graded
    expected = {
        ("patience_off_by_one", "test_early_stopping_patience"): "one epoch too late",
        ("stops_on_training_loss", "test_fit"): "you pass the *training* loss",
        ("stops_on_training_loss", "test_final_model"): "memorising wrong labels",
        ("dropout_one_layer", "test_regularized_rnn"): "dropout after all but last recurrent layer",
        ("no_restore_copy", "test_early_stopping_restore"): "returns the live tensors",
        ("no_eval_in_validation", "test_evaluate"): "Call model.eval()",
    }
    for (student, cell), phrase in expected.items():
        assert phrase in cell_outputs_text(course.autograded(student), cell), (student, cell)


def test_hidden_tests_are_back_in_autograded(graded):
    course, scores, full = graded
    sources = "\n".join(c.source for c in course.autograded("solution").cells)
    assert 'key="B"' in sources and "seed=None" in sources and "heldout_min=" in sources


def test_release_has_no_solutions_or_hidden_tests(graded):
    course, scores, full = graded
    for cell in course.release().cells:
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert "key=" not in cell.source and "heldout_min" not in cell.source
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
