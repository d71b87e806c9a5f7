"""The term applied to one grading run's rows: late penalties, extensions, the roster.

:func:`settle` runs once per `make grade`, after every row is graded (or served unchanged from an
earlier run) and before the rows are saved and shown:

* the course gradebook gets the term (:func:`coursegrader.term.publish`): due dates, the roster's
  students, each submission's extension;
* each submission's lateness is assessed from nbgrader's ``timestamp.txt`` and its penalty
  assigned in the gradebook exactly as nbgrader's ``AssignLatePenalties`` does, with the same
  plugin (:func:`coursegrader.lateness.assign_penalty`): ``SubmittedNotebook.late_submission_penalty``
  holds it once; the row's score is the gradebook's score minus it; the row says why;
* feedback pages whose lateness changed are written again;
* with a roster, a submission by someone not on it is graded as usual and says so, and everyone
  on it who handed nothing in for a lab gets a row: ``missing`` (0 points) once the due date,
  or their extension, has passed, ``not due yet`` before.

Lateness is personal: a graded run shared by students who handed in identical work
(:mod:`coursegrader.store`) carries no penalty; each student's own is assigned here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import keys
from .calendar import to_utc_naive
from .course import graded_path
from .deliver import timestamp_of, write_feedback
from .gradebook import standings
from .lateness import CourseLatePenalty, assign_penalty
from .plan import released
from .results import Result
from .status import Kind, Status
from .term import NOT_ON_ROSTER, Term, publish


def settle(run, results: list[Result], term: Term, labs: list[str], now: datetime | None = None) -> None:
    """Apply ``term`` to the rows of a run, in place (see the module docstring)."""
    shown = {id(r): (r.late, r.penalty) if r.reused else ("", 0.0) for r in results}
    plugin = CourseLatePenalty(calendar_file=str(term.calendar_file))
    with Gradebook(f"sqlite:///{run.workdir / 'gradebook.db'}") as gb:
        publish(gb, term, labs)
        for r in results:
            _mark_roster(r, term)
            if r.assignment in labs:
                _settle_lateness(gb, r, term, run.workdir, plugin)
        gb.db.commit()
        max_scores = {a.name: a.max_score for a in gb.assignments}
    _repaint(run, [r for r in results if (r.late, r.penalty) != shown[id(r)]])
    missing = missing_rows(results, term, labs, max_scores, now or datetime.now(UTC))
    results[:] = sorted([*results, *missing], key=lambda r: (r.student, r.assignment))


def _mark_roster(r: Result, term: Term) -> None:
    # a row served unchanged keeps the warnings it was saved with: take ours out, then decide again
    r.warnings = [w for w in r.warnings if w != NOT_ON_ROSTER]
    if not term.on_roster(r.student):
        r.warnings.append(NOT_ON_ROSTER)


def _settle_lateness(gb, r: Result, term: Term, workdir: Path, plugin) -> None:
    handed_in = timestamp_of(workdir / "submitted" / r.student / r.assignment)
    handed_in = handed_in.replace(tzinfo=UTC) if handed_in is not None else None
    r.late = term.lateness(r.student, r.assignment, handed_in).describe(term.calendar)
    r.penalty = 0.0
    if r.score is None:
        return
    try:
        sub = gb.find_submission(r.assignment, r.student)
    except MissingEntry:
        return
    if handed_in is not None:
        sub.timestamp = to_utc_naive(handed_in)
    sub.extension = term.extension(r.student, r.assignment)
    r.penalty = assign_penalty(sub, plugin)
    r.score = max(0.0, sub.score - r.penalty)


def _repaint(run, rows: list[Result]) -> None:
    """Write again the feedback pages of ``rows``: what they say about lateness changed."""
    rows = [r for r in rows if not (r.status.kind.not_run or r.status.kind is Kind.NOT_GRADED_YET)]
    ids = {a: set(keys.written_answers(released(a))) for a in {r.assignment for r in rows}}
    found = standings(run.workdir / "gradebook.db", [(r.assignment, r.student, ids[r.assignment]) for r in rows])
    for r in rows:
        graded = graded_path(run.workdir, r.student, r.assignment)
        now = found.get((r.assignment, r.student))
        if now is None or not graded.is_file():
            continue
        r.score, r.max_score = now.score, now.max_score
        write_feedback(run, r, nbformat.read(graded, as_version=4), now.manual)


def missing_rows(results: list[Result], term: Term, labs: list[str], max_scores: dict, now: datetime) -> list[Result]:
    """A row for each lab that someone on the roster handed nothing in for."""
    if term.roster is None:
        return []
    have = {(r.student, r.assignment) for r in results}
    rows = []
    for student in sorted(term.roster):
        for lab in (lab for lab in labs if (student, lab) not in have):
            deadline = term.deadline(student, lab)
            basis = term.lateness(student, lab, None).basis(term.calendar)
            when = f" ({basis})" if basis else ""
            if deadline is not None and deadline > now:
                rows.append(
                    Result(
                        student, lab, max_score=max_scores.get(lab), status=Status(Kind.NOT_DUE, basis and f"({basis})")
                    )
                )
                continue
            rows.append(
                Result(
                    student,
                    lab,
                    score=0.0,
                    max_score=max_scores.get(lab),
                    status=Status(Kind.MISSING, f"nothing handed in{when}"),
                    warnings=[f"no submitted/{student}/{lab}/: `make collect` (a late hand-in) or `make extend`"],
                )
            )
    return rows
