"""Compare answers: which submissions hand in the same code, exactly or nearly.

An answer cell's code becomes a stream of tokens (:func:`tokens`): comments,
blank lines and layout are dropped, Python keywords, builtins, well-known module
names (``np``, ``tf``, ``keras``...), library attribute names (``tf.nn.softmax``)
and keyword-argument names stay as they are, while the student's own names become
``V`` and every literal ``N`` (number) or ``S`` (string). Renaming variables,
rewording comments or changing a constant therefore changes nothing.

The fingerprint of an answer (:func:`fingerprint`) is the set of hashes of all its
runs of ``K`` consecutive tokens (the cells are small, so every k-gram is kept
rather than a winnowed sample as in MOSS). As in MOSS's "base file", k-grams that
the released stub already contains are removed: the class skeleton every student
starts from is not evidence of anything. The similarity of two answers is the
Jaccard index of their fingerprints, in [0, 1].

:func:`clusters` groups the answers of one assignment: answers that are the same
text once whitespace is ignored form a group, and groups whose similarity reaches
the threshold are linked (single linkage). A high similarity is a reason for a
person to look at two answers side by side, never a verdict.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

K = 5
"""Tokens per k-gram."""
THRESHOLD = 0.6
"""Similarity from which two different answers are reported as near-identical."""
MIN_OWN = 8
"""Answers with fewer k-grams of their own (beyond the stub) are too small to compare."""

MODULES = frozenset(
    {
        "np",
        "numpy",
        "tf",
        "tensorflow",
        "keras",
        "layers",
        "math",
        "random",
        "os",
        "sys",
        "pd",
        "pandas",
        "plt",
        "matplotlib",
        "torch",
        "nn",
        "F",
        "scipy",
        "sklearn",
        "collections",
        "itertools",
        "functools",
        "re",
        "json",
        "time",
    }
)
KEPT = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | MODULES | {"self", "cls"}
_FALLBACK = re.compile(r"""[A-Za-z_]\w*|\d[\w.]*|"[^"\n]*"?|'[^'\n]*'?|\S""")
_DROP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}


def squeeze(code: str) -> str:
    """The text with all whitespace collapsed: what "identical" compares."""
    return " ".join(code.split())


def _raw(code: str) -> list[tuple[int, str]]:
    """(type, text) of every meaningful token; code that does not tokenize is split on a regex."""
    try:
        found = [
            (t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in _DROP
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        found, depth = [], 0  # crude, but only a fallback: a comment ends at the first '#'
        for line in code.splitlines():
            words = _FALLBACK.findall(line.split("#", 1)[0])
            for word in words:
                depth += (word in ("(", "[", "{")) - (word in (")", "]", "}"))
                found.append(
                    (
                        tokenize.NAME
                        if word[0].isalpha() or word[0] == "_"
                        else tokenize.NUMBER
                        if word[0].isdigit()
                        else tokenize.STRING
                        if word[0] in "\"'"
                        else tokenize.OP,
                        word,
                    )
                )
            if words and depth <= 0:
                found.append((tokenize.NEWLINE, "\n"))
    return [(kind, "\n" if kind == tokenize.NEWLINE else text) for kind, text in found]


def tokens(code: str) -> list[str]:
    """The normalised token stream of some Python code (see the module's docstring)."""
    raw = _raw(code)
    out: list[str] = []
    depth, in_def = 0, False
    for i, (kind, text) in enumerate(raw):
        before = raw[i - 1][1] if i else ""
        after = raw[i + 1][1] if i + 1 < len(raw) else ""
        if kind == tokenize.NAME:
            if text == "def":
                in_def = True
            if text in KEPT or (text.startswith("__") and text.endswith("__")):
                out.append(text)
            elif before == ".":  # an attribute: the library's name unless it hangs off self
                out.append("V" if i >= 2 and raw[i - 2][1] in ("self", "cls") else text)
            elif after == "=" and depth > 0 and not in_def:  # a keyword argument of a call
                out.append(text)
            else:
                out.append("V")
        elif kind == tokenize.NUMBER:
            out.append("N")
        elif kind in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
            out.append("S")
        else:
            if text in ("(", "[", "{"):
                depth += 1
            elif text in (")", "]", "}"):
                depth = max(0, depth - 1)
            elif text == ":" and depth == 0:
                in_def = False
            out.append(text)
    return out


def _hash(gram: Iterable[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=4096)
def fingerprint(code: str, stub: str | None = None, k: int = K) -> frozenset[int]:
    """Hashes of every k-gram of the normalised tokens, less those of the stub."""
    toks = tokens(code)
    grams = {_hash(toks[i : i + k]) for i in range(max(1, len(toks) - k + 1))} if toks else set()
    return frozenset(grams - fingerprint(stub, k=k)) if stub else frozenset(grams)


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(a: str, b: str, stub: str | None = None) -> float:
    """How much of their code two answers share, from 0 (nothing) to 1 (the same up to names,
    literals, comments and layout)."""
    return jaccard(fingerprint(a, stub), fingerprint(b, stub))


@lru_cache(maxsize=4096)
def _texts(code: str) -> tuple[str, ...]:
    return tuple(text for _, text in _raw(code))


def is_stub(code: str, stub: str | None) -> bool:
    """The released stub handed in as is (comments and whitespace aside)."""
    if not stub:
        return False
    return squeeze(code) == squeeze(stub) or _texts(code) == _texts(stub)


def handed_in_stub(answers: dict, stub: str | None) -> list:
    """Keys whose answer is the released stub, unchanged."""
    return sorted(key for key, code in answers.items() if code is not None and is_stub(code, stub))


@dataclass
class Cluster:
    """Answers shared by several submissions: ``groups`` of keys with identical answers (whitespace
    aside), linked when there are several by near-identical ``pairs`` (group index, group index,
    similarity) of at least the threshold; ``pairs`` lists every pair of groups in the cluster."""

    groups: list[list]
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "identical" if len(self.groups) == 1 else "near-identical"

    @property
    def members(self) -> list:
        return [key for group in self.groups for key in group]

    @property
    def highest(self) -> float:
        return max((s for _, _, s in self.pairs), default=1.0)

    @property
    def lowest(self) -> float:
        return min((s for _, _, s in self.pairs), default=1.0)


def clusters(
    answers: dict[Hashable, str | None], threshold: float = THRESHOLD, stub: str | None = None
) -> list[Cluster]:
    """Submissions of one assignment whose answers are identical or near-identical.

    ``answers`` maps a key (a student) to the text of its answer cells (None: nothing to
    compare). Answers that are the released ``stub`` (see :func:`handed_in_stub`) and empty
    answers are left out; answers with too little code of their own are only compared
    exactly. Clusters come largest first.
    """
    by_text: dict[str, list] = {}
    original: dict[str, str] = {}
    for key, code in answers.items():
        if code is None or not code.strip() or is_stub(code, stub):
            continue
        by_text.setdefault(squeeze(code), []).append(key)
        original.setdefault(squeeze(code), code)
    texts = list(by_text)
    prints = [fingerprint(original[text], stub) for text in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    scores: dict[tuple[int, int], float] = {}
    for i, j in combinations(range(len(texts)), 2):
        if len(prints[i]) < MIN_OWN or len(prints[j]) < MIN_OWN:
            continue
        score = jaccard(prints[i], prints[j])
        scores[i, j] = score
        if score >= threshold:
            parent[root(i)] = root(j)
    components: dict[int, list[int]] = {}
    for i in range(len(texts)):
        components.setdefault(root(i), []).append(i)
    found = []
    for members in components.values():
        if len(members) == 1 and len(by_text[texts[members[0]]]) < 2:
            continue
        members.sort(key=lambda i: (-len(by_text[texts[i]]), sorted(map(str, by_text[texts[i]]))))
        groups = [sorted(by_text[texts[i]], key=str) for i in members]
        pairs = [
            (a, b, scores.get((min(i, j), max(i, j)), 0.0)) for (a, i), (b, j) in combinations(enumerate(members), 2)
        ]
        found.append(Cluster(groups, sorted(pairs, key=lambda p: -p[2])))
    return sorted(found, key=lambda c: (-len(c.members), -c.highest, str(c.members[0])))
