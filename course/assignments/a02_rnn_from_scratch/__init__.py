"""Assignment 02, "An RNN from scratch": checks.py (rnn_cell, rnn_forward against nn.RNN), widgets.py (the time-step animation).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a02_rnn_from_scratch.py."""
