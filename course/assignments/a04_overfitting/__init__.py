"""Assignment 04, "Overfitting and its cures": checks.py, experiments.py (data, runs, tables).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a04_overfitting.py."""
