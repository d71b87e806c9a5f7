"""What a notebook cell is to nbgrader and to us: an answer, a check, locked code.

The one home of the cell helpers the grader, the demo classes, the tools and the tests share.
"""

from __future__ import annotations

import nbformat

from .course import SOLUTIONS

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
META = "coursekit"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell) -> bool:
    """A cell the released lab locks (students may still edit unlocked ones: the answers, a scratch cell)."""
    return bool(nbgrader_meta(cell).get("locked"))


def is_check(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def is_hidden(cell) -> bool:
    """A code cell with nbgrader's hidden-test markers (kept in the graded notebook, never shown)."""
    return cell.get("cell_type") == "code" and HIDDEN_BEGIN in cell.get("source", "")


def solution_cells(nb) -> list:
    """The answer cells that hold code (the sentiment lab's TODO)."""
    return [c for c in nb.cells if is_answer(c) and c.get("cell_type") == "code"]


def written_answer_cells(nb) -> list:
    """The answer cells a TA grades by hand (markdown: the NMT labs' questions)."""
    return [c for c in nb.cells if is_answer(c) and c.get("cell_type") == "markdown"]


def solution_cell(nb):
    """The one code answer cell of a notebook (ValueError if there is not exactly one)."""
    cells = solution_cells(nb)
    if len(cells) != 1:
        raise ValueError(f"expected exactly one code answer cell, found {len(cells)}")
    return cells[0]


def student_version(source: str) -> str:
    """Code of an instructor's answer cell as a student would hand it in: region markers removed."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))


def reference_answer(assignment: str) -> str:
    """The reference solution of an assignment's code answer cell, as a student would type it."""
    solution = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return student_version(solution_cell(solution).source)
