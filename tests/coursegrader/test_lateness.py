"""The late policy (coursegrader.lateness): what handing in late costs, said in words, and assigned in
the gradebook exactly as nbgrader's AssignLatePenalties assigns it with the course's plugin (so
formgrader's autograde agrees with `make grade`); a resubmission that is no longer late keeps no
penalty (nbgrader #723)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties

from coursegrader.calendar import TermFileError
from coursegrader.course import assignments
from coursegrader.lateness import CourseLatePenalty, LatePolicy, assign_penalty
from coursegrader.term import load_term, publish
from tests.support.term_fixtures import hand_in, make_gradebook, utc, write_term

HOUR = 3600


@pytest.mark.parametrize(
    "table, seconds_late, lost",
    [
        ({"policy": "none"}, 5 * 86400, 0.0),
        ({"policy": "per-hour", "rate": 5, "cap": 50}, 1, 0.05),  # a started hour counts
        ({"policy": "per-hour", "rate": 5, "cap": 50}, 3 * HOUR + 12 * 60, 0.20),
        ({"policy": "per-hour", "rate": 5, "cap": 50}, 30 * HOUR, 0.50),  # the cap
        ({"policy": "per-day", "rate": 10}, 25 * HOUR, 0.20),
        ({"policy": "per-day", "rate": 10, "cutoff_hours": 72}, 73 * HOUR, 1.0),
        ({"policy": "zero-after", "cutoff_hours": 48}, 47 * HOUR, 0.0),
        ({"policy": "zero-after", "cutoff_hours": 48}, 49 * HOUR, 1.0),
        ({"policy": "per-hour", "rate": 5, "grace_minutes": 10}, 9 * 60, 0.0),
        ({"policy": "per-hour", "rate": 5, "grace_minutes": 10}, 11 * 60, 0.05),
        ({"policy": "per-hour", "rate": 5}, 0, 0.0),
    ],
)
def test_each_policy_takes_its_share_of_the_score(table, seconds_late, lost):
    assert LatePolicy.from_table(table).fraction(seconds_late) == pytest.approx(lost)


@pytest.mark.parametrize(
    "table, message",
    [
        ({"policy": "per-week"}, "choose one of none, per-hour, per-day, zero-after"),
        ({"policy": "per-hour"}, "needs rate"),
        ({"policy": "zero-after"}, "needs cutoff_hours"),
        ({"policy": "per-day", "rate": -5}, "rate = -5; expected a number >= 0"),
        ({"policy": "per-day", "rate": 5, "cap": 150}, "at most 100 percent"),
        ({"policy": "none", "penalty": 3}, "unknown entries ['penalty']"),
    ],
)
def test_a_wrong_policy_says_what_to_write(table, message):
    with pytest.raises(TermFileError, match="late") as err:
        LatePolicy.from_table(table)
    assert message in str(err.value)


def test_lateness_is_said_with_its_due_date_extension_and_cost(tmp_path):
    term = load_term(write_term(tmp_path, extensions="alice,nmt,2026-10-14T23:59:00+02:00,\n"), assignments())
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    late = term.lateness("bob", "sentiment", at("2026-11-10T02:11:00"))
    assert late.describe(term.calendar) == "handed in 3 h 12 min late (due Mon 9 Nov 2026, 23:59 CET): -20 %"
    within = term.lateness("alice", "nmt", at("2026-10-13T16:30:00"))
    assert within.fraction == 0 and within.describe(term.calendar) == (
        "handed in on time, extension to Wed 14 Oct 2026, 23:59 CEST (due Mon 12 Oct 2026, 23:59 CEST)"
    )
    past = term.lateness("alice", "nmt", at("2026-10-15T01:00:00"))  # 3 h 1 min past the extension
    assert past.describe(term.calendar) == (
        "handed in 3 h 1 min late (extension to Wed 14 Oct 2026, 23:59 CEST, due Mon 12 Oct 2026, 23:59 CEST): -20 %"
    )
    week = term.lateness("bob", "sentiment", at("2026-11-20T00:00:00"))
    assert week.fraction == 1 and week.describe(term.calendar).endswith("after the cut-off, score 0")
    assert term.lateness("bob", "sentiment", at("2026-11-01T00:00:00")).describe(term.calendar) == ""
    unknown = term.lateness("bob", "sentiment", None).describe(term.calendar)
    assert unknown.startswith("hand-in time unknown (no timestamp.txt)")


def nbgrader_penalty(url: str, lab: str, student: str, calendar_file) -> float | None:
    """What nbgrader's own AssignLatePenalties (formgrader's autograde) assigns with the course's plugin."""
    step = AssignLatePenalties(plugin_class=CourseLatePenalty)
    step.init_plugin = lambda: setattr(step, "plugin_inst", CourseLatePenalty(calendar_file=str(calendar_file)))
    resources = {"nbgrader": {"notebook": lab, "assignment": lab, "student": student, "db_url": url}}
    step.preprocess(__import__("nbformat").v4.new_notebook(), resources)
    with Gradebook(url) as gb:
        return gb.find_submission_notebook(lab, lab, student).late_submission_penalty


def settle_penalty(url, lab, student, term) -> float:
    """What `make grade` assigns (coursegrader.settle does exactly this for each submission)."""
    with Gradebook(url) as gb:
        publish(gb, term, assignments())
        sub = gb.find_submission(lab, student)
        total = assign_penalty(sub, CourseLatePenalty(calendar_file=str(term.calendar_file)))
        gb.db.commit()
        return total


def test_make_grade_and_nbgraders_own_late_step_assign_the_same_penalty(tmp_path):
    url = make_gradebook(tmp_path / "gradebook.db")
    term = load_term(write_term(tmp_path / "term", extensions="alice,nmt,2026-10-14T23:59:00+02:00,\n"))
    hand_in(url, "sentiment", "bob", {"checks": 16}, timestamp="2026-11-10T02:11:00+00:00")  # 3 h 12 min late
    hand_in(url, "nmt", "alice", {"checks": 12, "answer_beam_width": 3}, timestamp="2026-10-15T01:00:00+00:00")
    hand_in(url, "nmt", "carol", {"checks": 10}, timestamp="2026-10-12T12:00:00+00:00")  # on time
    for lab, student, points in [("sentiment", "bob", 3.2), ("nmt", "alice", 3.0), ("nmt", "carol", 0.0)]:
        ours = settle_penalty(url, lab, student, term)
        theirs = nbgrader_penalty(url, lab, student, term.calendar_file)
        assert ours == pytest.approx(points) and (theirs or 0.0) == pytest.approx(points), (lab, student)


def test_a_resubmission_that_is_no_longer_late_keeps_no_penalty(tmp_path):
    """nbgrader #723: the penalty of a late hand-in must not outlive a later one on time."""
    url = make_gradebook(tmp_path / "gradebook.db")
    term = load_term(write_term(tmp_path / "term"))
    hand_in(url, "sentiment", "bob", {"checks": 20}, timestamp="2026-11-10T05:00:00+00:00")
    assert settle_penalty(url, "sentiment", "bob", term) == pytest.approx(7.0)  # 7 started hours: 35 %
    with Gradebook(url) as gb:  # resubmitted earlier (an extension granted, a collect --before-duedate)
        gb.find_submission("sentiment", "bob").timestamp = utc("2026-11-09T20:00:00+00:00")
        gb.db.commit()
    assert settle_penalty(url, "sentiment", "bob", term) == 0.0
    assert nbgrader_penalty(url, "sentiment", "bob", term.calendar_file) is None
    with Gradebook(url) as gb:
        sub = gb.find_submission("sentiment", "bob")
        assert sub.late_submission_penalty == 0 and sub.score == 20


def test_an_extension_reaches_the_gradebook_as_nbgrader_stores_it(tmp_path):
    url = make_gradebook(tmp_path / "gradebook.db")
    term = load_term(write_term(tmp_path / "term", extensions="alice,nmt,2026-10-14T23:59:00+02:00,\n"))
    hand_in(url, "nmt", "alice", {"checks": 12}, timestamp="2026-10-13T16:30:00+00:00")
    settle_penalty(url, "nmt", "alice", term)
    with Gradebook(url) as gb:
        sub = gb.find_submission("nmt", "alice")
        assert sub.extension == timedelta(days=2) and sub.total_seconds_late == 0
