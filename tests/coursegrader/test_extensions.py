"""Extensions (coursegrader.extensions): the file a TA edits or `make extend` writes, one line per
student and lab, with the new due date spelt out."""

from __future__ import annotations

import pytest

from coursegrader.calendar import TermFileError
from coursegrader.course import assignments
from coursegrader.extensions import grant, read_extensions
from coursegrader.term import load_term
from tests.support.term_fixtures import write_term

LABS = assignments()


def test_days_past_the_due_date_become_a_date_in_the_file_and_replace_an_earlier_extension(tmp_path):
    term = load_term(write_term(tmp_path), LABS)
    path = tmp_path / "extensions.csv"
    grant(path, term.calendar, LABS, student="alice", lab="nmt", days=1)
    ext = grant(path, term.calendar, LABS, student="alice", lab="nmt", days=2, note="doctor's note")
    assert term.calendar.when(ext.until) == "Wed 14 Oct 2026, 23:59 CEST"
    assert path.read_text().splitlines() == ["student,lab,until,note", "alice,nmt,2026-10-14T23:59+02:00,doctor's note"]
    assert read_extensions(path, term.calendar, LABS)[("alice", "nmt")].until == ext.until


def test_an_explicit_end_and_the_removal_of_an_extension(tmp_path):
    term = load_term(write_term(tmp_path), LABS)
    path = tmp_path / "extensions.csv"
    ext = grant(path, term.calendar, LABS, student="bob", lab="sentiment", until="2026-11-12 12:00")
    assert term.calendar.when(ext.until) == "Thu 12 Nov 2026, 12:00 CET"
    assert grant(path, term.calendar, LABS, student="bob", lab="sentiment") is None
    assert read_extensions(path, term.calendar, LABS) == {}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lab": "nmtt", "days": 1}, "no lab 'nmtt'"),
        ({"lab": "nmt", "until": "2026-10-01T12:00"}, "must end after the due date"),
        ({"lab": "nmt_luong", "days": 2}, "nmt_luong has no due date"),
    ],
)
def test_an_extension_that_cannot_be_meant_is_refused(tmp_path, kwargs, message):
    term = load_term(write_term(tmp_path), LABS)
    with pytest.raises(TermFileError, match=message):
        grant(tmp_path / "extensions.csv", term.calendar, LABS, student="alice", **kwargs)


@pytest.mark.parametrize(
    "line, message",
    [
        ("alice,nmt,tomorrow,\n", "line 2: until: 'tomorrow' is not a date"),
        ("alice,nmt,2026-10-14T23:59,\nalice,nmt,2026-10-15T23:59,\n", "line 3: a second extension"),
        (",nmt,2026-10-14T23:59,\n", "needs a student and a lab"),
    ],
)
def test_a_hand_edited_file_with_a_mistake_names_its_line(tmp_path, line, message):
    with pytest.raises(TermFileError, match=message):
        load_term(write_term(tmp_path, extensions=line), LABS)
