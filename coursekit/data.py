"""The shipped data sets: checksum verification and deterministic splits.

Every file under ``data/`` is listed in ``data/SHA256SUMS``. A loader verifies
the file before reading it, so a truncated download or a Git LFS pointer shows
up as a clear error that names the file, not as a mysterious parsing failure.

**While a notebook is graded**, its kernel reads another copy of the data
(``COURSE_DATA_DIR``, made by the grader) in which the held-out truth is
withheld: the IMDB test labels and the English references of the translation
labs' held-out sentences. That folder's ``WITHHELD.json`` says what is missing;
the loaders then return ``None`` in its place (:attr:`TextSplit.labels`, the
``english`` column), and the notebooks' display cells say "withheld while
grading". The grader scores predictions and translations against the truth itself.

Nothing else in that copy may tell the truth either: the test reviews come in
:func:`grading_order` (a function of their text alone, not the file's order, which
is sorted by label), and the held-out translation pairs are moved to the end of
the file, one line per Chinese sentence, without their attribution (see
``autograder/coursegrader/withhold.py``). Training and validation data, and their
order, are the same in both modes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import ROOT

DATA_DIR = ROOT / "data"
SUMS_FILE = DATA_DIR / "SHA256SUMS"
DATA_ENV = "COURSE_DATA_DIR"
"""Environment variable naming another data folder (the grader's copy with the truth withheld)."""
WITHHELD_FILE = "WITHHELD.json"
WITHHELD_NOTE = "withheld while grading"

IMDB_FILE = "imdb_reviews.csv.gz"
TATOEBA_FILE = "cmn.txt.gz"

#: aclImdb's own split: the CSV holds its 25,000 training reviews first, then its
#: 25,000 test reviews (see data/README.md for the exact row order).
IMDB_TRAIN_ROWS = 25_000
SPLIT_SEED = 1234


class DataError(RuntimeError):
    """A shipped data file is missing or does not match its checksum."""


def data_dir(folder: str | Path | None = None) -> Path:
    """``folder``, else ``$COURSE_DATA_DIR``, else the bundle's ``data/``."""
    if folder is not None:
        return Path(folder)
    return Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else DATA_DIR


def withheld(folder: str | Path | None = None) -> dict[str, str]:
    """``{file name: what is withheld from it}`` of a data folder (empty for the bundle's own)."""
    path = data_dir(folder) / WITHHELD_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def expected_checksums(sums_file: Path = SUMS_FILE) -> dict[str, str]:
    """Read ``SHA256SUMS`` (``sha256sum`` format) into ``{file name: hex digest}``."""
    sums = {}
    for line in sums_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verified_path(name: str, folder: str | Path | None = None) -> Path:
    """Return the path of a shipped data file after checking its SHA-256.

    Raises :class:`DataError` naming the file and the fix when the file is
    missing or its content differs from ``SHA256SUMS``.
    """
    folder = data_dir(folder)
    sums = expected_checksums(folder / "SHA256SUMS")
    if name not in sums:
        raise DataError(f"{name} is not listed in {folder / 'SHA256SUMS'}; known files: {', '.join(sorted(sums))}.")
    path = folder / name
    fix = (
        f"Restore it from the course repository (for example "
        f"`git checkout -- data/{name}`, or download the bundle again); "
        f"`sha256sum -c SHA256SUMS` inside data/ checks every file."
    )
    if not path.is_file():
        raise DataError(f"Data file {path} is missing. {fix}")
    actual = _cached_sha256(str(path), path.stat().st_size, path.stat().st_mtime_ns)
    if actual != sums[name]:
        raise DataError(
            f"Data file {path} is corrupt or incomplete: its SHA-256 is {actual}, expected {sums[name]}. {fix}"
        )
    return path


@lru_cache(maxsize=8)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so an edited file is hashed again.
    return sha256_of(Path(path))


@dataclass(frozen=True)
class TextSplit:
    """Review texts and 0/1 labels (1 = positive) of one split; ``labels`` is None while grading
    (the test split's labels stay with the grader)."""

    texts: list[str]
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int | None) -> TextSplit:
        if n is None:
            return self
        return TextSplit(self.texts[:n], None if self.labels is None else self.labels[:n])


def grading_order(texts: list[str]) -> np.ndarray:
    """The order in which a graded kernel gets the test reviews: by the SHA-256 of their text.

    The bundle's file is sorted by label, and the student-mode order is a public, seeded
    shuffle of it, so either order would give every label away. This one depends on the
    texts alone. Identical texts sort next to each other, in their order in ``texts``; they
    carry the same label in this data (tests/test_withheld_data.py checks it), so which of
    them comes first says nothing either.
    """
    keys = [hashlib.sha256(text.encode("utf-8")).digest() for text in texts]
    return np.array(sorted(range(len(texts)), key=keys.__getitem__), dtype=np.int64)


def load_imdb(
    validation_size: int = 2_500, seed: int = SPLIT_SEED, data_dir: str | Path | None = None
) -> dict[str, TextSplit]:
    """The IMDB reviews as ``{"train", "validation", "test"}`` splits.

    We keep aclImdb's own train/test split: the 25,000 test reviews are about
    other movies than the training reviews, so test accuracy measures how the
    model does on films it has never seen. Each part is shuffled with a fixed
    seed (the CSV is sorted by label), and the last ``validation_size`` reviews
    of the shuffled training part are held out for validation. While grading,
    the test reviews come unlabelled in the copy's own order, :func:`grading_order`.
    """
    path = verified_path(IMDB_FILE, data_dir)
    texts, labels = _read_imdb(str(path), path.stat().st_size, path.stat().st_mtime_ns)
    test_withheld = IMDB_FILE in withheld(data_dir)
    known = labels[:IMDB_TRAIN_ROWS] if test_withheld else labels
    if len(texts) != 2 * IMDB_TRAIN_ROWS or known.sum() != len(known) // 2:
        raise DataError(f"{IMDB_FILE} does not have the expected 50,000 balanced rows.")

    rng = np.random.default_rng(seed)
    train_order = rng.permutation(IMDB_TRAIN_ROWS)
    test_order = IMDB_TRAIN_ROWS + rng.permutation(IMDB_TRAIN_ROWS)
    if test_withheld:  # the grader's copy holds the test reviews in grading_order already
        test_order = np.arange(IMDB_TRAIN_ROWS, 2 * IMDB_TRAIN_ROWS)

    def take(rows, known=True) -> TextSplit:
        return TextSplit([texts[i] for i in rows], labels[rows] if known else None)

    cut = IMDB_TRAIN_ROWS - validation_size
    return {
        "train": take(train_order[:cut]),
        "validation": take(train_order[cut:]),
        "test": take(test_order, known=not test_withheld),
    }


@lru_cache(maxsize=2)
def _read_imdb(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, ...], np.ndarray]:
    # Kept for the process (keyed on size and mtime, like the checksum): the sentiment lab's
    # top-words check reads the first test reviews again, and parsing the CSV is most of a second.
    # Immutable: callers get new lists and label arrays.
    df = pd.read_csv(path, compression="gzip", keep_default_na=False)
    labels = (df["sentiment"] == "positive").to_numpy(dtype="int32")
    labels.flags.writeable = False
    return tuple(df["review"].tolist()), labels


def imdb_test_in_grading_order(data_dir: str | Path | None = None) -> TextSplit:
    """The labelled test reviews in :func:`grading_order` (the grader's side: it needs the labels)."""
    test = load_imdb(data_dir=data_dir)["test"]
    if test.labels is None:
        raise DataError("the test labels are withheld in this data folder (the grader's copy)")
    order = grading_order(test.texts)
    return TextSplit([test.texts[i] for i in order], test.labels[order])


def load_tatoeba(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The Tatoeba English-Mandarin pairs as a DataFrame.

    Columns: ``english``, ``chinese`` and ``attribution`` (the CC-BY credit of
    both sentences), in file order. While grading, the held-out sentences come last,
    once each, with ``english`` None and no attribution (their references stay with
    the grader); the other pairs are the same, in the same order.
    """
    with gzip.open(verified_path(TATOEBA_FILE, data_dir), "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != 3]
    if bad:
        raise DataError(f"{TATOEBA_FILE}: lines {bad[:5]} do not have 3 tab-separated fields.")
    pairs = pd.DataFrame(rows, columns=["english", "chinese", "attribution"])
    if TATOEBA_FILE in withheld(data_dir):
        pairs["english"] = pairs["english"].where(pairs["english"] != "", None)
    return pairs
