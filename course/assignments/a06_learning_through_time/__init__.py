"""Assignment 06, "Learning through time": bptt.py (the cached forward pass Part A walks back through),
gradients.py (Part B's gradient norms and heat map, Part C's long-memory task, Part D's exploding run),
text.py (Part E: the corpus, the character model's training and the generation widget),
checks.py (imports checks_backward.py: rnn_backward, train_step; checks_text.py: Part E) and
reference.py (the course's own answers, for the demonstrations while an exercise is unanswered).

Its grading tables (mistakes, other correct styles, expected messages):
grader_tests/fixtures/a06_learning_through_time.py."""
