"""nbgrader configuration for the course (read from the course root, i.e. this folder)."""
c = get_config()  # noqa: F821  (injected by nbgrader)

c.CourseDirectory.course_id = "pytorch-rnn"
# generate_assignment adds each assignment to the gradebook on first use.
c.GenerateAssignment.create_assignment = True

# One kernel for every notebook: the venv's python3 (ipykernel installed by `pip install -e .`).
c.Execute.kernel_name = "python3"
# Per cell. Training cells in the later assignments take ~10 s on 2 cores; leave room for slow machines.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True

# nbgrader gives 0 to a test cell with *any* stderr output. Drop stderr that is only a known harmless
# PyTorch/Jupyter warning (re.search over the stream's whole text, so keep each pattern specific).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = "|".join([
    r"UserWarning: dropout option adds dropout after all but last recurrent layer",
    r"UserWarning: RNN module weights are not part of single contiguous chunk of memory",
    r"TqdmWarning: IProgress not found",
    r"UserWarning: Matplotlib is currently using agg",
])

# Keep the student stub the same everywhere.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback never shows hidden tests: each block becomes one comment, a failing cell keeps only the
# check's message (not the traceback quoting the hidden line). Scores are read first, by GetGrades.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course.grading.nbgrader_feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# `nbgrader autograde` and the formgrader's Autograde button grade sealed, as `python -m course.grade`
# does (course/grading/sealed.py, nbgrader_autograde.py): each notebook in its own sandboxed kernel
# and throw-away folder, test cells judged outside the student's kernel, metadata restored from the
# gradebook first, deleted test cells put back, events (timeouts, kernel deaths, flags) in the log.
# Without bubblewrap it refuses, saying why; to grade with resource limits only, on purpose:
#   c.SealedExecute.require_sandbox = False
from course.grading.nbgrader_autograde import seal  # noqa: E402

seal(c)
