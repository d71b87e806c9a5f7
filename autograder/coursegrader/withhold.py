"""The data a graded kernel reads: the bundle's data with the held-out truth withheld.

A kernel that could read the test labels could look its accuracy up instead of
earning it. The grader therefore gives graded kernels a copy of ``data/``
(through ``COURSE_DATA_DIR``, bound read-only into the sandbox instead of
``data/``) in which

* the IMDB test reviews (the second half of the CSV) have no sentiment label;
* the Tatoeba pairs whose Chinese sentence is in the translation labs' held-out
  split (:func:`coursekit.nmt.split_by_source` with the labs' seed) have no English.

Everything else is byte for byte the same data, so training is unchanged. The
copy has its own ``SHA256SUMS`` and a ``WITHHELD.json`` saying what is missing
(:func:`coursekit.data.withheld`). It is built once per version of the data, under
``autograder/.cache/`` (which the sandbox never mounts, except this one folder).
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
VERSION = "1"
"""Part of the cache key: bump it when what is withheld changes."""

WHAT = {
    data.IMDB_FILE: "the sentiment labels of the 25,000 test reviews",
    data.TATOEBA_FILE: "the English of the translation labs' held-out sentences",
}


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


def _write_imdb(source: Path, build: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(data.verified_path(data.IMDB_FILE, source), compression="gzip", keep_default_na=False)
    frame.loc[data.IMDB_TRAIN_ROWS :, "sentiment"] = ""
    frame.to_csv(build / data.IMDB_FILE, index=False, compression={"method": "gzip", "compresslevel": 1})


def _write_tatoeba(source: Path, build: Path) -> None:
    pairs = data.load_tatoeba(data_dir=source)
    keys = ["".join(nmt.chinese_tokens(text)) for text in pairs["chinese"]]
    held_out = nmt.split_by_source(keys, nmt.HELD_OUT_FRACTION, SEED)
    with gzip.open(data.verified_path(data.TATOEBA_FILE, source), "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    assert len(lines) == len(held_out)
    with gzip.open(build / data.TATOEBA_FILE, "wt", encoding="utf-8", compresslevel=6) as out:
        for line, hide in zip(lines, held_out):
            english, rest = line.split("\t", 1)
            out.write(("" if hide else english) + "\t" + rest)
