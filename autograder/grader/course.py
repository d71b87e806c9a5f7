"""Where the course's parts are, and which assignments it has."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The bundle's top folder (holding ``solutions/``, ``labs/``, ``autograder/``, ``data/``...)."""
SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
AUTOGRADER = ROOT / "autograder"
DEMO = AUTOGRADER / "demo"
EXPECTED_SCORES = DEMO / "expected_scores.csv"


def assignments() -> list[str]:
    """Assignment ids: folders of ``solutions/`` holding a notebook of the same name."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)
