"""The course's own init_hidden, build_classifier and best_epoch, used ONLY by the demonstrations after
an exercise while the student's answer does not pass its check yet (``course.practice.working``).
Graded cells never use them, and a student cell that imports this module is flagged for review
(course/checks/rules.py)."""
from __future__ import annotations

import torch
from torch import nn


def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    return torch.zeros(num_layers * (2 if bidirectional else 1), batch_size, hidden_size)


def build_classifier(num_features, num_classes, hidden_size=16):
    return nn.RNN(num_features, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)


def best_epoch(val_losses):
    return min(range(len(val_losses)), key=lambda i: val_losses[i]) + 1
