"""`make grade`: every student folder under ``<workdir>/submitted/`` is accounted for.

Each submission is rebuilt from the released lab (answer-only) and keyed by what
executing it depends on (:mod:`coursegrader.plan`, :mod:`coursegrader.keys`). Identical work
is executed once: one unit per distinct key (:mod:`coursegrader.unit`: sandboxed kernel,
evidence out of the kernel, verdicts outside), the longest expected first, each with its
share of the cores (all of them when it runs alone; :mod:`coursegrader.schedule`), on local
workers or Dask (:mod:`coursegrader.workers`). A unit's result is kept by key
(:mod:`coursegrader.store`) and served to every student who shares it, each with their
own gradebook entry, graded notebook and feedback page (:mod:`coursegrader.deliver`).
Results end up in ``grades.csv``, the course gradebook, ``class-report.html`` and
the table. With no submissions at all, the shipped honest demo class is graded and
compared with ``autograder/demo/expected_scores.csv``.
"""

from __future__ import annotations

import os
import shutil
import traceback
from collections import Counter
from pathlib import Path

from coursekit import profiles

from . import demo, keys, store, workers
from . import sandbox as sandboxing
from .classreport import read_run, write_class_report
from .cluster import WAIT_FOR_JOBS, WAIT_FOR_WORKERS, refuse_unfit_workers
from .course import AUTOGRADER, DEMO, ROOT, assignments
from .deliver import deliver, fail, refresh
from .discover import discover, read_notebook
from .nbcommand import generate
from .plan import Entry, Unit, prepare, released, units
from .prepare import Preparing
from .sandbox.cgroups import default_memory_limit, memory_cap_support
from .schedule import Cores, expected_seconds, longest_first
from .state import add_timing, load_state, save_state
from .table import Result, Results, print_table, write_csv
from .unit import Run, collect, run_unit, unit_spec
from .withhold import withheld_data_dir


def grade(
    workdir: Path = AUTOGRADER,
    profile: str | None = None,
    use_demo: bool | None = None,
    only: list[str] | None = None,
    demo_class: str = "honest",
    sandbox: str | None = None,
    jobs: int | None = None,
    jobs_per_gpu: int = 1,
    students: list[str] | None = None,
    force: bool = False,
    scheduler: str | None = None,
    memory: str | None = None,
) -> Results:
    """Grade every student folder under ``workdir/submitted`` and return one result per row.

    ``only`` restricts grading to some assignments (default: all); ``sandbox`` is auto /
    require / off (default: ``$SANDBOX`` or auto). Unchanged submissions are not graded
    again, and identical work is executed once, also across runs (``force`` executes
    everything again, ``students`` grades just those again). ``jobs`` workers run side by
    side (default: one per GPU, else one per core as memory allows); ``scheduler`` sends the
    work to Dask instead (``local``, ``tcp://host:8786``, ``slurm``, ``pbs``).
    """
    workdir = Path(workdir).resolve()
    known = assignments()
    graded = [a for a in known if not only or a in only]
    if only and set(only) - set(graded):
        raise SystemExit(f"unknown assignment(s) {sorted(set(only) - set(graded))}; known: {', '.join(known)}")
    use_sandbox, message = sandboxing.decide(sandbox or sandboxing.mode_from_env())
    print(message, flush=True)
    chosen = {lab: profiles.select(lab, env={profiles.ENV_VAR: profile} if profile else None) for lab in graded}
    submitted = workdir / "submitted"
    if use_demo or (use_demo is None and not (submitted.is_dir() and any(p.is_dir() for p in submitted.iterdir()))):
        print(f"No submissions in {submitted}: grading the shipped {demo_class} demo class ({DEMO / demo_class}).")
        demo.seed(submitted, demo_class)
        use_demo = True
    run, envs, where = _session(workdir, known, chosen, use_sandbox, jobs, jobs_per_gpu, memory, scheduler)

    state = load_state(workdir)
    rows: dict[str, Result] = {}
    entries: list[Entry] = []
    subs = discover(submitted, graded, known)
    for sub in subs:
        rid = f"{sub.student}/{sub.assignment}"
        saved = state["rows"].get(rid)
        wanted = students is None or sub.student in students
        if sub.problem is None:
            try:
                sub.notebook = read_notebook(sub.path)
            except ValueError as err:
                sub.problem = str(err)
        if sub.problem is not None:
            rows[rid] = fail(sub, sub.problem, run)
            continue
        entry = prepare(sub, chosen[sub.assignment])
        unchanged = (
            saved
            and saved.get("content") == entry.content
            and not force
            and store.load(workdir, saved["key"]) is not None
        )
        if saved and (not wanted or (unchanged and students is None)):
            rows[rid] = Result(**{**saved["result"], "reused": True})
        elif not wanted:
            rows[rid] = Result(
                sub.student,
                sub.assignment,
                status="not graded yet (this run graded only " + ", ".join(students) + ")",
                warnings=list(entry.warnings),
            )
        else:
            entries.append(entry)

    todo, served = [], []
    for unit in units(entries):
        again = force or (students is not None and any(e.sub.student in students for e in unit.entries))
        found = None if again else store.load(workdir, unit.key)
        (served if found else todo).append((unit, found))
    _announce(graded, chosen, entries, todo, served, rows, where, run)
    preparing = Preparing(run, [u for u, _ in todo])  # meanwhile, the longest units start

    sharing = Counter([e.key for e in entries] + [state["rows"][rid]["key"] for rid, r in rows.items() if r.reused])

    def finish(unit: Unit, outcome: store.Outcome | None, why: str | None) -> list[Result]:
        results = []
        for entry in unit.entries:
            if outcome is None:
                results.append(fail(entry, why, run))
                continue
            previous = state["rows"].get(entry.row)
            results.append(
                deliver(
                    entry,
                    outcome,
                    run,
                    shared=sharing[unit.key],
                    resubmitted=not previous or previous.get("content") != entry.content,
                )
            )
        return results

    for unit, outcome in served:
        for result in finish(unit, outcome, None):
            rows[f"{result.student}/{result.assignment}"] = result
    expected = {id(u): expected_seconds(u.assignment, chosen[u.assignment], state["timings"]) for u, _ in todo}
    order = longest_first([u for u, _ in todo], expected)
    cores = Cores(order, expected, workers=len(envs))

    def line(results: list[Result]) -> str:
        r = results[0]
        also = f" (and {len(results) - 1} more with the same code)" if len(results) > 1 else ""
        return f"  graded {r.student:<20} {r.assignment:<10} in {r.seconds:5.0f} s  ({r.status}){also}"

    def execute(unit: Unit, env: dict[str, str]) -> list[Result]:
        try:
            spec = unit_spec(
                unit.first.sub.student, unit.assignment, unit.first.rebuilt, unit.key, run, cores.start(unit, env)
            )
            outcome = run_unit(spec)
            cores.done(unit)
            return finish(unit, *collect(spec, outcome, run))
        except Exception as err:  # noqa: BLE001 - the grader failed, not the student: listed, tried again
            with open(run.log, "a", encoding="utf-8") as out:
                out.write(f"===== {unit.first.row}: the grader failed\n{traceback.format_exc()}")
            why = f"grader error: {type(err).__name__}: {str(err)[:200]} (see {run.log.name})"
            return [fail(entry, why, run) for entry in unit.entries]

    if scheduler:
        done = workers.run_dask(
            order,
            scheduler,
            jobs or len(envs),
            make_spec=lambda u: unit_spec(u.first.sub.student, u.assignment, u.first.rebuilt, u.key, run),
            finish=lambda u, spec, outcome: finish(u, *collect(spec, outcome, run)),
            report=line,
            check=lambda client: refuse_unfit_workers(
                client, ROOT, workdir, use_sandbox, WAIT_FOR_JOBS if scheduler in ("slurm", "pbs") else WAIT_FOR_WORKERS
            ),
        )
    else:
        done = workers.run_local(order, envs, work=execute, describe=lambda u: f"{u.first.row}", report=line)
    for unit, results in zip(order, done):
        for result in results:
            rows[f"{result.student}/{result.assignment}"] = result
        if not results[0].status.startswith("grader error"):
            add_timing(state, unit.assignment, chosen[unit.assignment].name, results[0].seconds)

    preparing.join()
    results = Results(rows[f"{s.student}/{s.assignment}"] for s in subs)
    _remember(state, results, {e.row: e for e in entries}, workdir)
    refresh(run, results, {a: set(keys.written_answers(released(a))) for a in graded}, state["manual"])
    save_state(workdir, state)
    shutil.rmtree(workdir / ".work", ignore_errors=True)
    write_csv(results, workdir / "grades.csv")
    write_class_report(
        workdir / "class-report.html",
        results,
        profiles={a: p.name for a, p in chosen.items()},
        shared={(r.student, r.assignment): r.shared for r in results},
        **read_run(workdir, results),
    )
    ok = print_table(
        results,
        workdir,
        use_demo=bool(use_demo),
        demo_class=demo_class,
        profile_names={a: p.name for a, p in chosen.items()},
    )
    results.demo_ok = ok if use_demo else None
    return results


def _session(workdir: Path, known, chosen, use_sandbox, jobs, jobs_per_gpu, memory, scheduler):
    """Gradebooks, the kernels' data copy, workers and memory caps: what every unit of the run shares."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".work").mkdir(exist_ok=True)
    log = workdir / "grading.log"
    log.write_text("", encoding="utf-8")
    template = workdir / ".work" / "template.db"
    template.unlink(missing_ok=True)
    for assignment in known:
        generate(assignment, workdir / "gradebook.db", log)
        generate(assignment, template, log)
    withheld_data_dir()  # built once here, not by the first units at the same time
    gpus = workers.visible_gpus()
    envs = workers.worker_envs(jobs, gpus, jobs_per_gpu)
    if use_sandbox:
        capped, why = memory_cap_support()
        if not capped:
            print(why, flush=True)
        elif memory is None:
            memory = default_memory_limit(len(envs))
    run = Run(workdir=workdir, template_db=template, sandbox=use_sandbox, log=log, profiles=chosen, memory=memory or "")
    where = (
        f"Dask ({scheduler})"
        if scheduler
        else f"{len(envs)} worker(s)"
        + (
            f" on GPUs {', '.join(gpus)}"
            if gpus
            else f", {envs[0].get('TF_NUM_INTRAOP_THREADS', 'all')} CPU thread(s) each (all {os.cpu_count()} "
            f"for a unit expected to run alone)"
        )
    )
    return run, envs, where


def _announce(graded, chosen, entries, todo, served, rows, where, run) -> None:
    for assignment in graded:
        mine = [e for e in entries if e.sub.assignment == assignment]
        runs = sum(u.assignment == assignment for u, _ in todo)
        print(
            f"\n{assignment}: {len(mine)} submission(s) to grade, {runs} distinct run(s) to execute; "
            f"{chosen[assignment]}\n  limits: {chosen[assignment].cell_timeout} s per cell, "
            f"{chosen[assignment].notebook_timeout} s per notebook"
        )
    reused = sum(r.reused for r in rows.values())
    print(
        f"\n{len(todo)} run(s) to execute on {where}; {len(served)} served from earlier runs with the same "
        f"code; {reused} row(s) unchanged since the last run (FORCE=1 grades everything again)"
        + (f"; memory cap {run.memory} per kernel" if run.memory else ""),
        flush=True,
    )


def _remember(state: dict, results: list[Result], entries: dict[str, Entry], workdir: Path) -> None:
    """Keep each row with its content and key (not a grader error: that is tried again next run)."""
    for r in results:
        rid = f"{r.student}/{r.assignment}"
        entry = entries.get(rid)
        if r.status.startswith("grader error") or r.status.startswith("not graded yet"):
            state["rows"].pop(rid, None)
        elif entry is not None:
            state["rows"][rid] = {"content": entry.content, "key": entry.key, "result": r.as_saved()}
        elif not r.reused:
            state["rows"].pop(rid, None)  # no notebook to grade: its row is made again every run
    current = {f"{r.student}/{r.assignment}" for r in results}
    state["rows"] = {rid: row for rid, row in state["rows"].items() if rid in current}
    store.prune(workdir, {row["key"] for row in state["rows"].values()})
