"""Per-student extensions: who may hand in a lab later than its due date, and until when.

One small CSV a TA edits, or writes with `make extend` (``extensions.csv`` beside ``calendar.toml``)::

    student,lab,until,note
    alice,nmt,2026-10-14T23:59:00+02:00,doctor's note

``until`` is the new due date (with an offset, or in the course's time zone). nbgrader keeps an
extension per *submission* (``SubmittedAssignment.extension``, a duration past the lab's due
date), so it can only hold one once the student has handed something in; this file holds it
from the moment it is granted, and `make grade` writes it into the gradebook for each
submission (:mod:`coursegrader.settle`), where formgrader's autograde finds it too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .calendar import Calendar, TermFileError, parse_moment, plus

EXTENSIONS_FILE = "extensions.csv"
COLUMNS = ("student", "lab", "until", "note")


@dataclass(frozen=True)
class Extension:
    student: str
    lab: str
    until: datetime  # aware
    note: str = ""


def read_extensions(path: Path, calendar: Calendar, labs: list[str] | None = None) -> dict[tuple[str, str], Extension]:
    """``{(student, lab): Extension}`` from ``path`` (none when there is no file)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS[:3]) - set(reader.fieldnames or ())
        if missing:
            raise TermFileError(f"{path}: the header needs the columns {', '.join(COLUMNS)}, not {sorted(missing)}")
        found = {}
        for line, row in enumerate(reader, start=2):
            student, lab = (row.get("student") or "").strip(), (row.get("lab") or "").strip()
            if not student and not lab:
                continue
            where = f"{path}, line {line}"
            if not student or not lab:
                raise TermFileError(f"{where}: every extension needs a student and a lab")
            if labs is not None and lab not in labs:
                raise TermFileError(f"{where}: no lab {lab!r} (the labs are {', '.join(labs)})")
            if (student, lab) in found:
                raise TermFileError(f"{where}: a second extension for {student} in {lab}; keep one line for each")
            until = parse_moment(row.get("until") or "", calendar.timezone, f"{where}: until")
            found[student, lab] = Extension(student, lab, until, (row.get("note") or "").strip())
    return found


def write_extensions(path: Path, extensions: dict[tuple[str, str], Extension]) -> None:
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for (student, lab), ext in sorted(extensions.items()):
            writer.writerow([student, lab, ext.until.isoformat(timespec="minutes"), ext.note])
    tmp.replace(path)


def grant(
    path: Path,
    calendar: Calendar,
    labs: list[str],
    *,
    student: str,
    lab: str,
    until: str | None = None,
    days: float = 0,
    hours: float = 0,
    note: str = "",
) -> Extension | None:
    """Give ``student`` an extension for ``lab`` (replacing any earlier one) and save the file.

    ``until``: the new due date; or ``days``/``hours`` past the lab's due date. With neither, the
    student's extension is removed (returns None), as nbgrader's ``grant_extension`` does.
    """
    if lab not in labs:
        raise TermFileError(f"no lab {lab!r} (the labs are {', '.join(labs)})")
    extensions = read_extensions(path, calendar, labs)
    if until is None and not days and not hours:
        extensions.pop((student, lab), None)
        write_extensions(path, extensions)
        return None
    due = calendar.due_of(lab)
    if until is not None:
        moment = parse_moment(until, calendar.timezone, "UNTIL")
    elif due is None:
        raise TermFileError(f"{lab} has no due date in {calendar.source or 'calendar.toml'}: give UNTIL=<date, time>")
    else:
        moment = plus(due, days=days, hours=hours)
    if due is not None and moment <= due:
        raise TermFileError(f"an extension must end after the due date, {calendar.when(due)}: {calendar.when(moment)}")
    extensions[student, lab] = Extension(student, lab, moment.astimezone(calendar.timezone), note)
    write_extensions(path, extensions)
    return extensions[student, lab]
