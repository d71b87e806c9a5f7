"""`make release`: nbgrader writes the student notebooks, then the demo classes are rebuilt.

nbgrader generates the student notebooks in ``labs/`` from ``solutions/``
(solutions and hidden tests stripped); then the demo classes in
``autograder/demo/`` are rebuilt from the released notebooks (:mod:`coursegrader.demo`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from . import demo
from .course import DEMO, LABS, assignments
from .errors import NbgraderFailed
from .nbcommand import nbgrader


def release(release_dir: Path = LABS, demo_dir: Path = DEMO, db: Path | None = None) -> None:
    """Generate the student notebooks and rebuild the demo classes from them."""
    release_dir, demo_dir = Path(release_dir).resolve(), Path(demo_dir).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "release.log"
        db_url = f"sqlite:///{db or Path(tmp) / 'gradebook.db'}"
        for assignment in assignments():
            code, _ = nbgrader(
                "generate_assignment",
                assignment,
                "--force",
                f"--CourseDirectory.release_directory={release_dir}",
                f"--CourseDirectory.db_url={db_url}",
                log=log,
            )
            if code != 0:
                sys.stderr.write(log.read_text(encoding="utf-8"))
                raise NbgraderFailed(f"nbgrader could not release {assignment!r} (log above)")
            print(f"released {release_dir / assignment / (assignment + '.ipynb')}")
    demo.build(assignments(), release_dir, demo_dir)
