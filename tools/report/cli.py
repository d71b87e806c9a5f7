"""The command line of ``make report``: ``python -m coursetools.report [--profile P] [--only RUN,RUN] ...``.

Runs the chosen labs (unless ``--no-run``), collects their summaries and writes the page; exits with
status 1 when a run failed or has no results.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .collect import collect
from .execute import run_all
from .page import write_report
from .runs import CELLS, CHECKPOINT_DIR, DEFAULT_OUT, RUNS, RUNS_DIR, resolve_profile

DESCRIPTION = "`make report`: run the course's labs and write one self-contained HTML report of their results."


def parse_only(text: str | None) -> list[str]:
    """``--only bahdanau,sentiment``: known run names, in the report's order, each once."""
    if not text:
        return list(RUNS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown run(s) {', '.join(unknown)}; known: {', '.join(RUNS)}")
    return [n for n in RUNS if n in names]


def reproduce_command(profile: str, only: Sequence[str] | None, cell: str) -> str:
    """The commands that make this report again, as the page shows them."""
    command = f"make report PROFILE={profile}"
    command += f" ONLY={','.join(only)}" if only else ""
    command += f" CELL={cell}" if cell != "gru" else ""
    command += f"\n# or: .venv/bin/python -m coursetools.report --profile {profile}"
    command += f" --only {','.join(only)}" if only else ""
    command += f" --cell {cell}" if cell != "gru" else ""
    return command


def main(argv: Sequence[str] | None = None, executor: Callable | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.report", description=DESCRIPTION)
    parser.add_argument(
        "--profile",
        default=None,
        help="auto|full|cpu|smoke (default: $COURSE_PROFILE or auto; with --no-run, "
        "the profile the summaries were made in)",
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=None,
        metavar="RUN,RUN",
        help=f"only these runs (default all: {','.join(RUNS)})",
    )
    parser.add_argument("--cell", choices=CELLS, default="gru", help="recurrent cell of the Luong runs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file (default report/index.html)")
    parser.add_argument("--no-run", action="store_true", help="only re-render from the existing run_summary.json files")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.only or list(RUNS)

    try:
        profile = resolve_profile(args.profile)
    except ValueError as error:
        parser.error(str(error))
    if not args.no_run:
        print(f"make report: {len(names)} run(s) in profile {profile}, one after the other", file=sys.stderr)
        run_all(names, profile, args.cell, args.runs_dir, args.checkpoint_dir, executor)
    results = collect(names, args.runs_dir, args.cell)
    if args.no_run:
        made_in = {(r.summary or {}).get("profile") for r in results if r.ok} - {None}
        if (args.profile or "auto").lower() == "auto" and len(made_in) == 1:
            profile = made_in.pop()

    out = write_report(results, args.out, profile, reproduce_command(profile, args.only, args.cell))
    bad = [r for r in results if not r.ok]
    print(
        f"wrote {out} ({len(results)} run(s)"
        + (f"; FAILED or missing: {', '.join(r.name for r in bad)})" if bad else ", all ok)"),
        file=sys.stderr,
    )
    return 1 if bad else 0
