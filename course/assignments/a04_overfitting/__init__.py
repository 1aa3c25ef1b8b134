"""Assignment 04, "Overfitting and its cures": checks.py, experiments.py (data, runs, tables) and
reference.py (the course's own answers, for the demonstrations of a student who is stuck).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a04_overfitting.py."""
