"""`make grade` on the shipped demo class: every submission gets exactly its expected score.

The smoke run checks the plumbing in a few minutes. The cpu run is the real
thing (about twenty minutes): nbgrader executes each submission in the profile
the course uses on machines without a GPU; there the sentiment solution must
reach 0.80 test accuracy and the NMT lab its BLEU floor.
"""
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursekit import grading, profiles

TODO_CHECKS = {"luong_output_shapes_and_dtypes", "luong_weights_sum_to_one",
               "luong_padding_gets_zero_weight", "luong_matches_general_score",
               "test_accuracy_at_least_0_80", "top10_words_are_most_attended"}


def graded(tmp_path_factory, profile):
    workdir = tmp_path_factory.mktemp(f"grade-{profile}")
    results = grading.grade(workdir, profile=profile, use_demo=True)
    return workdir, {(r.student, r.assignment): r for r in results}


def cell_scores(workdir, student, assignment="sentiment"):
    """{grade_id: score} of one graded submission, from the gradebook."""
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.score for g in nb.grades}


def cell_output(workdir, student, assignment, grade_id):
    """The printed output of one cell of a graded notebook."""
    nb = nbformat.read(workdir / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return graded(tmp_path_factory, "smoke")


@pytest.fixture(scope="module")
def cpu(tmp_path_factory):
    return graded(tmp_path_factory, "cpu")


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_demo_class_gets_exactly_its_expected_scores(request, profile):
    workdir, results = request.getfixturevalue(profile)
    expected = grading.read_expected(profile)
    assert {a for _, a in expected} == set(grading.assignments())
    assert set(expected) == set(results)
    got = {key: r.score for key, r in results.items()}
    assert got == expected
    assert all(r.status == "ok" for r in results.values())
    assert (workdir / "grades.csv").exists()
    for student, assignment in results:
        assert (workdir / "feedback" / student / assignment / f"{assignment}.html").exists()


def test_solution_earns_full_marks_and_reaches_the_accuracy_threshold_in_the_cpu_profile(cpu):
    workdir, results = cpu
    r = results[("passes-all", "sentiment")]
    assert r.score == r.max_score == 20
    text = cell_output(workdir, "passes-all", "sentiment", "test_accuracy_at_least_0_80")
    accuracy = float(re.search(r"Test accuracy (0\.\d+) >= 0\.80", text).group(1))
    assert accuracy >= 0.80
    print(f"cpu profile: solution test accuracy {accuracy:.4f}, graded in {r.seconds:.0f} s")


def test_released_lab_fails_every_check_that_depends_on_the_todo(smoke):
    workdir, _ = smoke
    scores = cell_scores(workdir, "untouched")
    assert TODO_CHECKS <= set(scores)
    assert {name: scores[name] for name in TODO_CHECKS} == dict.fromkeys(TODO_CHECKS, 0)


def test_only_the_hidden_check_catches_the_dot_product_in_the_smoke_profile(smoke):
    workdir, _ = smoke
    failed = {name for name, score in cell_scores(workdir, "dot-product").items() if score == 0}
    assert failed == {"luong_matches_general_score", "test_accuracy_at_least_0_80"}


def test_the_accuracy_check_fails_honestly_when_the_model_is_barely_trained(smoke):
    workdir, _ = smoke
    assert cell_scores(workdir, "passes-all")["test_accuracy_at_least_0_80"] == 0


def test_nmt_lab_earns_full_marks_and_its_bleu_floor_in_the_cpu_profile(cpu):
    workdir, results = cpu
    r = results[("passes-all", "nmt")]
    assert r.score == r.max_score == 12
    table = cell_output(workdir, "passes-all", "nmt", "bleu")
    greedy = float(re.search(r"^greedy\s+([\d.]+)", table, re.M).group(1))
    assert greedy >= profiles.SETTINGS["nmt"]["cpu"]["bleu_floor"]
    print(f"cpu profile: NMT greedy BLEU {greedy:.2f}, graded in {r.seconds:.0f} s\n{table}")


def test_nmt_smoke_run_passes_every_check_but_the_bleu_floor(smoke):
    """Smoke trains for seconds: the BLEU floor must fail there, and nothing else may."""
    workdir, _ = smoke
    scores = cell_scores(workdir, "passes-all", "nmt")
    assert len(scores) == 6
    assert {name for name, score in scores.items() if score == 0} == {"bleu_above_floor"}
