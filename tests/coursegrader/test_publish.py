"""The calendar where nbgrader uses it (coursegrader.publish): the due date in the released lab's
locked first cell (`make release`), and the due date and the student's extension in the gradebook
before nbgrader's own late step runs (formgrader's autograde)."""

from __future__ import annotations

from datetime import timedelta

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursegrader.nbcommand import nbgrader
from coursegrader.publish import ApplyTerm
from tests.support.term_fixtures import hand_in, make_gradebook, write_term


@pytest.mark.integration  # nbgrader generate_assignment on a whole lab: ~5 s
def test_the_released_lab_says_when_it_is_due_in_its_locked_first_cell(tmp_path):
    term = write_term(tmp_path / "term", roster=None)
    code, _ = nbgrader(
        "generate_assignment",
        "sentiment",
        "--force",
        f"--CourseDirectory.release_directory={tmp_path / 'labs'}",
        f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}",
        f"--StampDueDate.term_folder={term}",
        log=tmp_path / "log",
    )
    assert code == 0, (tmp_path / "log").read_text()
    first = nbformat.read(tmp_path / "labs" / "sentiment" / "sentiment.ipynb", as_version=4).cells[0]
    lines = first.source.splitlines()
    assert lines[0].startswith("# ") and lines[1] == ""
    assert lines[2] == (
        "**Due: Mon 9 Nov 2026, 23:59 CET** (Europe/Zurich). Late hand-ins: 5 % of the score per hour late "
        "(or part of one), at most 50 %; score 0 when more than 7 d late."
    )
    assert first.metadata.nbgrader["locked"] and first.metadata.nbgrader["checksum"]


def test_formgraders_autograde_finds_the_due_date_and_the_extension_in_the_gradebook(tmp_path):
    url = make_gradebook(tmp_path / "gradebook.db")
    term = write_term(tmp_path / "term", extensions="alice,nmt,2026-10-14T23:59:00+02:00,\n")
    hand_in(url, "nmt", "alice", {"checks": 12}, timestamp="2026-10-13T16:30:00+00:00")
    resources = {"nbgrader": {"assignment": "nmt", "student": "alice", "notebook": "nmt", "db_url": url}}
    ApplyTerm(term_folder=str(term)).preprocess(nbformat.v4.new_notebook(), resources)
    with Gradebook(url) as gb:
        sub = gb.find_submission("nmt", "alice")
        assert sub.extension == timedelta(days=2) and sub.total_seconds_late == 0
        assert sub.assignment.duedate.isoformat() == "2026-10-12T21:59:00"
