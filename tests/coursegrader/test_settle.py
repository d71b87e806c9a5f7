"""The term applied to a grading run's rows (coursegrader.settle), on a small gradebook: the late
penalty is in the gradebook once and off the row's score once, however often `make grade` runs;
a hand-in that is no longer late loses nothing; everyone on the roster is accounted for."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from nbgrader.api import Gradebook

from coursegrader.course import assignments
from coursegrader.gradebook import standings
from coursegrader.results import Result
from coursegrader.settle import settle
from coursegrader.status import Kind, Status
from coursegrader.term import NOT_ON_ROSTER, load_term
from tests.support.term_fixtures import ROSTER, hand_in, make_gradebook, write_term

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LABS = ["nmt", "sentiment"]


@pytest.fixture
def run(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    return SimpleNamespace(workdir=tmp_path, lock=threading.Lock())


def submit(run, lab, student, points, handed_in):
    """A graded submission with nbgrader's timestamp.txt, and its row as `make grade` made it."""
    hand_in(f"sqlite:///{run.workdir / 'gradebook.db'}", lab, student, points)
    folder = run.workdir / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timestamp.txt").write_text(handed_in)
    return Result(student, lab, score=sum(p or 0 for p in points.values()), max_score=20.0)


def test_a_late_penalty_is_in_the_gradebook_once_and_off_the_score_once_run_after_run(run, tmp_path):
    term = load_term(write_term(tmp_path / "term"), assignments())
    rows = [submit(run, "sentiment", "alice", {"checks": 16}, "2026-11-10 02:11:00.000000 UTC")]
    for _ in range(2):  # a second `make grade` serves the row unchanged (reused)
        settle(run, rows, term, LABS, now=NOW)
        alice = next(r for r in rows if r.student == "alice" and r.assignment == "sentiment")
        assert (alice.score, alice.penalty) == (12.8, 3.2)
        assert alice.late == "handed in 3 h 12 min late (due Mon 9 Nov 2026, 23:59 CET): -20 %"
        alice.reused = True
    found = standings(run.workdir / "gradebook.db", [("sentiment", "alice", set())])[("sentiment", "alice")]
    assert (found.score, found.penalty) == (12.8, 3.2)
    with Gradebook(f"sqlite:///{run.workdir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook("sentiment", "sentiment", "alice")
        assert (nb.score, nb.late_submission_penalty) == (16, 3.2)  # grades untouched: the penalty apart


def test_handed_in_again_on_time_the_penalty_is_gone(run, tmp_path):
    term = load_term(write_term(tmp_path / "term"), assignments())
    rows = [submit(run, "sentiment", "alice", {"checks": 16}, "2026-11-10 02:11:00.000000 UTC")]
    settle(run, rows, term, LABS, now=NOW)
    (run.workdir / "submitted" / "alice" / "sentiment" / "timestamp.txt").write_text("2026-11-09 20:00:00.000000 UTC")
    rows = [Result("alice", "sentiment", score=12.8, max_score=20.0, late="old", penalty=3.2, reused=True)]
    settle(run, rows, term, LABS, now=NOW)
    alice = next(r for r in rows if r.student == "alice" and r.assignment == "sentiment")
    assert (alice.score, alice.penalty, alice.late) == (16, 0.0, "")


def test_everyone_on_the_roster_is_a_row_and_a_stranger_is_graded_and_named(run, tmp_path):
    term = load_term(write_term(tmp_path / "term"), assignments())
    rows = [
        submit(run, "nmt", "alice", {"checks": 12}, "2026-10-12 20:00:00.000000 UTC"),
        submit(run, "sentiment", "dave", {"checks": 10}, "2026-11-09 20:00:00.000000 UTC"),
    ]
    settle(run, rows, term, LABS, now=datetime(2026, 11, 1, tzinfo=UTC))  # nmt is past due, sentiment not yet
    got = {(r.student, r.assignment): r for r in rows}
    assert sorted(got) == [
        ("alice", "nmt"),
        ("alice", "sentiment"),
        ("bob", "nmt"),
        ("bob", "sentiment"),
        ("carol", "nmt"),
        ("carol", "sentiment"),
        ("dave", "sentiment"),
    ]
    bob = got["bob", "nmt"]
    assert (bob.score, bob.max_score) == (0.0, 16.0)
    assert bob.status == Status(Kind.MISSING, "nothing handed in (due Mon 12 Oct 2026, 23:59 CEST)")
    assert bob.warnings == ["no submitted/bob/nmt/: `make collect` (a late hand-in) or `make extend`"]
    assert got["bob", "sentiment"].score is None
    assert got["bob", "sentiment"].status == Status(Kind.NOT_DUE, "(due Mon 9 Nov 2026, 23:59 CET)")
    dave = got["dave", "sentiment"]
    assert dave.score == 10 and dave.warnings == [NOT_ON_ROSTER]
    settle(run, [dave], term, LABS, now=NOW)  # served unchanged next run: still named once
    assert dave.warnings == [NOT_ON_ROSTER]
    (tmp_path / "term" / "roster.csv").write_text(ROSTER + "dave,Dave,Doe,,104,S4,dave,Lab B\n")
    settle(run, [dave], load_term(tmp_path / "term", assignments()), LABS, now=NOW)
    assert dave.warnings == []


def test_an_extension_makes_a_late_looking_hand_in_on_time_and_says_so(run, tmp_path):
    term = load_term(write_term(tmp_path / "term", extensions="alice,nmt,2026-10-14T23:59:00+02:00,\n"))
    rows = [submit(run, "nmt", "alice", {"checks": 12}, "2026-10-13 16:30:00.000000 UTC")]
    settle(run, rows, term, LABS, now=NOW)
    alice = next(r for r in rows if r.student == "alice" and r.assignment == "nmt")
    assert (alice.score, alice.penalty) == (12, 0.0)
    assert alice.late == "handed in on time, extension to Wed 14 Oct 2026, 23:59 CEST (due Mon 12 Oct 2026, 23:59 CEST)"


def test_without_a_term_nothing_changes(run, tmp_path):
    rows = [submit(run, "nmt", "alice", {"checks": 12}, "2027-01-01 00:00:00.000000 UTC")]
    settle(run, rows, load_term(None), LABS, now=NOW)
    assert [(r.student, r.score, r.penalty, r.late, r.warnings) for r in rows] == [("alice", 12, 0.0, "", [])]
