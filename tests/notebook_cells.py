"""Read cells of the course notebooks by their nbgrader grade_id (shared by the tests)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from coursekit import ROOT


def load(assignment: str, folder: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)


def cells_by_id(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def tracked_notebooks() -> list[Path]:
    return sorted(p for folder in ("solutions", "labs", "autograder/demo")
                  for p in (ROOT / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
