"""Withheld means no trace: the graded kernel's copy of data/ says nothing about a test label or a
held-out reference, in any file, column, order or size (on the real data, in seconds).

Two kinds of proof. *Non-interference*: the copy is a function of the public data alone, so the
copy built from data whose truth was changed (labels moved between test reviews, the test rows
re-ordered; other English, other credit lines, other places and repetitions for the held-out
pairs) is the same, row for row and line for line. *Measurement*: on the real copy, what a kernel
could try (a review's row, its neighbour's label, the best cut in the row order, a held-out
sentence's place, its neighbours, its credit line) predicts no better than chance, where the
previous copy gave every label and 134 references away (see data/README.md for both sets of
numbers). And what must not change does not: student mode, and training while grading.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from coursegrader.demo import attacks
from coursegrader.requests import find_check, lab_settings
from coursegrader.withhold import WITHHELD_CREDIT, tatoeba_lines, unlabelled_imdb, withheld_data_dir
from coursekit import data, nmt, profiles
from coursekit.checks.translation import SEED

HALF = data.IMDB_TRAIN_ROWS


def beyond_chance(n: int, z: float = 4.0) -> float:
    """The accuracy a guess that knows nothing reaches on n balanced yes/no items only once in
    ~30,000 tries (z = 4 binomial standard deviations above 1/2)."""
    return 0.5 + z * 0.5 / math.sqrt(n)


def fingerprint(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, ensure_ascii=False).encode() + b"\0")
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- what a kernel reads


@pytest.fixture(scope="module")
def copy():
    return withheld_data_dir()


@pytest.fixture(scope="module")
def frame():
    return pd.read_csv(data.verified_path(data.IMDB_FILE), compression="gzip", keep_default_na=False)


@pytest.fixture(scope="module")
def kernel_reviews(copy, frame):
    """The test rows of the kernel's copy, and (the grader's side) each one's true label."""
    seen = pd.read_csv(copy / data.IMDB_FILE, compression="gzip", keep_default_na=False)
    label_of = dict(zip(frame["review"].iloc[HALF:], frame["sentiment"].iloc[HALF:] == "positive"))
    test = seen.iloc[HALF:]
    return seen, test, np.array([label_of[text] for text in test["review"]], int)


@pytest.fixture(scope="module")
def tatoeba():
    """(the bundle's lines, its pairs, the held-out mask, {held-out Chinese: its references})."""
    with gzip.open(data.verified_path(data.TATOEBA_FILE), "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    pairs = data.load_tatoeba()
    held_out = nmt.split_by_source([_key(t) for t in pairs["chinese"]], nmt.HELD_OUT_FRACTION, SEED)
    references: dict[str, set[str]] = {}
    for chinese, english in zip(pairs["chinese"][held_out], pairs["english"][held_out]):
        references.setdefault(chinese, set()).add(english)
    return lines, pairs, held_out, references


def _key(chinese: str) -> str:
    return "".join(nmt.chinese_tokens(chinese))


# --------------------------------------------------------------------------- IMDB


def test_the_kernels_reviews_have_no_label_and_no_column_but_text(kernel_reviews):
    seen, test, _ = kernel_reviews
    assert list(seen.columns) == ["review", "sentiment"] and len(test) == HALF
    assert (test["sentiment"] == "").all(), "every test label is blank"
    assert (seen["sentiment"].iloc[:HALF] != "").all(), "the training labels are there"


def test_no_position_in_the_kernels_reviews_predicts_a_label(kernel_reviews):
    """A review's row, its neighbour's label and the best cut anywhere in the row order all guess
    the label no better than a coin (before: the row alone was right for all 25,000)."""
    _, _, labels = kernel_reviews
    n = len(labels)
    by_row = np.mean((np.arange(n) >= n // 2) == labels)  # the bundle's layout: negatives first
    assert abs(by_row - 0.5) < beyond_chance(n) - 0.5, f"the row predicts the label: {by_row:.4f}"
    neighbour = np.mean(labels[1:] == labels[:-1])  # a label known, its neighbour guessed from it
    assert abs(neighbour - 0.5) < beyond_chance(n - 1) - 0.5, f"neighbours share labels: {neighbour:.4f}"
    # The best single cut of the row order, in either direction, is 1/2 + D/2 with D the
    # Kolmogorov-Smirnov distance between where the positives and the negatives are; its bound
    # for independence at alpha = 1e-4.
    positives, negatives = np.cumsum(labels) / labels.sum(), np.cumsum(1 - labels) / (n - labels.sum())
    best_cut = 0.5 + np.abs(positives - negatives).max() / 2
    bound = 0.5 + 0.5 * math.sqrt(-math.log(1e-4 / 2) / 2) * math.sqrt(1 / labels.sum() + 1 / (n - labels.sum()))
    assert best_cut < bound, f"a cut in the row order separates the labels: {best_cut:.4f} >= {bound:.4f}"


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_the_grader_scores_the_kernels_order_against_the_true_labels(kernel_reviews, profile):
    """The request names rows of the kernel's test split; the truth, on the grader's side, is the
    label of exactly those reviews (the kernel's copy is in grading order, not the student's)."""
    check, _ = find_check("sentiment", "test_accuracy_at_least_0_80")
    request = check.request(np.random.default_rng(1), lab_settings("sentiment", profile))
    _, _, labels = kernel_reviews
    assert np.array_equal(check.truth(request, data.DATA_DIR)["labels"], labels[request["indices"]])


def test_the_kernels_review_order_is_the_sha256_of_the_text(kernel_reviews):
    _, test, _ = kernel_reviews
    texts = test["review"].tolist()
    assert np.array_equal(data.grading_order(texts), np.arange(len(texts)))


def test_the_hostile_row_order_attack_reads_every_label_from_the_old_copy_and_none_from_this_one(
    frame, kernel_reviews, monkeypatch
):
    """The demo student ``reads-row-order`` (coursegrader.demo.attacks), on the copy as it was (the
    labels blanked in place) and as it is."""
    old = frame.copy()
    old.loc[HALF:, "sentiment"] = ""
    truth = dict(zip(frame["review"].iloc[HALF:], (frame["sentiment"].iloc[HALF:] == "positive").astype(int)))
    for table, expected in ((old, (0.999, 1.0)), (kernel_reviews[0], (1 - beyond_chance(HALF), beyond_chance(HALF)))):
        monkeypatch.setattr(pd, "read_csv", lambda *args, table=table, **kwargs: table)
        namespace: dict = {}
        exec(attacks.ROW_ORDER_FINDER, namespace)
        found = namespace["_find_labels"]()
        accuracy = np.mean([found[text] == label for text, label in truth.items()])
        assert expected[0] <= accuracy <= expected[1], accuracy


def test_duplicate_reviews_give_nothing_away(frame):
    """418 texts occur twice (data/README.md). Within the test half identical texts always carry
    the same label, so which copy comes first says nothing; 123 test reviews also occur among the
    training reviews, with the same label there: that is what the training data teaches any model
    (it is in student mode too), not a trace of the copy."""
    test = frame.iloc[HALF:]
    labels_per_text = test.groupby("review")["sentiment"].nunique()
    assert (labels_per_text == 1).all(), "identical test texts with different labels: grading_order would leak"
    assert (test["review"].value_counts() > 1).sum() == 191
    train_label = dict(zip(frame["review"].iloc[:HALF], frame["sentiment"].iloc[:HALF]))
    shared = test[test["review"].isin(train_label)]
    assert len(shared) == 123 and (shared["review"].map(train_label) == shared["sentiment"]).all()


def test_the_kernels_reviews_are_the_same_whatever_the_labels_and_their_order(frame):
    """Non-interference: move the labels between the test reviews and shuffle the test rows, and
    the kernel's table (hence its file, its size, its order) does not change."""
    rng = np.random.default_rng(0)
    other = frame.copy()
    test = HALF + rng.permutation(HALF)
    other.iloc[HALF:] = frame.iloc[test].to_numpy()
    other.iloc[HALF:, other.columns.get_loc("sentiment")] = rng.permutation(frame["sentiment"].iloc[HALF:].to_numpy())
    assert not other.equals(frame)
    assert unlabelled_imdb(other).equals(unlabelled_imdb(frame))


def test_the_kernels_files_are_exactly_their_tables_compressed_without_a_time_stamp(copy, kernel_reviews, frame):
    """So a file's bytes and size are a function of its table, which the tests above show to be
    a function of the public data."""
    for name in (data.IMDB_FILE, data.TATOEBA_FILE):
        assert (copy / name).read_bytes()[4:8] == b"\0\0\0\0", f"{name}: gzip header has a time stamp"
    seen, _, _ = kernel_reviews
    assert seen.equals(unlabelled_imdb(frame))


# --------------------------------------------------------------------------- Tatoeba


@pytest.fixture(scope="module")
def kernel_pairs(copy):
    return data.load_tatoeba(data_dir=copy)


def test_the_kernels_held_out_sentences_come_last_once_each_without_english_or_credit(kernel_pairs, tatoeba):
    _, pairs, held_out, references = tatoeba
    hidden = kernel_pairs["english"].isna().to_numpy()
    assert hidden.sum() == len(references) and not hidden[: -hidden.sum()].any(), "held out: the last rows"
    assert sorted(kernel_pairs["chinese"][hidden]) == sorted(references), "each held-out Chinese sentence once"
    assert (kernel_pairs["attribution"][hidden] == WITHHELD_CREDIT).all()
    assert kernel_pairs[~hidden].reset_index(drop=True).equals(pairs[~held_out].reset_index(drop=True))


def test_no_credit_line_leads_to_a_held_out_reference(kernel_pairs, tatoeba):
    """Join every number a held-out line's credit names to the other lines' credit numbers: no
    reference comes out (before: 134 of the 1,456 held-out pairs' English)."""
    references = tatoeba[3]
    english_of: dict[str, set[str]] = {}
    hidden = kernel_pairs["english"].isna()
    for credit, english in zip(kernel_pairs["attribution"][~hidden], kernel_pairs["english"][~hidden]):
        for number in re.findall(r"#(\d+)", credit):
            english_of.setdefault(number, set()).add(english)
    recovered = [
        chinese
        for chinese, credit in zip(kernel_pairs["chinese"][hidden], kernel_pairs["attribution"][hidden])
        if any(english_of.get(n, set()) & references[chinese] for n in re.findall(r"#(\d+)", credit))
    ]
    assert not recovered, f"{len(recovered)} references recovered from credit lines, e.g. {recovered[:3]}"


def test_no_position_of_a_held_out_sentence_tells_its_english(kernel_pairs, tatoeba):
    """The bundle's file is sorted by English length, with pairs of the same English together: a
    held-out pair's place told its length (Spearman 0.99) and its neighbours often its English. In
    the copy, the place of a held-out sentence is uncorrelated with its references' length, and no
    neighbouring line has one of its references as its English."""
    references = tatoeba[3]
    hidden = np.flatnonzero(kernel_pairs["english"].isna().to_numpy())
    english = kernel_pairs["english"].tolist()
    neighbours = [
        english[p]
        for row in hidden
        for p in (row - 1, row + 1)
        if 0 <= p < len(english) and english[p] is not None and english[p] in references[kernel_pairs["chinese"][row]]
    ]
    assert not neighbours, f"a neighbouring line holds the reference: {neighbours[:3]}"
    lengths = [np.mean([len(e) for e in references[kernel_pairs["chinese"][row]]]) for row in hidden]
    rho = np.corrcoef(np.arange(len(hidden)), pd.Series(lengths).rank())[0, 1]  # Spearman
    assert abs(rho) < 4 / math.sqrt(len(hidden) - 1), f"place and English length correlate: {rho:.3f}"


def test_the_kernels_tatoeba_is_the_same_whatever_the_references(tatoeba):
    """Non-interference: give the held-out pairs other English, other credit lines (numbers and
    names), other places in the file and other repetitions, and the kernel's lines do not change."""
    lines, pairs, held_out, _ = tatoeba
    rng = np.random.default_rng(0)
    hidden = np.flatnonzero(held_out)
    other = list(lines)
    for row in hidden:  # other English and credit, same Chinese
        _, chinese, _ = lines[row].rstrip("\n").split("\t")
        fake = pairs["english"][int(rng.integers(len(pairs)))]
        other[row] = (
            f"{fake}\t{chinese}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{rng.integers(1e7)} (x) & #1 (y)\n"
        )
    other += [other[row] for row in hidden[:50]]  # more references for some
    mask = np.concatenate([held_out, np.ones(50, bool)])
    order = np.concatenate([np.flatnonzero(~mask), rng.permutation(np.flatnonzero(mask))])  # other places
    places = set(rng.choice(len(order), size=mask.sum(), replace=False).tolist())
    kept, hid = iter(order[~mask[order]]), iter(order[mask[order]])
    moved = [next(hid) if i in places else next(kept) for i in range(len(order))]
    other_lines, other_mask = [other[i] for i in moved], mask[moved]
    assert other_lines != lines
    assert tatoeba_lines(other_lines, other_mask) == tatoeba_lines(lines, held_out)


# --------------------------------------------------------------------------- what must not change


@pytest.fixture(scope="module")
def student_imdb():
    return data.load_imdb()


def test_student_mode_reads_exactly_what_it_read_before(student_imdb):
    """Fingerprints of the student-mode splits, taken with the previous release (dda77a1)."""
    splits = student_imdb
    assert fingerprint(*[[splits[k].texts, splits[k].labels.tolist()] for k in ("train", "validation", "test")]) == (
        "62c5787f5aa3f824"
    )
    pairs = data.load_tatoeba()
    assert fingerprint(pairs.values.tolist()) == "bac721fdd68120d0"


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_training_while_grading_sees_the_same_data_in_the_same_order(
    copy, kernel_pairs, tatoeba, student_imdb, profile
):
    settings = profiles.SETTINGS["nmt"][profile]
    kwargs = dict(min_word_count=settings["min_word_count"], max_train_pairs=settings["max_train_pairs"])
    student, graded = nmt.prepare(tatoeba[1], SEED, **kwargs), nmt.prepare(kernel_pairs, SEED, **kwargs)
    assert graded.references_withheld and not student.references_withheld
    for split in ("train_df", "validation_df"):
        columns = ["english", "chinese", "attribution"]
        assert getattr(graded, split)[columns].equals(getattr(student, split)[columns]), split
    assert (graded.src_itos, graded.tgt_itos) == (student.src_itos, student.tgt_itos)
    assert graded.evaluation_set(settings["eval_limit"])[0] == student.evaluation_set(settings["eval_limit"])[0]
    if profile == "smoke":
        full, kept = student_imdb, data.load_imdb(data_dir=copy)
        for split in ("train", "validation"):
            assert kept[split].texts == full[split].texts and np.array_equal(kept[split].labels, full[split].labels)
        assert kept["test"].labels is None
        assert kept["test"].texts == [full["test"].texts[i] for i in data.grading_order(full["test"].texts)]
