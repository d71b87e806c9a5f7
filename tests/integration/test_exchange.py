"""The TA's round trip through the nbgrader exchange: make publish, collect, grade, make return.

Everything happens in a temporary folder: the exchange (``make ... EXCHANGE=``), the course's
results (a configuration that loads autograder/nbgrader_config.py and moves submitted/,
autograded/, feedback/ and the gradebook there), and the two students' home folders. nbgrader
takes a student's id from the OS user name (``nbgrader.utils.get_username``); on one machine the
students are told apart the way nbgrader itself allows, with ``CourseDirectory.student_id`` in
their own configuration (``submit`` and ``fetch_feedback`` use it instead of the user name).
Grading runs in the smoke profile: the completed lab gets the smoke score of the demo class's
``passes-all`` (autograder/demo/expected_scores.csv), the untouched one 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from coursegrader.course import ROOT, assignments
from coursegrader.grade import grade
from coursegrader.table import read_expected
from tests.support.notebook_cells import load, released_with_reference_answer

COURSE_ID = "seq2seq-attention"
ASSIGNMENT = "sentiment"


def run(cmd, cwd, env=None, check=True) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{output}"
    return output


class Course:
    """The TA's side: the bundle's make targets, with the exchange and the results in tmp."""

    def __init__(self, tmp: Path):
        self.exchange = tmp / "exchange"
        self.workdir = tmp / "course"  # as autograder/ in the bundle: it exists before collect
        self.workdir.mkdir()
        config_dir = tmp / "course-config"
        config_dir.mkdir()
        (config_dir / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"load_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})\n"
            f"c.CourseDirectory.submitted_directory = {str(self.workdir / 'submitted')!r}\n"
            f"c.CourseDirectory.autograded_directory = {str(self.workdir / 'autograded')!r}\n"
            f"c.CourseDirectory.feedback_directory = {str(self.workdir / 'feedback')!r}\n"
            f"c.CourseDirectory.db_url = {'sqlite:///' + str(self.workdir / 'gradebook.db')!r}\n"
            "c.ExchangeCollect.check_owner = False  # every student is this OS user here\n",
            encoding="utf-8",
        )
        self.config_dir = config_dir

    def make(self, target: str) -> str:
        return run(
            [
                "make",
                "--no-print-directory",
                target,
                f"EXCHANGE={self.exchange}",
                f"JUPYTER_CONFIG_PATH={self.config_dir}",
            ],
            cwd=ROOT,
        )


class Student:
    """One student's home folder and nbgrader configuration (course id, exchange, own cache)."""

    def __init__(self, tmp: Path, name: str, exchange: Path):
        self.name, self.home = name, tmp / name
        config_dir = self.home / ".nbgrader-config"
        config_dir.mkdir(parents=True)
        (config_dir / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            f"c.Exchange.cache = {str(self.home / 'nbgrader_cache')!r}\n"
            f"c.CourseDirectory.student_id = {name!r}  # stands in for the OS user name\n",
            encoding="utf-8",
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "COURSE_"))}
        self.env.update(
            HOME=str(self.home), JUPYTER_CONFIG_PATH=str(config_dir), JUPYTER_DATA_DIR=str(self.home / ".local-jupyter")
        )

    def nbgrader(self, *args: str) -> str:
        return run([sys.executable, "-m", "nbgrader", *args], cwd=self.home, env=self.env)

    @property
    def notebook(self) -> Path:
        return self.home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def test_publish_fetch_submit_collect_grade_return(tmp_path):
    course = Course(tmp_path)
    course.make("publish")
    outbound = course.exchange / COURSE_ID / "outbound"
    assert sorted(p.name for p in outbound.iterdir()) == sorted(assignments())

    alice = Student(tmp_path, "alice", course.exchange)  # completes the TODO
    bob = Student(tmp_path, "bob", course.exchange)  # hands the lab in untouched
    for student in (alice, bob):
        student.nbgrader("fetch_assignment", ASSIGNMENT)
        fetched = nbformat.read(student.notebook, as_version=4)
        assert fetched.cells == load(ASSIGNMENT, "labs").cells
    nbformat.write(released_with_reference_answer(ASSIGNMENT), alice.notebook)
    for student in (alice, bob):
        student.nbgrader("submit", ASSIGNMENT)

    course.make("collect")
    submitted = course.workdir / "submitted"
    for student in (alice, bob):
        assert (submitted / student.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    assert (
        nbformat.read(submitted / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).cells
        == nbformat.read(alice.notebook, as_version=4).cells
    )

    results = grade(workdir=course.workdir, profile="smoke", only=[ASSIGNMENT])
    scores = {r.student: r.score for r in results if r.assignment == ASSIGNMENT}
    expected = read_expected("smoke")  # {(student, assignment): (score, status)} of the demo class
    assert scores == {"alice": expected["passes-all", ASSIGNMENT][0], "bob": 0}, results
    assert expected["untouched", ASSIGNMENT][0] == 0

    # nbgrader release_feedback finds a student's copy by these two files of the submission, which
    # sit next to the HTML when nbgrader's generate_feedback wrote it.
    for student in (alice, bob):
        feedback = course.workdir / "feedback" / student.name / ASSIGNMENT
        missing = [f for f in ("timestamp.txt", "submission_secret.txt") if not (feedback / f).exists()]
        assert not missing, (
            f"{feedback} lacks {missing}: make return (nbgrader release_feedback) needs "
            "them; grading must copy them there from the submission"
        )
    course.make("return")
    for student in (alice, bob):
        student.nbgrader("fetch_feedback", ASSIGNMENT)
        received = list((student.home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(received) == 1, f"{student.name} received {received}"
        sent = course.workdir / "feedback" / student.name / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert received[0].read_bytes() == sent.read_bytes(), f"{student.name} got someone else's feedback"
