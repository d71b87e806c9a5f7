"""The last stage of :func:`coursegrader.grade.grade`: bring the rows up to date with the gradebook,
remember them for the next run, and write what people read (``grades.csv``, the class report, the
table on the terminal)."""

from __future__ import annotations

import shutil

from . import keys, store
from .classreport import read_run, write_class_report
from .deliver import refresh
from .plan import Plan, released
from .results import Result, Results
from .session import Session
from .settle import settle
from .state import GradingState, SavedRow, save_state
from .table import print_table, write_csv
from .term import Term


def report(session: Session, plan: Plan, rows: dict, state: GradingState, *, term: Term, demo: str | None) -> Results:
    """Every submission's row (and, with a roster, every missing one), everything written;
    ``demo_ok`` for a demo class."""
    run, workdir = session.run, session.run.workdir
    results = Results(rows[sub.row] for sub in plan.subs)
    settle(run, results, term, list(session.chosen))
    remember(state, results, plan)
    store.prune(workdir, {row.key for row in state.rows.values()})
    written = {a: set(keys.written_answers(released(a))) for a in session.chosen}
    refresh(run, results, written, state.manual)
    save_state(workdir, state)
    shutil.rmtree(workdir / ".work", ignore_errors=True)
    write_csv(results, workdir / "grades.csv")
    names = {a: p.name for a, p in session.chosen.items()}
    shared = {r.row: r.shared for r in results}
    write_class_report(
        workdir / "class-report.html", results, profiles=names, shared=shared, **read_run(workdir, results)
    )
    ok = print_table(results, workdir, demo=demo, profile_names=names)
    results.demo_ok = ok if demo else None
    return results


def remember(state: GradingState, results: list[Result], plan: Plan) -> None:
    """Keep each graded row with its content and key, for the next run. A grader error or a row not
    graded this time is forgotten (graded again next run); so is a row with no notebook (made again
    every run); rows of folders that are gone are dropped."""
    entries = {e.row: e for e in plan.entries}
    for r in results:
        entry = entries.get(r.row)
        if r.status.kind.retried:
            state.rows.pop(r.row, None)
        elif entry is not None:
            state.rows[r.row] = SavedRow(entry.content, entry.key, r)
        elif not r.reused:
            state.rows.pop(r.row, None)
    current = {r.row for r in results}
    state.rows = {rid: row for rid, row in state.rows.items() if rid in current}
