"""`make bench-grade`: grading throughput, measured side by side in one run.

* **Workers** (``--workers``): the honest sentiment demo class graded with one worker,
  with two (each with its share of the cores), and with two that may each use every core
  (``COURSEKIT_NO_THREAD_SPLIT=1``), in the smoke and cpu profiles.
* **A class** (``--class N``, what ``make bench-grade`` runs): a generated class of N
  students handing in all three labs (:func:`make_class`: reference answers, their own
  correct answers, wrong variants, untouched notebooks, copied answers; the NMT labs
  as released with written answers of their own), graded by ``make grade``'s code in
  the chosen profile. Beside it, in the same run, each lab graded alone for one
  student: the time a one-at-a-time ``nbgrader autograde`` needs per submission, times
  N. From the measured seconds per distinct run it extrapolates the class of 150.

* **Every answer distinct** (``--distinct N``, what ``make bench-grade`` runs): N students
  who each wrote their own sentiment layer (:mod:`coursetools.bench.distinct`), plus both NMT
  labs, graded as ``make grade`` does; the phases of one graded answer
  (:mod:`coursetools.bench.phases`), the cost per distinct answer, the extrapolation to 150
  such students, and, with ``--baseline CHECKOUT``, the same class graded by the previous
  code in the same run, as a ratio, with every score compared.

Every measurement grades into a fresh folder with FORCE, so nothing is reused.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat

from coursegrader.cells import reference_answer, solution_cell, written_answer_cells
from coursegrader.course import DEMO
from coursegrader.demo import HONEST_VARIANTS
from coursegrader.grade import grade
from coursegrader.state import load_state

from . import distinct
from .phases import print_phases

LABS = ("sentiment", "nmt", "nmt_luong")
# the share of a class in each kind of sentiment hand-in (the rest copy someone's own answer)
MIX = {"own": 0.30, "wrong": 0.15, "reference": 0.20, "untouched": 0.15}


def own_answer(reference: str, student: str) -> str:
    """The reference layer as one student writes it: their names and comment (distinct code)."""
    return (
        reference.replace("keys", f"keys_{student}").replace("scores", f"scores_{student}")
        + f"\n# {student}: the general score, s^T W_a h_i"
    )


def make_class(n: int, submitted: Path) -> dict[str, str]:
    """Write ``n`` students' notebooks for all three labs; return {student: kind of sentiment hand-in}."""
    reference = reference_answer("sentiment")
    wrong = list(HONEST_VARIANTS["sentiment"].values())
    counts = {kind: round(share * n) for kind, share in MIX.items()}
    kinds = [kind for kind, k in counts.items() for _ in range(k)]
    kinds += ["copied"] * (n - len(kinds))
    released = {
        lab: nbformat.read(
            DEMO / "honest" / ("untouched" if lab == "sentiment" else "passes-all") / lab / f"{lab}.ipynb", as_version=4
        )
        for lab in LABS
    }
    owners, made = [], {}
    for i, kind in enumerate(kinds):
        student = f"s{i:03d}"
        nb = copy.deepcopy(released["sentiment"])
        answer = solution_cell(nb)
        if kind == "own":
            answer.source = own_answer(reference, student)
            owners.append(answer.source)
        elif kind == "wrong":
            answer.source = wrong[i % len(wrong)] + f"\n# {student}"
        elif kind == "reference":
            answer.source = reference
        elif kind == "copied":
            answer.source = owners[i % len(owners)] if owners else reference
        made[student] = kind
        for lab in LABS:
            folder = submitted / student / lab
            folder.mkdir(parents=True)
            book = nb if lab == "sentiment" else copy.deepcopy(released[lab])
            for cell in written_answer_cells(book):
                cell.source = f"{student} answers in their own words."
            nbformat.write(book, folder / f"{lab}.ipynb")
    return made


def timed_grade(workdir: Path, demo: str | None = None, **kwargs) -> tuple[float, list]:
    start = time.monotonic()
    results = grade(workdir=workdir, force=True, demo=demo, **kwargs)
    return time.monotonic() - start, list(results)


def class_run(n: int, profile: str, jobs: int | None) -> dict:
    """The class graded as a class, and one student per lab graded alone, in one run."""
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        make_class(n, Path(tmp) / "submitted")
        wall, results = timed_grade(Path(tmp), profile=profile, jobs=jobs)
        runs = {}
        for r in results:
            runs.setdefault(r.assignment, []).append(r)
        alone = {}
        for lab in LABS:
            single = Path(tmp) / f"alone-{lab}"
            shutil.copytree(Path(tmp) / "submitted" / "s000" / lab, single / "submitted" / "s000" / lab)
            alone[lab] = timed_grade(single, profile=profile, jobs=1, only=[lab])[0]
        keys = {rid: row["key"] for rid, row in load_state(Path(tmp))["rows"].items()}
    seconds_of = {keys[f"{r.student}/{r.assignment}"]: r.seconds for r in results}
    distinct = {lab: len({keys[f"{r.student}/{lab}"] for r in rows}) for lab, rows in runs.items()}
    unit_seconds = sum(seconds_of.values())
    return {
        "n": n,
        "profile": profile,
        "wall": wall,
        "alone": alone,
        "distinct": distinct,
        "unit_seconds": unit_seconds,
    }


def extrapolate(run: dict, students: int = 150) -> dict:
    """The class of ``students`` with the same mix: distinct runs grow with the students who write
    their own (or a wrong) answer; everything else is shared."""
    speedup = run["unit_seconds"] / run["wall"]
    sentiment_alone, nmt_alone = run["alone"]["sentiment"], run["alone"]["nmt"] + run["alone"]["nmt_luong"]
    distinct_sentiment = round((MIX["own"] + MIX["wrong"]) * students) + 2  # + the reference and the stub
    ours = (distinct_sentiment * sentiment_alone + nmt_alone) / speedup
    everyone = (students * sentiment_alone + nmt_alone) / speedup  # if every answer were distinct
    return {
        "students": students,
        "distinct_sentiment": distinct_sentiment,
        "ours": ours,
        "all_distinct": everyone,
        "one_at_a_time": students * sum(run["alone"].values()),
        "speedup": speedup,
        "measured_n": run["n"],
    }


def print_class(run: dict, estimate: dict) -> None:
    n, wall = run["n"], run["wall"]
    one = n * sum(run["alone"].values())
    print(f"\nA class of {n} students x {len(LABS)} labs, profile {run['profile']} (distinct runs: {run['distinct']})")
    print(f"{'grading':42s} {'wall':>10s} {'submissions/hour':>17s} {'vs one at a time':>17s}")
    print(
        f"{'make grade (shared runs, longest first)':42s} {wall / 60:8.1f} m {3600 * n * len(LABS) / wall:17.0f} "
        f"{one / wall:16.1f}x"
    )
    print(
        f"{'one-at-a-time nbgrader autograde (est.)':42s} {one / 60:8.1f} m {3600 * n * len(LABS) / one:17.0f} "
        f"{1:16.1f}x"
    )
    print("  seconds per submission graded alone: " + ", ".join(f"{lab} {s:.0f} s" for lab, s in run["alone"].items()))
    e = estimate
    print(
        f"\nExtrapolated to {e['students']} students (same mix: {e['distinct_sentiment']} distinct sentiment "
        f"answers; workers ran {e['speedup']:.2f} unit-seconds per second):"
    )
    print(
        f"  make grade: {e['ours'] / 3600:.2f} h; if every sentiment answer were distinct: "
        f"{e['all_distinct'] / 3600:.2f} h; one at a time: {e['one_at_a_time'] / 3600:.1f} h"
    )


def print_distinct(run: dict, checkout: Path | None) -> None:
    """Scores against what each answer deserves (and the previous code's), the phases, the costs."""
    n, profile, answers, ours = run["n"], run["profile"], run["answers"], run["ours"]
    print(f"\nThe class where every sentiment answer differs: {n} students x 3 labs, profile {profile}")
    wrong = [
        f"  {s}: {ours['rows'][(s, 'sentiment')].score:g}, deserves {a.expected(profile):g} ({a.why})"
        for s, a in answers.items()
        if ours["rows"][(s, "sentiment")].score != a.expected(profile)
    ]
    print(f"  {n - len(wrong)} of {n} sentiment answers got exactly the score they deserve")
    print("\n".join(wrong))
    previous = run["previous"]
    if previous is not None:
        differ = [
            f"  {s} {lab}: {r.score:g} here, {previous['rows'][(s, lab)]['score']} with the previous code"
            for (s, lab), r in ours["rows"].items()
            if (s, lab) not in previous["rows"] or float(previous["rows"][(s, lab)]["score"] or "nan") != r.score
        ]
        print(f"  every score the same as the previous code's: {'yes' if not differ else 'NO'}")
        print("\n".join(differ))
    print_phases(
        "One graded sentiment answer, phase by phase (median over the correct answers; CPU: the kernel's, "
        "then the nbgrader process's):",
        run["phases"],
        {"feedback page, gradebook entry (grader, per student)": _median_pair(run["feedback"])},
    )
    rows = [("this code", ours["wall"], distinct.extrapolate(ours["wall"], run["unit_seconds"]))]
    if previous is not None:
        label = f"previous code ({_revision(checkout)})"
        rows.append((label, previous["wall"], distinct.extrapolate(previous["wall"], previous["unit_seconds"])))
    head = f"{'grading the class':34s} {'wall':>9s} {'per distinct answer':>20s}"
    print(f"\n{head} {'150 distinct + both NMT labs':>29s}")
    for label, wall, e in rows:
        print(f"{label:34s} {wall / 60:7.1f} m {e['per_answer']:18.1f} s {e['hours']:27.2f} h")
    if previous is not None:
        print(f"{'previous / this (same class, one run)':34s} {previous['wall'] / ours['wall']:8.2f}x")
    print(
        f"  (per distinct answer: the mean sentiment run over the unit-seconds per second the workers achieved, "
        f"{rows[0][2]['rate']:.2f} here; prepared once for the class: {run.get('prepared', '-')})"
    )
    cpu = distinct.cpu_estimate(run["unit_cpu"], _median_pair(run["feedback"])[1] or 0.0)
    if cpu is not None:
        print(
            f"  CPU of this code: {cpu['per_answer']:.1f} s per distinct sentiment answer (kernel, nbgrader process; "
            f"mean), {cpu['nmt']:.0f} s for both NMT labs; on an idle {cpu['cores']}-core machine that keeps every "
            f"core busy, 150 distinct answers + both NMT labs would take at least {cpu['hours']:.2f} h"
        )


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float | None]:
    if not pairs:
        return 0.0, None
    walls, cpus = sorted(p[0] for p in pairs), sorted(p[1] for p in pairs)
    return walls[len(walls) // 2], cpus[len(cpus) // 2]


def _revision(checkout: Path | None) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(checkout)


def measure_workers(profile: str, jobs: int, split_threads: bool = True) -> dict:
    saved = os.environ.get("COURSEKIT_NO_THREAD_SPLIT")
    if not split_threads:
        os.environ["COURSEKIT_NO_THREAD_SPLIT"] = "1"
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-grade-{profile}-{jobs}-") as tmp:
            seconds, results = timed_grade(Path(tmp), demo="honest", profile=profile, only=["sentiment"], jobs=jobs)
    finally:
        if saved is None:
            os.environ.pop("COURSEKIT_NO_THREAD_SPLIT", None)
    return {
        "profile": profile,
        "jobs": jobs,
        "split": split_threads,
        "n": len(results),
        "seconds": seconds,
        "per_hour": 3600 * len(results) / seconds,
        "scores": sorted((r.student, r.score) for r in results),
    }


def print_workers(rows: list[dict]) -> None:
    print(
        f"\n{'profile':8s} {'workers':>8s} {'threads':>12s} {'submissions':>12s} {'seconds':>8s} "
        f"{'per hour':>9s} {'vs 1 worker':>12s}  same scores"
    )
    base: dict = {}
    for r in rows:
        b = base.setdefault(r["profile"], r)
        threads = "split" if r["split"] else "all"
        print(
            f"{r['profile']:8s} {r['jobs']:8d} {threads:>12s} {r['n']:12d} {r['seconds']:8.0f} "
            f"{r['per_hour']:9.0f} {r['per_hour'] / b['per_hour']:11.2f}x  {r['scores'] == b['scores']}"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--class",
        dest="students",
        type=int,
        default=None,
        metavar="N",
        help="grade a generated class of N students (all three labs)",
    )
    parser.add_argument(
        "--distinct", type=int, default=None, metavar="N", help="grade a class of N students whose answers all differ"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="CHECKOUT",
        help="also grade the --distinct class with the grader of this checkout (with its own .venv)",
    )
    parser.add_argument("--profile", default="cpu", help="profile of the class run (default cpu)")
    parser.add_argument("--jobs", type=int, default=None, help="workers for the class run (default: make grade's)")
    parser.add_argument(
        "--workers",
        nargs="*",
        metavar="PROFILE",
        help="compare 1 worker, 2 workers and 2 with split threads (default profiles: smoke cpu)",
    )
    args = parser.parse_args(argv)
    if args.workers is not None:
        rows = []
        for profile in args.workers or ["smoke", "cpu"]:
            rows += [
                measure_workers(profile, 1),
                measure_workers(profile, 2),
                measure_workers(profile, 2, split_threads=False),
            ]
        print_workers(rows)
    if args.distinct:
        print_distinct(distinct.run(args.distinct, args.profile, args.jobs, args.baseline), args.baseline)
    if args.students:
        run = class_run(args.students, args.profile, args.jobs)
        print_class(run, extrapolate(run))


if __name__ == "__main__":
    main()
