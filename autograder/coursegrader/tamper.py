"""Tamper signals: what the integrity cells in the kernel reported (a reason for a person's review).

:mod:`coursekit.integrity` runs in the kernel, so a determined submission can
silence or fake it; its reports decide no points. A replaced function, a new
hook, or a missing or malformed report flags the submission for review.
"""

from __future__ import annotations

import re

from coursekit import integrity

from .cells import META


def stdout_text(cell) -> str:
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def _names(found) -> list[str]:
    """The names a report lists, as names (a report is written in the kernel: keep it to identifiers)."""
    names = found if isinstance(found, list) else []
    return [n if isinstance(n, str) and re.fullmatch(r"[\w .]{1,80}", n) else "(unreadable name)" for n in names]


def integrity_problems(nb) -> dict[str, list[str]]:
    """{check grade_id, "snapshot" or "end": reasons} from the integrity cells' reports.

    Every integrity cell that ran must have written exactly one report carrying this
    run's nonce; a missing, extra or foreign report counts as tampering too.
    """
    nonce = nb.metadata.get(META, {}).get("nonce")
    problems: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get(META, {})
        if meta.get("role") != "integrity" or meta.get("ran") != "yes":
            continue
        point = meta["point"]
        reports = integrity.parse_reports(stdout_text(cell))
        if len(reports) != 1 or reports[0].get("nonce") != nonce or reports[0].get("point") != point:
            problems[point] = [
                "an integrity check without one valid report (were print, sys.stdout, "
                "hooks or the autograder's helpers replaced?)"
            ]
            continue
        report = reports[0]
        changed, hooks = _names(report.get("changed")), _names(report.get("hooks"))
        reasons = [f"replaced {', '.join(changed[:8])}"] if changed else []
        reasons += [f"installed {', '.join(hooks)}"] if hooks else []
        if reasons:
            problems[point] = reasons
    return problems
