"""Isolated, sandboxed, parallel autograding (``python -m course.grade``).

job.py (one submission in a private scratch course, in a worker), sealed.py (nbgrader's Execute
replaced: test cells probed in the kernel, judged here), sandbox.py (bubblewrap + rlimits),
tamper.py (metadata restored before nbgrader), pool.py (local processes or Dask), gradebook.py
(master gradebook merge, grades.csv), feedback.py, report.py, inputs.py.
"""
