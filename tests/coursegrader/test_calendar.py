"""The course calendar (coursegrader.calendar): due dates with their time zone, read from the TOML
file a TA edits, shown to people in the course's zone, stored in the gradebook in UTC, and
written into each released lab's first cell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nbgrader.api import Gradebook

from coursegrader.calendar import TermFileError, due_line, duration, load_calendar, plus, to_utc_naive
from coursegrader.course import assignments
from coursegrader.term import load_term, publish
from tests.support.term_fixtures import CALENDAR, make_gradebook, write_term

LABS = assignments()


def calendar_of(tmp_path, text):
    (tmp_path / "calendar.toml").write_text(text, encoding="utf-8")
    return load_calendar(tmp_path / "calendar.toml", LABS)


def test_due_dates_are_in_the_course_time_zone_unless_they_carry_an_offset(tmp_path):
    cal = calendar_of(
        tmp_path,
        'timezone = "Europe/Zurich"\n[due]\nnmt = 2026-10-12T23:59:00\n'
        'nmt_luong = "2026-10-26 23:59"\nsentiment = 2026-11-09T23:59:00-05:00\n',
    )
    assert to_utc_naive(cal.due_of("nmt")) == datetime(2026, 10, 12, 21, 59)  # CEST, UTC+2
    assert to_utc_naive(cal.due_of("nmt_luong")) == datetime(2026, 10, 26, 22, 59)  # CET after the change
    assert to_utc_naive(cal.due_of("sentiment")) == datetime(2026, 11, 10, 4, 59)
    assert cal.when(cal.due_of("nmt")) == "Mon 12 Oct 2026, 23:59 CEST"
    assert cal.when(datetime(2026, 11, 10, 4, 59)) == "Tue 10 Nov 2026, 05:59 CET"  # naive = UTC, as nbgrader


@pytest.mark.parametrize(
    "text, message",
    [
        ('timezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
        ("[due]\nnmtt = 2026-10-12T23:59:00\n", "nmtt: no such lab"),
        ("[due]\nnmt = 2026-10-12\n", "has no time of day; write 2026-10-12T23:59:00"),
        ('[due]\nnmt = "next friday"\n', "is not a date and time"),
        ("[due\n", "not valid TOML"),
        ("deadline = 1\n", "unknown entries ['deadline']"),
    ],
)
def test_a_wrong_calendar_says_which_entry_and_what_to_write(tmp_path, text, message):
    with pytest.raises(TermFileError, match=r"calendar\.toml") as err:
        calendar_of(tmp_path, text)
    assert message in str(err.value)


def test_no_calendar_file_means_no_due_dates(tmp_path):
    cal = load_calendar(tmp_path / "calendar.toml")
    assert cal.due == {} and cal.source is None


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (40, 720, 3 * 3600 + 12 * 60, 3 * 3600, 2 * 86400 + 4 * 3600)] == [
        "40 s",
        "12 min",
        "3 h 12 min",
        "3 h",
        "2 d 4 h",
    ]


def test_days_are_added_in_wall_clock_time_across_a_change_of_clocks(tmp_path):
    cal = calendar_of(tmp_path, CALENDAR)
    later = plus(cal.due_of("nmt"), days=14)  # 12 Oct CEST + 14 days = 26 Oct, after the change to CET
    assert cal.when(later) == "Mon 26 Oct 2026, 23:59 CET"
    assert later.astimezone(UTC) - cal.due_of("nmt").astimezone(UTC) == timedelta(days=14, hours=1)


def test_the_gradebook_gets_each_due_date_in_utc_and_formgrader_shows_it(tmp_path):
    url = make_gradebook(tmp_path / "gradebook.db")
    term = load_term(write_term(tmp_path / "term"), LABS)
    with Gradebook(url) as gb:
        publish(gb, term, LABS)
    with Gradebook(url) as gb:
        assert gb.find_assignment("nmt").duedate == datetime(2026, 10, 12, 21, 59)
        assert gb.find_assignment("sentiment").duedate == datetime(2026, 11, 9, 22, 59)
        assert {s.id for s in gb.students} == {"alice", "bob", "carol"}
        assert gb.find_student("alice").lms_user_id == "101"


def test_a_lab_without_a_due_date_gets_no_line(tmp_path):
    assert due_line(load_calendar(tmp_path / "none.toml"), "nmt", "no penalty") is None
