"""The class roster: who is in the course, imported from the CSV an LMS or the registrar gives.

`make roster FILE=export.csv` reads the file, recognises its columns (:data:`ACCEPTED`, printed
by the command) and writes the course's own ``roster.csv`` (:data:`COLUMNS`), which
`make grade` reads and copies into the gradebook's students (id, names, email, LMS id: what
nbgrader's ``Student`` holds). The section and the SIS ids, which nbgrader has no column for,
stay in ``roster.csv``; the LMS exports take them from there.

Accepted exports:

* **Canvas** (Grades > Export): ``Student`` ("Last, First"), ``ID`` (Canvas's user id, kept as the
  LMS id), ``SIS User ID``, ``SIS Login ID``, ``Section``; the "Points Possible" row and Canvas's
  "Student, Test" are skipped. The course id of a student is their SIS Login ID.
* **Moodle** (Participants or Grades > Export): ``First name``, ``Last name`` / ``Surname``,
  ``Email address``, ``ID number``, ``Username`` (when the site exports it), ``Groups``.
* **A registrar's list / nbgrader's own** (``nbgrader db student import``): ``id``, ``first_name``,
  ``last_name``, ``email``, ``lms_user_id``, ``section``.

The id of a student must be what names their folder under ``submitted/`` (their exchange or
JupyterHub user name). When no column says so plainly, the import stops and asks for
``ID_COLUMN=<header>`` rather than guess.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .calendar import TermFileError

ROSTER_FILE = "roster.csv"
COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "sis_login_id", "section")

#: header names accepted for each field, compared without case, spaces, "_" and "-"
ACCEPTED = {
    "id": ("id", "student_id", "username", "user name", "login", "login_id", "netid", "sis login id"),
    "first_name": ("first_name", "first name", "firstname", "given name", "given names"),
    "last_name": ("last_name", "last name", "lastname", "surname", "family name"),
    "name": ("student", "name", "full name", "student name"),
    "email": ("email", "email address", "e-mail", "mail"),
    "lms_user_id": ("lms_user_id", "lms id", "canvas user id", "user id"),
    "sis_user_id": ("sis user id", "sis_user_id", "id number", "student number", "matriculation number"),
    "sis_login_id": ("sis login id",),
    "section": ("section", "sections", "group", "groups"),
}
# Canvas's "ID" is its own numeric user id, not the course's id for a student.
CANVAS = {"id": "sis login id", "lms_user_id": "id", "name": "student"}
SKIPPED_NAMES = ("student, test", "test student")  # Canvas's student view


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.id

    @property
    def sortable_name(self) -> str:
        """ "Last, First", as Canvas writes names."""
        return ", ".join(p for p in (self.last_name, self.first_name) if p) or self.id


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower()).strip()


@dataclass
class Imported:
    """What an import found: the students, the format, which header fed which field, what it skipped."""

    students: list[Student]
    kind: str
    mapping: dict[str, str]
    skipped: list[str]


def _mapping(headers: list[str], id_column: str | None) -> tuple[str, dict[str, str]]:
    """``(format, {field: header})`` for the headers of an export."""
    keys = {_key(h): h for h in headers if h}
    canvas = "student" in keys and "sis login id" in keys and "id" in keys
    kind = "Canvas" if canvas else "Moodle" if "email address" in keys else "roster"
    mapping = {}
    for name, accepted in ACCEPTED.items():
        wanted = CANVAS.get(name) if canvas else None
        found = [keys[_key(a)] for a in ((wanted,) if wanted else accepted) if _key(a) in keys]
        if found:
            mapping[name] = found[0]
    if id_column is not None:
        if id_column not in headers:
            raise TermFileError(f"ID_COLUMN={id_column!r} is not a column of the file: {', '.join(headers)}")
        mapping["id"] = id_column
    if "id" not in mapping:
        raise TermFileError(
            f"no column of this {kind} export says which id names each student's folder under submitted/ "
            f"(their exchange or JupyterHub user name); its columns are: {', '.join(headers)}. "
            f"Pass ID_COLUMN=<one of them>, e.g. ID_COLUMN='Email address' or ID_COLUMN='ID number'"
        )
    return kind, mapping


def _names(row: dict, mapping: dict) -> tuple[str, str]:
    first, last = ((row.get(mapping[f]) or "").strip() if f in mapping else "" for f in ("first_name", "last_name"))
    if (first or last) or "name" not in mapping:
        return first, last
    full = (row.get(mapping["name"]) or "").strip()
    if "," in full:  # "Last, First": how Canvas writes a student
        last, first = (p.strip() for p in full.split(",", 1))
        return first, last
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def parse_roster(text: str, id_column: str | None = None) -> Imported:
    """Students from the text of an LMS or registrar export (see the module docstring)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h for h in (reader.fieldnames or []) if h is not None]
    kind, mapping = _mapping(headers, id_column)
    students, skipped, seen = [], [], set()
    for line, row in enumerate(reader, start=2):
        name = (row.get(mapping["name"]) or "").strip() if "name" in mapping else ""
        if "points possible" in name.lower() or name.lower() in SKIPPED_NAMES:
            skipped.append(f"line {line}: {name.strip()!r} (not a student)")
            continue
        sid = (row.get(mapping["id"]) or "").strip()
        if not sid:
            skipped.append(f"line {line}: no {mapping['id']!r} ({name or 'no name'})")
            continue
        if "/" in sid or sid.startswith("."):
            raise TermFileError(f"line {line}: {sid!r} cannot name a folder under submitted/")
        if sid in seen:
            raise TermFileError(f"line {line}: {sid!r} appears twice; ids must be unique")
        seen.add(sid)
        first, last = _names(row, mapping)
        fields = {f: (row.get(mapping[f]) or "").strip() for f in COLUMNS[3:] if f in mapping}
        students.append(Student(sid, first, last, **fields))
    return Imported(students, kind, mapping, skipped)


def write_roster(path: Path, students: list[Student]) -> None:
    tmp = Path(path).with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for s in sorted(students, key=lambda s: s.id):
            writer.writerow(asdict(s))
    tmp.replace(path)


def read_roster(path: Path) -> dict[str, Student] | None:
    """The course's roster by id, or None when the course has none (then nobody is "missing")."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        imported = parse_roster(path.read_text(encoding="utf-8-sig"))
    except TermFileError as err:
        raise TermFileError(f"{path}: {err}") from None
    return {s.id: s for s in imported.students}


def sync_gradebook(gb, roster: dict[str, Student]) -> None:
    """Every student of the roster in the gradebook (formgrader lists them), with what nbgrader's
    ``Student`` can hold; fields the roster leaves empty keep what the gradebook has."""
    for s in roster.values():
        fields = {"first_name": s.first_name, "last_name": s.last_name, "email": s.email, "lms_user_id": s.lms_user_id}
        gb.update_or_create_student(s.id, **{k: v for k, v in fields.items() if v})
