"""Embed the shipped CJK font in the page, cut down to the characters the page uses.

The page then shows its Chinese sentences on machines without a CJK font, and stays small: a few
dozen glyphs instead of the whole font.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path


def cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def cjk_font_subset(text: str, font_path: Path | None = None) -> str | None:
    """The shipped CJK font, reduced to the CJK characters of ``text``, as base64 WOFF.

    None when ``text`` has no such characters or the font (or fontTools) is unavailable: the browser
    then falls back to its own fonts.
    """
    chars = "".join(sorted({ch for ch in text if cjk(ch)}))
    if not chars:
        return None
    try:
        from fontTools import subset

        from coursekit.plotting import FONT_FILE

        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        font = subset.load_font(str(font_path or FONT_FILE), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        buffer = io.BytesIO()
        subset.save_font(font, buffer, options)
    except Exception:  # noqa: BLE001 - the report still renders, with the reader's fonts
        return None
    return base64.b64encode(buffer.getvalue()).decode("ascii")
