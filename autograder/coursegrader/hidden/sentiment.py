"""The sentiment lab's hidden check: the layer computes Luong's *general* score with its own W_a.

Its request asks the kernel's ``attention_layer`` probe for the layer's outputs after
giving every trainable weight random values (a seed drawn for this grading); the
verdict recomputes those values here from the seed and the reported shapes, so a
layer can only match by computing softmax(s^T W_a h) with the weights it was given.
"""

from __future__ import annotations

import numpy as np

from coursekit.checks.base import Check, CheckFailed
from coursekit.checks.sentiment import LABS, attention_request, layer_outputs

SCALE = 0.4


def request_general_score(rng, settings) -> dict:
    """Inputs drawn afresh when grading; fixed ones (``rng`` None) where the instructor runs the
    solution notebook with the grader installed (:func:`coursekit.checks.check`)."""
    if rng is None:
        request = attention_request(None, 3, 6, 8, seed=2)
        request["randomize"] = {"seed": 12345, "scale": SCALE}
        return request
    batch, length, units = int(rng.integers(2, 5)), int(rng.integers(4, 9)), int(rng.integers(5, 11))
    request = attention_request(rng, batch, length, units, seed=0)
    request["randomize"] = {"seed": int(rng.integers(2**31)), "scale": SCALE}
    return request


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def verdict_general_score(request: dict, ev: dict, truth: dict) -> str:
    context, weights = layer_outputs(request, ev)
    query, values = np.asarray(request["query"], "float64"), np.asarray(request["values"], "float64")
    (batch, units), length = query.shape, values.shape[1]
    shapes = ev.get("trainable_shapes")
    if not (
        isinstance(shapes, list) and all(isinstance(s, list) and all(isinstance(n, int) for n in s) for s in shapes)
    ):
        raise CheckFailed("LuongAttention should own its weights as trainable Keras weights")
    shapes = [tuple(s) for s in shapes]
    kernels = [i for i, s in enumerate(shapes) if s == (units, units)]
    biases = [i for i, s in enumerate(shapes) if s == (units,)]
    if not (len(kernels) == 1 and len(biases) <= 1 and len(kernels) + len(biases) == len(shapes)):
        raise CheckFailed(
            f"LuongAttention should own exactly one trainable (units, units) matrix W_a (plus at "
            f"most one bias); it has {shapes}. The dot score has no W_a, and the additive "
            f"score has several matrices and a vector v_a."
        )
    rng = np.random.default_rng(int(request["randomize"]["seed"]))
    given = [rng.normal(scale=SCALE, size=s).astype("float32").astype("float64") for s in shapes]
    W = given[kernels[0]]
    extras = [np.zeros((batch, length))]
    if biases:  # a bias on the query side adds b.h_i; on the values side it adds s.b, which the softmax removes
        extras.append(np.einsum("u,btu->bt", given[biases[0]], values))
    if weights.size != batch * length or context.shape != (batch, units):
        raise CheckFailed("the layer's outputs do not have the shapes of the visible checks")
    weights = weights.reshape(batch, length).astype("float64")
    for M in (W, W.T):  # W_a applied to the values or to the query
        for extra in extras:
            expected = _softmax(np.einsum("bu,uv,btv->bt", query, M, values) + extra)
            if np.allclose(weights, expected, atol=1e-5) and np.allclose(
                context, np.einsum("bt,btu->bu", expected, values), atol=1e-4
            ):
                return "The scores are Luong's general score."
    raise CheckFailed(
        "the attention weights are not softmax(s^T W_a h_i) over the time axis, computed with the "
        "layer's own W_a (W_a applied to the values or to the query, with or without bias were all "
        "accepted). Check that the score uses W_a (not the plain dot product), has no tanh, is not "
        "scaled, and that the softmax runs over axis 1."
    )


CHECKS = (Check("luong_matches_general_score", LABS, request_general_score, verdict_general_score),)
