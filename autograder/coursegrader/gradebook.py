"""The course gradebook (formgrader reads it): recording a student's grades, reading them back.

Autograding writes only the automatic part of each grade (``auto_score``, the
``needs_manual_grade`` flag, nbgrader's automatic comment). What a TA gives by hand
in formgrader (``manual_score``, comments) is never overwritten: re-grading keeps
it, and only when the student's submission changed is the cell flagged for the TA
to look at again (as nbgrader itself does).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


def _open(course_db: Path) -> Gradebook:
    return Gradebook(f"sqlite:///{course_db}")


def _submission(gb: Gradebook, assignment: str, student: str, timestamp=None):
    gb.update_or_create_student(student)
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, harmless here
        warnings.simplefilter("ignore")
        kwargs = {"timestamp": timestamp} if timestamp is not None else {}
        return gb.update_or_create_submission(assignment, student, **kwargs)


def zero_submission(course_db: Path, assignment: str, student: str, flagged: bool) -> tuple[float, float]:
    """A submission that could not run: every automatic grade 0."""
    with _open(course_db) as gb:
        sub = _submission(gb, assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                if grade.manual_score is None:
                    grade.needs_manual_grade = False
            nb.flagged = flagged
        gb.db.commit()
        return sub.score, sub.max_score


def record(
    course_db: Path,
    assignment: str,
    student: str,
    grades: dict[str, dict],
    comments: dict[str, str | None],
    flagged: bool,
    timestamp=None,
    resubmitted: bool = True,
    manual_ids: set[str] = frozenset(),
) -> Standing:
    """Write one student's automatic grades; return their standing, manual points included.

    ``grades``: ``{grade_id: {"auto_score", "needs_manual_grade"}}``; ``comments``: the
    automatic comments (``"No response."`` for an untouched answer). A grade a TA already
    gave keeps its points; it is flagged for review again only when ``resubmitted``.
    ``manual_ids``: the cells graded by hand, listed in the standing.
    """
    with _open(course_db) as gb:
        sub = _submission(gb, assignment, student, timestamp)
        for nb in sub.notebooks:
            for grade in nb.grades:
                found = grades.get(grade.name)
                if found is None:
                    continue
                grade.auto_score = found["auto_score"]
                if grade.manual_score is None:
                    grade.needs_manual_grade = bool(found["needs_manual_grade"])
                elif resubmitted:
                    grade.needs_manual_grade = True
            for comment in nb.comments:
                if comment.name in comments:
                    comment.auto_comment = comments[comment.name]
            nb.flagged = flagged
            # graded afresh: no late penalty until coursegrader.settle assigns this hand-in's own
            # (nbgrader's AssignLatePenalties resets it the same way), so a resubmission that is
            # no longer late keeps none of the old one
            nb.late_submission_penalty = None
        gb.db.commit()
        return _standing(sub, manual_ids)


def unit_grades(work_db: Path, assignment: str, student: str) -> tuple[dict, dict]:
    """The automatic grades and comments a unit's private gradebook holds for ``student``."""
    with _open(work_db) as gb:
        sub = gb.find_submission(assignment, student)
        grades = {
            g.name: {"auto_score": g.auto_score, "needs_manual_grade": g.needs_manual_grade, "max_score": g.max_score}
            for nb in sub.notebooks
            for g in nb.grades
        }
        comments = {c.name: c.auto_comment for nb in sub.notebooks for c in nb.comments}
        return grades, comments


@dataclass
class Standing:
    """A submission's grades as the course gradebook has them now (TA's points included)."""

    score: float  # after the late penalty, as nbgrader's own export counts it
    max_score: float
    manual: list[dict] = field(default_factory=list)  # one per cell graded by hand
    penalty: float = 0.0  # the late penalty the gradebook holds (SubmittedNotebook.late_submission_penalty)

    @property
    def to_grade(self) -> int:
        return sum(1 for m in self.manual if m["points"] is None)


def standings(course_db: Path, wanted: list[tuple[str, str, set[str]]]) -> dict[tuple[str, str], Standing]:
    """Score, max score and the hand-graded cells (``manual_ids``) of each wanted submission
    ``(assignment, student, manual_ids)`` that the gradebook has, reading it once."""
    found = {}
    with _open(course_db) as gb:
        for assignment, student, manual_ids in wanted:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            found[(assignment, student)] = _standing(sub, manual_ids)
    return found


def _standing(sub, manual_ids: set[str]) -> Standing:
    manual = []
    for nb in sub.notebooks:
        comments = {c.name: c for c in nb.comments}
        for grade in nb.grades:
            if grade.name not in manual_ids:
                continue
            comment = comments.get(grade.name)
            graded = grade.manual_score is not None or not grade.needs_manual_grade
            manual.append(
                {
                    "grade_id": grade.name,
                    "max_points": grade.max_score,
                    "points": grade.score if graded else None,
                    "review": bool(grade.needs_manual_grade and grade.manual_score is not None),
                    "comment": (comment.manual_comment or comment.auto_comment) if comment else None,
                }
            )
    penalty = sub.late_submission_penalty or 0.0
    return Standing(max(0.0, sub.score - penalty), sub.max_score, sorted(manual, key=lambda m: m["grade_id"]), penalty)
