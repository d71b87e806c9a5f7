"""The labs' graded checks, as the kernel sees them: probes that gather evidence.

Every graded cell of a lab is one call, ``check("<grade_id>", profile, name=object, ...)``.
A check has two halves:

* a **probe** runs in the kernel: it calls the notebook's objects (your attention
  layer, the trained model, ``translate``...) on given inputs and collects what
  comes back (arrays, words, translations). It decides nothing.
* a **verdict** turns that evidence into passed or failed, with a message that
  says what to change.

**In JupyterLab and Validate** (student mode) both halves run right here: the
probe on the check's own fixed inputs, then the verdict, which raises
:class:`CheckFailed` (an ``AssertionError``) when the check fails.

**While the notebook is graded**, the grader gives the kernel a request file (see
:mod:`.evidence`): fresh inputs for every check, chosen for this grading only. The
probe runs on those and hands its evidence out of the kernel; the verdicts are
computed by the grader, in its own process, which the kernel can neither read nor
change. Hidden checks work the same way, except that their verdicts exist only
on the grader's side: the kernel only ever sees a request for evidence.

**Hidden checks outside grading** run only where the grader is installed: the instructor's
side, where ``coursegrader`` registers its hidden verdicts as a ``coursekit.hidden_checks``
entry point (``pyproject.toml``), so that Run All and ``nbgrader validate`` of a solution
notebook run them for real. A student's kernel never has them: the grading sandbox mounts
only this package, and the students' bundle has no grader. A released lab's hidden cell holds
only its docstring; a call to a check this library does not know, where no grader is
installed, prints why it is skipped and fails nothing (it may be a hidden check: it runs
when the notebook is graded).

The visible checks of each lab are in :mod:`.sentiment` and :mod:`.translation` (probes in
:mod:`.translation_probes`); :mod:`.base` says what a check is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from . import evidence
from .base import Check, CheckFailed, attempt, raised


def catalog() -> dict[tuple[str, str], Check]:
    """Every visible check of every lab, by (lab, grade_id)."""
    from . import sentiment, translation

    return {(lab, c.grade_id): c for c in (*sentiment.CHECKS, *translation.CHECKS) for lab in c.labs}


def probes() -> dict[str, Callable]:
    """Every probe of every lab, by name (what a request's ``"probe"`` names)."""
    from . import sentiment, translation_probes

    return {**sentiment.PROBES, **translation_probes.PROBES}


HIDDEN_CHECKS = "coursekit.hidden_checks"  # the entry-point group an installed grader registers in


def hidden_catalog() -> dict[tuple[str, str], Check] | None:
    """Every hidden check of every lab, by (lab, grade_id), where the grader is installed; else None."""
    found = None
    for point in entry_points(group=HIDDEN_CHECKS):
        try:
            catalog_of = point.load()
        except ImportError:  # registered, but not importable here (a kernel that cannot see the grader)
            continue
        found = {**(found or {}), **catalog_of()}
    return found


def run_probe(request: Mapping, objects: Mapping) -> dict:
    """The evidence the probe named by ``request["probe"]`` gathers from ``objects``."""
    name = request.get("probe")
    table = probes()
    if name not in table:
        raise KeyError(f"no probe named {name!r}")
    return table[name](dict(request), dict(objects))


def check(grade_id: str, profile: Any, **objects: Any) -> None:
    """Run the graded check ``grade_id`` of ``profile.lab`` on the notebook's ``objects``.

    ``profile`` is the notebook's :class:`coursekit.profiles.Profile`: in student mode the check's
    inputs and thresholds follow it. While grading, the grader's request decides (see the module
    docstring) and this only hands the evidence out.
    """
    grading = evidence.grading_requests()
    if grading is not None:
        request = grading["requests"].get(grade_id)
        if request is None:
            print(f"The grader asked for no evidence for {grade_id!r}.")
            return
        evidence.hand_out(grade_id, grading["nonce"], run_probe(request, objects))
        return
    found, hidden = catalog().get((profile.lab, grade_id)), False
    if found is None:
        hidden_checks = hidden_catalog()
        if hidden_checks is None:
            print(
                f"{grade_id!r} is not a visible check of the {profile.lab} lab: if it is a hidden check, it "
                f"runs when the notebook is graded (not here)."
            )
            return
        found, hidden = hidden_checks.get((profile.lab, grade_id)), True
        if found is None:
            raise CheckFailed(f"{grade_id!r} is not a check of the {profile.lab} lab, visible or hidden")
    request = found.request(None, {**profile.settings, "profile": profile.name})
    gathered = evidence.decode(evidence.encode(run_probe(request, objects)))
    truth = found.truth(request, None) if found.truth else {}
    verdict = found.verdict(request, gathered, truth)
    print(f"Hidden check (the grader is installed here): {verdict}" if hidden else verdict)


__all__ = ["Check", "CheckFailed", "attempt", "catalog", "check", "hidden_catalog", "probes", "raised", "run_probe"]
