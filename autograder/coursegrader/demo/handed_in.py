"""When each demo student handed in: nbgrader's ``timestamp.txt``, from the demo class's term.

``autograder/demo/term/<class>/handed-in.csv`` (student, lab, timestamp as nbgrader writes it,
in UTC) sits beside the class's calendar, extensions and roster, so that one folder tells the
whole story of the demo's term; :func:`coursegrader.demo.build` writes each time into the
student's folder, where `nbgrader collect` would have put it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..course import DEMO

HANDED_IN_FILE = "handed-in.csv"


def handed_in(class_name: str, term_root: Path = DEMO / "term") -> dict[tuple[str, str], str]:
    """``{(student, lab): timestamp}`` of a demo class (none when it has no term)."""
    path = term_root / class_name / HANDED_IN_FILE
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {(row["student"], row["lab"]): row["timestamp"].strip() for row in csv.DictReader(f)}


def stamp(root: Path, class_name: str) -> None:
    """Write each hand-in time of the class built in ``root`` as ``<student>/<lab>/timestamp.txt``."""
    for (student, lab), when in handed_in(class_name).items():
        folder = root / student / lab
        if folder.is_dir():
            (folder / "timestamp.txt").write_text(when, encoding="utf-8")  # as nbgrader writes it
