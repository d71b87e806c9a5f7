"""What earlier runs of ``make grade`` did, kept in ``<workdir>/grading-state.json``.

The graded runs themselves are kept by key in :mod:`coursegrader.store`; this is what ties rows
to them, and what the scheduler and the feedback pages remember between runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .results import Result, RowId

STATE_FILE = "grading-state.json"
VERSION = 3
KEEP_TIMINGS = 25


@dataclass
class SavedRow:
    """A row as the last run left it."""

    content: str  #: digest of everything handed in: an unchanged row is not graded again
    key: str  #: the content key of the run that graded it (its result is in the store)
    result: Result  #: the row it got


@dataclass
class GradingState:
    """Everything a run remembers for the next one."""

    rows: dict[RowId, SavedRow] = field(default_factory=dict)
    #: measured seconds per (assignment, profile): the longest units start first
    timings: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    #: per row, the hand-given grades its feedback page last showed (a digest): the page is
    #: rendered again when a TA grades in formgrader
    manual: dict[RowId, str] = field(default_factory=dict)

    def add_timing(self, assignment: str, profile: str, seconds: float) -> None:
        recent = self.timings.setdefault((assignment, profile), [])
        recent.append(round(float(seconds), 1))
        del recent[:-KEEP_TIMINGS]

    def measured(self, assignment: str, profile: str) -> list[float]:
        return self.timings.get((assignment, profile), [])


def load_state(workdir: Path) -> GradingState:
    """The state the last run saved (empty when there is none; an older layout keeps only its timings,
    so every row is planned again, and served from the store when its run is there)."""
    try:
        found = json.loads((Path(workdir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return GradingState()
    timings = {tuple(k.split("/", 1)): v for k, v in found.get("timings", {}).items() if "/" in k}
    if found.get("version") != VERSION:
        return GradingState(timings=timings)
    rows = {
        _row(rid): SavedRow(row["content"], row["key"], Result.from_saved(row["result"]))
        for rid, row in found.get("rows", {}).items()
    }
    manual = {_row(rid): digest for rid, digest in found.get("manual", {}).items()}
    return GradingState(rows=rows, timings=timings, manual=manual)


def save_state(workdir: Path, state: GradingState) -> None:
    """Write the state atomically (a run killed while saving leaves the previous state)."""
    data = {
        "version": VERSION,
        "rows": {
            str(rid): {"content": row.content, "key": row.key, "result": row.result.to_saved()}
            for rid, row in state.rows.items()
        },
        "timings": {f"{a}/{p}": seconds for (a, p), seconds in state.timings.items()},
        "manual": {str(rid): digest for rid, digest in state.manual.items()},
    }
    tmp = Path(workdir) / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(Path(workdir) / STATE_FILE)


def _row(text: str) -> RowId:
    student, assignment = text.rsplit("/", 1)
    return RowId(student, assignment)
