"""Translation plumbing shared by the two NMT labs (Bahdanau and Luong).

Both labs translate the same Tatoeba Chinese->English pairs with the same
tokens, split, vocabularies, batches, decoding and BLEU, so that their numbers
can be compared. Only the model differs, and the model is what each notebook
writes out in full. This module holds the rest:

* tokens: :func:`english_tokens` (words, punctuation as separate tokens) and
  :func:`chinese_tokens` (one token per character), after NFKC normalisation;
* :func:`prepare`: the grouped held-out split (no source sentence on both
  sides), a validation split carved from the *training* sources (for curves and
  early stopping; the held-out sentences are only used for the final BLEU), the
  vocabularies and the id sequences, as a :class:`TranslationData`;
* :meth:`TranslationData.batches`: length-bucketed padded batches;
* :func:`greedy_search` and :func:`beam_search` over any model that provides
  an ``encode`` and a one-step ``decode_step`` function (see their docstrings),
  and :func:`greedy_batch`, greedy decoding of many sentences at once;
* :func:`corpus_bleu` (sacrebleu on our own tokens) and :class:`TrainingLog`
  (per-epoch history saved next to the checkpoints, so a restored model still
  has its curves).

The pieces live in :mod:`.text`, :mod:`.dataset`, :mod:`.search`, :mod:`.bleu` and
:mod:`.training`; the notebooks use them through this module (``nmt.prepare`` ...).
"""

from __future__ import annotations

from .bleu import bleu_table, corpus_bleu, example_attention, teacher_forced_metrics
from .dataset import EXAMPLE_SENTENCES, HELD_OUT_FRACTION, VALIDATION_FRACTION, TranslationData, prepare
from .search import beam_batch, beam_search, best_candidates, greedy_batch, greedy_search
from .text import (
    END,
    PAD,
    START,
    UNK,
    build_vocab,
    chinese_tokens,
    english_tokens,
    make_batches,
    normalize,
    pad,
    split_by_source,
)
from .training import Training, TrainingLog, checkpoint_dir, fit

__all__ = [
    "END",
    "EXAMPLE_SENTENCES",
    "HELD_OUT_FRACTION",
    "PAD",
    "START",
    "UNK",
    "VALIDATION_FRACTION",
    "Training",
    "TrainingLog",
    "TranslationData",
    "beam_batch",
    "beam_search",
    "best_candidates",
    "bleu_table",
    "build_vocab",
    "checkpoint_dir",
    "chinese_tokens",
    "corpus_bleu",
    "english_tokens",
    "example_attention",
    "fit",
    "greedy_batch",
    "greedy_search",
    "make_batches",
    "normalize",
    "pad",
    "prepare",
    "split_by_source",
    "teacher_forced_metrics",
]
