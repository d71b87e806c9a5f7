"""Plumbing shared by the course notebooks, the autograder and the tests.

The lessons themselves (attention layers, encoders, decoders, training loops,
decoding) live inline in the notebooks; this package only holds what students
should not have to read: data loading with checksums, run profiles, and the
grading harness.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The bundle's top folder (the one holding ``data/``, ``fonts/``, ``solutions/``...)."""

__all__ = ["ROOT"]
