"""Flag answers that bring data in: the one route to the withheld truth no sandbox can close.

The graded kernel never sees a test label (:mod:`coursegrader.withhold`), but the student
had them all at home, in student mode, and the answer cell is theirs: a table of the
25,000 labels fits in a 4,200-character string, in a comment read back from IPython's
input history, or in a few hundred large integers. That cannot be prevented; it can be
seen. An attention layer needs a few hundred characters of literals; a table of labels
needs thousands. :func:`smuggled_data` measures the code answer cells and returns a
reason to flag the submission for review (it costs no points: a person decides).

Threats and what catches them, each measured over all code answer cells of a notebook:

* one long string, bytes, comment or name (a base64 or hex table, in a literal, in a
  comment read back from ``In``, after an IPython magic): :data:`LONGEST_LITERAL`;
* a table cut into many short pieces: :data:`DATA_CHARACTERS`, the sum of every string,
  bytes, number and comment token and of every distinct name;
* a table of numbers (0/1 labels, or 64-bit words of them): :data:`NUMBERS`;
* any other channel (white space, code that is itself the table): :data:`ANSWER_CHARACTERS`,
  the size of the answer.

Any text carries at most a few bits per character, so a full table of 25,000 labels needs
thousands of characters somewhere; a smaller table (a few hundred labels, or the
corrections to a weak model) can stay under these limits. The flags are a person's cue,
not a proof.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from .cells import grade_id, solution_cells

LONGEST_LITERAL = 1_000
"""Characters of the longest string, bytes, comment or name: an attention layer's are a line long."""
DATA_CHARACTERS = 3_000
"""Characters of all strings, bytes, numbers, comments and distinct names together: a layer needs a
few hundred; a table of the 25,000 test labels needs 3,125 bytes at least, 4,168 characters in base64."""
NUMBERS = 400
"""Number literals: a layer needs a handful; the 25,000 labels fit in 391 64-bit integers."""
ANSWER_CHARACTERS = 10_000
"""The whole answer: the reference layer is about a thousand characters; the 25,000 labels as spaces
and tabs would be 25,000."""


@dataclass(frozen=True)
class Literals:
    """What one answer cell carries, measured from its tokens."""

    characters: int  # of every string, bytes, number and comment token, and of every distinct name
    longest: int  # the longest such token
    longest_line: int  # where it starts (1-based)
    numbers: int  # how many number literals
    size: int  # of the whole cell


DATA_TOKENS = (tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT)


def measure(source: str) -> Literals:
    """Measure a cell's literals; a cell Python cannot tokenize (a syntax error) is measured line
    by line, every line counted as data."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        spans = [(len(line), i + 1) for i, line in enumerate(source.splitlines())]
        return Literals(sum(n for n, _ in spans), *max(spans, default=(0, 0)), 0, len(source))
    names = {t.string: t.start[0] for t in tokens if t.type == tokenize.NAME}  # a name used twice counts once
    spans = [(len(t.string), t.start[0]) for t in tokens if t.type in DATA_TOKENS]
    spans += [(len(name), line) for name, line in names.items()]
    numbers = sum(t.type == tokenize.NUMBER for t in tokens)
    return Literals(sum(n for n, _ in spans), *max(spans, default=(0, 0)), numbers, len(source))


def smuggled_data(nb) -> list[str]:
    """Reasons to flag ``nb`` for a person's review (empty when its answers look like code)."""
    reasons, total, numbers, size = [], 0, 0, 0
    for cell in solution_cells(nb):
        found = measure(cell.source)
        total, numbers, size = total + found.characters, numbers + found.numbers, size + found.size
        if found.longest > LONGEST_LITERAL:
            reasons.append(
                f"answer cell `{grade_id(cell)}` carries a {found.longest:,}-character literal, comment or name "
                f"(line {found.longest_line}; limit {LONGEST_LITERAL:,}): review it for a pasted table of answers"
            )
    where = "the answer cells carry"
    if not reasons and total > DATA_CHARACTERS:
        reasons.append(
            f"{where} {total:,} characters of literals, comments and names (limit {DATA_CHARACTERS:,}): review them "
            f"for a pasted table of answers"
        )
    if numbers > NUMBERS:
        reasons.append(f"{where} {numbers:,} number literals (limit {NUMBERS:,}): review them for a pasted table")
    if size > ANSWER_CHARACTERS:
        reasons.append(
            f"the answers are {size:,} characters long (limit {ANSWER_CHARACTERS:,}), far more than any layer "
            f"needs: review what they carry"
        )
    return reasons
