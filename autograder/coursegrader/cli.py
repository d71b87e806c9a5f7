"""The grader's command line: ``python -m coursegrader release | grade | unit SPEC.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coursekit import profiles

from . import demo
from .course import AUTOGRADER
from .errors import GradingError
from .grade import grade
from .release import release
from .unit import run_unit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursegrader", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="generate labs/ from solutions/ and rebuild the demo classes")
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
        "--limits",
        default=None,
        help="the kernels' disk, file, process and output limits: 'off', or e.g. 'disk=2G processes=2048' "
        "(default: the table in coursegrader/limits for the profile)",
    )
    u = sub.add_parser("unit", help="run one grading unit (for a cluster scheduler): SPEC.json -> SPEC.out.json")
    u.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
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


def _grade(args) -> int:
    """``grade``: the course's submissions, or a demo class in a folder of its own; exit 1 when the
    grader failed on a unit or a demo class did not get its expected scores."""
    demo_class, workdir = args.demo, args.workdir
    if demo_class is None and workdir is None:
        workdir = AUTOGRADER
        if not _has_submissions(workdir / "submitted"):
            demo_class = "honest"
            print(f"No submissions in {workdir / 'submitted'}: grading the shipped honest demo class instead.")
    if workdir is None:
        workdir = demo.demo_workdir(demo_class)
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
