"""The grading harness behind `make release` and `make grade`.

* ``release``: nbgrader generates the student notebooks in ``labs/`` from
  ``solutions/`` (solutions and hidden tests stripped); then the demo classes in
  ``autograder/demo/`` are rebuilt from the released notebooks (:mod:`coursekit.demo`).
* ``grade``: every student folder under ``<workdir>/submitted/`` is accounted
  for. Each submission is graded on its own, in a private working folder with
  its own gradebook, by ``nbgrader autograde`` with the course's pipeline
  (:mod:`coursekit.autograde`: answer-only rebuild, sandboxed kernel, points by
  assertions, tamper checks); its grades are then merged into the course
  gradebook, its feedback HTML (:mod:`coursekit.feedback`, no hidden tests) is
  written, and a row goes to ``<workdir>/grades.csv`` and the table, whatever
  happened. With no submissions at all, the shipped honest demo class is graded
  and its scores and statuses are compared with ``autograder/demo/expected_scores.csv``.

Run ``python -m coursekit.grading --help``.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import ROOT, demo, profiles
from .autograde import META
# kept importable from here: tests and notebooks' tooling use these names
from .demo import solution_cell, solution_cells, student_version  # noqa: F401

SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
AUTOGRADER = ROOT / "autograder"
DEMO = demo.DEMO
EXPECTED_SCORES = DEMO / "expected_scores.csv"


def assignments() -> list[str]:
    """Assignment ids: folders of ``solutions/`` holding a notebook of the same name."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)


# --------------------------------------------------------------------------- nbgrader

def nbgrader_env(profile: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    env["JUPYTER_CONFIG_PATH"] = str(AUTOGRADER)
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from the same venv
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if profile:
        env[profiles.ENV_VAR] = profile
    return env


def workdir_options(workdir: Path) -> list[str]:
    """nbgrader options that put submissions, results and the gradebook under ``workdir``."""
    workdir = workdir.resolve()
    return [f"--CourseDirectory.submitted_directory={workdir / 'submitted'}",
            f"--CourseDirectory.autograded_directory={workdir / 'autograded'}",
            f"--CourseDirectory.feedback_directory={workdir / 'feedback'}",
            f"--CourseDirectory.db_url=sqlite:///{workdir / 'gradebook.db'}"]


def nbgrader(*args: str, profile: str | None = None, timeout: float | None = None,
             log: Path | None = None, env: dict[str, str] | None = None) -> tuple[int | None, float]:
    """Run one nbgrader command; return (exit code or None on timeout, seconds).

    The command runs in its own process group so that a timeout also stops the
    Jupyter kernel it started.
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    out = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, env=nbgrader_env(profile, env), cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    finally:
        if log:
            out.close()
    return code, time.monotonic() - start


def generate(assignment: str, db: Path, log: Path) -> None:
    """Teach a gradebook an assignment's tests (hidden ones included) from solutions/."""
    with tempfile.TemporaryDirectory() as tmp:
        code, _ = nbgrader("generate_assignment", assignment, "--force",
                           f"--CourseDirectory.release_directory={tmp}",
                           f"--CourseDirectory.db_url=sqlite:///{db}", log=log)
    if code != 0:
        raise SystemExit(f"nbgrader generate_assignment {assignment} failed; see {log}")


# --------------------------------------------------------------------------- release

def release(release_dir: Path = LABS, demo_dir: Path = DEMO, db: Path | None = None) -> None:
    """Generate the student notebooks and rebuild the demo classes from them."""
    release_dir, demo_dir = Path(release_dir).resolve(), Path(demo_dir).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "release.log"
        db_url = f"sqlite:///{db or Path(tmp) / 'gradebook.db'}"
        for assignment in assignments():
            code, _ = nbgrader("generate_assignment", assignment, "--force",
                               f"--CourseDirectory.release_directory={release_dir}",
                               f"--CourseDirectory.db_url={db_url}", log=log)
            if code != 0:
                sys.stderr.write(log.read_text(encoding="utf-8"))
                raise SystemExit(f"nbgrader could not release {assignment!r} (log above)")
            print(f"released {release_dir / assignment / (assignment + '.ipynb')}")
    demo.build(assignments(), release_dir, demo_dir)


# --------------------------------------------------------------------------- what was handed in

@dataclass
class Submission:
    """One student's hand-in for one assignment, as found on disk."""
    student: str
    assignment: str
    path: Path | None = None          # the notebook to grade
    problem: str | None = None        # why there is nothing to grade
    warnings: list[str] = field(default_factory=list)
    notebook: object = None           # the parsed notebook, once read


def discover(submitted: Path, graded: list[str], known: list[str]) -> list[Submission]:
    """Every student folder under ``submitted/``, with what to grade or why not."""
    found = []
    if not submitted.is_dir():
        return found
    for folder in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = folder.name
        if not any((folder / a).is_dir() for a in known):
            found.append(Submission(student, "-", problem="no assignment folder (expected "
                                    + " or ".join(f"{student}/{a}/" for a in known) + ")"))
            continue
        for assignment in graded:
            adir = folder / assignment
            if not adir.is_dir():
                continue
            expected = adir / f"{assignment}.ipynb"
            notebooks = sorted(p for p in adir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            sub = Submission(student, assignment)
            if expected in notebooks:
                sub.path = expected
                others = [p.name for p in notebooks if p != expected]
                if others:
                    sub.warnings.append(f"other notebooks ignored: {', '.join(others)}")
            elif len(notebooks) == 1:
                sub.path = notebooks[0]
                sub.warnings.append(f"graded {notebooks[0].relative_to(adir)} (expected {expected.name})")
            elif notebooks:
                sub.problem = ("several notebooks, none named " + expected.name + ": "
                               + ", ".join(str(p.relative_to(adir)) for p in notebooks))
            else:
                files = sorted(p.name for p in adir.iterdir())
                sub.problem = "no notebook" + (f" (found {', '.join(files[:5])})" if files else "")
            found.append(sub)
    return found


def read_notebook(path: Path):
    """The notebook at ``path``, or raise ValueError with a reason a person can read."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("invalid notebook: the file is not text (UTF-8)") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid notebook: not valid JSON ({err.msg} at line {err.lineno}); "
                         "the file may be truncated or damaged") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise ValueError("invalid notebook: valid JSON, but not a Jupyter notebook (no cells)")
    try:
        return nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as err:  # nbformat's own conversion errors
        raise ValueError(f"invalid notebook: {type(err).__name__}: {err}") from None


# --------------------------------------------------------------------------- grading one

@dataclass
class Result:
    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    status: str = "ok"
    warnings: list[str] = field(default_factory=list)
    flagged: bool = False
    reused: bool = False   # not graded again: unchanged since the last run

    def as_saved(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "reused"}


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


def _zero_submission(gb: Gradebook, assignment: str, student: str, flagged: bool) -> tuple[float, float]:
    gb.update_or_create_student(student)
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, harmless here
        warnings.simplefilter("ignore")
        sub = gb.update_or_create_submission(assignment, student)
    for nb in sub.notebooks:
        for grade in nb.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        nb.flagged = flagged
    gb.db.commit()
    return sub.score, sub.max_score


def merge(course_db: Path, work_db: Path, assignment: str, student: str, flagged: bool) -> tuple[float, float]:
    """Copy one graded submission from its private gradebook into the course gradebook."""
    with Gradebook(f"sqlite:///{work_db}") as wgb, Gradebook(f"sqlite:///{course_db}") as gb:
        wsub = wgb.find_submission(assignment, student)
        gb.update_or_create_student(student)
        with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, harmless here
            warnings.simplefilter("ignore")
            sub = gb.update_or_create_submission(assignment, student, timestamp=wsub.timestamp)
        for wnb in wsub.notebooks:
            for wgrade in wnb.grades:
                grade = gb.find_grade(wgrade.name, wnb.name, assignment, student)
                grade.auto_score = wgrade.auto_score
                grade.needs_manual_grade = wgrade.needs_manual_grade
            for wcomment in wnb.comments:
                gb.find_comment(wcomment.name, wnb.name, assignment, student).auto_comment = wcomment.auto_comment
            gb.find_submission_notebook(wnb.name, assignment, student).flagged = flagged
        gb.db.commit()
        return sub.score, sub.max_score


def write_feedback(run: Run, result: Result, nb) -> None:
    from . import feedback
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

    This is the unit of work a scheduler runs: ``python -m coursekit.grading unit SPEC.json``
    on any machine that sees the same folders (or :mod:`coursekit.parallel`'s Dask workers).
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
                result.score, result.max_score = _zero_submission(gb, sub.assignment, sub.student, True)
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
            result.score, result.max_score = _zero_submission(gb, sub.assignment, sub.student, True)
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


# --------------------------------------------------------------------------- grading a class

def read_expected(profile: str, class_name: str = "honest",
                  path: Path = EXPECTED_SCORES) -> dict[tuple[str, str], tuple[float, str]]:
    """{(student, assignment): (score, status prefix)} of one demo class in one profile."""
    with open(path, newline="", encoding="utf-8") as f:
        return {(row["student"], row["assignment"]): (float(row["score"]), row["status"])
                for row in csv.DictReader(f) if row["profile"] == profile and row["class"] == class_name}


def write_csv(results: list[Result], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "assignment", "score", "max_score", "status", "flagged",
                         "warnings", "seconds"])
        for r in results:
            writer.writerow([r.student, r.assignment, "" if r.score is None else f"{r.score:g}",
                             "" if r.max_score is None else f"{r.max_score:g}", r.status,
                             "yes" if r.flagged else "", "; ".join(r.warnings), f"{r.seconds:.0f}"])


class Results(list):
    """The rows of one grading run; ``demo_ok`` says whether a demo class got what it expects."""
    demo_ok: bool | None = None


STATE_FILE = "grading-state.json"


def assignment_version(assignment: str) -> str:
    """Changes whenever the assignment's checks or released text change."""
    h = hashlib.sha256()
    for path in (SOLUTIONS / assignment / f"{assignment}.ipynb", LABS / assignment / f"{assignment}.ipynb"):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def submission_key(sub: Submission, profile_name: str) -> str:
    """Content hash of what was handed in, plus the assignment's version and the profile."""
    h = hashlib.sha256(f"{sub.assignment}\0{profile_name}\0".encode())
    if sub.assignment != "-":
        h.update(assignment_version(sub.assignment).encode())
    if sub.path is not None:
        h.update(sub.path.name.encode() + b"\0" + sub.path.read_bytes())
    else:
        h.update((sub.problem or "").encode())
    return h.hexdigest()


def load_state(workdir: Path) -> dict:
    path = workdir / STATE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("rows", {})
    except (OSError, ValueError):
        return {}


def save_state(workdir: Path, rows: dict) -> None:
    tmp = workdir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "rows": rows}, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(workdir / STATE_FILE)


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
    from . import parallel
    from . import sandbox as sandboxing

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
    gpus = parallel.visible_gpus()
    envs = parallel.worker_envs(jobs, gpus, jobs_per_gpu)
    if use_sandbox:
        capped, why = sandboxing.memory_cap_support()
        if not capped:
            print(why, flush=True)
        elif memory is None:
            memory = sandboxing.default_memory_limit(len(envs))
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
        done = parallel.run_dask(gradable, scheduler, jobs or len(envs),
                                 make_spec=lambda sub: unit_spec(sub, sub.notebook, run),
                                 finish=lambda sub, spec, outcome: finish(sub, spec, outcome, run),
                                 report=line)
    else:
        done = parallel.run_local(gradable, envs, work=lambda sub, env: grade_one(sub, run, env),
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


def print_table(results: list[Result], workdir: Path, use_demo: bool, profile_names: dict[str, str],
                demo_class: str = "honest") -> bool:
    """Print the per-student table; for a demo class also compare with the expected scores."""
    expected = {}
    if use_demo:
        for name in set(profile_names.values()):
            expected.update({k: v for k, v in read_expected(name, demo_class).items()
                             if profile_names.get(k[1]) == name})
    header = f"{'student':<20} {'assignment':<11} {'score':>11} {'time':>6}  status"
    print("\n" + header + "\n" + "-" * (len(header) + 30))
    all_match = True
    for r in results:
        score = "-" if r.score is None else f"{r.score:g} / {r.max_score:g}"
        took = "reused" if r.reused else f"{r.seconds:5.0f}s"
        line = f"{r.student:<20} {r.assignment:<11} {score:>11} {took:>6}  {r.status}"
        if use_demo:
            want = expected.get((r.student, r.assignment))
            if want is None:
                line += "  (no expected score for this profile)"
            else:
                ok = matches(r, want)
                all_match &= ok
                line += f"  [expected {want[0]:g}, {want[1]}: {'ok' if ok else 'MISMATCH'}]"
        print(line)
        for warning in r.warnings:
            print(f"{'':<22}! {warning}")
    print(f"\ngrades:   {workdir / 'grades.csv'}\nfeedback: {workdir / 'feedback'}/<student>/<assignment>/"
          f"\nlog:      {workdir / 'grading.log'}")
    if use_demo:
        print("demo class:", "every score and status as expected" if all_match
              else "SOME RESULTS DIFFER FROM THE EXPECTED ONES")
    return all_match


def matches(result: Result, want: tuple[float, str]) -> bool:
    score, status = want
    return (result.score is not None and abs(result.score - score) < 1e-9
            and result.status.startswith(status))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="generate labs/ from solutions/ and rebuild the demo classes")
    g = sub.add_parser("grade", help="autograde every submission and print a table")
    g.add_argument("--profile", choices=("auto",) + profiles.NAMES, default=None,
                   help=f"run profile (default: ${profiles.ENV_VAR} or auto)")
    g.add_argument("--workdir", type=Path, default=AUTOGRADER,
                   help="folder holding submitted/; results are written next to it (default: autograder/)")
    g.add_argument("--demo", choices=demo.CLASSES, default=None,
                   help="grade this shipped demo class even if submissions exist")
    g.add_argument("--assignment", action="append", metavar="ID",
                   help="grade only this assignment (repeatable; default: all)")
    g.add_argument("--sandbox", choices=("auto", "require", "off"), default=None,
                   help="run kernels in bubblewrap (default: $SANDBOX or auto)")
    g.add_argument("--jobs", type=int, default=None,
                   help="workers side by side (default: one per GPU, else one per core as memory allows)")
    g.add_argument("--jobs-per-gpu", type=int, default=1, help="workers sharing one GPU (default 1)")
    g.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student, again even if unchanged (repeatable)")
    g.add_argument("--force", action="store_true", help="grade every submission, changed or not")
    g.add_argument("--scheduler", default=None,
                   help="run the work on Dask: local, tcp://host:8786, slurm or pbs")
    g.add_argument("--memory", default=None,
                   help="memory cap per kernel, e.g. 8G (default: the machine's memory shared by the workers)")
    u = sub.add_parser("unit", help="run one grading unit (for a cluster scheduler): SPEC.json -> SPEC.out.json")
    u.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    if args.command == "release":
        release()
        return 0
    if args.command == "unit":
        outcome = run_unit(json.loads(args.spec.read_text(encoding="utf-8")))
        args.spec.with_suffix(".out.json").write_text(json.dumps(outcome), encoding="utf-8")
        return 0 if outcome["code"] == 0 else 1
    profile = None if args.profile in (None, "auto") else args.profile
    try:
        results = grade(args.workdir, profile=profile, use_demo=True if args.demo else None,
                        only=args.assignment, demo_class=args.demo or "honest", sandbox=args.sandbox,
                        jobs=args.jobs, jobs_per_gpu=args.jobs_per_gpu, students=args.student,
                        force=args.force, scheduler=args.scheduler, memory=args.memory)
    except RuntimeError as err:  # SANDBOX=require without a sandbox
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = any(r.status.startswith("grader error") for r in results) or results.demo_ok is False
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
