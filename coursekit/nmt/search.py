"""Greedy and beam-search decoding over any encoder-decoder, one sentence or many at once.

A model plugs into the searches with two functions:

* ``encode(source_ids (1, src_len) int32) -> (state, memory)``;
* ``decode_step(word_ids (n,) int32, state, memory) -> (log_probs (n, vocab), state, weights (n, src_len))``.

``state`` and ``memory`` are tensors or tuples of tensors whose first axis is the hypothesis
(n rows); ``memory`` (what the attention reads: keys, values, source mask) comes with one row
per sentence and is repeated here for the hypotheses of that sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .text import pad


def _repeat(memory, n: int):
    import tensorflow as tf

    return tf.nest.map_structure(lambda t: tf.repeat(t, n, axis=0), memory)


def _rows(state, rows):
    import tensorflow as tf

    return tf.nest.map_structure(lambda t: tf.gather(t, rows), state)


def greedy_search(
    encode: Callable, decode_step: Callable, source_ids: Sequence[int], max_length: int, start_id: int, end_id: int
) -> tuple[list[int], list[np.ndarray]]:
    """The most probable next word at every step, until ``<end>`` or ``max_length`` words.

    Returns (word ids without <start>/<end>, one attention row per word).
    """
    import tensorflow as tf

    state, memory = encode(tf.constant([list(source_ids)], tf.int32))
    words, attention, word = [], [], start_id
    for _ in range(max_length):
        log_probs, state, weights = decode_step(tf.constant([word], tf.int32), state, memory)
        word = int(np.argmax(log_probs[0].numpy()))
        if word == end_id:
            break
        words.append(word)
        attention.append(weights[0].numpy())
    return words, attention


def best_candidates(scores: np.ndarray, m: int) -> np.ndarray:
    """Flat indices of the m highest scores, best first; ties go to the lower index like np.argmax."""
    flat = scores.ravel()
    if m == 1:
        return np.array([np.argmax(flat)])
    top = np.argpartition(-flat, m - 1)[:m]
    return top[np.lexsort((top, -flat[top]))]


def beam_search(
    encode: Callable,
    decode_step: Callable,
    source_ids: Sequence[int],
    beam_width: int,
    max_length: int,
    start_id: int,
    end_id: int,
) -> tuple[list[int], list[np.ndarray]]:
    """Keep the ``beam_width`` best partial translations (by total log-probability) at each step.

    A hypothesis that emits ``<end>`` is finished and leaves the beam, which then keeps fewer
    live ones; the search stops when the beam is empty or after ``max_length`` words. The
    winner is the finished hypothesis with the best log-probability per word (counting
    ``<end>``), so longer translations are not penalised just for having more factors.
    With ``beam_width=1`` this is exactly :func:`greedy_search`.
    """
    import tensorflow as tf

    state, memory = encode(tf.constant([list(source_ids)], tf.int32))
    tiled = {1: memory}
    live, finished = [(0.0, [], [])], []  # (total log-probability, word ids, attention rows)
    for _ in range(max_length):
        n = len(live)
        if n not in tiled:
            tiled[n] = _repeat(memory, n)
        previous = tf.constant([hyp[1][-1] if hyp[1] else start_id for hyp in live], tf.int32)
        log_probs, state, weights = decode_step(previous, state, tiled[n])
        log_probs, weights = log_probs.numpy(), weights.numpy()
        scores = np.array([hyp[0] for hyp in live])[:, None] + log_probs
        survivors, rows = [], []
        for flat in best_candidates(scores, beam_width - len(finished)):
            parent, word = divmod(int(flat), scores.shape[1])
            _, words, attention = live[parent]
            if word == end_id:
                finished.append((float(scores[parent, word]), words, attention))
            else:
                survivors.append((float(scores[parent, word]), [*words, word], [*attention, weights[parent]]))
                rows.append(parent)
        if not survivors:
            break
        live, state = survivors, _rows(state, rows)
    candidates = finished or live  # nothing finished within max_length: fall back to the live ones
    _, words, attention = max(candidates, key=lambda hyp: hyp[0] / (len(hyp[1]) + 1))
    return words, attention


def greedy_batch(
    encode: Callable,
    decode_step: Callable,
    sources: Sequence[Sequence[int]],
    max_length: int,
    start_id: int,
    end_id: int,
    batch_size: int = 256,
) -> list[list[int]]:
    """Greedy translations of many sentences, decoded ``batch_size`` at a time.

    Same result as calling :func:`greedy_search` on each sentence (the padded source
    positions get zero attention, so padding does not change a sentence's translation, up to
    float rounding), but one decoder call serves a whole batch. ``encode`` here receives a
    padded (batch, src_len) array; ``decode_step`` must mask the padding, which it learns
    from ``memory``.
    """
    import tensorflow as tf

    results: list[list[int]] = [[] for _ in sources]
    order = np.argsort([len(s) for s in sources], kind="stable")
    for begin in range(0, len(order), batch_size):
        idx = order[begin : begin + batch_size]
        state, memory = encode(tf.constant(pad([sources[i] for i in idx]), tf.int32))
        word = np.full(len(idx), start_id, dtype=np.int32)
        done = np.zeros(len(idx), dtype=bool)
        for _ in range(max_length):
            log_probs, state, _ = decode_step(tf.constant(word), state, memory)
            word = np.argmax(log_probs.numpy(), axis=-1).astype(np.int32)
            done |= word == end_id
            for row in np.flatnonzero(~done):
                results[idx[row]].append(int(word[row]))
            if done.all():
                break
    return results


def beam_batch(
    encode: Callable,
    decode_step: Callable,
    sources: Sequence[Sequence[int]],
    beam_width: int,
    max_length: int,
    start_id: int,
    end_id: int,
    batch_size: int = 128,
) -> list[list[int]]:
    """:func:`beam_search` for many sentences, with the hypotheses of a whole batch in each decoder call.

    The rules are those of :func:`beam_search`, applied to every sentence separately; only the
    decoder calls are shared: each step stacks the live hypotheses of all sentences of the batch
    (one state row each, with its sentence's row of the memory). Padded source positions get zero
    attention, so each sentence gets the translation :func:`beam_search` gives it alone, up to float
    rounding. Returns the word ids of each translation.
    """
    import tensorflow as tf

    results: list[list[int]] = [[] for _ in sources]
    order = np.argsort([len(s) for s in sources], kind="stable")
    for begin in range(0, len(order), batch_size):
        idx = order[begin : begin + batch_size]
        state, memory = encode(tf.constant(pad([sources[i] for i in idx]), tf.int32))
        live = [[(0.0, [])] for _ in idx]  # per sentence: (total log-probability, word ids)
        finished: list[list] = [[] for _ in idx]
        row_sentence = np.arange(len(idx))  # the sentence of each state row
        for _ in range(max_length):
            previous = [words[-1] if words else start_id for j in _live_sentences(live) for _, words in live[j]]
            log_probs, state, _ = decode_step(tf.constant(previous, tf.int32), state, _rows(memory, row_sentence))
            log_probs = log_probs.numpy()
            rows, sentences, first = [], [], 0
            for j in _live_sentences(live):
                n = len(live[j])
                scores = np.array([score for score, _ in live[j]])[:, None] + log_probs[first : first + n]
                survivors = []
                for flat in best_candidates(scores, beam_width - len(finished[j])):
                    parent, word = divmod(int(flat), scores.shape[1])
                    words = live[j][parent][1]
                    if word == end_id:
                        finished[j].append((float(scores[parent, word]), words))
                    else:
                        survivors.append((float(scores[parent, word]), [*words, word]))
                        rows.append(first + parent)
                        sentences.append(j)
                live[j], first = survivors, first + n
            if not rows:
                break
            state, row_sentence = _rows(state, rows), np.array(sentences)
        for j, i in enumerate(idx):
            candidates = finished[j] or live[j]
            results[i] = max(candidates, key=lambda hyp: hyp[0] / (len(hyp[1]) + 1))[1]
    return results


def _live_sentences(live: list[list]) -> list[int]:
    """The sentences that still have live hypotheses, in row order."""
    return [j for j, hyps in enumerate(live) if hyps]
