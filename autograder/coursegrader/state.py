"""What earlier runs of ``make grade`` did, kept in ``<workdir>/grading-state.json``.

* ``rows``: per student and assignment, the content digest of what was handed in,
  the key of the run that graded it, and the row it got; an unchanged row is not
  graded again (``FORCE=1`` grades everything, ``STUDENT=id`` that student again);
* ``timings``: the measured seconds per assignment and profile, for starting the
  longest units first;
* ``manual``: per row, the hand-given grades the feedback page last showed, so
  that the page is rendered again when a TA grades in formgrader.

The graded runs themselves are in :mod:`coursegrader.store`.
"""

from __future__ import annotations

import json
from pathlib import Path

STATE_FILE = "grading-state.json"
VERSION = 2
KEEP_TIMINGS = 25


def load_state(workdir: Path) -> dict:
    """``{"rows": ..., "timings": ..., "manual": ...}`` (empty parts when there is no state yet)."""
    path = Path(workdir) / STATE_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = {}
    if found.get("version") != VERSION:
        found = {"timings": found.get("timings", {})}  # an older layout: grade again, keep the timings
    return {"rows": found.get("rows", {}), "timings": found.get("timings", {}), "manual": found.get("manual", {})}


def save_state(workdir: Path, state: dict) -> None:
    tmp = Path(workdir) / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps({"version": VERSION, **state}, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(Path(workdir) / STATE_FILE)


def add_timing(state: dict, assignment: str, profile: str, seconds: float) -> None:
    recent = state["timings"].setdefault(f"{assignment}/{profile}", [])
    recent.append(round(float(seconds), 1))
    del recent[:-KEEP_TIMINGS]
