"""What handing in late costs: the course's late policy, one submission's lateness, and the nbgrader
plugin that applies the policy, so that `make grade` and formgrader's autograde agree.

The policy is the ``[late]`` table of ``calendar.toml`` (:mod:`coursegrader.calendar`):

* ``none``: late hand-ins cost nothing (their lateness is still shown);
* ``per-hour`` / ``per-day``: ``rate`` percent of the score for each hour (day) late or part of
  one, at most ``cap`` percent;
* ``zero-after``: nothing until ``cutoff_hours`` after the due date, then the whole score;
  ``cutoff_hours`` also puts a cut-off on ``per-hour`` and ``per-day``.

``grace_minutes`` forgives a hand-in that late (a slow upload, a clock a minute off). Lateness is
counted from the student's own due date: the lab's, or the end of their extension
(:mod:`coursegrader.extensions`). A resubmission that is no longer late loses nothing:
the penalty is computed afresh from the latest hand-in every time it is graded, as
nbgrader's ``AssignLatePenalties`` resets it before asking the plugin (nbgrader #723).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode

from .calendar import CALENDAR_FILE, Calendar, TermFileError, duration, load_calendar
from .course import AUTOGRADER

KINDS = ("none", "per-hour", "per-day", "zero-after")
UNIT_SECONDS = {"per-hour": 3600, "per-day": 86400}


@dataclass(frozen=True)
class LatePolicy:
    """A course's late policy (see the module docstring)."""

    kind: str = "none"
    rate: float = 0.0  # percent of the score per started hour/day late
    cap: float = 100.0  # percent: the most a per-hour/per-day penalty takes
    cutoff_hours: float | None = None  # later than this: the whole score
    grace_minutes: float = 0.0

    @classmethod
    def from_table(cls, table: dict, where: str = "[late]") -> LatePolicy:
        table = dict(table)
        kind = table.pop("policy", "none")
        if kind not in KINDS:
            raise TermFileError(f"{where}: policy = {kind!r}; choose one of {', '.join(KINDS)}")
        known = {"rate", "cap", "cutoff_hours", "grace_minutes"}
        if set(table) - known:
            raise TermFileError(f"{where}: unknown entries {sorted(set(table) - known)}; known: {sorted(known)}")
        numbers = {}
        for name, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise TermFileError(f"{where}: {name} = {value!r}; expected a number >= 0")
            numbers[name] = float(value)
        policy = cls(kind=kind, **numbers)
        if kind in UNIT_SECONDS and "rate" not in numbers:
            raise TermFileError(f"{where}: policy {kind!r} needs rate = <percent per {kind[4:]} late>")
        if kind == "zero-after" and policy.cutoff_hours is None:
            raise TermFileError(f"{where}: policy 'zero-after' needs cutoff_hours = <hours after the due date>")
        if policy.cap > 100:
            raise TermFileError(f"{where}: cap = {policy.cap:g}; a penalty takes at most 100 percent")
        return policy

    def fraction(self, seconds_late: float) -> float:
        """The share of the score lost by a hand-in ``seconds_late`` after its due date (0 to 1)."""
        if seconds_late <= 0 or seconds_late <= self.grace_minutes * 60:
            return 0.0
        if self.cutoff_hours is not None and seconds_late > self.cutoff_hours * 3600:
            return 1.0
        if self.kind not in UNIT_SECONDS:
            return 0.0
        started = math.ceil(seconds_late / UNIT_SECONDS[self.kind])
        return min(self.cap, self.rate * started) / 100

    def describe(self) -> str:
        """The policy in words, for the lab's first cell and the class report."""
        if self.kind == "none" and self.cutoff_hours is None:
            return "no penalty"
        parts = []
        if self.kind in UNIT_SECONDS:
            unit = self.kind[4:]
            parts.append(f"{self.rate:g} % of the score per {unit} late (or part of one), at most {self.cap:g} %")
        if self.cutoff_hours is not None:
            parts.append(f"score 0 when more than {duration(self.cutoff_hours * 3600)} late")
        if self.grace_minutes:
            parts.append(f"up to {duration(self.grace_minutes * 60)} late costs nothing")
        return "; ".join(parts)


def policy_of(calendar: Calendar) -> LatePolicy:
    return LatePolicy.from_table(calendar.late, f"{calendar.source}: [late]")


@dataclass(frozen=True)
class Lateness:
    """When one submission was handed in, against its due date and extension."""

    due: datetime | None  # the lab's due date
    until: datetime | None  # the student's extension (None: none)
    handed_in: datetime | None  # from nbgrader's timestamp.txt
    fraction: float = 0.0  # of the score lost
    cut_off: bool = False  # handed in after the policy's cut-off

    @property
    def deadline(self) -> datetime | None:
        return self.until or self.due

    @property
    def seconds_late(self) -> float:
        if self.deadline is None or self.handed_in is None:
            return 0.0
        return max(0.0, (self.handed_in - self.deadline).total_seconds())

    def basis(self, calendar: Calendar) -> str:
        """The deadline in words: "due Mon 9 Nov 2026, 23:59 CET", with the extension first if any."""
        if self.due is None:
            return ""
        due = f"due {calendar.when(self.due)}"
        return f"extension to {calendar.when(self.until)}, {due}" if self.until is not None else due

    def describe(self, calendar: Calendar) -> str:
        """What a person needs to know, or "" when there is nothing to say (on time, no extension).

        e.g. "handed in 3 h 12 min late (due Mon 9 Nov 2026, 23:59 CET): -20 %"."""
        if self.due is None:
            return ""
        basis = self.basis(calendar)
        if self.handed_in is None:
            return f"hand-in time unknown (no timestamp.txt), so lateness was not checked ({basis})"
        if self.seconds_late <= 0:
            if self.until is None:
                return ""
            return f"handed in on time, extension to {calendar.when(self.until)} (due {calendar.when(self.due)})"
        late = f"handed in {duration(self.seconds_late)} late ({basis})"
        if self.cut_off:
            return f"{late}: after the cut-off, score 0"
        if not self.fraction:
            return f"{late}: no penalty"
        return f"{late}: -{self.fraction * 100:g} %"


def assess(calendar: Calendar, policy: LatePolicy, lab: str, until: datetime | None, handed_in) -> Lateness:
    """The lateness of a hand-in of ``lab`` at ``handed_in`` (aware, or None) with extension ``until``."""
    due = calendar.due_of(lab)
    lateness = Lateness(due=due, until=until if due is not None else None, handed_in=handed_in)
    late = lateness.seconds_late
    fraction = policy.fraction(late)
    cut_off = bool(fraction) and policy.cutoff_hours is not None and late > policy.cutoff_hours * 3600
    return Lateness(due, lateness.until, handed_in, fraction=fraction, cut_off=cut_off)


def penalty_points(fraction: float, score: float) -> float:
    """The points a late hand-in loses, in hundredths (what grades.csv and the LMS show)."""
    return round(min(max(score, 0.0), max(score, 0.0) * fraction), 2)


def assign_penalty(sub, plugin: LateSubmissionPlugin) -> float:
    """Assign the late penalty of one submission in the gradebook as nbgrader's ``AssignLatePenalties``
    does (reset each notebook's penalty, ask the plugin when the submission is late, keep the
    answer between 0 and the notebook's score), on the notebook's current score, TA's points
    included; return the total. ``sub``: the gradebook's ``SubmittedAssignment``."""
    total = 0.0
    for notebook in sub.notebooks:
        notebook.late_submission_penalty = None
        if sub.total_seconds_late > 0:
            penalty = plugin.late_submission_penalty(sub.student_id, notebook.score, sub.total_seconds_late)
            if penalty is not None:
                notebook.late_submission_penalty = min(max(penalty, 0.0), notebook.score)
                total += notebook.late_submission_penalty
    return total


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the course's policy (``calendar.toml``).

    nbgrader's ``AssignLatePenalties`` calls it with the notebook's score and the seconds past the
    student's due date (the assignment's ``duedate`` plus the submission's ``extension``, both in
    the gradebook), resets the penalty first, and keeps the result between 0 and the score.
    `make grade` asks the very same plugin (:mod:`coursegrader.settle`), so formgrader's autograde
    and `make grade` give the same penalty.
    """

    calendar_file = Unicode(
        str(AUTOGRADER / CALENDAR_FILE), help="The course calendar whose [late] table is the late policy"
    ).tag(config=True)

    _policy: LatePolicy | None = None

    def policy(self) -> LatePolicy:
        if self._policy is None:  # read once per plugin: nbgrader makes one per notebook it grades
            self._policy = policy_of(load_calendar(Path(self.calendar_file)))
        return self._policy

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        fraction = self.policy().fraction(total_seconds_late)
        return penalty_points(fraction, score) if fraction else None
