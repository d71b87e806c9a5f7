"""The term's commands: ``python -m coursegrader calendar | extend | roster`` (`make publish`,
`make extend`, `make roster`).

Each edits the term's files (``autograder/`` by default, ``--term`` elsewhere) and brings the
course gradebook nbgrader is configured with (``CourseDirectory.db_url``) up to date, so
formgrader shows the due dates, the students and the extensions at once.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .calendar import TermFileError
from .course import AUTOGRADER, assignments
from .extensions import EXTENSIONS_FILE, grant
from .roster import ACCEPTED, ROSTER_FILE, parse_roster, write_roster
from .term import load_term, publish


def add_commands(sub) -> None:
    c = sub.add_parser("calendar", help="show the due dates and put them (and the roster) into the gradebook")
    c.add_argument("--term", type=Path, default=AUTOGRADER, help="the folder holding calendar.toml (autograder/)")
    e = sub.add_parser("extend", help="give one student more time for one lab (extensions.csv)")
    e.add_argument("--term", type=Path, default=AUTOGRADER)
    e.add_argument("--student", required=True)
    e.add_argument("--lab", required=True, choices=assignments())
    e.add_argument("--until", help="the new due date, e.g. 2026-10-14T23:59 (in the course's time zone)")
    e.add_argument("--days", type=float, default=0, help="days past the lab's due date")
    e.add_argument("--hours", type=float, default=0, help="hours past the lab's due date")
    e.add_argument("--note", default="", help="why (kept in extensions.csv)")
    r = sub.add_parser("roster", help="import the class list an LMS or registrar exported (CSV) into roster.csv")
    r.add_argument("file", type=Path)
    r.add_argument("--term", type=Path, default=AUTOGRADER)
    r.add_argument("--id-column", default=None, help="the column whose values name the students' folders")


def run(args) -> int:
    try:
        return {"calendar": show_calendar, "extend": extend, "roster": import_roster}[args.command](args)
    except TermFileError as err:
        print(f"error: {err}")
        return 2


def course_db_url() -> str:
    """The gradebook nbgrader is configured with (as `nbgrader db ...` and formgrader use it)."""
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader()
    app.initialize([])
    return app.coursedir.db_url


def _to_gradebook(term, labs) -> str:
    url = course_db_url()
    with Gradebook(url) as gb:
        publish(gb, term, labs)
    return url


def show_calendar(args) -> int:
    labs = assignments()
    term = load_term(args.term, labs)
    cal = term.calendar
    print(f"{cal.source or args.term / 'calendar.toml (none)'}: time zone {cal.timezone.key}")
    for lab in labs:
        due = cal.due_of(lab)
        print(f"  {lab:<11} {'due ' + cal.when(due) if due else 'no due date'}")
    print(f"late hand-ins: {term.policy.describe()}")
    print(f"extensions: {len(term.extensions)} in {args.term / EXTENSIONS_FILE}")
    print(f"roster: {len(term.roster)} student(s)" if term.roster is not None else "roster: none (nobody is 'missing')")
    print(f"gradebook {_to_gradebook(term, labs)}: due dates, students and extensions written")
    return 0


def extend(args) -> int:
    labs = assignments()
    term = load_term(args.term, labs)
    ext = grant(
        args.term / EXTENSIONS_FILE,
        term.calendar,
        labs,
        student=args.student,
        lab=args.lab,
        until=args.until,
        days=args.days,
        hours=args.hours,
        note=args.note,
    )
    term = load_term(args.term, labs)
    with Gradebook(course_db_url()) as gb:
        try:  # nbgrader keeps an extension per submission: only once there is one
            sub = gb.find_submission(args.lab, args.student)
            sub.extension = term.extension(args.student, args.lab)
            gb.db.commit()
        except MissingEntry:
            pass
    if ext is None:
        print(f"{args.student}: no extension for {args.lab} any more")
    else:
        until = term.calendar.when(ext.until)
        print(f"{args.student} may hand in {args.lab} until {until} ({args.term / EXTENSIONS_FILE})")
    if term.roster is not None and args.student not in term.roster:
        print(f"note: {args.student} is not on the roster ({args.term / ROSTER_FILE})")
    return 0


def import_roster(args) -> int:
    imported = parse_roster(args.file.read_text(encoding="utf-8-sig"), args.id_column)
    print(f"{args.file}: a {imported.kind} export; columns used:")
    for field, header in imported.mapping.items():
        print(f"  {field:<12} <- {header!r}")
    unused = sorted(set(ACCEPTED) - set(imported.mapping) - {"name"})
    if unused:
        print(f"  (not in the file: {', '.join(unused)})")
    for why in imported.skipped:
        print(f"  skipped {why}")
    dest = args.term / ROSTER_FILE
    write_roster(dest, imported.students)
    term = load_term(args.term, assignments())
    print(f"{len(imported.students)} student(s) written to {dest}; gradebook {_to_gradebook(term, assignments())}")
    return 0
