"""Write the class report: one offline HTML page that shows the instructor the whole class.

`make grade` calls :func:`write_class_report` at the end of a run, with its rows
(:class:`coursegrader.table.Result`) and what it knows about each submission: the check
records of its graded notebook, the text of its answer cells, how many students
shared its graded run. The page (``class-report.html`` beside ``grades.csv``) has
the score distribution of each assignment, the pass rate of every check (the
checks the class fails most first), the statuses and the flagged submissions, the
answers several students share (:mod:`coursegrader.similarity`) and the time spent,
each section computed by :mod:`coursegrader.classstats`. Every figure is inline SVG drawn by
the template; nothing is fetched.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import classstats as stats
from . import similarity
from .cells import META, is_answer
from .course import LABS, graded_path
from .results import Result
from .status import Kind

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "class-report.html.j2"
NO_ASSIGNMENT = "-"


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
                "scores": stats.scores(mine),
                "checks": stats.check_rates(mine, checks),
                "answers": stats.shared_answers(name, mine, answers, stubs.get(name), threshold, base),
                "times": stats.times(mine, shared, answers),
            }
        )
    columns = names + ([NO_ASSIGNMENT] if any(r.assignment == NO_ASSIGNMENT for r in rows) else [])
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
        "status_table": _status_table(rows, columns),
        "status_totals": [sum(r.assignment == a for r in rows) for a in columns],
        "flagged": _flagged(rows, base),
        "shared_clusters": len(clusters),
        "stub_count": sum(len(a["answers"]["stub"]) for a in assignments if a["answers"]),
        "term": stats.term(rows, base),
        "any_answers": any(a["answers"] for a in assignments),
        "k": similarity.K,
    }


def _status_table(rows: list[Result], columns: list[str]) -> list[dict]:
    """How many rows of each assignment (column) have each status kind; kinds nobody has are left out."""
    kinds = Counter((r.status.kind, r.assignment) for r in rows)
    present = [k for k in Kind if any(kinds[k, a] for a in columns)]
    return [
        {
            "kind": k.words,
            "note": k.meaning,
            "counts": [kinds[k, a] for a in columns],
            "total": sum(kinds[k, a] for a in columns),
        }
        for k in present
    ]


def _flagged(rows: list[Result], base: Path) -> list[dict]:
    """The flagged submissions, by assignment and student, with what flagged them and their feedback page."""
    return [
        {
            "student": r.student,
            "assignment": r.assignment,
            "score": stats.score_text(r),
            "status": str(r.status),
            "kind": r.status.kind.words,
            "warnings": r.warnings,
            "link": stats.feedback_link(base, r.student, r.assignment),
        }
        for r in sorted(rows, key=lambda r: (r.assignment, r.student))
        if r.flagged
    ]


def render(context: dict) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = stats.number
    env.filters["duration"] = stats.duration
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
