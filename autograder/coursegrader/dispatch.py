"""Run a plan's units on the workers and deliver every finished one (the execute and deliver stages
of :func:`coursegrader.grade.grade`).

Units run the longest expected first, each with its share of the cores (:mod:`.schedule`), on
local worker threads or a Dask cluster (:mod:`.workers`). As each unit finishes, its result is
stored by key and served to every student who shares it (:mod:`.deliver`): their own gradebook
entry, graded notebook and feedback page. A unit the grader fails on costs only its own rows,
listed as grader errors and graded again by the next run.
"""

from __future__ import annotations

import traceback

from . import workers
from .cluster import WAIT_FOR_JOBS, WAIT_FOR_WORKERS, refuse_unfit_workers
from .course import ROOT
from .deliver import deliver, fail
from .plan import Plan, Unit
from .prepare import Preparing
from .results import Result, RowId
from .schedule import Cores, expected_seconds, longest_first
from .session import Session
from .state import GradingState
from .status import Kind, Status
from .unit import collect, run_unit, unit_spec


def deliver_unit(session: Session, plan: Plan, state: GradingState, unit: Unit, outcome, status) -> list[Result]:
    """Every row of ``unit``: served from ``outcome``, or failed with ``status`` when there is none."""
    results = []
    for entry in unit.entries:
        if outcome is None:
            results.append(fail(entry, status, session.run))
            continue
        previous = state.rows.get(entry.row)
        resubmitted = previous is None or previous.content != entry.content
        results.append(deliver(entry, outcome, session.run, shared=plan.sharing[unit.key], resubmitted=resubmitted))
    return results


def dispatch(session: Session, plan: Plan, state: GradingState, *, scheduler: str | None, jobs: int | None):
    """Deliver the stored units and the failed submissions, execute the others; return every row
    this run decided, by id. Measured seconds go to ``state`` for the next run's order."""
    run = session.run
    rows: dict[RowId, Result] = {sub.row: fail(sub, sub.problem, run) for sub in plan.failed}
    for unit, outcome in plan.served:
        rows.update((r.row, r) for r in deliver_unit(session, plan, state, unit, outcome, None))
    expected = {}
    for u in plan.todo:
        profile = session.chosen[u.assignment]
        expected[id(u)] = expected_seconds(u.assignment, profile, state.measured(u.assignment, profile.name))
    order = longest_first(plan.todo, expected)
    preparing = Preparing(run, plan.todo)  # meanwhile, the longest units start
    try:
        if scheduler:
            done = _on_dask(session, plan, state, order, scheduler, jobs or len(session.envs))
        else:
            done = _on_local_workers(session, plan, state, order, Cores(order, expected, workers=len(session.envs)))
    finally:
        preparing.join()
    for unit, results in zip(order, done):
        rows.update((r.row, r) for r in results)
        if results[0].status.kind is not Kind.GRADER_ERROR:
            state.add_timing(unit.assignment, session.chosen[unit.assignment].name, results[0].seconds)
    return rows


def _on_local_workers(session: Session, plan: Plan, state: GradingState, order: list[Unit], cores: Cores):
    run = session.run

    def execute(unit: Unit, env: dict[str, str]) -> list[Result]:
        try:
            first = unit.first
            spec = unit_spec(first.sub.student, unit.assignment, first.rebuilt, unit.key, run, cores.start(unit, env))
            outcome = run_unit(spec)
            cores.done(unit)
            return deliver_unit(session, plan, state, unit, *collect(spec, outcome, run))
        except Exception as err:  # noqa: BLE001 - the grader failed, not the student: listed, tried again
            with open(run.log, "a", encoding="utf-8") as out:
                out.write(f"===== {unit.first.row}: the grader failed\n{traceback.format_exc()}")
            why = Status(Kind.GRADER_ERROR, f"{type(err).__name__}: {str(err)[:200]} (see {run.log.name})")
            return [fail(entry, why, run) for entry in unit.entries]

    return workers.run_local(order, session.envs, work=execute, describe=lambda u: str(u.first.row), report=_line)


def _on_dask(session: Session, plan: Plan, state: GradingState, order: list[Unit], scheduler: str, jobs: int):
    run = session.run

    def spec_of(unit: Unit) -> dict:
        return unit_spec(unit.first.sub.student, unit.assignment, unit.first.rebuilt, unit.key, run)

    def finish(unit: Unit, spec: dict, outcome: dict) -> list[Result]:
        return deliver_unit(session, plan, state, unit, *collect(spec, outcome, run))

    def check(client) -> None:
        wait = WAIT_FOR_JOBS if scheduler in ("slurm", "pbs") else WAIT_FOR_WORKERS
        refuse_unfit_workers(client, ROOT, run.workdir, run.sandbox, wait)

    return workers.run_dask(order, scheduler, jobs, make_spec=spec_of, finish=finish, report=_line, check=check)


def _line(results: list[Result]) -> str:
    """What the progress log prints when a unit is done."""
    r = results[0]
    also = f" (and {len(results) - 1} more with the same code)" if len(results) > 1 else ""
    return f"  graded {r.student:<20} {r.assignment:<10} in {r.seconds:5.0f} s  ({r.status}){also}"
