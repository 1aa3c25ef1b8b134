"""Assignment 01, "The nn.RNN layer": checks.py (its checks), demos.py (the overfitting run it shows).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a01_rnn_layer.py."""
