"""``nbgrader autograde`` and the formgrader's Autograde button, sealed like ``course.grade``
(configured in nbgrader_config.py; the executor itself is ``sealed.SealedExecute``).

* ``RestoreMetadata`` (first sanitizing step): the nbgrader metadata of every cell is put back as the
  gradebook has it before nbgrader's own checks, which would otherwise abort on a copied answer cell
  (the whole batch, reported as an "old metadata format") or take a student's word for points.
* ``OverwriteCellsQuietly``: nbgrader restores every locked cell from the gradebook and warns
  "checksum has changed" whenever the submitted source differs. The release never had the hidden
  tests, so that warning fired for every test cell of every student and could not signal tampering.
  A locked cell that is exactly as released is restored without a word; any other change still warns.
"""
from __future__ import annotations

from nbformat.v4 import new_code_cell
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells

from .tamper import known_cells, repair

# nbgrader's own lists, with the course's steps in place (by import path: nbgrader_config.py and
# course.grade's jobs both use them, and course.grade never takes the sealing from a config file)
SANITIZE_AFTER_REPAIR = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "course.grading.nbgrader_autograde.OverwriteCellsQuietly",
    "nbgrader.preprocessors.CheckCellMetadata",
]
AUTOGRADE = [
    "course.grading.sealed.SealedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


def seal(c, repaired: bool = False) -> None:
    """Make nbgrader's Autograde grade sealed. ``repaired``: the metadata was already restored
    (course.grade's jobs do it on the file's bytes, tamper.normalize, to report it)."""
    c.Autograde.sanitize_preprocessors = SANITIZE_AFTER_REPAIR if repaired else [
        "course.grading.nbgrader_autograde.RestoreMetadata", *SANITIZE_AFTER_REPAIR]
    c.Autograde.autograde_preprocessors = AUTOGRADE
    c.OverwriteCells.add_missing_cells = True


class RestoreMetadata(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        flags = repair(nb.cells, known_cells(info["db_url"], info["assignment"], info["notebook"]))
        for flag in flags:
            self.log.warning("%s, %s: %s", info.get("student", "?"), info["notebook"], flag)
        return nb, resources


def released(source: str) -> str:
    """A test cell's source as generate_assignment released it (hidden tests removed)."""
    cell = new_code_cell(source)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


class OverwriteCellsQuietly(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source_cell = None
            if (source_cell is not None and source_cell.locked and cell.source != source_cell.source
                    and cell.source == released(source_cell.source)):
                cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)
