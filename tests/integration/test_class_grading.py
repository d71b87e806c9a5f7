"""A class graded as a class (smoke profile, about two minutes): identical work executed once, every
student still their own row, feedback page and gradebook entry; answers graded by hand in the
gradebook (as formgrader does) reach grades.csv and the feedback, and survive re-grading.
"""

from __future__ import annotations

import copy
import csv
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursegrader import store
from coursegrader.course import DEMO
from coursegrader.grade import grade
from coursegrader.results import RowId
from coursegrader.state import load_state
from tests.support.notebook_cells import cells_by_id

NMT_STUDENTS = ["ada", "ben", "cem", "dia"]
SENTIMENT_STUDENTS = ["eli", "fay"]  # fay copied eli's answer, byte for byte


def build_class(submitted):
    """Four students hand in the NMT lab as released, each with their own written answers; two
    hand in the same sentiment notebook."""
    nmt = nbformat.read(DEMO / "honest" / "passes-all" / "nmt" / "nmt.ipynb", as_version=4)
    for student in NMT_STUDENTS:
        nb = copy.deepcopy(nmt)
        cells = cells_by_id(nb)
        cells["answer_beam_width"].source = f"{student} thinks beam search keeps alternatives."
        cells["answer_bleu_vs_meaning"].source = f"{student}: BLEU counts shared n-grams, not meaning."
        folder = submitted / student / "nmt"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "nmt.ipynb")
    for student in SENTIMENT_STUDENTS:
        folder = submitted / student / "sentiment"
        folder.mkdir(parents=True)
        shutil.copy(DEMO / "honest" / "passes-all" / "sentiment" / "sentiment.ipynb", folder / "sentiment.ipynb")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("class")
    build_class(workdir / "submitted")
    results = grade(workdir=workdir, profile="smoke", only=["sentiment", "nmt"], jobs=2)
    return workdir, {(r.student, r.assignment): r for r in results}


def test_identical_notebooks_are_executed_once_and_every_student_gets_their_own_row(graded_class, smoke_honest):
    workdir, results = graded_class
    log = (workdir / "grading.log").read_text(encoding="utf-8")
    assert log.count("/ nmt (key") == 1 and log.count("/ sentiment (key") == 1
    assert len(list(store.root(workdir).iterdir())) == 2
    one_by_one = {(r.student, r.assignment): r for r in smoke_honest[1]}
    for student in NMT_STUDENTS:
        r = results[(student, "nmt")]
        alone = one_by_one[("passes-all", "nmt")]
        assert (r.score, r.status, r.shared) == (alone.score, alone.status, 4)
    for student in SENTIMENT_STUDENTS:
        r = results[(student, "sentiment")]
        alone = one_by_one[("passes-all", "sentiment")]
        assert (r.score, r.status, r.shared) == (alone.score, alone.status, 2)
    rows = list(csv.DictReader((workdir / "grades.csv").read_text(encoding="utf-8").splitlines()))
    assert {(row["student_id"], row["assignment"]) for row in rows} == set(results)
    assert {row["graded_with"] for row in rows if row["assignment"] == "nmt"} == {"3"}


def test_each_shared_feedback_page_and_graded_notebook_is_the_students_own(graded_class):
    workdir, _ = graded_class
    for student in NMT_STUDENTS:
        page = (workdir / "feedback" / student / "nmt" / "nmt.html").read_text(encoding="utf-8")
        assert student in page and f"{student} thinks beam search" in page
        assert not any(f"{other} thinks" in page for other in NMT_STUDENTS if other != student)
        nb = nbformat.read(workdir / "autograded" / student / "nmt" / "nmt.ipynb", as_version=4)
        assert any(f"{student}: BLEU counts shared n-grams" in c.source for c in nb.cells)
        assert (workdir / "autograded" / student / "nmt" / "attention_heatmap.png").is_file()


def test_the_class_report_lists_the_copied_answers(graded_class):
    workdir, _ = graded_class
    page = (workdir / "class-report.html").read_text(encoding="utf-8")
    assert "eli" in page and "fay" in page and "identical" in page.lower()


def test_a_new_student_with_known_code_and_an_unchanged_class_execute_nothing(graded_class):
    workdir, _ = graded_class
    extra = workdir / "submitted" / "gus" / "nmt"
    extra.mkdir(parents=True)
    try:
        shutil.copy(workdir / "submitted" / "ada" / "nmt" / "nmt.ipynb", extra / "nmt.ipynb")
        again = {
            (r.student, r.assignment): r
            for r in grade(workdir=workdir, profile="smoke", only=["sentiment", "nmt"], jobs=2)
        }
        log = (workdir / "grading.log").read_text(encoding="utf-8")
        assert "(key" not in log, "nothing executed"
        assert again[("gus", "nmt")].score == again[("ada", "nmt")].score and not again[("gus", "nmt")].reused
        assert all(r.reused for key, r in again.items() if key != ("gus", "nmt"))
        assert (workdir / "feedback" / "gus" / "nmt" / "nmt.html").is_file()
    finally:  # the fixture's class is shared by the module's tests: gus leaves it in any case
        shutil.rmtree(workdir / "submitted" / "gus", ignore_errors=True)


def test_hand_given_points_reach_grades_csv_and_feedback_and_survive_a_forced_regrade(graded_class):
    workdir, results = graded_class
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:  # what formgrader's page writes
        grade_cell = gb.find_grade("answer_beam_width", "nmt", "nmt", "ada")
        assert grade_cell.needs_manual_grade and grade_cell.manual_score is None
        grade_cell.manual_score = 1.5
        grade_cell.needs_manual_grade = False
        gb.find_comment("answer_beam_width", "nmt", "nmt", "ada").manual_comment = "Good example, thin reason."
        gb.db.commit()
    before = results[("ada", "nmt")].score
    for force in (False, True):
        again = {
            (r.student, r.assignment): r
            for r in grade(workdir=workdir, profile="smoke", only=["sentiment", "nmt"], jobs=2, force=force)
        }
        ada = again[("ada", "nmt")]
        assert ada.score == before + 1.5 and ada.to_grade == 1, force
        row = next(
            r
            for r in csv.DictReader((workdir / "grades.csv").read_text(encoding="utf-8").splitlines())
            if r["student_id"] == "ada" and r["assignment"] == "nmt"
        )
        assert float(row["score"]) == before + 1.5 and row["to_grade_by_hand"] == "1"
        page = (workdir / "feedback" / "ada" / "nmt" / "nmt.html").read_text(encoding="utf-8")
        assert "Good example, thin reason." in page
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        kept = gb.find_grade("answer_beam_width", "nmt", "nmt", "ada")
        assert kept.manual_score == 1.5 and not kept.needs_manual_grade, "unchanged answer: not re-flagged"
    rows = load_state(workdir).rows
    assert rows[RowId("ada", "nmt")].key == rows[RowId("ben", "nmt")].key
