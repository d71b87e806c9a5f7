"""The translation data both labs share: the grouped held-out split, vocabularies, id sequences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .text import END, PAD, START, UNK, build_vocab, chinese_tokens, english_tokens, make_batches, split_by_source

HELD_OUT_FRACTION = 0.05
VALIDATION_FRACTION = 0.03
EXAMPLE_SENTENCES = ("你今晚會去派對嗎?", "我有一隻貓。", "她明年會去美國嗎?", "我们明天去公园吧。", "这本书很有意思。")
"""Sentences both labs translate and draw (and `make report` compares across models)."""


@dataclass
class TranslationData:
    """Everything both labs need about the data, built by :func:`prepare`."""

    pairs: pd.DataFrame
    held_out_mask: np.ndarray
    train_df: pd.DataFrame
    validation_df: pd.DataFrame
    held_out_df: pd.DataFrame
    src_itos: list[str]
    src_stoi: dict[str, int]
    tgt_itos: list[str]
    tgt_stoi: dict[str, int]
    min_word_count: int
    train_src: list[list[int]] = field(repr=False)
    train_tgt: list[list[int]] = field(repr=False)
    validation_src: list[list[int]] = field(repr=False)
    validation_tgt: list[list[int]] = field(repr=False)

    @property
    def pad_id(self) -> int:
        return self.tgt_stoi[PAD]

    @property
    def unk_id(self) -> int:
        return self.tgt_stoi[UNK]

    @property
    def start_id(self) -> int:
        return self.tgt_stoi[START]

    @property
    def end_id(self) -> int:
        return self.tgt_stoi[END]

    @property
    def max_target_words(self) -> int:
        """Longest training translation in words: the cap for decoding."""
        return max(len(t) for t in self.train_tgt) - 2

    def encode_source(self, sentence: str) -> list[int]:
        """Chinese sentence -> character ids; ValueError for empty input or unseen characters."""
        if not isinstance(sentence, str):
            raise ValueError(f"expected a Chinese sentence as a string, got {type(sentence).__name__}")
        tokens = chinese_tokens(sentence)
        if not tokens:
            raise ValueError(
                "cannot translate an empty sentence: the input has no characters after removing white space"
            )
        unseen = sorted({ch for ch in tokens if ch not in self.src_stoi})
        if unseen:
            raise ValueError(
                f"cannot translate {sentence!r}: the character(s) {' '.join(unseen)} never "
                f"appear in the training data, so the model has no embedding for them; "
                f"rephrase without them (or, for a Traditional/Simplified variant, try the "
                f"other form)"
            )
        return [self.src_stoi[ch] for ch in tokens]

    def encode_target(self, tokens: Sequence[str]) -> list[int]:
        """English tokens -> <start> ids <end>, rare words as <unk>."""
        return [self.start_id] + [self.tgt_stoi.get(t, self.unk_id) for t in tokens] + [self.end_id]

    def words(self, ids: Sequence[int]) -> str:
        return " ".join(self.tgt_itos[i] for i in ids)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, split: str = "train"):
        """Length-bucketed batches of the ``train`` or ``validation`` pairs (see :func:`make_batches`)."""
        if split == "train":
            return make_batches(self.train_src, self.train_tgt, batch_size, rng)
        if split == "validation":
            return make_batches(self.validation_src, self.validation_tgt, batch_size, rng)
        raise ValueError(f"split must be 'train' or 'validation', got {split!r}")

    @property
    def references_withheld(self) -> bool:
        """Whether the held-out English references are withheld (while the notebook is graded)."""
        return bool(self.held_out_df["english"].isna().any())

    def evaluation_set(self, limit: int | None = None) -> tuple[list[str], list[list[str]] | None, int]:
        """The held-out BLEU set: one entry per distinct source sentence, with all its references.

        Returns (sources, references, refused): sources containing a character never seen in
        training cannot be encoded and are counted in ``refused`` instead. ``references`` is
        None while grading: they stay with the grader, which scores the translations itself.
        """
        sources, references, refused = [], [], 0
        for key, group in self.held_out_df.groupby("source_key", sort=True):
            if any(ch not in self.src_stoi for ch in key):
                refused += 1
                continue
            sources.append(group["chinese"].iloc[0])
            references.append(None if self.references_withheld else [" ".join(toks) for toks in group["tgt_tokens"]])
        if limit is not None:
            sources, references = sources[:limit], references[:limit]
        return sources, None if self.references_withheld else references, refused

    def describe(self) -> str:
        shared = set(self.train_df["source_key"]) & set(self.held_out_df["source_key"])
        sources = f"{self.held_out_df['source_key'].nunique():,} of {self.pairs['source_key'].nunique():,}"
        held_out = (
            f"held-out sentences: {sources} distinct sources (their English is withheld while grading)"
            if self.references_withheld
            else f"held-out pairs: {len(self.held_out_df):,} ({self.held_out_mask.mean():.1%} of the rows; "
            f"{sources} distinct source sentences)"
        )
        return "\n".join(
            [
                f"training pairs: {len(self.train_df):,}   validation pairs: {len(self.validation_df):,}   {held_out}",
                f"source sentences in both training and held-out: {len(shared)}",
                f"Chinese vocabulary: {len(self.src_itos):,} characters; English vocabulary: "
                f"{len(self.tgt_itos):,} words (min count {self.min_word_count})",
                f"longest training source: {max(map(len, self.train_src))} characters, "
                f"longest target: {self.max_target_words} words",
            ]
        )


def prepare(
    pairs: pd.DataFrame,
    seed: int,
    min_word_count: int = 1,
    max_train_pairs: int | None = None,
    held_out_fraction: float = HELD_OUT_FRACTION,
    validation_fraction: float = VALIDATION_FRACTION,
) -> TranslationData:
    """Tokenise ``pairs`` (columns ``english``, ``chinese``), split them and build the vocabularies.

    1. The held-out split takes ``held_out_fraction`` of the *distinct* Chinese sentences with
       all their rows (:func:`split_by_source`); it is only used for the final BLEU.
    2. The validation split takes ``validation_fraction`` of the remaining distinct sources the
       same way; it gives the per-epoch validation loss and accuracy (curves, early stopping).
    3. ``max_train_pairs`` samples the training pairs (smoke profile). The vocabularies are
       built from the training pairs only; English words seen fewer than ``min_word_count``
       times become ``<unk>``. Validation pairs with an unseen character are dropped.
    """
    pairs = pairs.copy()
    pairs["src_tokens"] = pairs["chinese"].map(chinese_tokens)
    pairs["tgt_tokens"] = pairs["english"].map(lambda text: english_tokens(text) if isinstance(text, str) else None)
    pairs["source_key"] = pairs["src_tokens"].map("".join)
    held_out_mask = split_by_source(pairs["source_key"].tolist(), held_out_fraction, seed)
    rest = pairs[~held_out_mask].reset_index(drop=True)
    held_out_df = pairs[held_out_mask].reset_index(drop=True)
    validation_mask = split_by_source(rest["source_key"].tolist(), validation_fraction, seed + 1)
    train_df = rest[~validation_mask].reset_index(drop=True)
    validation_df = rest[validation_mask].reset_index(drop=True)
    if max_train_pairs is not None:
        train_df = train_df.sample(n=min(max_train_pairs, len(train_df)), random_state=seed).reset_index(drop=True)
        validation_df = validation_df.head(max(64, max_train_pairs // 8))

    src_itos, src_stoi = build_vocab(train_df["src_tokens"], [PAD])
    tgt_itos, tgt_stoi = build_vocab(train_df["tgt_tokens"], [PAD, UNK, START, END], min_count=min_word_count)
    known = validation_df["src_tokens"].map(lambda toks: all(ch in src_stoi for ch in toks))
    validation_df = validation_df[known].reset_index(drop=True)
    data = TranslationData(
        pairs=pairs,
        held_out_mask=held_out_mask,
        train_df=train_df,
        validation_df=validation_df,
        held_out_df=held_out_df,
        src_itos=src_itos,
        src_stoi=src_stoi,
        tgt_itos=tgt_itos,
        tgt_stoi=tgt_stoi,
        min_word_count=min_word_count,
        train_src=[],
        train_tgt=[],
        validation_src=[],
        validation_tgt=[],
    )
    data.train_src = [[src_stoi[ch] for ch in toks] for toks in train_df["src_tokens"]]
    data.train_tgt = [data.encode_target(toks) for toks in train_df["tgt_tokens"]]
    data.validation_src = [[src_stoi[ch] for ch in toks] for toks in validation_df["src_tokens"]]
    data.validation_tgt = [data.encode_target(toks) for toks in validation_df["tgt_tokens"]]
    return data
