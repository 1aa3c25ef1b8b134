"""Assignment 05, "Inside the GRU, and sequences of different lengths": checks.py, gates.py (the gate
animation), packing.py (padding vs packing), demos.py ("try it" comparisons that never raise, and the
practice questions' keys) and reference.py (the course's own answers, for the demonstrations while an
exercise is unanswered: reference.answer(grade_id) in locked cells).

Its grading tables (mistakes, other correct styles, expected messages): grader_tests/fixtures/a05_gru_and_packing.py."""
