"""Small terms and gradebooks for the term's tests (calendar, lateness, roster, settle, export).

A gradebook is built with nbgrader's own API, with the course's lab names and a few grade cells
each, in milliseconds: no notebook runs. A term is a folder holding calendar.toml,
extensions.csv and roster.csv, as a TA writes them.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook

# lab -> {grade cell: (max points, graded by hand)}
LABS = {
    "nmt": {"checks": (12.0, False), "answer_beam_width": (4.0, True)},
    "sentiment": {"checks": (20.0, False)},
}

CALENDAR = """\
timezone = "Europe/Zurich"

[due]
nmt = 2026-10-12T23:59:00
sentiment = 2026-11-09T23:59:00

[late]
policy = "per-hour"
rate = 5
cap = 50
cutoff_hours = 168
"""

ROSTER = """\
id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section
alice,Alice,Adams,alice@example.edu,101,S1,alice,Lab A
bob,Bob,Brown,,102,S2,bob,Lab B
carol,Carol,Chen,carol@example.edu,103,S3,carol,Lab A
"""


def write_term(folder: Path, calendar: str = CALENDAR, roster: str | None = ROSTER, extensions: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "calendar.toml").write_text(calendar, encoding="utf-8")
    (folder / "extensions.csv").write_text("student,lab,until,note\n" + extensions, encoding="utf-8")
    if roster is not None:
        (folder / "roster.csv").write_text(roster, encoding="utf-8")
    return folder


_built: dict[str, Path] = {}


def make_gradebook(path: Path) -> str:
    """A course gradebook with :data:`LABS`' grade cells (no due dates: the term puts them in).
    Built once per test session (nbgrader's database migrations take seconds) and copied."""
    if "template" not in _built:
        template = Path(tempfile.mkdtemp(prefix="term-gradebook-")) / "gradebook.db"
        with Gradebook(f"sqlite:///{template}") as gb:
            for lab, cells in LABS.items():
                gb.add_assignment(lab)
                gb.add_notebook(lab, lab)
                for name, (points, by_hand) in cells.items():
                    gb.add_grade_cell(name, lab, lab, max_score=points, cell_type="markdown" if by_hand else "code")
                    if by_hand:
                        gb.add_solution_cell(name, lab, lab)
        _built["template"] = template
    shutil.copyfile(_built["template"], path)
    return f"sqlite:///{path}"


def utc(text: str) -> datetime:
    """A moment written in UTC, naive, as nbgrader's gradebook keeps it."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def hand_in(
    url: str,
    lab: str,
    student: str,
    points: dict[str, float | None],
    *,
    timestamp: str | None = None,
    flagged: bool = False,
) -> None:
    """A graded submission: ``points`` per grade cell (None: waiting for a TA's grade)."""
    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy session warnings, harmless here
        gb.update_or_create_student(student)
        sub = gb.add_submission(lab, student, **({"timestamp": utc(timestamp)} if timestamp else {}))
        for nb in sub.notebooks:
            nb.flagged = flagged
            for grade in nb.grades:
                value = points.get(grade.name, 0.0)
                grade.auto_score = value
                grade.needs_manual_grade = value is None
        gb.db.commit()
