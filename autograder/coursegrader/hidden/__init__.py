"""Hidden verdicts: the grader-side halves of the hidden checks.

They live here, in the grader, which the sandbox never mounts: a graded kernel
gets only a request for evidence (from :mod:`coursekit.checks`' probes) and never
the code that judges it. One module per lab; :func:`catalog` collects them.
"""

from __future__ import annotations


def catalog() -> dict:
    """Every hidden check of every lab, by (lab, grade_id)."""
    from . import sentiment

    return {(lab, c.grade_id): c for c in sentiment.CHECKS for lab in c.labs}
