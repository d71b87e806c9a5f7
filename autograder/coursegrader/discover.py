"""What was handed in: every student folder under ``submitted/``, with what to grade or why not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .results import RowId
from .status import Kind, Status


@dataclass
class Submission:
    """One student's hand-in for one assignment, as found on disk."""

    student: str
    assignment: str
    path: Path | None = None  #: the notebook to grade
    problem: Status | None = None  #: why there is nothing to grade
    warnings: list[str] = field(default_factory=list)
    notebook: object = None  #: the parsed notebook, once read

    @property
    def row(self) -> RowId:
        return RowId(self.student, self.assignment)


def discover(submitted: Path, graded: list[str], known: list[str]) -> list[Submission]:
    """Every student folder under ``submitted/``, with what to grade or why not."""
    found = []
    if not submitted.is_dir():
        return found
    for folder in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = folder.name
        if not any((folder / a).is_dir() for a in known):
            expected = " or ".join(f"{student}/{a}/" for a in known)
            found.append(Submission(student, "-", problem=Status(Kind.NO_ASSIGNMENT_FOLDER, f"(expected {expected})")))
            continue
        found += [_submission(folder / a, student, a) for a in graded if (folder / a).is_dir()]
    return found


def _submission(folder: Path, student: str, assignment: str) -> Submission:
    """What one assignment folder holds: the notebook to grade (whatever its name, if it is the
    only one), or why there is none."""
    sub = Submission(student, assignment)
    expected = folder / f"{assignment}.ipynb"
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if expected in notebooks:
        sub.path = expected
        others = [p.name for p in notebooks if p != expected]
        if others:
            sub.warnings.append(f"other notebooks ignored: {', '.join(others)}")
    elif len(notebooks) == 1:
        sub.path = notebooks[0]
        sub.warnings.append(f"graded {notebooks[0].relative_to(folder)} (expected {expected.name})")
    elif notebooks:
        names = ", ".join(str(p.relative_to(folder)) for p in notebooks)
        sub.problem = Status(Kind.SEVERAL_NOTEBOOKS, f"none named {expected.name}: {names}")
    else:
        files = sorted(p.name for p in folder.iterdir())
        sub.problem = Status(Kind.NO_NOTEBOOK, f"(found {', '.join(files[:5])})" if files else "")
    return sub


def read_notebook(path: Path):
    """The notebook at ``path``; raises :class:`UnreadableNotebook` with a reason a person can read."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not text (UTF-8)") from None
    except json.JSONDecodeError as err:
        raise UnreadableNotebook(
            f"not valid JSON ({err.msg} at line {err.lineno}); the file may be truncated or damaged"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise UnreadableNotebook("valid JSON, but not a Jupyter notebook (no cells)")
    try:
        return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat's own conversion errors
        raise UnreadableNotebook(f"{type(err).__name__}: {err}") from None


class UnreadableNotebook(ValueError):
    """A handed-in file that is not a notebook we can read; ``status`` says why."""

    @property
    def status(self) -> Status:
        return Status(Kind.INVALID_NOTEBOOK, str(self))
