"""Assignment 04, "Overfitting and its cures": checks.py, experiments.py (data, runs, tables).

fixtures.py: the grading tables (mistakes, other correct styles, expected messages)."""
