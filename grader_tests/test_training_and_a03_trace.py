"""Fast tests of course.training (progress bar, history, epoch table, curves, confusion matrix) and
assignment 03's prediction trace (course/assignments/a03_sequence_classifier/trace.py)."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from course import training
from course.assignments.a03_sequence_classifier import trace


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_progress_writes_to_stdout_only(capsys):
    assert list(training.progress(range(3), desc="demo")) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert err == "" and "demo" in out


def test_quiet_shows_no_bar_and_restores(capsys):
    with training.quiet():
        items = training.progress(range(3))
        assert items == range(3)
    assert training._QUIET is False
    assert capsys.readouterr().out == ""


def test_history_record_appends_plain_floats():
    history = training.new_history("train_loss", "val_acc")
    training.record(history, train_loss=torch.tensor(0.5), val_acc=1)
    training.record(history, train_loss=0.25, val_acc=0.5)
    assert history == {"train_loss": [0.5, 0.25], "val_acc": [1.0, 0.5]}
    assert all(type(v) is float for v in history["train_loss"])


def fake_history(n=30):
    t = np.arange(n)
    return {"train_loss": list(1.1 * np.exp(-t / 8)), "val_loss": list(1.1 * np.exp(-t / 10) + 0.01 * t),
            "val_acc": list(np.minimum(0.33 + t / 25, 0.97))}


def test_epoch_table_rows_and_observations():
    table = training.epoch_table(fake_history(), chance=1 / 3)
    lines = table.splitlines()
    assert lines[0].startswith("| epoch |") and "observation" in lines[0]
    rows = lines[2:]
    assert rows[0].startswith("| 1 |") and "starting point" in rows[0] and "0.33" in rows[0]
    assert rows[-1].startswith("| 30 |")
    assert len(rows) == len(training.pick_epochs(30)) <= 10
    assert "passes 90%" in table
    assert table._repr_markdown_() == str(table)


def test_observation_compares_with_the_previous_row():
    history = {"train_loss": [1.0, 0.98, 0.978, 0.5], "val_acc": [0.3, 0.3, 0.3, 0.3]}
    assert "plateau" in training.observe(history, 3)
    assert "still falling" in training.observe(history, 3, since=1)
    assert "falls fast" in training.observe(history, 4)


def test_a_small_loss_that_halves_over_many_epochs_has_flattened_out():
    """Rows ten epochs apart near the end of a run: 0.10 → 0.05 is a plateau, not "falls fast"."""
    loss = list(np.linspace(1.0, 0.1, 20)) + list(np.linspace(0.095, 0.05, 10))
    history = {"train_loss": loss, "val_acc": [0.5] * 30}
    assert "plateau" in training.observe(history, 30, since=20)
    assert "falls fast" in training.observe(history, 5, since=1)


def test_pick_epochs_short_and_long():
    assert training.pick_epochs(5) == [1, 2, 3, 4, 5]
    picked = training.pick_epochs(100)
    assert picked[:3] == [1, 2, 3] and picked[-1] == 100 and picked == sorted(set(picked))


def test_history_curves_has_loss_and_accuracy_panels():
    fig = training.history_curves(fake_history(), title="t", chance=1 / 3)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]


def test_confusion_matrix_counts():
    counts = training.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], num_classes=3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    training.plot_confusion(counts, ["a", "b", "c"])


class Net(nn.Module):
    def __init__(self, kind=nn.RNN, batch_first=True, bidirectional=False, softmax=False):
        super().__init__()
        self.rnn = kind(4, 6, batch_first=batch_first, bidirectional=bidirectional)
        self.head = nn.Linear(6 * (2 if bidirectional else 1), 3)
        self.batch_first, self.softmax = batch_first, softmax

    def forward(self, x):
        if not self.batch_first:
            x = x.transpose(0, 1)
        _, h_n = self.rnn(x)
        logits = self.head(h_n[-1])
        return logits.softmax(dim=1) if self.softmax else logits


@pytest.mark.parametrize("kind, batch_first", [(nn.RNN, True), (nn.RNN, False), (nn.GRU, True)])
def test_readout_last_step_is_the_models_prediction(kind, batch_first):
    torch.manual_seed(0)
    model = Net(kind, batch_first)
    x = torch.randn(7, 4)
    r = trace.readout(model, x)
    assert r.states.shape == (7, 6) and r.probs.shape == (7, 3)
    assert np.allclose(r.probs.sum(axis=1), 1, atol=1e-6)
    assert np.allclose(r.probs[-1], model(x[None]).softmax(dim=1)[0].detach().numpy(), atol=1e-6)
    assert model.training  # readout restores the mode


def test_every_frame_draws():
    torch.manual_seed(0)
    r = trace.readout(Net(), torch.randn(5, 4))
    titles = []
    for step in range(len(r.x) + 4):
        fig = trace.draw_step(r, step, label=1, class_names=["a", "b", "c"])
        titles.append(fig._suptitle.get_text())
        plt.close(fig)
    assert "5 time steps" in titles[0] and "read 3 of 5" in titles[3] and "true class 'b'" in titles[-1]
    assert [trace.stage_of(s, 5)[0] for s in range(9)] == [0, 1, 1, 1, 1, 1, 2, 3, 4]


def test_prediction_trace_static_fallback_and_checks():
    torch.manual_seed(0)
    assert trace.prediction_trace(Net(), torch.randn(5, 4), label=0) is None  # no widget frontend
    with pytest.raises(ValueError, match="bidirectional"):
        trace.readout(Net(bidirectional=True), torch.randn(5, 4))
    # a model that returns probabilities is still traced (its output is not softmaxed twice)
    r = trace.readout(Net(softmax=True), torch.randn(5, 4))
    assert np.allclose(r.probs[-1], r.model_probs, atol=1e-6)


def test_probability_path_and_examples():
    torch.manual_seed(0)
    trace.probability_path(Net(), torch.randn(5, 4), label=2, class_names=["a", "b", "c"])
    x, y = torch.randn(6, 5, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    fig = trace.show_examples(x, y, ["a", "b", "c"])
    assert len(fig.axes) == 3
