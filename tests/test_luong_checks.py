"""The sentiment notebook's attention checks accept every correct Luong layer and reject wrong ones.

The test cells are taken from solutions/sentiment/sentiment.ipynb (hidden test
included) and run against many implementations of LuongAttention, so what is
tested here is exactly what nbgrader runs on a submission.
"""
import textwrap

import pytest

from grader.demo import solution_cell, student_version
from notebook_cells import cells_by_id, load

NB = load("sentiment")
CELLS = cells_by_id(NB)
CHECKS = ["luong_output_shapes_and_dtypes", "luong_weights_sum_to_one",
          "luong_padding_gets_zero_weight", "luong_matches_general_score"]
ALL_PASS = dict.fromkeys(CHECKS, True)

HEADER = '''
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
'''


def layer(init, call):
    """Source of a LuongAttention class from the bodies of __init__ and call."""
    return (HEADER + textwrap.indent(textwrap.dedent(init), " " * 8)
            + "\n    def call(self, query, values, mask=None):\n"
            + textwrap.indent(textwrap.dedent(call), " " * 8))


MASK_AND_SOFTMAX = '''
if mask is not None:
    scores = tf.where(mask, scores, -1e9)
weights = tf.nn.softmax(scores, axis=1)[:, :, None]
return tf.reduce_sum(weights * values, axis=1), weights
'''

CORRECT = {
    "reference solution": student_version(solution_cell(NB).source),
    "dense with bias on the values": layer(
        "self.W_a = keras.layers.Dense(units)",
        "scores = tf.einsum('bu,btu->bt', query, self.W_a(values))" + MASK_AND_SOFTMAX),
    "dense with bias on the query": layer(
        "self.W_a = keras.layers.Dense(units)",
        "scores = tf.reduce_sum(self.W_a(query)[:, None, :] * values, axis=-1)" + MASK_AND_SOFTMAX),
    "raw weight matrix and matmul": layer(
        "self.W = self.add_weight(shape=(units, units), initializer='glorot_uniform', name='W_a')",
        "scores = tf.squeeze(tf.matmul(values, tf.matmul(query, self.W)[:, :, None]), -1)"
        + MASK_AND_SOFTMAX),
    "keras.ops throughout": layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        '''
        from keras import ops
        scores = ops.einsum('bu,btu->bt', query, self.W_a(values))
        if mask is not None:
            scores = ops.where(mask, scores, -1e9)
        weights = ops.expand_dims(ops.softmax(scores, axis=1), -1)
        return ops.sum(weights * values, axis=1), weights
        '''),
}

WRONG = {
    "dot product (no W_a)": (layer(
        "pass",
        "scores = tf.einsum('bu,btu->bt', query, values)" + MASK_AND_SOFTMAX),
        {**ALL_PASS, "luong_matches_general_score": False}),
    "dot product with an unused W_a": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)\nself.W_a.build((None, units))",
        "scores = tf.einsum('bu,btu->bt', query, values)" + MASK_AND_SOFTMAX),
        {**ALL_PASS, "luong_matches_general_score": False}),
    "additive (Bahdanau) score": (layer(
        "self.W1 = keras.layers.Dense(units)\nself.W2 = keras.layers.Dense(units)\n"
        "self.V = keras.layers.Dense(1)",
        "scores = self.V(tf.tanh(self.W1(values) + self.W2(query)[:, None, :]))[:, :, 0]"
        + MASK_AND_SOFTMAX),
        {**ALL_PASS, "luong_matches_general_score": False}),
    "scaled general score": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        "scores = tf.einsum('bu,btu->bt', query, self.W_a(values)) / 4.0" + MASK_AND_SOFTMAX),
        {**ALL_PASS, "luong_matches_general_score": False}),
    "softmax over the wrong axis": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        '''
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))[:, :, None]
        weights = tf.nn.softmax(scores, axis=-1)
        return tf.reduce_sum(weights * values, axis=1), weights
        '''),
        {**dict.fromkeys(CHECKS, False), "luong_output_shapes_and_dtypes": True}),
    "ignores the mask": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        '''
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        '''),
        {**ALL_PASS, "luong_padding_gets_zero_weight": False}),
    "no mask argument": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        '''
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        ''').replace("values, mask=None)", "values)"),
        {**ALL_PASS, "luong_padding_gets_zero_weight": False}),
    "weights without the trailing axis": (layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        '''
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        weights = tf.nn.softmax(scores, axis=1)
        return tf.reduce_sum(weights[:, :, None] * values, axis=1), weights
        '''),
        {**ALL_PASS, "luong_output_shapes_and_dtypes": False}),
    "the released stub": (
        student_version(solution_cell(load("sentiment", "labs")).source),
        dict.fromkeys(CHECKS, False)),
}


@pytest.fixture(scope="module")
def namespace():
    ns = {}
    exec(CELLS["imports"].source, ns)
    return ns


def run_checks(namespace, source):
    """Run every attention check against the layer in ``source``; return {grade_id: error or None}."""
    ns = dict(namespace)
    exec(source, ns)
    outcome = {}
    for check in CHECKS:
        try:
            exec(CELLS[check].source, dict(ns))
            outcome[check] = None
        except Exception as err:  # a failing test cell, exactly as nbgrader would see it
            outcome[check] = f"{type(err).__name__}: {err}"
    return outcome


@pytest.mark.parametrize("name", CORRECT)
def test_every_correct_formulation_passes_every_attention_check(namespace, name):
    outcome = run_checks(namespace, CORRECT[name])
    assert outcome == dict.fromkeys(CHECKS), outcome


@pytest.mark.parametrize("name", WRONG)
def test_wrong_layer_fails_exactly_the_checks_it_should(namespace, name):
    source, expected = WRONG[name]
    outcome = run_checks(namespace, source)
    assert {k: v is None for k, v in outcome.items()} == expected, outcome


def test_failures_are_assertions_with_a_hint_not_tracebacks(namespace):
    outcome = run_checks(namespace, WRONG["the released stub"][0])
    assert all(v.startswith("AssertionError") and "not implemented yet" in v for v in outcome.values()), outcome
    outcome = run_checks(namespace, WRONG["no mask argument"][0])
    assert "must accept a `mask` keyword" in outcome["luong_padding_gets_zero_weight"]
    outcome = run_checks(namespace, WRONG["additive (Bahdanau) score"][0])
    assert "exactly one trainable (units, units) matrix" in outcome["luong_matches_general_score"]
