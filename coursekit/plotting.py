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

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from . import ROOT

FONT_FILE = ROOT / "fonts" / "TaipeiSansTCBeta-Regular.ttf"
"""The shipped font used for labels that contain Chinese characters."""

FALLBACK_FAMILY = "DejaVu Sans"


@cache
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
            f"Restore it (for example `git checkout -- fonts/`) or download the bundle again."
        )
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def font_families(path: str | Path = FONT_FILE) -> list[str]:
    """The family list to use for mixed Chinese/Latin text: the shipped font first."""
    return [register_cjk_font(path), FALLBACK_FAMILY]


def heatmap(
    matrix,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    ax=None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    cmap: str = "viridis",
    font_size: float = 13,
    colorbar: bool = True,
    font_path: str | Path = FONT_FILE,
):
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
        raise ValueError(
            f"matrix has shape {matrix.shape} but there are {len(y_labels)} row "
            f"labels and {len(x_labels)} column labels; they must match"
        )

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


NMT_CURVES = (
    ("train_loss", "training loss"),
    ("validation_loss", "validation loss"),
    ("validation_accuracy", "validation token accuracy"),
)
"""The per-epoch metrics of the NMT labs' ``history`` records, with their axis titles."""


def training_curves(
    histories, metrics=NMT_CURVES, *, title: str | None = None, panel_width: float = 4.6, panel_height: float = 3.4
):
    """Plot per-epoch metrics of one or several runs on shared axes.

    ``histories`` maps a run name to its history: a list of records such as
    ``{"epoch": 1, "train_loss": 2.3, "validation_loss": 2.9, ...}``. ``metrics``
    lists ``(key, axis title)`` pairs, one panel each, side by side with a shared
    epoch axis; every run is one line (the same colour in every panel), named in
    one legend under the panels. Records or values that are missing (or ``None``)
    are skipped, so a run that did not log a metric simply has no line in that
    panel. Returns the Matplotlib figure (close it when done).
    """
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict):
        raise TypeError(f"histories must map run names to lists of per-epoch records, got {type(histories).__name__}")
    metrics = [tuple(m) for m in metrics]
    if not metrics:
        raise ValueError("metrics must name at least one (key, title) pair")

    fig, axes = plt.subplots(
        1, len(metrics), figsize=(panel_width * len(metrics), panel_height), sharex=True, squeeze=False
    )
    axes = axes[0]
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    handles = {}
    epochs = set()
    for ax, (key, label) in zip(axes, metrics):
        _curve_panel(ax, key, label, histories, colours, handles, epochs)
    _whole_epoch_ticks(axes[0], epochs)
    if title:
        fig.suptitle(title, fontsize=12)
    _legend_below(fig, handles)
    return fig


def _epoch_points(history, key):
    """The (epochs, values) of ``key`` in a run's records, skipping missing and non-finite values."""
    xs, ys = [], []
    for i, record in enumerate(history or [], start=1):
        value = record.get(key) if isinstance(record, dict) else None
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            xs.append(record.get("epoch", i))
            ys.append(value)
    return xs, ys


def _curve_panel(ax, key, label, histories, colours, handles, epochs):
    """One metric's panel: a line per run (recorded in ``handles`` for the legend, its epochs in
    ``epochs``), or "no data"."""
    from matplotlib.ticker import MaxNLocator

    drawn = False
    for n, (run, history) in enumerate(histories.items()):
        xs, ys = _epoch_points(history, key)
        if not xs:
            continue
        (line,) = ax.plot(
            xs,
            ys,
            marker="o" if len(xs) <= 30 else None,
            markersize=4,
            linewidth=1.8,
            color=colours[n % len(colours)],
            label=str(run),
        )
        handles.setdefault(str(run), line)
        epochs.update(xs)
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color="0.5", transform=ax.transAxes)
    ax.set_title(label, fontsize=11)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def _whole_epoch_ticks(ax, epochs):
    """One or two epochs: whole-number ticks and some margin (the axis is shared by every panel)."""
    numeric = [x for x in epochs if isinstance(x, (int, float))]
    if numeric and max(numeric) - min(numeric) < 2:
        first, last = math.floor(min(numeric)), math.ceil(max(numeric))
        ax.set_xlim(first - 0.5, last + 0.5)
        ax.set_xticks(range(first, last + 1))


def _legend_below(fig, handles):
    """One legend for every run, under the panels (room made for its rows)."""
    if handles:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="lower center",
            ncol=min(len(handles), 5),
            frameon=False,
            fontsize=10,
        )
        rows = math.ceil(len(handles) / 5)
        fig.tight_layout(rect=(0, min(0.06 + 0.06 * rows, 0.4), 1, 1))
    else:
        fig.tight_layout()
