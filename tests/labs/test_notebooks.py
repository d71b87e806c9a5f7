"""Notebook hygiene: no committed outputs, well-formed graded cells, one student region."""

import copy
import json
import re

import pytest

from coursegrader.cells import solution_cells, written_answer_cells
from coursegrader.rebuild import rebuild
from tests.support.notebook_cells import cells_by_id, load, tracked_notebooks

ASSIGNMENTS = ["sentiment", "nmt", "nmt_luong"]


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        c.get("id")
        for c in nb["cells"]
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path}: cells with outputs {dirty}; clear them before committing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_start_with_a_check_that_docstring_and_have_points(assignment):
    for grade_id, cell in cells_by_id(load(assignment)).items():
        meta = cell.metadata["nbgrader"]
        if meta.get("grade") and not meta.get("solution"):
            assert re.fullmatch(r"[a-z0-9_]+", grade_id), grade_id
            assert cell.source.startswith('"""Check that '), grade_id
            assert meta.get("points", 0) > 0 and meta.get("locked"), grade_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_ids_are_unique(assignment):
    ids = [c.metadata["nbgrader"]["grade_id"] for c in load(assignment).cells]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


# Cells a student may edit besides the answers: each lab's scratch cell, and the Luong lab's choice of
# variant (score function and RNN cell). They are neither graded nor answers: grading runs them as released.
EDITABLE = {"sentiment": ["scratch"], "nmt": ["scratch"], "nmt_luong": ["choose_variant", "scratch"]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_cell_but_the_answers_and_the_editable_cells_is_locked(assignment):
    nb = load(assignment)
    unlocked = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if not c.metadata["nbgrader"].get("locked")]
    solutions = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata["nbgrader"].get("solution")]
    assert [g for g in unlocked if g not in solutions] == EDITABLE[assignment]
    assert set(solutions) <= set(unlocked)
    released = cells_by_id(load(assignment, "labs"))
    for grade_id in EDITABLE[assignment]:
        meta = released[grade_id].metadata
        assert not meta["nbgrader"]["grade"] and not meta["nbgrader"]["solution"], grade_id
        assert meta.get("editable", True) and meta.get("deletable", True), f"{grade_id} is read-only in JupyterLab"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_edit_of_an_editable_cell_never_reaches_grading(assignment):
    """What the notebooks tell students: grading runs the scratch and variant cells as released."""
    released = load(assignment, "labs")
    submitted = copy.deepcopy(released)
    for cell in submitted.cells:
        if cell.metadata["nbgrader"]["grade_id"] in EDITABLE[assignment]:
            cell.source = 'SCORE, CELL = "dot", "lstm"\nraise SystemExit("an experiment")'
    rebuilt, warnings, missing = rebuild(submitted, released)
    assert missing == [] and [c.source for c in rebuilt.cells] == [c.source for c in released.cells]
    assert warnings == []  # following the notebook's own instructions costs no "warnings" status


def test_sentiment_student_region_is_the_body_of_luong_attention_only():
    nb = load("sentiment")
    regions = [c for c in nb.cells if "### BEGIN SOLUTION" in c.source]
    assert [c.metadata["nbgrader"]["grade_id"] for c in regions] == ["luong_attention"]
    source = regions[0].source
    assert source.startswith("class LuongAttention(keras.layers.Layer):")
    assert "def __init__(self, units, **kwargs):" in source
    assert "def call(self, query, values, mask=None):" in source
    assert sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells) == 20


WORKED_LAB_CHECKS = {
    "nmt": {
        "encoder_output_and_state_shapes": 1,
        "attention_weights_sum_to_one": 2,
        "decoder_logits_shape": 1,
        "greedy_equals_beam_width_one": 2,
        "translate_returns_clean_text": 2,
        "bleu_above_floor": 4,
    },
    "nmt_luong": {
        "encoder_output_and_state_shapes": 1,
        "luong_scores_match_their_formulas": 2,
        "luong_weights_sum_to_one_and_ignore_padding": 2,
        "decoder_logits_shape": 1,
        "greedy_equals_beam_width_one": 2,
        "bleu_above_floor": 4,
    },
}


WRITTEN_ANSWERS = {
    "nmt": {"answer_beam_width": 2, "answer_bleu_vs_meaning": 2},
    "nmt_luong": {"answer_dot_or_general": 2, "answer_attention_alignment": 2},
}


@pytest.mark.parametrize("assignment", sorted(WORKED_LAB_CHECKS))
def test_nmt_labs_are_worked_labs_with_their_checks_and_written_answers(assignment):
    nb = load(assignment)
    assert not solution_cells(nb)
    points = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in nb.cells
        if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")
    }
    assert points == WORKED_LAB_CHECKS[assignment]
    written = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in written_answer_cells(nb)
        if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("locked")
    }
    assert written == WRITTEN_ANSWERS[assignment], "answers a TA grades by hand, unlocked for the student"
    released = cells_by_id(load(assignment, "labs"))
    for grade_id in written:
        assert "YOUR ANSWER HERE" in released[grade_id].source, "the model answer is not released"
