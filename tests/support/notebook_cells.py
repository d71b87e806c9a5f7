"""Read cells of the course notebooks by their nbgrader grade_id (shared by the tests)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from coursegrader.cells import reference_answer, solution_cell
from coursekit import ROOT


def load(assignment: str, folder: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)


def cells_by_id(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def tracked_notebooks() -> list[Path]:
    """Notebooks we write and commit (the hostile demo class is deliberately broken: not listed)."""
    return sorted(
        p
        for folder in ("solutions", "labs", "autograder/demo/honest")
        for p in (ROOT / folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def released_with_reference_answer(assignment: str) -> nbformat.NotebookNode:
    """The released lab with the reference solution typed into its answer cell, as a student would
    hand it in (the solution-region markers removed)."""
    nb = load(assignment, folder="labs")
    solution_cell(nb).source = reference_answer(assignment)
    return nb


def graded_check(assignment: str, profile: str, seed: int = 0):
    """A stand-in for the notebooks' ``check`` that does what grading does: a request drawn by the
    grader (from ``seed``), the kernel's probe on the notebook's objects, the verdict outside.

    Put it in a lab's namespace as ``check`` and run a check cell: it raises CheckFailed as the
    grader's verdict would fail, and returns the verdict's message otherwise.
    """
    from coursegrader.requests import draw, find_check, lab_settings
    from coursegrader.verdicts import truth_for
    from coursekit.checks import evidence, run_probe

    def check(grade_id, _profile, **objects):
        found, _ = find_check(assignment, grade_id)
        request = draw(assignment, [grade_id], lab_settings(assignment, profile), seed=seed)[grade_id]
        request = evidence.decode(evidence.encode(request))
        gathered = evidence.decode(evidence.encode(run_probe(request, objects)))
        return found.verdict(request, gathered, truth_for(assignment, grade_id, request))

    return check
