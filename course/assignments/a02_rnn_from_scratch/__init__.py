"""Assignment 02, "An RNN from scratch": checks.py (rnn_cell, rnn_forward against nn.RNN), widgets.py (the time-step animation).

fixtures.py: the grading tables (mistakes, other correct styles, expected messages)."""
