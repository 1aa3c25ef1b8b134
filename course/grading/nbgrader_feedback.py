"""``nbgrader generate_feedback`` without the hidden tests (configured in nbgrader_config.py).

nbgrader's feedback shows each test cell as autograded, hidden tests restored (upstream #917), and a
failing cell's traceback quotes the hidden line that failed (a multiple-choice key, a seed request).
This preprocessor runs after GetGrades (the scores are already read): every hidden-test block becomes
one comment, and the error of such a cell keeps only its message, which is the check's teaching
message. ``course.grade`` does the same in course/grading/feedback.py.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .feedback import HIDDEN


class HideHiddenTests(Preprocessor):
    enabled = Bool(True, help="nbconvert's preprocessors are off unless enabled").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN.search(cell.source):
            cell.source = HIDDEN.sub("# hidden tests: see the message below\n", cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
