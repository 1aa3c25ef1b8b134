"""The course's own answers to assignment 05's exercises, used ONLY by the demonstrations after an
exercise when the student's answer does not pass its check yet (``course.practice.working``), so that a
stuck student can read on. Graded cells never use them.

Locked cells reach them as ``reference.answer(grade_id, ...)`` (imported on a line of its own); an
answer that reaches this module, or a name made with practice.working, gets no credit
(Check.own_work in course/checks/core.py).
"""
from __future__ import annotations

import torch
from torch import nn


def a2_output(x):
    """(output, hidden) of A2: a GRU with 10 inputs and hidden size 20 on ``x``."""
    return nn.GRU(input_size=10, hidden_size=20)(x)


def gru_deep():
    """A4: two stacked layers, batch-first input."""
    return nn.GRU(input_size=10, hidden_size=20, num_layers=2, batch_first=True)


def collate(batch):
    sequences = [s for s, _ in batch]
    return (nn.utils.rnn.pad_sequence(sequences, batch_first=True),
            torch.tensor([len(s) for s in sequences], dtype=torch.int64),
            torch.tensor([y for _, y in batch], dtype=torch.int64))


def last_valid(output, lengths, batch_first):
    if not batch_first:
        output = output.transpose(0, 1)
    return output[torch.arange(output.shape[0]), lengths - 1]


class PackedGRUClassifier(nn.Module):
    def __init__(self, num_features, hidden_size, num_classes):
        super().__init__()
        self.gru = nn.GRU(num_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, padded, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        return self.head(self.gru(packed)[1][-1])


# grade_id of the answer cell -> the course's answer (called with the demonstration's arguments)
ANSWERS = {
    "fill_call": a2_output,
    "fill_gru_deep": gru_deep,
    "collate": lambda: collate,
    "last_valid": lambda: last_valid,
    "packed_classifier": lambda: PackedGRUClassifier,
}


def answer(grade_id, *args):
    """The course's answer to the exercise whose answer cell is ``grade_id`` (see ANSWERS)."""
    return ANSWERS[grade_id](*args)
