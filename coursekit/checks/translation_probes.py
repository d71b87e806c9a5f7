"""The translation labs' probes: they run the notebook's model on requested inputs and collect what
comes back (run in the kernel; they decide nothing)."""

from __future__ import annotations

import numpy as np

from .base import attempt, raised

SCORES = ("dot", "general", "concat")


# --------------------------------------------------------------------------- inputs


def _ids(rng: np.random.Generator, lengths, vocab: int) -> np.ndarray:
    """Random ids in [1, vocab) of the given lengths, right-padded with 0."""
    lengths = np.asarray(lengths, int)
    ids = rng.integers(1, max(int(vocab), 2), size=(len(lengths), int(lengths.max())), dtype=np.int64)
    ids[np.arange(ids.shape[1])[None, :] >= lengths[:, None]] = 0
    return ids.astype("int32")


# --------------------------------------------------------------------------- probes


def probe_encoder(request: dict, objects: dict) -> dict:
    """The encoder's outputs and final state for random source ids of the requested lengths."""
    import tensorflow as tf

    encoder = objects["encoder"]
    source = _ids(np.random.default_rng(request["seed"]), request["lengths"], encoder.embedding.input_dim)
    out, error = attempt(encoder, tf.constant(source))
    if error:
        return {"raised": error}
    outputs, state = out
    is_list = isinstance(state, (list, tuple))
    return {
        "source": source,
        "outputs": np.asarray(outputs),
        "state_is_list": is_list,
        "state": [np.asarray(s) for s in (state if is_list else [state])],
        "cell": str(objects.get("cell", "")),
    }


def _encoded(objects: dict, request: dict):
    import tensorflow as tf

    encoder, decoder = objects["encoder"], objects["decoder"]
    rng = np.random.default_rng(request["seed"])
    source = _ids(rng, request["lengths"], encoder.embedding.input_dim)
    target = _ids(rng, request["target_lengths"], decoder.embedding.input_dim)
    outputs, state = encoder(tf.constant(source))
    mask = tf.cast(tf.constant(source) != 0, tf.float32)
    return source, target, outputs, state, mask


def probe_bahdanau_attention(request: dict, objects: dict) -> dict:
    """One attention call of the Bahdanau decoder on a random batch: context and weights."""

    def run():
        source, _, outputs, state, mask = _encoded(objects, request)
        attention = objects["decoder"].attention
        context, weights = attention(state, attention.keys(outputs), outputs, mask)
        return {"source": source, "context": np.asarray(context), "weights": np.asarray(weights)}

    found, error = attempt(run)
    return {"raised": error} if error else found


def probe_bahdanau_decoder(request: dict, objects: dict) -> dict:
    """Teacher-forced logits and attention of the Bahdanau decoder on a random batch (shapes only)."""

    def run():
        source, target, outputs, state, mask = _encoded(objects, request)
        logits, _, attention = objects["decoder"](target[:, :-1], state, outputs, mask)
        return {
            "source": source,
            "target": target,
            "logits_shape": list(logits.shape),
            "attention_shape": list(attention.shape),
            "vocab": int(objects["decoder"].embedding.input_dim),
        }

    found, error = attempt(run)
    return {"raised": error} if error else found


def probe_luong_decoder(request: dict, objects: dict) -> dict:
    """Teacher-forced logits and weights of the Luong decoder, and its first steps one at a time."""
    steps = int(request["steps"])

    def run():
        source, target, outputs, state, mask = _encoded(objects, request)
        decoder = objects["decoder"]
        keys = decoder.attention.keys(outputs)
        logits, _, weights = decoder(target[:, :-1], state, keys, outputs, mask)
        rows = []
        for t in range(min(steps, target.shape[1] - 1)):
            step_logits, state, _ = decoder(target[:, t : t + 1], state, keys, outputs, mask)
            rows.append(np.asarray(step_logits)[:, 0])
        return {
            "source": source,
            "target": target,
            "logits_shape": list(logits.shape),
            "weights": np.asarray(weights),
            "teacher_forced": np.asarray(logits)[:, :steps],
            "stepwise": np.stack(rows, axis=1),
            "vocab": int(decoder.embedding.input_dim),
        }

    found, error = attempt(run)
    return {"raised": error} if error else found


def probe_luong_scores(request: dict, objects: dict) -> dict:
    """Each score function's scores on the requested queries and sources, with the layer's weights."""
    import tensorflow as tf

    cls = objects["LuongAttention"]
    queries, sources = (tf.constant(np.asarray(request[k], "float32")) for k in ("queries", "sources"))
    found = {}
    for score in SCORES:

        def run(score=score):
            layer = cls(int(request["units"]), score)
            scores = np.asarray(layer.scores(queries, layer.keys(sources)))
            weights = {
                name: np.asarray(getattr(layer, part).kernel)
                for name, part in (("W_a", "W_a"), ("W_q", "W_q"), ("W_k", "W_k"), ("v_a", "v_a"))
                if hasattr(layer, part)
            }
            if hasattr(layer, "W_q") and layer.W_q.bias is not None:
                weights["b_q"] = np.asarray(layer.W_q.bias)
            return {"scores": scores, "weights": weights}

        result, error = attempt(run)
        found[score] = {"raised": error} if error else result
    _, error = attempt(cls, int(request["units"]), request["unknown_score"])
    found["unknown"] = error
    return found


def probe_greedy_beam(request: dict, objects: dict) -> dict:
    """Greedy and width-1 beam translations (and attention) of held-out sentences."""
    from .. import nmt

    data, encode, decode_step = objects["data"], objects["encode"], objects["decode_step"]
    sentences = list(data.held_out_df["chinese"].head(int(request["from_first"])))
    order = np.random.default_rng(request["seed"]).permutation(len(sentences))
    pairs = []
    for i in order:
        if len(pairs) == int(request["sentences"]):
            break
        try:
            source_ids = data.encode_source(sentences[i])
        except ValueError:
            continue  # a character never seen in training
        args = (data.max_target_words, data.start_id, data.end_id)
        try:
            greedy = nmt.greedy_search(encode, decode_step, source_ids, *args)
            beam = nmt.beam_search(encode, decode_step, source_ids, 1, *args)
        except Exception as err:  # noqa: BLE001
            return {"raised": raised(err)}
        pairs.append(
            {
                "sentence": sentences[i],
                "greedy": list(map(int, greedy[0])),
                "greedy_attention": np.asarray(greedy[1], "float32"),
                "beam": list(map(int, beam[0])),
                "beam_attention": np.asarray(beam[1], "float32"),
            }
        )
    return {"pairs": pairs, "words": [data.words(p["greedy"]) for p in pairs]}


def probe_translate(request: dict, objects: dict) -> dict:
    """``translate`` on requested sentences and widths, and on inputs it must refuse."""
    from .. import nmt

    translate, data = objects["translate"], objects["data"]
    sentences = list(request["sentences"]) + list(data.held_out_df["chinese"].head(1))
    results = []
    for sentence in sentences:
        for k in request["beam_widths"]:
            out, error = attempt(translate, sentence, beam_width=int(k))
            entry = {"sentence": sentence, "k": int(k), "characters": len(nmt.chinese_tokens(sentence))}
            if error:
                entry["raised"] = error
            else:
                entry.update(text=str(out[0]), attention_shape=list(np.shape(out[1])))
            results.append(entry)
    refused = []
    for bad, _ in request["bad"]:
        _, error = attempt(translate, bad)
        refused.append(error)
    return {"results": results, "refused": refused, "max_words": int(data.max_target_words)}


def probe_translations(request: dict, objects: dict) -> dict:
    """Greedy translations of exactly the requested held-out sources, in the requested order."""
    from .. import nmt

    data, encode, decode_step = objects["data"], objects["encode"], objects["decode_step"]
    ids, refused = [], []
    for i, sentence in enumerate(request["sources"]):
        try:
            ids.append(data.encode_source(sentence))
        except ValueError:
            refused.append(i)
            ids.append(None)
    wanted = [x for x in ids if x is not None]
    found, error = attempt(
        nmt.greedy_batch, encode, decode_step, wanted, data.max_target_words, data.start_id, data.end_id
    )
    if error:
        return {"raised": error}
    words = iter(found)
    return {"translations": [None if x is None else data.words(next(words)) for x in ids], "refused": refused}


PROBES = {
    "encoder": probe_encoder,
    "bahdanau_attention": probe_bahdanau_attention,
    "bahdanau_decoder": probe_bahdanau_decoder,
    "luong_decoder": probe_luong_decoder,
    "luong_scores": probe_luong_scores,
    "greedy_beam": probe_greedy_beam,
    "translate": probe_translate,
    "translations": probe_translations,
}
