"""Format the runs' numbers for the page; the templates use these as filters.

Every formatter shows a missing or non-numeric value as :data:`DASH`.
"""

from __future__ import annotations

from typing import Any

from .collect import number

DASH = "—"


def fmt(value: Any, digits: int = 1) -> str:
    """``19.1``, ``4,312,577.0``: a number with ``digits`` decimals and thousands separators."""
    result = number(value)
    return DASH if result is None else f"{result:,.{digits}f}"


def fmt_int(value: Any) -> str:
    result = number(value)
    return DASH if result is None else f"{round(result):,}"


def fmt_seconds(value: Any) -> str:
    """``8.2 s``, ``42 s``, ``8 min 23 s``, ``2 h 05 min``."""
    seconds = number(value)
    if seconds is None:
        return DASH
    if seconds < 90:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 90:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_bool(value: Any, yes: str = "yes", no: str = "no") -> str:
    return DASH if not isinstance(value, bool) else (yes if value else no)


def plural(count: int, word: str) -> str:
    """``1 cell error``, ``2 cell errors``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


FILTERS = {"fmt": fmt, "fmt_int": fmt_int, "fmt_seconds": fmt_seconds, "fmt_bool": fmt_bool, "plural": plural}
"""The formatters under the names the templates use."""
