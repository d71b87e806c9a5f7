"""The grading harness behind `make release` and `make grade`.

* ``release``: nbgrader generates the student notebooks in ``labs/`` from
  ``solutions/`` (solutions and hidden tests stripped), then the demo-class
  submissions in ``autograder/demo/`` are rebuilt from the released notebooks.
* ``grade``: every submission in ``<workdir>/submitted/<student>/<assignment>/``
  is autograded by nbgrader (one student at a time, with the profile's cell and
  notebook timeouts), feedback HTML is generated, grades are exported to
  ``<workdir>/grades.csv`` and a table is printed. With no submissions at all,
  the shipped demo class is graded and its scores are compared with
  ``autograder/demo/expected_scores.csv``.

Run ``python -m coursekit.grading --help``.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import ROOT, profiles

SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
AUTOGRADER = ROOT / "autograder"
DEMO = AUTOGRADER / "demo"
EXPECTED_SCORES = DEMO / "expected_scores.csv"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def assignments() -> list[str]:
    """Assignment ids: folders of ``solutions/`` holding a notebook of the same name."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)


# --------------------------------------------------------------------------- nbgrader

def nbgrader_env(profile: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
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
             log: Path | None = None) -> tuple[int | None, float]:
    """Run one nbgrader command; return (exit code or None on timeout, seconds).

    The command runs in its own process group so that a timeout also stops the
    Jupyter kernel it started.
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    out = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, env=nbgrader_env(profile), cwd=ROOT, stdout=out,
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


# --------------------------------------------------------------------------- release

def release(release_dir: Path = LABS, demo_dir: Path = DEMO, db: Path | None = None) -> None:
    """Generate the student notebooks and rebuild the demo class from them."""
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
    build_demo_class(release_dir, demo_dir)


def solution_cells(nb) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def solution_cell(nb) -> nbformat.NotebookNode:
    cells = solution_cells(nb)
    if len(cells) != 1:
        raise ValueError(f"expected exactly one solution cell, found {len(cells)}")
    return cells[0]


def student_version(source: str) -> str:
    """The reference solution as a student would hand it in: region markers removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in (BEGIN, END))


# Submissions of the demo class that are not derived from the reference solution.
# Each one is the body of the solution cell a student could plausibly hand in.
DEMO_VARIANTS = {
    "sentiment": {
        "dot-product": '''\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, query, values, mask=None):
        # Forgot W_a: this is Luong's *dot* score, not the general one.
        scores = tf.einsum("bu,btu->bt", query, values)
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights
''',
        "crashes": '''\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units)

    def call(self, query, values, mask=None):
        # Multiplies (batch, units) by (batch, max_len, units): the ranks do not match.
        scores = tf.matmul(query, self.W_a(values))
        attention_weights = tf.nn.softmax(scores, axis=1)
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights
''',
    },
}


def demo_submissions(assignment: str, release_dir: Path = LABS) -> dict[str, nbformat.NotebookNode]:
    """The demo class of one assignment: ``{outcome: notebook}``, built from the released lab.

    A worked lab (no student region) has a single demo submission: the released
    notebook itself, which must pass every check.
    """
    released = nbformat.read(release_dir / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    if not solution_cells(solution):
        return {"passes-all": released}
    bodies = {"passes-all": student_version(solution_cell(solution).source), "untouched": None}
    bodies.update(DEMO_VARIANTS.get(assignment, {}))
    class_ = {}
    for outcome, body in bodies.items():
        nb = copy.deepcopy(released)
        if body is not None:
            solution_cell(nb).source = body.rstrip("\n")
        class_[outcome] = nb
    return class_


def build_demo_class(release_dir: Path = LABS, demo_dir: Path = DEMO) -> None:
    demo_dir.mkdir(parents=True, exist_ok=True)
    for assignment in assignments():
        for stale in demo_dir.glob(f"{assignment}-*.ipynb"):
            stale.unlink()
        for outcome, nb in demo_submissions(assignment, release_dir).items():
            path = demo_dir / f"{assignment}-{outcome}.ipynb"
            nbformat.write(nb, path)
            print(f"demo submission {path}")


def seed_demo_class(submitted: Path, demo_dir: Path = DEMO) -> list[str]:
    """Copy the demo notebooks into nbgrader's ``submitted/<student>/<assignment>/`` layout.

    The student id is the expected outcome (``passes-all``, ``untouched``...).
    """
    students = set()
    for assignment in assignments():
        for path in sorted(demo_dir.glob(f"{assignment}-*.ipynb")):
            student = path.stem[len(assignment) + 1:]
            target = submitted / student / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            students.add(student)
    return sorted(students)


# --------------------------------------------------------------------------- grading

@dataclass
class Result:
    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    status: str = "ok"


def read_expected(profile: str, path: Path = EXPECTED_SCORES) -> dict[tuple[str, str], float]:
    with open(path, newline="", encoding="utf-8") as f:
        return {(row["student"], row["assignment"]): float(row["score"])
                for row in csv.DictReader(f) if row["profile"] == profile}


def read_scores(grades_csv: Path) -> dict[tuple[str, str], tuple[float, float]]:
    with open(grades_csv, newline="", encoding="utf-8") as f:
        return {(row["student_id"], row["assignment"]): (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(f)}


def grade(workdir: Path = AUTOGRADER, profile: str | None = None, use_demo: bool | None = None,
          only: list[str] | None = None) -> list[Result]:
    """Autograde every submission under ``workdir/submitted`` and return the results.

    ``only`` restricts grading to some assignments (default: all of them).
    """
    workdir = Path(workdir).resolve()
    submitted = workdir / "submitted"
    graded_assignments = [a for a in assignments() if not only or a in only]
    if only and set(only) - set(graded_assignments):
        raise SystemExit(f"unknown assignment(s) {sorted(set(only) - set(graded_assignments))}; "
                         f"known: {', '.join(assignments())}")
    chosen = {lab: profiles.select(lab, env={profiles.ENV_VAR: profile} if profile else None)
              for lab in graded_assignments}
    has_submissions = submitted.is_dir() and any(submitted.glob(f"*/*/*.ipynb"))
    if use_demo or (use_demo is None and not has_submissions):
        print(f"No submissions in {submitted}: grading the shipped demo class ({DEMO}).")
        if submitted.exists():
            shutil.rmtree(submitted)
        seed_demo_class(submitted)
        use_demo = True
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "grading.log"
    log.write_text("", encoding="utf-8")
    opts = workdir_options(workdir)

    # The gradebook learns each assignment's tests (hidden ones included) from solutions/.
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments():
            code, _ = nbgrader("generate_assignment", assignment, "--force",
                               f"--CourseDirectory.release_directory={tmp}", *opts, log=log)
            if code != 0:
                raise SystemExit(f"nbgrader generate_assignment {assignment} failed; see {log}")

    results = []
    for assignment in graded_assignments:
        prof = chosen[assignment]
        students = sorted(p.parent.parent.name for p in submitted.glob(f"*/{assignment}/{assignment}.ipynb"))
        print(f"\n{assignment}: {len(students)} submission(s), {prof}\n"
              f"  limits: {prof.cell_timeout} s per cell, {prof.notebook_timeout} s per notebook")
        for student in students:
            code, seconds = nbgrader("autograde", assignment, "--student", student, "--force",
                                     f"--Execute.timeout={prof.cell_timeout}", *opts,
                                     profile=prof.name, timeout=prof.notebook_timeout, log=log)
            status = "ok" if code == 0 else ("timed out" if code is None else f"nbgrader exit {code}")
            if code is not None:
                nbgrader("generate_feedback", assignment, "--student", student, "--force", *opts, log=log)
            results.append(Result(student, assignment, seconds=seconds, status=status))
            print(f"  graded {student:<16} in {seconds:5.0f} s  ({status})", flush=True)

    grades_csv = workdir / "grades.csv"
    nbgrader("export", f"--to={grades_csv}", *opts, log=log)
    scores = read_scores(grades_csv) if grades_csv.exists() else {}
    for r in results:
        if (r.student, r.assignment) in scores:
            r.score, r.max_score = scores[(r.student, r.assignment)]
    print_table(results, workdir, use_demo=bool(use_demo),
                profile_names={a: p.name for a, p in chosen.items()})
    return results


def print_table(results: list[Result], workdir: Path, use_demo: bool, profile_names: dict[str, str]) -> bool:
    """Print the per-student table; for the demo class also compare with the expected scores."""
    expected = {}
    if use_demo:
        for name in set(profile_names.values()):
            expected.update({k: v for k, v in read_expected(name).items()
                             if profile_names.get(k[1]) == name})
    header = f"{'student':<16} {'assignment':<11} {'score':>13} {'time':>7}  status"
    if use_demo:
        header += "  (expected)"
    print("\n" + header + "\n" + "-" * len(header))
    all_match = True
    for r in results:
        score = "-" if r.score is None else f"{r.score:g} / {r.max_score:g}"
        line = f"{r.student:<16} {r.assignment:<11} {score:>13} {r.seconds:6.0f}s  {r.status}"
        if use_demo:
            want = expected.get((r.student, r.assignment))
            if want is None:
                line += f"  (no expected score for profile {profile_names[r.assignment]})"
            else:
                ok = r.score is not None and abs(r.score - want) < 1e-9
                all_match &= ok
                line += f"  ({want:g} {'ok' if ok else 'MISMATCH'})"
        print(line)
    print(f"\ngrades:   {workdir / 'grades.csv'}\nfeedback: {workdir / 'feedback'}/<student>/<assignment>/"
          f"\nlog:      {workdir / 'grading.log'}")
    if use_demo:
        print("demo class:", "every score as expected" if all_match else "SOME SCORES DIFFER FROM THE EXPECTED ONES")
    return all_match


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="generate labs/ from solutions/ and rebuild the demo class")
    g = sub.add_parser("grade", help="autograde every submission and print a table")
    g.add_argument("--profile", choices=("auto",) + profiles.NAMES, default=None,
                   help=f"run profile (default: ${profiles.ENV_VAR} or auto)")
    g.add_argument("--workdir", type=Path, default=AUTOGRADER,
                   help="folder holding submitted/; results are written next to it (default: autograder/)")
    g.add_argument("--demo", action="store_true", help="grade the shipped demo class even if submissions exist")
    g.add_argument("--assignment", action="append", metavar="ID",
                   help="grade only this assignment (repeatable; default: all)")
    args = parser.parse_args(argv)
    if args.command == "release":
        release()
        return 0
    profile = None if args.profile in (None, "auto") else args.profile
    results = grade(args.workdir, profile=profile, use_demo=True if args.demo else None,
                    only=args.assignment)
    failed = [r for r in results if r.status != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
