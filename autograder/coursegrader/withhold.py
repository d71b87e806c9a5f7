"""The data a graded kernel reads: the bundle's data with the held-out truth withheld.

A kernel that could read the test labels could look its accuracy up instead of
earning it. The grader therefore gives graded kernels a copy of ``data/``
(through ``COURSE_DATA_DIR``, bound read-only into the sandbox instead of
``data/``) that says nothing about the truth, in any file, column, order or size:

* the IMDB test reviews (the second half of the CSV) have no sentiment label, and
  come in :func:`coursekit.data.grading_order` (by the SHA-256 of their text). The
  bundle's file is sorted by label, so its order alone gave every label away;
* the Tatoeba pairs whose Chinese sentence is in the translation labs' held-out
  split (:func:`coursekit.nmt.split_by_source` with the labs' seed) are taken out of
  their place and written at the end, each Chinese sentence once, in the order of
  its SHA-256, with no English and a generic credit line. In place, a pair's
  position told the English (the file is sorted by English length, pairs with the
  same English side by side); its credit line named the English sentence's Tatoeba
  number, which other pairs' credit lines join to its text; and the number of pairs
  of a Chinese sentence is the number of its references.

The training pairs and reviews are byte for byte the same lines, in the same order,
so training and validation are unchanged. Which sentences and reviews are held out
is public (the splits are); their English and labels are not. The copy is a function
of the public data alone: ``tests/test_withheld_data.py`` builds it from data whose
truth was changed and finds it byte-identical, and measures on the real copy that no
position or column predicts a label or a reference.

The copy has its own ``SHA256SUMS`` and a ``WITHHELD.json`` saying what is missing
(:func:`coursekit.data.withheld`). It is built once per version of the data, under
``autograder/.cache/`` (which the sandbox never mounts, except this one folder).
The grader maps the kernel's order back to the truth on its side
(:func:`coursekit.data.imdb_test_in_grading_order`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from coursekit import data, nmt
from coursekit.checks.translation import SEED

from .course import AUTOGRADER

CACHE = AUTOGRADER / ".cache"
VERSION = "2"
"""Part of the cache key: bump it when what is withheld changes."""

WHAT = {
    data.IMDB_FILE: "the sentiment labels of the 25,000 test reviews (which come in the order of the SHA-256 "
    "of their text)",
    data.TATOEBA_FILE: "the English and the credit line of the translation labs' held-out sentences (each held-out "
    "Chinese sentence once, at the end, in the order of its SHA-256)",
}
WITHHELD_CREDIT = (
    "CC-BY 2.0 (France) Attribution: tatoeba.org (this held-out sentence's credit is withheld while grading)"
)
"""The credit line of every held-out sentence in the copy: the real one names the English sentence."""


def withheld_data_dir(source: Path = data.DATA_DIR, cache: Path = CACHE) -> Path:
    """The folder with the truth withheld, built on first use (safe to call from several processes)."""
    key = hashlib.sha256((source / "SHA256SUMS").read_bytes() + VERSION.encode()).hexdigest()[:16]
    target = cache / f"withheld-{key}"
    if (target / data.WITHHELD_FILE).is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        _write_imdb(source, build)
        _write_tatoeba(source, build)
        sums = {name: data.sha256_of(build / name) for name in WHAT}
        (build / "SHA256SUMS").write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
        (build / data.WITHHELD_FILE).write_text(json.dumps(WHAT, indent=1) + "\n")
        os.chmod(build, 0o755)
        try:
            build.rename(target)
        except OSError:  # another process was faster
            pass
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


def unlabelled_imdb(frame):
    """The kernel's IMDB table: the training rows as they are, then the test reviews without
    labels, in :func:`coursekit.data.grading_order`."""
    import pandas as pd

    # Threat: the file's order (by label, then by review id) and the loader's public shuffle of it
    # give every label away. In grading_order a review's place depends on its text alone.
    test = frame["review"].iloc[data.IMDB_TRAIN_ROWS :].tolist()
    unlabelled = pd.DataFrame({"review": [test[i] for i in data.grading_order(test)], "sentiment": ""})
    return pd.concat([frame.iloc[: data.IMDB_TRAIN_ROWS], unlabelled], ignore_index=True)


def tatoeba_lines(lines: list[str], held_out) -> list[str]:
    """The kernel's Tatoeba lines: the other pairs' lines as they are, in their order, then each
    held-out Chinese sentence once, in the order of its SHA-256, with no English and a generic credit."""
    # Threats, each stopped here: a held-out pair's place (next to pairs with the same English,
    # in a file sorted by English length), its credit line (the English sentence's number, which
    # training pairs' credit lines join to its text) and its repetitions (one per reference).
    kept = [line for line, hide in zip(lines, held_out, strict=True) if not hide]
    chinese = {line.split("\t")[1] for line, hide in zip(lines, held_out) if hide}
    ordered = sorted(chinese, key=lambda text: hashlib.sha256(text.encode("utf-8")).digest())
    # The split is over distinct keys (split_by_source), and every key keeps a row, so the
    # kernel's held-out split, validation split and training rows come out exactly the same.
    return kept + [f"\t{text}\t{WITHHELD_CREDIT}\n" for text in ordered]


def _write_imdb(source: Path, build: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(data.verified_path(data.IMDB_FILE, source), compression="gzip", keep_default_na=False)
    # mtime=0: the same bytes on every build (a time stamp would differ, harmlessly, but for nothing)
    unlabelled_imdb(frame).to_csv(
        build / data.IMDB_FILE, index=False, compression={"method": "gzip", "compresslevel": 1, "mtime": 0}
    )


def _write_tatoeba(source: Path, build: Path) -> None:
    pairs = data.load_tatoeba(data_dir=source)
    keys = ["".join(nmt.chinese_tokens(text)) for text in pairs["chinese"]]
    held_out = nmt.split_by_source(keys, nmt.HELD_OUT_FRACTION, SEED)
    with gzip.open(data.verified_path(data.TATOEBA_FILE, source), "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    with gzip.GzipFile(build / data.TATOEBA_FILE, "wb", compresslevel=6, mtime=0) as out:
        out.write("".join(tatoeba_lines(lines, held_out)).encode("utf-8"))
