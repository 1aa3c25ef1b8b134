"""Isolated, sandboxed, parallel autograding (``python -m course.grade``), and the same sealing in
nbgrader's own ``autograde`` and formgrader (configured in nbgrader_config.py).

job.py (one submission in a private scratch course, in a worker), sealed.py (nbgrader's Execute
replaced: test cells probed in the kernel, judged here), sandbox.py (bubblewrap + rlimits),
tamper.py (metadata restored before nbgrader), nbgrader_autograde.py (that repair and quiet
restoring of locked cells, as nbgrader preprocessors), nbgrader_feedback.py (generate_feedback
without hidden tests), pool.py (local processes or Dask), gradebook.py (master gradebook merge,
grades.csv), feedback.py, report.py, inputs.py.
"""
