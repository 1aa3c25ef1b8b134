"""Assignment 01, "The nn.RNN layer": checks.py (its checks), demos.py (the overfitting run it shows).

fixtures.py: the grading tables (mistakes, other correct styles, expected messages)."""
