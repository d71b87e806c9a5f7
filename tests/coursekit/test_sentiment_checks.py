"""The sentiment lab's attention checks accept every correct Luong layer and reject wrong ones.

Each layer is checked twice: as a student sees it (the notebook's ``check()`` in the
kernel, on the checks' fixed inputs) and as the grader does (requests drawn with a
seed, the kernel's probe, the verdict outside), the hidden check included. The
very same verdict functions run in both.
"""

import textwrap

import pytest

from coursegrader.cells import solution_cell, student_version
from coursegrader.requests import draw, find_check, lab_settings
from coursekit import checks, profiles
from coursekit.checks import evidence
from tests.support.notebook_cells import cells_by_id, load

NB = load("sentiment")
CELLS = cells_by_id(NB)
CHECKS = [
    "luong_output_shapes_and_dtypes",
    "luong_weights_sum_to_one",
    "luong_padding_gets_zero_weight",
    "luong_matches_general_score",
]
ALL_PASS = dict.fromkeys(CHECKS, True)

HEADER = """
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
"""


def layer(init, call):
    """Source of a LuongAttention class from the bodies of __init__ and call."""
    return (
        HEADER
        + textwrap.indent(textwrap.dedent(init), " " * 8)
        + "\n    def call(self, query, values, mask=None):\n"
        + textwrap.indent(textwrap.dedent(call), " " * 8)
    )


MASK_AND_SOFTMAX = """
if mask is not None:
    scores = tf.where(mask, scores, -1e9)
weights = tf.nn.softmax(scores, axis=1)[:, :, None]
return tf.reduce_sum(weights * values, axis=1), weights
"""

CORRECT = {
    "reference solution": student_version(solution_cell(NB).source),
    "dense with bias on the values": layer(
        "self.W_a = keras.layers.Dense(units)",
        "scores = tf.einsum('bu,btu->bt', query, self.W_a(values))" + MASK_AND_SOFTMAX,
    ),
    "dense with bias on the query": layer(
        "self.W_a = keras.layers.Dense(units)",
        "scores = tf.reduce_sum(self.W_a(query)[:, None, :] * values, axis=-1)" + MASK_AND_SOFTMAX,
    ),
    "raw weight matrix and matmul": layer(
        "self.W = self.add_weight(shape=(units, units), initializer='glorot_uniform', name='W_a')",
        "scores = tf.squeeze(tf.matmul(values, tf.matmul(query, self.W)[:, :, None]), -1)" + MASK_AND_SOFTMAX,
    ),
    "keras.ops throughout": layer(
        "self.W_a = keras.layers.Dense(units, use_bias=False)",
        """
        from keras import ops
        scores = ops.einsum('bu,btu->bt', query, self.W_a(values))
        if mask is not None:
            scores = ops.where(mask, scores, -1e9)
        weights = ops.expand_dims(ops.softmax(scores, axis=1), -1)
        return ops.sum(weights * values, axis=1), weights
        """,
    ),
}

WRONG = {
    "dot product (no W_a)": (
        layer("pass", "scores = tf.einsum('bu,btu->bt', query, values)" + MASK_AND_SOFTMAX),
        {**ALL_PASS, "luong_matches_general_score": False},
    ),
    "dot product with an unused W_a": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)\nself.W_a.build((None, units))",
            "scores = tf.einsum('bu,btu->bt', query, values)" + MASK_AND_SOFTMAX,
        ),
        {**ALL_PASS, "luong_matches_general_score": False},
    ),
    "additive (Bahdanau) score": (
        layer(
            "self.W1 = keras.layers.Dense(units)\nself.W2 = keras.layers.Dense(units)\nself.V = keras.layers.Dense(1)",
            "scores = self.V(tf.tanh(self.W1(values) + self.W2(query)[:, None, :]))[:, :, 0]" + MASK_AND_SOFTMAX,
        ),
        {**ALL_PASS, "luong_matches_general_score": False},
    ),
    "scaled general score": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            "scores = tf.einsum('bu,btu->bt', query, self.W_a(values)) / 4.0" + MASK_AND_SOFTMAX,
        ),
        {**ALL_PASS, "luong_matches_general_score": False},
    ),
    "softmax over the wrong axis": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))[:, :, None]
        weights = tf.nn.softmax(scores, axis=-1)
        return tf.reduce_sum(weights * values, axis=1), weights
        """,
        ),
        {**dict.fromkeys(CHECKS, False), "luong_output_shapes_and_dtypes": True},
    ),
    "ignores the mask": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        """,
        ),
        {**ALL_PASS, "luong_padding_gets_zero_weight": False},
    ),
    "no mask argument": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        """,
        ).replace("values, mask=None)", "values)"),
        {**ALL_PASS, "luong_padding_gets_zero_weight": False},
    ),
    "weights without the trailing axis": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        weights = tf.nn.softmax(scores, axis=1)
        return tf.reduce_sum(weights[:, :, None] * values, axis=1), weights
        """,
        ),
        {**ALL_PASS, "luong_output_shapes_and_dtypes": False},
    ),
    "arithmetic on the boolean mask": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.einsum('bu,btu->bt', query, self.W_a(values))
        if mask is not None:
            scores += (1.0 - mask) * -1e9
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        """,
        ),
        {**ALL_PASS, "luong_padding_gets_zero_weight": False},
    ),
    "a mask of None not allowed for": (
        layer(
            "self.W_a = keras.layers.Dense(units, use_bias=False)",
            """
        scores = tf.where(mask, tf.einsum('bu,btu->bt', query, self.W_a(values)), -1e9)
        weights = tf.nn.softmax(scores, axis=1)[:, :, None]
        return tf.reduce_sum(weights * values, axis=1), weights
        """,
        ),
        {**dict.fromkeys(CHECKS, False), "luong_padding_gets_zero_weight": True},
    ),
    "the released stub": (
        student_version(solution_cell(load("sentiment", "labs")).source),
        dict.fromkeys(CHECKS, False),
    ),
}


@pytest.fixture(scope="module")
def namespace():
    ns = {}
    exec(CELLS["imports"].source, ns)
    return ns


PROFILE = profiles.select("sentiment", env={profiles.ENV_VAR: "smoke"})


def graded(grade_id, cls, seed):
    """The grader's way: a fresh request, the kernel's probe, the verdict outside (hidden ones included)."""
    check, _ = find_check("sentiment", grade_id)
    request = draw("sentiment", [grade_id], lab_settings("sentiment", "smoke"), seed=seed)[grade_id]
    request = evidence.decode(evidence.encode(request))  # as the kernel reads it from the request file
    gathered = evidence.decode(evidence.encode(checks.run_probe(request, {"LuongAttention": cls})))
    check.verdict(request, gathered, {})


def run_checks(namespace, source, seed=None):
    """Every attention check against the layer in ``source``: {grade_id: error or None}.

    Visible checks run as in JupyterLab (``check()`` in the kernel, on their fixed inputs) and, with
    ``seed``, as while grading (fresh inputs, verdict outside); the hidden check only as while grading.
    """
    ns = dict(namespace)
    exec(source, ns)
    outcome = {}
    for grade_id in CHECKS:
        try:
            if grade_id != "luong_matches_general_score":
                ns["check"](grade_id, PROFILE, LuongAttention=ns["LuongAttention"])
            if seed is not None or grade_id == "luong_matches_general_score":
                graded(grade_id, ns["LuongAttention"], seed or 0)
            outcome[grade_id] = None
        except Exception as err:  # noqa: BLE001 - a failing check, as the student or the grader would see it
            outcome[grade_id] = f"{type(err).__name__}: {err}"
    return outcome


@pytest.mark.parametrize("name", CORRECT)
def test_every_correct_formulation_passes_every_attention_check(namespace, name):
    for seed in (None, 1, 2, 3):
        outcome = run_checks(namespace, CORRECT[name], seed)
        assert outcome == dict.fromkeys(CHECKS), (seed, outcome)


@pytest.mark.parametrize("name", WRONG)
def test_wrong_layer_fails_exactly_the_checks_it_should(namespace, name):
    source, expected = WRONG[name]
    for seed in (None, 7):
        outcome = run_checks(namespace, source, seed)
        assert {k: v is None for k, v in outcome.items()} == expected, (seed, outcome)


def test_failures_are_assertions_with_a_hint_not_tracebacks(namespace):
    outcome = run_checks(namespace, WRONG["the released stub"][0])
    assert all(v.startswith("CheckFailed") and "not implemented yet" in v for v in outcome.values()), outcome
    outcome = run_checks(namespace, WRONG["no mask argument"][0])
    assert "must accept a `mask` keyword" in outcome["luong_padding_gets_zero_weight"]
    outcome = run_checks(namespace, WRONG["arithmetic on the boolean mask"][0])
    assert "Cannot convert 1.0 to EagerTensor of dtype bool" in outcome["luong_padding_gets_zero_weight"]
    assert "tf.where(mask, scores, -1e9)" in outcome["luong_padding_gets_zero_weight"]
    outcome = run_checks(namespace, WRONG["a mask of None not allowed for"][0])
    assert "`if mask is not None`" in outcome["luong_output_shapes_and_dtypes"], outcome
    outcome = run_checks(namespace, WRONG["additive (Bahdanau) score"][0])
    assert "exactly one trainable (units, units) matrix" in outcome["luong_matches_general_score"]


def test_a_check_failure_is_an_assertion_error_for_nbgrader():
    assert issubclass(checks.CheckFailed, AssertionError)
