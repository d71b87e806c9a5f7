"""One grading unit: a submission graded in its own folder with its own gradebook and kernel.

:func:`unit_spec` prepares the unit as plain data (JSON), :func:`run_unit` runs
``nbgrader autograde`` on it (anywhere: a local worker thread, a Dask worker, or
``python -m grader unit SPEC.json``), and :func:`finish` merges its outcome into
the course results: gradebook, ``autograded/``, feedback, one unit at a time.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import feedback
from .course import LABS
from .discover import Submission, read_notebook
from .gradebook import merge, zero_submission
from .nbcommand import nbgrader, workdir_options
from .rebuild import META
from .table import Result


@dataclass
class Run:
    """What every submission of one `make grade` run shares."""
    workdir: Path
    template_db: Path
    sandbox: bool
    log: Path
    profiles: dict
    memory: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)  # one merge into the course results at a time


def write_feedback(run: Run, result: Result, nb) -> None:
    path = run.workdir / "feedback" / result.student / result.assignment / f"{result.assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback.render(nb, student=result.student, assignment=result.assignment,
                                    score=result.score, max_score=result.max_score,
                                    status=result.status, warnings=result.warnings), encoding="utf-8")
    # what `nbgrader release_feedback` (make return) needs beside the page, as its generate_feedback leaves it
    source = run.workdir / "submitted" / result.student / result.assignment
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (source / name).is_file():
            shutil.copyfile(source / name, path.parent / name)


def _copy_results(src: Path, dest: Path) -> None:
    """The graded notebook and small files it wrote (a heatmap), never weights or huge files."""
    if dest.exists():
        shutil.rmtree(dest)

    def ignore(folder, names):
        return [n for n in names if n in ("checkpoints", ".ipynb_checkpoints")
                or (Path(folder, n).is_file() and Path(folder, n).stat().st_size > 20 * 2**20)]
    shutil.copytree(src, dest, ignore=ignore, symlinks=True)


def unit_spec(sub: Submission, nb, run: Run, env: dict[str, str] | None = None) -> dict:
    """Everything one grading job needs, as plain data (JSON), so that any worker can run it."""
    prof = run.profiles[sub.assignment]
    work = Path(tempfile.mkdtemp(prefix=f"{sub.student}-{sub.assignment}-", dir=run.workdir / ".work"))
    nb.metadata[META] = {"warnings": list(sub.warnings)}  # nothing of the student's own metadata
    notebook = work / "submitted" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nb, notebook)
    shutil.copyfile(run.template_db, work / "gradebook.db")
    return {"student": sub.student, "assignment": sub.assignment, "work": str(work),
            "profile": prof.name, "cell_timeout": prof.cell_timeout,
            "notebook_timeout": prof.notebook_timeout, "sandbox": run.sandbox,
            "memory": run.memory, "env": dict(env or {})}


def run_unit(spec: dict) -> dict:
    """Grade one submission in its private folder ``spec["work"]`` (made by :func:`unit_spec`).

    This is the unit of work a scheduler runs: ``python -m grader unit SPEC.json``
    on any machine that sees the same folders (or :mod:`grader.workers`' Dask workers).
    It touches nothing outside ``spec["work"]``; the course results are written afterwards,
    one submission at a time, by :func:`finish`.
    """
    work = Path(spec["work"])
    memory = [f"--SandboxedKernelManager.memory_limit={spec['memory']}"] if spec.get("memory") else []
    code, seconds = nbgrader(
        "autograde", spec["assignment"], "--student", spec["student"], "--force", *workdir_options(work),
        f"--GradeExecute.timeout={spec['cell_timeout']}",
        f"--GradeExecute.notebook_timeout={spec['notebook_timeout']}",
        f"--GradeExecute.sandbox={'on' if spec['sandbox'] else 'off'}",
        *memory, f"--RebuildFromRelease.release_root={LABS}",
        profile=spec["profile"], timeout=spec["notebook_timeout"] + 300, log=work / "nbgrader.log",
        env=spec.get("env"))  # this worker's GPU and thread settings reach the kernel
    return {"code": code, "seconds": seconds}


def finish(sub: Submission, spec: dict, outcome: dict, run: Run) -> Result:
    """Merge one graded submission into the course results: gradebook, autograded/, feedback."""
    with run.lock:
        return _finish(sub, spec, outcome, run)


def _finish(sub: Submission, spec: dict, outcome: dict, run: Run) -> Result:
    result = Result(sub.student, sub.assignment, warnings=list(sub.warnings))
    work = Path(spec["work"])
    course_db = run.workdir / "gradebook.db"
    code = outcome.get("code")
    try:
        log = work / "nbgrader.log"
        with open(run.log, "a", encoding="utf-8") as out:
            out.write(f"===== {sub.student} / {sub.assignment}\n"
                      + (log.read_text(encoding="utf-8") if log.exists() else outcome.get("error", "")))
        graded_dir = work / "autograded" / sub.student / sub.assignment
        graded = graded_dir / f"{sub.assignment}.ipynb"
        nb = None
        if code != 0 or not graded.exists():
            if code is None and "error" not in outcome:
                why = "stopped after the grader's time limit"
            elif "error" in outcome:
                why = f"the worker failed ({outcome['error'].strip().splitlines()[-1][:200]})"
            elif code < 0:
                why = f"nbgrader was killed by signal {-code}"
            else:
                why = f"nbgrader exit {code}"
            result.status = f"grader error: {why} (see {run.log.name})"
            result.flagged = True
            with Gradebook(f"sqlite:///{course_db}") as gb:
                result.score, result.max_score = zero_submission(gb, sub.assignment, sub.student, True)
        else:
            nb = nbformat.read(graded, as_version=4)
            record = nb.metadata.get(META, {})
            result.status = record.get("status", "ok")
            result.warnings = (list(record.get("warnings", [])) + list(record.get("notes", []))
                               + list(record.get("errors", [])))
            result.warnings += [f"check `{c['grade_id']}` printed a warning (no points lost)"
                                for c in record.get("checks", []) if c["warnings"]]
            result.flagged = bool(record.get("flagged"))
            result.score, result.max_score = merge(course_db, work / "gradebook.db", sub.assignment,
                                                   sub.student, result.flagged)
            _copy_results(graded_dir, run.workdir / "autograded" / sub.student / sub.assignment)
        write_feedback(run, result, nb)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.seconds = outcome.get("seconds", 0.0)
    return result


def not_gradable(sub: Submission, run: Run) -> Result | None:
    """The row of a submission that cannot run (no notebook, unreadable...), or None."""
    if sub.problem is None:
        try:
            sub.notebook = read_notebook(sub.path)
        except ValueError as err:
            sub.problem = str(err)
    if sub.problem is None:
        return None
    result = Result(sub.student, sub.assignment, warnings=list(sub.warnings), status=sub.problem,
                    flagged=True)
    if sub.assignment != "-":
        with Gradebook(f"sqlite:///{run.workdir / 'gradebook.db'}") as gb:
            result.score, result.max_score = zero_submission(gb, sub.assignment, sub.student, True)
        write_feedback(run, result, None)
    return result


def grade_one(sub: Submission, run: Run, env: dict[str, str] | None = None) -> Result:
    """Grade one submission here and now (the sequential path, and what a worker thread runs)."""
    start = time.monotonic()
    result = not_gradable(sub, run)
    if result is None:
        spec = unit_spec(sub, sub.notebook, run, env)
        result = finish(sub, spec, run_unit(spec), run)
    result.seconds = time.monotonic() - start
    return result
