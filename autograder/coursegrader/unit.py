"""One grading unit: one content key executed in its own folder, with its own gradebook and kernel.

:func:`unit_spec` prepares the unit as plain data (JSON) from a rebuilt notebook,
:func:`run_unit` runs ``nbgrader autograde`` on it (anywhere: a local worker thread,
a Dask worker, or ``python -m coursegrader unit SPEC.json``), and :func:`collect` turns
what it left into a stored :class:`coursegrader.store.Outcome`, which
:mod:`coursegrader.deliver` serves to every student who handed in that work.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import store
from .cells import META
from .cluster import problems_here
from .course import LABS, ROOT
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
    shared: dict = field(default_factory=dict)  # {assignment: folder of the values its kernels share}
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
        "shared": run.shared.get(assignment, ""),
        "root": str(ROOT),
        "limits": prof.settings.get("limits"),
        "env": dict(env or {}),
    }


def run_unit(spec: dict) -> dict:
    """Grade one submission from its folder ``spec["work"]`` (made by :func:`unit_spec`).

    This is the unit of work a scheduler runs: ``python -m coursegrader unit SPEC.json``
    on any machine that sees the same folders (or :mod:`coursegrader.workers`' Dask workers).
    Each attempt works in a fresh ``attempt-<n>`` folder of its own inside ``spec["work"]``
    (:func:`new_attempt`), so a second attempt (Dask runs a unit again when the worker running
    it is lost) never shares files with a first one that may still be ending; it touches nothing
    else. The course results are written afterwards, one submission at a time, by
    :mod:`coursegrader.grade` (:func:`collect`, then :mod:`coursegrader.deliver`).
    """
    if not Path(spec["work"]).is_dir() or (spec.get("root") and problems_here(spec["root"], spec["sandbox"])):
        why = "; ".join(problems_here(spec.get("root", str(ROOT)), spec["sandbox"])) or "cannot see the grading folder"
        return {"code": None, "seconds": 0.0, "error": f"the worker {worker_name()} cannot grade: {why}"}
    attempt, earlier = new_attempt(Path(spec["work"]))
    options = [f"--SandboxedKernelManager.memory_limit={spec['memory']}"] if spec.get("memory") else []
    if "limits" in spec:  # else the table's, for the profile (coursegrader.limits)
        given = from_setting(spec["limits"])
        options += [
            f"--GradeExecute.disk_limit={given.disk or ''}",
            f"--GradeExecute.file_limit={given.files or 0}",
            f"--GradeExecute.process_limit={given.processes or 0}",
            f"--GradeExecute.output_limit={given.output or ''}",
        ]
    usage: dict = {}
    code, seconds = nbgrader(
        "autograde",
        spec["assignment"],
        "--student",
        spec["student"],
        "--force",
        *workdir_options(attempt),
        f"--GradeExecute.timeout={spec['cell_timeout']}",
        f"--GradeExecute.notebook_timeout={spec['notebook_timeout']}",
        f"--GradeExecute.sandbox={'on' if spec['sandbox'] else 'off'}",
        f"--GradeExecute.shared_dir={spec.get('shared', '')}",
        *options,
        f"--RebuildFromRelease.release_root={LABS}",
        "--ApplyTerm.enabled=False",  # a unit may serve several students: lateness is each one's own (settle)
        profile=spec["profile"],
        timeout=spec["notebook_timeout"] + 300,
        log=attempt / "nbgrader.log",
        env=spec.get("env"),
        usage=usage,
    )  # this worker's GPU and thread settings reach the kernel
    return {"code": code, "seconds": seconds, "cpu": usage.get("cpu"), "attempt": str(attempt), "earlier": earlier}


def new_attempt(work: Path) -> tuple[Path, list[str]]:
    """A fresh copy of the unit's inputs (the notebook, the gradebook template) in ``work/attempt-<n>``,
    and where the earlier attempts ran (the workers named in their ``worker.txt``)."""
    earlier = []
    for n in itertools.count(1):
        attempt = work / f"attempt-{n}"
        try:
            attempt.mkdir()
            break
        except FileExistsError:
            where = attempt / "worker.txt"
            earlier.append(where.read_text(encoding="utf-8") if where.is_file() else "an unknown worker")
    (attempt / "worker.txt").write_text(worker_name(), encoding="utf-8")
    shutil.copytree(work / "submitted", attempt / "submitted")
    shutil.copyfile(work / "gradebook.db", attempt / "gradebook.db")
    return attempt, earlier


def worker_name() -> str:
    """The Dask worker running this (its address), else this machine and process."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()} (pid {os.getpid()})"


def collect(spec: dict, outcome: dict, run: Run) -> tuple[store.Outcome | None, Status | None]:
    """Store what a finished unit produced: ``(outcome, None)``, or ``(None, the grader error)``.

    The unit's log goes to the run's log; its folder is deleted afterwards.
    """
    work, student, assignment = Path(spec["work"]), spec["student"], spec["assignment"]
    attempt = Path(outcome.get("attempt") or work)
    code = outcome.get("code")
    try:
        log = attempt / "nbgrader.log"
        with open(run.log, "a", encoding="utf-8") as out:
            lost = outcome.get("earlier") or ()
            again = "".join(f"; ran again: the worker {w} was lost while grading it" for w in lost)
            out.write(
                f"===== {student} / {assignment} (key {spec['key'][:12]}{again})\n"
                + (log.read_text(encoding="utf-8") if log.exists() else outcome.get("error", ""))
            )
        graded_dir = attempt / "autograded" / student / assignment
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
        phases = record.setdefault("timing", {}).setdefault("phases", {})
        phases["unit"] = [round(float(outcome.get("seconds", 0.0)), 2), outcome.get("cpu")]
        grades, comments = unit_grades(attempt / "gradebook.db", assignment, student)
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
