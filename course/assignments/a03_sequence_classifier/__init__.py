"""Assignment 03, "The sequence-classifier pipeline": checks.py, trace.py (the prediction trace).

fixtures.py: the grading tables (mistakes, other correct styles, expected messages)."""
