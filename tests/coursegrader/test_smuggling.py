"""Answers that bring a table of answers in are flagged for review, whatever the table's shape;
answers that are code are not (coursegrader.smuggling; milliseconds)."""

from __future__ import annotations

import base64

import nbformat
import numpy as np
import pytest

from coursegrader.cells import is_answer, reference_answer
from coursegrader.course import ROOT
from coursegrader.smuggling import smuggled_data
from coursegrader.table import read_expected

LABELS = np.random.default_rng(0).integers(0, 2, 25_000).astype(np.uint8)
TABLE = base64.b64encode(np.packbits(LABELS).tobytes()).decode()
CHUNKS = [TABLE[i : i + 80] for i in range(0, len(TABLE), 80)]
WORDS = np.frombuffer(np.packbits(LABELS).tobytes()[:3120], ">u8").tolist()

# The same 25,000 labels, in every shape a student could paste them in.
DISGUISES = {
    "one base64 string": f'_LABELS = "{TABLE}"',
    "bytes": f"_LABELS = {np.packbits(LABELS).tobytes()!r}",
    "a list of 0 and 1": f"_LABELS = {LABELS.tolist()}",
    "64-bit integers": f"_LABELS = {WORDS}",
    "short strings joined": "_LABELS = (\n" + "\n".join(f'    "{c}"' for c in CHUNKS) + "\n)",
    "one comment read back from In[]": f"# {TABLE}\n_LABELS = get_ipython().user_ns['In'][-1][2:4170]",
    "many comments": "\n".join(f"# {c}" for c in CHUNKS) + "\nx = 1",
    "white space": "x = 1" + "".join(" \t"[b] for b in LABELS) + "\n",
    "names": "\n".join(f"_{c.replace('+', '_').replace('/', '_').rstrip('=')} = 1" for c in CHUNKS),
    "an IPython magic line": f"%env LABELS={TABLE}",
}


def answered(body: str):
    nb = nbformat.read(ROOT / "labs" / "sentiment" / "sentiment.ipynb", as_version=4)
    next(c for c in nb.cells if is_answer(c) and c.cell_type == "code").source = body
    return nb


@pytest.mark.parametrize("disguise", DISGUISES)
def test_a_pasted_table_of_labels_is_flagged_in_any_shape(disguise):
    reasons = smuggled_data(answered(DISGUISES[disguise] + "\n\n\n" + reference_answer("sentiment")))
    assert reasons, f"not flagged: {disguise}"
    assert all("review" in r for r in reasons), reasons  # says what the TA should do


def test_the_flag_says_where_and_how_much():
    (reason,) = smuggled_data(answered(DISGUISES["one base64 string"]))
    assert "answer cell `luong_attention` carries a 4,170-character literal, comment or name (line 1" in reason


def test_no_answer_of_the_demo_classes_is_flagged_but_the_pasted_table():
    """Every demo answer, honest or hostile, whose expected status is not a flag for this."""
    expected = read_expected("smoke", "hostile") | read_expected("smoke", "honest")
    for path in sorted((ROOT / "autograder" / "demo").glob("*/*/*/*.ipynb")):
        student, assignment = path.parts[-3], path.parts[-2]
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - the truncated notebook: graded as invalid, never measured
            continue
        flagged = bool(smuggled_data(nb))
        assert flagged == (student == "pastes-test-labels"), (student, expected[student, assignment])
