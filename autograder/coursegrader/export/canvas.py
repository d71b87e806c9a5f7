"""Canvas's gradebook import (Grades > Import): ``--exporter=coursegrader.export.canvas.CanvasExport``.

The file is what Canvas's own gradebook export looks like, which its importer reads back:

* header: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per
  lab, named as in Canvas (``LmsExport.columns``: "Title (assignment id)" fills an existing
  assignment; a new title creates one);
* second row: ``Points Possible`` under the student columns' first, and each lab's maximum;
* one row per student. Canvas finds the student by ``ID`` (its own user id, the roster's LMS id),
  else ``SIS User ID``, else ``SIS Login ID``, else the name ("Last, First"). An empty cell or
  ``-`` is "no grade" there: it changes nothing.
"""

from __future__ import annotations

from .grades import LmsExport, LmsGrades, number

STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas's export writes it; its importer looks for the words


class CanvasExport(LmsExport):
    """Grades as a CSV for Canvas's gradebook import."""

    default_file = "canvas-grades.csv"

    def table(self, grades: LmsGrades) -> list[list[str]]:
        rows = [[*STUDENT_COLUMNS, *(self.column(lab) for lab in grades.labs)]]
        rows.append([POINTS_POSSIBLE, "", "", "", "", *(number(grades.max_scores[lab]) for lab in grades.labs)])
        for s in grades.students:
            who = [s.sortable_name, s.lms_user_id, s.sis_user_id, s.sis_login_id or s.id, s.section]
            rows.append([*who, *(self.cell(grades, s.id, lab) for lab in grades.labs)])
        return rows
