"""Plumbing shared by the course notebooks, the autograder and the tests.

The lessons themselves (attention layers, encoders, decoders, training loops,
decoding) live inline in the notebooks; this package only holds what students
should not have to read: data loading with checksums (``data``), run profiles
(``profiles``), the CJK font and heatmaps (``plotting``), the checks' helpers
(``checks``), the grading harness (``grading``) and ``make bench`` (``bench``).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The bundle's top folder (the one holding ``data/``, ``fonts/``, ``solutions/``...)."""

__all__ = ["ROOT"]
