"""What a run of ``make grade`` has to do: rebuild every submission, key it, group identical work.

* :func:`prepare`: each readable submission is rebuilt from the released lab
  (answer-only, :func:`coursegrader.rebuild.rebuild`) here, before any kernel runs; its
  content key (:func:`coursegrader.keys.run_key`) says what executing it depends on.
* :func:`units`: submissions with the same key form one unit, executed once.

When and with how many cores each unit runs is :mod:`coursegrader.schedule`'s business.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from . import keys
from .course import LABS
from .discover import Submission
from .rebuild import rebuild


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
    def row(self) -> str:
        return f"{self.sub.student}/{self.sub.assignment}"


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
