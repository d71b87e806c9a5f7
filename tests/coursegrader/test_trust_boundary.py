"""The trust boundary: evidence comes out of the kernel, verdicts and truth stay in the grader (seconds).

The real grading runs of the attacks are in test_grading.py; here the pieces are
tested one by one: what the kernel is given (requests, the data with the truth
withheld), how evidence is read back (plain data only, one record per check, this
grading's nonce), what a failed hidden check may say, and the leak detector that
test_grading.py runs over every feedback page.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from coursegrader import hidden
from coursegrader.course import ROOT
from coursegrader.demo import attacks
from coursegrader.requests import draw, find_check, lab_settings
from coursegrader.verdicts import error_type, judge
from coursegrader.withhold import withheld_data_dir
from coursekit import data
from coursekit.checks import CheckFailed, evidence, run_probe
from tests.support.leaks import HIDDEN_SOURCES, leaked_lines, secret_lines


def test_hidden_verdicts_have_secret_lines_and_the_detector_finds_them_in_any_encoding():
    secret = secret_lines()
    assert len(secret) > 10
    source = HIDDEN_SOURCES[-1].read_text(encoding="utf-8")
    for disguise in (
        source,
        source[::-1],
        base64.b64encode(source.encode()).decode(),
        source.encode().hex(),
        base64.b64encode(source.encode()).decode()[::-1],
    ):
        page = f"<pre>training notes: {disguise}</pre>"
        assert leaked_lines(page), disguise[:40]
    assert not leaked_lines("<p>Check that the scores are Luong's general score.</p>")


def test_the_graded_kernel_gets_no_hidden_verdict_code():
    """What enters the kernel for a hidden check is a request for evidence: names and numbers."""
    requests = draw("sentiment", ["luong_matches_general_score"], lab_settings("sentiment", "smoke"), seed=3)
    text = json.dumps(evidence.encode(requests))
    assert not leaked_lines(text)
    assert json.loads(text)["luong_matches_general_score"]["probe"] == "attention_layer"
    from coursekit.checks import catalog

    assert ("sentiment", "luong_matches_general_score") not in catalog(), "hidden verdicts must not be in coursekit"


def test_requests_are_drawn_afresh_for_every_grading():
    settings = lab_settings("sentiment", "smoke")
    gids = ["luong_output_shapes_and_dtypes", "luong_matches_general_score", "test_accuracy_at_least_0_80"]
    one, two = draw("sentiment", gids, settings), draw("sentiment", gids, settings)
    assert json.dumps(evidence.encode(one)) != json.dumps(evidence.encode(two))
    assert sorted(one["test_accuracy_at_least_0_80"]["indices"]) == list(range(512))


def test_the_kernels_data_has_no_test_labels_and_no_held_out_references():
    folder = withheld_data_dir()
    assert data.withheld(folder) and not data.withheld()
    full, kept = data.load_imdb(), data.load_imdb(data_dir=folder)
    assert kept["test"].labels is None and sorted(kept["test"].texts) == sorted(full["test"].texts)
    assert np.array_equal(kept["train"].labels, full["train"].labels)
    pairs = data.load_tatoeba(data_dir=folder)
    from coursekit import nmt

    prepared = nmt.prepare(pairs, 42, min_word_count=2)
    assert prepared.references_withheld and prepared.evaluation_set()[1] is None
    assert prepared.train_df["english"].notna().all()


def test_a_label_oracle_works_where_labels_are_visible_and_nowhere_else(monkeypatch):
    """The hostile demo's oracle, on a toy model: perfect with the labels, a coin flip without."""
    import keras
    import tensorflow as tf

    class Untrained(keras.Model):
        def call(self, tokens, training=False):
            return tf.zeros(tf.shape(tokens)[:1]), tf.zeros(tf.shape(tokens))

    def encode_texts(texts):
        return np.array([[hash(t) % 9973 + 1, len(t)] for t in texts], "int32")

    check, _ = find_check("sentiment", "test_accuracy_at_least_0_80")
    request = {"probe": "review_logits", "indices": np.arange(2000), "batch": 500, "profile": "cpu"}
    truth = check.truth(request, data.DATA_DIR)
    import __main__
    import coursekit

    monkeypatch.setattr(__main__, "encode_texts", encode_texts, raising=False)
    # the sandbox does not mount the bundle's data/ while grading (test_grading.py shows it for real)
    monkeypatch.setattr(coursekit, "ROOT", ROOT / "no-such-bundle")
    real_call = keras.Model.__call__
    for folder, passes in ((data.DATA_DIR, True), (withheld_data_dir(), False)):
        monkeypatch.setenv(data.DATA_ENV, str(folder))
        ns = {"keras": keras, "tf": tf, "np": np}
        try:
            exec(attacks.LABEL_ORACLE, ns)
            test_texts = data.load_imdb()["test"].texts[:2000]
            found = run_probe(request, {"model": Untrained(), "tokens": encode_texts(test_texts)})
        finally:
            keras.Model.__call__ = real_call
        try:
            check.verdict(request, evidence.decode(evidence.encode(found)), truth)
            passed = True
        except CheckFailed:
            passed = False
        assert passed is passes, folder


def test_evidence_is_plain_data_within_limits():
    record = evidence.encode({"a": np.arange(6, dtype="float32").reshape(2, 3), "b": [1, "x", None, float("nan")]})
    back = evidence.decode(json.loads(json.dumps(record)))
    assert back["a"].dtype == np.float32 and back["a"].shape == (2, 3) and np.isnan(back["b"][3])
    for bad in (
        {"__ndarray__": {"dtype": "object", "shape": [1], "data": ""}},
        {"__ndarray__": {"dtype": "float32", "shape": [9], "data": "AAAA"}},
        {"x": {"__float__": "1e999"}},
        {"x": object()},
    ):
        with pytest.raises(evidence.MalformedEvidence):
            evidence.decode(bad)
    assert evidence.decode({"__pickle__": "gASV"}) == {"__pickle__": "gASV"}  # just text: nothing is unpickled
    with pytest.raises(evidence.MalformedEvidence, match="MiB"):
        evidence.decode(evidence.encode(np.zeros(2**20, "float64")), limit=2**20)


def _record(gid, nonce, found):
    return json.loads(json.dumps(evidence.record(gid, nonce, found)))


def test_judge_takes_exactly_one_record_of_this_grading():
    gid, settings = "luong_weights_sum_to_one", lab_settings("sentiment", "smoke")
    request = evidence.decode(evidence.encode(draw("sentiment", [gid], settings, seed=1)[gid]))
    batch, length = np.shape(request["values"])[:2]
    good = {
        "stage": "done",
        "context": np.zeros((batch, 4), "float32"),
        "weights": np.full((batch, length, 1), 1 / length, "float32"),
        "trainable_shapes": [],
    }
    assert judge("sentiment", gid, False, request, [_record(gid, "n", good)], "n", None)[0] is True
    twice = judge("sentiment", gid, False, request, [_record(gid, "n", good)] * 2, "n", None)
    foreign = judge("sentiment", gid, False, request, [_record(gid, "old", good)], "n", None)
    claimed = judge("sentiment", gid, False, request, [_record(gid, "n", {"passed": True})], "n", None)
    assert twice[0] is foreign[0] is claimed[0] is False
    assert twice[2] and foreign[2], "duplicated or foreign evidence is flagged for review"


def test_a_hidden_check_names_the_exception_type_only():
    gid = "luong_matches_general_score"
    request = evidence.decode(
        evidence.encode(draw("sentiment", [gid], lab_settings("sentiment", "smoke"), seed=2)[gid])
    )
    leak = "SECRET TEXT FROM THE KERNEL"
    found = {"stage": "call", "raised": {"type": "ValueError", "message": leak}}
    passed, message, _ = judge("sentiment", gid, True, request, [_record(gid, "n", found)], "n", None)
    assert not passed and message == "your code raised ValueError while a hidden check ran"
    found["raised"]["type"] = "SECRET_TEXT_AS_A_CLASS_NAME"
    assert "SECRET" not in judge("sentiment", gid, True, request, [_record(gid, "n", found)], "n", None)[1]
    stopped = {"ename": "KeyError", "evalue": leak}
    assert leak not in judge("sentiment", gid, True, request, [], "n", stopped)[1]
    assert error_type("KeyError") == "KeyError" and "SECRET" not in error_type("SECRET")


def test_every_graded_cell_has_a_check_and_only_hidden_ones_live_in_the_grader():
    from coursegrader.cells import grade_id, is_check
    from coursegrader.course import assignments
    from tests.support.notebook_cells import load

    for assignment in assignments():
        for cell in load(assignment).cells:
            if is_check(cell):
                found, is_hidden = find_check(assignment, grade_id(cell))
                assert found is not None, grade_id(cell)
                assert is_hidden == ("BEGIN HIDDEN TESTS" in cell.source), grade_id(cell)
    assert hidden.catalog()
