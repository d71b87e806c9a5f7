"""What a previous run graded: content keys, so that unchanged work is not graded again."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .course import LABS, SOLUTIONS
from .discover import Submission


STATE_FILE = "grading-state.json"


def assignment_version(assignment: str) -> str:
    """Changes whenever the assignment's checks or released text change."""
    h = hashlib.sha256()
    for path in (SOLUTIONS / assignment / f"{assignment}.ipynb", LABS / assignment / f"{assignment}.ipynb"):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def submission_key(sub: Submission, profile_name: str) -> str:
    """Content hash of what was handed in, plus the assignment's version and the profile."""
    h = hashlib.sha256(f"{sub.assignment}\0{profile_name}\0".encode())
    if sub.assignment != "-":
        h.update(assignment_version(sub.assignment).encode())
    if sub.path is not None:
        h.update(sub.path.name.encode() + b"\0" + sub.path.read_bytes())
    else:
        h.update((sub.problem or "").encode())
    return h.hexdigest()


def load_state(workdir: Path) -> dict:
    path = workdir / STATE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("rows", {})
    except (OSError, ValueError):
        return {}


def save_state(workdir: Path, rows: dict) -> None:
    tmp = workdir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "rows": rows}, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(workdir / STATE_FILE)
