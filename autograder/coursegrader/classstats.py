"""The class report's sections as plain data: the score distribution, the pass rate of every check,
the answers several students share, the time spent and the term's late and absent hand-ins of one
grading run. :mod:`coursegrader.classreport` puts them together and renders the page; the template
draws every figure from these numbers.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path

from . import similarity
from .course import feedback_path
from .results import Result
from .status import Kind
from .term import NOT_ON_ROSTER
from .text import first_line

MAX_CODE_LINES = 60


def number(x: float) -> str:
    """A number as a person writes it: 7, 2.5 (one decimal at most)."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x - round(x)) > 1e-9 else f"{round(x)}"


def score_text(r: Result) -> str | None:
    """A row's score out of its maximum, e.g. ``7 / 10`` (None: not scored)."""
    return None if r.score is None else f"{number(r.score)} / {number(r.max_score or 0)}"


def _step(span: float, bins: int) -> float:
    """A round bin width (1, 2, 5 x 10^n) that covers ``span`` in at most ``bins`` bins."""
    raw = max(span, 1e-9) / bins
    base = 10 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)


def histogram(
    values: list[float],
    *,
    top: float | None = None,
    bins: int = 12,
    integers: bool = False,
    from_zero: bool = True,
    x_label: str = "",
    y_label: str = "submissions",
) -> dict:
    """Counts of ``values`` up to ``top``: one bin per whole number when ``integers`` and there are
    few of them, else round-width bins (from 0, or from just below the smallest value). The
    template draws it."""
    top = max([top or 0.0, *values, 1.0])
    if integers and top <= 30:
        low, width, count = 0.0, 1.0, math.ceil(top) + 1
        labels = [number(v) for v in range(count)]
        index = [min(max(0, round(v)), count - 1) for v in values]
    else:
        low = 0.0 if from_zero or not values else min(values)
        width = _step(top - low, bins)
        low = math.floor(low / width) * width
        count = max(1, math.ceil((top - low) / width - 1e-9))
        labels = [f"{number(low + i * width)}–{number(low + (i + 1) * width)}" for i in range(count)]
        index = [min(max(0, int((v - low) // width)), count - 1) for v in values]
    counts = [index.count(i) for i in range(count)]
    peak = max([*counts, 1])
    tick = max(1, math.ceil(_step(peak, 4)))
    y_ticks = list(range(0, peak + tick, tick))
    every = max(1, math.ceil(count / 12))
    return {
        "bars": [
            {"label": label, "count": n, "show_label": i % every == 0 or i == count - 1}
            for i, (label, n) in enumerate(zip(labels, counts))
        ],
        "y_max": y_ticks[-1],
        "y_ticks": y_ticks,
        "x_label": x_label,
        "y_label": y_label,
        "total": len(values),
    }


def duration(seconds: float | None) -> str:
    """Seconds in the unit a person reads best: 45 s, 12 min, 2.5 h."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def feedback_link(base: Path, student: str, assignment: str) -> str | None:
    """The feedback page of a submission, relative to the report's folder (None: there is none)."""
    page = feedback_path(base, student, assignment)
    return page.relative_to(base).as_posix() if page.is_file() else None


def scores(rows: list[Result]) -> dict:
    """The score distribution of one assignment: count, mean, median, full and zero marks, histogram."""
    scored = [r for r in rows if r.score is not None]
    values = [r.score for r in scored]
    top = max([r.max_score or 0.0 for r in scored] + [0.0])
    if not values:
        return {"count": 0, "max_score": top}
    integers = all(abs(v - round(v)) < 1e-9 for v in [*values, top])
    return {
        "count": len(values),
        "max_score": top,
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "full": sum(abs(v - top) < 1e-9 for v in values) if top else 0,
        "zero": sum(v == 0 for v in values),
        "unscored": len(rows) - len(values),
        "histogram": histogram(
            values, top=top, integers=integers, bins=10, x_label="score (points)", y_label="students"
        ),
    }


def check_rates(rows: list[Result], checks: dict) -> list[dict]:
    """Per check of one assignment: pass rate, points, hidden or not, the commonest failure message."""
    seen: dict[str, dict] = {}
    for r in rows:
        for c in checks.get((r.student, r.assignment)) or []:
            entry = seen.setdefault(
                c["grade_id"],
                {
                    "grade_id": c["grade_id"],
                    "points": c.get("points", 0),
                    "hidden": bool(c.get("hidden")),
                    "order": len(seen),
                    "passed": 0,
                    "total": 0,
                    "messages": Counter(),
                },
            )
            entry["total"] += 1
            if c.get("passed"):
                entry["passed"] += 1
            else:
                entry["messages"][first_line(c.get("message") or "", 200) or "(no message)"] += 1
    out = []
    for entry in seen.values():
        rate = entry["passed"] / entry["total"] if entry["total"] else 0.0
        message, times = entry["messages"].most_common(1)[0] if entry["messages"] else ("", 0)
        out.append(
            {
                **entry,
                "rate": rate,
                "failed": entry["total"] - entry["passed"],
                "message": message,
                "message_count": times,
                "level": "low" if rate < 0.5 else "mid" if rate < 0.8 else "high",
            }
        )
    return sorted(out, key=lambda e: (e["rate"], e["order"]))


def _code(text: str) -> dict:
    """An answer's code as the page shows it: its first MAX_CODE_LINES lines, and how many more."""
    lines = text.strip("\n").splitlines()
    cut = len(lines) - MAX_CODE_LINES
    return {"text": "\n".join(lines[:MAX_CODE_LINES]), "more": max(0, cut)}


def shared_answers(
    assignment: str, rows: list[Result], answers: dict, stub: str | None, threshold: float, base: Path
) -> dict | None:
    """The answers several students of one assignment share (clusters of identical or near-identical
    code, :mod:`coursegrader.similarity`) and who handed in the released stub (None: no answers known)."""
    mine = {r.student: answers.get((r.student, assignment)) for r in rows}
    mine = {s: a for s, a in mine.items() if a is not None}
    scores = {r.student: score_text(r) or "-" for r in rows}
    if not mine:
        return None
    found = []
    for cluster in similarity.clusters(mine, threshold=threshold, stub=stub):
        groups = [
            {
                "students": [
                    {"name": s, "link": feedback_link(base, s, assignment), "score": scores[s]} for s in group
                ],
                "code": _code(mine[group[0]]),
                "label": chr(ord("A") + i) if i < 26 else str(i),
            }
            for i, group in enumerate(cluster.groups)
        ]
        pairs = [
            {"a": groups[i]["label"], "b": groups[j]["label"], "score": score, "linked": score >= threshold}
            for i, j, score in cluster.pairs
        ]
        found.append(
            {
                "kind": cluster.kind,
                "groups": groups,
                "pairs": pairs,
                "size": len(cluster.members),
                "highest": cluster.highest,
                "lowest": cluster.lowest,
            }
        )
    stub_students = similarity.handed_in_stub(mine, stub)
    return {
        "compared": len(mine),
        "clusters": found,
        "identical": sum(c["kind"] == "identical" for c in found),
        "near": sum(c["kind"] == "near-identical" for c in found),
        "stub": [{"name": s, "link": feedback_link(base, s, assignment)} for s in stub_students],
    }


def times(rows: list[Result], shared: dict, answers: dict) -> dict:
    """Seconds per submission graded in this run, and the submissions that shared a graded run
    (grouped by their answer text when it is known, else by the size of the share)."""
    graded = [r for r in rows if not r.reused and not r.status.kind.not_run]
    seconds = [r.seconds for r in graded]
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        n = shared.get((r.student, r.assignment), 1)
        if n > 1:
            text = answers.get((r.student, r.assignment))
            groups.setdefault((n, similarity.squeeze(text) if text else ""), []).append(r.student)
    shared_rows = sum(len(v) for v in groups.values())
    shared_runs = round(sum(len(v) / n for (n, _), v in groups.items()))
    runs = sum(1 / shared.get((r.student, r.assignment), 1) for r in graded)
    return {
        "graded": len(graded),
        "reused": sum(r.reused for r in rows),
        "median": statistics.median(seconds) if seconds else None,
        "max": max(seconds, default=None),
        "total": sum(seconds),
        "runs": round(runs) if shared else len(graded),
        "shared_rows": shared_rows,
        "shared_runs": shared_runs,
        "shared": [{"count": n, "students": sorted(v)} for (n, _), v in sorted(groups.items(), reverse=True)],
        "slowest": sorted(graded, key=lambda r: -r.seconds)[:3],
        "histogram": histogram(
            seconds, bins=10, from_zero=False, x_label="seconds per submission", y_label="submissions"
        )
        if seconds
        else None,
    }


def term(rows: list[Result], base: Path) -> dict:
    """The term's side of the run: late and extended hand-ins (with their penalty and why), who on the
    roster handed nothing in, and who handed in without being on the roster."""
    ordered = sorted(rows, key=lambda r: (r.assignment, r.student))
    late = [
        {
            "student": r.student,
            "assignment": r.assignment,
            "late": r.late,
            "penalty": r.penalty,
            "score": score_text(r) or "-",
            "link": feedback_link(base, r.student, r.assignment),
        }
        for r in ordered
        if r.late
    ]
    absent = [
        {"student": r.student, "assignment": r.assignment, "status": str(r.status), "kind": r.status.kind.words}
        for r in ordered
        if r.status.kind.absent
    ]
    return {
        "late": late,
        "penalised": sum(1 for r in rows if r.penalty),
        "absent": absent,
        "missing": sum(1 for a in absent if a["kind"] == Kind.MISSING.words),
        "off_roster": sorted({r.student for r in rows if NOT_ON_ROSTER in r.warnings}),
    }
