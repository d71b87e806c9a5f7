"""Writing a graded unit into the course gradebook (formgrader reads it)."""
from __future__ import annotations

import warnings
from pathlib import Path

from nbgrader.api import Gradebook


def zero_submission(gb: Gradebook, assignment: str, student: str, flagged: bool) -> tuple[float, float]:
    gb.update_or_create_student(student)
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, harmless here
        warnings.simplefilter("ignore")
        sub = gb.update_or_create_submission(assignment, student)
    for nb in sub.notebooks:
        for grade in nb.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        nb.flagged = flagged
    gb.db.commit()
    return sub.score, sub.max_score


def merge(course_db: Path, work_db: Path, assignment: str, student: str, flagged: bool) -> tuple[float, float]:
    """Copy one graded submission from its private gradebook into the course gradebook."""
    with Gradebook(f"sqlite:///{work_db}") as wgb, Gradebook(f"sqlite:///{course_db}") as gb:
        wsub = wgb.find_submission(assignment, student)
        gb.update_or_create_student(student)
        with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, harmless here
            warnings.simplefilter("ignore")
            sub = gb.update_or_create_submission(assignment, student, timestamp=wsub.timestamp)
        for wnb in wsub.notebooks:
            for wgrade in wnb.grades:
                grade = gb.find_grade(wgrade.name, wnb.name, assignment, student)
                grade.auto_score = wgrade.auto_score
                grade.needs_manual_grade = wgrade.needs_manual_grade
            for wcomment in wnb.comments:
                gb.find_comment(wcomment.name, wnb.name, assignment, student).auto_comment = wcomment.auto_comment
            gb.find_submission_notebook(wnb.name, assignment, student).flagged = flagged
        gb.db.commit()
        return sub.score, sub.max_score
