"""Where the calendar is shown and used outside `make grade`: nbgrader steps, configured in
``autograder/nbgrader_config.py``.

* :class:`StampDueDate` (``generate_assignment``, so `make release`): the lab's first cell gets a
  line with its due date and the late policy, before nbgrader locks the cell and takes its
  checksum; students read it in the lab they fetch.
* :class:`ApplyTerm` (``autograde``, before ``AssignLatePenalties``): the gradebook gets the lab's
  due date and this student's extension, so that nbgrader's late penalty (the course's plugin,
  :class:`coursegrader.lateness.CourseLatePenalty`) is the one `make grade` gives, also when a TA
  autogrades one submission from formgrader.

`make publish` and `make grade` write the due dates and the roster into the course gradebook
(:func:`coursegrader.term.publish`), where formgrader shows them.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .calendar import due_line, to_utc_naive
from .course import AUTOGRADER
from .term import load_term

DUE_MARK = "**Due: "


class StampDueDate(NbGraderPreprocessor):
    """Write the lab's due date into its first markdown cell (after its title)."""

    term_folder = Unicode(str(AUTOGRADER), help="The folder holding calendar.toml").tag(config=True)

    def preprocess(self, nb, resources):
        term = load_term(Path(self.term_folder))
        line = due_line(term.calendar, resources["nbgrader"]["assignment"], term.policy.describe())
        cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if line is None or cell is None:
            return nb, resources
        lines = [x for x in cell.source.splitlines() if not x.startswith(DUE_MARK)]
        at = 1 if lines and lines[0].startswith("#") else 0
        cell.source = "\n".join([*lines[:at], "", line, *([""] if at < len(lines) and lines[at] else []), *lines[at:]])
        cell.source = cell.source.lstrip("\n")
        return nb, resources


class ApplyTerm(NbGraderPreprocessor):
    """Put the lab's due date and the student's extension into the gradebook being graded into."""

    term_folder = Unicode(str(AUTOGRADER), help="The folder holding calendar.toml and extensions.csv").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        term = load_term(Path(self.term_folder))
        due = term.calendar.due_of(info["assignment"])
        with Gradebook(info["db_url"]) as gb:
            try:
                sub = gb.find_submission(info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            sub.assignment.duedate = to_utc_naive(due) if due is not None else None
            sub.extension = term.extension(info["student"], info["assignment"])
            gb.db.commit()
        return nb, resources
