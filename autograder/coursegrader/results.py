"""The records of a grading run: a row's id, its result, and the rows of a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from .status import Kind, Status


class RowId(NamedTuple):
    """One student's submission of one assignment: a row of ``grades.csv``.

    A tuple, so ``(student, assignment)`` keys still find it; ``str()`` is ``student/assignment``.
    """

    student: str
    assignment: str

    def __str__(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass
class Result:
    """A row: what one student's submission of one assignment got."""

    student: str
    assignment: str
    score: float | None = None  #: points, hand-given ones included (None: nothing could be graded)
    max_score: float | None = None
    seconds: float = 0.0  #: wall time of the graded run (shared runs: the one run's time)
    status: Status = field(default_factory=Status)
    warnings: list[str] = field(default_factory=list)  #: what the student should know, in words
    flagged: bool = False  #: a person should look at it (tampering, forged evidence, no notebook...)
    shared: int = 1  #: how many students' submissions this graded run served (identical code)
    to_grade: int = 0  #: answers waiting for a TA's grade (formgrader)
    reused: bool = False  #: not graded again: unchanged since the last run
    late: str = ""  #: the hand-in against its due date when that matters: late, or within an extension
    penalty: float = 0.0  #: points lost for handing in late, already taken off ``score`` (:mod:`.settle`)

    @property
    def row(self) -> RowId:
        return RowId(self.student, self.assignment)

    def to_saved(self) -> dict:
        """Plain data for the grading state (``reused`` is a fact of one run, not saved)."""
        saved = {k: v for k, v in asdict(self).items() if k not in ("reused", "status")}
        return {**saved, "status": {"kind": self.status.kind.name, "detail": self.status.detail}}

    @classmethod
    def from_saved(cls, saved: dict, **changes) -> Result:
        status = saved.get("status") or {}
        kind = Kind[status.get("kind", "OK")]
        return cls(**{**saved, "status": Status(kind, status.get("detail", "")), **changes})


class Results(list):
    """The rows of one grading run; ``demo_ok`` says whether a demo class got what it expects."""

    demo_ok: bool | None = None

    def by_row(self) -> dict[RowId, Result]:
        return {r.row: r for r in self}

    @property
    def grader_failed(self) -> bool:
        return any(r.status.kind is Kind.GRADER_ERROR for r in self)
