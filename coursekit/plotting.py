"""Plotting plumbing: the shipped CJK font and a labelled heatmap.

Matplotlib's default font (DejaVu Sans) has no Chinese glyphs, so Chinese
tick labels come out as empty boxes and Matplotlib warns ``Glyph ... missing
from font(s) DejaVu Sans``. The bundle ships an OFL-licensed font that covers
Traditional and Simplified characters as well as Latin text
(``fonts/TaipeiSansTCBeta-Regular.ttf``); :func:`register_cjk_font` adds it
to Matplotlib and :func:`heatmap` draws every label with it, falling back to
DejaVu Sans only for characters the shipped font lacks.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

from . import ROOT

FONT_FILE = ROOT / "fonts" / "TaipeiSansTCBeta-Regular.ttf"
"""The shipped font used for labels that contain Chinese characters."""

FALLBACK_FAMILY = "DejaVu Sans"


@lru_cache(maxsize=None)
def register_cjk_font(path: str | Path = FONT_FILE) -> str:
    """Register ``path`` with Matplotlib's font manager and return its family name.

    Safe to call many times (the result is cached). Raises ``FileNotFoundError``
    with the expected location when the font file is missing.
    """
    from matplotlib import font_manager

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Font file {path} is missing; it ships with the course bundle in fonts/. "
            f"Restore it (for example `git checkout -- fonts/`) or download the bundle again.")
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def font_families(path: str | Path = FONT_FILE) -> list[str]:
    """The family list to use for mixed Chinese/Latin text: the shipped font first."""
    return [register_cjk_font(path), FALLBACK_FAMILY]


def heatmap(matrix, x_labels: Sequence[str], y_labels: Sequence[str], *, ax=None,
            title: str | None = None, x_title: str | None = None, y_title: str | None = None,
            cmap: str = "viridis", font_size: float = 13, colorbar: bool = True,
            font_path: str | Path = FONT_FILE):
    """Draw ``matrix`` (rows = ``y_labels``, columns = ``x_labels``) as a labelled heatmap.

    Every tick label and title is drawn with the shipped CJK font, so Chinese
    characters render instead of empty boxes. Returns the Matplotlib figure;
    pass ``ax`` to draw into an existing axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D matrix, got shape {matrix.shape}")
    rows, cols = matrix.shape
    if (rows, cols) != (len(y_labels), len(x_labels)):
        raise ValueError(f"matrix has shape {matrix.shape} but there are {len(y_labels)} row "
                         f"labels and {len(x_labels)} column labels; they must match")

    rc = {"font.family": font_families(font_path), "axes.unicode_minus": False}
    with plt.rc_context(rc):
        if ax is None:
            width = min(2.0 + 0.55 * cols, 16.0)
            height = min(1.6 + 0.45 * rows, 14.0)
            fig, ax = plt.subplots(figsize=(width, height))
        else:
            fig = ax.figure
        image = ax.imshow(matrix, cmap=cmap, aspect="auto", vmin=0.0)
        ax.set_xticks(range(cols), labels=list(x_labels), fontsize=font_size)
        ax.set_yticks(range(rows), labels=list(y_labels), fontsize=font_size)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        if x_title:
            ax.set_xlabel(x_title, fontsize=font_size)
        if y_title:
            ax.set_ylabel(y_title, fontsize=font_size)
        if title:
            ax.set_title(title, fontsize=font_size, pad=12)
        if colorbar:
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
    return fig
