"""What a notebook cell is to nbgrader and to us: an answer, a check, locked code."""
from __future__ import annotations

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
META = "coursekit"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_check(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def is_hidden(cell) -> bool:
    """A code cell with nbgrader's hidden-test markers (kept in the graded notebook, never shown)."""
    return cell.get("cell_type") == "code" and HIDDEN_BEGIN in cell.get("source", "")
