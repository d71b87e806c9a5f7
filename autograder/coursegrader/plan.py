"""What a run of ``make grade`` has to do (the second stage of :func:`coursegrader.grade.grade`).

* :func:`prepare`: each readable submission is rebuilt from the released lab
  (answer-only, :func:`coursegrader.rebuild.rebuild`) here, before any kernel runs; its
  content key (:func:`coursegrader.keys.run_key`) says what executing it depends on.
* :func:`units`: submissions with the same key form one unit, executed once.
* :func:`make_plan`: every student folder becomes a row: unreadable ones fail, unchanged ones are
  reused, the others are grouped into units, to execute or to serve from the store.

Nothing here runs a kernel or writes a result. When and with how many cores each unit runs is
:mod:`coursegrader.schedule`'s business.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from . import keys, store
from .course import LABS
from .discover import Submission, UnreadableNotebook, discover, read_notebook
from .rebuild import rebuild
from .results import Result, RowId
from .state import GradingState
from .status import Kind, Status


@dataclass
class Entry:
    """One student's gradable submission, rebuilt and keyed."""

    sub: Submission
    rebuilt: nbformat.NotebookNode
    warnings: list[str]  # what discover and the rebuild noticed (ignored changes, file name)
    missing: list[str]  # answer cells the submission lacks
    key: str  # what executing it depends on (shared by identical work)
    written: dict[str, str]  # the answers graded by hand (markdown), by grade_id
    content: str  # digest of everything handed in (for incremental runs)

    @property
    def row(self) -> RowId:
        return self.sub.row


@dataclass
class Unit:
    """One key to execute, and every entry that shares it (the first one's id runs it)."""

    key: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def assignment(self) -> str:
        return self.entries[0].sub.assignment

    @property
    def first(self) -> Entry:
        return self.entries[0]


_released: dict[str, nbformat.NotebookNode] = {}


def released(assignment: str) -> nbformat.NotebookNode:
    if assignment not in _released:
        _released[assignment] = nbformat.read(LABS / assignment / f"{assignment}.ipynb", as_version=4)
    return _released[assignment]


def prepare(sub: Submission, profile) -> Entry:
    """Rebuild and key one submission whose notebook has been read (``sub.notebook``)."""
    rebuilt, warnings, missing = rebuild(sub.notebook, released(sub.assignment))
    key = keys.run_key(sub.assignment, rebuilt, profile, missing)
    content = keys.content_key(key, nbformat.writes(_without_outputs(sub.notebook)), sub.warnings)
    return Entry(
        sub=sub,
        rebuilt=rebuilt,
        warnings=list(sub.warnings) + warnings,
        missing=missing,
        key=key,
        written=keys.written_answers(rebuilt),
        content=content,
    )


def _without_outputs(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.metadata = {}
    return nb


def units(entries: list[Entry]) -> list[Unit]:
    """Entries grouped by key, in the order of their first entry."""
    grouped: dict[str, Unit] = {}
    for entry in entries:
        grouped.setdefault(entry.key, Unit(entry.key)).entries.append(entry)
    return list(grouped.values())


@dataclass
class Plan:
    """Every row of a run, and the work it takes."""

    subs: list[Submission]  #: every submission found, in the table's order
    rows: dict[RowId, Result]  #: rows decided without running anything (reused, or not graded this time)
    failed: list[Submission]  #: submissions with nothing to grade (``problem`` says why)
    entries: list[Entry]  #: submissions to grade
    todo: list[Unit]  #: units to execute
    served: list[tuple[Unit, store.Outcome]]  #: units whose result an earlier run stored
    sharing: Counter  #: how many rows each key serves (this run's and reused ones)

    def runs(self, assignment: str) -> int:
        return sum(u.assignment == assignment for u in self.todo)


def make_plan(
    workdir: Path,
    state: GradingState,
    *,
    graded: list[str],
    known: list[str],
    chosen: dict,
    students: list[str] | None,
    force: bool,
) -> Plan:
    """Every folder under ``workdir/submitted``: what to execute, what to serve, what to reuse."""
    subs = discover(workdir / "submitted", graded, known)
    rows, failed, entries = {}, [], []
    for sub in subs:
        if sub.problem is None:
            try:
                sub.notebook = read_notebook(sub.path)
            except UnreadableNotebook as err:
                sub.problem = err.status
        if sub.problem is not None:
            failed.append(sub)
            continue
        entry = prepare(sub, chosen[sub.assignment])
        reused = _reused(workdir, state, entry, students, force)
        if reused is not None:
            rows[sub.row] = reused
        else:
            entries.append(entry)
    todo, served = [], []
    for unit in units(entries):
        again = force or (students is not None and any(e.sub.student in students for e in unit.entries))
        found = None if again else store.load(workdir, unit.key)
        if found:
            served.append((unit, found))
        else:
            todo.append(unit)
    keys_ = [e.key for e in entries] + [state.rows[rid].key for rid, r in rows.items() if r.reused]
    return Plan(subs, rows, failed, entries, todo, served, Counter(keys_))


def _reused(workdir: Path, state: GradingState, entry: Entry, students, force: bool) -> Result | None:
    """The row an entry keeps without being graded: its last one when it is unchanged (or not among
    the students this run grades), a placeholder when it was never graded and is not wanted now."""
    saved = state.rows.get(entry.row)
    wanted = students is None or entry.sub.student in students
    unchanged = (
        saved is not None
        and saved.content == entry.content
        and not force
        and store.load(workdir, saved.key) is not None
    )
    if saved is not None and (not wanted or (unchanged and students is None)):
        return replace(saved.result, reused=True)
    if not wanted:
        detail = "(this run graded only " + ", ".join(students) + ")"
        return Result(
            entry.sub.student,
            entry.sub.assignment,
            status=Status(Kind.NOT_GRADED_YET, detail),
            warnings=list(entry.warnings),
        )
    return None
