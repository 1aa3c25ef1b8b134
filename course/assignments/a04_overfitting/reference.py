"""The course's own answers to 04's exercises, used ONLY by the demonstrations after an exercise when
the student's answer does not pass its check yet (``course.practice.working``), so that a stuck student
still sees every measurement. Graded cells never use them: a student cell that imports this module is
flagged for review (course/checks/rules.py), and a graded answer that reaches it gets no credit
(``Check.own_work`` in course/checks/core.py)."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .experiments import HISTORY_KEYS
from .experiments import progress as progress_bar


def evaluate(model, inputs, labels):
    """Mean cross-entropy and accuracy of ``model`` on (inputs, labels), in evaluation mode."""
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
    return loss.item(), accuracy.item()


def fit(model, data, epochs, lr, stopper=None, seed=0, progress=True):
    """Full-batch training with Adam; returns the history dict (four lists and best_epoch)."""
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {key: [] for key in HISTORY_KEYS}
    for _ in progress_bar(range(epochs), enabled=progress):
        model.train()
        optimiser.zero_grad()
        loss_fn(model(data["x_train"]), data["y_train"]).backward()
        optimiser.step()
        train_loss, train_acc = evaluate(model, data["x_train"], data["y_train"])
        val_loss, val_acc = evaluate(model, data["x_val"], data["y_val"])
        for key, value in zip(HISTORY_KEYS, (train_loss, val_loss, train_acc, val_acc)):
            history[key].append(value)
        if stopper is not None and stopper.step(val_loss, model):
            break
    if stopper is not None:
        stopper.restore(model)
        history["best_epoch"] = stopper.best_epoch
    else:
        history["best_epoch"] = len(history["val_loss"])
    return history


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs; keep the best weights."""

    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.counter, self.epoch = float("inf"), 0, 0, 0
        self.best_state = None

    def step(self, val_loss, model):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.counter = val_loss, self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.counter += 1
        return self.counter >= self.patience

    def restore(self, model):
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


class RegularizedRNN(nn.Module):
    """nn.RNN (stacked, dropout between layers) → dropout on the last step → linear head."""

    def __init__(self, input_size, hidden_size, num_classes, num_layers=2, dropout=0.3):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                          batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(self.dropout(output[:, -1]))


def diagnose(history, low=0.70, gap=0.10, rise=0.10):
    """"overfitting", "underfitting" or "good fit" for the epoch whose weights the model keeps."""
    k = history.get("best_epoch", len(history["val_loss"]))
    train_acc, val_acc = history["train_acc"][k - 1], history["val_acc"][k - 1]
    if train_acc < low:
        return "underfitting"
    if train_acc - val_acc > gap or history["val_loss"][k - 1] > (1 + rise) * min(history["val_loss"][:k]):
        return "overfitting"
    return "good fit"


def swap_recurrent_layer(model, kind):
    """Replace model.rnn by a fresh nn.RNN / nn.GRU / nn.LSTM with the same settings; return model."""
    old = model.rnn
    layer = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[kind]
    model.rnn = layer(old.input_size, old.hidden_size, num_layers=old.num_layers, dropout=old.dropout,
                      batch_first=old.batch_first)
    return model
