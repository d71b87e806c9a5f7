"""Content keys: what determines a graded run, hashed, so that identical work is graded once.

A run's result depends on the code that executes and on nothing a student writes
elsewhere. Its key hashes:

* the code cells of the rebuilt notebook (the released lab with the student's
  answer cells, :func:`coursegrader.rebuild.rebuild`), in order: markdown, including
  written answers, changes a student's feedback, not the run;
* the assignment's released and instructor notebooks (its checks and their points);
* the profile and its settings;
* the environment: the pinned packages (``environment.yml``), Python's version, and
  the code of the lab library (``coursekit/``) and of the grader itself;
* the data's checksums (``data/SHA256SUMS``).

Students whose notebooks have the same key share one execution; each still gets
their own row, gradebook entry and feedback page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys

from .cells import grade_id, is_answer
from .course import LABS, ROOT, SOLUTIONS

VERSION = "1"
"""Part of every key: bump it when the meaning of a stored result changes."""


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def environment() -> str:
    """The packages, Python, the lab library, the grader and the data, as one digest."""
    sources = sorted(
        p
        for folder in (ROOT / "coursekit", ROOT / "autograder" / "coursegrader")
        for p in folder.rglob("*.py")
        if p.is_file()
    )
    return _digest(
        (ROOT / "environment.yml").read_bytes(),
        sys.version.encode(),
        (ROOT / "data" / "SHA256SUMS").read_bytes(),
        *(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes() for p in sources),
    )


@functools.lru_cache(maxsize=8)
def assignment_version(assignment: str) -> str:
    """Changes whenever the assignment's checks or released text change."""
    return _digest(
        *(
            (folder / assignment / f"{assignment}.ipynb").read_bytes()
            if (folder / assignment / f"{assignment}.ipynb").exists()
            else b""
            for folder in (SOLUTIONS, LABS)
        )
    )


def executed_code(rebuilt) -> list[str]:
    """The code cells of a rebuilt notebook: exactly what the kernel runs."""
    return [cell.source for cell in rebuilt.cells if cell.cell_type == "code"]


def run_key(assignment: str, rebuilt, profile, missing=()) -> str:
    """The content key of grading ``rebuilt`` (a rebuilt notebook) in ``profile``. ``missing``: answer
    cells the submission lacks (the stub runs in their place, and the result says they are missing,
    so it is not shared with a notebook that handed the stub in)."""
    settings = json.dumps(dict(profile.settings), sort_keys=True, default=str)
    absent = (b"missing", *(gid.encode() for gid in missing)) if missing else ()
    return _digest(
        VERSION.encode(),
        assignment.encode(),
        profile.name.encode(),
        settings.encode(),
        assignment_version(assignment).encode(),
        environment().encode(),
        *(source.encode() for source in executed_code(rebuilt)),
        *absent,
    )


def content_key(key: str, notebook_text: str, warnings) -> str:
    """What a row's result depends on beyond its run: the submitted notebook (without outputs), whose
    written answers and ignored edits are the student's own, and the warnings about its file."""
    return _digest(key.encode(), notebook_text.encode(), "\0".join(warnings).encode())


def written_answers(nb) -> dict[str, str]:
    """``{grade_id: text}`` of the answer cells that are not code (graded by hand)."""
    return {grade_id(cell): cell.source for cell in nb.cells if is_answer(cell) and cell.cell_type != "code"}
