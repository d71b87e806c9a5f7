"""The translation labs' visible checks (Bahdanau ``nmt`` and Luong ``nmt_luong``): requests and verdicts.

Their probes (:mod:`.translation_probes`) call the notebook's encoder, decoder,
attention and search functions on requested inputs: random source and target ids
of requested lengths, random queries and keys, held-out sentences. While grading,
the inputs are drawn afresh and the BLEU references stay with the grader: the
kernel translates the requested held-out sentences and the grader scores them.
"""

from __future__ import annotations

import numpy as np

from .base import Check, CheckFailed
from .translation_probes import SCORES

BAHDANAU, LUONG, BOTH = ("nmt",), ("nmt_luong",), ("nmt", "nmt_luong")
SEED = 42
"""The labs' seed (``SEED`` in their first code cell): it fixes the held-out split the grader scores."""


# --------------------------------------------------------------------------- verdicts


def _failed_if_raised(ev: dict, what: str) -> None:
    if ev.get("raised"):
        error = ev["raised"]
        raise CheckFailed(f"{what} raised {error['type']}: {error['message']}")


def _array(value, name: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{name} should be a tensor, got {type(value).__name__}")
    return value


def _source(request: dict, ev: dict) -> np.ndarray:
    source = _array(ev.get("source"), "the source batch")
    lengths = np.asarray(request["lengths"])
    if source.shape != (len(lengths), lengths.max()) or not np.array_equal((source != 0).sum(axis=1), lengths):
        raise CheckFailed("the probe's source batch does not have the requested lengths")
    return source


def verdict_encoder(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "the encoder")
    source, units = _source(request, ev), int(request["units"])
    batch, src_len = source.shape
    outputs = _array(ev.get("outputs"), "the encoder outputs")
    if outputs.shape != (batch, src_len, units):
        raise CheckFailed(
            f"encoder outputs should have shape (batch, src_len, units) = {(batch, src_len, units)}, "
            f"got {outputs.shape}; did the recurrent layer get return_sequences=True?"
        )
    state = ev.get("state") or []
    if request["state"] == "tensor" and ev.get("state_is_list"):
        raise CheckFailed("the encoder state should be one (batch, units) tensor, not a list")
    if request["state"] == "list":
        parts = 2 if str(ev.get("cell")).lower() == "lstm" else 1
        if not ev.get("state_is_list") or len(state) != parts:
            raise CheckFailed(
                f"the {str(ev.get('cell')).upper()} state should be a list of {parts} tensor(s), got {len(state)}"
            )
    for part in state:
        if _array(part, "the state").shape != (batch, units):
            raise CheckFailed(
                f"each state part should have shape (batch, units) = {(batch, units)}, got "
                f"{part.shape}; did the recurrent layer get return_state=True?"
            )
    last = (source != 0).sum(axis=1) - 1
    if not np.allclose(outputs[np.arange(batch), last], state[0], atol=1e-5):
        raise CheckFailed(
            "the final state should equal the output at the last non-padding character; is the "
            "padding mask passed to the recurrent layer?"
        )
    return "The encoder returns one vector per source position and the state after the last character."


def verdict_bahdanau_attention(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "the attention layer")
    source, units = _source(request, ev), int(request["units"])
    batch, src_len = source.shape
    weights = _array(ev.get("weights"), "the attention weights")
    if weights.shape != (batch, src_len, 1):
        raise CheckFailed(
            f"attention weights should have shape (batch, src_len, 1) = {(batch, src_len, 1)}, got "
            f"{weights.shape}; the softmax must run over the source axis (axis=1)"
        )
    if not np.allclose(weights.sum(axis=1), 1.0, atol=1e-5):
        raise CheckFailed("the weights of each sentence must sum to 1 over the source axis")
    if not np.all(weights[source == 0] < 1e-6):
        raise CheckFailed("padded source positions should get (almost) zero weight; add the -1e9 mask to their scores")
    if _array(ev.get("context"), "the context vector").shape != (batch, units):
        raise CheckFailed(f"the context vector should have shape (batch, units), got {ev['context'].shape}")
    return "The attention weights sum to 1 over the source and ignore padding."


def _target_sizes(request: dict) -> tuple[int, int]:
    """(batch, longest target length) of the target batch a decoder check asked for."""
    return len(request["target_lengths"]), max(request["target_lengths"])


def verdict_bahdanau_decoder(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "the decoder")
    source = _source(request, ev)
    batch, tgt_len = _target_sizes(request)
    expected = [batch, tgt_len - 1, ev.get("vocab")]
    if ev.get("logits_shape") != expected:
        raise CheckFailed(
            f"decoder logits should have shape (batch, tgt_len - 1, vocab) = {tuple(expected)}, got "
            f"{ev.get('logits_shape')}; the inputs are target[:, :-1] and the projection has one "
            f"unit per English word"
        )
    if ev.get("attention_shape") != [batch, tgt_len - 1, source.shape[1]]:
        raise CheckFailed(f"the decoder should return one attention row per step, got {ev.get('attention_shape')}")
    return "Teacher forcing gives one row of vocabulary logits and one attention row per step."


def verdict_luong_weights(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "the decoder")
    source = _source(request, ev)
    batch, tgt_len = _target_sizes(request)
    weights = _array(ev.get("weights"), "the attention weights")
    if weights.shape != (batch, tgt_len - 1, source.shape[1]):
        raise CheckFailed(
            f"weights should be (batch, tgt_len - 1, src_len) = {(batch, tgt_len - 1, source.shape[1])}, "
            f"got {weights.shape}"
        )
    if not np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5):
        raise CheckFailed("each step's weights must sum to 1 over the source positions (softmax axis=-1)")
    if not np.all(weights[np.broadcast_to((source == 0)[:, None, :], weights.shape)] < 1e-6):
        raise CheckFailed("padded source positions must get (almost) zero weight")
    return "The weights sum to 1 over the source positions and ignore padding."


def verdict_luong_decoder(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "the decoder")
    batch, tgt_len = _target_sizes(request)
    expected = [batch, tgt_len - 1, ev.get("vocab")]
    if ev.get("logits_shape") != expected:
        raise CheckFailed(
            f"logits should be (batch, tgt_len - 1, vocab) = {tuple(expected)}, got {ev.get('logits_shape')}"
        )
    forced, stepwise = _array(ev.get("teacher_forced"), "the logits"), _array(ev.get("stepwise"), "the logits")
    if forced.shape != stepwise.shape or not np.allclose(stepwise, forced, atol=1e-4):
        raise CheckFailed(
            "one step at a time (feeding the state back) should equal the teacher-forced block; "
            "is the state passed as initial_state?"
        )
    return "Teacher forcing and step-by-step decoding give the same logits."


def request_luong_scores(rng, settings) -> dict:
    draw = np.random.default_rng(0) if rng is None else rng
    batch, steps, length, units = (
        (2, 3, 5, 8)
        if rng is None
        else (int(draw.integers(1, 4)), int(draw.integers(1, 5)), int(draw.integers(2, 8)), int(draw.integers(4, 12)))
    )
    return {
        "probe": "luong_scores",
        "units": units,
        "unknown_score": "location",
        "queries": draw.normal(size=(batch, steps, units)).astype("float32"),
        "sources": draw.normal(size=(batch, length, units)).astype("float32"),
    }


def verdict_luong_scores(request: dict, ev: dict, truth: dict) -> str:
    queries, sources = np.asarray(request["queries"], "float64"), np.asarray(request["sources"], "float64")
    shape = (queries.shape[0], queries.shape[1], sources.shape[1])
    for score in SCORES:
        found = ev.get(score) or {}
        _failed_if_raised(found, f"LuongAttention(units, {score!r})")
        got, w = _array(found.get("scores"), f"the {score} scores"), found.get("weights") or {}
        if got.shape != shape:
            raise CheckFailed(f"{score}: scores should be (batch, tgt_len, src_len) = {shape}, got {got.shape}")
        try:
            if score == "dot":
                expected = np.einsum("btu,bsu->bts", queries, sources)
            elif score == "general":
                expected = np.einsum("btu,bsu->bts", queries, sources @ w["W_a"])  # Keras applies x @ kernel
            else:
                hidden = np.tanh(
                    (queries @ w["W_q"] + w.get("b_q", 0.0))[:, :, None, :] + (sources @ w["W_k"])[:, None, :, :]
                )
                expected = (hidden @ w["v_a"])[..., 0]
        except (KeyError, ValueError, TypeError):
            raise CheckFailed(
                f"{score}: the layer's weights are not where the formula needs them (W_a; W_q, W_k, v_a)"
            ) from None
        if not np.allclose(got, expected, rtol=1e-4, atol=1e-4):
            raise CheckFailed(f"the {score} score does not match its formula")
    if (ev.get("unknown") or {}).get("type") != "ValueError":
        raise CheckFailed("an unknown score name should raise ValueError")
    return "The dot, general and concat scores compute the formulas of Luong et al."


def request_greedy_beam(rng, settings) -> dict:
    return {
        "probe": "greedy_beam",
        "from_first": 200,
        "sentences": 20,
        "seed": 0 if rng is None else int(rng.integers(2**31)),
    }


def verdict_greedy_beam(request: dict, ev: dict, truth: dict) -> str:
    _failed_if_raised(ev, "decoding")
    pairs = ev.get("pairs") or []
    for pair in pairs:
        if pair["beam"] != pair["greedy"]:
            raise CheckFailed(
                f"for {pair['sentence']!r} greedy and beam search with width 1 differ; with k=1 the "
                f"best extension must be the argmax and the search must stop at the first <end>"
            )
        a, b = pair["beam_attention"], pair["greedy_attention"]
        if not (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
        ):
            raise CheckFailed(f"attention differs between greedy and beam(k=1) for {pair['sentence']!r}")
    if len(pairs) < 10:
        raise CheckFailed(f"only {len(pairs)} held-out sentences could be encoded; expected at least 10")
    return f"Beam search with width 1 gives exactly the greedy translation ({len(pairs)} sentences)."


def request_translate(rng, settings) -> dict:
    return {
        "probe": "translate",
        "sentences": ["我有一隻貓。"],
        "beam_widths": [1, int(settings["beam_width"])],
        "bad": [["", "empty"], ["我愛𠀋。", "𠀋"]],
    }


def verdict_translate(request: dict, ev: dict, truth: dict) -> str:
    from ..nmt import END, START

    for entry in ev.get("results") or []:
        if entry.get("raised"):
            if entry["raised"]["type"] == "ValueError":
                continue  # a character the (smoke-sized) training data never had
            raise CheckFailed(
                f"translate({entry['sentence']!r}, beam_width={entry['k']}) raised "
                f"{entry['raised']['type']}: {entry['raised']['message']}"
            )
        words = str(entry.get("text", "")).split()
        if START in words or END in words:
            raise CheckFailed(
                f"translate({entry['sentence']!r}, beam_width={entry['k']}) returned "
                f"{entry['text']!r}; strip <start> and <end>"
            )
        if len(words) > int(ev.get("max_words", 0)):
            raise CheckFailed(f"the translation of {entry['sentence']!r} exceeds the length cap")
        if entry.get("attention_shape") != [len(words), entry["characters"]]:
            raise CheckFailed(
                f"attention should have one row per output word and one column per character, got "
                f"{entry.get('attention_shape')} for {len(words)} words and {entry['characters']} "
                f"characters"
            )
    refused = ev.get("refused") or []
    for (bad, hint), error in zip(request["bad"], refused + [None] * len(request["bad"])):
        if not error or error.get("type") != "ValueError":
            raise CheckFailed(f"translate({bad!r}) should raise ValueError with a helpful message")
        if hint not in error.get("message", ""):
            raise CheckFailed(f"the ValueError for {bad!r} should mention {hint!r}, got: {error.get('message')}")
    return "translate returns clean words, one attention row per word, and clear errors."


def _evaluation(settings, data_dir=None):
    from .. import data, nmt

    prepared = nmt.prepare(
        data.load_tatoeba(data_dir=data_dir),
        SEED,
        min_word_count=settings["min_word_count"],
        max_train_pairs=settings["max_train_pairs"],
    )
    return prepared.evaluation_set(settings["eval_limit"])


def request_bleu(rng, settings) -> dict:
    sources, _, _ = _evaluation(settings)
    order = np.arange(len(sources)) if rng is None else rng.permutation(len(sources))
    return {
        "probe": "translations",
        "sources": [sources[i] for i in order],
        "floor": float(settings["bleu_floor"]),
        "profile": settings.get("profile", ""),
        "min_word_count": settings["min_word_count"],
        "max_train_pairs": settings["max_train_pairs"],
        "eval_limit": settings["eval_limit"],
    }


def truth_bleu(request: dict, data_dir) -> dict:
    sources, references, _ = _evaluation(request, data_dir)
    if references is None:
        raise RuntimeError("the held-out references are withheld here")
    by_source = dict(zip(sources, references))
    return {"references": [by_source.get(s) for s in request["sources"]]}


def verdict_bleu(request: dict, ev: dict, truth: dict) -> str:
    from ..nmt import corpus_bleu

    _failed_if_raised(ev, "translating the held-out sentences")
    references, translations = truth["references"], ev.get("translations")
    if None in references:
        raise CheckFailed("the grader asked for a sentence it has no reference for")
    if not isinstance(translations, list) or len(translations) != len(references):
        raise CheckFailed(
            f"expected one translation per requested sentence ({len(references):,}), got "
            f"{len(translations) if isinstance(translations, list) else translations!r}"
        )
    hypotheses = [t if isinstance(t, str) else "" for t in translations]  # refused: scored as empty
    bleu = corpus_bleu(hypotheses, references).score
    if bleu < request["floor"]:
        hint = (
            "The smoke profile only checks the plumbing and is not expected to pass this check; run with "
            "COURSE_PROFILE=cpu (or full)."
            if request.get("profile") == "smoke"
            else "Train for the profile's full number of epochs (delete a stale checkpoint) and check the loss "
            "goes down."
        )
        raise CheckFailed(
            f"greedy BLEU on the held-out split is {bleu:.2f}, below the floor of {request['floor']} "
            f"for profile '{request.get('profile')}'. {hint}"
        )
    return f"Greedy BLEU {bleu:.2f} on {len(references):,} held-out sentences (floor {request['floor']})."


def request_batch(rng, settings, probe: str, seed: int, **extra) -> dict:
    """A batch of source (and target) lengths for ``probe``; fixed by ``seed`` in student mode."""
    draw = np.random.default_rng(seed) if rng is None else rng
    batch = 5 if rng is None else int(draw.integers(3, 8))
    lengths = [int(n) for n in draw.integers(2, 14, size=batch)]
    lengths[int(draw.integers(batch))] = 14  # one full row, the others padded
    return {
        "probe": probe,
        "lengths": lengths,
        "target_lengths": [int(n) for n in draw.integers(3, 9, size=batch)],
        "seed": int(draw.integers(2**31)),
        "units": int(settings["units"]),
        **extra,
    }


def _batch(probe, seed, **extra):
    return lambda rng, settings: request_batch(rng, settings, probe, seed, **extra)


CHECKS = (
    Check("encoder_output_and_state_shapes", BAHDANAU, _batch("encoder", 10, state="tensor"), verdict_encoder),
    Check("attention_weights_sum_to_one", BAHDANAU, _batch("bahdanau_attention", 11), verdict_bahdanau_attention),
    Check("decoder_logits_shape", BAHDANAU, _batch("bahdanau_decoder", 12), verdict_bahdanau_decoder),
    Check("translate_returns_clean_text", BAHDANAU, request_translate, verdict_translate),
    Check("encoder_output_and_state_shapes", LUONG, _batch("encoder", 20, state="list"), verdict_encoder),
    Check("luong_scores_match_their_formulas", LUONG, request_luong_scores, verdict_luong_scores),
    Check(
        "luong_weights_sum_to_one_and_ignore_padding",
        LUONG,
        _batch("luong_decoder", 21, steps=3),
        verdict_luong_weights,
    ),
    Check("decoder_logits_shape", LUONG, _batch("luong_decoder", 22, steps=3), verdict_luong_decoder),
    Check("greedy_equals_beam_width_one", BOTH, request_greedy_beam, verdict_greedy_beam),
    Check("bleu_above_floor", BOTH, request_bleu, verdict_bleu, truth_bleu),
)
