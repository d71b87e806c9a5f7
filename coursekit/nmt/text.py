"""Tokens, splits, vocabularies and padded batches of the translation labs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"


def normalize(text: str) -> str:
    """NFKC (full-width ？ becomes ?), lower case, invisible format characters removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def english_tokens(text: str) -> list[str]:
    """Lower-cased English words, with each punctuation mark as a token of its own."""
    text = normalize(text).replace("\u2019", "'")
    return re.findall(r"\w+(?:'\w+)*|[^\w\s]", text)


def chinese_tokens(text: str) -> list[str]:
    """One token per Chinese character (white space is dropped)."""
    return [ch for ch in normalize(text) if not ch.isspace()]


def split_by_source(keys: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows: a random ``fraction`` of the *distinct* keys, with all their rows."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    _, held_out_rows = next(splitter.split(np.zeros((len(keys), 1)), groups=list(keys)))
    mask = np.zeros(len(keys), dtype=bool)
    mask[held_out_rows] = True
    return mask


def build_vocab(token_lists, specials: Sequence[str], min_count: int = 1):
    """(id -> token list, token -> id dict): specials first, then by frequency, ties alphabetically."""
    counts = Counter(tok for toks in token_lists for tok in toks)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    itos = list(specials) + kept
    return itos, {tok: i for i, tok in enumerate(itos)}


def pad(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Right-pad id lists with 0 to the longest one: (len(sequences), longest) int32."""
    out = np.zeros((len(sequences), max(map(len, sequences))), dtype=np.int32)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = seq
    return out


def make_batches(
    src, tgt, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Length-bucketed, padded (source, target) batches.

    Pairs are sorted by source length (plus a random jitter of up to 2 characters,
    so batches differ between epochs) and cut into batches, which come in random
    order. Without ``rng`` the order is deterministic and unshuffled (evaluation).
    """
    lengths = np.array([len(s) for s in src], dtype=float)
    if rng is not None:
        lengths += rng.uniform(0, 2, size=len(src))
    order = np.argsort(lengths, kind="stable")
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    sequence = rng.permutation(len(chunks)) if rng is not None else range(len(chunks))
    for k in sequence:
        idx = chunks[k]
        yield pad([src[i] for i in idx]), pad([tgt[i] for i in idx])
