"""A hidden check outside grading (coursekit.checks.check): where the grader is installed (the
instructor running solutions/), it runs its verdict for real; where it is not (a student's kernel),
it fails nothing and says why."""

from __future__ import annotations

import shutil

import pytest

from coursegrader.cells import solution_cell, student_version
from coursekit import ROOT, checks, profiles
from tests.coursekit.test_sentiment_checks import WRONG
from tests.integration.test_validate import validate
from tests.support.notebook_cells import cells_by_id, load

HIDDEN = "luong_matches_general_score"
PROFILE = profiles.select("sentiment", env={profiles.ENV_VAR: "smoke"})


@pytest.fixture(scope="module")
def layers():
    ns = {}
    exec(cells_by_id(load("sentiment"))["imports"].source, ns)
    reference, dot = dict(ns), dict(ns)
    exec(student_version(solution_cell(load("sentiment")).source), reference)
    exec(WRONG["dot product (no W_a)"][0], dot)
    return reference["LuongAttention"], dot["LuongAttention"]


class _Unimportable:
    """An entry point whose module the kernel cannot import (the grading sandbox does not mount it)."""

    def load(self):
        raise ImportError("No module named 'coursegrader'")


def test_the_instructors_run_all_runs_the_hidden_verdict(layers, capsys):
    reference, dot = layers
    checks.check(HIDDEN, PROFILE, LuongAttention=reference)
    assert capsys.readouterr().out.strip() == (
        "Hidden check (the grader is installed here): The scores are Luong's general score."
    )
    with pytest.raises(checks.CheckFailed, match="The dot score has no W_a"):
        checks.check(HIDDEN, PROFILE, LuongAttention=dot)
    with pytest.raises(checks.CheckFailed, match="not a check of the sentiment lab, visible or hidden"):
        checks.check("luong_matches_generl_score", PROFILE, LuongAttention=reference)


@pytest.mark.parametrize("registered", [[], [_Unimportable()]], ids=["no grader", "grader not importable"])
def test_without_the_grader_a_hidden_check_fails_nothing_and_says_why(layers, capsys, monkeypatch, registered):
    monkeypatch.setattr(checks, "entry_points", lambda group: registered)
    assert checks.hidden_catalog() is None
    checks.check(HIDDEN, PROFILE, LuongAttention=layers[1])  # even a wrong layer: nothing to judge it with
    assert "if it is a hidden check, it runs when the notebook is graded" in capsys.readouterr().out


@pytest.mark.integration  # runs the whole solution notebook
def test_validate_on_the_solution_notebook_runs_through_the_hidden_check(tmp_path):
    """`nbgrader validate solutions/sentiment/sentiment.ipynb` in smoke: only the accuracy check fails, by
    design (smoke trains for seconds); the hidden check runs and passes instead of stopping Run All."""
    shutil.copy(ROOT / "solutions" / "sentiment" / "sentiment.ipynb", tmp_path / "sentiment.ipynb")
    output = validate(tmp_path / "sentiment.ipynb")
    assert "VALIDATION FAILED ON 1 CELL(S)" in output and 'check("test_accuracy_at_least_0_80"' in output
    assert HIDDEN not in output
