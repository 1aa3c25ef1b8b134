"""The course's own answers to 03's exercises, used ONLY by the demonstrations after an exercise when
the student's answer does not pass its check yet (``course.practice.working``), so that a stuck student
still sees the training run, the trace and the confusion matrix. An answer that reaches this module (or a name made
with practice.working) gets no credit: Check.own_work in course/checks/core.py."""
from __future__ import annotations

import torch
from torch import nn


class SequenceClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, num_layers=1, rnn_type="rnn"):
        super().__init__()
        layer = {"rnn": nn.RNN, "gru": nn.GRU}[rnn_type]
        self.rnn = layer(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        _, h_n = self.rnn(x)
        return self.head(h_n[-1])


def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def evaluate(model, loader, loss_fn):
    model.eval()
    total = correct = count = 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += loss_fn(logits, y).item() * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
    return total / count, correct / count


def fit(model, train_loader, val_loader, epochs=30, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        history["train_loss"].append(train_epoch(model, train_loader, loss_fn, optimizer))
        val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
    return history
