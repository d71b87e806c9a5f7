"""The honest demo class's term, end to end (smoke run shared with tests/integration/test_grading.py): its late
hand-in, its extension and the student on the roster who handed nothing in are in grades.csv, the
table, the feedback pages, the class report, the gradebook (as nbgrader's own export reads it)
and the LMS files. The term: autograder/demo/term/honest/."""

from __future__ import annotations

import csv
import html
import io

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from coursegrader.course import DEMO
from coursegrader.export.canvas import CanvasExport
from coursegrader.export.grades import PendingGrades
from coursegrader.export.moodle import MoodleExport
from coursegrader.table import print_table

LATE = "handed in 3 h 12 min late (due Mon 9 Nov 2026, 23:59 CET): -20 %"
EXTENDED = "handed in on time, extension to Wed 14 Oct 2026, 23:59 CEST (due Mon 12 Oct 2026, 23:59 CEST)"
TERM = DEMO / "term" / "honest"


@pytest.fixture(scope="module")
def demo(smoke_honest):
    workdir, results = smoke_honest
    return workdir, {(r.student, r.assignment): r for r in results}


def test_grades_csv_has_the_penalty_the_extension_and_the_missing_student(demo):
    workdir, _ = demo
    rows = {
        (r["student_id"], r["assignment"]): r for r in csv.DictReader(io.StringIO((workdir / "grades.csv").read_text()))
    }
    late = rows["dot-product", "sentiment"]
    assert (late["score"], late["late_penalty"], late["late"]) == ("8", "2", LATE)
    assert rows["passes-all", "nmt"]["late"] == EXTENDED and rows["passes-all", "nmt"]["late_penalty"] == ""
    for lab in ("nmt", "nmt_luong", "sentiment"):
        missing = rows["no-show", lab]
        assert missing["score"] == "0" and missing["status"].startswith("missing: nothing handed in (due ")


def test_the_table_shows_them(demo, capsys):
    workdir, results = demo
    print_table(list(results.values()), workdir, demo=None, profile_names={})
    out = capsys.readouterr().out
    assert "8 / 20" in out and "(late: -2)" in out and f"~ {LATE}" in out and f"~ {EXTENDED}" in out
    assert "no-show              sentiment        0 / 20" in out


def test_the_feedback_pages_say_why_and_what_it_cost(demo):
    workdir, _ = demo
    page = html.unescape((workdir / "feedback" / "dot-product" / "sentiment" / "sentiment.html").read_text())
    assert "Handed in 3 h 12 min late (due Mon 9 Nov 2026, 23:59 CET): -20 % (2 points taken off the score)." in page
    assert 'ck-score">8 / 20' in page
    page = html.unescape((workdir / "feedback" / "passes-all" / "nmt" / "nmt.html").read_text())
    assert "Handed in on time, extension to Wed 14 Oct 2026, 23:59 CEST" in page
    assert not (workdir / "feedback" / "no-show").exists()  # nothing handed in: no page


def test_the_class_report_lists_late_extended_and_missing_hand_ins(demo):
    workdir, _ = demo
    page = html.unescape((workdir / "class-report.html").read_text())
    section = page[page.index('<section id="term">') : page.index('<section id="answers">')]
    assert "dot-product" in section and "-2" in section and LATE in section
    assert EXTENDED in section
    assert section.count("no-show") == 3 and "missing: nothing handed in" in section


def test_the_gradebook_holds_the_penalty_once_as_nbgraders_own_export_reads_it(demo, tmp_path):
    workdir, _ = demo
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        assert gb.find_submission("sentiment", "dot-product").late_submission_penalty == 2
        assert gb.find_submission("nmt", "passes-all").extension.days == 2
        assert gb.find_student("no-show").last_name == "Nolan"  # the roster, in the gradebook
        CsvExportPlugin(to=str(tmp_path / "nbgrader.csv")).export(gb)
    rows = {
        (r["student_id"], r["assignment"]): r
        for r in csv.DictReader(io.StringIO((tmp_path / "nbgrader.csv").read_text()))
    }
    assert (rows["dot-product", "sentiment"]["raw_score"], rows["dot-product", "sentiment"]["score"]) == ("10.0", "8.0")
    assert rows["no-show", "sentiment"]["score"] == "0.0"


def test_the_lms_files_wait_for_the_answers_to_grade_by_hand_then_carry_every_grade(demo, tmp_path):
    workdir, _ = demo
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        with pytest.raises(PendingGrades) as err:
            CanvasExport(term_folder=str(TERM)).write(gb, tmp_path / "canvas.csv")
        assert err.value.args[0] == [
            "passes-all / nmt: 2 answer(s) to grade by hand in formgrader",
            "passes-all / nmt_luong: 2 answer(s) to grade by hand in formgrader",
        ]
        CanvasExport(term_folder=str(TERM), pending="blank").write(gb, tmp_path / "canvas.csv")
        MoodleExport(term_folder=str(TERM), pending="blank").write(gb, tmp_path / "moodle.csv")
    canvas = list(csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text())))
    assert canvas[:2] == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "nmt", "nmt_luong", "sentiment"],
        ["    Points Possible", "", "", "", "", "16", "16", "20"],
    ]
    by_login = {row[3]: row for row in canvas[2:]}
    assert by_login["dot-product"] == ["Dotson, Cara", "51003", "S-2026-003", "dot-product", "Lab A", "0", "0", "8"]
    assert by_login["no-show"][5:] == ["0", "0", "0"] and by_login["passes-all"][5:] == ["", "", "14"]
    moodle = list(csv.reader(io.StringIO((tmp_path / "moodle.csv").read_text())))
    assert moodle[0][:2] == ["Username", "Email address"] and len(moodle) == 1 + 5
