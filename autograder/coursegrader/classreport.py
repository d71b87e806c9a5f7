"""Write the class report: one offline HTML page that shows the instructor the whole class.

`make grade` calls :func:`write_class_report` at the end of a run, with its rows
(:class:`coursegrader.table.Result`) and what it knows about each submission: the check
records of its graded notebook, the text of its answer cells, how many students
shared its graded run. The page (``class-report.html`` beside ``grades.csv``) has
the score distribution of each assignment, the pass rate of every check (the
checks the class fails most first), the statuses and the flagged submissions, the
answers several students share (:mod:`coursegrader.similarity`) and the time spent.
Every figure is inline SVG drawn by the template; nothing is fetched.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import similarity
from .cells import META, is_answer
from .course import LABS, feedback_path, graded_path
from .results import Result
from .status import Kind
from .term import NOT_ON_ROSTER
from .text import first_line

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "class-report.html.j2"
NO_ASSIGNMENT = "-"
MAX_CODE_LINES = 60


def _number(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x - round(x)) > 1e-9 else f"{round(x)}"


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
        labels = [_number(v) for v in range(count)]
        index = [min(max(0, round(v)), count - 1) for v in values]
    else:
        low = 0.0 if from_zero or not values else min(values)
        width = _step(top - low, bins)
        low = math.floor(low / width) * width
        count = max(1, math.ceil((top - low) / width - 1e-9))
        labels = [f"{_number(low + i * width)}–{_number(low + (i + 1) * width)}" for i in range(count)]
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


def _feedback(base: Path, student: str, assignment: str) -> str | None:
    page = feedback_path(base, student, assignment)
    return page.relative_to(base).as_posix() if page.is_file() else None


def _scores(rows: list[Result]) -> dict:
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


def _checks(rows: list[Result], checks: dict) -> list[dict]:
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
    lines = text.strip("\n").splitlines()
    cut = len(lines) - MAX_CODE_LINES
    return {"text": "\n".join(lines[:MAX_CODE_LINES]), "more": max(0, cut)}


def _shared_answers(
    assignment: str, rows: list[Result], answers: dict, stub: str | None, threshold: float, base: Path
) -> dict | None:
    mine = {r.student: answers.get((r.student, assignment)) for r in rows}
    mine = {s: a for s, a in mine.items() if a is not None}
    scores = {r.student: "-" if r.score is None else f"{_number(r.score)} / {_number(r.max_score or 0)}" for r in rows}
    if not mine:
        return None
    found = []
    for cluster in similarity.clusters(mine, threshold=threshold, stub=stub):
        groups = [
            {
                "students": [{"name": s, "link": _feedback(base, s, assignment), "score": scores[s]} for s in group],
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
        "stub": [{"name": s, "link": _feedback(base, s, assignment)} for s in stub_students],
    }


def _times(rows: list[Result], shared: dict, answers: dict) -> dict:
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


def _term(rows: list[Result], base: Path) -> dict:
    """The term's side of the run: late and extended hand-ins (with their penalty and why), who on the
    roster handed nothing in, and who handed in without being on the roster."""
    ordered = sorted(rows, key=lambda r: (r.assignment, r.student))
    late = [
        {
            "student": r.student,
            "assignment": r.assignment,
            "late": r.late,
            "penalty": r.penalty,
            "score": "-" if r.score is None else f"{_number(r.score)} / {_number(r.max_score or 0)}",
            "link": _feedback(base, r.student, r.assignment),
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


def answer_text(nb: dict) -> str | None:
    """The code of a notebook's answer cells, one after the other (None: it has none)."""
    cells = [c.get("source", "") for c in nb.get("cells", []) if c.get("cell_type") == "code" and is_answer(c)]
    return "\n\n".join("".join(s) if isinstance(s, list) else s for s in cells) if cells else None


def _json(path: Path) -> dict:
    """A notebook as plain JSON: much faster than nbformat for a few hundred graded notebooks."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_run(workdir: Path, rows: list[Result], labs: Path = LABS) -> dict:
    """``answers``, ``checks`` and ``stubs`` of :func:`write_class_report`, read from the graded
    notebooks under ``workdir/autograded/`` and the released labs."""
    answers, checks, stubs = {}, {}, {}
    for r in rows:
        graded = graded_path(workdir, r.student, r.assignment)
        if r.status.kind.not_run or not graded.is_file():
            continue  # nothing graded in this run: what is there is older
        nb = _json(graded)
        if r.status.kind is not Kind.ANSWER_MISSING:  # else the graded notebook holds the stub in its place
            answers[r.student, r.assignment] = answer_text(nb)
        checks[r.student, r.assignment] = nb.get("metadata", {}).get(META, {}).get("checks", [])
    for name in {r.assignment for r in rows}:
        released = Path(labs) / name / f"{name}.ipynb"
        if released.is_file():
            stubs[name] = answer_text(_json(released))
    return {"answers": answers, "checks": checks, "stubs": {k: v for k, v in stubs.items() if v}}


def class_report_context(
    rows: list[Result],
    *,
    base: Path,
    profiles: dict[str, str] | None = None,
    answers: dict | None = None,
    stubs: dict[str, str] | None = None,
    checks: dict | None = None,
    shared: dict | None = None,
    generated_by: str = "make grade",
    threshold: float = similarity.THRESHOLD,
    now: datetime | None = None,
) -> dict:
    """Everything the template shows, as plain data (``base``: the folder of the page)."""
    profiles, answers, stubs = profiles or {}, answers or {}, stubs or {}
    checks, shared = checks or {}, shared or {}
    names = sorted({r.assignment for r in rows if r.assignment != NO_ASSIGNMENT})
    assignments = []
    for name in names:
        mine = [r for r in rows if r.assignment == name and not r.status.kind.absent]
        assignments.append(
            {
                "name": name,
                "profile": profiles.get(name),
                "submissions": len(mine),
                "scores": _scores(mine),
                "checks": _checks(mine, checks),
                "answers": _shared_answers(name, mine, answers, stubs.get(name), threshold, base),
                "times": _times(mine, shared, answers),
            }
        )
    columns = names + ([NO_ASSIGNMENT] if any(r.assignment == NO_ASSIGNMENT for r in rows) else [])
    kinds = Counter((r.status.kind, r.assignment) for r in rows)
    present = [k for k in Kind if any(kinds[k, a] for a in columns)]
    status_table = [
        {
            "kind": k.words,
            "note": k.meaning,
            "counts": [kinds[k, a] for a in columns],
            "total": sum(kinds[k, a] for a in columns),
        }
        for k in present
    ]
    flagged = [
        {
            "student": r.student,
            "assignment": r.assignment,
            "score": None if r.score is None else f"{_number(r.score)} / {_number(r.max_score or 0)}",
            "status": str(r.status),
            "kind": r.status.kind.words,
            "warnings": r.warnings,
            "link": _feedback(base, r.student, r.assignment),
        }
        for r in sorted(rows, key=lambda r: (r.assignment, r.student))
        if r.flagged
    ]
    clusters = [c for a in assignments if a["answers"] for c in a["answers"]["clusters"]]
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    return {
        "when": when,
        "generated_by": generated_by,
        "threshold": threshold,
        "students": len({r.student for r in rows}),
        "submissions": sum(r.assignment != NO_ASSIGNMENT and not r.status.kind.absent for r in rows),
        "assignments": assignments,
        "columns": columns,
        "status_table": status_table,
        "status_totals": [sum(r.assignment == a for r in rows) for a in columns],
        "flagged": flagged,
        "shared_clusters": len(clusters),
        "stub_count": sum(len(a["answers"]["stub"]) for a in assignments if a["answers"]),
        "term": _term(rows, base),
        "any_answers": any(a["answers"] for a in assignments),
        "k": similarity.K,
    }


def render(context: dict) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["duration"] = duration
    return env.get_template(TEMPLATE).render(**context)


def write_class_report(
    path: Path,
    rows: list[Result],
    *,
    profiles: dict[str, str] | None = None,
    answers: dict | None = None,
    stubs: dict[str, str] | None = None,
    checks: dict | None = None,
    shared: dict | None = None,
    generated_by: str = "make grade",
) -> Path:
    """Write the class report of one grading run to ``path`` (``class-report.html``) and return it.

    ``profiles``: {assignment: profile name}; ``answers``: {(student, assignment): the text of the
    submission's answer cells}; ``stubs``: {assignment: the same text in the released lab};
    ``checks``: {(student, assignment): the check records of the graded notebook}; ``shared``:
    {(student, assignment): how many students shared that graded run (1: its own)}.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    context = class_report_context(
        list(rows),
        base=path.parent,
        profiles=profiles,
        answers=answers,
        stubs=stubs,
        checks=checks,
        shared=shared,
        generated_by=generated_by,
    )
    path.write_text(render(context), encoding="utf-8")
    return path
