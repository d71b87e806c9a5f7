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
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"
HELD_OUT_FRACTION = 0.05
VALIDATION_FRACTION = 0.03
EXAMPLE_SENTENCES = ("你今晚會去派對嗎?", "我有一隻貓。", "她明年會去美國嗎?", "我们明天去公园吧。", "这本书很有意思。")
"""Sentences both labs translate and draw (and `make report` compares across models)."""


# --------------------------------------------------------------------------- tokens
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


# --------------------------------------------------------------------------- split
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


def make_batches(src, tgt, batch_size: int, rng: np.random.Generator | None = None
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
            raise ValueError("cannot translate an empty sentence: the input has no characters "
                             "after removing white space")
        unseen = sorted({ch for ch in tokens if ch not in self.src_stoi})
        if unseen:
            raise ValueError(f"cannot translate {sentence!r}: the character(s) {' '.join(unseen)} never "
                             f"appear in the training data, so the model has no embedding for them; "
                             f"rephrase without them (or, for a Traditional/Simplified variant, try the "
                             f"other form)")
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

    def evaluation_set(self, limit: int | None = None) -> tuple[list[str], list[list[str]], int]:
        """The held-out BLEU set: one entry per distinct source sentence, with all its references.

        Returns (sources, references, refused): sources containing a character never seen in
        training cannot be encoded and are counted in ``refused`` instead.
        """
        sources, references, refused = [], [], 0
        for key, group in self.held_out_df.groupby("source_key", sort=True):
            if any(ch not in self.src_stoi for ch in key):
                refused += 1
                continue
            sources.append(group["chinese"].iloc[0])
            references.append([" ".join(toks) for toks in group["tgt_tokens"]])
        if limit is not None:
            sources, references = sources[:limit], references[:limit]
        return sources, references, refused

    def describe(self) -> str:
        shared = set(self.train_df["source_key"]) & set(self.held_out_df["source_key"])
        return "\n".join([
            f"training pairs: {len(self.train_df):,}   validation pairs: {len(self.validation_df):,}   "
            f"held-out pairs: {len(self.held_out_df):,} ({self.held_out_mask.mean():.1%} of the rows; "
            f"{self.held_out_df['source_key'].nunique():,} of {self.pairs['source_key'].nunique():,} "
            f"distinct source sentences)",
            f"source sentences in both training and held-out: {len(shared)}",
            f"Chinese vocabulary: {len(self.src_itos):,} characters; English vocabulary: "
            f"{len(self.tgt_itos):,} words (min count {self.min_word_count})",
            f"longest training source: {max(map(len, self.train_src))} characters, "
            f"longest target: {self.max_target_words} words"])


def prepare(pairs: pd.DataFrame, seed: int, min_word_count: int = 1,
            max_train_pairs: int | None = None, held_out_fraction: float = HELD_OUT_FRACTION,
            validation_fraction: float = VALIDATION_FRACTION) -> TranslationData:
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
    pairs["tgt_tokens"] = pairs["english"].map(english_tokens)
    pairs["source_key"] = pairs["src_tokens"].map("".join)
    held_out_mask = split_by_source(pairs["source_key"].tolist(), held_out_fraction, seed)
    rest = pairs[~held_out_mask].reset_index(drop=True)
    held_out_df = pairs[held_out_mask].reset_index(drop=True)
    validation_mask = split_by_source(rest["source_key"].tolist(), validation_fraction, seed + 1)
    train_df = rest[~validation_mask].reset_index(drop=True)
    validation_df = rest[validation_mask].reset_index(drop=True)
    if max_train_pairs is not None:
        train_df = train_df.sample(n=min(max_train_pairs, len(train_df)),
                                   random_state=seed).reset_index(drop=True)
        validation_df = validation_df.head(max(64, max_train_pairs // 8))

    src_itos, src_stoi = build_vocab(train_df["src_tokens"], [PAD])
    tgt_itos, tgt_stoi = build_vocab(train_df["tgt_tokens"], [PAD, UNK, START, END], min_count=min_word_count)
    known = validation_df["src_tokens"].map(lambda toks: all(ch in src_stoi for ch in toks))
    validation_df = validation_df[known].reset_index(drop=True)
    data = TranslationData(pairs=pairs, held_out_mask=held_out_mask, train_df=train_df,
                           validation_df=validation_df, held_out_df=held_out_df,
                           src_itos=src_itos, src_stoi=src_stoi, tgt_itos=tgt_itos, tgt_stoi=tgt_stoi,
                           min_word_count=min_word_count, train_src=[], train_tgt=[],
                           validation_src=[], validation_tgt=[])
    data.train_src = [[src_stoi[ch] for ch in toks] for toks in train_df["src_tokens"]]
    data.train_tgt = [data.encode_target(toks) for toks in train_df["tgt_tokens"]]
    data.validation_src = [[src_stoi[ch] for ch in toks] for toks in validation_df["src_tokens"]]
    data.validation_tgt = [data.encode_target(toks) for toks in validation_df["tgt_tokens"]]
    return data


# --------------------------------------------------------------------------- decoding
# A model plugs into the searches with two functions:
#   encode(source_ids (1, src_len) int32) -> (state, memory)
#   decode_step(word_ids (n,) int32, state, memory) -> (log_probs (n, vocab), state, weights (n, src_len))
# `state` and `memory` are tensors or tuples of tensors whose first axis is the hypothesis
# (n rows); `memory` (what the attention reads: keys, values, source mask) comes with one row
# per sentence and is repeated here for the hypotheses of that sentence.
def _repeat(memory, n: int):
    import tensorflow as tf
    return tf.nest.map_structure(lambda t: tf.repeat(t, n, axis=0), memory)


def _rows(state, rows):
    import tensorflow as tf
    return tf.nest.map_structure(lambda t: tf.gather(t, rows), state)


def greedy_search(encode: Callable, decode_step: Callable, source_ids: Sequence[int], max_length: int,
                  start_id: int, end_id: int) -> tuple[list[int], list[np.ndarray]]:
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


def beam_search(encode: Callable, decode_step: Callable, source_ids: Sequence[int], beam_width: int,
                max_length: int, start_id: int, end_id: int) -> tuple[list[int], list[np.ndarray]]:
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
    live, finished = [(0.0, [], [])], []   # (total log-probability, word ids, attention rows)
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
                survivors.append((float(scores[parent, word]), words + [word], attention + [weights[parent]]))
                rows.append(parent)
        if not survivors:
            break
        live, state = survivors, _rows(state, rows)
    candidates = finished or live  # nothing finished within max_length: fall back to the live ones
    _, words, attention = max(candidates, key=lambda hyp: hyp[0] / (len(hyp[1]) + 1))
    return words, attention


def greedy_batch(encode: Callable, decode_step: Callable, sources: Sequence[Sequence[int]], max_length: int,
                 start_id: int, end_id: int, batch_size: int = 256) -> list[list[int]]:
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


def beam_batch(encode: Callable, decode_step: Callable, sources: Sequence[Sequence[int]], beam_width: int,
               max_length: int, start_id: int, end_id: int, batch_size: int = 128) -> list[list[int]]:
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
        live = [[(0.0, [])] for _ in idx]          # per sentence: (total log-probability, word ids)
        finished: list[list] = [[] for _ in idx]
        row_sentence = np.arange(len(idx))         # the sentence of each state row
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
                        survivors.append((float(scores[parent, word]), words + [word]))
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


# --------------------------------------------------------------------------- scoring
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


def bleu_table(encode: Callable, decode_step: Callable, data: "TranslationData", sources: Sequence[str],
               references: Sequence[Sequence[str]], beam_width: int):
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
        rows.append(dict(decoding=name, BLEU=round(bleu.score, 2),
                         precisions="/".join(f"{p:.0f}" for p in bleu.precisions),
                         brevity_penalty=round(bleu.bp, 3), seconds=round(time.perf_counter() - start, 1)))
    return pd.DataFrame(rows).set_index("decoding"), hypotheses


def example_attention(translate: Callable, sentences: Sequence[str]) -> list[dict]:
    """Greedy translation and attention matrix of each sentence that can be encoded (`make report`)."""
    examples = []
    for sentence in sentences:
        try:
            text, weights = translate(sentence)
        except ValueError:
            continue
        examples.append(dict(source=sentence, source_tokens=chinese_tokens(sentence), translation=text,
                             words=text.split(), weights=np.asarray(weights).tolist()))
    return examples


# --------------------------------------------------------------------------- checkpoints and history
def checkpoint_dir(run: str, profile_name: str, env: dict | None = None) -> Path:
    """``$NMT_CHECKPOINT_DIR/<run>-<profile>`` (``checkpoints/`` next to the notebook by default)."""
    import os
    env = os.environ if env is None else env
    return Path(env.get("NMT_CHECKPOINT_DIR", "checkpoints")) / f"{run}-{profile_name}"


class TrainingLog:
    """Per-epoch records (loss, validation loss and accuracy, seconds) kept next to a checkpoint.

    The history is saved as ``history.json`` in the checkpoint folder whenever a checkpoint is
    written, so a notebook that restores a model instead of training it can still plot its curves.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.epochs: list[dict] = []

    @property
    def path(self) -> Path:
        return self.folder / "history.json"

    def add(self, **record) -> dict:
        record = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in record.items()}
        self.epochs.append(record)
        return record

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.epochs, indent=1))

    def load(self) -> list[dict]:
        self.epochs = json.loads(self.path.read_text()) if self.path.exists() else []
        return self.epochs


@dataclass
class Training:
    """What :func:`fit` did: the per-epoch log, and whether the model was restored or trained."""
    log: TrainingLog
    restored: bool
    seconds: float
    best_epoch: int

    @property
    def history(self) -> list[dict]:
        return self.log.epochs


def fit(train_step: Callable, eval_step: Callable, data: TranslationData, checkpoint, folder: Path, *,
        epochs: int, batch_size: int, patience: int | None, seed: int, out=print,
        on_epoch: Callable[[dict], None] | None = None) -> Training:
    """Train epoch by epoch with checkpoints, validation curves and early stopping, or restore.

    If ``folder`` already holds a checkpoint, it is restored with its history and nothing is
    trained. Otherwise every epoch runs ``train_step`` on each training batch, then measures the
    teacher-forced validation loss and accuracy with ``eval_step``; the checkpoint is saved
    whenever the validation loss improves, training stops after ``patience`` epochs without
    improvement (``None``: never early), and the best epoch's weights are restored at the end.
    ``on_epoch(record)`` is called after each epoch with the current weights (``make bench`` measures
    BLEU there; its time is not counted in the epoch's seconds).
    """
    import tensorflow as tf

    manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1)
    log = TrainingLog(folder)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log.load()
        best = min(log.epochs, key=lambda e: e["validation_loss"])["epoch"] if log.epochs else 0
        out(f"Found checkpoint {manager.latest_checkpoint}: restored it and SKIPPED training "
            f"(delete {folder} to train again).")
        return Training(log, True, sum(e["seconds"] for e in log.epochs), best)

    rng = np.random.default_rng(seed)
    start, best_loss, best_epoch = _now(), np.inf, 0
    for epoch in range(1, epochs + 1):
        epoch_start, losses, step_times = _now(), [], []
        for source, target in data.batches(batch_size, rng):
            step_start = _now()
            losses.append(float(train_step(source, target)))
            step_times.append(_now() - step_start)
            if epoch == 1 and len(losses) == 1:
                out(f"first step (tracing and graph optimisation included): {step_times[0]:.1f} s")
        seconds = _now() - epoch_start
        validation_loss, validation_accuracy = teacher_forced_metrics(
            eval_step, data.batches(256, split="validation"))
        record = log.add(epoch=epoch, train_loss=float(np.mean(losses)), validation_loss=validation_loss,
                         validation_accuracy=validation_accuracy, seconds=seconds,
                         ms_per_step=1000 * float(np.median(step_times)))
        improved = validation_loss < best_loss
        if improved:
            best_loss, best_epoch = validation_loss, epoch
            manager.save(checkpoint_number=epoch)
        log.save()
        out(f"epoch {epoch:2d}  loss {record['train_loss']:.3f}  validation loss {validation_loss:.3f}  "
            f"accuracy {validation_accuracy:.3f}  {seconds:5.1f} s  (median step "
            f"{record['ms_per_step']:.0f} ms){'  *' if improved else ''}")
        if on_epoch is not None:
            on_epoch(record)
        if patience and epoch - best_epoch >= patience:
            out(f"no improvement for {patience} epochs: stopping early")
            break
    seconds = _now() - start
    checkpoint.restore(manager.latest_checkpoint)
    out(f"training took {seconds:.0f} s; kept epoch {best_epoch} (validation loss {best_loss:.3f}; "
        f"* = improved, saved)")
    return Training(log, False, seconds, best_epoch)


def _now() -> float:
    import time
    return time.perf_counter()
