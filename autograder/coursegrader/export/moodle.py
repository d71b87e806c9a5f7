"""Moodle's CSV grade import (Grades > Import > CSV file): ``--exporter=coursegrader.export.moodle.MoodleExport``.

Moodle's importer reads a header row, then one row per student; on its preview page a TA maps one
column to the user ("Map from" ``Email address`` to *Email address*, or ``Username`` to
*Username* when the course's ids are Moodle user names) and each lab's column to a grade item
(create the items with the labs' maximum points first). Every row must name a user Moodle knows:
one it cannot find stops the whole import, so students without an email address are named when
the file is written. An empty cell is "no grade"; grades use a decimal point.
"""

from __future__ import annotations

from .grades import LmsExport, LmsGrades

STUDENT_COLUMNS = ("Username", "Email address", "First name", "Last name", "ID number")


class MoodleExport(LmsExport):
    """Grades as a CSV for Moodle's grade import."""

    default_file = "moodle-grades.csv"

    def table(self, grades: LmsGrades) -> list[list[str]]:
        rows = [[*STUDENT_COLUMNS, *(self.column(lab) for lab in grades.labs)]]
        for s in grades.students:
            who = [s.id, s.email, s.first_name, s.last_name, s.sis_user_id]
            rows.append([*who, *(self.cell(grades, s.id, lab) for lab in grades.labs)])
        return rows

    def notes(self, grades: LmsGrades) -> list[str]:
        without = [s.id for s in grades.students if not s.email]
        if not without:
            return []
        return [
            f"no email address for {', '.join(without)}: map Moodle's user from the Username column, or add "
            f"their emails to the roster (a row Moodle cannot match stops its whole import)"
        ]
