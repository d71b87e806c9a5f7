"""The grader's command line chooses the folder it grades: the course's own, or a demo class's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from coursegrader import cli, demo


@pytest.fixture
def graded(tmp_path, monkeypatch):
    """``cli._grade`` with a course folder in ``tmp_path``; what ``grade()`` was asked is recorded."""
    calls = []
    monkeypatch.setattr(cli, "AUTOGRADER", tmp_path)
    monkeypatch.setattr(demo, "DEMO_RESULTS", tmp_path / "demo-results")
    monkeypatch.setattr(
        cli, "grade", lambda **kw: calls.append(kw) or SimpleNamespace(grader_failed=False, demo_ok=True)
    )
    monkeypatch.setattr(cli, "_leave_to_students", lambda given: None)
    monkeypatch.setattr(cli, "_backup", lambda db: None)

    def run(**given):
        args = dict(demo=None, workdir=None, reserve=None, profile=None, assignment=None, sandbox=None, jobs=None)
        args.update(jobs_per_gpu=None, student=None, force=False, scheduler=None, memory=None, limits=None)
        assert cli._grade(SimpleNamespace(**{**args, **given})) == 0
        return calls[-1]

    return tmp_path, run


def test_no_submissions_grades_the_honest_demo_class_in_a_folder_of_its_own(graded):
    course, run = graded
    call = run()
    assert call["demo"] == "honest"
    assert call["workdir"] == course / "demo-results" / "honest"
    assert not (course / "submitted").exists()


def test_collected_submissions_are_graded_in_the_course_folder(graded):
    course, run = graded
    (course / "submitted" / "alice" / "sentiment").mkdir(parents=True)
    call = run()
    assert call["demo"] is None
    assert call["workdir"] == course


def test_a_named_demo_class_is_graded_in_its_own_folder_beside_real_submissions(graded):
    course, run = graded
    (course / "submitted" / "alice" / "sentiment").mkdir(parents=True)
    call = run(demo="hostile")
    assert call["workdir"] == course / "demo-results" / "hostile"
