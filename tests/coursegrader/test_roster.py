"""The roster (coursegrader.roster): the class list an LMS or a registrar exports, recognised by its
column names, kept as the course's roster.csv and in the gradebook's students."""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook

from coursegrader.calendar import TermFileError
from coursegrader.roster import Student, parse_roster, read_roster, sync_gradebook, write_roster
from tests.support.term_fixtures import make_gradebook

# Canvas: Grades > Export (its "Points Possible" row and its test student included)
CANVAS = """\
Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (4821),Current Score
    Points Possible,,,,,16,(read only)
"Adams, Alice",101,S1,alice,Lab A,12,75
"Brown, Bob",102,S2,bob,Lab B,,
"Student, Test",999,,,Lab A,,
"""

# Moodle: Grades > Export > Plain text file (with the Username identity field)
MOODLE = """\
First name,Last name,ID number,Institution,Department,Email address,Username,Groups
Alice,Adams,S1,Uni,CS,alice@example.edu,alice,Lab A
Bob,Brown,S2,Uni,CS,bob@example.edu,bob,Lab B
"""

REGISTRAR = """\
student_id,first_name,last_name,email,section
alice,Alice,Adams,alice@example.edu,Lab A
"""


def test_a_canvas_export_gives_login_ids_canvas_ids_sis_ids_and_sections():
    imported = parse_roster(CANVAS)
    assert imported.kind == "Canvas"
    assert imported.students == [
        Student("alice", "Alice", "Adams", "", "101", "S1", "alice", "Lab A"),
        Student("bob", "Bob", "Brown", "", "102", "S2", "bob", "Lab B"),
    ]
    assert [why.split(":")[0] for why in imported.skipped] == ["line 2", "line 5"]


def test_a_moodle_export_gives_usernames_emails_id_numbers_and_groups():
    imported = parse_roster(MOODLE)
    assert imported.kind == "Moodle"
    assert imported.mapping["id"] == "Username" and imported.mapping["section"] == "Groups"
    assert imported.students[0] == Student("alice", "Alice", "Adams", "alice@example.edu", "", "S1", "", "Lab A")


def test_a_registrars_list_and_nbgraders_own_columns_are_read():
    (alice,) = parse_roster(REGISTRAR).students
    assert alice == Student("alice", "Alice", "Adams", "alice@example.edu", section="Lab A")


def test_without_a_column_that_names_the_folders_the_import_asks_instead_of_guessing():
    without = "\n".join(line.rsplit(",", 2)[0] for line in MOODLE.splitlines())  # no Username, no Groups
    with pytest.raises(TermFileError, match="Pass ID_COLUMN=<one of them>"):
        parse_roster(without)
    imported = parse_roster(without, id_column="Email address")
    assert [s.id for s in imported.students] == ["alice@example.edu", "bob@example.edu"]
    with pytest.raises(TermFileError, match="ID_COLUMN='Login' is not a column"):
        parse_roster(without, id_column="Login")


@pytest.mark.parametrize(
    "text, message",
    [
        ("id,email\nalice,a@x\nalice,b@x\n", "'alice' appears twice"),
        ("id,email\n../bob,b@x\n", "cannot name a folder"),
    ],
)
def test_ids_that_cannot_be_told_apart_or_name_no_folder_are_refused(text, message):
    with pytest.raises(TermFileError, match=message):
        parse_roster(text)


def test_the_roster_round_trips_through_roster_csv_and_reaches_the_gradebook(tmp_path):
    students = parse_roster(CANVAS).students
    write_roster(tmp_path / "roster.csv", students)
    roster = read_roster(tmp_path / "roster.csv")
    assert list(roster.values()) == students
    assert read_roster(tmp_path / "none.csv") is None  # no roster: nobody is "missing"
    url = make_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        gb.add_student("alice", email="kept@example.edu")
        sync_gradebook(gb, roster)
    with Gradebook(url) as gb:
        alice = gb.find_student("alice")
        assert (alice.first_name, alice.last_name, alice.lms_user_id) == ("Alice", "Adams", "101")
        assert alice.email == "kept@example.edu"  # the roster had none: the gradebook keeps its own
        assert gb.find_student("bob").lms_user_id == "102"
