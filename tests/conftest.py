"""Grading runs shared by several test files (each costs minutes, so it runs once per session)."""

import pytest

from coursegrader.grade import grade


@pytest.fixture(scope="session")
def smoke_honest(tmp_path_factory):
    """The honest demo class graded one submission at a time in the smoke profile."""
    workdir = tmp_path_factory.mktemp("grade-honest-smoke")
    results = grade(workdir, profile="smoke", use_demo=True, jobs=1)
    return workdir, results
