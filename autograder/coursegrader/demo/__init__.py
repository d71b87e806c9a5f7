"""The shipped demo classes, built from the released labs by `make release`.

``autograder/demo/<class>/<student>/<assignment>/<notebook>`` is nbgrader's
``submitted/`` layout, so a class is graded by copying it. The student id says
what the submission does, and ``autograder/demo/expected_scores.csv`` says what
it must get (score and status, per profile).

* ``honest``: what careful students hand in (the reference solution, the
  released lab untouched, two typical mistakes). `make grade` grades it.
* ``hostile``: careless and hostile hand-ins that the autograder must survive
  with a fair grade (:mod:`.hostile`), and answers that attack the grader itself
  (:mod:`.attacks`). `make test` grades it in the smoke profile;
  `make grade DEMO=hostile` grades it by hand.

A class may have a term (``autograder/demo/term/<class>/``: calendar, extensions, roster and
hand-in times, :mod:`coursegrader.term`): the honest class's has a late hand-in, an extension
and a student on the roster who handed nothing in.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from ..cells import grade_id, reference_answer, solution_cell, solution_cells, written_answer_cells
from ..course import DEMO, DEMO_RESULTS, LABS, SOLUTIONS
from ..errors import ConfigurationError
from .answers import HONEST_VARIANTS
from .handed_in import stamp
from .hostile import hostile_class

CLASSES = ("honest", "hostile")
MARKER = ".demo-class"  # in a submitted/ folder: it holds a demo class, which seed() may replace


def honest_class(assignment: str, released) -> dict[str, dict[str, object]]:
    name = f"{assignment}.ipynb"
    if not solution_cells(released):  # a worked lab: run as released, its questions answered
        nb = copy.deepcopy(released)
        solution = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        model = {grade_id(c): c.source for c in written_answer_cells(solution)}
        for cell in written_answer_cells(nb):
            cell.source = "My answer, after running the lab: " + model[grade_id(cell)]
        return {"passes-all": {name: nb}}
    bodies = {"passes-all": reference_answer(assignment), "untouched": None}
    bodies.update(HONEST_VARIANTS.get(assignment, {}))
    class_ = {}
    for student, body in bodies.items():
        nb = copy.deepcopy(released)
        if body is not None:
            solution_cell(nb).source = body.rstrip("\n")
        class_[student] = {name: nb}
    return class_


def build(assignments: list[str], release_dir: Path = LABS, demo_dir: Path = DEMO) -> None:
    """Write both demo classes from the released labs (called by `make release`)."""
    for class_name, make in (("honest", honest_class), ("hostile", hostile_class)):
        root = demo_dir / class_name
        if root.exists():
            shutil.rmtree(root)
        for assignment in assignments:
            released = nbformat.read(release_dir / assignment / f"{assignment}.ipynb", as_version=4)
            for student, files in make(assignment, released).items():
                folder = root / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                for file_name, content in files.items():
                    if isinstance(content, str):
                        (folder / file_name).write_text(content, encoding="utf-8")
                    else:
                        nbformat.write(content, folder / file_name)
        stamp(root, class_name)  # when each one was handed in (the class's term)
        print(f"demo class {root}")


def seed(submitted: Path, class_name: str = "honest", demo_dir: Path = DEMO) -> None:
    """Copy a demo class into an nbgrader ``submitted/`` folder of its own.

    The folder is replaced only when it is empty or holds a demo class already (a marker file
    says so): real submissions are never deleted to make room for a demo.
    """
    if class_name not in CLASSES:
        raise ConfigurationError(f"unknown demo class {class_name!r}; use one of {', '.join(CLASSES)}")
    if submitted.exists() and any(submitted.iterdir()) and not (submitted / MARKER).is_file():
        raise ConfigurationError(
            f"{submitted} holds submissions that are not a demo class: a demo class is graded in a "
            f"folder of its own (make grade DEMO={class_name} uses {demo_workdir(class_name)})"
        )
    if submitted.exists():
        shutil.rmtree(submitted)
    shutil.copytree(demo_dir / class_name, submitted)
    (submitted / MARKER).write_text(f"{class_name}\n", encoding="utf-8")


def demo_workdir(class_name: str) -> Path:
    """Where `make grade DEMO=<class>` grades a demo class: never the course's own folder."""
    return DEMO_RESULTS / class_name
