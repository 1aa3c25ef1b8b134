"""Small networks that several assignments (and their checks) share."""
from __future__ import annotations

from torch import nn


class LastStepClassifier(nn.Module):
    """nn.RNN → last time step's hidden state → nn.Linear (class scores)."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return self.head(h_n[-1])
