"""Choose every check's inputs for this grading (nbgrader autograde step, before execution).

:class:`DrawRequests` finds each graded cell's check, visible ones in
:mod:`coursekit.checks` and hidden ones in :mod:`coursegrader.hidden`, and draws its
request afresh from a random seed: queries, values, weights to assign, the order
of the test reviews, the held-out sentences. Nothing a submission could have
memorised. The requests go into the notebook's metadata (the kernel never reads
it: nbgrader sends it cells, not metadata) for :class:`coursegrader.execute.GradeExecute`,
which hands them to the kernel as a file, and for :class:`coursegrader.verdicts.ComputeVerdicts`.
"""

from __future__ import annotations

import os
import secrets

import numpy as np
from nbgrader.preprocessors import NbGraderPreprocessor

from coursekit import data, profiles
from coursekit.checks import Check, catalog, evidence

from . import hidden
from .cells import META, grade_id, is_check
from .timing import phase


def find_check(assignment: str, gid: str) -> tuple[Check | None, bool]:
    """``(check, hidden)`` for a graded cell of ``assignment``; ``(None, False)`` if there is none."""
    found = hidden.catalog().get((assignment, gid))
    if found is not None:
        return found, True
    return catalog().get((assignment, gid)), False


def lab_settings(assignment: str, profile_name: str | None = None) -> dict:
    """The profile settings the grader's requests follow (the profile ``make grade`` chose)."""
    name = profile_name or os.environ.get(profiles.ENV_VAR) or "auto"
    chosen = profiles.select(assignment, env={profiles.ENV_VAR: name})
    return {**chosen.settings, "profile": chosen.name}


def draw(assignment: str, grade_ids: list[str], settings: dict, seed: int | None = None) -> dict:
    """``{grade_id: request}`` for the checks of ``assignment``, from a fresh seed (or ``seed``).

    Requests are computed on the bundle's own data (``data/``): the held-out sentences to
    translate are chosen by the grader, not by the kernel.
    """
    rng = np.random.default_rng(secrets.randbits(128) if seed is None else seed)
    requests = {}
    saved = os.environ.pop(data.DATA_ENV, None)  # the grader reads the real data, never the kernel's copy
    try:
        for gid in grade_ids:
            check, _ = find_check(assignment, gid)
            if check is None:
                raise LookupError(
                    f"the graded cell {gid!r} of {assignment!r} has no check in coursekit.checks or coursegrader.hidden"
                )
            requests[gid] = check.request(rng, settings)
    finally:
        if saved is not None:
            os.environ[data.DATA_ENV] = saved
    return requests


class DrawRequests(NbGraderPreprocessor):
    """Draw every check's request for this grading (autograde step, before GradeExecute)."""

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        gids = [grade_id(c) for c in nb.cells if is_check(c)]
        record = nb.metadata.setdefault(META, {})
        with phase(record, "requests"):
            record["requests"] = evidence.encode(draw(assignment, gids, lab_settings(assignment)))
            record["evidence_nonce"] = secrets.token_hex(16)
        return nb, resources
