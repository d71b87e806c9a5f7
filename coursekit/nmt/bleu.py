"""Scoring translations: teacher-forced loss and accuracy, corpus BLEU, example attention."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .search import beam_batch, greedy_batch
from .text import chinese_tokens

if TYPE_CHECKING:
    from .dataset import TranslationData


def teacher_forced_metrics(eval_step: Callable, batches) -> tuple[float, float]:
    """Mean per-word loss and next-word accuracy over ``batches``, weighted by real words.

    ``eval_step(source, target)`` returns (summed loss, correct words, real words) of a batch.
    """
    loss = correct = words = 0.0
    for source, target in batches:
        batch_loss, batch_correct, batch_words = (float(x) for x in eval_step(source, target))
        loss, correct, words = loss + batch_loss, correct + batch_correct, words + batch_words
    if words == 0:
        return float("nan"), float("nan")
    return loss / words, correct / words


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]):
    """sacrebleu corpus BLEU of tokenised hypotheses against one or more tokenised references each.

    The text is already tokenised by :func:`english_tokens`, so sacrebleu must not tokenise it
    again (``tokenize="none"``). Sentences have different numbers of references; sacrebleu
    takes one stream per reference position, with ``None`` where a sentence has fewer.
    """
    import sacrebleu

    n_refs = max(map(len, references))
    streams = [[refs[i] if i < len(refs) else None for refs in references] for i in range(n_refs)]
    return sacrebleu.corpus_bleu(list(hypotheses), streams, tokenize="none", force=True)


def bleu_table(
    encode: Callable,
    decode_step: Callable,
    data: TranslationData,
    sources: Sequence[str],
    references: Sequence[Sequence[str]],
    beam_width: int,
):
    """Corpus BLEU of greedy and beam-search translations of ``sources``, decoded in batches.

    Returns (a DataFrame with one row per decoding: BLEU, n-gram precisions, brevity penalty,
    seconds; and {decoding name: hypotheses}).
    """
    import time

    ids = [data.encode_source(s) for s in sources]
    rows, hypotheses = [], {}
    for name, k in [("greedy", 1), (f"beam (k={beam_width})", beam_width)]:
        start = time.perf_counter()
        if k == 1:
            found = greedy_batch(encode, decode_step, ids, data.max_target_words, data.start_id, data.end_id)
        else:
            found = beam_batch(encode, decode_step, ids, k, data.max_target_words, data.start_id, data.end_id)
        hypotheses[name] = [data.words(words) for words in found]
        bleu = corpus_bleu(hypotheses[name], references)
        rows.append(
            dict(
                decoding=name,
                BLEU=round(bleu.score, 2),
                precisions="/".join(f"{p:.0f}" for p in bleu.precisions),
                brevity_penalty=round(bleu.bp, 3),
                seconds=round(time.perf_counter() - start, 1),
            )
        )
    return pd.DataFrame(rows).set_index("decoding"), hypotheses


def example_attention(translate: Callable, sentences: Sequence[str]) -> list[dict]:
    """Greedy translation and attention matrix of each sentence that can be encoded (`make report`)."""
    examples = []
    for sentence in sentences:
        try:
            text, weights = translate(sentence)
        except ValueError:
            continue
        examples.append(
            dict(
                source=sentence,
                source_tokens=chinese_tokens(sentence),
                translation=text,
                words=text.split(),
                weights=np.asarray(weights).tolist(),
            )
        )
    return examples
