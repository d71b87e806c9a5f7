"""Each student's grade for each lab, as an LMS gets it, and what is not ready to go.

* a graded submission: its score after the late penalty (``score - late_submission_penalty``,
  never below 0, as nbgrader's own CSV export counts it);
* nothing handed in: 0 once the due date (or the student's extension) has passed; an empty cell
  before (the LMS keeps no grade);
* **pending**: answers a TA has not graded yet, or a submission flagged for a person's review
  (tampering, a grader error, a notebook that could not be read). Never exported as a number:
  :class:`LmsExport` refuses the whole export and names them, or (``pending="blank"``) leaves
  their cells empty and names them.

With a roster (:mod:`coursegrader.roster`) the rows are its students; gradebook students who
are not on it are left out and named. Without one, every student of the gradebook is a row.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Dict, Enum, Unicode

from ..course import AUTOGRADER, assignments
from ..roster import Student
from ..term import Term, load_term

PENDING = None  # a cell whose grade is not ready


def number(x: float) -> str:
    """A grade as both LMSs read it: a decimal point, at most two decimals, no trailing zeros."""
    return f"{round(float(x), 2):g}"


@dataclass
class LmsGrades:
    labs: list[str]
    max_scores: dict[str, float]
    students: list[Student]
    cells: dict[tuple[str, str], str | None] = field(default_factory=dict)  # None: pending
    pending: list[str] = field(default_factory=list)  # "alice / nmt: 2 answer(s) to grade by hand"
    left_out: list[str] = field(default_factory=list)  # with grades in the gradebook, not on the roster


def _pending(sub) -> str | None:
    """Why a submission's grade is not ready, or None."""
    if any(nb.flagged for nb in sub.notebooks):
        return "flagged for review in formgrader (unflag it once a person has looked)"
    waiting = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
    return f"{waiting} answer(s) to grade by hand in formgrader" if waiting else None


def _students(gb, term: Term) -> list[Student]:
    if term.roster is not None:
        return list(term.roster.values())
    return [
        Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "") for s in gb.students
    ]


def collect(gb, term: Term, labs: list[str], only: list[str] = (), now: datetime | None = None) -> LmsGrades:
    """The grades of ``labs`` (``only``: just these students) from gradebook ``gb``."""
    now = now or datetime.now(UTC)
    students = sorted(
        (s for s in _students(gb, term) if not only or s.id in only),
        key=lambda s: (s.last_name.lower(), s.first_name.lower(), s.id),
    )
    found = {a.name: a for a in gb.assignments}
    grades = LmsGrades(labs, {lab: found[lab].max_score if lab in found else 0.0 for lab in labs}, students)
    for s in students:
        for lab in labs:
            try:
                sub = gb.find_submission(lab, s.id)
            except MissingEntry:
                deadline = term.deadline(s.id, lab)
                grades.cells[s.id, lab] = "" if deadline is not None and deadline > now else "0"
                continue
            why = _pending(sub)
            if why:
                grades.pending.append(f"{s.id} / {lab}: {why}")
                grades.cells[s.id, lab] = PENDING
            else:
                grades.cells[s.id, lab] = number(max(0.0, sub.score - (sub.late_submission_penalty or 0.0)))
    if term.roster is not None:
        graded = {sub.student_id for a in gb.assignments if a.name in labs for sub in a.submissions}
        grades.left_out = sorted(graded - set(term.roster) - (graded - set(only) if only else set()))
    return grades


class PendingGrades(RuntimeError):
    """Some grades are not ready: the export refuses rather than write them as numbers."""


class LmsExport(ExportPlugin):
    """The LMS exports' shared part: options, the grades, the pending check, the CSV file."""

    term_folder = Unicode(str(AUTOGRADER), help="The folder holding roster.csv, calendar.toml, extensions.csv").tag(
        config=True
    )
    pending = Enum(
        ("refuse", "blank"),
        default_value="refuse",
        help="Grades still pending (answers to grade by hand, flagged submissions): refuse the export "
        "and list them, or leave their cells empty and list them",
    ).tag(config=True)
    columns = Dict(
        {}, help="The LMS column of each lab, e.g. {'nmt': 'Lab 1: Bahdanau attention (48213)'} (default: the lab id)"
    ).tag(config=True)
    default_file = "grades.csv"

    def column(self, lab: str) -> str:
        return self.columns.get(lab, lab)

    def table(self, grades: LmsGrades) -> list[list[str]]:
        """The file's rows, header first (each LMS's module)."""
        raise NotImplementedError

    def notes(self, grades: LmsGrades) -> list[str]:
        """What the person importing the file should know about it (each LMS's module)."""
        return []

    def cell(self, grades: LmsGrades, student: str, lab: str) -> str:
        value = grades.cells[student, lab]
        return "" if value is PENDING else value

    def write(self, gb, dest: Path, now: datetime | None = None) -> LmsGrades:
        """Write the export to ``dest`` and return what it holds; raise :class:`PendingGrades` first
        when grades are pending and the policy is to refuse."""
        known = {a.name for a in gb.assignments}  # a lab not in the gradebook yet was never published
        labs = [lab for lab in assignments() if lab in known and (not self.assignment or lab in self.assignment)]
        grades = collect(gb, load_term(Path(self.term_folder)), labs, [str(s) for s in self.student], now)
        if grades.pending and self.pending == "refuse":
            raise PendingGrades(grades.pending)
        tmp = dest.with_name(dest.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(self.table(grades))
        tmp.replace(dest)
        return grades

    def export(self, gradebook) -> None:
        dest = Path(self.to or self.default_file)
        try:
            grades = self.write(gradebook, dest)
        except PendingGrades as err:
            for line in err.args[0]:
                self.log.error("pending: %s", line)
            self.log.error(
                "%d grade(s) are not ready, so nothing was written. Grade or unflag them in formgrader "
                "(then `make grade`), or export the others with PENDING=blank (--LmsExport.pending=blank): "
                "their cells stay empty.",
                len(err.args[0]),
            )
            sys.exit(1)
        for line in grades.pending:
            self.log.warning("pending, left empty: %s", line)
        for student in grades.left_out:
            self.log.warning("not on the roster, left out: %s", student)
        for note in self.notes(grades):
            self.log.warning("%s", note)
        self.log.info("%d student(s), %d lab(s) written to %s", len(grades.students), len(grades.labs), dest)
