"""Short text for pages and messages (one place, so every page cuts text the same way)."""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_line(text: str, limit: int = 300) -> str:
    """The first non-blank line of ``text``, shortened to ``limit`` characters."""
    return shorten((str(text).strip().splitlines() or [""])[0], limit)
