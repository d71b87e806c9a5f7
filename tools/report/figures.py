"""Draw the report's figures with matplotlib and turn each into an image the page holds inline.

Every figure becomes a base64 PNG data URI (:class:`Image`), so the page needs no other file.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PAGE_INCHES = 10.6
"""The width of the page's text column in inches (at 96 CSS pixels per inch): figures aim to fit it."""

FIGURE_DPI = 192
"""Figures are rendered at twice the CSS pixel density and shown at one inch = 96 CSS pixels, so text
has the same size in every figure (and stays sharp on high-density screens)."""

SENTIMENT_CURVES = (
    ("train_loss", "training loss"),
    ("train_accuracy", "training accuracy"),
    ("validation_accuracy", "validation accuracy"),
)


@dataclass(frozen=True)
class Image:
    """A figure as the page shows it: a PNG data URI, its width in CSS pixels, its alternative text."""

    uri: str
    width: int
    alt: str


def figure_data_uri(fig, dpi: int = FIGURE_DPI) -> tuple[str, int]:
    """The figure as a base64 PNG data URI and its width in CSS pixels; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    png = buffer.getvalue()
    width = int.from_bytes(png[16:20], "big")  # the IHDR chunk
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), round(width * 96 / dpi)


def figure_image(fig, alt: str) -> Image:
    """``fig`` (closed afterwards) as an :class:`Image` as wide as the figure (at most the page)."""
    uri, width = figure_data_uri(fig)
    return Image(uri, width, alt)


def translation_curves(histories: Mapping[str, list]) -> Image:
    """Training loss, validation loss and accuracy per epoch, one line per translation run."""
    from coursekit.plotting import training_curves

    fig = training_curves(histories, panel_width=PAGE_INCHES / 3, panel_height=3.1)
    return figure_image(fig, "training curves of the translation runs")


def sentiment_curves(history: list) -> Image:
    from coursekit.plotting import training_curves

    fig = training_curves({"sentiment": history}, SENTIMENT_CURVES, panel_width=PAGE_INCHES / 3, panel_height=2.8)
    return figure_image(fig, "sentiment training curves")


def tokens(example: Mapping) -> tuple[list[str], list[str]]:
    """The source tokens (Chinese characters) and the translated words of an example sentence."""
    source = example.get("source_tokens")
    if not isinstance(source, list):
        source = [ch for ch in str(example.get("source") or "") if not ch.isspace()]
    words = example.get("words")
    if not isinstance(words, list):
        words = str(example.get("translation") or "").split()
    return [str(t) for t in source], [str(w) for w in words]


def weights_problem(example: Mapping) -> str | None:
    """Why ``example``'s attention weights cannot be drawn (None if they can)."""
    import numpy as np

    source, words = tokens(example)
    if not words:
        return "the translation is empty: nothing to draw"
    if example.get("weights") is None:
        return "no attention weights saved"
    try:
        shape = np.asarray(example.get("weights"), dtype=float).shape
    except (TypeError, ValueError):
        return "the attention weights are not a matrix of numbers"
    if shape != (len(words), len(source)):
        return f"the attention weights have shape {shape}, not {len(words)} words x {len(source)} source tokens"
    return None


def attention_figure(panels: Sequence[tuple[str, Mapping]]):
    """The heatmaps of one sentence, one per (run, example), side by side, with the shipped CJK font.

    Panels are sized so that every character gets about a quarter inch; when they do not all fit
    across the page they wrap onto balanced rows (four runs of a long sentence: two rows of two).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from coursekit.plotting import font_families, heatmap

    sizes = [tokens(ex) for _, ex in panels]
    cols = max([len(source) for source, _ in sizes] + [1])
    rows = max([len(words) for _, words in sizes] + [1])
    longest_word = max([len(w) for _, words in sizes for w in words] + [1])
    need = max(2.6, 0.22 * cols + 0.085 * longest_word + 0.5)  # inches: cells + row labels + margins
    per_row = max(1, min(len(panels), int(PAGE_INCHES // need)))
    grid_rows = math.ceil(len(panels) / per_row)
    per_row = math.ceil(len(panels) / grid_rows)  # balanced: 2 + 2 rather than 3 + 1
    width = min(need * 1.15, PAGE_INCHES / per_row)
    height = max(2.2, 0.27 * rows + 1.3)
    with plt.rc_context({"font.family": font_families()}):
        fig, axes = plt.subplots(grid_rows, per_row, figsize=(width * per_row, height * grid_rows), squeeze=False)
        axes = list(axes.flat)
        for ax in axes[len(panels) :]:
            ax.set_axis_off()
        for ax, (run, example), (source, words) in zip(axes, panels, sizes):
            problem = weights_problem(example)
            if problem is None:
                heatmap(
                    np.asarray(example["weights"], dtype=float),
                    source,
                    words,
                    ax=ax,
                    title=run,
                    font_size=10.5,
                    colorbar=False,
                )
            else:
                ax.set_axis_off()
                ax.set_title(run, fontsize=10.5)
                ax.text(
                    0.5,
                    0.5,
                    textwrap.fill(problem, 28),
                    ha="center",
                    va="center",
                    fontsize=9.5,
                    color="0.4",
                    transform=ax.transAxes,
                )
        fig.tight_layout(w_pad=2.0, h_pad=1.5)
    return fig


def attention_image(source: str, panels: Sequence[tuple[str, Mapping]]) -> Image:
    return figure_image(attention_figure(panels), f"attention weights for {source}")
