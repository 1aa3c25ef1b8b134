"""Assignment 03, "The sequence-classifier pipeline": checks.py, trace.py (the prediction trace).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a03_sequence_classifier.py."""
