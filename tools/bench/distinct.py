"""The class where every sentiment answer differs, graded as ``make grade`` does, and by the previous code.

Every student hands in all three labs: a sentiment layer of their own
(:mod:`coursetools.bench.answers`: distinct correct layers and typical mistakes, each with the
score it deserves), and the two NMT labs as released, with written answers in their own words
(so each NMT lab is one run for the whole class). The class is graded by this checkout's grader
(with CPU timing on, for :mod:`coursetools.bench.phases`) and, in the same benchmark run, by the
previous code (:mod:`coursetools.bench.baseline`) on a copy; every score is compared with what
the answer deserves and with the previous code's.
"""

from __future__ import annotations

import copy
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

import coursegrader.dispatch as dispatching
import coursegrader.grade as grading
from coursegrader.cells import solution_cell, written_answer_cells
from coursegrader.course import DEMO
from coursegrader.timing import CPU_TIMING_VAR

from . import baseline, phases
from .answers import Answer, distinct_answers

NMT_LABS = ("nmt", "nmt_luong")


def make_distinct_class(n: int, submitted: Path) -> dict[str, Answer]:
    """Write ``n`` students' notebooks of all three labs; return {student: their sentiment answer}."""
    released = {
        lab: nbformat.read(
            DEMO / "honest" / ("untouched" if lab == "sentiment" else "passes-all") / lab / f"{lab}.ipynb", as_version=4
        )
        for lab in ("sentiment", *NMT_LABS)
    }
    answers = {}
    for answer in distinct_answers(n):
        answers[answer.student] = answer
        for lab, nb in released.items():
            book = copy.deepcopy(nb)
            if lab == "sentiment":
                solution_cell(book).source = answer.source
            for cell in written_answer_cells(book):
                cell.source = f"{answer.student} answers in their own words."
            folder = submitted / answer.student / lab
            folder.mkdir(parents=True)
            nbformat.write(book, folder / f"{lab}.ipynb")
    return answers


class _Timed:
    """Times every call of ``coursegrader.dispatch.deliver`` (a student's feedback page and gradebook entry)."""

    def __init__(self):
        self.calls: list[tuple[float, float]] = []
        self.original = dispatching.deliver

    def __call__(self, *args, **kwargs):
        wall, cpu = time.monotonic(), time.thread_time()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.calls.append((time.monotonic() - wall, time.thread_time() - cpu))

    def __enter__(self):
        dispatching.deliver = self
        return self

    def __exit__(self, *exc):
        dispatching.deliver = self.original


def grade_ours(workdir: Path, profile: str, jobs: int | None) -> dict:
    """The class graded by this checkout, with CPU timing; wall time, rows and what was timed."""
    saved = os.environ.get(CPU_TIMING_VAR)
    os.environ[CPU_TIMING_VAR] = "1"
    try:
        with _Timed() as feedback:
            start = time.monotonic()
            results = grading.grade(workdir=workdir, profile=profile, jobs=jobs, force=True)
            wall = time.monotonic() - start
    finally:
        if saved is None:
            os.environ.pop(CPU_TIMING_VAR, None)
    rows = {(r.student, r.assignment): r for r in results}
    return {"wall": wall, "rows": rows, "feedback": feedback.calls}


def run(n: int, profile: str, jobs: int | None, previous: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-distinct-") as tmp:
        tmp = Path(tmp)
        answers = make_distinct_class(n, tmp / "class" / "submitted")
        ours = grade_ours(tmp / "class", profile, jobs)
        units = phases.outcomes(tmp / "class")
        log = (tmp / "class" / "grading.log").read_text(encoding="utf-8")
        theirs = None
        if previous is not None:
            theirs = baseline.grade_with(previous, tmp / "class" / "submitted", tmp / "previous", profile, jobs)
    by_lab: dict[str, list[float]] = {}
    cpu_by_lab: dict[str, list[float]] = {}
    for unit in units:
        by_lab.setdefault(unit["assignment"], []).append(unit["record"]["timing"]["phases"]["unit"][0])
        cpu = phases.unit_phases(unit["record"]).get("the whole unit", (0.0, None))[1]
        if cpu is not None:
            cpu_by_lab.setdefault(unit["assignment"], []).append(cpu)
    correct = [
        u["record"] for u in units if u["assignment"] == "sentiment" and answers[u["graded_for"][0]].kind == "correct"
    ]
    return {
        "n": n,
        "profile": profile,
        "answers": answers,
        "ours": ours,
        "unit_seconds": by_lab,
        "unit_cpu": cpu_by_lab,
        "phases": phases.median_phases(correct),
        "feedback": ours["feedback"],
        "previous": theirs,
        "prepared": ", ".join(re.findall(r"===== (\w+: values every kernel shares .*)", log)) or "nothing",
    }


def extrapolate(wall: float, unit_seconds: dict[str, list[float]], students: int = 150) -> dict:
    """A class of ``students`` whose sentiment answers all differ, plus both NMT labs once: the
    mean sentiment unit times ``students``, the NMT units once, at the unit-seconds per second of
    wall the workers achieved in the measured class."""
    total = sum(sum(v) for v in unit_seconds.values())
    rate = total / wall
    sentiment = statistics.mean(unit_seconds.get("sentiment", [0.0]))
    nmt = sum(sum(unit_seconds.get(lab, [])) for lab in NMT_LABS)
    return {
        "rate": rate,
        "per_answer": sentiment / rate,
        "hours": (students * sentiment + nmt) / rate / 3600,
        "students": students,
    }


def cpu_estimate(unit_cpu: dict[str, list[float]], feedback_cpu: float, students: int = 150) -> dict | None:
    """What the class of ``students`` needs on an idle machine whose cores do nothing else: the CPU
    seconds of the mean sentiment unit (its kernel and its nbgrader process) for each student, the NMT
    units once, a feedback page per student and lab, over this machine's cores (a lower bound: no
    core ever waits)."""
    if not unit_cpu.get("sentiment"):
        return None
    sentiment = statistics.mean(unit_cpu["sentiment"])
    nmt = sum(sum(unit_cpu.get(lab, [])) for lab in NMT_LABS)
    cores = os.cpu_count() or 1
    total = students * (sentiment + (1 + len(NMT_LABS)) * feedback_cpu) + nmt
    return {"per_answer": sentiment, "nmt": nmt, "hours": total / cores / 3600, "cores": cores}
