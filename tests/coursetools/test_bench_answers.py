"""The generated class of `make bench-grade`: every answer is distinct code, and the layer checks (the
visible ones and the hidden one, on freshly drawn requests) give each one the points it is said to
deserve. (Accuracy and the top words need a trained model: the benchmark itself checks those.)"""

import numpy as np
import pytest

from coursegrader.hidden import catalog as hidden_catalog
from coursekit.checks import CheckFailed, catalog, evidence, run_probe
from coursetools.bench.answers import MISTAKES, POINTS, distinct_answers

LAYER_CHECKS = {
    "shapes": "luong_output_shapes_and_dtypes",
    "sum": "luong_weights_sum_to_one",
    "padding": "luong_padding_gets_zero_weight",
    "hidden": "luong_matches_general_score",
}
N = 21  # every kind of mistake once, and fourteen correct layers


@pytest.fixture(scope="module")
def tf_and_keras():
    from coursekit import quiet

    tf = quiet.import_tensorflow()
    import keras

    return tf, keras


def passes(check, layer, seed) -> bool:
    request = check.request(np.random.default_rng(seed), {})
    gathered = evidence.decode(evidence.encode(run_probe(request, {"LuongAttention": layer})))
    try:
        check.verdict(request, gathered, {})
        return True
    except CheckFailed:
        return False


def test_every_generated_answer_is_distinct_and_the_mistakes_all_occur():
    answers = distinct_answers(N)
    assert len({a.source for a in answers}) == N
    assert {a.kind for a in answers} == {"correct", *MISTAKES}


def test_the_layer_checks_give_each_generated_answer_exactly_what_it_deserves(tf_and_keras):
    tf, keras = tf_and_keras
    found = {**catalog(), **hidden_catalog()}
    for answer in distinct_answers(N):
        namespace = {"tf": tf, "keras": keras, "np": np}
        exec(answer.source, namespace)
        layer = namespace["LuongAttention"]
        earned = sum(
            POINTS[name]
            for name, gid in LAYER_CHECKS.items()
            if all(passes(found[("sentiment", gid)], layer, seed) for seed in range(2))
        )
        trained = 0 if answer.kind in ("shape_error", "one_output") else POINTS["accuracy"] + POINTS["top_words"]
        assert earned == answer.score - trained, f"{answer.student} ({answer.why})"
