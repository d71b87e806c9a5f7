"""No make target loses a submission or a hand grade without its explicit flag, and the
gradebook (the one file holding the TAs' points) is copied before anything rewrites it.

The make targets run for real on a fake course folder (the Makefile and the backup module, a
gradebook, submissions, results); every other target is read with ``make -n``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from coursegrader import backup
from coursegrader.course import ROOT

COURSE_ID = "seq2seq-attention"
KEPT = (  # what only people can make: the class's work, the hand grades, the labs and the exchange
    "autograder/submitted/alice/sentiment/sentiment.ipynb",
    "autograder/gradebook.db",
    "autograder/exchange/seq2seq-attention/inbound/alice+sentiment+2026/sentiment.ipynb",
    "labs/sentiment/sentiment.ipynb",
    "solutions/sentiment/sentiment.ipynb",
)
GENERATED = (  # what make grade / make report / make student-bundle make again
    "autograder/autograded/alice/sentiment/sentiment.ipynb",
    "autograder/feedback/alice/sentiment/sentiment.html",
    "autograder/grades.csv",
    "autograder/grading.log",
    "autograder/grading-state.json",
    "autograder/class-report.html",
    "autograder/.results/ab/cd.json",
    "autograder/demo-results/honest/grades.csv",
    "report/index.html",
    "dist/seq2seq-attention-labs.zip",
)


def hand_grades(db: Path, points: float) -> None:
    with sqlite3.connect(db) as con:
        con.execute("create table if not exists grade (id text primary key, manual_score real)")
        con.execute("insert or replace into grade values ('alice-answer_beam_width', ?)", (points,))


def read_points(db: Path) -> float:
    with sqlite3.connect(db) as con:
        return con.execute("select manual_score from grade").fetchone()[0]


@pytest.fixture
def course(tmp_path) -> Path:
    """A course folder as a term leaves it, with the bundle's Makefile and backup module."""
    for rel in (
        "Makefile",
        "environment.yml",
        "autograder/coursegrader/__init__.py",
        "autograder/coursegrader/backup.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    for rel in KEPT + GENERATED:
        if rel.endswith(".db"):
            continue
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel, encoding="utf-8")
    hand_grades(tmp_path / "autograder" / "gradebook.db", 2.0)
    return tmp_path


def make(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"PYTHON={sys.executable}"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_clean_deletes_only_what_grading_makes_again(course):
    done = make(course, "clean")
    assert done.returncode == 0, done.stderr
    assert [rel for rel in GENERATED if (course / rel).exists()] == []
    assert [rel for rel in KEPT if not (course / rel).exists()] == []
    assert read_points(course / "autograder" / "gradebook.db") == 2.0


@pytest.mark.parametrize("confirm", [None, "1", "yes", "seq2seq"])
def test_make_clean_class_without_its_flag_deletes_nothing_and_says_how(course, confirm):
    done = make(course, "clean-class", *([f"CONFIRM={confirm}"] if confirm else []))
    assert done.returncode != 0
    assert f"CONFIRM={COURSE_ID}" in done.stdout + done.stderr
    assert [rel for rel in KEPT + GENERATED if not (course / rel).exists()] == []


def test_make_clean_class_with_its_flag_keeps_a_copy_of_the_gradebook(course):
    done = make(course, "clean-class", f"CONFIRM={COURSE_ID}")
    assert done.returncode == 0, done.stderr
    assert not (course / "autograder" / "submitted").exists()
    assert not (course / "autograder" / "gradebook.db").exists()
    (copy,) = backup.copies(course / "autograder" / "backups")
    assert read_points(copy) == 2.0
    assert (course / "labs" / "sentiment" / "sentiment.ipynb").exists()  # and the exchange: not the class's
    assert (course / KEPT[2]).exists()


def targets() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^([a-z][a-z-]*):", text, re.M)))


@pytest.mark.parametrize("target", [t for t in targets() if t != "clean-class"])
def test_no_other_target_deletes_submissions_or_the_gradebook(target):
    """What a target would run (``make -n``, expanded), read for a deletion of the class's work."""
    shown = subprocess.run(
        ["make", "-n", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    for line in shown.splitlines():
        deletes = re.search(r"\b(rm|rmdir|mv|shutil\.rmtree|unlink)\b", line)
        assert not (deletes and re.search(r"submitted|gradebook\.db|exchange", line)), f"make {target}: {line}"


@pytest.mark.parametrize(
    ("given", "environment", "expected"),
    [
        ("", "/srv/nbgrader/exchange", "/srv/nbgrader/exchange"),  # the hub's: kept
        ("/tmp/elsewhere", "/srv/nbgrader/exchange", "/tmp/elsewhere"),  # EXCHANGE= says otherwise
        ("", "", str(ROOT / "autograder" / "exchange")),  # one machine
    ],
)
def test_make_publish_uses_the_hubs_exchange_unless_told_otherwise(given, environment, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("EXCHANGE", "COURSE_EXCHANGE")}
    if environment:
        env["COURSE_EXCHANGE"] = environment
    shown = subprocess.run(
        ["make", "-n", "--no-print-directory", "publish", *([f"EXCHANGE={given}"] if given else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert f"to {expected}:" in shown, shown


def test_a_backup_is_a_consistent_copy_and_only_the_newest_are_kept(tmp_path):
    db = tmp_path / "gradebook.db"
    hand_grades(db, 1.0)
    folder = tmp_path / "backups"
    first = backup.backup_gradebook(db, folder, keep=3)
    assert read_points(first) == 1.0
    assert backup.backup_gradebook(db, folder, keep=3) is None, "an unchanged gradebook is not copied again"
    made = [first]
    for points in (2.0, 3.0, 4.0):
        hand_grades(db, points)
        made.append(backup.backup_gradebook(db, folder, keep=3))
    assert backup.copies(folder) == made[-3:]
    assert [read_points(p) for p in backup.copies(folder)] == [2.0, 3.0, 4.0]
    assert backup.backup_gradebook(tmp_path / "none.db", folder) is None


def test_make_grade_backs_the_gradebook_up_before_grading(tmp_path, monkeypatch):
    """The grader's command line copies the gradebook before it grades (not for a demo class)."""
    from coursegrader import cli
    from coursegrader.results import Results

    db = tmp_path / "gradebook.db"
    hand_grades(db, 2.0)
    seen = []

    def grade(**_):
        seen.append(backup.copies(tmp_path / "backups"))
        return Results([])

    monkeypatch.setattr(cli, "grade", grade)
    assert cli.main(["grade", "--workdir", str(tmp_path), "--reserve", "none"]) == 0
    assert len(seen) == 1 and len(seen[0]) == 1, "grading started before the gradebook was copied"
    assert read_points(seen[0][0]) == 2.0
