"""Distinct sentiment answers for the class where every student wrote their own layer.

Each student's ``LuongAttention`` is assembled from independent choices, the way real
answers differ: how the score is computed (``einsum``, ``matmul``, an explicit weight,
``W_a`` on the query side, a ``Dense`` with a bias), the masking idiom, the softmax, how the
weights get their trailing axis, how the context is summed, and the names. A share of the
students makes one of the typical mistakes instead (the dot score, a scaled or squashed
score, no ``mask`` parameter, a mask that is never used, a shape error, a single return
value). No two answers have the same code, and each comes with the score it deserves,
check by check, from what the lab's checks test (not from grading it).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

#: Points of the sentiment lab's checks.
POINTS = {"shapes": 2, "sum": 2, "padding": 2, "hidden": 4, "accuracy": 6, "top_words": 4}

#: What each typical mistake loses; the model still trains and reaches 0.80 unless ``crashes``.
MISTAKES = {
    "dot": {"lost": ("hidden",), "why": "the dot score: no W_a"},
    "no_mask_parameter": {"lost": ("padding",), "why": "call() has no mask parameter"},
    "shape_error": {"lost": tuple(POINTS), "why": "concatenates the query (rank 2) with the values (rank 3)"},
    "scaled": {"lost": ("hidden",), "why": "the general score divided by sqrt(units)"},
    "mask_unused": {"lost": ("padding",), "why": "takes the mask but never applies it"},
    "tanh": {"lost": ("hidden",), "why": "tanh applied to the general score"},
    "one_output": {"lost": tuple(POINTS), "why": "returns the context only"},
}
#: One student in this many makes a mistake (the rest write a correct layer of their own).
MISTAKE_EVERY = 3

SCORES = {  # (setup of W_a, score expression, (query-side?)); {q} {v} {k} {W} are filled in
    "einsum": ("dense", "tf.einsum('bu,btu->bt', {q}, {k})"),
    "matmul": ("dense", "tf.squeeze(tf.matmul({k}, {q}[:, :, tf.newaxis]), axis=-1)"),
    "broadcast": ("dense", "tf.reduce_sum({k} * {q}[:, tf.newaxis, :], axis=-1)"),
    "weight": ("weight", "tf.einsum('bu,uv,btv->bt', {q}, {W}, {v})"),
    "query_side": ("query", "tf.einsum('bu,btu->bt', {k}, {v})"),
    "bias": ("bias", "tf.einsum('bu,btu->bt', {q}, {k})"),
}
MASKS = {
    "where": "{s} = tf.where({m}, {s}, -1e9)",
    "additive": "{s} += (1.0 - tf.cast({m}, {s}.dtype)) * -1e9",
    "minimum": "{s} = {s} - 1e9 * tf.cast(tf.logical_not(tf.cast({m}, tf.bool)), {s}.dtype)",
}
SOFTMAXES = {
    "nn": "tf.nn.softmax({s}, axis=1)",
    "last": "tf.nn.softmax({s}, axis=-1)",
    "keras": "keras.activations.softmax({s}, axis=1)",
    "manual": "tf.exp({s} - tf.reduce_max({s}, axis=1, keepdims=True))",
}
EXPANDS = ("{w}[:, :, tf.newaxis]", "tf.expand_dims({w}, -1)", "{w}[..., None]")
CONTEXTS = (
    "tf.reduce_sum({a} * {v}, axis=1)",
    "tf.einsum('btx,btu->bu', {a}, {v})",
    "tf.squeeze(tf.matmul({a}, {v}, transpose_a=True), axis=1)",
)
NAMES = (  # keys, scores, weights, attention (expanded), context
    ("keys", "scores", "weights", "attention_weights", "context_vector"),
    ("projected", "energy", "alpha", "alignment", "context"),
    ("wh", "logits", "probs", "attn", "ctx"),
    ("transformed", "score", "w", "a", "c"),
)


@dataclass(frozen=True)
class Answer:
    student: str
    source: str
    kind: str  # "correct", or a key of MISTAKES
    score: float  # what it deserves in a profile that reaches the accuracy threshold
    why: str

    def expected(self, profile: str) -> float:
        """The score it deserves: ``smoke`` trains too little for the accuracy check (by design)."""
        trains = self.kind not in ("shape_error", "one_output")
        return self.score - (POINTS["accuracy"] if profile == "smoke" and trains else 0)


def _layer(i: int, score: str, mask: str | None, softmax: str, mistake: str | None) -> str:
    names = NAMES[i % len(NAMES)]
    k, s, w, a, c = names
    setup, expression = SCORES[score]
    init = {
        "dense": f"self.W_a = keras.layers.Dense(units, use_bias=False, name='W_a_{i}')",
        "query": f"self.W_a = keras.layers.Dense(units, use_bias=False, name='W_a_{i}')",
        "bias": f"self.W_a = keras.layers.Dense(units, name='W_a_{i}')  # a bias adds s.b, the softmax ignores it",
        "weight": f"self.W_a = self.add_weight(shape=(units, units), initializer='glorot_uniform', name='W_a_{i}')",
    }[setup]
    keys_line = {"dense": f"{k} = self.W_a(values)", "bias": f"{k} = self.W_a(values)"}.get(setup)
    if setup == "query":
        keys_line = f"{k} = self.W_a(query)"
    score_expr = expression.format(q="query", v="values", k=k, W="self.W_a")
    if mistake == "dot":
        init, keys_line, score_expr = f"self.units_{i} = units", None, "tf.einsum('bu,btu->bt', query, values)"
    if mistake == "shape_error":
        score_expr = "tf.reduce_sum(tf.concat([query, values], axis=-1), axis=-1)"
    body = [line for line in (keys_line, f"{s} = {score_expr}") if line]
    if mistake == "scaled":
        body.append(f"{s} = {s} / tf.sqrt(tf.cast(tf.shape(values)[-1], {s}.dtype))")
    if mistake == "tanh":
        body.append(f"{s} = tf.tanh({s})")
    if mask and mistake not in ("no_mask_parameter", "mask_unused"):
        body += ["if mask is not None:", "    " + MASKS[mask].format(s=s, m="mask")]
    body.append(f"{w} = {SOFTMAXES[softmax].format(s=s)}")
    if softmax == "manual":
        body.append(f"{w} = {w} / tf.reduce_sum({w}, axis=1, keepdims=True)")
    body.append(f"{a} = {EXPANDS[i % len(EXPANDS)].format(w=w)}")
    body.append(f"{c} = {CONTEXTS[(i // 2) % len(CONTEXTS)].format(a=a, v='values')}")
    body.append(f"return {c}" if mistake == "one_output" else f"return {c}, {a}")
    signature = (
        "def call(self, query, values):"
        if mistake == "no_mask_parameter"
        else ("def call(self, query, values, mask=None):")
    )
    lines = [
        "class LuongAttention(keras.layers.Layer):",
        "    def __init__(self, units, **kwargs):",
        "        super().__init__(**kwargs)",
        f"        {init}",
        "",
        f"    {signature}",
        *(f"        {line}" for line in body),
    ]
    return "\n".join(lines)


def distinct_answers(n: int) -> list[Answer]:
    """``n`` students, each with a layer of their own (every ``MISTAKE_EVERY``-th a typical mistake)."""
    designs = list(itertools.product(SCORES, MASKS, SOFTMAXES))
    random.Random(0).shuffle(designs)  # a fixed order in which the first students already differ in every choice
    combos = itertools.cycle(designs)
    mistakes = itertools.cycle(MISTAKES)
    answers = []
    for i in range(n):
        score, mask, softmax = next(combos)
        mistake = next(mistakes) if i % MISTAKE_EVERY == MISTAKE_EVERY - 1 else None
        source = _layer(i, score, mask, softmax, mistake)
        lost = MISTAKES[mistake]["lost"] if mistake else ()
        deserved = sum(p for check, p in POINTS.items() if check not in lost)
        why = MISTAKES[mistake]["why"] if mistake else f"correct: {score} score, {mask} mask, {softmax} softmax"
        answers.append(Answer(f"d{i:03d}", source, mistake or "correct", float(deserved), why))
    assert len({a.source for a in answers}) == n, "every answer must be distinct code"
    return answers
