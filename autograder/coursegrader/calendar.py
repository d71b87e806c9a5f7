"""The course calendar: when each lab is due, in which time zone, and what handing in late costs.

A TA edits one small file, ``calendar.toml`` (``autograder/calendar.toml`` for the course,
``autograder/demo/term/<class>/calendar.toml`` for a demo class)::

    timezone = "Europe/Zurich"      # dates without an offset are in this zone

    [due]
    nmt = 2026-10-12T23:59:00       # or "2026-10-12 23:59", or 2026-10-12T23:59:00+02:00
    sentiment = 2026-11-09T23:59:00

    [late]
    policy = "per-hour"             # none | per-hour | per-day | zero-after
    rate = 5                        # percent of the score per hour late, or part of one
    cap = 50                        # never more than this percent
    cutoff_hours = 168              # later than this: score 0 (required by zero-after)
    grace_minutes = 0               # late by no more than this costs nothing

The file is read with :mod:`tomllib` (no dependency). Every date is turned into an aware
datetime once, here; the gradebook stores them in UTC (nbgrader's convention), pages show
them in the course's zone. The late policy itself is :mod:`coursegrader.lateness`'s.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CALENDAR_FILE = "calendar.toml"


class TermFileError(ValueError):
    """A calendar, extensions or roster file a person has to fix: the message names the file, the
    entry and what to write instead."""


@dataclass(frozen=True)
class Calendar:
    """The due dates of one course, as aware datetimes in its time zone."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    due: dict[str, datetime] = field(default_factory=dict)  # lab -> due date (aware)
    late: dict = field(default_factory=dict)  # the [late] table, read by coursegrader.lateness
    source: Path | None = None  # the file it was read from (None: no calendar)

    def due_of(self, lab: str) -> datetime | None:
        return self.due.get(lab)

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the course's time zone (naive moments are UTC, as nbgrader stores them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.timezone)

    def when(self, moment: datetime) -> str:
        """A moment as a person reads it, in the course's zone: "Mon 9 Nov 2026, 23:59 CET"."""
        t = self.local(moment)
        return f"{t:%a} {t.day} {t:%b %Y}, {t:%H:%M} {t.tzname()}"


def parse_moment(value, zone: ZoneInfo, where: str) -> datetime:
    """A TOML date-time, or a string in ISO form, as an aware datetime (naive: in ``zone``)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TermFileError(
                f"{where}: {value!r} is not a date and time; write it as 2026-10-12T23:59:00 "
                f"(in the course's time zone) or 2026-10-12T23:59:00+02:00"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        raise TermFileError(f"{where}: {value} has no time of day; write {value}T23:59:00 for the end of that day")
    if not isinstance(value, datetime):
        raise TermFileError(f"{where}: expected a date and time, found {value!r}")
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _zone(name, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TermFileError(
            f"{where}: unknown time zone {name!r}; use an IANA name such as 'Europe/Zurich' or 'America/New_York'"
        ) from None


def load_calendar(path: Path, labs: list[str] | None = None) -> Calendar:
    """The calendar in ``path``; an empty one (no due dates, no late policy) when there is no file.

    ``labs``: the course's assignments, to refuse a due date for a lab that does not exist (a
    misspelt lab would silently never be due).
    """
    path = Path(path)
    if not path.is_file():
        return Calendar()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise TermFileError(f"{path}: not valid TOML ({err})") from None
    unknown = set(raw) - {"timezone", "due", "late"}
    if unknown:
        raise TermFileError(f"{path}: unknown entries {sorted(unknown)}; expected timezone, [due] and [late]")
    zone = _zone(raw.get("timezone", "UTC"), f"{path}: timezone")
    due = {}
    for lab, value in (raw.get("due") or {}).items():
        if labs is not None and lab not in labs:
            raise TermFileError(f"{path}: [due] {lab}: no such lab (the labs are {', '.join(labs)})")
        due[lab] = parse_moment(value, zone, f"{path}: [due] {lab}")
    late = raw.get("late") or {}
    if not isinstance(late, dict):
        raise TermFileError(f"{path}: [late] must be a table")
    return Calendar(timezone=zone, due=due, late=dict(late), source=path)


def to_utc_naive(moment: datetime) -> datetime:
    """How nbgrader's gradebook stores a moment (``Assignment.duedate``, ``timestamp``): UTC, naive."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def duration(seconds: float) -> str:
    """A length of time as a person reads it: "40 s", "12 min", "3 h 12 min", "2 d 4 h"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def due_line(calendar: Calendar, lab: str, policy_text: str) -> str | None:
    """The line `make release` writes into a lab's first cell (None: the lab has no due date)."""
    due = calendar.due_of(lab)
    if due is None:
        return None
    return f"**Due: {calendar.when(due)}** ({calendar.timezone.key}). Late hand-ins: {policy_text}."


def plus(moment: datetime, days: float = 0, hours: float = 0) -> datetime:
    """``moment`` plus days and hours of wall-clock time in its own zone (a two-day extension over a
    change to summer time still ends at the same hour)."""
    local = moment.replace(tzinfo=None) + timedelta(days=days, hours=hours)
    return local.replace(tzinfo=moment.tzinfo)
