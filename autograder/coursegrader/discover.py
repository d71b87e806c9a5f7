"""What was handed in: every student folder under ``submitted/``, with what to grade or why not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Submission:
    """One student's hand-in for one assignment, as found on disk."""

    student: str
    assignment: str
    path: Path | None = None  # the notebook to grade
    problem: str | None = None  # why there is nothing to grade
    warnings: list[str] = field(default_factory=list)
    notebook: object = None  # the parsed notebook, once read


def discover(submitted: Path, graded: list[str], known: list[str]) -> list[Submission]:
    """Every student folder under ``submitted/``, with what to grade or why not."""
    found = []
    if not submitted.is_dir():
        return found
    for folder in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = folder.name
        if not any((folder / a).is_dir() for a in known):
            found.append(
                Submission(
                    student,
                    "-",
                    problem="no assignment folder (expected " + " or ".join(f"{student}/{a}/" for a in known) + ")",
                )
            )
            continue
        for assignment in graded:
            adir = folder / assignment
            if not adir.is_dir():
                continue
            expected = adir / f"{assignment}.ipynb"
            notebooks = sorted(p for p in adir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            sub = Submission(student, assignment)
            if expected in notebooks:
                sub.path = expected
                others = [p.name for p in notebooks if p != expected]
                if others:
                    sub.warnings.append(f"other notebooks ignored: {', '.join(others)}")
            elif len(notebooks) == 1:
                sub.path = notebooks[0]
                sub.warnings.append(f"graded {notebooks[0].relative_to(adir)} (expected {expected.name})")
            elif notebooks:
                sub.problem = (
                    "several notebooks, none named "
                    + expected.name
                    + ": "
                    + ", ".join(str(p.relative_to(adir)) for p in notebooks)
                )
            else:
                files = sorted(p.name for p in adir.iterdir())
                sub.problem = "no notebook" + (f" (found {', '.join(files[:5])})" if files else "")
            found.append(sub)
    return found


def read_notebook(path: Path):
    """The notebook at ``path``, or raise ValueError with a reason a person can read."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("invalid notebook: the file is not text (UTF-8)") from None
    except json.JSONDecodeError as err:
        raise ValueError(
            f"invalid notebook: not valid JSON ({err.msg} at line {err.lineno}); the file may be truncated or damaged"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise ValueError("invalid notebook: valid JSON, but not a Jupyter notebook (no cells)")
    try:
        return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat's own conversion errors
        raise ValueError(f"invalid notebook: {type(err).__name__}: {err}") from None
