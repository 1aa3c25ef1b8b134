"""Assignment 05, "Inside the GRU, and sequences of different lengths": checks.py, gates.py (the gate animation), packing.py (padding vs packing).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a05_gru_and_packing.py."""
