"""Where the course's parts are, and which assignments it has."""

from __future__ import annotations

from pathlib import Path

from coursekit import ROOT  # the bundle's top folder: one home, the lab library's

SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
AUTOGRADER = ROOT / "autograder"
DEMO = AUTOGRADER / "demo"
DEMO_RESULTS = AUTOGRADER / "demo-results"
"""Where the demo classes are graded (one folder each), apart from the course's own results."""
EXPECTED_SCORES = DEMO / "expected_scores.csv"


def assignments() -> list[str]:
    """Assignment ids: folders of ``solutions/`` holding a notebook of the same name."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)


def graded_path(workdir: Path, student: str, assignment: str) -> Path:
    """A student's graded notebook (what formgrader shows) in a grading folder."""
    return Path(workdir) / "autograded" / student / assignment / f"{assignment}.ipynb"


def feedback_path(workdir: Path, student: str, assignment: str) -> Path:
    """A student's feedback page in a grading folder (where `nbgrader release_feedback` looks)."""
    return Path(workdir) / "feedback" / student / assignment / f"{assignment}.html"
