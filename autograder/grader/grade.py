"""`make grade`: every student folder under ``<workdir>/submitted/`` is accounted for.

Each submission is graded on its own (:mod:`grader.unit`: answer-only rebuild,
sandboxed kernel, evidence out of the kernel and verdicts outside), its grades
are merged into the course gradebook, its feedback page is written, and a row
goes to ``<workdir>/grades.csv`` and the table, whatever happened. With no
submissions at all, the shipped honest demo class is graded and its scores and
statuses are compared with ``autograder/demo/expected_scores.csv``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from coursekit import profiles

from . import demo, sandbox as sandboxing, workers
from .course import AUTOGRADER, DEMO, assignments
from .discover import discover
from .nbcommand import generate
from .sandbox.cgroups import default_memory_limit, memory_cap_support
from .state import load_state, save_state, submission_key
from .table import Result, Results, print_table, write_csv
from .unit import Run, finish, grade_one, not_gradable, unit_spec


def grade(workdir: Path = AUTOGRADER, profile: str | None = None, use_demo: bool | None = None,
          only: list[str] | None = None, demo_class: str = "honest", sandbox: str | None = None,
          jobs: int | None = None, jobs_per_gpu: int = 1, students: list[str] | None = None,
          force: bool = False, scheduler: str | None = None, memory: str | None = None) -> "Results":
    """Grade every student folder under ``workdir/submitted`` and return one result per row.

    ``only`` restricts grading to some assignments (default: all of them); ``sandbox``
    is auto / require / off (default: ``$SANDBOX`` or auto). Submissions whose content,
    assignment and profile are unchanged since the last run are not graded again
    (``force`` grades everything, ``students`` grades just those). ``jobs`` workers
    run side by side (default: one per GPU, else one per core); ``scheduler``
    sends the work to Dask instead (``local``, ``tcp://host:8786``, ``slurm``, ``pbs``).
    """
    workdir = Path(workdir).resolve()
    submitted = workdir / "submitted"
    known = assignments()
    graded_assignments = [a for a in known if not only or a in only]
    if only and set(only) - set(graded_assignments):
        raise SystemExit(f"unknown assignment(s) {sorted(set(only) - set(graded_assignments))}; "
                         f"known: {', '.join(known)}")
    mode = sandbox or sandboxing.mode_from_env()
    use_sandbox, message = sandboxing.decide(mode)
    print(message, flush=True)
    chosen = {lab: profiles.select(lab, env={profiles.ENV_VAR: profile} if profile else None)
              for lab in graded_assignments}
    has_submissions = submitted.is_dir() and any(p.is_dir() for p in submitted.iterdir())
    if use_demo or (use_demo is None and not has_submissions):
        print(f"No submissions in {submitted}: grading the shipped {demo_class} demo class "
              f"({DEMO / demo_class}).")
        demo.seed(submitted, demo_class)
        use_demo = True
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".work").mkdir(exist_ok=True)
    log = workdir / "grading.log"
    log.write_text("", encoding="utf-8")
    course_db = workdir / "gradebook.db"
    template = workdir / ".work" / "template.db"
    template.unlink(missing_ok=True)
    for assignment in known:
        generate(assignment, course_db, log)
        generate(assignment, template, log)
    gpus = workers.visible_gpus()
    envs = workers.worker_envs(jobs, gpus, jobs_per_gpu)
    if use_sandbox:
        capped, why = memory_cap_support()
        if not capped:
            print(why, flush=True)
        elif memory is None:
            memory = default_memory_limit(len(envs))
    run = Run(workdir=workdir, template_db=template, sandbox=use_sandbox, log=log, profiles=chosen,
              memory=memory or "")

    subs = discover(submitted, graded_assignments, known)
    state = {} if force else load_state(workdir)
    keys = {id(s): submission_key(s, chosen[s.assignment].name if s.assignment in chosen else "-")
            for s in subs}
    rows: dict[int, Result] = {}
    todo = []
    for sub in subs:
        saved = state.get(f"{sub.student}/{sub.assignment}")
        wanted = students is None or sub.student in students
        if saved and saved["key"] == keys[id(sub)] and not (students and wanted):
            rows[id(sub)] = Result(**{**saved["result"], "reused": True})
        elif wanted:
            todo.append(sub)
    for assignment in graded_assignments:
        n = sum(s.assignment == assignment for s in todo)
        print(f"\n{assignment}: {n} submission(s) to grade, {chosen[assignment]}\n"
              f"  limits: {chosen[assignment].cell_timeout} s per cell, "
              f"{chosen[assignment].notebook_timeout} s per notebook")
    reused = sum(r.reused for r in rows.values())
    where = (f"Dask ({scheduler})" if scheduler else
             f"{len(envs)} worker(s)" + (f" on GPUs {', '.join(gpus)}" if gpus else
                                         f", {envs[0].get('TF_NUM_INTRAOP_THREADS', 'all')} CPU thread(s) each"))
    print(f"\n{len(todo)} to grade on {where}; {reused} unchanged since the last run (reused; FORCE=1 "
          f"grades them again)" + (f"; memory cap {run.memory} per kernel" if run.memory else ""), flush=True)

    gradable = []
    for sub in todo:
        row = not_gradable(sub, run)
        if row is None:
            gradable.append(sub)
        else:
            rows[id(sub)] = row

    def line(r: Result) -> str:
        return f"  graded {r.student:<20} {r.assignment:<10} in {r.seconds:5.0f} s  ({r.status})"

    if scheduler:
        done = workers.run_dask(gradable, scheduler, jobs or len(envs),
                                 make_spec=lambda sub: unit_spec(sub, sub.notebook, run),
                                 finish=lambda sub, spec, outcome: finish(sub, spec, outcome, run),
                                 report=line)
    else:
        done = workers.run_local(gradable, envs, work=lambda sub, env: grade_one(sub, run, env),
                                  describe=lambda sub: f"{sub.student}/{sub.assignment}", report=line)
    rows.update({id(sub): r for sub, r in zip(gradable, done)})
    results = Results(rows[id(s)] for s in subs)
    for sub, r in zip(subs, results):
        if r.status.startswith("grader error"):  # the grader failed, not the student: try again next time
            state.pop(f"{sub.student}/{sub.assignment}", None)
        elif not r.reused:
            state[f"{sub.student}/{sub.assignment}"] = {"key": keys[id(sub)], "result": r.as_saved()}
    save_state(workdir, {f"{s.student}/{s.assignment}": state[f"{s.student}/{s.assignment}"]
                         for s in subs if f"{s.student}/{s.assignment}" in state})
    shutil.rmtree(workdir / ".work", ignore_errors=True)
    write_csv(results, workdir / "grades.csv")
    ok = print_table(results, workdir, use_demo=bool(use_demo), demo_class=demo_class,
                     profile_names={a: p.name for a, p in chosen.items()})
    results.demo_ok = ok if use_demo else None
    return results
