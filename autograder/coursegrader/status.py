"""A row's status: a kind a program tests, and a detail a person reads.

Every row of ``grades.csv``, the table, the class report and the feedback page has a
status. Code decides on its :class:`Kind` (``status.kind is Kind.GRADER_ERROR``), never
on its text; the text (``str(status)``) is the kind's words and its detail, e.g.
``timed out in luong_output_shapes_and_dtypes`` or ``flagged: replaced``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What happened to a submission. The value is ``(words, joiner, meaning)``: the words start the
    status text, the joiner comes before a detail, the meaning explains the kind in the class report."""

    OK = ("ok", "", "graded, nothing to report")
    WARNINGS = ("warnings", "", "graded; the notebook or a check printed a warning (costs nothing)")
    FLAGGED = (
        "flagged",
        ": ",
        "graded, but the grader saw tampering, forged evidence or data in an answer: a person decides",
    )
    TIMED_OUT = ("timed out", " in ", "a cell ran past its time limit; the checks after it did not run")
    KERNEL_DIED = ("kernel died", " in ", "the kernel exited or crashed; the checks after it did not run")
    OUT_OF_MEMORY = ("out of memory", " in ", "the kernel hit its memory cap; the checks after it did not run")
    # Past one of the limits of coursegrader.limits; the detail is the limit and the cell ("512 MiB in training").
    DISK_LIMIT = ("wrote more than", " ", "the kernel passed its disk limit; the checks after it did not run")
    FILE_LIMIT = ("created more than", " ", "the kernel passed its file limit; the checks after it did not run")
    PROCESS_LIMIT = ("started more than", " ", "the kernel passed its process limit; the checks after it did not run")
    OUTPUT_LIMIT = (
        "printed more than",
        " ",
        "the kernel passed its output limit: what came before is kept; the checks after it did not run",
    )
    FORGED_MESSAGE = (
        "sent the grader a forged message",
        " in ",
        "the kernel sent a message that is not a Jupyter message of its own; the checks after it did not run",
    )
    ANSWER_MISSING = ("answer missing", "", "an answer cell was deleted from the notebook")
    INVALID_NOTEBOOK = ("invalid notebook", ": ", "the file could not be read as a notebook")
    SEVERAL_NOTEBOOKS = (
        "several notebooks",
        ", ",
        "several notebooks and none with the expected name: a person picks one",
    )
    NO_NOTEBOOK = ("no notebook", " ", "no notebook handed in")
    NO_ASSIGNMENT_FOLDER = ("no assignment folder", " ", "a student folder with no assignment folder in it")
    MISSING = ("missing", ": ", "on the roster, but nothing handed in by the due date or extension: 0 points")
    NOT_DUE = ("not due yet", " ", "on the roster, nothing handed in yet; the due date or extension is still ahead")
    NOT_GRADED_YET = ("not graded yet", " ", "this run graded other students only")
    GRADER_ERROR = ("grader error", ": ", "the grader failed, not the student: graded again on the next run")

    def __init__(self, words: str, joiner: str, meaning: str):
        self.words, self.joiner, self.meaning = words, joiner, meaning

    @property
    def stopped(self) -> bool:
        """The kernel stopped early: the checks after the named cell did not run."""
        return self in STOPPED

    @property
    def not_run(self) -> bool:
        """Nothing was executed for this row: there was no notebook to run, or the grader failed."""
        return self in NOT_RUN

    @property
    def absent(self) -> bool:
        """A row of the roster, not of ``submitted/``: nothing was handed in."""
        return self in (Kind.MISSING, Kind.NOT_DUE)

    @property
    def retried(self) -> bool:
        """The next run grades this row again (it says nothing about the submission)."""
        return self in (Kind.GRADER_ERROR, Kind.NOT_GRADED_YET)


STOPPED = frozenset(
    (
        Kind.TIMED_OUT,
        Kind.KERNEL_DIED,
        Kind.OUT_OF_MEMORY,
        Kind.DISK_LIMIT,
        Kind.FILE_LIMIT,
        Kind.PROCESS_LIMIT,
        Kind.OUTPUT_LIMIT,
        Kind.FORGED_MESSAGE,
    )
)
NOT_RUN = frozenset(
    (
        Kind.INVALID_NOTEBOOK,
        Kind.SEVERAL_NOTEBOOKS,
        Kind.NO_NOTEBOOK,
        Kind.NO_ASSIGNMENT_FOLDER,
        Kind.MISSING,
        Kind.NOT_DUE,
        Kind.GRADER_ERROR,
    )
)
_BY_WORDS = sorted(Kind, key=lambda k: -len(k.words))  # "no assignment folder" before "no notebook"...


@dataclass(frozen=True)
class Status:
    """A kind and its detail (the cell a kernel stopped in, why a row is flagged, the reason...)."""

    kind: Kind = Kind.OK
    detail: str = ""

    def __str__(self) -> str:
        return self.kind.words + (self.kind.joiner + self.detail if self.detail else "")

    @classmethod
    def parse(cls, text: str) -> Status:
        """The status whose text is ``text`` (as written to grades.csv or expected_scores.csv).
        Raises ValueError for text that starts with no kind's words."""
        for kind in _BY_WORDS:
            if text == kind.words:
                return cls(kind)
            if text.startswith(kind.words + kind.joiner) and kind.joiner:
                return cls(kind, text[len(kind.words + kind.joiner) :])
        raise ValueError(f"{text!r} is not a status")

    def matches(self, expected: Status) -> bool:
        """Same kind, and this detail starts with the expected one (an expectation may name the
        first reason of a flag, or leave the detail out)."""
        return self.kind is expected.kind and self.detail.startswith(expected.detail)


def stopped(why: str, cell: str) -> Status:
    """The status of a kernel that stopped early (``why`` as :mod:`coursegrader.execute` records it:
    ``timed out``, or a limit with its amount, ``wrote more than 512 MiB``)."""
    for kind in STOPPED:
        if why == kind.words:
            return Status(kind, cell)
        if kind.joiner == " " and why.startswith(kind.words + " "):
            return Status(kind, f"{why[len(kind.words) + 1 :]} in {cell}")
    raise ValueError(f"{why!r} is not why a kernel stops")
