"""Grades that reach the LMS (coursegrader.export): the CSV files Canvas's gradebook import and
Moodle's CSV grade import read, checked against what their importers require, written by nbgrader
export plugins; grades still pending are named and never written as numbers."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from nbgrader.api import Gradebook

from coursegrader.course import ROOT
from coursegrader.export.canvas import CanvasExport
from coursegrader.export.grades import PendingGrades
from coursegrader.export.moodle import MoodleExport
from coursegrader.term import load_term, publish
from tests.support.term_fixtures import hand_in, make_gradebook, write_term

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def course(tmp_path):
    """A graded term: alice's sentiment 3 h 12 min late; bob's written answer not graded yet and no
    sentiment at all; carol's nmt flagged for review; dave handed in without being on the roster."""
    term_dir = write_term(tmp_path / "term")
    url = make_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        publish(gb, load_term(term_dir), ["nmt", "sentiment"])
    hand_in(url, "nmt", "alice", {"checks": 12, "answer_beam_width": 3}, timestamp="2026-10-12T20:00:00+00:00")
    hand_in(url, "sentiment", "alice", {"checks": 16}, timestamp="2026-11-10T02:11:00+00:00")
    hand_in(url, "nmt", "bob", {"checks": 12, "answer_beam_width": None})
    hand_in(url, "nmt", "carol", {"checks": 12, "answer_beam_width": 4}, flagged=True)
    hand_in(url, "sentiment", "carol", {"checks": 20})
    hand_in(url, "sentiment", "dave", {"checks": 10})
    with Gradebook(url) as gb:  # the late penalty, as `make grade` (coursegrader.settle) assigns it
        gb.find_submission_notebook("sentiment", "sentiment", "alice").late_submission_penalty = 3.2
        gb.db.commit()
    return url, term_dir


def export(plugin_class, course, tmp_path, **options):
    url, term_dir = course
    plugin = plugin_class(term_folder=str(term_dir), **options)
    with Gradebook(url) as gb:
        grades = plugin.write(gb, tmp_path / "out.csv", now=NOW)
    return list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8")))), grades, plugin


def test_canvas_gets_its_student_columns_points_possible_and_one_column_per_lab(course, tmp_path):
    rows, grades, _ = export(CanvasExport, course, tmp_path, pending="blank")
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "nmt", "sentiment"],
        ["    Points Possible", "", "", "", "", "16", "20"],
        ["Adams, Alice", "101", "S1", "alice", "Lab A", "15", "12.8"],
        ["Brown, Bob", "102", "S2", "bob", "Lab B", "", "0"],
        ["Chen, Carol", "103", "S3", "carol", "Lab A", "", "20"],
    ]
    assert grades.left_out == ["dave"]


def test_the_canvas_file_passes_the_checks_of_canvas_gradebook_importer(course, tmp_path):
    """Canvas's GradebookImporter: a header whose first columns are Student, ID and (with SIS ids)
    SIS User ID, SIS Login ID, ending in Section; a row whose first cell holds "Points Possible";
    grades a number, or empty (no change)."""
    rows, _, _ = export(CanvasExport, course, tmp_path, pending="blank", columns={"nmt": "Lab 1: Bahdanau (4821)"})
    header, points = rows[0], rows[1]
    assert "Student" in header[0] and "ID" in header[1] and len(header) > 3
    assert re.match(r"SIS\s+User\s+ID", header[2]) and re.match(r"SIS\s+Login\s+ID", header[3])
    assert "Section" in header[4]
    assert re.fullmatch(r"Lab 1: Bahdanau \((\d+)\)", header[5])  # "Title (id)" fills that assignment
    assert "Points Possible" in points[0]
    assert all(re.fullmatch(r"(\d+(\.\d{1,2})?)?", cell) for row in rows[1:] for cell in row[5:])
    assert all(len(row) == len(header) for row in rows)


def test_moodle_gets_user_identifiers_and_one_grade_column_per_lab(course, tmp_path):
    rows, grades, plugin = export(MoodleExport, course, tmp_path, pending="blank")
    assert rows == [
        ["Username", "Email address", "First name", "Last name", "ID number", "nmt", "sentiment"],
        ["alice", "alice@example.edu", "Alice", "Adams", "S1", "15", "12.8"],
        ["bob", "", "Bob", "Brown", "S2", "", "0"],
        ["carol", "carol@example.edu", "Carol", "Chen", "S3", "", "20"],
    ]
    assert plugin.notes(grades) == [
        "no email address for bob: map Moodle's user from the Username column, or add their emails "
        "to the roster (a row Moodle cannot match stops its whole import)"
    ]


def test_the_moodle_file_passes_the_checks_of_moodles_csv_grade_import(course, tmp_path):
    """Moodle's gradeimport_csv: a header row; every row maps to a user by one column (it stops the
    whole import at a row it cannot match); a grade is a number with a decimal point, or empty
    (no grade)."""
    rows, _, _ = export(MoodleExport, course, tmp_path, pending="blank")
    header, students = rows[0], rows[1:]
    assert len(set(header)) == len(header) and "Username" in header and "Email address" in header
    assert all(row[header.index("Username")] for row in students)
    assert all(re.fullmatch(r"(\d+(\.\d+)?)?", cell) for row in students for cell in row[5:])


def test_pending_grades_stop_the_export_and_are_named(course, tmp_path):
    url, term_dir = course
    with Gradebook(url) as gb, pytest.raises(PendingGrades) as err:
        CanvasExport(term_folder=str(term_dir)).write(gb, tmp_path / "out.csv", now=NOW)
    assert err.value.args[0] == [
        "bob / nmt: 1 answer(s) to grade by hand in formgrader",
        "carol / nmt: flagged for review in formgrader (unflag it once a person has looked)",
    ]
    assert not (tmp_path / "out.csv").exists()


def test_a_lab_not_due_yet_exports_no_zero_for_who_has_not_handed_in(course, tmp_path):
    url, term_dir = course
    with Gradebook(url) as gb:
        grades = CanvasExport(term_folder=str(term_dir), pending="blank").write(
            gb, tmp_path / "out.csv", now=datetime(2026, 11, 1, tzinfo=UTC)
        )
    assert grades.cells["bob", "sentiment"] == ""


def nbgrader_export(course, tmp_path, exporter, *options):
    url, term_dir = course
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.db_url = {url!r}\nc.LmsExport.term_folder = {str(term_dir)!r}\n",
        encoding="utf-8",
    )
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(config))
    cmd = [sys.executable, "-m", "nbgrader", "export", f"--exporter={exporter}", f"--to={tmp_path / 'out.csv'}"]
    return subprocess.run([*cmd, *options], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.integration  # nbgrader export in a subprocess: ~5 s
def test_nbgrader_export_runs_the_plugins_and_refuses_while_grades_are_pending(course, tmp_path):
    refused = nbgrader_export(course, tmp_path, "coursegrader.export.canvas.CanvasExport")
    assert refused.returncode == 1 and not (tmp_path / "out.csv").exists()
    assert "pending: bob / nmt: 1 answer(s) to grade by hand" in refused.stderr
    assert "2 grade(s) are not ready, so nothing was written" in refused.stderr
    done = nbgrader_export(course, tmp_path, "coursegrader.export.moodle.MoodleExport", "--LmsExport.pending=blank")
    assert done.returncode == 0, done.stderr
    assert "pending, left empty: carol / nmt" in done.stderr and "not on the roster, left out: dave" in done.stderr
    assert (tmp_path / "out.csv").read_text().splitlines()[0].startswith("Username,Email address")
