"""`make grade`: every student folder under ``<workdir>/submitted/`` is accounted for.

A run has four stages, each in a module of its own:

1. **session** (:mod:`.session`): the sandbox decision, each lab's profile, the gradebooks, the
   kernels' copy of the data with the truth withheld, the workers and their memory caps;
2. **plan** (:mod:`.plan`): every submission rebuilt from the released lab (answer-only) and keyed
   by what executing it depends on; identical work forms one unit; unchanged rows are reused and
   units graded before are served from the store;
3. **execute and deliver** (:mod:`.dispatch`): each unit runs once, the longest expected first, in a
   sandboxed kernel whose evidence is judged outside it; each student who shares the unit gets their
   own gradebook entry, graded notebook and feedback page;
4. **report** (:mod:`.report`): the term applied (late penalties, extensions, the roster's missing
   students: :mod:`.settle`), then ``grades.csv``, the class report, the table, and the state the
   next run starts from.

A demo class (:mod:`.demo`) is graded the same way, in a folder of its own, and compared with the
expected scores.
"""

from __future__ import annotations

from pathlib import Path

from . import demo as demo_classes
from .course import AUTOGRADER, assignments
from .dispatch import dispatch
from .errors import ConfigurationError
from .folderlock import exclusive
from .limits import describe, from_setting
from .plan import make_plan
from .report import report
from .results import Results
from .session import open_session
from .state import load_state
from .term import term_for_run


@exclusive  # one grader per folder; what a dead run left is cleared first
def grade(
    *,
    workdir: Path = AUTOGRADER,
    demo: str | None = None,
    profile: str | None = None,
    only: list[str] | None = None,
    sandbox: str | None = None,
    jobs: int | None = None,
    jobs_per_gpu: int = 1,
    students: list[str] | None = None,
    force: bool = False,
    scheduler: str | None = None,
    memory: str | None = None,
    limits: str | None = None,
) -> Results:
    """Grade every student folder under ``workdir/submitted`` and return one result per row.

    ``demo``: grade this shipped demo class instead, copied into ``workdir/submitted`` (a folder of
    the demo's own: real submissions are never replaced). ``profile``: a profile name, default
    ``$COURSE_PROFILE`` or auto. ``only``: some assignments (default all). ``sandbox``: auto /
    require / off (default ``$SANDBOX`` or auto). Unchanged submissions are not graded again and
    identical work is executed once, also across runs; ``force`` executes everything again,
    ``students`` grades just those again. ``jobs`` workers run side by side (default: one per GPU,
    else one per core as memory allows); ``scheduler`` sends the work to Dask instead (``local``,
    ``tcp://host:8786``, ``slurm``, ``pbs``). ``memory`` caps each kernel (e.g. ``8G``); ``limits``
    changes its disk, file, process and output limits (``off``, or ``disk=2G processes=2048``: see
    :mod:`coursegrader.limits`).
    """
    workdir = Path(workdir).resolve()
    known = assignments()
    graded = [a for a in known if not only or a in only]
    if only and set(only) - set(graded):
        unknown = sorted(set(only) - set(graded))
        raise ConfigurationError(f"unknown assignment(s) {unknown}; known: {', '.join(known)}")
    if demo:
        demo_classes.seed(workdir / "submitted", demo)
    session = open_session(
        workdir,
        known=known,
        graded=graded,
        profile=profile,
        sandbox=sandbox,
        jobs=jobs,
        jobs_per_gpu=jobs_per_gpu,
        memory=memory,
        scheduler=scheduler,
        limits=limits,
    )
    term = term_for_run(workdir, demo, known)  # calendar, extensions, roster
    state = load_state(workdir)
    plan = make_plan(workdir, state, graded=graded, known=known, chosen=session.chosen, students=students, force=force)
    _announce(session, plan, graded)
    rows = plan.rows | dispatch(session, plan, state, scheduler=scheduler, jobs=jobs)
    return report(session, plan, rows, state, term=term, demo=demo)


def _announce(session, plan, graded: list[str]) -> None:
    """What the run is about to do, per assignment and in all."""
    for assignment in graded:
        mine = sum(e.sub.assignment == assignment for e in plan.entries)
        prof = session.chosen[assignment]
        print(
            f"\n{assignment}: {mine} submission(s) to grade, {plan.runs(assignment)} distinct run(s) to execute; "
            f"{prof}\n  limits: {prof.cell_timeout} s per cell, {prof.notebook_timeout} s per notebook; "
            f"{describe(from_setting(prof.settings['limits']))}"
        )
    reused = sum(r.reused for r in plan.rows.values())
    memory = session.run.memory
    print(
        f"\n{len(plan.todo)} run(s) to execute on {session.where}; {len(plan.served)} served from earlier runs "
        f"with the same code; {reused} row(s) unchanged since the last run (FORCE=1 grades everything again)"
        + (f"; memory cap {memory} per kernel" if memory else ""),
        flush=True,
    )
