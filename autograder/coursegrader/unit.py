"""One grading unit: one content key executed in its own folder, with its own gradebook and kernel.

:func:`unit_spec` prepares the unit as plain data (JSON) from a rebuilt notebook,
:func:`run_unit` runs ``nbgrader autograde`` on it (anywhere: a local worker thread,
a Dask worker, or ``python -m coursegrader unit SPEC.json``), and :func:`collect` turns
what it left into a stored :class:`coursegrader.store.Outcome`, which
:mod:`coursegrader.deliver` serves to every student who handed in that work.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import store
from .cells import META
from .course import LABS
from .gradebook import unit_grades
from .limits import from_setting
from .nbcommand import nbgrader, workdir_options
from .status import Kind, Status


@dataclass
class Run:
    """What every unit of one `make grade` run shares."""

    workdir: Path
    template_db: Path
    sandbox: bool
    log: Path
    profiles: dict
    memory: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)  # one write into the course results at a time


def unit_spec(student: str, assignment: str, rebuilt, key: str, run: Run, env: dict[str, str] | None = None) -> dict:
    """Everything one grading job needs, as plain data (JSON), so that any worker can run it.

    The unit grades the *rebuilt* notebook (released lab + answers), under the id of the first
    student who handed it in; nothing student-specific beyond the answers goes in.
    """
    prof = run.profiles[assignment]
    work = Path(tempfile.mkdtemp(prefix=f"{student}-{assignment}-", dir=run.workdir / ".work"))
    nb = nbformat.from_dict(rebuilt)
    nb.metadata[META] = {}
    notebook = work / "submitted" / student / assignment / f"{assignment}.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nb, notebook)
    shutil.copyfile(run.template_db, work / "gradebook.db")
    return {
        "student": student,
        "assignment": assignment,
        "work": str(work),
        "key": key,
        "profile": prof.name,
        "cell_timeout": prof.cell_timeout,
        "notebook_timeout": prof.notebook_timeout,
        "sandbox": run.sandbox,
        "memory": run.memory,
        "limits": prof.settings.get("limits"),
        "env": dict(env or {}),
    }


def run_unit(spec: dict) -> dict:
    """Grade one submission in its private folder ``spec["work"]`` (made by :func:`unit_spec`).

    This is the unit of work a scheduler runs: ``python -m coursegrader unit SPEC.json``
    on any machine that sees the same folders (or :mod:`coursegrader.workers`' Dask workers).
    It touches nothing outside ``spec["work"]``; the course results are written afterwards,
    one submission at a time, by :mod:`coursegrader.grade` (:func:`collect`, then :mod:`coursegrader.deliver`).
    """
    work = Path(spec["work"])
    options = [f"--SandboxedKernelManager.memory_limit={spec['memory']}"] if spec.get("memory") else []
    if "limits" in spec:  # else the table's, for the profile (coursegrader.limits)
        given = from_setting(spec["limits"])
        options += [
            f"--GradeExecute.disk_limit={given.disk or ''}",
            f"--GradeExecute.file_limit={given.files or 0}",
            f"--GradeExecute.process_limit={given.processes or 0}",
            f"--GradeExecute.output_limit={given.output or ''}",
        ]
    code, seconds = nbgrader(
        "autograde",
        spec["assignment"],
        "--student",
        spec["student"],
        "--force",
        *workdir_options(work),
        f"--GradeExecute.timeout={spec['cell_timeout']}",
        f"--GradeExecute.notebook_timeout={spec['notebook_timeout']}",
        f"--GradeExecute.sandbox={'on' if spec['sandbox'] else 'off'}",
        *options,
        f"--RebuildFromRelease.release_root={LABS}",
        "--ApplyTerm.enabled=False",  # a unit may serve several students: lateness is each one's own (settle)
        profile=spec["profile"],
        timeout=spec["notebook_timeout"] + 300,
        log=work / "nbgrader.log",
        env=spec.get("env"),
    )  # this worker's GPU and thread settings reach the kernel
    return {"code": code, "seconds": seconds}


def collect(spec: dict, outcome: dict, run: Run) -> tuple[store.Outcome | None, Status | None]:
    """Store what a finished unit produced: ``(outcome, None)``, or ``(None, the grader error)``.

    The unit's log goes to the run's log; its folder is deleted afterwards.
    """
    work, student, assignment = Path(spec["work"]), spec["student"], spec["assignment"]
    code = outcome.get("code")
    try:
        log = work / "nbgrader.log"
        with open(run.log, "a", encoding="utf-8") as out:
            out.write(
                f"===== {student} / {assignment} (key {spec['key'][:12]})\n"
                + (log.read_text(encoding="utf-8") if log.exists() else outcome.get("error", ""))
            )
        graded_dir = work / "autograded" / student / assignment
        graded = graded_dir / f"{assignment}.ipynb"
        if code != 0 or not graded.exists():
            if code is None and "error" not in outcome:
                why = "stopped after the grader's time limit"
            elif "error" in outcome:
                why = f"the worker failed ({outcome['error'].strip().splitlines()[-1][:200]})"
            elif code < 0:
                why = f"nbgrader was killed by signal {-code}"
            else:
                why = f"nbgrader exit {code}"
            return None, Status(Kind.GRADER_ERROR, f"{why} (see {run.log.name})")
        record = nbformat.read(graded, as_version=4).metadata.get(META, {})
        grades, comments = unit_grades(work / "gradebook.db", assignment, student)
        result = store.Outcome(
            key=spec["key"],
            assignment=assignment,
            profile=spec["profile"],
            record=dict(record),
            grades=grades,
            comments=comments,
            seconds=float(outcome.get("seconds", 0.0)),
            graded_for=[student],
        )
        store.save(run.workdir, result, graded_dir)
        return result, None
    finally:
        shutil.rmtree(work, ignore_errors=True)
