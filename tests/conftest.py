"""Markers by folder, and grading runs shared by several test files.

The tests mirror the packages (``coursekit/``, ``coursegrader/``, ``coursetools/``, and ``labs/`` for
the notebooks' own code); ``integration/`` grades whole classes and ``hub/`` runs a JupyterHub with
real users. Those two folders are marked ``integration`` and ``hub``, so that ``make test-fast``
(``-m "not integration and not hub"``) stays a developer's one-minute loop.
"""

import os
import sys
from pathlib import Path

import pytest

from coursegrader.grade import grade

HERE = Path(__file__).parent
# nbgrader runs the `alembic` of its environment to create gradebooks: a bare `pytest` finds it too
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
MARK_BY_FOLDER = {"integration": pytest.mark.integration, "hub": pytest.mark.hub}


def pytest_collection_modifyitems(items):
    for item in items:
        folder = Path(item.fspath).relative_to(HERE).parts[0]
        if folder in MARK_BY_FOLDER:
            item.add_marker(MARK_BY_FOLDER[folder])


@pytest.fixture(scope="session")
def smoke_honest(tmp_path_factory):
    """The honest demo class graded one submission at a time in the smoke profile."""
    workdir = tmp_path_factory.mktemp("grade-honest-smoke")
    results = grade(workdir=workdir, profile="smoke", demo="honest", jobs=1)
    return workdir, results
