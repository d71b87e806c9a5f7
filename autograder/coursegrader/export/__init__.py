"""Grades for the LMS: nbgrader export plugins that write the CSV Canvas or Moodle imports.

``nbgrader export --exporter=coursegrader.export.canvas.CanvasExport`` (or ``...moodle.MoodleExport``),
or `make export LMS=canvas|moodle`. Both read the course gradebook (scores after the late penalty
nbgrader holds, as nbgrader's own export counts them) and the term (:mod:`coursegrader.term`:
roster, due dates, extensions); :mod:`.grades` decides each cell, the modules name the columns.
No LMS API: the CSV is what every LMS imports, and what a person can read before it does.
"""
