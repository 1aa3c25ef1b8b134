"""Assignment 05, "Inside the GRU, and sequences of different lengths": checks.py, gates.py (the gate animation), packing.py (padding vs packing).

fixtures.py: the grading tables (mistakes, other correct styles, expected messages)."""
