"""The grader's command line: ``python -m coursegrader release | grade | unit SPEC.json``, and the
term's ``calendar | extend | roster`` (:mod:`coursegrader.termcli`)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

from coursekit import profiles

from . import demo, machine, termcli
from .backup import backup_gradebook
from .course import AUTOGRADER
from .errors import ConfigurationError, GradingError
from .grade import grade
from .groupshare import share_with_group
from .release import release
from .unit import run_unit


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    share_with_group()  # a course folder shared by the staff group stays writable by all of them
    if args.command in ("calendar", "extend", "roster"):
        return termcli.run(args)
    try:
        if args.command == "release":
            release()
            return 0
        if args.command == "unit":
            outcome = run_unit(json.loads(args.spec.read_text(encoding="utf-8")))
            args.spec.with_suffix(".out.json").write_text(json.dumps(outcome), encoding="utf-8")
            return 0 if outcome["code"] == 0 else 1
        return _grade(args)
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code


def _parser() -> argparse.ArgumentParser:
    """The commands: release, grade (:func:`_add_grade_command`), unit, and the term's (termcli)."""
    parser = argparse.ArgumentParser(
        prog="python -m coursegrader", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="generate labs/ from solutions/ and rebuild the demo classes")
    _add_grade_command(sub)
    u = sub.add_parser("unit", help="run one grading unit (for a cluster scheduler): SPEC.json -> SPEC.out.json")
    u.add_argument("spec", type=Path)
    termcli.add_commands(sub)
    return parser


def _add_grade_command(sub) -> None:
    """``grade`` and its options (the Makefile's ``make grade`` passes them through)."""
    g = sub.add_parser("grade", help="autograde every submission and print a table")
    g.add_argument(
        "--profile",
        choices=("auto", *profiles.NAMES),
        default=None,
        help=f"run profile (default: ${profiles.ENV_VAR} or auto)",
    )
    g.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder holding submitted/; results are written next to it (default: autograder/, or "
        "autograder/demo-results/<class>/ with --demo)",
    )
    g.add_argument(
        "--demo",
        choices=demo.CLASSES,
        default=None,
        help="grade this shipped demo class, in a folder of its own (the course's submissions are never touched)",
    )
    g.add_argument(
        "--assignment", action="append", metavar="ID", help="grade only this assignment (repeatable; default: all)"
    )
    g.add_argument(
        "--sandbox",
        choices=("auto", "require", "off"),
        default=None,
        help="run kernels in bubblewrap (default: $SANDBOX or auto)",
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="workers side by side (default: one per GPU, else one per core as memory allows)",
    )
    g.add_argument("--jobs-per-gpu", type=int, default=1, help="workers sharing one GPU (default 1)")
    g.add_argument(
        "--student", action="append", metavar="ID", help="grade only this student, again even if unchanged (repeatable)"
    )
    g.add_argument("--force", action="store_true", help="grade every submission, changed or not")
    g.add_argument("--scheduler", default=None, help="run the work on Dask: local, tcp://host:8786, slurm or pbs")
    g.add_argument(
        "--memory",
        default=None,
        help="memory cap per kernel, e.g. 8G (default: the machine's memory shared by the workers)",
    )
    g.add_argument(
        "--reserve",
        default=None,
        help="cores and memory left to the students on this machine, e.g. 'cores=50%% memory=50%%' or 'none' "
        f"(default: ${machine.RESERVE_VAR}, which the course's JupyterHub sets for the staff)",
    )
    g.add_argument(
        "--limits",
        default=None,
        help="the kernels' disk, file, process and output limits: 'off', or e.g. 'disk=2G processes=2048' "
        "(default: the table in coursegrader/limits for the profile)",
    )


def _grade(args) -> int:
    """``grade``: the course's submissions, or a demo class in a folder of its own; exit 1 when the
    grader failed on a unit or a demo class did not get its expected scores."""
    demo_class, workdir = args.demo, args.workdir
    _leave_to_students(args.reserve)
    if demo_class is None and workdir is None and not _has_submissions(AUTOGRADER / "submitted"):
        # the demo class has its own folder: seeded into the course's submitted/, its students would
        # be graded with the class collected there later, and its rows would reach the gradebook
        demo_class = "honest"
        print(f"No submissions in {AUTOGRADER / 'submitted'}: grading the shipped honest demo class instead.")
    if workdir is None:
        workdir = AUTOGRADER if demo_class is None else demo.demo_workdir(demo_class)
    if demo_class is None:  # the TAs' hand grades live only in the gradebook: a copy first
        _backup(workdir / "gradebook.db")
    results = grade(
        workdir=workdir,
        demo=demo_class,
        profile=None if args.profile in (None, "auto") else args.profile,
        only=args.assignment,
        sandbox=args.sandbox,
        jobs=args.jobs,
        jobs_per_gpu=args.jobs_per_gpu,
        students=args.student,
        force=args.force,
        scheduler=args.scheduler,
        memory=args.memory,
        limits=args.limits,
    )
    return 1 if results.grader_failed or results.demo_ok is False else 0


def _has_submissions(submitted: Path) -> bool:
    return submitted.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in submitted.iterdir())


def _leave_to_students(given: str | None) -> None:
    """On the machine students use (``--reserve`` or ``$COURSE_HUB_RESERVE``): the workers and
    memory caps count only on what the reserve leaves, and grading runs at a lower CPU priority,
    so a student's cell still runs promptly while the class is graded."""
    if given is not None:
        os.environ[machine.RESERVE_VAR] = given  # the workers (and Dask's local ones) read it
    kept = machine.reserve()
    if kept:
        os.nice(10)  # inherited by nbgrader and the kernels; students' servers keep priority 0
        print(
            f"This machine is shared with students ({machine.RESERVE_VAR}): grading leaves them {kept} "
            "and runs at a lower CPU priority (RESERVE=none uses all of it).",
            flush=True,
        )


def _backup(db: Path) -> None:
    try:
        copy = backup_gradebook(db)
    except (OSError, sqlite3.Error) as err:
        why = f"cannot back up the gradebook {db} before grading ({err}); nothing was graded"
        raise ConfigurationError(why) from None
    if copy is not None:
        print(f"Gradebook backed up to {copy}", flush=True)
