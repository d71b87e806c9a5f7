"""Finding the hidden verdicts' code in a page, however it is disguised (shared by the tests)."""

from __future__ import annotations

import base64
import contextlib
import html
import re

from coursegrader.course import ROOT

HIDDEN_SOURCES = sorted((ROOT / "autograder" / "coursegrader" / "hidden").glob("*.py"))


def secret_lines() -> list[str]:
    """Lines of the hidden verdicts that appear nowhere a graded kernel can read (lab library, labs)."""
    public = set()
    for path in list((ROOT / "coursekit").rglob("*.py")) + list((ROOT / "labs").rglob("*.ipynb")):
        public |= {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    lines = {line.strip() for path in HIDDEN_SOURCES for line in path.read_text(encoding="utf-8").splitlines()}
    return sorted(line for line in lines if len(line) >= 20 and line not in public)


def decoded_views(text: str) -> list[str]:
    """``text`` and what hides in it: HTML entities undone, reversed, base64 and hex runs decoded
    (forwards and reversed)."""
    views = [text, html.unescape(text)]
    views += [v[::-1] for v in views]
    found = []
    for view in views:
        for run in re.findall(r"[A-Za-z0-9+/=]{24,}", view):
            for candidate in (run, run[::-1]):
                with contextlib.suppress(ValueError):
                    found.append(base64.b64decode(candidate + "=" * (-len(candidate) % 4)).decode("utf-8", "ignore"))
        for run in re.findall(r"(?:[0-9a-fA-F]{2}){12,}", view):
            for candidate in (run, run[::-1]):
                with contextlib.suppress(ValueError):
                    found.append(bytes.fromhex(candidate).decode("utf-8", "ignore"))
    return views + found + [f[::-1] for f in found]


def leaked_lines(text: str) -> list[str]:
    """The secret lines of the hidden verdicts found in ``text``, in any of its decoded views."""
    views = decoded_views(text)
    return [line for line in secret_lines() if any(line in view for view in views)]
