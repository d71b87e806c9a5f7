"""Graded runs by content key (:mod:`coursegrader.keys`), kept across runs of ``make grade``.

``<workdir>/.results/<key>/`` holds what one execution produced, independent of
any student: ``outcome.json`` (the grades per cell, the autograder's record: checks,
status, flags) and ``files/`` (the graded notebook and the small files it wrote,
such as a heatmap). Every student whose submission has that key is served from
it (:mod:`coursegrader.deliver`); ``FORCE=1`` executes again. Results no row refers to
any more are deleted at the end of a run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .groupshare import open_to_group

FOLDER = ".results"


@dataclass
class Outcome:
    """What executing one key produced."""

    key: str
    assignment: str
    profile: str
    record: dict  # the graded notebook's metadata["coursekit"], student-free
    grades: dict[str, dict]  # {grade_id: {"auto_score", "needs_manual_grade", "max_score"}}
    comments: dict[str, str | None]  # {grade_id: nbgrader's automatic comment}
    seconds: float
    graded_for: list[str] = field(default_factory=list)  # the students it was executed for (and shared with)


def root(workdir: Path) -> Path:
    return Path(workdir) / FOLDER


def files(workdir: Path, key: str) -> Path:
    return root(workdir) / key / "files"


def load(workdir: Path, key: str) -> Outcome | None:
    path = root(workdir) / key / "outcome.json"
    try:
        return Outcome(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def save(workdir: Path, outcome: Outcome, graded_dir: Path) -> None:
    """Keep ``outcome`` and the graded folder's notebook and small files (never weights)."""
    target = root(workdir) / outcome.key
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".saving-", dir=target.parent))
    open_to_group(build)  # mkdtemp's 700 would keep the other TAs' runs from reusing or replacing it
    old = build.with_name(build.name.replace(".saving-", ".replaced-"))
    try:
        copy_results(graded_dir, build / "files")
        (build / "outcome.json").write_text(json.dumps(asdict(outcome), indent=1), encoding="utf-8")
        # Renames only, so that a grader killed here leaves the key whole or absent, never half
        # deleted: what is left under a hidden name is cleared by the next run (coursegrader.folderlock).
        if target.exists():
            target.rename(old)
        build.rename(target)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def prune(workdir: Path, keep: set[str]) -> None:
    """Delete the stored results of keys outside ``keep``."""
    for folder in root(workdir).glob("*") if root(workdir).is_dir() else []:
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def copy_results(src: Path, dest: Path, skip: set[str] = frozenset()) -> None:
    """The graded notebook and small files it wrote (a heatmap), never weights or huge files
    (nor the names in ``skip``)."""
    if dest.exists():
        shutil.rmtree(dest)

    def ignore(folder, names):
        return [
            n
            for n in names
            if n in ("checkpoints", ".ipynb_checkpoints", "run_summary.json")
            or n in skip
            or Path(folder, n).is_symlink()
            or (Path(folder, n).is_file() and Path(folder, n).stat().st_size > 20 * 2**20)
        ]

    # copyfile, not copy2: nbgrader writes its notebooks read-only (mode 444), and the graded
    # notebook is written again for each student sharing the run
    shutil.copytree(src, dest, ignore=ignore, copy_function=shutil.copyfile)
