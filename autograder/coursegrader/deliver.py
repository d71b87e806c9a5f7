"""Serve one graded run to one student: their gradebook entry, graded notebook, feedback page and row.

A stored run (:mod:`coursegrader.store`) may have been executed for another student who
handed in the same code. What is the student's own is put back here: their
answers graded by hand (markdown), the changes of theirs the rebuild ignored (as
warnings), their timestamp, their name on the feedback page.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat

from . import feedback, store
from .cells import META, grade_id
from .course import feedback_path, graded_path
from .gradebook import record, standings, zero_submission
from .plan import Entry, released
from .results import Result, RowId
from .sanitize import sanitize
from .status import Status
from .verdicts import status_of

NO_RESPONSE = "No response."


def timestamp_of(folder: Path):
    """The submission time nbgrader wrote next to the notebook (``timestamp.txt``), or None."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    try:
        return parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def written_grades(entry: Entry) -> tuple[dict, dict]:
    """The automatic part of each answer graded by hand: 0 and "No response." when untouched."""
    stubs = {grade_id(c): c.source.strip() for c in released(entry.sub.assignment).cells if grade_id(c)}
    grades, comments = {}, {}
    for gid, text in entry.written.items():
        untouched = text.strip() == stubs.get(gid, "")
        grades[gid] = {"auto_score": 0.0 if untouched else None, "needs_manual_grade": not untouched}
        comments[gid] = NO_RESPONSE if untouched else None
    return grades, comments


def graded_notebook(entry: Entry, outcome: store.Outcome, run) -> nbformat.NotebookNode:
    """The stored graded notebook with this student's own answers graded by hand and warnings, safe
    to show (:mod:`coursegrader.sanitize`): formgrader and the feedback page render it."""
    nb = nbformat.read(store.files(run.workdir, outcome.key) / f"{entry.sub.assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in entry.written:
            cell.source = entry.written[grade_id(cell)]
    rec = copy.deepcopy(outcome.record)
    rec["warnings"] = list(entry.warnings) + [w for w in rec.get("warnings", []) if w not in entry.warnings]
    rec["answer_missing"] = list(entry.missing)
    rec["status"] = str(status_of(rec))
    nb.metadata[META] = rec
    return sanitize(nb)


def deliver(entry: Entry, outcome: store.Outcome, run, shared: int, resubmitted: bool) -> Result:
    """Write everything of ``entry`` from ``outcome``; return its row."""
    sub = entry.sub
    nb = graded_notebook(entry, outcome, run)
    rec = nb.metadata[META]
    result = Result(
        sub.student,
        sub.assignment,
        status=status_of(rec),
        flagged=bool(rec.get("flagged")),
        seconds=outcome.seconds,
        shared=shared,
    )
    result.warnings = (
        list(rec.get("warnings", []))
        + list(rec.get("notes", []))
        + list(rec.get("errors", []))
        + [
            f"check `{c['grade_id']}` printed a warning (no points lost)"
            for c in rec.get("checks", [])
            if c.get("warnings")
        ]
    )
    grades, comments = dict(outcome.grades), dict(outcome.comments)
    hand_grades, hand_comments = written_grades(entry)
    grades.update(hand_grades)
    comments.update(hand_comments)
    graded = graded_path(run.workdir, sub.student, sub.assignment)
    with run.lock:
        now = record(
            run.workdir / "gradebook.db",
            sub.assignment,
            sub.student,
            grades,
            comments,
            result.flagged,
            timestamp=timestamp_of(run.workdir / "submitted" / sub.student / sub.assignment),
            resubmitted=resubmitted,
            manual_ids=set(entry.written),
        )
        result.score, result.max_score = now.score, now.max_score
        store.copy_results(store.files(run.workdir, outcome.key), graded.parent, skip={graded.name})
        nbformat.write(nb, graded)
        write_feedback(run, result, nb, now.manual)
    return result


def fail(entry_or_sub, status: Status, run) -> Result:
    """The row of a submission that could not be graded (unreadable, or the grader failed)."""
    sub = getattr(entry_or_sub, "sub", entry_or_sub)
    result = Result(sub.student, sub.assignment, warnings=list(entry_or_sub.warnings), status=status, flagged=True)
    if sub.assignment != "-":
        with run.lock:
            result.score, result.max_score = zero_submission(
                run.workdir / "gradebook.db", sub.assignment, sub.student, True
            )
            write_feedback(run, result, None, ())
    return result


def write_feedback(run, result: Result, nb, manual: list[dict]) -> None:
    """The student's feedback page, and what `nbgrader release_feedback` (make return) needs beside it.
    ``manual``: the answers graded by hand, as the gradebook has them now."""
    path = feedback_path(run.workdir, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = [
        f"Not run while grading (no check needs it): {what}."
        for what in (nb.metadata.get(META, {}).get("skipped", []) if nb is not None else [])
    ]
    if result.shared > 1:
        notes.append(
            f"Your code was run once for the {result.shared} students who handed in exactly the same "
            f"code; your answers, name and warnings are your own."
        )
    path.write_text(
        feedback.render(
            nb,
            student=result.student,
            assignment=result.assignment,
            score=result.score,
            max_score=result.max_score,
            status=result.status,
            warnings=result.warnings,
            notes=notes,
            manual=manual if nb else (),
            late=late_line(result),
        ),
        encoding="utf-8",
    )
    source = run.workdir / "submitted" / result.student / result.assignment
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (source / name).is_file():
            shutil.copyfile(source / name, path.parent / name)


def late_line(result: Result) -> str:
    """What the page says about the hand-in's lateness or extension ("" when nothing)."""
    if not result.penalty:
        return result.late
    return f"{result.late} ({result.penalty:g} point{'s' if result.penalty != 1 else ''} taken off the score)"


def refresh(run, results: list[Result], manual_ids: dict[str, set[str]], shown: dict[RowId, str]) -> None:
    """Bring every row up to date with the course gradebook, where a TA may have graded answers by
    hand since (formgrader): its score and how many answers still wait, and its feedback page when
    the hand-given grades changed since the page was written (``shown``, kept in the state)."""
    wanted = [(r.assignment, r.student, manual_ids.get(r.assignment, set())) for r in results if r.score is not None]
    found = standings(run.workdir / "gradebook.db", wanted)
    for r in results:
        now = found.get((r.assignment, r.student))
        if now is None:
            continue
        r.score, r.max_score, r.to_grade = now.score, now.max_score, now.to_grade
        ids = manual_ids.get(r.assignment, set())
        if not ids:
            continue
        digest = json.dumps(now.manual, sort_keys=True)
        graded = graded_path(run.workdir, r.student, r.assignment)
        if r.reused and shown.get(r.row) != digest and graded.is_file():
            write_feedback(run, r, nbformat.read(graded, as_version=4), now.manual)
        shown[r.row] = digest
