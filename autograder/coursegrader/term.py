"""A course's term, read in one place: its calendar, late policy, extensions and roster.

The files sit together in one folder a TA edits (``autograder/`` for the course,
``autograder/demo/term/<class>/`` for a demo class): ``calendar.toml``
(:mod:`coursegrader.calendar`), ``extensions.csv`` (:mod:`coursegrader.extensions`) and
``roster.csv`` (:mod:`coursegrader.roster`). Each is optional: without them a course has no
due dates, no extensions and no roster, and grading behaves as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .calendar import CALENDAR_FILE, Calendar, TermFileError, load_calendar, to_utc_naive
from .course import AUTOGRADER, DEMO, assignments
from .errors import ConfigurationError
from .extensions import EXTENSIONS_FILE, Extension, read_extensions
from .lateness import Lateness, LatePolicy, assess, policy_of
from .roster import ROSTER_FILE, Student, read_roster, sync_gradebook

__all__ = ["NOT_ON_ROSTER", "Term", "TermFileError", "load_term", "term_folder"]

# the warning of a row whose student the roster does not know (coursegrader.settle)
NOT_ON_ROSTER = "not on the roster: graded as usual; check the id, or add the student to the roster (make roster)"


@dataclass
class Term:
    folder: Path | None = None
    calendar: Calendar = field(default_factory=Calendar)
    policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[tuple[str, str], Extension] = field(default_factory=dict)
    roster: dict[str, Student] | None = None  # None: the course has no roster

    @property
    def calendar_file(self) -> Path:
        return (self.folder or AUTOGRADER) / CALENDAR_FILE

    def until(self, student: str, lab: str) -> datetime | None:
        """The end of ``student``'s extension for ``lab`` (None: no extension)."""
        found = self.extensions.get((student, lab))
        return found.until if found else None

    def deadline(self, student: str, lab: str) -> datetime | None:
        return self.until(student, lab) or self.calendar.due_of(lab)

    def extension(self, student: str, lab: str) -> timedelta | None:
        """The extension as nbgrader stores it: the time past the lab's due date."""
        until, due = self.until(student, lab), self.calendar.due_of(lab)
        return until - due if until is not None and due is not None else None

    def lateness(self, student: str, lab: str, handed_in: datetime | None) -> Lateness:
        return assess(self.calendar, self.policy, lab, self.until(student, lab), handed_in)

    def on_roster(self, student: str) -> bool:
        return self.roster is None or student in self.roster


def load_term(folder: Path | None, labs: list[str] | None = None) -> Term:
    """The term in ``folder`` (an empty term for None); raises :class:`TermFileError` with what to fix."""
    if folder is None:
        return Term()
    folder = Path(folder)
    labs = labs if labs is not None else assignments()
    calendar = load_calendar(folder / CALENDAR_FILE, labs)
    return Term(
        folder=folder,
        calendar=calendar,
        policy=policy_of(calendar),
        extensions=read_extensions(folder / EXTENSIONS_FILE, calendar, labs),
        roster=read_roster(folder / ROSTER_FILE),
    )


def term_folder(workdir: Path, demo: str | None) -> Path | None:
    """Where the term of a grading run is: the grading folder's own (``autograder/`` for the course),
    or a demo class's (``autograder/demo/term/<class>/``, None when that class has none)."""
    if not demo:
        return Path(workdir)
    folder = DEMO / "term" / demo
    return folder if folder.is_dir() else None


def term_for_run(workdir: Path, demo: str | None, labs: list[str]) -> Term:
    """The term a `make grade` run applies; a term file that cannot be read stops the run before
    grading, saying what to fix."""
    try:
        return load_term(term_folder(workdir, demo), labs)
    except TermFileError as err:
        raise ConfigurationError(str(err)) from None


def publish(gb, term: Term, labs: list[str]) -> None:
    """Put the term into a gradebook: each lab's due date (formgrader shows it), the roster's students,
    and each existing submission's extension."""
    for lab in labs:
        due = term.calendar.due_of(lab)
        found = [a for a in gb.assignments if a.name == lab]
        if due is not None or found:
            gb.update_or_create_assignment(lab, duedate=to_utc_naive(due) if due else None)
    if term.roster:
        sync_gradebook(gb, term.roster)
    for sub in (s for a in gb.assignments if a.name in labs for s in a.submissions):
        sub.extension = term.extension(sub.student_id, sub.assignment.name)
    gb.db.commit()
